// The Node backend cuts small random requests (the 4-byte reuse guard of every
// PrivateMessage, §6.3.1) from a pooled OpenSSL fill: each byte is handed out once, as
// an independent copy, across pool refills; bad lengths are refused as before.
import { describe, expect, it } from 'vitest';
import { nodeCryptoProvider } from '../src/crypto/node/index.js';
import { toHex } from '../src/util/bytes.js';

const suite = nodeCryptoProvider.suite(1);

describe('small random requests', () => {
  it('never repeat across several pool refills and are independent copies', () => {
    const seen = new Set<string>();
    const outs: Uint8Array[] = [];
    // 3,000 × 16 bytes: about twelve 4 KiB refills.
    for (let i = 0; i < 3000; i++) {
      const r = suite.randomBytes(16);
      expect(r.length).toBe(16);
      seen.add(toHex(r));
      outs.push(r);
    }
    expect(seen.size).toBe(3000);
    const copy = outs[0]!.slice();
    outs[1]!.fill(0);
    expect(outs[0]).toEqual(copy);
    expect(outs[0]!.buffer).not.toBe(outs[1]!.buffer);
  });

  it('gives every length asked for, small and large, and refuses a bad one', () => {
    for (const n of [0, 1, 4, 63, 64, 65, 4096, 5000]) expect(suite.randomBytes(n).length).toBe(n);
    expect(() => suite.randomBytes(-1)).toThrow(expect.objectContaining({ code: 'bad-length' }) as Error);
    expect(() => suite.randomBytes(1.5)).toThrow(expect.objectContaining({ code: 'bad-length' }) as Error);
  });
});
