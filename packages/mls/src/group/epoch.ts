// RFC 9420 §8 and §9: turning one run of the key schedule into the keys a member keeps
// for an epoch (the epoch secret and encryption secret are deleted once used).

import { deriveEpochSecrets, deriveFromJoiner, type EpochSecrets } from '../schedule/key-schedule.js';
import { SecretTree } from '../schedule/secret-tree.js';
import type { JoinerSecret, PskSecret } from '../schedule/secrets.js';
import type { CipherSuite } from '../crypto/provider.js';
import { resolvePskSecret } from '../schedule/psk.js';
import { PSKType, type PreSharedKeyID } from '../messages/proposal.js';
import { bytesEqual } from '../util/bytes.js';
import { resumptionPskEpochCount, type EpochKeys, type GroupConfig, type GroupState } from './state.js';

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

/** A group whose resumption PSKs a commit or Welcome may name: its current epoch's and recent ones. */
export type PskSource = Pick<GroupState, 'config' | 'groupContext' | 'resumptionPsks'> & { readonly keys: GroupState['keys'] | undefined };

/**
 * The resumption_psk of `groupId` at `epoch`, when `source` is that group and holds that
 * epoch within its config.resumptionPskEpochs (a state restored with a smaller window
 * may still list older ones until its next epoch: they are not used).
 */
export function resumptionPskOf(source: PskSource | undefined, groupId: Uint8Array, epoch: bigint): Uint8Array | undefined {
  if (source === undefined || !bytesEqual(groupId, source.groupContext.groupId)) return undefined;
  const current = source.groupContext.epoch;
  if (epoch === current) return source.keys?.resumptionPsk.bytes;
  if (epoch > current || epoch < current - BigInt(resumptionPskEpochCount(source.config))) return undefined;
  return source.resumptionPsks.find((r) => r.epoch === epoch)?.psk.bytes;
}

/**
 * §8.4: psk_secret for the given ids; external PSKs come from the configuration,
 * resumption PSKs from the state's recent epochs — or, for a ReInit (§11.2), from
 * `resumeFrom`, the old group.
 */
export function pskSecretFor(suite: CipherSuite, ids: readonly PreSharedKeyID[], config: GroupConfig, state?: PskSource, resumeFrom?: PskSource): ReturnType<typeof resolvePskSecret> {
  return resolvePskSecret(suite, ids, (id) => {
    if (id.psktype === PSKType.external) return config.externalPsk?.(id.pskId);
    return resumptionPskOf(state, id.pskGroupId, id.pskEpoch) ?? resumptionPskOf(resumeFrom, id.pskGroupId, id.pskEpoch);
  });
}
