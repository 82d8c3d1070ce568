// messages.json: every field decodes as its structure (RFC 9420 §6–§12) and
// re-encodes to the same bytes. mls_welcome, mls_group_info, mls_key_package,
// public_message_* and private_message are MLSMessages; ratchet_tree is the
// `optional<Node> ratchet_tree<V>` of §12.4.3.3.
import { decode, encode, type Decoder, type Encoder } from '../../src/codec/index.js';
import {
  decodeAdd,
  decodeCommit,
  decodeExternalInit,
  decodeGroupContextExtensions,
  decodeGroupSecrets,
  decodeMLSMessage,
  decodePreSharedKey,
  decodeRatchetTree,
  decodeReInit,
  decodeRemove,
  decodeUpdate,
  encodeAdd,
  encodeCommit,
  encodeExternalInit,
  encodeGroupContextExtensions,
  encodeGroupSecrets,
  encodeMLSMessage,
  encodePreSharedKey,
  encodeRatchetTree,
  encodeReInit,
  encodeRemove,
  encodeUpdate,
  WireFormat,
  type MLSMessage,
} from '../../src/messages/index.js';
import { expectBytes, expectEqual, hex, PASSED, type VectorKind } from './harness.js';

type Case = Record<string, string>;

interface Field {
  readonly decoder: Decoder<unknown>;
  readonly encoder: Encoder<never>;
  /** For MLSMessage fields, the wire format the message must carry. */
  readonly wireFormat?: WireFormat;
}

const field = <T>(decoder: Decoder<T>, encoder: Encoder<T>, wireFormat?: WireFormat): Field => ({
  decoder,
  encoder,
  ...(wireFormat === undefined ? {} : { wireFormat }),
});

const FIELDS: Readonly<Record<string, Field>> = {
  mls_welcome: field(decodeMLSMessage, encodeMLSMessage, WireFormat.mls_welcome),
  mls_group_info: field(decodeMLSMessage, encodeMLSMessage, WireFormat.mls_group_info),
  mls_key_package: field(decodeMLSMessage, encodeMLSMessage, WireFormat.mls_key_package),
  ratchet_tree: field(decodeRatchetTree, encodeRatchetTree),
  group_secrets: field(decodeGroupSecrets, encodeGroupSecrets),
  add_proposal: field(decodeAdd, encodeAdd),
  update_proposal: field(decodeUpdate, encodeUpdate),
  remove_proposal: field(decodeRemove, encodeRemove),
  pre_shared_key_proposal: field(decodePreSharedKey, encodePreSharedKey),
  re_init_proposal: field(decodeReInit, encodeReInit),
  external_init_proposal: field(decodeExternalInit, encodeExternalInit),
  group_context_extensions_proposal: field(decodeGroupContextExtensions, encodeGroupContextExtensions),
  commit: field(decodeCommit, encodeCommit),
  public_message_application: field(decodeMLSMessage, encodeMLSMessage, WireFormat.mls_public_message),
  public_message_proposal: field(decodeMLSMessage, encodeMLSMessage, WireFormat.mls_public_message),
  public_message_commit: field(decodeMLSMessage, encodeMLSMessage, WireFormat.mls_public_message),
  private_message: field(decodeMLSMessage, encodeMLSMessage, WireFormat.mls_private_message),
};

const kind: VectorKind<Case> = {
  async run(c) {
    const names = Object.keys(c);
    for (const name of names) if (!(name in FIELDS)) throw new Error(`unexpected field ${name}`);
    for (const [name, f] of Object.entries(FIELDS)) {
      const bytes = c[name];
      if (bytes === undefined) throw new Error(`missing field ${name}`);
      const value = decode(f.decoder, hex(bytes));
      if (f.wireFormat !== undefined) expectEqual((value as MLSMessage).wireFormat, f.wireFormat, `${name} wire format`);
      expectBytes(encode(f.encoder, value as never), bytes, name);
    }
    return PASSED;
  },
};
export default kind;
