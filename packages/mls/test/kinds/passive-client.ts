// passive-client-*.json: a client joins from `welcome` with its key package and three
// private keys (plus `ratchet_tree` when the Welcome lacks it, and `external_psks`),
// checks the initial epoch authenticator, then per epoch processes the `proposals`
// (committed by reference) and the `commit`, and checks each epoch authenticator.
// Lifetimes are checked (real clock) where a leaf enters the group; the joined tree's
// leaves are not (§7.3 makes that RECOMMENDED only, see group/welcome.ts), which is why
// the expired key packages of passive-client-welcome.json need no switch.
import { decode } from '../../src/codec/index.js';
import { WireFormat } from '../../src/messages/framing.js';
import { decodeRatchetTree } from '../../src/messages/ratchet-tree.js';
import { processMessage } from '../../src/group/process.js';
import { joinFromWelcome } from '../../src/group/welcome.js';
import { decodeMLSMessage } from '../../src/messages/mls-message.js';
import { bytesEqual, toHex } from '../../src/util/bytes.js';
import { expectBytes, hex, PASSED, suiteOrSkip, type VectorKind } from './harness.js';

/** Suites whose signature key is an ECDSA scalar on the KEM's curve (P-256, P-521, P-384). */
const ECDSA_SUITES = new Set([2, 5, 7]);

function leftPad(bytes: Uint8Array, length: number): Uint8Array {
  if (bytes.length >= length) return bytes;
  const out = new Uint8Array(length);
  out.set(bytes, length - bytes.length);
  return out;
}

interface Case {
  cipher_suite: number;
  external_psks: { psk_id: string; psk: string }[];
  key_package: string;
  signature_priv: string;
  encryption_priv: string;
  init_priv: string;
  welcome: string;
  ratchet_tree: string | null;
  initial_epoch_authenticator: string;
  epochs: { proposals: string[]; commit: string; epoch_authenticator: string }[];
}

const kind: VectorKind<Case> = {
  describe: (c, i) => `case ${i} (suite ${c.cipher_suite}, ${c.epochs.length} epochs)`,
  async run(c, provider) {
    const suite = suiteOrSkip(provider, c.cipher_suite);
    const kpMessage = decode(decodeMLSMessage, hex(c.key_package));
    if (kpMessage.wireFormat !== WireFormat.mls_key_package) throw new Error('key_package is not an MLSMessage key package');
    const keyPackage = kpMessage.keyPackage;
    // The files strip leading zero octets of P-521 scalars (65-byte keys); the
    // RFC 9180 / SEC1 encodings are fixed-length, so pad them back.
    const initPriv = leftPad(hex(c.init_priv), suite.hpke.nSk);
    const encPriv = leftPad(hex(c.encryption_priv), suite.hpke.nSk);
    const sigPriv = ECDSA_SUITES.has(c.cipher_suite) ? leftPad(hex(c.signature_priv), suite.hpke.nSk) : hex(c.signature_priv);
    const [initPub, encPub, sigPub] = await Promise.all([
      suite.hpke.publicKeyOf(initPriv),
      suite.hpke.publicKeyOf(encPriv),
      suite.signature.publicKeyOf(sigPriv),
    ]);
    if (!bytesEqual(initPub, keyPackage.initKey)) throw new Error('init_priv does not match the key package');
    if (!bytesEqual(encPub, keyPackage.leafNode.encryptionKey)) throw new Error('encryption_priv does not match the key package');
    if (!bytesEqual(sigPub, keyPackage.leafNode.signatureKey)) throw new Error('signature_priv does not match the key package');
    const psks = new Map(c.external_psks.map((p) => [p.psk_id.toLowerCase(), hex(p.psk)]));
    let state = await joinFromWelcome({
      provider,
      welcome: hex(c.welcome),
      keyPackage,
      privateKeys: { initPrivateKey: initPriv, encryptionPrivateKey: encPriv, signaturePrivateKey: sigPriv },
      ratchetTree: c.ratchet_tree === null ? undefined : decode(decodeRatchetTree, hex(c.ratchet_tree)),
      config: { now: () => BigInt(Math.floor(Date.now() / 1000)), externalPsk: (id) => psks.get(toHex(id)) },
    });
    expectBytes(state.keys.epochAuthenticator.bytes, c.initial_epoch_authenticator, 'initial epoch authenticator');
    for (const [i, epoch] of c.epochs.entries()) {
      for (const p of epoch.proposals) state = (await processMessage(state, hex(p))).state;
      const { state: next, event } = await processMessage(state, hex(epoch.commit));
      if (event.type !== 'commit') throw new Error(`epoch ${i}: the commit gave a ${event.type} event`);
      state = next;
      expectBytes(state.keys.epochAuthenticator.bytes, epoch.epoch_authenticator, `epoch ${i} authenticator`);
    }
    return PASSED;
  },
};
export default kind;
