// The error codes of WebSocket `error` frames, per what they answer (FRAME_ERROR_CODES in
// packages/protocol/src/frames.ts, listed again in docs/protocol.md): each list is
// produced here for real, frame by frame; a code outside its list is counted and fails
// the test server's close(); and the protocol document lists exactly the same codes.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { defaultConfig } from '@parley/server';
import { FRAME_ERROR_CODES, PROTOCOL_VERSION, encodeSendFrame, type ErrorFrameSource, type ServerControlFrame } from '@parley/protocol';
import { MlsDevice, newUser, startTestServer, WsClient, type TestServer } from '@parley/testing';

let srv: TestServer;
let member: MlsDevice;
let outsider: MlsDevice;
let group: string;
let deviceless: string;

beforeAll(async () => {
  const limits = defaultConfig({ dataDir: '' }).rateLimits!;
  // A send budget of 3 per account, so that `rate-limited` is reachable; the rest as deployed.
  srv = await startTestServer({ rateLimits: { ...limits, sendPerAccount: { rate: 0.001, burst: 3 } }, wsMaxConnectionsPerDevice: 1 });
  const u = await newUser(srv.url);
  member = await MlsDevice.register(srv.url, u);
  outsider = await MlsDevice.register(srv.url, await newUser(srv.url));
  deviceless = (await newUser(srv.url)).token;
  group = `grp-${randomBytes(6).toString('hex')}`;
  expect((await member.createGroup(srv.url, group)).status).toBe(201);
});
afterAll(async () => {
  await srv.close();
});

type ErrorFrame = Extract<ServerControlFrame, { type: 'error' }>;

/** The error frame an unauthenticated socket gets for its first frame (or for none). */
async function firstFrameError(first: string | undefined, headers: Record<string, string> = {}): Promise<ErrorFrame> {
  const ws = new WebSocket(srv.wsUrl, { headers });
  const got: ErrorFrame[] = [];
  ws.on('message', (d) => got.push(JSON.parse((d as Buffer).toString('utf8')) as ErrorFrame));
  await new Promise((r) => ws.once('open', r));
  if (first !== undefined) ws.send(first);
  await new Promise((r) => ws.once('close', r));
  expect(got).toHaveLength(1);
  return got[0]!;
}

async function answer(c: WsClient, frame: string | Uint8Array): Promise<ErrorFrame> {
  const before = c.controls.length;
  c.ws.send(frame);
  await c.until(() => c.controls.slice(before).some((f) => f.type === 'error'));
  return c.controls.slice(before).find((f): f is ErrorFrame => f.type === 'error')!;
}

it('answers each frame type with the codes its list declares, and every code of every list is reachable', async () => {
  const seen = new Map<ErrorFrameSource, Set<string>>();
  const saw = (source: ErrorFrameSource, e: ErrorFrame): void => {
    expect(FRAME_ERROR_CODES[source], `${source} answered ${e.code}`).toContain(e.code);
    seen.set(source, (seen.get(source) ?? new Set()).add(e.code));
  };

  // Before authentication: everything answers the auth step.
  saw('auth', await firstFrameError('{"type":"auth"'));
  saw('auth', await firstFrameError(JSON.stringify({ type: 'ping' })));
  saw('auth', await firstFrameError(JSON.stringify({ type: 'auth', token: member.device.token, version: PROTOCOL_VERSION + 1 })));
  saw('auth', await firstFrameError(JSON.stringify({ type: 'auth', token: 'A'.repeat(43), version: PROTOCOL_VERSION })));
  saw('auth', await firstFrameError(JSON.stringify({ type: 'auth', token: deviceless, version: PROTOCOL_VERSION })));
  saw('auth', await firstFrameError(undefined, { authorization: `Bearer ${'B'.repeat(43)}` }));

  const c = await WsClient.connect(srv.wsUrl, member.device.token);
  saw('auth', await answer(c, JSON.stringify({ type: 'auth', token: member.device.token, version: PROTOCOL_VERSION })));
  saw('ack', await answer(c, JSON.stringify({ type: 'ack', inbox: -1 })));
  saw('sync', await answer(c, JSON.stringify({ type: 'sync', groups: 'all' })));
  saw('ping', await answer(c, JSON.stringify({ type: 'ping', extra: 1 })));
  saw('frame', await answer(c, JSON.stringify({ type: 'subscribe' })));
  saw('frame', await answer(c, 'not json'));
  saw('send', await answer(c, new Uint8Array([1, 0, 0, 0, 9])));
  saw('send', await answer(c, encodeSendFrame({ ref: 1, groupId: 'no-such-group', messageId: new Uint8Array(16), payload: new Uint8Array(8) })));
  // The budget of 3: the unknown group's send above (limited before the store looks) and two more; the fourth is refused.
  for (let i = 0; i < 2; i++) expect(await c.send(group, new Uint8Array(8))).toMatchObject({ type: 'sent' });
  saw('send', await answer(c, encodeSendFrame({ ref: 9, groupId: group, messageId: randomBytes(16), payload: new Uint8Array(8) })));
  saw('send', await answer(c, encodeSendFrame({ ref: 10, groupId: group, messageId: randomBytes(16), payload: new Uint8Array(8) })));

  const o = await WsClient.connect(srv.wsUrl, outsider.device.token);
  saw('send', await answer(o, encodeSendFrame({ ref: 1, groupId: group, messageId: randomBytes(16), payload: new Uint8Array(8) })));
  // A second connection of the same device (the cap is 1 here) closes the first, told why.
  const o2 = await WsClient.connect(srv.wsUrl, outsider.device.token);
  await o.until(() => o.closeCode !== undefined);
  saw('connection', o.controls.find((f): f is ErrorFrame => f.type === 'error' && f.ref === undefined)!);
  await Promise.all([c.close(), o2.close()]);

  // `internal` (a failed store) cannot be provoked from outside; every other declared code was seen.
  for (const [source, codes] of Object.entries(FRAME_ERROR_CODES) as [ErrorFrameSource, readonly string[]][]) {
    expect([...(seen.get(source) ?? [])].sort(), source).toEqual(codes.filter((code) => code !== 'internal').sort());
  }
});

it('counts an error code its frame does not declare, and the test server fails on it', async () => {
  const own = await startTestServer();
  own.server.gateway.checkDeclared('ping', 'internal');
  own.server.gateway.checkDeclared('send', 'rate-limited');
  const counted = (await own.server.ctx.metrics.wsUndeclaredErrors.get()).values.filter((v) => v.value > 0);
  expect(counted.map((v) => `${String(v.labels.frame)} ${String(v.labels.code)}`)).toEqual(['ping internal']);
  await expect(own.close()).rejects.toThrow('error codes not declared for their frames: ping internal (1)');
});

it('docs/protocol.md lists, per frame, exactly the codes of FRAME_ERROR_CODES', () => {
  const doc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('Error codes of `error` frames'));
  const listed: Record<string, string[]> = {};
  for (const m of section.matchAll(/^\| `([a-z]+)` \| ((?:`[a-z-]+`(?:, )?)+) \|/gm)) listed[m[1]!] = [...m[2]!.matchAll(/`([a-z-]+)`/g)].map((x) => x[1]!);
  expect(listed).toEqual(Object.fromEntries(Object.entries(FRAME_ERROR_CODES).map(([k, v]) => [k, [...v]])));
});
