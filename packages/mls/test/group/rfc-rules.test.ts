// RFC 9420 rules the audit of issue 4 found missing: external commits carry no
// proposal by reference and remove at most one leaf, the joiner's own (§12.4.3.2);
// required_capabilities is checked against the members of the new epoch only
// (§12.1.7); a tree received whole gets the §7.3 leaf checks (§12.4.3.1); and a commit
// that removes us is reported as such before anything else of it is checked.
import { describe, expect, it } from 'vitest';
import { encode } from '../../src/codec/index.js';
import { createCommit, createGroup, joinExternal, joinFromWelcome, mergeCommit, processMessage, proposeGroupContextExtensions, type GroupState } from '../../src/group/index.js';
import { encodeRequiredCapabilities, ExtensionType, type Extension } from '../../src/messages/extension.js';
import { ProposalType } from '../../src/messages/proposal.js';
import { processPublicMessage, publicGroupFromGroupInfo } from '../../src/public.js';
import { leafIndex } from '../../src/util/brand.js';
import { utf8Bytes } from '../../src/util/bytes.js';
import {
  add,
  byRef,
  byValue,
  caps,
  commitAll,
  config,
  expectCode,
  forgeCommit,
  group,
  identity,
  keyPackage,
  provider,
  remove,
  resignExternal,
  SUITE,
} from './helpers.js';

const PRIVATE_EXT = 0xff00;
const required = (extensionTypes: number[]): Extension => ({
  extensionType: ExtensionType.required_capabilities,
  extensionData: encode(encodeRequiredCapabilities, { extensionTypes, proposalTypes: [], credentialTypes: [] }),
});

describe('§12.4.3.2 external commits', () => {
  async function setup() {
    const [a, b, c] = await group(['alice', 'bob', 'carol']);
    const tick = await createCommit(a!, { withPath: true });
    const members = [mergeCommit(a!, tick.pending), (await processMessage(b!, tick.commitMessage)).state, (await processMessage(c!, tick.commitMessage)).state];
    const view = await publicGroupFromGroupInfo({ provider, groupInfo: tick.groupInfo, config });
    return { members, groupInfo: tick.groupInfo, view };
  }

  it('refuses a proposal by reference', async () => {
    const { members, groupInfo, view } = await setup();
    // A proposal the members did receive: the reference resolves for them, and is still refused.
    const [a, b] = members as [GroupState, GroupState, GroupState];
    const proposed = await proposeGroupContextExtensions(a, []);
    const b1 = (await processMessage(b, proposed.message)).state;
    const joiner = await identity('dave');
    const joined = await joinExternal({ provider, groupInfo, ...joiner, config });
    const forged = await resignExternal(joined.commitMessage, b1, joiner.signatureKey.privateKey, (ps) => [...ps, byRef(proposed.ref)]);
    await expectCode(processMessage(b1, forged), 'external-commit-by-reference');
    const viewWithProposal = (await processPublicMessage(view, proposed.message)).state;
    await expectCode(processPublicMessage(viewWithProposal, forged), 'external-commit-by-reference');
  });

  it('refuses more than one Remove', async () => {
    const { members, groupInfo, view } = await setup();
    const joiner = await identity('bob');
    // Bob resyncs (removing his prior leaf 1), and the forged commit also removes carol.
    const joined = await joinExternal({ provider, groupInfo, credential: members[1]!.tree.leaf(leafIndex(1))!.credential, signatureKey: joiner.signatureKey, removePrior: leafIndex(1), config });
    const forged = await resignExternal(joined.commitMessage, members[0]!, joiner.signatureKey.privateKey, (ps) => [...ps, byValue(remove(2))]);
    await expectCode(processMessage(members[0]!, forged), 'external-commit-multiple-removes');
    await expectCode(processPublicMessage(view, forged), 'external-commit-multiple-removes');
  });

  it('refuses a Remove of a leaf that is not the joiner’s (resync only)', async () => {
    const { members, groupInfo, view } = await setup();
    const mallory = await identity('mallory');
    // The joiner itself refuses to build it…
    await expectCode(joinExternal({ provider, groupInfo, ...mallory, removePrior: leafIndex(1), config }), 'external-resync-identity-mismatch');
    // …and a joiner that skips the check is refused by the members and the server.
    const lax = await joinExternal({ provider, groupInfo, ...mallory, removePrior: leafIndex(1), config: { ...config, isSameClient: () => true } });
    await expectCode(processMessage(members[0]!, lax.commitMessage), 'external-resync-identity-mismatch');
    await expectCode(processMessage(members[2]!, lax.commitMessage), 'external-resync-identity-mismatch');
    await expectCode(processPublicMessage(view, lax.commitMessage), 'external-resync-identity-mismatch');
    // The application decides what "same client" means.
    const accepted = await processMessage({ ...members[0]!, config: { ...config, isSameClient: () => true } }, lax.commitMessage);
    expect(accepted.event).toMatchObject({ type: 'commit', removed: [1] });
  });

  it('accepts a resync of the joiner’s own leaf', async () => {
    const { members, groupInfo } = await setup();
    const joined = await joinExternal({ provider, groupInfo, credential: members[1]!.tree.leaf(leafIndex(1))!.credential, signatureKey: (await identity('bob')).signatureKey, removePrior: leafIndex(1), config });
    expect((await processMessage(members[0]!, joined.commitMessage)).event).toMatchObject({ type: 'commit', removed: [1] });
  });
});

