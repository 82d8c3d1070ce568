// RFC 9420 §6.3 application messages (one signature per send, one verification per
// receive, through processMessage), §8.5 exporter and §8.7 epoch authenticator.

import { privateMessageMLSMessage } from '../framing/wire.js';
import { ContentType } from '../messages/framing.js';
import { mlsExporter } from '../schedule/key-schedule.js';
import { protectPrivateMessage } from './private-message.js';
import { assertNotReinitialising, type GroupState } from './state.js';

/**
 * Encrypts application data as a PrivateMessage (MLSMessage bytes). Returns a new
 * state whose secret tree has moved our ratchet past the generation used (§9.2: the
 * key is not in it); send the next message from that state. `state` itself is not
 * changed and still holds the used key: encrypting again from it would reuse the
 * generation (receivers refuse the second message as a replay), and keeping it keeps
 * that key — drop it unless you need to roll back.
 */
export async function encryptApplication(state: GroupState, data: Uint8Array, authenticatedData: Uint8Array = new Uint8Array(0)): Promise<{ state: GroupState; message: Uint8Array }> {
  assertNotReinitialising(state);
  const { state: next, privateMessage } = await protectPrivateMessage(state, { contentType: ContentType.application, applicationData: data }, authenticatedData);
  return { state: next, message: privateMessageMLSMessage(privateMessage) };
}

/** §8.5 MLS-Exporter(label, context, length) of the current epoch. */
export function exportSecret(state: GroupState, label: string, context: Uint8Array, length: number): Promise<Uint8Array> {
  return mlsExporter(state.suite, state.keys.exporterSecret, label, context, length);
}

/** §8.7 the epoch authenticator (a copy: members compare it out of band). */
export function epochAuthenticator(state: GroupState): Uint8Array {
  return state.keys.epochAuthenticator.bytes.slice();
}

/** Current epoch number. */
export function epochOf(state: GroupState): bigint {
  return state.groupContext.epoch;
}
