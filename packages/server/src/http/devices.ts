// Routes: device registration (with a device certificate signed by the user's identity
// key), the directory of users' identity keys and devices, device removal, key packages.

import type { FastifyInstance } from 'fastify';
import { DEVICE_ID_PATTERN, DeviceCertificateError, verifyDeviceCertificate, type DeviceInfo, type UserDirectoryEntry } from '@parley/protocol';
import { ed25519Verify } from '../auth/ed25519.js';
import { authenticateDevice, bearer, limit, type Ctx } from '../context.js';
import { ApiError } from '../errors.js';
import { InspectionError } from '../mls/inspector.js';
import { newMessageId } from '../auth/tokens.js';
import { StoreConflictError, type DeviceRecord } from '../store/store.js';
import { requireAuth } from './accounts.js';
import { b64, answer, deviceId, fromB64, noContent, obj, responses, toB64, username } from './schema.js';

/** Directory search results: by default, and at most. */
const SEARCH_DEFAULT = 10;
const SEARCH_MAX = 50;

const deviceIdRe = new RegExp(DEVICE_ID_PATTERN);

export { ed25519Verify };

function deviceInfo(d: DeviceRecord): DeviceInfo {
  return { deviceId: d.id, signatureKey: toB64(d.signatureKey), cipherSuite: d.cipherSuite, certificate: toB64(d.certificate), createdAt: d.createdAt };
}

const encoder = new TextEncoder();

const b64Out = { type: 'string', contentEncoding: 'base64' } as const;
const deviceInfoSchema = obj({ deviceId, signatureKey: b64Out, cipherSuite: { type: 'integer' }, certificate: b64Out, createdAt: { type: 'integer' } });
const keyPackageCount = answer('The KeyPackages this device has left: regular ones, and its last-resort one (0 or 1)', obj({ regular: { type: 'integer', minimum: 0 }, lastResort: { type: 'integer', minimum: 0, maximum: 1 } }));

