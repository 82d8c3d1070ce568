// Scheduled key updates (packages/client/src/sdk/key-update.ts): the clock starts when
// a group is first seen, an update is due after the policy's interval, and the update is
// a commit with a fresh UpdatePath (a new leaf encryption key) that is retried once on a
// lost epoch race. The host here is a small in-process stand-in for the client and the
// server's sequencer; test/attacks/post-compromise.test.ts runs it with real clients.
import { nodeCryptoProvider } from '@parley/mls/crypto-node';
import { createGroup, CredentialType, leafIndex, type CreatedCommit, type GroupState } from '@parley/mls';
import { DEFAULT_UPDATE_INTERVAL_SECONDS, groupPolicyExtension, newGroupPolicy } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { commitKeyUpdate, isUpdateDue, lastUpdateCursor, updateIntervalMs, updateKeysIfDue, type KeyUpdateHost } from '../src/sdk/key-update.js';
import { createMemoryStore } from '../src/store/memory-store.js';

const provider = nodeCryptoProvider;
const suite = provider.suite(1);
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const DAY = 24 * 3600 * 1000;

async function group(extensions: GroupState['groupContext']['extensions'] = []): Promise<GroupState> {
  const signatureKey = await suite.signature.generateKeyPair();
  return createGroup({ provider, suite: 1, groupId: utf8('pcs'), signatureKey, credential: { credentialType: CredentialType.basic, identity: utf8('alice') }, extensions, config: { now: () => 1n } });
}

function host(initial: GroupState, opts: { lose?: number } = {}) {
  let state = initial;
  let clock = 1_000_000;
  let lose = opts.lose ?? 0;
  const submitted: { epoch: number; commit: CreatedCommit }[] = [];
  let caughtUp = 0;
  const store = createMemoryStore();
  const h: KeyUpdateHost = {
    now: () => clock,
    store,
    loadState: () => Promise.resolve(state),
    submit: (_g, epoch, commit) => {
      if (lose > 0) {
        lose -= 1;
        return Promise.reject(Object.assign(new Error('another commit won'), { code: 'stale-epoch' }));
      }
      submitted.push({ epoch, commit });
      return Promise.resolve({ seq: submitted.length });
    },
    adopt: async (_g, next, _seq, cursors) => {
      await store.commit({ cursors });
      state = next;
    },
    catchUp: () => {
      caughtUp += 1;
      return Promise.resolve();
    },
  };
  return { h, store, submitted, state: () => state, advance: (ms: number) => (clock += ms), caughtUp: () => caughtUp };
}

const leafKey = (s: GroupState): string => Buffer.from(s.tree.leaf(s.ownLeaf)?.encryptionKey ?? new Uint8Array()).toString('hex');

describe('scheduled key updates', () => {
  it('the interval is the policy’s, else one week', async () => {
    expect(updateIntervalMs(await group())).toBe(DEFAULT_UPDATE_INTERVAL_SECONDS * 1000);
    const policy = { ...newGroupPolicy({ kind: 'group', name: 'g', creator: 'alice' }), updateIntervalSeconds: 3600 };
    expect(updateIntervalMs(await group([groupPolicyExtension(policy)]))).toBe(3600_000);
    expect(isUpdateDue(0, 7 * DAY - 1, 7 * DAY)).toBe(false);
    expect(isUpdateDue(0, 7 * DAY, 7 * DAY)).toBe(true);
  });

  it('starts the clock on first sight, then commits a fresh path once the interval has passed', async () => {
    const t = host(await group());
    const before = leafKey(t.state());
    expect(await updateKeysIfDue(t.h, 'g')).toBe(false);
    expect(await t.store.getCursor(lastUpdateCursor('g'))).toBe('1000000');
    t.advance(7 * DAY - 1);
    expect(await updateKeysIfDue(t.h, 'g')).toBe(false);
    expect(t.submitted).toHaveLength(0);
    t.advance(1);
    expect(await updateKeysIfDue(t.h, 'g')).toBe(true);
    expect(t.submitted).toHaveLength(1);
    expect(t.submitted[0]?.epoch).toBe(0);
    expect(t.state().groupContext.epoch).toBe(1n);
    expect(leafKey(t.state())).not.toBe(before);
    expect(t.state().ownLeaf).toBe(leafIndex(0));
    expect(await t.store.getCursor(lastUpdateCursor('g'))).toBe(String(1_000_000 + 7 * DAY));
    // The clock restarted: nothing is due right after.
    expect(await updateKeysIfDue(t.h, 'g')).toBe(false);
  });

  it('a lost epoch race is retried once on the new epoch; a second loss is the caller’s', async () => {
    const once = host(await group(), { lose: 1 });
    expect(await commitKeyUpdate(once.h, 'g')).toBe(1n);
    expect(once.caughtUp()).toBe(2); // after the lost race, and up to our commit
    const twice = host(await group(), { lose: 2 });
    await expect(commitKeyUpdate(twice.h, 'g')).rejects.toMatchObject({ code: 'stale-epoch' });
    expect(twice.state().groupContext.epoch).toBe(0n);
  });

  it('an unreadable clock record restarts the clock instead of committing', async () => {
    const t = host(await group());
    await t.store.commit({ cursors: { [lastUpdateCursor('g')]: 'yesterday' } });
    expect(await updateKeysIfDue(t.h, 'g')).toBe(false);
    expect(t.submitted).toHaveLength(0);
  });
});
