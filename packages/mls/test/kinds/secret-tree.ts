// secret-tree.json: sender-data key and nonce from a ciphertext sample (§6.3.2); for each
// leaf, handshake and application key/nonce at the listed generations (§9).
import { SecretTree, senderDataKeyNonce } from '../../src/schedule/secret-tree.js';
import { asSecret } from '../../src/schedule/secrets.js';
import { leafIndex } from '../../src/util/brand.js';
import { expectBytes, hex, PASSED, suiteOrSkip, type VectorKind } from './harness.js';

interface Case {
  cipher_suite: number;
  encryption_secret: string;
  sender_data: { sender_data_secret: string; ciphertext: string; key: string; nonce: string };
  leaves: {
    generation: number;
    application_key: string;
    application_nonce: string;
    handshake_key: string;
    handshake_nonce: string;
  }[][];
}

const kind: VectorKind<Case> = {
  describe: (c, i) => `case ${i}: suite ${c.cipher_suite}, ${c.leaves.length} leaves`,
  async run(c, provider) {
    const suite = suiteOrSkip(provider, c.cipher_suite);
    const sd = await senderDataKeyNonce(suite, asSecret(hex(c.sender_data.sender_data_secret)), hex(c.sender_data.ciphertext));
    expectBytes(sd.key.bytes, c.sender_data.key, 'sender_data.key');
    expectBytes(sd.nonce.bytes, c.sender_data.nonce, 'sender_data.nonce');

    let tree = SecretTree.create(suite, asSecret(hex(c.encryption_secret)), c.leaves.length);
    for (const [i, generations] of c.leaves.entries()) {
      for (const g of generations) {
        const app = await tree.key(leafIndex(i), 'application', g.generation);
        expectBytes(app.key.key.bytes, g.application_key, `leaf ${i} generation ${g.generation} application_key`);
        expectBytes(app.key.nonce.bytes, g.application_nonce, `leaf ${i} generation ${g.generation} application_nonce`);
        const hs = await app.tree.key(leafIndex(i), 'handshake', g.generation);
        expectBytes(hs.key.key.bytes, g.handshake_key, `leaf ${i} generation ${g.generation} handshake_key`);
        expectBytes(hs.key.nonce.bytes, g.handshake_nonce, `leaf ${i} generation ${g.generation} handshake_nonce`);
        tree = hs.tree;
      }
    }
    return PASSED;
  },
};
export default kind;
