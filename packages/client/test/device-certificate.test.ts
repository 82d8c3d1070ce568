// Device certificates: the byte layout of @parley/protocol's device-certificate.ts,
// signing with the identity key, and a verification that fails closed.
import { createHash } from 'node:crypto';
import { decodeDeviceCertificate, DEVICE_CERTIFICATE_LABEL, DeviceCertificateError, deviceCertificateSignedBytes, encodeDeviceCertificate } from '@parley/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VerificationError } from '../src/errors.js';
import { checkDeviceCertificate, createDevice, generateIdentityKey, issueDeviceCertificate, type IdentityKeyPair } from '../src/identity/identity.js';
import { nodeClientCrypto as crypto } from '../src/node/crypto.js';
import { SecretBytes } from '../src/util/secret.js';

const tbs = {
  userId: 'alice',
  deviceId: 'laptop',
  signatureKey: Uint8Array.from({ length: 32 }, (_, i) => i),
  cipherSuite: 1,
  createdAt: 1_764_300_000_123,
};

/** A fixed identity key (RFC 8032 §7.1 TEST 1 secret key) so that signatures are reproducible. */
async function fixedIdentity(): Promise<IdentityKeyPair> {
  const seed = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
  return { publicKey: await crypto.ed25519.publicKeyOf(seed), privateKey: new SecretBytes(new Uint8Array(seed)) };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: unknown) => (e instanceof VerificationError ? e.code : `unexpected ${String(e)}`),
  );
}

describe('device certificate bytes', () => {
  it('are the documented layout', () => {
    const created = Buffer.alloc(8);
    created.writeBigUInt64BE(BigInt(tbs.createdAt));
    const expected = Buffer.concat([
      Buffer.from(DEVICE_CERTIFICATE_LABEL, 'utf8'),
      Buffer.from([1]), // version
      Buffer.from([5]), Buffer.from('alice'),
      Buffer.from([6]), Buffer.from('laptop'),
      Buffer.from([32]), Buffer.from(tbs.signatureKey),
      Buffer.from([0, 1]), // cipher suite
      created,
    ]);
    expect(Buffer.from(deviceCertificateSignedBytes(tbs)).toString('hex')).toBe(expected.toString('hex'));
    // A 64-byte signature: the certificate is the same fields without the label, then the signature<V>.
    const signature = new Uint8Array(64).fill(0xaa);
    const encoded = encodeDeviceCertificate({ ...tbs, signature });
    expect(Buffer.from(encoded).toString('hex')).toBe(Buffer.concat([expected.subarray(DEVICE_CERTIFICATE_LABEL.length), Buffer.from([0x40, 64]), Buffer.from(signature)]).toString('hex'));
    expect(decodeDeviceCertificate(encoded)).toEqual({ ...tbs, signature });
  });

  it('sign reproducibly under a fixed identity key', async () => {
    const identity = await fixedIdentity();
    const a = await issueDeviceCertificate(crypto, identity, tbs);
    const b = await issueDeviceCertificate(crypto, identity, tbs);
    expect(a).toEqual(b); // Ed25519 is deterministic
    // Pinned: a change of the layout or the label would invalidate every certificate in use.
    expect(createHash('sha256').update(a).digest('hex')).toBe(PINNED_SHA256);
  });

  it('refuse malformed encodings with a typed error', () => {
    const good = encodeDeviceCertificate({ ...tbs, signature: new Uint8Array(64).fill(1) });
    const bad = [
      good.subarray(0, good.length - 1), // truncated
      Uint8Array.from([...good, 0]), // trailing byte
      Uint8Array.from([2, ...good.subarray(1)]), // unknown version
      Uint8Array.from([1, 0x40, 5, ...good.subarray(2)]), // non-minimal length
      new Uint8Array(0),
    ];
    for (const b of bad) {
      expect(() => decodeDeviceCertificate(b)).toThrow(DeviceCertificateError);
    }
    expect(() => encodeDeviceCertificate({ ...tbs, userId: '', signature: new Uint8Array(64) })).toThrow(DeviceCertificateError);
    expect(() => encodeDeviceCertificate({ ...tbs, cipherSuite: 0x10000, signature: new Uint8Array(64) })).toThrow(DeviceCertificateError);
  });

  it('decode arbitrary bytes to a certificate or a DeviceCertificateError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (input) => {
        try {
          const cert = decodeDeviceCertificate(input);
          expect(encodeDeviceCertificate(cert)).toEqual(input); // only canonical encodings decode
        } catch (e) {
          expect(e).toBeInstanceOf(DeviceCertificateError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('device certificate verification', () => {
  it('accepts a certificate issued by the identity key, naming the expected device', async () => {
    const identity = await generateIdentityKey(crypto);
    const device = await createDevice(crypto, { userId: 'alice', identity, now: 1_764_300_000_000 });
    const cert = await checkDeviceCertificate(crypto, device.certificate, identity.publicKey, {
      userId: 'alice',
      deviceId: device.deviceId,
      signatureKey: device.identity.deviceSignaturePublicKey,
    });
    expect(cert.verified).toBe(true);
    expect(cert.deviceId).toMatch(/^[0-9a-f]{32}$/);
    expect(cert.cipherSuite).toBe(1);
    expect(device.identity.deviceCertificate).toEqual(device.certificate);
    // The device signature key pair really belongs together.
    expect(await crypto.ed25519.publicKeyOf(device.identity.deviceSignaturePrivateKey.bytes)).toEqual(device.identity.deviceSignaturePublicKey);
  });

  it("refuses another user's identity key, and certificates naming someone else", async () => {
    const identity = await generateIdentityKey(crypto);
    const other = await generateIdentityKey(crypto);
    const device = await createDevice(crypto, { userId: 'alice', identity, now: 1, deviceId: 'laptop' });
    expect(await codeOf(checkDeviceCertificate(crypto, device.certificate, other.publicKey))).toBe('invalid-device-certificate-signature');
    expect(await codeOf(checkDeviceCertificate(crypto, device.certificate, identity.publicKey, { userId: 'bob' }))).toBe('device-certificate-mismatch');
    expect(await codeOf(checkDeviceCertificate(crypto, device.certificate, identity.publicKey, { deviceId: 'phone' }))).toBe('device-certificate-mismatch');
    expect(await codeOf(checkDeviceCertificate(crypto, device.certificate, identity.publicKey, { signatureKey: new Uint8Array(32) }))).toBe('device-certificate-mismatch');
    expect(await codeOf(checkDeviceCertificate(crypto, new Uint8Array([9, 9]), identity.publicKey))).toBe('malformed-device-certificate');
  });

  it('refuses every single-bit change of a certificate', async () => {
    const identity = await fixedIdentity();
    const cert = await issueDeviceCertificate(crypto, identity, tbs);
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: cert.length * 8 - 1 }), async (bit) => {
        const changed = cert.slice();
        changed[bit >>> 3]! ^= 1 << (bit & 7);
        const code = await codeOf(checkDeviceCertificate(crypto, changed, identity.publicKey));
        expect(['invalid-device-certificate-signature', 'malformed-device-certificate']).toContain(code);
      }),
      { numRuns: 300 },
    );
  });

  it('only makes device keys for Ed25519 suites', async () => {
    const identity = await generateIdentityKey(crypto);
    await expect(createDevice(crypto, { userId: 'alice', identity, now: 1, cipherSuite: 2 })).rejects.toMatchObject({ code: 'unsupported-cipher-suite' });
  });
});

const PINNED_SHA256 = 'a97c6cb867c1d9aa34b57aca0a621f81a184d3ef47cd581f433cb15d2c270c33';
