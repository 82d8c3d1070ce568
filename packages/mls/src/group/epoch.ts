// RFC 9420 §8 and §9: turning one run of the key schedule into the keys a member keeps
// for an epoch (the epoch secret and encryption secret are deleted once used).

import { deriveEpochSecrets, deriveFromJoiner, type EpochSecrets } from '../schedule/key-schedule.js';
import { SecretTree } from '../schedule/secret-tree.js';
import type { JoinerSecret, PskSecret } from '../schedule/secrets.js';
import type { CipherSuite } from '../crypto/provider.js';
import { resolvePskSecret } from '../schedule/psk.js';
import { PSKType, type PreSharedKeyID } from '../messages/proposal.js';
import { bytesEqual } from '../util/bytes.js';
import type { EpochKeys, GroupConfig, GroupState } from './state.js';

export function epochKeysFrom(suite: CipherSuite, secrets: EpochSecrets, nLeaves: number, config: GroupConfig): EpochKeys {
  const secretTree = SecretTree.create(suite, secrets.encryptionSecret, nLeaves, config.secretTree);
  secrets.encryptionSecret.destroy();
  return {
    senderDataSecret: secrets.senderDataSecret,
    exporterSecret: secrets.exporterSecret,
    externalSecret: secrets.externalSecret,
    confirmationKey: secrets.confirmationKey,
    membershipKey: secrets.membershipKey,
    resumptionPsk: secrets.resumptionPsk,
    epochAuthenticator: secrets.epochAuthenticator,
    initSecret: secrets.initSecret,
    secretTree,
  };
}

/** From joiner_secret (a Welcome's, or one we derived) to the epoch's keys. */
export async function epochFromJoiner(
  suite: CipherSuite,
  joinerSecret: JoinerSecret,
  pskSecret: PskSecret,
  groupContext: Uint8Array,
  nLeaves: number,
  config: GroupConfig,
): Promise<{ keys: EpochKeys; welcomeSecret: Awaited<ReturnType<typeof deriveFromJoiner>>['welcomeSecret'] }> {
  const { welcomeSecret, epochSecret } = await deriveFromJoiner(suite, joinerSecret, pskSecret, groupContext);
  const secrets = await deriveEpochSecrets(suite, epochSecret);
  epochSecret.destroy();
  return { keys: epochKeysFrom(suite, secrets, nLeaves, config), welcomeSecret };
}

/**
 * §8.4: psk_secret for the given ids; external PSKs come from the configuration,
 * resumption PSKs of this group from the state's recent epochs.
 */
export function pskSecretFor(
  suite: CipherSuite,
  ids: readonly PreSharedKeyID[],
  config: GroupConfig,
  state?: Pick<GroupState, 'groupContext' | 'resumptionPsks'> & { readonly keys: GroupState['keys'] | undefined },
): ReturnType<typeof resolvePskSecret> {
  return resolvePskSecret(suite, ids, (id) => {
    if (id.psktype === PSKType.external) return config.externalPsk?.(id.pskId);
    if (state === undefined || !bytesEqual(id.pskGroupId, state.groupContext.groupId)) return undefined;
    if (id.pskEpoch === state.groupContext.epoch) return state.keys?.resumptionPsk.bytes;
    return state.resumptionPsks.find((r) => r.epoch === id.pskEpoch)?.psk.bytes;
  });
}
