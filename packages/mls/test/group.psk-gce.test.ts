// PreSharedKey proposals (external and resumption, §8.4, §12.1.4) and
// GroupContextExtensions (§12.1.7) through the group API: members agree afterwards,
// and a member without the PSK refuses the commit.
import { describe, expect, it } from 'vitest';
import { encode } from '../src/codec/index.js';
import { nodeCryptoProvider } from '../src/crypto/node/index.js';
import {
  createCommit,
  createGroup,
  epochAuthenticator,
  generateKeyPackage,
  joinFromWelcome,
  mergeCommit,
  processMessage,
  proposeExternalPsk,
  proposeGroupContextExtensions,
  proposeResumptionPsk,
  type GroupConfig,
} from '../src/group/index.js';
import { CredentialType } from '../src/messages/credential.js';
import { encodeRequiredCapabilities, ExtensionType } from '../src/messages/extension.js';
import { ProposalType } from '../src/messages/proposal.js';
import { toHex, utf8Bytes } from '../src/util/bytes.js';

const provider = nodeCryptoProvider;
const suite = provider.suite(1);
const pskId = utf8Bytes('shared-psk');
const psk = utf8Bytes('the external psk value');
const withPsk: GroupConfig = { now: () => 1n, externalPsk: (id) => (toHex(id) === toHex(pskId) ? psk : undefined) };

describe('PSKs and GroupContextExtensions', () => {
  it('commits external and resumption PSKs and new group extensions', async () => {
    const cred = (n: string) => ({ credentialType: CredentialType.basic, identity: utf8Bytes(n) }) as const;
    let a = await createGroup({ provider, suite: 1, groupId: utf8Bytes('psk'), signatureKey: await suite.signature.generateKeyPair(), credential: cred('alice'), config: withPsk });
    const kb = await generateKeyPackage({ suite, signatureKey: await suite.signature.generateKeyPair(), credential: cred('bob') });
    const add = await createCommit(a, { proposals: [{ proposalType: ProposalType.add, add: { keyPackage: kb.keyPackage } }] });
    a = mergeCommit(a, add.pending);
    let b = await joinFromWelcome({ provider, welcome: add.welcome!, keyPackage: kb.keyPackage, privateKeys: kb.privateKeys, config: withPsk });

    // External PSK, by reference.
    const p = await proposeExternalPsk(a, pskId);
    a = p.state;
    b = (await processMessage(b, p.message)).state;
    const c1 = await createCommit(a);
    // A member that lacks the PSK refuses the commit.
    await expect(processMessage({ ...b, config: { now: () => 1n } }, c1.commitMessage)).rejects.toMatchObject({ code: 'missing-psk' });
    a = mergeCommit(a, c1.pending);
    b = (await processMessage(b, c1.commitMessage)).state;
    expect(toHex(epochAuthenticator(b))).toBe(toHex(epochAuthenticator(a)));

    // Resumption PSK of epoch 1.
    const r = await proposeResumptionPsk(a, 1n);
    a = r.state;
    b = (await processMessage(b, r.message)).state;
    const c2 = await createCommit(a);
    a = mergeCommit(a, c2.pending);
    b = (await processMessage(b, c2.commitMessage)).state;
    expect(toHex(epochAuthenticator(b))).toBe(toHex(epochAuthenticator(a)));

    // GroupContextExtensions: require basic credentials from now on (needs a path).
    const required = { extensionType: ExtensionType.required_capabilities, extensionData: encode(encodeRequiredCapabilities, { extensionTypes: [], proposalTypes: [], credentialTypes: [CredentialType.basic] }) };
    const g = await proposeGroupContextExtensions(b, [required]);
    b = g.state;
    a = (await processMessage(a, g.message)).state;
    const c3 = await createCommit(a);
    a = mergeCommit(a, c3.pending);
    b = (await processMessage(b, c3.commitMessage)).state;
    expect(b.groupContext.extensions).toHaveLength(1);
    expect(toHex(epochAuthenticator(b))).toBe(toHex(epochAuthenticator(a)));
    expect(a.groupContext.epoch).toBe(4n);
  });
});
