// Identities and devices (DESIGN.md "Devices and identities", issue 6 item 1). A user
// has one Ed25519 identity key; each device has its own MLS signature key, which the
// identity key vouches for with a device certificate whose bytes are defined in
// @parley/protocol (device-certificate.ts). Members check a certificate offline.

import {
  DeviceCertificateError,
  decodeDeviceCertificate,
  deviceCertificateSignedBytes,
  encodeDeviceCertificate,
  verifyDeviceCertificate,
  type DeviceCertificateTbs,
  type VerifiedDeviceCertificate,
} from '@parley/protocol';
import type { ClientCrypto } from '../crypto/client-crypto.js';
import { ClientUsageError, VerificationError } from '../errors.js';
import type { IdentityRecord } from '../store/client-store.js';
import { bytesEqual, toHex } from '../util/bytes.js';
import { SecretBytes } from '../util/secret.js';

/** MLS cipher suites whose signature scheme is Ed25519 (RFC 9420 §17.1): 1 and 3. */
const ED25519_SUITES: ReadonlySet<number> = new Set([1, 3]);
export const DEFAULT_CIPHER_SUITE = 1;

export interface IdentityKeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: SecretBytes<'identity-private-key'>;
}

/** Generates a user's identity key (Ed25519, RFC 8032). */
export async function generateIdentityKey(crypto: ClientCrypto): Promise<IdentityKeyPair> {
  const kp = await crypto.ed25519.generateKeyPair();
  return { publicKey: kp.publicKey, privateKey: new SecretBytes(kp.privateKey) };
}

/** Signs a device certificate with the identity key; returns its encoded bytes. */
export async function issueDeviceCertificate(crypto: ClientCrypto, identity: IdentityKeyPair, tbs: DeviceCertificateTbs): Promise<Uint8Array> {
  const signature = await crypto.ed25519.sign(identity.privateKey.bytes, deviceCertificateSignedBytes(tbs));
  return encodeDeviceCertificate({ ...tbs, signature });
}

export interface ExpectedDevice {
  readonly userId?: string;
  readonly deviceId?: string;
  /** The signature key of the leaf that carries the certificate. */
  readonly signatureKey?: Uint8Array;
}

/**
 * Checks a device certificate against the user's identity key and, if given, the user,
 * device and signature key it must name. Throws VerificationError with code
 * `malformed-device-certificate`, `invalid-device-certificate-signature` or
 * `device-certificate-mismatch`.
 */
export async function checkDeviceCertificate(
  crypto: ClientCrypto,
  certificate: Uint8Array,
  identityKey: Uint8Array,
  expected: ExpectedDevice = {},
): Promise<VerifiedDeviceCertificate> {
  let cert: VerifiedDeviceCertificate;
  try {
    cert = await verifyDeviceCertificate(certificate, identityKey, (pk, msg, sig) => crypto.ed25519.verify(pk, msg, sig));
  } catch (e) {
    if (e instanceof DeviceCertificateError) throw new VerificationError(e.code, e.message, { cause: e });
    throw e;
  }
  const mismatch = (what: string): VerificationError => new VerificationError('device-certificate-mismatch', `device certificate names another ${what}`);
  if (expected.userId !== undefined && cert.userId !== expected.userId) throw mismatch('user');
  if (expected.deviceId !== undefined && cert.deviceId !== expected.deviceId) throw mismatch('device');
  if (expected.signatureKey !== undefined && !bytesEqual(cert.signatureKey, expected.signatureKey)) throw mismatch('signature key');
  return cert;
}

export interface NewDevice {
  readonly deviceId: string;
  readonly certificate: Uint8Array;
  /** What the store keeps for this device (commit it as `{ identity }`). */
  readonly identity: IdentityRecord;
}

/**
 * Creates this device: its MLS signature key pair for `cipherSuite`, and its certificate
 * signed by the user's identity key. `deviceId` defaults to 16 random bytes in hex.
 */
export async function createDevice(
  crypto: ClientCrypto,
  params: { readonly userId: string; readonly identity: IdentityKeyPair; readonly now: number; readonly deviceId?: string; readonly cipherSuite?: number },
): Promise<NewDevice> {
  const cipherSuite = params.cipherSuite ?? DEFAULT_CIPHER_SUITE;
  if (!ED25519_SUITES.has(cipherSuite)) throw new ClientUsageError('unsupported-cipher-suite', `cipher suite ${cipherSuite} is not supported for device keys`);
  const deviceId = params.deviceId ?? toHex(crypto.randomBytes(16));
  const signing = await crypto.ed25519.generateKeyPair();
  const certificate = await issueDeviceCertificate(crypto, params.identity, {
    userId: params.userId,
    deviceId,
    signatureKey: signing.publicKey,
    cipherSuite,
    createdAt: params.now,
  });
  return {
    deviceId,
    certificate,
    identity: {
      identityPublicKey: params.identity.publicKey,
      identityPrivateKey: params.identity.privateKey,
      deviceSignaturePublicKey: signing.publicKey,
      deviceSignaturePrivateKey: new SecretBytes(signing.privateKey),
      deviceCertificate: certificate,
      cipherSuite,
    },
  };
}

export { decodeDeviceCertificate };
