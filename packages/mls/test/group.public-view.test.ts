// The server's public view of a group (src/public.ts): started from a GroupInfo, it
// follows every commit and ends each epoch with the same GroupContext (tree hash and
// transcript) as the members, holding no secret; it refuses stale and forged commits.
import { describe, expect, it } from 'vitest';
import { nodeCryptoProvider } from '../src/crypto/node/index.js';
import { ValidationError } from '../src/errors.js';
import {
  createCommit,
  createGroup,
  generateKeyPackage,
  joinFromWelcome,
  mergeCommit,
  processMessage,
  proposeUpdate,
  type GroupConfig,
} from '../src/group/index.js';
import { CredentialType } from '../src/messages/credential.js';
import { ProposalType } from '../src/messages/proposal.js';
import { processPublicMessage, publicGroupFromGroupInfo } from '../src/public.js';
import { leafIndex } from '../src/util/brand.js';
import { toHex, utf8Bytes } from '../src/util/bytes.js';

const provider = nodeCryptoProvider;
const suite = provider.suite(1);
const config: GroupConfig = { now: () => 1_800_000_000n };
async function identity(name: string) {
  return { signatureKey: await suite.signature.generateKeyPair(), credential: { credentialType: CredentialType.basic, identity: utf8Bytes(name) } as const };
}

describe('public group view', () => {
  it('tracks the group through add, update and remove commits, and refuses stale or forged ones', async () => {
    let a = await createGroup({ provider, suite: 1, groupId: utf8Bytes('server-view'), ...(await identity('alice')), config });
    const first = await createCommit(a, { withPath: true });
    a = mergeCommit(a, first.pending);
    let view = await publicGroupFromGroupInfo({ provider, groupInfo: first.groupInfo, config });
    expect(toHex(view.groupContextBytes)).toBe(toHex(a.groupContextBytes));

    const kb = await generateKeyPackage({ suite, ...(await identity('bob')) });
    const kc = await generateKeyPackage({ suite, ...(await identity('carol')) });
    const add = await createCommit(a, {
      proposals: [
        { proposalType: ProposalType.add, add: { keyPackage: kb.keyPackage } },
        { proposalType: ProposalType.add, add: { keyPackage: kc.keyPackage } },
      ],
    });
    const added = await processPublicMessage(view, add.commitMessage);
    expect(added.event).toMatchObject({ type: 'commit', added: [1, 2] });
    view = added.state;
    a = mergeCommit(a, add.pending);
    expect(toHex(view.groupContextBytes)).toBe(toHex(a.groupContextBytes));
    let b = await joinFromWelcome({ provider, welcome: add.welcome!, keyPackage: kb.keyPackage, privateKeys: kb.privateKeys, config });

    // An Update proposal by reference, committed by Alice.
    const upd = await proposeUpdate(b);
    b = upd.state;
    view = (await processPublicMessage(view, upd.message)).state;
    a = (await processMessage(a, upd.message)).state;
    const commit = await createCommit(a);
    view = (await processPublicMessage(view, commit.commitMessage)).state;
    a = mergeCommit(a, commit.pending);
    b = (await processMessage(b, commit.commitMessage)).state;
    expect(toHex(view.groupContextBytes)).toBe(toHex(b.groupContextBytes));

    // A commit for the previous epoch is refused.
    await expect(processPublicMessage(view, commit.commitMessage)).rejects.toMatchObject({ code: 'wrong-epoch' });

    // Remove, committed by Bob.
    const remove = await createCommit(b, { proposals: [{ proposalType: ProposalType.remove, remove: { removed: leafIndex(2) } }] });
    // A byte of the signature (the tail is: signature, confirmation tag, membership tag).
    const forged = remove.commitMessage.slice();
    forged[forged.length - 100] = forged[forged.length - 100]! ^ 1;
    await expect(processPublicMessage(view, forged)).rejects.toBeInstanceOf(ValidationError);
    const removed = await processPublicMessage(view, remove.commitMessage);
    expect(removed.event).toMatchObject({ type: 'commit', removed: [2] });
    view = removed.state;
    b = mergeCommit(b, remove.pending);
    expect(toHex(view.groupContextBytes)).toBe(toHex(b.groupContextBytes));
    expect(view.tree.memberCount).toBe(2);
    // Nothing secret in the view.
    expect(Object.keys(view).sort()).toEqual(['config', 'groupContext', 'groupContextBytes', 'interimTranscriptHash', 'proposals', 'suite', 'tree']);
  });
});
