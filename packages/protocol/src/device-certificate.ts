// Device certificate: a user's identity key vouches that a device's MLS signature key
// belongs to that user (DESIGN.md "Devices and identities"). This file is the ONE place
// that defines its bytes, so the server, the CLI, the web app and every member checking
// a leaf agree. Web-standard code only: the signature check is passed in.
//
// Layout, in the TLS presentation language of RFC 9420 §2.1 (opaque<V> is a
// variable-length vector with the §2.1.2 minimal varint length prefix):
//
//   struct {
//     uint8  version = 1;
//     opaque user_id<V>;          // UTF-8, 1..256 bytes
//     opaque device_id<V>;        // UTF-8, 1..64 bytes
//     opaque signature_key<V>;    // the device's MLS signature public key (RFC 9420 §5.1.2)
//     uint16 cipher_suite;        // the MLS cipher suite that key is for
//     uint64 created_at;          // milliseconds since the Unix epoch
//   } DeviceCertificateTBS;
//
//   struct {
//     DeviceCertificateTBS tbs;
//     opaque signature<V>;        // Ed25519 (RFC 8032) by the user's identity key over
//                                 //   DEVICE_CERTIFICATE_LABEL || DeviceCertificateTBS
//   } DeviceCertificate;
//
// The label separates this signature from every other use of an identity key (an
// identity key never signs anything whose bytes start with this label otherwise).

/** Domain-separation prefix of the signed bytes. Changing it invalidates every certificate. */
export const DEVICE_CERTIFICATE_LABEL = 'Parley DeviceCertificate v1';
export const DEVICE_CERTIFICATE_VERSION = 1;

const MAX_USER_ID = 256;
const MAX_DEVICE_ID = 64;
const MAX_KEY = 256;
const MAX_SIGNATURE = 256;

/** The fields the identity key signs. */
export interface DeviceCertificateTbs {
  readonly userId: string;
  readonly deviceId: string;
  readonly signatureKey: Uint8Array;
  readonly cipherSuite: number;
  /** Milliseconds since the Unix epoch. */
  readonly createdAt: number;
}

export interface DeviceCertificate extends DeviceCertificateTbs {
  readonly signature: Uint8Array;
}

/** A certificate whose signature has been checked against `identityKey`. */
export interface VerifiedDeviceCertificate extends DeviceCertificate {
  readonly identityKey: Uint8Array;
  readonly verified: true;
}

/** (publicKey, message, signature) => valid? Must return false, not throw, on a bad signature. */
export type SignatureVerifier = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => Promise<boolean>;

export type DeviceCertificateErrorCode = 'malformed-device-certificate' | 'invalid-device-certificate-signature';

export class DeviceCertificateError extends Error {
  readonly code: DeviceCertificateErrorCode;

  constructor(code: DeviceCertificateErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'DeviceCertificateError';
  }
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function malformed(why: string): DeviceCertificateError {
  return new DeviceCertificateError('malformed-device-certificate', `malformed device certificate: ${why}`);
}

// ---- writing ----------------------------------------------------------------------

function varintLength(n: number): number {
  if (n < 0x40) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x40000000) return 4;
  throw malformed('field too long');
}

function checkFields(f: DeviceCertificateTbs): { user: Uint8Array; device: Uint8Array } {
  const user = utf8Encoder.encode(f.userId);
  const device = utf8Encoder.encode(f.deviceId);
  if (user.length < 1 || user.length > MAX_USER_ID) throw malformed('user id must be 1..256 bytes');
  if (device.length < 1 || device.length > MAX_DEVICE_ID) throw malformed('device id must be 1..64 bytes');
  if (f.signatureKey.length < 1 || f.signatureKey.length > MAX_KEY) throw malformed('signature key must be 1..256 bytes');
  if (!Number.isInteger(f.cipherSuite) || f.cipherSuite < 1 || f.cipherSuite > 0xffff) throw malformed('cipher suite out of range');
  if (!Number.isSafeInteger(f.createdAt) || f.createdAt < 0) throw malformed('creation time out of range');
  return { user, device };
}

class ByteWriter {
  readonly bytes: Uint8Array;
  private at = 0;

  constructor(length: number) {
    this.bytes = new Uint8Array(length);
  }

  raw(b: Uint8Array): void {
    this.bytes.set(b, this.at);
    this.at += b.length;
  }

  u8(n: number): void {
    this.bytes[this.at++] = n;
  }

  u16(n: number): void {
    this.u8(n >>> 8);
    this.u8(n & 0xff);
  }

  u64(n: number): void {
    // n is a safe integer: the high 32 bits fit a double exactly.
    const hi = Math.floor(n / 0x1_0000_0000);
    const lo = n - hi * 0x1_0000_0000;
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset);
    view.setUint32(this.at, hi);
    view.setUint32(this.at + 4, lo);
    this.at += 8;
  }

  /** RFC 9420 §2.1.2: minimal variable-length size prefix, then the bytes. */
  vector(b: Uint8Array): void {
    const n = b.length;
    switch (varintLength(n)) {
      case 1:
        this.u8(n);
        break;
      case 2:
        this.u16(0x4000 | n);
        break;
      default:
        this.u16(0x8000 | (n >>> 16));
        this.u16(n & 0xffff);
    }
    this.raw(b);
  }

  done(): Uint8Array {
    if (this.at !== this.bytes.length) throw new Error('device certificate writer: length mismatch (bug)');
    return this.bytes;
  }
}

