// Encrypted attachments (docs/protocol.md "Attachments"). The file is encrypted on the
// device with a fresh AES-256-GCM key and nonce; the server stores only the ciphertext,
// under a random id that members of the group may download. What a recipient needs to
// fetch, check and open it (id, key, nonce, SHA-256 of the ciphertext, name, media type,
// size) travels INSIDE the MLS application message, so the server never sees the key.
//
// INTERIM, until MessageBody has an attachment variant: the reference rides in a text
// body — a human-readable first line, then `parley-attachment:1:` and the reference as
// base64url JSON — so clients that do not know attachments still show something sane.
// `parseAttachmentText` validates every field before anything is fetched.

import type { ClientCrypto } from '../crypto/client-crypto.js';
import { ClientCryptoError, ClientUsageError } from '../errors.js';
import { bytesEqual, fromBase64, toBase64 } from '../util/bytes.js';
import { ServerError } from '../transport/http.js';

export interface AttachmentRef {
  /** The server's id: 32 random bytes, base64url (43 characters). */
  readonly attachmentId: string;
  readonly key: Uint8Array;
  readonly nonce: Uint8Array;
  /** SHA-256 of the ciphertext, checked before decrypting. */
  readonly sha256: Uint8Array;
  readonly name: string;
  readonly mediaType: string;
  /** Plaintext size in bytes. */
  readonly size: number;
}

const MARKER = 'parley-attachment:1:';
const ID = /^[A-Za-z0-9_-]{43}$/;
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;
/** The file name is shown, never used as a path: only its length and control characters are limited. */
const MAX_NAME = 255;
const AAD = new TextEncoder().encode('parley attachment v1');

const b64url = (b: Uint8Array): string => toBase64(b).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
function unb64url(s: string): Uint8Array {
  const b = s.replace(/-/g, '+').replace(/_/g, '/');
  return fromBase64(b + '='.repeat((4 - (b.length % 4)) % 4));
}

function invalid(what: string): ClientUsageError {
  return new ClientUsageError('invalid-attachment', `invalid attachment reference: ${what}`);
}

export function cleanName(name: string): string {
  // Control and bidi-override characters could disguise a name ("photo\u202Egpj.exe").
  // eslint-disable-next-line no-control-regex
  const cleaned = name.replace(/[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g, '').trim();
  return (cleaned === '' ? 'file' : cleaned).slice(0, MAX_NAME);
}

/** Encrypts `data` under a fresh key: the ciphertext to upload and the reference (without its id yet). */
export async function encryptAttachment(crypto: ClientCrypto, data: Uint8Array, name: string, mediaType: string): Promise<{ ciphertext: Uint8Array; ref: Omit<AttachmentRef, 'attachmentId'> }> {
  const key = crypto.randomBytes(32);
  const nonce = crypto.randomBytes(12);
  const ciphertext = await crypto.aesGcm.seal(key, nonce, AAD, data);
  const type = mediaType.toLowerCase();
  return {
    ciphertext,
    ref: { key, nonce, sha256: await crypto.digest('SHA-256', ciphertext), name: cleanName(name), mediaType: MEDIA_TYPE.test(type) ? type : 'application/octet-stream', size: data.length },
  };
}

/** Checks the ciphertext's hash, then opens it. Throws ClientCryptoError('attachment-mismatch' | 'aead-open-failed'). */
export async function decryptAttachment(crypto: ClientCrypto, ciphertext: Uint8Array, ref: AttachmentRef): Promise<Uint8Array> {
  if (!bytesEqual(await crypto.digest('SHA-256', ciphertext), ref.sha256)) throw new ClientCryptoError('attachment-mismatch', 'the downloaded attachment is not the one referenced');
  const plain = await crypto.aesGcm.open(ref.key, ref.nonce, AAD, ciphertext);
  if (plain.length !== ref.size) throw new ClientCryptoError('attachment-mismatch', 'the attachment has another size than referenced');
  return plain;
}

/** The text body that carries a reference. */
export function attachmentText(ref: AttachmentRef): string {
  const json = JSON.stringify({ id: ref.attachmentId, k: b64url(ref.key), n: b64url(ref.nonce), h: b64url(ref.sha256), name: ref.name, type: ref.mediaType, size: ref.size });
  return `📎 ${ref.name}\n${MARKER}${b64url(new TextEncoder().encode(json))}`;
}

/** The reference carried by a text body, undefined when it carries none; throws on a malformed one. */
export function parseAttachmentText(text: string): AttachmentRef | undefined {
  const at = text.lastIndexOf(MARKER);
  if (at < 0) return undefined;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(unb64url(text.slice(at + MARKER.length).trim()))) as Record<string, unknown>;
  } catch {
    throw invalid('does not decode');
  }
  if (typeof o !== 'object' || o === null) throw invalid('not an object');
  const { id, k, n, h, name, type, size } = o;
  if (typeof id !== 'string' || !ID.test(id)) throw invalid('id');
  if (typeof k !== 'string' || typeof n !== 'string' || typeof h !== 'string') throw invalid('key material');
  const key = unb64url(k);
  const nonce = unb64url(n);
  const sha256 = unb64url(h);
  if (key.length !== 32 || nonce.length !== 12 || sha256.length !== 32) throw invalid('key, nonce or hash length');
  if (typeof name !== 'string' || name.length > MAX_NAME) throw invalid('name');
  if (typeof type !== 'string' || !MEDIA_TYPE.test(type)) throw invalid('media type');
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid('size');
  return { attachmentId: id, key, nonce, sha256, name: cleanName(name), mediaType: type, size };
}

