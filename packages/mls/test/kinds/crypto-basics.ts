// crypto-basics.json: RFC 9420 §5.1–§5.2 labelled functions per cipher suite —
// RefHash, ExpandWithLabel, DeriveSecret, DeriveTreeSecret outputs; SignWithLabel's
// signature verifies (and a fresh one does too, while a wrong label does not);
// EncryptWithLabel's ciphertext decrypts (and a fresh seal opens).
import {
  decryptWithLabel,
  deriveSecret,
  deriveTreeSecret,
  encryptWithLabel,
  expandWithLabel,
  refHash,
  signWithLabel,
  verifyWithLabel,
} from '../../src/crypto/labeled.js';
import { expectBytes, expectEqual, hex, PASSED, suiteOrSkip, type VectorKind } from './harness.js';

interface Case {
  cipher_suite: number;
  ref_hash: { label: string; value: string; out: string };
  expand_with_label: { secret: string; label: string; context: string; length: number; out: string };
  derive_secret: { secret: string; label: string; out: string };
  derive_tree_secret: { secret: string; label: string; generation: number; length: number; out: string };
  sign_with_label: { priv: string; pub: string; content: string; label: string; signature: string };
  encrypt_with_label: { priv: string; pub: string; label: string; context: string; plaintext: string; kem_output: string; ciphertext: string };
}

const kind: VectorKind<Case> = {
  describe: (c) => `suite ${c.cipher_suite}`,
  async run(c, provider) {
    const suite = suiteOrSkip(provider, c.cipher_suite);

    const rh = c.ref_hash;
    expectBytes(await refHash(suite, rh.label, hex(rh.value)), rh.out, 'ref_hash');

    const ewl = c.expand_with_label;
    expectBytes(await expandWithLabel(suite, hex(ewl.secret), ewl.label, hex(ewl.context), ewl.length), ewl.out, 'expand_with_label');

    const ds = c.derive_secret;
    expectBytes(await deriveSecret(suite, hex(ds.secret), ds.label), ds.out, 'derive_secret');

    const dts = c.derive_tree_secret;
    expectBytes(await deriveTreeSecret(suite, hex(dts.secret), dts.label, dts.generation, dts.length), dts.out, 'derive_tree_secret');

    const sw = c.sign_with_label;
    const [priv, pub, content] = [hex(sw.priv), hex(sw.pub), hex(sw.content)];
    expectBytes(await suite.signature.publicKeyOf(priv), sw.pub, 'sign_with_label: public key of priv');
    expectEqual(await verifyWithLabel(suite, pub, sw.label, content, hex(sw.signature)), true, 'sign_with_label: vector signature verifies');
    const fresh = await signWithLabel(suite, priv, sw.label, content);
    expectEqual(await verifyWithLabel(suite, pub, sw.label, content, fresh), true, 'sign_with_label: fresh signature verifies');
    expectEqual(await verifyWithLabel(suite, pub, sw.label + 'x', content, fresh), false, 'sign_with_label: wrong label refused');

    const ew = c.encrypt_with_label;
    const [epriv, epub, ctx] = [hex(ew.priv), hex(ew.pub), hex(ew.context)];
    expectBytes(await suite.hpke.publicKeyOf(epriv), ew.pub, 'encrypt_with_label: public key of priv');
    expectBytes(await decryptWithLabel(suite, epriv, ew.label, ctx, hex(ew.kem_output), hex(ew.ciphertext)), ew.plaintext, 'encrypt_with_label: vector decrypts');
    const sealed = await encryptWithLabel(suite, epub, ew.label, ctx, hex(ew.plaintext));
    expectEqual(sealed.kemOutput.length, suite.hpke.nEnc, 'encrypt_with_label: kem_output length');
    expectBytes(await decryptWithLabel(suite, epriv, ew.label, ctx, sealed.kemOutput, sealed.ciphertext), ew.plaintext, 'encrypt_with_label: fresh seal opens');
    return PASSED;
  },
};
export default kind;