const vecSize = (n: number): number => varintLength(n) + n;

function writeTbs(f: DeviceCertificateTbs, prefix: Uint8Array, suffix: Uint8Array | undefined): Uint8Array {
  const { user, device } = checkFields(f);
  const len =
    prefix.length + 1 + vecSize(user.length) + vecSize(device.length) + vecSize(f.signatureKey.length) + 2 + 8 + (suffix === undefined ? 0 : vecSize(suffix.length));
  const w = new ByteWriter(len);
  w.raw(prefix);
  w.u8(DEVICE_CERTIFICATE_VERSION);
  w.vector(user);
  w.vector(device);
  w.vector(f.signatureKey);
  w.u16(f.cipherSuite);
  w.u64(f.createdAt);
  if (suffix !== undefined) w.vector(suffix);
  return w.done();
}

/** The exact bytes the identity key signs: DEVICE_CERTIFICATE_LABEL || DeviceCertificateTBS. */
export function deviceCertificateSignedBytes(tbs: DeviceCertificateTbs): Uint8Array {
  return writeTbs(tbs, utf8Encoder.encode(DEVICE_CERTIFICATE_LABEL), undefined);
}

/** Serialises a signed certificate (the DeviceCertificate struct). */
export function encodeDeviceCertificate(cert: DeviceCertificate): Uint8Array {
  if (cert.signature.length < 1 || cert.signature.length > MAX_SIGNATURE) throw malformed('signature must be 1..256 bytes');
  return writeTbs(cert, new Uint8Array(0), cert.signature);
}

// ---- reading ----------------------------------------------------------------------

class ByteReader {
  private at = 0;

  constructor(private readonly bytes: Uint8Array) {}

  private need(n: number): void {
    if (this.at + n > this.bytes.length) throw malformed('truncated');
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.at++]!;
  }

  u16(): number {
    return (this.u8() << 8) | this.u8();
  }

  u64(): number {
    this.need(8);
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.at, 8);
    const hi = view.getUint32(0);
    const lo = view.getUint32(4);
    this.at += 8;
    if (hi > 0x1fffff) throw malformed('creation time out of range');
    return hi * 0x1_0000_0000 + lo;
  }

  vector(max: number): Uint8Array {
    const first = this.u8();
    let n: number;
    switch (first >>> 6) {
      case 0:
        n = first;
        break;
      case 1:
        n = ((first & 0x3f) << 8) | this.u8();
        if (n < 0x40) throw malformed('non-minimal length');
        break;
      case 2:
        n = (((first & 0x3f) << 24) | (this.u8() << 16) | (this.u8() << 8) | this.u8()) >>> 0;
        if (n < 0x4000) throw malformed('non-minimal length');
        break;
      default:
        throw malformed('invalid length prefix');
    }
    if (n < 1 || n > max) throw malformed('field length out of range');
    this.need(n);
    const out = this.bytes.slice(this.at, this.at + n);
    this.at += n;
    return out;
  }

  utf8(max: number): string {
    try {
      return utf8Decoder.decode(this.vector(max));
    } catch (e) {
      if (e instanceof DeviceCertificateError) throw e;
      throw malformed('invalid UTF-8');
    }
  }

  assertDone(): void {
    if (this.at !== this.bytes.length) throw malformed('trailing bytes');
  }
}

/** Parses a DeviceCertificate. Throws DeviceCertificateError('malformed-device-certificate'). Does NOT verify it. */
export function decodeDeviceCertificate(bytes: Uint8Array): DeviceCertificate {
  const r = new ByteReader(bytes);
  const version = r.u8();
  if (version !== DEVICE_CERTIFICATE_VERSION) throw malformed(`unknown version ${version}`);
  const userId = r.utf8(MAX_USER_ID);
  const deviceId = r.utf8(MAX_DEVICE_ID);
  const signatureKey = r.vector(MAX_KEY);
  const cipherSuite = r.u16();
  if (cipherSuite === 0) throw malformed('cipher suite out of range');
  const createdAt = r.u64();
  const signature = r.vector(MAX_SIGNATURE);
  r.assertDone();
  return { userId, deviceId, signatureKey, cipherSuite, createdAt, signature };
}

/**
 * Checks that `identityKey` signed this certificate. Accepts the encoded bytes or a
 * decoded certificate; returns the verified certificate or throws DeviceCertificateError.
 * Callers still check that userId / signatureKey are the ones they expect.
 */
export async function verifyDeviceCertificate(
  certificate: Uint8Array | DeviceCertificate,
  identityKey: Uint8Array,
  verify: SignatureVerifier,
): Promise<VerifiedDeviceCertificate> {
  const cert = certificate instanceof Uint8Array ? decodeDeviceCertificate(certificate) : certificate;
  const ok = await verify(identityKey, deviceCertificateSignedBytes(cert), cert.signature);
  if (!ok) throw new DeviceCertificateError('invalid-device-certificate-signature', 'device certificate is not signed by this identity key');
  return { ...cert, identityKey: identityKey.slice(), verified: true };
}
