// Crash safety: the server runs as a child process; clients send; the server is killed
// with SIGKILL mid-stream and restarted on the same data. Every message whose send was
// acknowledged must reach every recipient device, exactly once after de-duplication by id.
// Both durability levels are run: a process crash loses nothing acknowledged under
// synchronous=FULL and under NORMAL alike (NORMAL differs only on power loss / OS crash).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { MlsDevice, newUser, WsClient, type TestDevice } from '@parley/testing';

const root = fileURLToPath(new URL('../../..', import.meta.url));

async function spawnServer(dataDir: string, durability: 'full' | 'normal'): Promise<{ child: ChildProcess; url: string }> {
  // Node itself runs the server (tsx only as a loader): the tsx CLI would run it in a
  // grandchild that a SIGKILL of the CLI leaves alive, and the "crash" would not be one.
  const args = ['--conditions=parley:source', '--import', 'tsx', join(root, 'packages/server/test/crash-server.ts'), dataDir, durability];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const m = /LISTENING (\S+)/.exec(out);
      if (m !== null) resolve(m[1]!);
    });
    child.once('exit', (code) => {
      reject(new Error(`server exited early (${code})`));
    });
  });
  return { child, url };
}

it.each(['full', 'normal'] as const)('durability %s: delivers every acknowledged message to every recipient after a SIGKILL and a restart', async (durability) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-crash-'));
  let { child, url } = await spawnServer(dataDir, durability);
  const ws = (): string => url.replace(/^http/, 'ws') + '/v1/ws';

  const mls: MlsDevice[] = [];
  for (let i = 0; i < 3; i++) mls.push(await MlsDevice.register(url, await newUser(url)));
  const devices: TestDevice[] = mls.map((m) => m.device);
  const [a, b] = devices as [TestDevice, TestDevice, TestDevice];
  const group = `grp-${randomBytes(6).toString('hex')}`;
  expect((await mls[0]!.createGroup(url, group)).status).toBe(201);
  const held = await Promise.all(mls.slice(1).map((m) => m.keyPackage()));
  expect((await mls[0]!.commit(url, group, held.map((h) => ({ proposalType: 1 as const, add: { keyPackage: h.keyPackage } })))).status).toBe(201);

  const clients = new Map<string, WsClient>();
  for (const d of devices) clients.set(d.deviceId, await WsClient.connect(ws(), d.token));
  const acked = new Map<string, string>(); // message id (hex) -> sender device

  // Two senders stream messages without waiting; the server is killed while they do.
  let stop = false;
  const sender = async (d: TestDevice): Promise<void> => {
    const client = clients.get(d.deviceId)!;
    while (!stop) {
      const batch = Array.from({ length: 20 }, () => {
        const id = new Uint8Array(randomBytes(16));
        return client.send(group, new Uint8Array(randomBytes(250)), id).then((f) => {
          if (f.type === 'sent') acked.set(Buffer.from(id).toString('hex'), d.deviceId);
        });
      });
      await Promise.race([Promise.all(batch), new Promise((r) => setTimeout(r, 1000))]);
    }
  };
  const senders = [sender(a), sender(b)];
  const deadline = Date.now() + 20_000;
  while (acked.size < 400 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  stop = true;
  await Promise.all(senders);
  const ackedAtKill = acked.size;
  expect(ackedAtKill).toBeGreaterThanOrEqual(100);

  // Restart on the same data; every device reconnects from its durable cursor.
  ({ child, url } = await spawnServer(dataDir, durability));
  try {
    const received = new Map<string, string[]>();
    for (const d of devices) received.set(d.deviceId, clients.get(d.deviceId)!.delivered.filter((f) => f.kind === 'application').map((f) => Buffer.from(f.messageId).toString('hex')));
    const again = new Map<string, WsClient>();
    for (const d of devices) again.set(d.deviceId, await WsClient.connect(ws(), d.token));
    for (const d of devices) {
      const expected = [...acked].filter(([, from]) => from !== d.deviceId).map(([id]) => id);
      const client = again.get(d.deviceId)!;
      const have = (): Set<string> => new Set([...received.get(d.deviceId)!, ...client.delivered.filter((f) => f.kind === 'application').map((f) => Buffer.from(f.messageId).toString('hex'))]);
      await client.until(() => expected.every((id) => have().has(id)), 30_000);
      // Nothing a device sent comes back to it, and no id is unknown.
      const own = [...have()].filter((id) => acked.get(id) === d.deviceId);
      expect(own).toEqual([]);
      // After de-duplication by id, each acknowledged message appears once, in the log's order.
      const seqs = client.delivered.filter((f) => f.kind === 'application').map((f) => f.seq);
      expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
      expect(new Set(seqs).size).toBe(seqs.length);
    }
    for (const cl of [...clients.values(), ...again.values()]) cl.ws.terminate();
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});
