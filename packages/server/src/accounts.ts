// Account operations shared by the HTTP API and `parley admin` (which works on the
// database directly): registration under the operator's policy, users, invites.

import { createHash } from 'node:crypto';
import type { RegistrationPolicy } from '@parley/protocol';
import { hashPassword, type ScryptParams } from './auth/password.js';
import { newOpaqueId } from './auth/tokens.js';
import { ApiError } from './errors.js';
import { StoreConflictError, type Store, type UserRecord } from './store/store.js';

export const USERNAME_RE = /^[a-z0-9][a-z0-9._-]{1,63}$/;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 1024;

export function inviteHash(code: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`parley-invite:${code}`, 'utf8').digest());
}

/** The domain of an e-mail address, lower-cased, or null if it is not one. Delivery to it is NOT verified (yet). */
export function emailDomain(email: string): string | null {
  const m = /^[^\s@]{1,64}@([A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+)$/.exec(email);
  return m === null ? null : m[1]!.toLowerCase();
}

export interface NewUser {
  readonly username: string;
  readonly password: string;
  readonly email?: string | undefined;
  readonly admin?: boolean;
  readonly invite?: string | undefined;
}

/**
 * Creates a user. With `policy`, applies the registration policy (the admin path passes
 * none): `open`; `invite` (a valid, unexpired, unused code); `domains` (an e-mail address
 * in an allowed domain — the address is not verified yet: no mail is sent).
 */
export async function createUser(
  store: Store,
  scrypt: ScryptParams,
  now: number,
  u: NewUser,
  policy?: { readonly policy: RegistrationPolicy; readonly domains: readonly string[] },
): Promise<UserRecord> {
  if (!USERNAME_RE.test(u.username)) throw new ApiError('bad-request', 'user name must match ^[a-z0-9][a-z0-9._-]{1,63}$');
  if (u.password.length < PASSWORD_MIN || u.password.length > PASSWORD_MAX) throw new ApiError('bad-request', 'password must be 8..1024 characters');
  let invite: { codeHash: Uint8Array; now: number } | undefined;
  if (policy !== undefined) {
    if (policy.policy === 'invite') {
      if (u.invite === undefined) throw new ApiError('invalid-invite', 'registration needs an invite code');
      invite = { codeHash: inviteHash(u.invite), now };
    } else if (policy.policy === 'domains') {
      if (u.email === undefined) throw new ApiError('email-required', 'registration needs an e-mail address');
      const domain = emailDomain(u.email);
      if (domain === null) throw new ApiError('bad-request', 'not an e-mail address');
      if (!policy.domains.includes(domain)) throw new ApiError('email-domain-not-allowed', 'this e-mail domain may not register');
    }
  }
  if (u.email !== undefined && emailDomain(u.email) === null) throw new ApiError('bad-request', 'not an e-mail address');
  if ((await store.getUser(u.username)) !== null) throw new ApiError('username-taken', 'this user name is taken');
  const user: UserRecord = {
    id: u.username,
    email: u.email ?? null,
    password: await hashPassword(u.password, scrypt),
    admin: u.admin ?? false,
    active: true,
    identityKey: null,
    createdAt: now,
  };
  try {
    await store.createUser(user, invite);
  } catch (e) {
    if (e instanceof StoreConflictError) {
      if (e.conflict === 'invalid-invite') throw new ApiError('invalid-invite', 'this invite code is unknown, used or expired');
      throw new ApiError('username-taken', 'this user name is taken');
    }
    throw e;
  }
  return user;
}

export interface InviteCreated {
  readonly code: string;
  readonly expiresAt: number;
  readonly maxUses: number;
}

export async function createInvite(store: Store, createdBy: string, now: number, maxUses: number, ttlMs: number): Promise<InviteCreated> {
  const code = newOpaqueId();
  const expiresAt = now + ttlMs;
  await store.createInvite({ codeHash: inviteHash(code), createdBy, createdAt: now, expiresAt, maxUses, uses: 0 });
  return { code, expiresAt, maxUses };
}

export function publicUser(u: UserRecord): { userId: string; email: string | null; admin: boolean; active: boolean; createdAt: number } {
  return { userId: u.id, email: u.email, admin: u.admin, active: u.active, createdAt: u.createdAt };
}

/** Revokes the invite whose id (the first 8 bytes of its hash, in hex) is `id`. False if none. */
export async function revokeInvite(store: Store, id: string): Promise<boolean> {
  const found = (await store.listInvites()).find((i) => Buffer.from(i.codeHash.subarray(0, 8)).toString('hex') === id);
  return found !== undefined && (await store.deleteInvite(found.codeHash));
}
