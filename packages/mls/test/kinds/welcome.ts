// welcome.json: decrypt `welcome` with `key_package` and `init_priv` (§12.4.3.1), verify
// the GroupInfo signature with `signer_pub`, and recompute its confirmation tag from the
// joiner's epoch secrets. A tampered signature or tag, and a wrong init key, are refused.
import { decode } from '../../src/codec/index.js';
import { MlsError } from '../../src/errors.js';
import { WireFormat } from '../../src/messages/framing.js';
import { decodeMLSMessage } from '../../src/messages/mls-message.js';
import { decryptWelcome, joinedEpochSecrets, verifyGroupInfoSignature } from '../../src/welcome/welcome.js';
import { hex, PASSED, suiteOrSkip, type VectorKind } from './harness.js';

interface Case {
  cipher_suite: number;
  init_priv: string;
  key_package: string;
  signer_pub: string;
  welcome: string;
}

async function expectRefusal(p: Promise<unknown>, code: string, what: string): Promise<void> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof MlsError) || error.code !== code) throw new Error(`${what}: expected refusal '${code}', got ${String(error)}`);
}

const kind: VectorKind<Case> = {
  describe: (c, i) => `case ${i}: suite ${c.cipher_suite}`,
  async run(c, provider) {
    const suite = suiteOrSkip(provider, c.cipher_suite);
    const kpMessage = decode(decodeMLSMessage, hex(c.key_package));
    const welcomeMessage = decode(decodeMLSMessage, hex(c.welcome));
    if (kpMessage.wireFormat !== WireFormat.mls_key_package) throw new Error('key_package is not an MLSMessage(KeyPackage)');
    if (welcomeMessage.wireFormat !== WireFormat.mls_welcome) throw new Error('welcome is not an MLSMessage(Welcome)');
    const recipient = { keyPackage: kpMessage.keyPackage, initPrivateKey: hex(c.init_priv) };

    const joined = await decryptWelcome(suite, welcomeMessage.welcome, recipient);
    await verifyGroupInfoSignature(suite, joined.groupInfo, hex(c.signer_pub));
    await joinedEpochSecrets(suite, joined);

    const forged = { ...joined.groupInfo, signature: joined.groupInfo.signature.slice() };
    forged.signature[forged.signature.length - 1]! ^= 1;
    await expectRefusal(verifyGroupInfoSignature(suite, forged, hex(c.signer_pub)), 'invalid-group-info-signature', 'forged GroupInfo signature');
    const again = await decryptWelcome(suite, welcomeMessage.welcome, recipient);
    const badTag = again.groupInfo.confirmationTag.slice();
    badTag[0]! ^= 1;
    await expectRefusal(joinedEpochSecrets(suite, { ...again, groupInfo: { ...again.groupInfo, confirmationTag: badTag } }), 'invalid-confirmation-tag', 'wrong confirmation tag');
    const wrongKey = (await suite.hpke.generateKeyPair()).privateKey;
    await expectRefusal(decryptWelcome(suite, welcomeMessage.welcome, { ...recipient, initPrivateKey: wrongKey }), 'undecryptable-group-secrets', 'wrong init key');
    return PASSED;
  },
};
export default kind;