describe('§12.1.7 required_capabilities', () => {
  it('is checked against the members of the new epoch: blank leaves and members removed by the same commit do not count', async () => {
    const a0 = await createGroup({ provider, suite: SUITE, groupId: utf8Bytes('req-caps'), ...(await identity('alice')), capabilities: caps([PRIVATE_EXT]), config });
    const kb = await keyPackage('bob', { capabilities: caps([PRIVATE_EXT]) });
    const kc = await keyPackage('carol'); // does not support PRIVATE_EXT
    const kd = await keyPackage('dave', { capabilities: caps([PRIVATE_EXT]) });
    const c1 = await createCommit(a0, { proposals: [add(kb.keyPackage), add(kc.keyPackage), add(kd.keyPackage)] });
    let states = [
      mergeCommit(a0, c1.pending),
      await joinFromWelcome({ provider, welcome: c1.welcome!, keyPackage: kb.keyPackage, privateKeys: kb.privateKeys, config }),
      await joinFromWelcome({ provider, welcome: c1.welcome!, keyPackage: kc.keyPackage, privateKeys: kc.privateKeys, config }),
      await joinFromWelcome({ provider, welcome: c1.welcome!, keyPackage: kd.keyPackage, privateKeys: kd.privateKeys, config }),
    ];
    const gce = { proposalType: ProposalType.group_context_extensions, groupContextExtensions: { extensions: [required([PRIVATE_EXT])] } } as const;
    // Carol (leaf 2) does not support it: refused.
    await expectCode(createCommit(states[0]!, { proposals: [gce] }), 'unsupported-required-capability');
    // Removing carol in the same commit: accepted, and leaf 2 stays blank in the tree.
    const { next } = await commitAll(0, [states[0]!, states[1]!, states[3]!], { proposals: [gce, remove(2)] });
    states = next;
    expect(states[0]!.tree.leaf(leafIndex(2))).toBeUndefined();
    expect(states[0]!.tree.leafCount).toBe(4);
    // A later GroupContextExtensions with the blank leaf in the tree: accepted by every member.
    const again = { proposalType: ProposalType.group_context_extensions, groupContextExtensions: { extensions: [required([PRIVATE_EXT]), { extensionType: ExtensionType.application_id, extensionData: utf8Bytes('x') }] } } as const;
    const after = await commitAll(1, states, { proposals: [again] });
    expect(after.next[2]!.groupContext.extensions).toHaveLength(2);
  });
});

