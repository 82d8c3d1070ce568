// psk_secret.json: psk_secret from external PSKs in order (§8.4); all zeros without any.
import { PSKType } from '../../src/messages/proposal.js';
import { derivePskSecret } from '../../src/schedule/psk.js';
import { expectBytes, hex, PASSED, suiteOrSkip, type VectorKind } from './harness.js';

interface Case {
  cipher_suite: number;
  psks: { psk_id: string; psk: string; psk_nonce: string }[];
  psk_secret: string;
}

const kind: VectorKind<Case> = {
  describe: (c, i) => `case ${i}: suite ${c.cipher_suite}, ${c.psks.length} PSKs`,
  async run(c, provider) {
    const suite = suiteOrSkip(provider, c.cipher_suite);
    const inputs = c.psks.map((p) => ({
      id: { psktype: PSKType.external, pskId: hex(p.psk_id), pskNonce: hex(p.psk_nonce) },
      psk: hex(p.psk),
    }));
    expectBytes((await derivePskSecret(suite, inputs)).bytes, c.psk_secret, 'psk_secret');
    return PASSED;
  },
};
export default kind;
