// Routes: registration, login, logout, the caller's identity key, and the admin API.

import { createPublicKey } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { IDENTITY_BACKUP_MAX_BYTES, type IdentityBackupResponse, type PutIdentityBackupRequest, type RegisterRequest, type SessionResponse } from '@parley/protocol';
import { createInvite, createUser, publicUser, revokeInvite } from '../accounts.js';
import { burnPasswordCheck, verifyPassword } from '../auth/password.js';
import { newToken, tokenHash } from '../auth/tokens.js';
import { authenticate, bearer, limit, type Authenticated, type Ctx } from '../context.js';
import { ApiError } from '../errors.js';
import { b64, answer, deviceId, fromB64, noContent, obj, responses, toB64, username } from './schema.js';

const password = { type: 'string', minLength: 1, maxLength: 1024 } as const;
const email = { type: 'string', minLength: 3, maxLength: 254 } as const;
const invite = { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$' } as const;
const sessionSchema = answer('A new session: its token (shown once), its user and device', obj({ token: { type: 'string' }, userId: { type: 'string' }, deviceId: { type: ['string', 'null'] }, admin: { type: 'boolean' } }));
const publicUserSchema = obj({ userId: { type: 'string' }, email: { type: ['string', 'null'] }, admin: { type: 'boolean' }, active: { type: 'boolean' }, createdAt: { type: 'integer' } });

export async function issueSession(ctx: Ctx, userId: string, device: string | null, admin: boolean): Promise<SessionResponse> {
  const token = newToken();
  const now = ctx.now();
  await ctx.store.createSession({ tokenHash: tokenHash(token), userId, deviceId: device, createdAt: now, expiresAt: now + ctx.config.sessionTtlMs });
  return { token, userId, deviceId: device, admin };
}

const sessionIdSchema = { type: 'string', pattern: '^[0-9a-f]{32}$' } as const;
const inviteIdSchema = { type: 'string', pattern: '^[0-9a-f]{16}$' } as const;

/** A session's public id: a prefix of its token's hash (the token itself is never stored). */
export function sessionIdOf(tokenHash: Uint8Array): string {
  return Buffer.from(tokenHash.subarray(0, 16)).toString('hex');
}

export function inviteIdOf(codeHash: Uint8Array): string {
  return Buffer.from(codeHash.subarray(0, 8)).toString('hex');
}

async function revokeSession(ctx: Ctx, hash: Uint8Array): Promise<void> {
  await ctx.store.deleteSession(hash);
  ctx.bus.publish({ type: 'session-revoked', tokenHash: hash });
}

export async function requireAuth(ctx: Ctx, req: FastifyRequest): Promise<Authenticated> {
  return authenticate(ctx, bearer(req.headers.authorization));
}

export async function requireAdmin(ctx: Ctx, req: FastifyRequest): Promise<Authenticated> {
  const a = await requireAuth(ctx, req);
  if (!a.user.admin) throw new ApiError('forbidden', 'administrators only');
  return a;
}

/** A raw Ed25519 public key (RFC 8032), checked by importing it. */
export function checkEd25519PublicKey(raw: Uint8Array): void {
  if (raw.length !== 32) throw new ApiError('invalid-identity-key', 'an Ed25519 public key is 32 bytes');
  try {
    createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
  } catch {
    throw new ApiError('invalid-identity-key', 'not an Ed25519 public key');
  }
}

export function accountRoutes(app: FastifyInstance, ctx: Ctx): void {
  app.post<{ Body: RegisterRequest }>(
    '/v1/accounts',
    {
      schema: {
        summary: 'Register an account under the server’s registration policy; returns a session without a device', errors: ['rate-limited', 'invalid-invite', 'email-required', 'email-domain-not-allowed', 'username-taken'],
        tags: ['accounts'],
        security: [],
        body: obj({ username, password, email, invite }, ['username', 'password']),
        response: responses({ 201: sessionSchema }),
      },
    },
    async (req, reply) => {
      limit(ctx.limiters?.registerPerAddress, req.ip);
      limit(ctx.limiters?.registerPerAccount, req.body.username);
      const { policy, domains } = ctx.config.registration;
      const user = await createUser(ctx.store, ctx.config.scrypt, ctx.now(), req.body, { policy, domains });
      req.log.info({ userId: user.id }, 'account registered');
      return reply.code(201).send(await issueSession(ctx, user.id, null, user.admin));
    },
  );

  app.post<{ Body: { username: string; password: string; deviceId?: string } }>(
    '/v1/sessions',
    {
      schema: {
        summary: 'Log in with a password; with deviceId, the session is for that existing device of the user', errors: ['rate-limited', 'invalid-credentials', 'account-deactivated', 'unknown-device'],
        tags: ['accounts'],
        security: [],
        body: obj({ username, password, deviceId }, ['username', 'password']),
        response: responses({ 201: sessionSchema }),
      },
    },
    async (req, reply) => {
      limit(ctx.limiters?.loginPerAddress, req.ip);
      limit(ctx.limiters?.loginPerAccount, req.body.username);
      const user = await ctx.store.getUser(req.body.username);
      if (user === null) {
        await burnPasswordCheck(req.body.password, ctx.config.scrypt);
        throw new ApiError('invalid-credentials', 'wrong user name or password');
      }
      if (!(await verifyPassword(req.body.password, user.password))) throw new ApiError('invalid-credentials', 'wrong user name or password');
      if (!user.active) throw new ApiError('account-deactivated', 'this account is deactivated');
      let device: string | null = null;
      if (req.body.deviceId !== undefined) {
        const d = await ctx.store.getDevice(req.body.deviceId);
        if (d?.userId !== user.id) throw new ApiError('unknown-device', 'no such device for this user');
        device = d.id;
      }
      return reply.code(201).send(await issueSession(ctx, user.id, device, user.admin));
    },
  );

  app.get(
    '/v1/sessions/current',
    {
      schema: {
        summary: 'Who the session belongs to',
        tags: ['accounts'],
        response: responses({ 200: answer('The session’s user and device', obj({ userId: { type: 'string' }, deviceId: { type: ['string', 'null'] }, admin: { type: 'boolean' }, expiresAt: { type: 'integer' } })) }),
      },
    },
    async (req) => {
      const { user, session } = await requireAuth(ctx, req);
      return { userId: user.id, deviceId: session.deviceId, admin: user.admin, expiresAt: session.expiresAt };
    },
  );

  app.delete('/v1/sessions/current', { schema: { summary: 'Log out: revoke this session token and close its WebSockets', tags: ['accounts'], response: responses({ 204: noContent }) } }, async (req, reply) => {
    const { session } = await requireAuth(ctx, req);
    await revokeSession(ctx, session.tokenHash);
    return reply.code(204).send();
  });

  app.get(
    '/v1/sessions',
    {
      schema: {
        summary: 'The caller’s own sessions (an id, never the token)',
        tags: ['accounts'],
        response: responses({
          200: answer(
            'The sessions that have not expired',
            obj({
              sessions: {
                type: 'array',
                items: obj({ sessionId: { type: 'string' }, deviceId: { type: ['string', 'null'] }, createdAt: { type: 'integer' }, expiresAt: { type: 'integer' }, current: { type: 'boolean' } }),
              },
            }),
          ),
        }),
      },
    },
    async (req) => {
      const { user, session } = await requireAuth(ctx, req);
      const now = ctx.now();
      const mine = (await ctx.store.listSessions(user.id)).filter((s) => s.expiresAt > now);
      return {
        sessions: mine.map((s) => ({
          sessionId: sessionIdOf(s.tokenHash),
          deviceId: s.deviceId,
          createdAt: s.createdAt,
          expiresAt: s.expiresAt,
          current: Buffer.from(s.tokenHash).equals(session.tokenHash),
        })),
      };
    },
  );

  app.delete<{ Params: { sessionId: string } }>(
    '/v1/sessions/:sessionId',
    { schema: { summary: 'Revoke one of the caller’s own sessions and close its WebSockets', errors: ['unknown-session'], tags: ['accounts'], params: obj({ sessionId: sessionIdSchema }), response: responses({ 204: noContent }) } },
    async (req, reply) => {
      const { user } = await requireAuth(ctx, req);
      const target = (await ctx.store.listSessions(user.id)).find((s) => sessionIdOf(s.tokenHash) === req.params.sessionId);
      if (target === undefined) throw new ApiError('unknown-session', 'no such session of this user');
      await revokeSession(ctx, target.tokenHash);
      return reply.code(204).send();
    },
  );

  app.put<{ Body: { identityKey: string } }>(
    '/v1/users/me/identity-key',
    {
      schema: {
        summary: 'Publish the user’s Ed25519 identity public key (once)', errors: ['invalid-identity-key', 'identity-key-already-set'],
        tags: ['identity'],
        body: obj({ identityKey: b64(32, 32) }),
        response: responses({ 204: noContent }),
      },
    },
    async (req, reply) => {
      const { user } = await requireAuth(ctx, req);
      const key = fromB64(req.body.identityKey, 'identityKey');
      checkEd25519PublicKey(key);
      if (!(await ctx.store.setIdentityKey(user.id, key))) throw new ApiError('identity-key-already-set', 'the identity key is already published');
      return reply.code(204).send();
    },
  );

  // The identity-key backup: encrypted by the client under a passphrase-derived key, so the
  // server keeps bytes it cannot read. Any session of the user (with or without a device:
  // a new device logs in without deviceId to fetch it) reaches only the user's own backup.
  app.put<{ Body: PutIdentityBackupRequest }>(
    '/v1/identity-backup',
    {
      schema: {
        summary: 'Store (replace) the user’s encrypted identity-key backup; opaque to the server',
        tags: ['identity'],
        body: { ...obj({ backup: b64(IDENTITY_BACKUP_MAX_BYTES), ciphertext: b64(IDENTITY_BACKUP_MAX_BYTES) }, []), minProperties: 1, maxProperties: 1 },
        response: responses({ 204: noContent }),
      },
    },
    async (req, reply) => {
      const { user } = await requireAuth(ctx, req);
      const [field, value] = 'ciphertext' in req.body ? ['ciphertext', req.body.ciphertext] : ['backup', req.body.backup];
      const backup = fromB64(value, field);
      if (backup.length > IDENTITY_BACKUP_MAX_BYTES) throw new ApiError('body-too-large', `backup is at most ${IDENTITY_BACKUP_MAX_BYTES} bytes`);
      await ctx.store.putIdentityBackup(user.id, backup, ctx.now());
      req.log.info({ userId: user.id }, 'identity backup stored');
      return reply.code(204).send();
    },
  );

  app.get(
    '/v1/identity-backup',
    { schema: { summary: 'The user’s encrypted identity-key backup', errors: ['no-identity-backup'], tags: ['identity'], response: responses({ 200: answer('The backup, base64 (under both names: ciphertext is the older one)', obj({ backup: { type: 'string' }, ciphertext: { type: 'string' } })) }) } },
    async (req): Promise<IdentityBackupResponse> => {
      const { user } = await requireAuth(ctx, req);
      const backup = await ctx.store.getIdentityBackup(user.id);
      if (backup === null) throw new ApiError('no-identity-backup', 'no identity backup is stored for this user');
      const encoded = toB64(backup);
      return { backup: encoded, ciphertext: encoded };
    },
  );

  // ---- admin ----------------------------------------------------------------------

  app.get(
    '/v1/admin/users',
    { schema: { summary: 'List users (admin)', errors: ['forbidden'], tags: ['admin'], response: responses({ 200: answer('Every user', obj({ users: { type: 'array', items: publicUserSchema } })) }) } },
    async (req) => {
      await requireAdmin(ctx, req);
      return { users: (await ctx.store.listUsers()).map(publicUser) };
    },
  );

  app.post<{ Body: { username: string; password: string; admin?: boolean; email?: string } }>(
    '/v1/admin/users',
    {
      schema: {
        summary: 'Create a user, bypassing the registration policy (admin)', errors: ['forbidden', 'username-taken'],
        tags: ['admin'],
        body: obj({ username, password, admin: { type: 'boolean' }, email }, ['username', 'password']),
        response: responses({ 201: answer('The new user', publicUserSchema) }),
      },
    },
    async (req, reply) => {
      await requireAdmin(ctx, req);
      const user = await createUser(ctx.store, ctx.config.scrypt, ctx.now(), req.body);
      return reply.code(201).send(publicUser(user));
    },
  );

  for (const [action, active] of [['deactivate', false], ['activate', true]] as const) {
    app.post<{ Params: { userId: string } }>(
      `/v1/admin/users/:userId/${action}`,
      { schema: { summary: `${action === 'deactivate' ? 'Deactivate a user and revoke every session' : 'Reactivate a user'} (admin)`, errors: ['forbidden', 'unknown-user'], tags: ['admin'], params: obj({ userId: username }), response: responses({ 204: noContent }) } },
      async (req, reply) => {
        await requireAdmin(ctx, req);
        if (!(await ctx.store.setUserActive(req.params.userId, active))) throw new ApiError('unknown-user', 'no such user');
        if (!active) ctx.bus.publish({ type: 'user-deactivated', userId: req.params.userId });
        return reply.code(204).send();
      },
    );
  }

  const inviteSchema = obj({ id: inviteIdSchema, createdBy: { type: 'string' }, createdAt: { type: 'integer' }, expiresAt: { type: 'integer' }, maxUses: { type: 'integer' }, uses: { type: 'integer' } });
  app.get(
    '/v1/admin/invites',
    { schema: { summary: 'List invite codes (their hashes only are stored) (admin)', errors: ['forbidden'], tags: ['admin'], response: responses({ 200: answer('Every invite code, by id', obj({ invites: { type: 'array', items: inviteSchema } })) }) } },
    async (req) => {
      await requireAdmin(ctx, req);
      const invites = await ctx.store.listInvites();
      return {
        invites: invites.map((i) => ({
          id: inviteIdOf(i.codeHash),
          createdBy: i.createdBy,
          createdAt: i.createdAt,
          expiresAt: i.expiresAt,
          maxUses: i.maxUses,
          uses: i.uses,
        })),
      };
    },
  );

  app.post<{ Body: { maxUses?: number; expiresInHours?: number } }>(
    '/v1/admin/invites',
    {
      schema: {
        summary: 'Create an invite code; the code is shown once (admin)', errors: ['forbidden'],
        tags: ['admin'],
        body: obj({ maxUses: { type: 'integer', minimum: 1, maximum: 100_000 }, expiresInHours: { type: 'integer', minimum: 1, maximum: 24 * 365 } }, []),
        response: responses({ 201: answer('The code, shown this once', obj({ code: invite, expiresAt: { type: 'integer' }, maxUses: { type: 'integer' } })) }),
      },
    },
    async (req, reply) => {
      const { user } = await requireAdmin(ctx, req);
      const created = await createInvite(ctx.store, user.id, ctx.now(), req.body.maxUses ?? 1, (req.body.expiresInHours ?? 24 * 7) * 3_600_000);
      return reply.code(201).send(created);
    },
  );

  app.delete<{ Params: { inviteId: string } }>(
    '/v1/admin/invites/:inviteId',
    { schema: { summary: 'Revoke an invite code by its id (admin)', errors: ['forbidden', 'unknown-invite'], tags: ['admin'], params: obj({ inviteId: inviteIdSchema }), response: responses({ 204: noContent }) } },
    async (req, reply) => {
      await requireAdmin(ctx, req);
      if (!(await revokeInvite(ctx.store, req.params.inviteId))) throw new ApiError('unknown-invite', 'no such invite code');
      return reply.code(204).send();
    },
  );
}