describe('§12.4.3.1 a tree received whole gets the §7.3 leaf checks', () => {
  // The creator's own leaf breaks one rule (a committer does not re-check its own leaf
  // when it adds someone); the joiner, an external joiner and the server must notice.
  const cases: { name: string; code: string; create: Partial<Parameters<typeof createGroup>[0]>; joinerCaps?: number[]; joinerConfig?: typeof config }[] = [
    { name: 'a leaf without a required extension', code: 'unsupported-required-capability', create: { extensions: [required([PRIVATE_EXT])] }, joinerCaps: [PRIVATE_EXT] },
    { name: 'a leaf without the group’s cipher suite', code: 'unsupported-cipher-suite', create: { capabilities: caps([], { cipherSuites: [2] }) } },
    { name: 'a leaf without mls10', code: 'unsupported-version', create: { capabilities: caps([], { versions: [] }) } },
    { name: 'a leaf carrying an extension it does not list', code: 'unlisted-leaf-extension', create: { leafExtensions: [{ extensionType: PRIVATE_EXT, extensionData: new Uint8Array(0) }] } },
    { name: 'a leaf not supporting a group extension', code: 'unsupported-group-extension', create: { extensions: [{ extensionType: PRIVATE_EXT, extensionData: new Uint8Array(0) }] }, joinerCaps: [PRIVATE_EXT] },
    { name: 'a credential the application rejects', code: 'credential-rejected', create: {}, joinerConfig: { ...config, validateCredential: (c) => c.credentialType === 1 && new TextDecoder().decode(c.identity) !== 'alice' } },
  ];
  for (const t of cases) {
    it(`refuses ${t.name} (${t.code}) in a Welcome, a GroupInfo to join externally, and in the server's view`, async () => {
      const a0 = await createGroup({ provider, suite: SUITE, groupId: utf8Bytes('tree-leaves'), ...(await identity('alice')), config, ...t.create });
      const kb = await keyPackage('bob', { capabilities: caps(t.joinerCaps ?? []) });
      const c = await createCommit(a0, { proposals: [add(kb.keyPackage)] });
      const joinerConfig = t.joinerConfig ?? config;
      await expectCode(joinFromWelcome({ provider, welcome: c.welcome!, keyPackage: kb.keyPackage, privateKeys: kb.privateKeys, config: joinerConfig }), t.code);
      const dave = await identity('dave');
      await expectCode(joinExternal({ provider, groupInfo: c.groupInfo, ...dave, capabilities: caps(t.joinerCaps ?? []), config: joinerConfig }), t.code);
      await expectCode(publicGroupFromGroupInfo({ provider, groupInfo: c.groupInfo, config: joinerConfig }), t.code);
    });
  }

  it('refuses a ratchet tree given beside a Welcome that does not match the GroupInfo’s tree hash', async () => {
    const [a, b] = await group(['alice', 'bob']);
    const kc = await keyPackage('carol');
    const c = await createCommit(a!, { proposals: [add(kc.keyPackage)], ratchetTreeInWelcome: false });
    // The tree of the previous epoch: well formed, but not the one the GroupInfo signs.
    await expectCode(joinFromWelcome({ provider, welcome: c.welcome!, keyPackage: kc.keyPackage, privateKeys: kc.privateKeys, ratchetTree: b!.tree.toNodes(), config }), 'tree-hash-mismatch');
    const joined = await joinFromWelcome({ provider, welcome: c.welcome!, keyPackage: kc.keyPackage, privateKeys: kc.privateKeys, ratchetTree: c.pending.state.tree.toNodes(), config });
    expect(joined.groupContext.epoch).toBe(2n);
  });
});

describe('a commit that removes us', () => {
  it('is reported as removed before the rest of the commit is validated', async () => {
    const [a, b, c] = await group(['alice', 'bob', 'carol']);
    const bad = (await keyPackage('dave')).keyPackage;
    const forgedKp = { ...bad, signature: bad.signature.map((x, i) => (i === 0 ? x ^ 1 : x)) };
    const commit = await forgeCommit(a!, [byValue(remove(1)), byValue(add(forgedKp))]);
    // Bob is removed whatever else the commit says; carol, who stays, validates it all.
    expect((await processMessage(b!, commit)).event).toMatchObject({ type: 'removed', sender: { senderType: 1, leafIndex: 0 } });
    await expectCode(processMessage(c!, commit), 'invalid-key-package-signature');
    // A forged commit is still refused before that: the authentication comes first.
    await expectCode(processMessage(b!, await forgeCommit(a!, [byValue(remove(1))], undefined, { badTag: true })), 'invalid-membership-tag');
  });
});
