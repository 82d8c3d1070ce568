// deserialization.json: the §2.1.2 variable-length header decodes to its length, and
// re-encodes to the same bytes.
import { Reader } from '../../src/codec/reader.js';
import { Writer } from '../../src/codec/writer.js';
import { expectBytes, expectEqual, hex, PASSED, type VectorKind } from './harness.js';

interface Case {
  vlbytes_header: string;
  length: number;
}

const kind: VectorKind<Case> = {
  async run(c) {
    const r = new Reader(hex(c.vlbytes_header));
    expectEqual(r.varint(), c.length, 'length');
    r.assertDone();
    expectBytes(new Writer().varint(c.length).finish(), c.vlbytes_header, 'encoded header');
    return PASSED;
  },
};
export default kind;
