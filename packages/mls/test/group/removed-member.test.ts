// Issue 4 item 3, RFC 9420 §9.2 / §16.6 (post-removal secrecy): a member removed at
// epoch N, holding everything it had — the epoch's secret tree and sender-data secret,
// the retained past epochs, its tree private keys — and given every ciphertext of epoch
// N+1 (application and handshake PrivateMessages, and the HPKE ciphertexts of the
// UpdatePath of the commit that ends N+1), decrypts none of them, nor does the key
// schedule it can run from its init_secret of N. Every attempt is a
// real decryption with the removed member's secrets, not a refusal on the epoch
// number; the same attempts with a remaining member's secrets succeed, so the test
// would notice a removal that left the keys reachable.
import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../src/codec/index.js';
import { decryptWithLabel } from '../../src/crypto/labeled.js';
import { createCommit, encryptApplication, mergeCommit, processMessage, type GroupState } from '../../src/group/index.js';
import { protectPrivateMessage } from '../../src/group/private-message.js';
import { ProtocolVersion } from '../../src/messages/common.js';
import { ContentType, decodeSenderData, encodePrivateContentAad, encodeSenderDataAad, WireFormat, type PrivateMessage } from '../../src/messages/framing.js';
import { encodeGroupContext } from '../../src/messages/group-context.js';
import { decodeMLSMessage, encodeMLSMessage } from '../../src/messages/mls-message.js';
import type { UpdatePath } from '../../src/messages/ratchet-tree.js';
import { runKeySchedule, zeroSecret } from '../../src/schedule/key-schedule.js';
import { senderDataKeyNonce, type SecretTree } from '../../src/schedule/secret-tree.js';
import { asSecret } from '../../src/schedule/secrets.js';
import type { SenderDataSecret } from '../../src/schedule/secrets.js';
import { leafIndex } from '../../src/util/brand.js';
import { utf8Bytes } from '../../src/util/bytes.js';
import { commitAll, group, publicMessageOf, remove, suite } from './helpers.js';

function privateMessageOf(bytes: Uint8Array): PrivateMessage {
  const m = decode(decodeMLSMessage, bytes);
  if (m.wireFormat !== WireFormat.mls_private_message) throw new Error('not a PrivateMessage');
  return m.privateMessage;
}

/** Every epoch's keys a state holds: the current one and the retained ones. */
function heldEpochs(s: GroupState): { senderDataSecret: SenderDataSecret; secretTree: SecretTree }[] {
  return [{ senderDataSecret: s.keys.senderDataSecret, secretTree: s.keys.secretTree }, ...s.retained];
}

async function opens(run: () => Promise<Uint8Array>): Promise<boolean> {
  try {
    await run();
    return true;
  } catch {
    return false;
  }
}

/** Tries to open the sender data of `m` with each sender-data secret `s` holds. */
async function senderDataOpens(s: GroupState, m: PrivateMessage): Promise<boolean> {
  const aad = encodeSenderDataAad(m.groupId, m.epoch, m.contentType);
  for (const e of heldEpochs(s)) {
    const { key, nonce } = await senderDataKeyNonce(suite, e.senderDataSecret, m.ciphertext);
    if (await opens(() => suite.aead.open(key.bytes, nonce.bytes, aad, m.encryptedSenderData))) return true;
  }
  return false;
}

/**
 * Tries to open the content of `m` with every content key `s` can derive — every
 * leaf, both ratchets, generations 0..maxGeneration, in every epoch it holds — even
 * granting it the true sender data (reuse guard) that it could not decrypt itself.
 */
async function contentOpens(s: GroupState, m: PrivateMessage, reuseGuard: Uint8Array, maxGeneration: number): Promise<boolean> {
  const aad = encodePrivateContentAad(m.groupId, m.epoch, m.contentType, m.authenticatedData);
  for (const e of heldEpochs(s)) {
    for (let leaf = 0; leaf < e.secretTree.nLeaves; leaf++) {
      for (const type of ['application', 'handshake'] as const) {
        for (let g = 0; g <= maxGeneration; g++) {
          let taken;
          try {
            taken = await e.secretTree.key(leafIndex(leaf), type, g);
          } catch {
            continue; // a generation this state already used or dropped
          }
          const nonce = taken.key.nonce.bytes.slice();
          for (let i = 0; i < 4; i++) nonce[i]! ^= reuseGuard[i]!;
          if (await opens(() => suite.aead.open(taken.key.key.bytes, nonce, aad, m.ciphertext))) return true;
        }
      }
    }
  }
  return false;
}

/** Tries every tree private key `s` holds on every HPKE ciphertext of `path`. */
async function pathOpens(s: GroupState, path: UpdatePath, context: Uint8Array): Promise<boolean> {
  for (const node of path.nodes) {
    for (const ct of node.encryptedPathSecret) {
      for (const [, key] of s.privateKeys.entries()) {
        if (await opens(() => decryptWithLabel(suite, key.bytes, 'UpdatePathNode', context, ct.kemOutput, ct.ciphertext))) return true;
      }
    }
  }
  return false;
}

