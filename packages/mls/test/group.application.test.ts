// §6.3 / §9.2 application messages in a group: out-of-order delivery inside the
// configured window, late messages of the previous epoch, replay refusal, the forward
// window bound, and a state that never prints its secrets.
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { nodeCryptoProvider } from '../src/crypto/node/index.js';
import {
  createCommit,
  createGroup,
  encryptApplication,
  generateKeyPackage,
  joinFromWelcome,
  mergeCommit,
  processMessage,
  type GroupConfig,
} from '../src/group/index.js';
import { CredentialType } from '../src/messages/credential.js';
import { ProposalType } from '../src/messages/proposal.js';
import { toHex, utf8Bytes } from '../src/util/bytes.js';

const provider = nodeCryptoProvider;
const suite = provider.suite(1);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

async function pair(config: GroupConfig) {
  const signatureKey = await suite.signature.generateKeyPair();
  let a = await createGroup({ provider, suite: 1, groupId: utf8Bytes('app'), signatureKey, credential: { credentialType: CredentialType.basic, identity: utf8Bytes('alice') }, config });
  const kb = await generateKeyPackage({ suite, signatureKey: await suite.signature.generateKeyPair(), credential: { credentialType: CredentialType.basic, identity: utf8Bytes('bob') } });
  const add = await createCommit(a, { proposals: [{ proposalType: ProposalType.add, add: { keyPackage: kb.keyPackage } }] });
  a = mergeCommit(a, add.pending);
  const b = await joinFromWelcome({ provider, welcome: add.welcome!, keyPackage: kb.keyPackage, privateKeys: kb.privateKeys, config });
  return { a, b, signatureKey };
}

describe('application messages', () => {
  it('accepts out-of-order messages and late messages of the previous epoch, once each', async () => {
    let { a, b } = await pair({ now: () => 1n });
    const m = [];
    for (let i = 0; i < 4; i++) {
      const sent = await encryptApplication(a, utf8Bytes(`m${i}`));
      a = sent.state;
      m.push(sent.message);
    }
    const order = [3, 0, 2];
    for (const i of order) {
      const r = await processMessage(b, m[i]!);
      expect(r.event.type === 'application' && text(r.event.data)).toBe(`m${i}`);
      b = r.state;
    }
    // Alice moves to the next epoch; m1 (epoch 1) arrives late at Bob, who has also moved on.
    const c = await createCommit(a, { withPath: true });
    const b2 = (await processMessage(b, c.commitMessage)).state;
    const late = await processMessage(b2, m[1]!);
    expect(late.event).toMatchObject({ type: 'application', epoch: 1n });
    await expect(processMessage(late.state, m[1]!)).rejects.toMatchObject({ code: 'generation-reused' });
  });

  it('refuses generations beyond the configured forward window', async () => {
    const g = await pair({ now: () => 1n, secretTree: { maxForwardDistance: 2 } });
    const b = g.b;
    let a = g.a;
    const m = [];
    for (let i = 0; i < 4; i++) {
      const sent = await encryptApplication(a, utf8Bytes(`m${i}`));
      a = sent.state;
      m.push(sent.message);
    }
    await expect(processMessage(b, m[3]!)).rejects.toMatchObject({ code: 'generation-too-far' });
    expect((await processMessage(b, m[2]!)).event.type).toBe('application');
  });

  it('keeps past epochs only as configured', async () => {
    const { a, b } = await pair({ now: () => 1n, retainedEpochs: 0 });
    const m0 = await encryptApplication(a, utf8Bytes('old'));
    const c = await createCommit(a, { withPath: true });
    const b2 = (await processMessage(b, c.commitMessage)).state;
    await expect(processMessage(b2, m0.message)).rejects.toMatchObject({ code: 'wrong-epoch' });
  });

  it('never prints a secret', async () => {
    const { b, signatureKey } = await pair({ now: () => 1n });
    const secrets = [b.keys.exporterSecret.bytes, b.keys.epochAuthenticator.bytes, b.keys.membershipKey.bytes, signatureKey.privateKey].map(toHex);
    // Everything a logger or serialiser can reach: own enumerable properties, arrays, maps.
    const seen = new Set<unknown>();
    const reachable: string[] = [];
    const walk = (v: unknown): void => {
      if (v === null || typeof v !== 'object' || seen.has(v)) return;
      seen.add(v);
      if (v instanceof Uint8Array) reachable.push(toHex(v));
      else if (v instanceof Map) {
        for (const [k, x] of v) {
          walk(k);
          walk(x);
        }
      }
      else for (const x of Object.values(v)) walk(x);
    };
    walk(b);
    for (const secret of secrets) expect(reachable).not.toContain(secret);
    const shown = inspect(b, { depth: 8 });
    expect(shown).toContain('[secret]');
    expect(shown).not.toContain(toHex(signatureKey.privateKey));
  });
});