/** The attachment routes, over fetch, with the device's session token. */
export class AttachmentApi {
  constructor(
    private readonly serverUrl: string,
    private readonly token: () => string | undefined,
    private readonly fetchFn: typeof fetch = (input, init) => fetch(input, init),
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const t = this.token();
    if (t === undefined) throw new ClientUsageError('not-logged-in', 'no session');
    return { authorization: `Bearer ${t}`, ...extra };
  }

  private static async fail(res: Response): Promise<never> {
    let code = 'internal';
    try {
      const body = (await res.json()) as { error?: { code?: unknown } };
      if (typeof body.error?.code === 'string') code = body.error.code;
    } catch {
      // not JSON: keep 'internal'
    }
    throw new ServerError(code, `the server refused the attachment request (${code})`, res.status);
  }

  /** Uploads a ciphertext for the group; returns the server's attachment id. */
  async upload(groupId: string, ciphertext: Uint8Array): Promise<string> {
    let res: Response;
    try {
      res = await this.fetchFn(`${this.serverUrl}/v1/groups/${encodeURIComponent(groupId)}/attachments`, {
        method: 'POST',
        headers: this.headers({ 'content-type': 'application/octet-stream' }),
        body: new Blob([new Uint8Array(ciphertext)]),
      });
    } catch (cause) {
      throw new ServerError('network', 'the server cannot be reached', 0, undefined, { cause });
    }
    if (res.status !== 201) return AttachmentApi.fail(res);
    const body = (await res.json()) as { attachmentId?: unknown };
    if (typeof body.attachmentId !== 'string' || !ID.test(body.attachmentId)) throw new ServerError('bad-response', 'the server answered without an attachment id', res.status);
    return body.attachmentId;
  }

  /** Downloads the ciphertext of an attachment, refusing more bytes than `maxBytes`. */
  async download(attachmentId: string, maxBytes: number): Promise<Uint8Array> {
    if (!ID.test(attachmentId)) throw invalid('id');
    let res: Response;
    try {
      res = await this.fetchFn(`${this.serverUrl}/v1/attachments/${attachmentId}`, { headers: this.headers() });
    } catch (cause) {
      throw new ServerError('network', 'the server cannot be reached', 0, undefined, { cause });
    }
    if (res.status !== 200) return AttachmentApi.fail(res);
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.length > maxBytes) throw new ClientCryptoError('attachment-mismatch', 'the attachment is larger than referenced');
    return bytes;
  }

  /** Encrypts, uploads, and returns the reference to send in the conversation. */
  async send(crypto: ClientCrypto, groupId: string, data: Uint8Array, name: string, mediaType: string): Promise<AttachmentRef> {
    const { ciphertext, ref } = await encryptAttachment(crypto, data, name, mediaType);
    return { attachmentId: await this.upload(groupId, ciphertext), ...ref };
  }

  /** Downloads, checks and decrypts the attachment a reference names. */
  async open(crypto: ClientCrypto, ref: AttachmentRef): Promise<Uint8Array> {
    // AES-GCM adds a 16-byte tag: the ciphertext is exactly that much longer.
    return decryptAttachment(crypto, await this.download(ref.attachmentId, ref.size + 16), ref);
  }
}
