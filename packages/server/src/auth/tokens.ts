// Session tokens: 32 random bytes, base64url (43 characters), handed to the client
// once; the server stores only their SHA-256, so a copy of the database opens no session.

import { createHash, randomBytes } from 'node:crypto';

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function tokenHash(token: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(token, 'utf8').digest());
}

/** Random unguessable identifiers (attachment ids, invite codes): 32 bytes, base64url. */
export function newOpaqueId(): string {
  return randomBytes(32).toString('base64url');
}

export function newMessageId(): Uint8Array {
  return new Uint8Array(randomBytes(16));
}
