// Issue 4: group operations are values. Protecting and unprotecting application messages
// (and handshake PrivateMessages) return a new GroupState and leave the one passed in
// exactly as it was: same serialisation, and it still encrypts and decrypts as before.
// Forward secrecy (§9.2) holds in the returned state: a used key is not in it.
import { describe, expect, it } from 'vitest';
import { encode } from '../src/codec/index.js';
import { nodeCryptoProvider } from '../src/crypto/node/index.js';
import {
  createCommit,
  createGroup,
  encryptApplication,
  generateKeyPackage,
  joinFromWelcome,
  mergeCommit,
  processMessage,
  serializeState,
  type GroupConfig,
  type GroupState,
} from '../src/group/index.js';
import { protectPrivateMessage } from '../src/group/private-message.js';
import { CredentialType } from '../src/messages/credential.js';
import { ContentType, WireFormat } from '../src/messages/framing.js';
import { encodeMLSMessage } from '../src/messages/mls-message.js';
import { ProtocolVersion } from '../src/messages/common.js';
import { ProposalType } from '../src/messages/proposal.js';
import { toHex, utf8Bytes } from '../src/util/bytes.js';
import { leafIndex } from '../src/util/brand.js';

const provider = nodeCryptoProvider;
const suite = provider.suite(1);
const config: GroupConfig = { now: () => 1n };
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const snapshot = (s: GroupState): string => toHex(serializeState(s));

/** Alice (leaf 0), Bob (leaf 1) and Carol (leaf 2) at epoch 1. */
async function trio() {
  let a = await createGroup({
    provider,
    suite: 1,
    groupId: utf8Bytes('values'),
    signatureKey: await suite.signature.generateKeyPair(),
    credential: { credentialType: CredentialType.basic, identity: utf8Bytes('alice') },
    config,
  });
  const kps = await Promise.all(
    ['bob', 'carol'].map(async (name) =>
      generateKeyPackage({ suite, signatureKey: await suite.signature.generateKeyPair(), credential: { credentialType: CredentialType.basic, identity: utf8Bytes(name) } }),
    ),
  );
  const add = await createCommit(a, { proposals: kps.map((k) => ({ proposalType: ProposalType.add, add: { keyPackage: k.keyPackage } }) as const) });
  a = mergeCommit(a, add.pending);
  const [b, c] = await Promise.all(kps.map((k) => joinFromWelcome({ provider, welcome: add.welcome!, keyPackage: k.keyPackage, privateKeys: k.privateKeys, config })));
  return { a, b: b!, c: c! };
}

function applicationText(r: Awaited<ReturnType<typeof processMessage>>): string | undefined {
  return r.event.type === 'application' ? text(r.event.data) : undefined;
}

describe('application messages as values', () => {
  it('encrypting leaves the sender state unchanged; the new state moves on', async () => {
    const { a, b } = await trio();
    const before = snapshot(a);
    const first = await encryptApplication(a, utf8Bytes('one'));
    expect(snapshot(a)).toBe(before);
    expect(snapshot(first.state)).not.toBe(before);
    const second = await encryptApplication(first.state, utf8Bytes('two'));
    expect(snapshot(first.state)).not.toBe(snapshot(second.state));

    // Both messages open, in order, at Bob: the new state used the next generation.
    const r1 = await processMessage(b, first.message);
    const r2 = await processMessage(r1.state, second.message);
    expect([applicationText(r1), applicationText(r2)]).toEqual(['one', 'two']);

    // The old sender state still encrypts exactly as before: with generation 0 again,
    // which Bob has used, so he refuses it as a replay.
    const fromOld = await encryptApplication(a, utf8Bytes('again'));
    expect(snapshot(fromOld.state)).toBe(snapshot(first.state));
    await expect(processMessage(r2.state, fromOld.message)).rejects.toMatchObject({ code: 'generation-reused' });
  });

  it('decrypting leaves the receiver state unchanged: it still opens the message, the new state refuses it', async () => {
    const { a, b } = await trio();
    const sent = await encryptApplication(a, utf8Bytes('hello'));
    const before = snapshot(b);
    const r = await processMessage(b, sent.message);
    expect(applicationText(r)).toBe('hello');
    expect(snapshot(b)).toBe(before);
    expect(snapshot(r.state)).not.toBe(before);

    // The kept state decrypts the same message again, to the same state.
    const again = await processMessage(b, sent.message);
    expect(applicationText(again)).toBe('hello');
    expect(snapshot(again.state)).toBe(snapshot(r.state));
    // Forward secrecy in the returned state: the key is gone from it.
    await expect(processMessage(r.state, sent.message)).rejects.toMatchObject({ code: 'generation-reused' });
  });

  it('a refused message changes nothing', async () => {
    const { a, b } = await trio();
    const sent = await encryptApplication(a, utf8Bytes('genuine'));
    const forged = sent.message.slice();
    forged[forged.length - 1]! ^= 1;
    const before = snapshot(b);
    await expect(processMessage(b, forged)).rejects.toMatchObject({ kind: 'validation' });
    expect(snapshot(b)).toBe(before);
    expect(applicationText(await processMessage(b, sent.message))).toBe('genuine');
  });

  it('late messages of a retained epoch: the state is a value there too', async () => {
    const { a, b } = await trio();
    const late = await encryptApplication(a, utf8Bytes('late'));
    const commit = await createCommit(late.state, { withPath: true });
    const b2 = (await processMessage(b, commit.commitMessage)).state;
    const before = snapshot(b2);
    const r = await processMessage(b2, late.message);
    expect(r.event).toMatchObject({ type: 'application', epoch: 1n });
    expect(snapshot(b2)).toBe(before);
    expect(applicationText(await processMessage(b2, late.message))).toBe('late');
    await expect(processMessage(r.state, late.message)).rejects.toMatchObject({ code: 'generation-reused' });
  });

  it('a handshake PrivateMessage (a proposal) consumes its key only in the returned state', async () => {
    const { a, b, c } = await trio();
    const sent = await protectPrivateMessage(c, { contentType: ContentType.proposal, proposal: { proposalType: ProposalType.remove, remove: { removed: leafIndex(1) } } }, new Uint8Array(0));
    const bytes = encode(encodeMLSMessage, { version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_private_message, privateMessage: sent.privateMessage });
    const cBefore = snapshot(c);
    expect(snapshot(sent.state)).not.toBe(cBefore);
    const before = snapshot(a);
    const r = await processMessage(a, bytes);
    expect(r.event.type).toBe('proposal');
    expect(snapshot(a)).toBe(before);
    expect(r.state.proposals).toHaveLength(1);
    await expect(processMessage(r.state, bytes)).rejects.toMatchObject({ code: 'generation-reused' });
    // Bob's state was never touched by Alice's processing; he opens it too.
    expect((await processMessage(b, bytes)).event.type).toBe('proposal');
  });

  it('a long run of messages from one state: every intermediate state stays as it was', async () => {
    const { a, b } = await trio();
    let sender = a;
    let receiver = b;
    const kept: { state: GroupState; snap: string }[] = [];
    for (let i = 0; i < 40; i++) {
      kept.push({ state: sender, snap: snapshot(sender) }, { state: receiver, snap: snapshot(receiver) });
      const sent = await encryptApplication(sender, utf8Bytes(`m${i}`));
      const r = await processMessage(receiver, sent.message);
      expect(applicationText(r)).toBe(`m${i}`);
      sender = sent.state;
      receiver = r.state;
    }
    for (const k of kept) expect(snapshot(k.state)).toBe(k.snap);
  });
});
