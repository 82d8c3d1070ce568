// key-schedule.json: from initial_init_secret, per epoch: joiner, welcome and every
// secret of Table 4 (§8), the external key pair (§8.3) and one MLS-Exporter output (§8.5).
import { encode } from '../../src/codec/index.js';
import { encodeGroupContext } from '../../src/messages/group-context.js';
import { deriveFromJoiner, deriveEpochSecrets, deriveJoinerSecret, externalKeyPair, mlsExporter } from '../../src/schedule/key-schedule.js';
import { asSecret, type InitSecret } from '../../src/schedule/secrets.js';
import { expectBytes, hex, PASSED, suiteOrSkip, type VectorKind } from './harness.js';

interface Epoch {
  tree_hash: string;
  commit_secret: string;
  psk_secret: string;
  confirmed_transcript_hash: string;
  group_context: string;
  joiner_secret: string;
  welcome_secret: string;
  init_secret: string;
  sender_data_secret: string;
  encryption_secret: string;
  exporter_secret: string;
  epoch_authenticator: string;
  external_secret: string;
  confirmation_key: string;
  membership_key: string;
  resumption_psk: string;
  external_pub: string;
  exporter: { label: string; context: string; length: number; secret: string };
}

interface Case {
  cipher_suite: number;
  group_id: string;
  initial_init_secret: string;
  epochs: Epoch[];
}

const kind: VectorKind<Case> = {
  describe: (c, i) => `case ${i}: suite ${c.cipher_suite}, ${c.epochs.length} epochs`,
  async run(c, provider) {
    const suite = suiteOrSkip(provider, c.cipher_suite);
    let initSecret: InitSecret = asSecret(hex(c.initial_init_secret));
    for (const [i, e] of c.epochs.entries()) {
      const at = `epoch ${i}`;
      const groupContext = encode(encodeGroupContext, {
        version: 1,
        cipherSuite: c.cipher_suite,
        groupId: hex(c.group_id),
        epoch: BigInt(i),
        treeHash: hex(e.tree_hash),
        confirmedTranscriptHash: hex(e.confirmed_transcript_hash),
        extensions: [],
      });
      expectBytes(groupContext, e.group_context, `${at} group_context`);
      const joiner = await deriveJoinerSecret(suite, initSecret, asSecret(hex(e.commit_secret)), groupContext);
      expectBytes(joiner.bytes, e.joiner_secret, `${at} joiner_secret`);
      const { welcomeSecret, epochSecret } = await deriveFromJoiner(suite, joiner, asSecret(hex(e.psk_secret)), groupContext);
      expectBytes(welcomeSecret.bytes, e.welcome_secret, `${at} welcome_secret`);
      const s = await deriveEpochSecrets(suite, epochSecret);
      expectBytes(s.initSecret.bytes, e.init_secret, `${at} init_secret`);
      expectBytes(s.senderDataSecret.bytes, e.sender_data_secret, `${at} sender_data_secret`);
      expectBytes(s.encryptionSecret.bytes, e.encryption_secret, `${at} encryption_secret`);
      expectBytes(s.exporterSecret.bytes, e.exporter_secret, `${at} exporter_secret`);
      expectBytes(s.epochAuthenticator.bytes, e.epoch_authenticator, `${at} epoch_authenticator`);
      expectBytes(s.externalSecret.bytes, e.external_secret, `${at} external_secret`);
      expectBytes(s.confirmationKey.bytes, e.confirmation_key, `${at} confirmation_key`);
      expectBytes(s.membershipKey.bytes, e.membership_key, `${at} membership_key`);
      expectBytes(s.resumptionPsk.bytes, e.resumption_psk, `${at} resumption_psk`);
      expectBytes((await externalKeyPair(suite, s.externalSecret)).publicKey, e.external_pub, `${at} external_pub`);
      // README pitfall: the label is a plain string used as its UTF-8 bytes, even when it looks like hex.
      const exported = await mlsExporter(suite, s.exporterSecret, e.exporter.label, hex(e.exporter.context), e.exporter.length);
      expectBytes(exported, e.exporter.secret, `${at} exporter.secret`);
      initSecret = s.initSecret;
    }
    return PASSED;
  },
};
export default kind;
