// Shared set-up of the attack tests (issue 7 item 2): a real Parley server on loopback,
// the hostile proxy in front of it, and real SDK clients (Node backend, in-memory
// stores) that talk only to the proxy. Each client has its own clock the test moves.
import { nodeCryptoProvider } from '@parley/mls/crypto-node';
import { ParleyClient, createMemoryStore, type ClientStore, type ParleyEvent } from '@parley/client';
import { nodeClientCrypto, nodeWebSocketFactory } from '@parley/client/node';
import { startHostileServer, startTestServer, type HostileServer, type TestServer } from '@parley/testing';
import type { DeliverFrame } from '@parley/protocol';

export interface Clock {
  now: number;
}

export interface Actor {
  readonly client: ParleyClient;
  readonly store: ClientStore;
  readonly clock: Clock;
  /** Every event this client emitted, in order. */
  readonly events: ParleyEvent[];
}

export interface World {
  readonly server: TestServer;
  readonly hostile: HostileServer;
  /** A fresh user (name made unique per run) with one device, connected through the proxy. */
  user(name: string, opts?: { connect?: boolean }): Promise<Actor>;
  close(): Promise<void>;
}

const START = Date.UTC(2026, 0, 5, 9, 0, 0);

export async function startWorld(): Promise<World> {
  const server = await startTestServer();
  const hostile = await startHostileServer({ upstream: server.url });
  const actors: Actor[] = [];
  const run = `${String(process.pid)}${String(Math.floor(Math.random() * 1e6))}`;
  let made = 0;
  return {
    server,
    hostile,
    user: async (name, opts = {}) => {
      const store = createMemoryStore();
      const clock: Clock = { now: START };
      const options = { serverUrl: hostile.url, store, crypto: nodeClientCrypto, provider: nodeCryptoProvider, webSocket: nodeWebSocketFactory, keyPackages: 2, now: () => clock.now, backupKdf: { logN: 10, r: 8, p: 1 } };
      const client = await ParleyClient.register(options, `${name}${run}n${String((made += 1))}`, `password of ${name}`, undefined, `backup passphrase of ${name}`);
      const events: ParleyEvent[] = [];
      client.on((e) => events.push(e));
      const actor = { client, store, clock, events };
      actors.push(actor);
      if (opts.connect !== false) {
        await client.connect();
        await hostile.waitForConnection(client.deviceId);
      }
      return actor;
    },
    close: async () => {
      for (const a of actors) await a.client.close();
      await hostile.close();
      await server.close();
    },
  };
}

/** Resolves with the first event (already emitted or coming) that satisfies `pred`. */
export function eventOf(actor: Actor, pred: (e: ParleyEvent) => boolean, timeoutMs = 10_000): Promise<ParleyEvent> {
  const seen = actor.events.find(pred);
  if (seen !== undefined) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error('timed out waiting for an event'));
    }, timeoutMs);
    const off = actor.client.on((e) => {
      if (pred(e)) {
        clearTimeout(timer);
        off();
        resolve(e);
      }
    });
  });
}

export const textOf = (e: ParleyEvent): string | undefined => (e.type === 'message' && e.message.body.type === 'text' ? e.message.body.text : undefined);
export const isText = (t: string) => (e: ParleyEvent): boolean => textOf(e) === t;
export const isWarning = (code: string) => (e: ParleyEvent): boolean => e.type === 'warning' && e.code === code;

/** The texts of a conversation as the client shows them. */
export async function shown(actor: Actor, groupId: string): Promise<string[]> {
  return (await actor.client.history(groupId)).flatMap((m) => (m.body.type === 'text' ? [m.body.text] : []));
}

/** Opens a 1:1 conversation from `a` to `b` and waits until `b` has joined it. */
export async function direct(a: Actor, b: Actor): Promise<string> {
  const groupId = await a.client.openDirect(b.client.userId);
  await eventOf(b, (e) => e.type === 'conversation' && e.conversation.groupId === groupId);
  return groupId;
}

/** `a` creates a named group (administering it) with `others`, and waits until each has joined. */
export async function group(a: Actor, name: string, others: readonly Actor[]): Promise<string> {
  const groupId = await a.client.createGroup(name, others.map((o) => o.client.userId));
  for (const o of others) await eventOf(o, (e) => e.type === 'conversation' && e.conversation.groupId === groupId);
  return groupId;
}

/** The deliver frames the real server pushed to a device, of one kind, in one group. */
export function framesTo(world: World, actor: Actor, groupId: string, kind: DeliverFrame['kind']): DeliverFrame[] {
  return world.hostile.connections(actor.client.deviceId).flatMap((c) => c.delivered.filter((f) => f.groupId === groupId && f.kind === kind));
}

/** A frame as the proxy would inject it: a later seq and a fresh message id. */
export function injected(frame: DeliverFrame, seq: number, payload: Uint8Array = frame.payload): DeliverFrame {
  const messageId = new Uint8Array(16);
  crypto.getRandomValues(messageId);
  return { ...frame, seq, messageId, payload };
}

export const DAY = 24 * 3600 * 1000;
