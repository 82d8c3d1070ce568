// RFC 9420 §12.4.3: a signed GroupInfo of the CURRENT epoch, with external_pub and the
// ratchet tree — what createCommit returns for the epoch it starts, for a member that
// entered its epoch otherwise (an external join, §12.4.3.2) and must publish one.

import { encode } from '../codec/index.js';
import { encodeExternalPub, ExtensionType } from '../messages/extension.js';
import { ProtocolVersion } from '../messages/common.js';
import { WireFormat } from '../messages/framing.js';
import { encodeMLSMessage } from '../messages/mls-message.js';
import { encodeRatchetTree } from '../messages/ratchet-tree.js';
import { externalKeyPair } from '../schedule/key-schedule.js';
import { signGroupInfo } from './content-auth.js';
import { assertNotReinitialising, type GroupState } from './state.js';

/** The MLSMessage (GroupInfo) of `state`'s epoch, signed by our leaf. */
export async function groupInfoOf(state: GroupState): Promise<Uint8Array> {
  assertNotReinitialising(state);
  const external = await externalKeyPair(state.suite, state.keys.externalSecret);
  const groupInfo = await signGroupInfo(state.suite, state.signaturePrivateKey.bytes, {
    groupContext: state.groupContext,
    extensions: [
      { extensionType: ExtensionType.external_pub, extensionData: encode(encodeExternalPub, { externalPub: external.publicKey }) },
      { extensionType: ExtensionType.ratchet_tree, extensionData: encode(encodeRatchetTree, state.tree.toNodes()) },
    ],
    confirmationTag: state.confirmationTag,
    signer: state.ownLeaf,
  });
  return encode(encodeMLSMessage, { version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_group_info, groupInfo });
}
