// RFC 9420 §8 key schedule: the one-call run agrees with the step-by-step derivation the
// vectors check; the exporter separates labels, contexts and lengths; secrets never print.
import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CipherSuite } from '../src/crypto/provider.js';
import { UsageError } from '../src/errors.js';
import {
  deriveEpochSecret,
  deriveEpochSecrets,
  deriveJoinerSecret,
  deriveWelcomeSecret,
  mlsExporter,
  runKeySchedule,
  zeroSecret,
} from '../src/schedule/key-schedule.js';
import { derivePskSecret } from '../src/schedule/psk.js';
import { asSecret, type ConfirmationKey, type ExporterSecret } from '../src/schedule/secrets.js';
import { toHex } from '../src/util/bytes.js';
import { defaultProvider } from './kinds/harness.js';

let suite: CipherSuite;
beforeAll(async () => {
  suite = (await defaultProvider()).suite(1);
});

const groupContext = new Uint8Array([0, 1, 0, 1, 2, 9, 9]);

describe('key schedule', () => {
  it('runKeySchedule agrees with the separate steps', async () => {
    const init = new Uint8Array(32).fill(1);
    const commit = new Uint8Array(32).fill(2);
    const psk = await derivePskSecret(suite, []);
    expect(psk.bytes).toEqual(zeroSecret(suite));
    const run = await runKeySchedule(suite, { initSecret: asSecret(init.slice()), commitSecret: asSecret(commit.slice()), pskSecret: psk, groupContext });
    const joiner = await deriveJoinerSecret(suite, asSecret(init.slice()), asSecret(commit.slice()), groupContext);
    expect(run.joinerSecret.bytes).toEqual(joiner.bytes);
    expect(run.welcomeSecret.bytes).toEqual((await deriveWelcomeSecret(suite, joiner, psk)).bytes);
    const secrets = await deriveEpochSecrets(suite, await deriveEpochSecret(suite, joiner, psk, groupContext));
    expect(run.epochAuthenticator.bytes).toEqual(secrets.epochAuthenticator.bytes);
    expect(run.initSecret.bytes).toEqual(secrets.initSecret.bytes);
    // Every derived secret differs from every other (distinct labels).
    const all = [run.senderDataSecret, run.encryptionSecret, run.exporterSecret, run.externalSecret, run.confirmationKey, run.membershipKey, run.resumptionPsk, run.epochAuthenticator, run.initSecret];
    expect(new Set(all.map((s) => toHex(s.bytes))).size).toBe(all.length);
  });

  it('binds the epoch to the GroupContext', async () => {
    const args = { initSecret: asSecret<'init_secret'>(new Uint8Array(32)), commitSecret: asSecret<'commit_secret'>(new Uint8Array(32)), pskSecret: asSecret<'psk_secret'>(new Uint8Array(32)) };
    const a = await runKeySchedule(suite, { ...args, groupContext });
    const b = await runKeySchedule(suite, { ...args, groupContext: groupContext.map((x, i) => (i === 6 ? x ^ 1 : x)) });
    expect(a.epochAuthenticator.bytes).not.toEqual(b.epochAuthenticator.bytes);
  });

  it('exports distinct values per label, context and length', async () => {
    const exporter: ExporterSecret = asSecret(new Uint8Array(32).fill(3));
    const base = await mlsExporter(suite, exporter, 'parley test', new Uint8Array([1]), 32);
    expect(base).toHaveLength(32);
    expect(await mlsExporter(suite, exporter, 'parley test', new Uint8Array([1]), 32)).toEqual(base);
    expect(await mlsExporter(suite, exporter, 'parley other', new Uint8Array([1]), 32)).not.toEqual(base);
    expect(await mlsExporter(suite, exporter, 'parley test', new Uint8Array([2]), 32)).not.toEqual(base);
    expect((await mlsExporter(suite, exporter, 'parley test', new Uint8Array([1]), 16)).subarray(0, 16)).not.toEqual(base.subarray(0, 16));
    await expect(mlsExporter(suite, exporter, 'x', new Uint8Array(0), -1)).rejects.toBeInstanceOf(UsageError);
  });

  it('gives each secret its own type', () => {
    const membership = asSecret<'membership_key'>(new Uint8Array(32));
    // @ts-expect-error a membership key cannot be passed as a confirmation key
    const swapped: ConfirmationKey = membership;
    expect(swapped).toBe(membership);
  });

  it('never prints a secret', async () => {
    const run = await runKeySchedule(suite, {
      initSecret: asSecret(new Uint8Array(32).fill(1)),
      commitSecret: asSecret(new Uint8Array(32).fill(2)),
      pskSecret: asSecret(new Uint8Array(32)),
      groupContext,
    });
    const h = toHex(run.membershipKey.bytes);
    expect(inspect(run, { depth: 5 })).not.toContain(h);
    expect(JSON.stringify(run)).not.toContain(h);
    expect(String(run.membershipKey)).toBe('[secret]');
  });
});