export function deviceRoutes(app: FastifyInstance, ctx: Ctx): void {
  app.post<{ Body: { certificate: string } }>(
    '/v1/devices',
    {
      schema: {
        summary: 'Register this session’s device: a device certificate signed by the user’s identity key', errors: ['device-exists', 'identity-key-missing', 'invalid-device-certificate'],
        tags: ['identity'],
        body: obj({ certificate: b64(2048) }),
        response: responses({ 201: answer('The registered device', deviceInfoSchema) }),
      },
    },
    async (req, reply) => {
      const { user, session } = await requireAuth(ctx, req);
      if (session.deviceId !== null) throw new ApiError('device-exists', 'this session already has a device');
      if (user.identityKey === null) throw new ApiError('identity-key-missing', 'publish the identity key first');
      const bytes = fromB64(req.body.certificate, 'certificate');
      let cert;
      try {
        cert = await verifyDeviceCertificate(bytes, user.identityKey, ed25519Verify);
      } catch (e) {
        if (e instanceof DeviceCertificateError) throw new ApiError('invalid-device-certificate', e.code === 'malformed-device-certificate' ? 'malformed device certificate' : 'the certificate is not signed by your identity key');
        throw e;
      }
      if (cert.userId !== user.id) throw new ApiError('invalid-device-certificate', 'the certificate is for another user');
      if (!deviceIdRe.test(cert.deviceId)) throw new ApiError('invalid-device-certificate', `device id must match ${DEVICE_ID_PATTERN}`);
      const device: DeviceRecord = {
        id: cert.deviceId,
        userId: user.id,
        signatureKey: cert.signatureKey,
        cipherSuite: cert.cipherSuite,
        certificate: bytes,
        createdAt: ctx.now(),
      };
      try {
        await ctx.store.addDevice(device, session.tokenHash);
      } catch (e) {
        if (e instanceof StoreConflictError) throw new ApiError('device-exists', 'this device id is taken');
        throw e;
      }
      req.log.info({ userId: user.id, deviceId: device.id }, 'device registered');
      return reply.code(201).send(deviceInfo(device));
    },
  );

  // The directory search: active users whose name starts with `prefix` (at least two
  // characters of a user name, lower case), at most `limit` (≤ 50, default 10), in order.
  // Any signed-in user may search, as they may look a user up by exact name. Rate-limited
  // per address (before the session is checked) and per searching account: enumerating
  // the directory two letters at a time is slow.
  app.get<{ Querystring: { prefix: string; limit?: string } }>(
    '/v1/users',
    {
      schema: {
        summary: 'Directory search: users whose name starts with a prefix', errors: ['rate-limited'],
        tags: ['identity'],
        querystring: obj({ prefix: username, limit: { type: 'string', pattern: '^([1-9]|[1-4][0-9]|50)$' } }, ['prefix']),
        response: responses({ 200: answer('Active users whose name starts with the prefix, in name order', obj({ users: { type: 'array', maxItems: SEARCH_MAX, items: obj({ userId: username }) } })) }),
      },
    },
    async (req): Promise<{ users: { userId: string }[] }> => {
      limit(ctx.limiters?.searchPerAddress, req.ip);
      const { user } = await requireAuth(ctx, req);
      limit(ctx.limiters?.searchPerAccount, user.id);
      const max = Math.min(SEARCH_MAX, Number(req.query.limit ?? SEARCH_DEFAULT));
      const ids = await ctx.store.searchUsers(req.query.prefix, max);
      return { users: ids.map((userId) => ({ userId })) };
    },
  );

  app.get<{ Params: { userId: string } }>(
    '/v1/users/:userId',
    {
      schema: {
        summary: 'A user’s identity key and devices', errors: ['unknown-user'],
        tags: ['identity'],
        params: obj({ userId: username }),
        response: responses({ 200: answer('The user’s identity key (null until published) and devices', obj({ userId: username, identityKey: { type: ['string', 'null'], contentEncoding: 'base64' }, devices: { type: 'array', items: deviceInfoSchema } })) }),
      },
    },
    async (req): Promise<UserDirectoryEntry> => {
      await requireAuth(ctx, req);
      const user = await ctx.store.getUser(req.params.userId);
      if (user === null) throw new ApiError('unknown-user', 'no such user');
      const devices = await ctx.store.listDevices(user.id);
      return { userId: user.id, identityKey: user.identityKey === null ? null : toB64(user.identityKey), devices: devices.map(deviceInfo) };
    },
  );

  app.delete<{ Params: { deviceId: string } }>(
    '/v1/devices/:deviceId',
    {
      schema: {
        summary: 'Remove a device: revoke its sessions, drop its inbox and key packages, tell the user’s other devices and its groups', errors: ['unknown-device'],
        tags: ['identity'],
        params: obj({ deviceId }),
        response: responses({ 204: noContent }),
      },
    },
    async (req, reply) => {
      const { user } = await requireAuth(ctx, req);
      const device = await ctx.store.getDevice(req.params.deviceId);
      if (device === null || (device.userId !== user.id && !user.admin)) throw new ApiError('unknown-device', 'no such device');
      const now = ctx.now();
      const payload = encoder.encode(JSON.stringify({ type: 'device-removed', userId: device.userId, deviceId: device.id }));
      const removed = await ctx.store.removeDevice(
        device.id,
        (groupId) => ({ groupId, id: newMessageId(), sender: '', data: payload, createdAt: now }),
        { id: newMessageId(), kind: 'notice', groupId: '', sender: '', data: payload, createdAt: now },
      );
      if (removed !== null) {
        ctx.bus.publish({ type: 'device-removed', deviceId: device.id });
        for (const m of removed.groups) {
          ctx.bus.publish({ type: 'membership', groupId: m.groupId, added: [], removed: [device.id] });
          ctx.bus.publish({ type: 'group-message', message: m });
        }
        for (const x of removed.inbox) ctx.bus.publish({ type: 'inbox-message', deviceId: x.deviceId, message: x.message });
      }
      req.log.info({ userId: device.userId, deviceId: device.id }, 'device removed');
      return reply.code(204).send();
    },
  );

  // ---- key packages ---------------------------------------------------------------

  app.post<{ Body: { keyPackages: string[]; lastResort?: string } }>(
    '/v1/devices/me/key-packages',
    {
      schema: {
        summary: 'Upload a batch of this device’s KeyPackages (and optionally its last-resort one)', errors: ['device-required', 'too-many-key-packages', 'invalid-key-package'],
        tags: ['key-packages'],
        body: obj({ keyPackages: { type: 'array', maxItems: 100, items: b64(16_384) }, lastResort: b64(16_384) }, ['keyPackages']),
        response: responses({ 200: keyPackageCount }),
      },
    },
    async (req) => {
      const a = await authenticateDevice(ctx, bearer(req.headers.authorization));
      const device = await ctx.store.getDevice(a.deviceId);
      if (device === null) throw new ApiError('unauthenticated', 'a valid session token is required');
      const items = req.body.keyPackages.map((k, i) => ({ data: fromB64(k, `keyPackages[${i}]`), lastResort: false }));
      if (req.body.lastResort !== undefined) items.push({ data: fromB64(req.body.lastResort, 'lastResort'), lastResort: true });
      const cap = ctx.config.limits.keyPackagesPerDevice;
      const tooMany = (): ApiError => new ApiError('too-many-key-packages', `at most ${cap} key packages per device`);
      // The cap counts regular packages; the last-resort one is at most one and replaces the previous one.
      // This early check spares the signature checks; the store's count-and-insert below is the one that holds under concurrent uploads.
      if ((await ctx.store.countKeyPackages(device.id)).regular + req.body.keyPackages.length > cap) throw tooMany();
      // The signature and ownership checks wait on @parley/mls/public (see mls/inspector.ts).
      for (const k of items) {
        try {
          await ctx.inspector.inspectKeyPackage(device, k.data);
        } catch (e) {
          if (e instanceof InspectionError) throw new ApiError('invalid-key-package', e.message);
          throw e;
        }
      }
      const count = await ctx.store.addKeyPackages(device.id, items, cap);
      if (count === null) throw tooMany();
      return count;
    },
  );

  app.get('/v1/devices/me/key-packages', { schema: { summary: 'How many KeyPackages this device has left', errors: ['device-required'], tags: ['key-packages'], response: responses({ 200: keyPackageCount }) } }, async (req) => {
    const a = await authenticateDevice(ctx, bearer(req.headers.authorization));
    return ctx.store.countKeyPackages(a.deviceId);
  });

  app.post<{ Params: { userId: string } }>(
    '/v1/users/:userId/key-packages/claim',
    {
      schema: {
        summary: 'Claim one KeyPackage per device of a user; each is handed out once, the last-resort one (flagged) only when none is left', errors: ['rate-limited', 'unknown-user'],
        tags: ['key-packages'],
        params: obj({ userId: username }),
        response: responses({
          200: answer('One KeyPackage per device that has one left (a device with none is absent)', obj({ keyPackages: { type: 'array', items: obj({ deviceId, keyPackage: b64Out, lastResort: { type: 'boolean' } }) } })),
        }),
      },
    },
    async (req) => {
      const { user } = await requireAuth(ctx, req);
      limit(ctx.limiters?.claimPerAccount, user.id);
      if ((await ctx.store.getUser(req.params.userId)) === null) throw new ApiError('unknown-user', 'no such user');
      const claimed = await ctx.store.claimKeyPackages(req.params.userId);
      return { keyPackages: claimed.map((k) => ({ deviceId: k.deviceId, keyPackage: toB64(k.data), lastResort: k.lastResort })) };
    },
  );
}
