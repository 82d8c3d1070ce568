// RFC 9420 §12.4.3 Welcome, both sides: what a committer builds, a joiner opens to the
// same epoch; PSKs it names must be known; secrets never print.
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { decode, encode } from '../src/codec/index.js';
import type { CipherSuite, KeyPair } from '../src/crypto/provider.js';
import { ValidationError } from '../src/errors.js';
import { WireFormat } from '../src/messages/framing.js';
import { encodeGroupContext, type GroupContext } from '../src/messages/group-context.js';
import type { KeyPackage } from '../src/messages/key-package.js';
import { decodeMLSMessage } from '../src/messages/mls-message.js';
import { PSKType, type PreSharedKeyID } from '../src/messages/proposal.js';
import type { GroupInfo } from '../src/messages/welcome.js';
import { deriveEpochSecret, deriveEpochSecrets, deriveWelcomeSecret } from '../src/schedule/key-schedule.js';
import { resolvePskSecret } from '../src/schedule/psk.js';
import { asSecret, type JoinerSecret } from '../src/schedule/secrets.js';
import { confirmationTag } from '../src/schedule/transcript.js';
import { leafIndex } from '../src/util/brand.js';
import { toHex } from '../src/util/bytes.js';
import { createWelcome, decryptWelcome, joinedEpochSecrets, signGroupInfo, verifyGroupInfoSignature } from '../src/welcome/welcome.js';
import { defaultProvider, hex, vectorsDir } from './kinds/harness.js';

let suite: CipherSuite;
let keyPackage: KeyPackage;
let initPrivateKey: Uint8Array;
let signer: KeyPair;

beforeAll(async () => {
  suite = (await defaultProvider()).suite(1);
  // A real KeyPackage with its init private key: the first case of the official welcome vectors (suite 1).
  const [c] = JSON.parse(readFileSync(`${vectorsDir}welcome.json`, 'utf8')) as { cipher_suite: number; key_package: string; init_priv: string }[];
  const m = decode(decodeMLSMessage, hex(c!.key_package));
  if (m.wireFormat !== WireFormat.mls_key_package || c!.cipher_suite !== 1) throw new Error('unexpected vector');
  keyPackage = m.keyPackage;
  initPrivateKey = hex(c!.init_priv);
  signer = await suite.signature.generateKeyPair();
});

const PSK_ID: PreSharedKeyID = { psktype: PSKType.external, pskId: new Uint8Array([1, 2, 3]), pskNonce: new Uint8Array(32).fill(4) };
const PSK = new Uint8Array(32).fill(0x55);
const groupContext: GroupContext = {
  version: 1,
  cipherSuite: 1,
  groupId: new Uint8Array([7, 7]),
  epoch: 5n,
  treeHash: new Uint8Array(32).fill(1),
  confirmedTranscriptHash: new Uint8Array(32).fill(2),
  extensions: [],
};

/** The committer's side: GroupInfo with a correct confirmation tag, signed, and the Welcome. */
async function committerWelcome(joinerBytes: Uint8Array) {
  const joinerSecret: JoinerSecret = asSecret(joinerBytes);
  const pskSecret = await resolvePskSecret(suite, [PSK_ID], () => PSK);
  const epochSecrets = await deriveEpochSecrets(suite, await deriveEpochSecret(suite, joinerSecret, pskSecret, encode(encodeGroupContext, groupContext)));
  const unsigned = {
    groupContext,
    extensions: [],
    confirmationTag: await confirmationTag(suite, epochSecrets.confirmationKey, groupContext.confirmedTranscriptHash),
    signer: leafIndex(0),
  };
  const groupInfo: GroupInfo = { ...unsigned, signature: await signGroupInfo(suite, unsigned, signer.privateKey) };
  const welcome = await createWelcome(suite, {
    groupInfo,
    joinerSecret,
    welcomeSecret: await deriveWelcomeSecret(suite, joinerSecret, pskSecret),
    psks: [PSK_ID],
    newMembers: [{ keyPackage, pathSecret: asSecret<'path-secret'>(new Uint8Array(32).fill(9)) }],
  });
  return { welcome, epochSecrets };
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const error: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ValidationError);
  return (error as ValidationError).code;
}

describe('Welcome', () => {
  it('brings the joiner to the committer epoch', async () => {
    const joiner = new Uint8Array(32).fill(0x31);
    const { welcome, epochSecrets } = await committerWelcome(joiner.slice());
    const opened = await decryptWelcome(suite, welcome, { keyPackage, initPrivateKey, resolvePsk: () => PSK });
    expect(opened.joinerSecret.bytes).toEqual(joiner);
    expect(opened.pathSecret?.bytes).toEqual(new Uint8Array(32).fill(9));
    expect(opened.psks).toEqual([PSK_ID]);
    await verifyGroupInfoSignature(suite, opened.groupInfo, signer.publicKey);
    const joined = await joinedEpochSecrets(suite, opened);
    expect(joined.epochAuthenticator.bytes).toEqual(epochSecrets.epochAuthenticator.bytes);
    expect(joined.encryptionSecret.bytes).toEqual(epochSecrets.encryptionSecret.bytes);
    expect(opened.joinerSecret.destroyed).toBe(true);
  });

  it('refuses a Welcome whose PSK the joiner does not have', async () => {
    const { welcome } = await committerWelcome(new Uint8Array(32).fill(0x32));
    expect(await refusal(decryptWelcome(suite, welcome, { keyPackage, initPrivateKey }))).toBe('missing-psk');
  });

  it('refuses a Welcome with the wrong PSK value (the GroupInfo no longer decrypts)', async () => {
    const { welcome } = await committerWelcome(new Uint8Array(32).fill(0x33));
    expect(await refusal(decryptWelcome(suite, welcome, { keyPackage, initPrivateKey, resolvePsk: () => new Uint8Array(32) }))).toBe('undecryptable-group-info');
  });

  it('refuses a Welcome that is not for this KeyPackage, or of another suite', async () => {
    const { welcome } = await committerWelcome(new Uint8Array(32).fill(0x34));
    const other = { ...welcome, secrets: welcome.secrets.map((s) => ({ ...s, newMember: new Uint8Array(32) })) };
    expect(await refusal(decryptWelcome(suite, other, { keyPackage, initPrivateKey, resolvePsk: () => PSK }))).toBe('welcome-not-for-us');
    expect(await refusal(decryptWelcome(suite, { ...welcome, cipherSuite: 2 }, { keyPackage, initPrivateKey, resolvePsk: () => PSK }))).toBe('suite-mismatch');
  });

  it('never prints the joiner secret', async () => {
    const joiner = new Uint8Array(32).fill(0x35);
    const { welcome } = await committerWelcome(joiner.slice());
    const opened = await decryptWelcome(suite, welcome, { keyPackage, initPrivateKey, resolvePsk: () => PSK });
    const h = toHex(joiner);
    expect(inspect(opened, { depth: 10 })).not.toContain(h);
    expect(JSON.stringify(opened, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? toHex(v) : v))).not.toContain(h);
  });
});
