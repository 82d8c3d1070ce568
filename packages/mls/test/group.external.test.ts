// §12.4.3.2 external commits: a new device joins from the GroupInfo alone, and a
// member that lost its state rejoins, removing its prior leaf in the same commit.
import { describe, expect, it } from 'vitest';
import { nodeCryptoProvider } from '../src/crypto/node/index.js';
import {
  createCommit,
  createGroup,
  encryptApplication,
  epochAuthenticator,
  exportSecret,
  generateKeyPackage,
  joinExternal,
  joinFromWelcome,
  mergeCommit,
  processMessage,
  type GroupConfig,
  type GroupState,
} from '../src/group/index.js';
import { CredentialType } from '../src/messages/credential.js';
import { ProposalType } from '../src/messages/proposal.js';
import { toHex, utf8Bytes } from '../src/util/bytes.js';

const provider = nodeCryptoProvider;
const suite = provider.suite(1);
const config: GroupConfig = { now: () => 1_800_000_000n };
async function identity(name: string) {
  return { signatureKey: await suite.signature.generateKeyPair(), credential: { credentialType: CredentialType.basic, identity: utf8Bytes(name) } as const };
}
async function agree(states: GroupState[]): Promise<void> {
  expect(new Set(states.map((s) => toHex(epochAuthenticator(s)))).size).toBe(1);
  const ex = await Promise.all(states.map(async (s) => toHex(await exportSecret(s, 'x', new Uint8Array(0), 16))));
  expect(new Set(ex).size).toBe(1);
}

describe('external commits', () => {
  it('joins from a GroupInfo, then resyncs by replacing its own leaf', async () => {
    let a = await createGroup({ provider, suite: 1, groupId: utf8Bytes('ext'), ...(await identity('alice')), config });
    const kb = await generateKeyPackage({ suite, ...(await identity('bob')) });
    const add = await createCommit(a, { proposals: [{ proposalType: ProposalType.add, add: { keyPackage: kb.keyPackage } }] });
    a = mergeCommit(a, add.pending);
    let b = await joinFromWelcome({ provider, welcome: add.welcome!, keyPackage: kb.keyPackage, privateKeys: kb.privateKeys, config });

    const dave = await identity('dave');
    const joined = await joinExternal({ provider, groupInfo: add.groupInfo, ...dave, config });
    let d = joined.state;
    const pa = await processMessage(a, joined.commitMessage);
    expect(pa.event).toMatchObject({ type: 'commit', sender: { senderType: 4 } });
    a = pa.state;
    b = (await processMessage(b, joined.commitMessage)).state;
    await agree([a, b, d]);
    expect(a.tree.memberCount).toBe(3);
    const hello = await encryptApplication(d, utf8Bytes('hi from dave'));
    expect((await processMessage(b, hello.message)).event).toMatchObject({ type: 'application', sender: d.ownLeaf });

    // Dave loses his state and rejoins with the same identity from the latest GroupInfo.
    const tick = await createCommit(a, { withPath: true });
    a = mergeCommit(a, tick.pending);
    b = (await processMessage(b, tick.commitMessage)).state;
    const prior = d.ownLeaf;
    const rejoin = await joinExternal({ provider, groupInfo: tick.groupInfo, ...(await identity('dave')), removePrior: prior, config });
    d = rejoin.state;
    const pr = await processMessage(a, rejoin.commitMessage);
    expect(pr.event).toMatchObject({ type: 'commit', removed: [prior] });
    a = pr.state;
    b = (await processMessage(b, rejoin.commitMessage)).state;
    await agree([a, b, d]);
    expect(a.tree.memberCount).toBe(3);
  });

  it('refuses to join from a message that is not a GroupInfo', async () => {
    const a = await createGroup({ provider, suite: 1, groupId: utf8Bytes('ext2'), ...(await identity('alice')), config });
    const c = await createCommit(a, { withPath: true, ratchetTreeInWelcome: false });
    await expect(joinExternal({ provider, groupInfo: c.commitMessage, ...(await identity('x')), config })).rejects.toMatchObject({ code: 'not-a-group-info' });
  });
});