describe('a member removed at epoch N', () => {
  it('decrypts no ciphertext of epoch N+1 with any secret it retained', async () => {
    let states = await group(['alice', 'bob', 'carol', 'dave']);
    // A few epochs first, so that bob retains past epochs too, and some traffic in epoch N.
    for (const committer of [1, 2]) states = (await commitAll(committer, states, { withPath: true })).next;
    const sentAtN = await encryptApplication(states[1]!, utf8Bytes('bob, still a member'));
    states[1] = sentAtN.state;
    const bob = states[1]; // everything bob holds at epoch N
    expect(bob.retained.length).toBeGreaterThan(0);

    // Epoch N → N+1: alice removes bob.
    const removal = await createCommit(states[0]!, { proposals: [remove(1)] });
    expect((await processMessage(bob, removal.commitMessage)).event.type).toBe('removed');
    let a = mergeCommit(states[0]!, removal.pending);
    let c = (await processMessage(states[2]!, removal.commitMessage)).state;
    let d = (await processMessage(states[3]!, removal.commitMessage)).state;
    const n1 = a.groupContext.epoch;

    // Every kind of ciphertext of epoch N+1.
    const ciphertexts: Uint8Array[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await encryptApplication(a, utf8Bytes(`alice ${i}`));
      a = m.state;
      ciphertexts.push(m.message);
      const n = await encryptApplication(c, utf8Bytes(`carol ${i}`));
      c = n.state;
      ciphertexts.push(n.message);
    }
    const handshake = await protectPrivateMessage(d, { contentType: ContentType.proposal, proposal: remove(0) }, new Uint8Array(0));
    d = handshake.state;
    ciphertexts.push(encode(encodeMLSMessage, { version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_private_message, privateMessage: handshake.privateMessage }));

    for (const bytes of ciphertexts) {
      const m = privateMessageOf(bytes);
      expect(m.epoch).toBe(n1);
      // Through the API: refused.
      await expect(processMessage(bob, bytes)).rejects.toThrow();
      // The same message relabelled as epoch N reaches the decryption, and fails there.
      const relabelled = encode(encodeMLSMessage, { version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_private_message, privateMessage: { ...m, epoch: bob.groupContext.epoch } });
      await expect(processMessage(bob, relabelled)).rejects.toMatchObject({ code: 'undecryptable-sender-data' });
      // Real trial decryption with every secret bob holds.
      expect(await senderDataOpens(bob, m)).toBe(false);
      // Carol (a member of N+1) opens the sender data: the trial works, and gives the reuse guard.
      const sdAad = encodeSenderDataAad(m.groupId, m.epoch, m.contentType);
      const sd = await senderDataKeyNonce(suite, c.keys.senderDataSecret, m.ciphertext);
      const senderData = decode(decodeSenderData, await suite.aead.open(sd.key.bytes, sd.nonce.bytes, sdAad, m.encryptedSenderData));
      expect(await contentOpens(bob, m, senderData.reuseGuard, 4)).toBe(false);
    }
    // Bob's best guess at epoch N+1's key schedule: his init_secret of N, the public
    // GroupContext of N+1, and the commit secret of a commit without a path (he cannot
    // decrypt the real one). The sender-data key it gives opens nothing.
    const guess = await runKeySchedule(suite, {
      initSecret: bob.keys.initSecret,
      commitSecret: asSecret<'commit_secret'>(zeroSecret(suite)),
      pskSecret: asSecret<'psk_secret'>(zeroSecret(suite)),
      groupContext: a.groupContextBytes,
    });
    for (const bytes of ciphertexts) {
      const m = privateMessageOf(bytes);
      const { key, nonce } = await senderDataKeyNonce(suite, guess.senderDataSecret, m.ciphertext);
      expect(await opens(() => suite.aead.open(key.bytes, nonce.bytes, encodeSenderDataAad(m.groupId, m.epoch, m.contentType), m.encryptedSenderData))).toBe(false);
    }
    // Control: carol's own state of N+1, before she read anything, opens every content.
    const freshCarol = (await processMessage(states[2]!, removal.commitMessage)).state;
    for (const bytes of ciphertexts) {
      const m = privateMessageOf(bytes);
      const sd = await senderDataKeyNonce(suite, freshCarol.keys.senderDataSecret, m.ciphertext);
      const senderData = decode(decodeSenderData, await suite.aead.open(sd.key.bytes, sd.nonce.bytes, encodeSenderDataAad(m.groupId, m.epoch, m.contentType), m.encryptedSenderData));
      expect(await senderDataOpens(freshCarol, m)).toBe(true);
      expect(await contentOpens(freshCarol, m, senderData.reuseGuard, 4)).toBe(true);
    }

    // The commit that ends epoch N+1: its UpdatePath ciphertexts open for no key of bob's.
    const next = await createCommit(c, { withPath: true });
    const content = publicMessageOf(next.commitMessage).content;
    if (content.contentType !== ContentType.commit || content.commit.path === undefined) throw new Error('expected a commit with a path');
    const n2 = next.pending.state.groupContext;
    const provisional = encode(encodeGroupContext, { ...n2, confirmedTranscriptHash: c.groupContext.confirmedTranscriptHash });
    expect(await pathOpens(bob, content.commit.path, provisional)).toBe(false);
    expect(await pathOpens(a, content.commit.path, provisional)).toBe(true);
    await expect(processMessage(bob, next.commitMessage)).rejects.toThrow();
  });
});
