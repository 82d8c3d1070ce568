// Routes: encrypted attachments. The body is streamed to disk (never buffered whole)
// under a size limit and the uploader's quota, and fsynced (file and directory) before
// the upload is acknowledged; the blob is named by a random 32-byte id, and only member
// devices of the group it was posted to may download it. The uploader (any device of
// the uploading user) may delete it; it also goes when the retention of the group's
// messages expires, since no message that points at it is left by then.

import { createReadStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance } from 'fastify';
import { newOpaqueId } from '../auth/tokens.js';
import { authenticateDevice, bearer, type AuthenticatedDevice, type Ctx } from '../context.js';
import { ApiError } from '../errors.js';
import type { AttachmentRecord, Store } from '../store/store.js';
import { answer, groupId, noContent, obj, raw, responses } from './schema.js';

const attachmentId = { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$' } as const;

/**
 * What deletion, quotas and expiry need beyond the Store interface (which another change
 * owns): both embedded stores (SqliteStore, MemoryStore) implement it. A store without it
 * gets no quota and no deletion, and says so in the log once.
 */
export interface AttachmentAdmin {
  /** Deletes the record; false if there was none. */
  deleteAttachment(id: string): Promise<boolean>;
  /** Bytes of the attachments uploaded by these devices. */
  attachmentBytes(uploaders: readonly string[]): Promise<number>;
  /** Up to `limit` attachments created before `olderThan`. */
  expiredAttachments(olderThan: number, limit: number): Promise<AttachmentRecord[]>;
}

export function attachmentAdmin(store: Store): AttachmentAdmin | null {
  const s = store as Partial<AttachmentAdmin>;
  return typeof s.deleteAttachment === 'function' && typeof s.attachmentBytes === 'function' && typeof s.expiredAttachments === 'function' ? (s as AttachmentAdmin) : null;
}

async function isMember(ctx: Ctx, deviceId: string, group: string): Promise<boolean> {
  return (await ctx.store.groupsOfDevice(deviceId)).some((m) => m.groupId === group);
}

/** Bytes the user has stored, over all its devices. */
async function usedBytes(ctx: Ctx, admin: AttachmentAdmin, userId: string): Promise<number> {
  const devices = (await ctx.store.listDevices(userId)).map((d) => d.id);
  return admin.attachmentBytes(devices);
}

/** Writes the stream to `file` and makes it durable: fsync of the file, then of its directory after the rename. */
async function writeDurably(body: Readable, counter: Transform, tmp: string, file: string, dir: string): Promise<void> {
  const fh = await open(tmp, 'wx');
  try {
    await pipeline(body, counter, async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) {
        for (let at = 0; at < chunk.length; ) at += (await fh.write(chunk, at)).bytesWritten;
      }
    });
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** Deletes the attachments whose retention has expired (record first: a crash leaves an orphan file, never a dangling id). */
export async function pruneAttachments(ctx: Ctx, olderThan: number): Promise<number> {
  const admin = attachmentAdmin(ctx.store);
  if (admin === null) return 0;
  let n = 0;
  for (;;) {
    const batch = await admin.expiredAttachments(olderThan, 256);
    for (const a of batch) {
      if (await admin.deleteAttachment(a.id)) n++;
      await rm(join(ctx.attachmentsDir, a.id), { force: true });
    }
    if (batch.length < 256) return n;
  }
}

export async function attachmentRoutes(app: FastifyInstance, ctx: Ctx): Promise<void> {
  const admin = attachmentAdmin(ctx.store);
  if (admin === null) ctx.log.warn('this store cannot delete attachments: no attachment quota, deletion or expiry');
  // Bytes being uploaded right now, per user: concurrent uploads share the quota.
  const inflight = new Map<string, number>();

  // Own encapsulation context: only raw octet streams, passed through unread.
  await app.register(async (sub) => {
    sub.removeAllContentTypeParsers();
    sub.addContentTypeParser('application/octet-stream', (_req, payload, done) => {
      done(null, payload);
    });

    sub.post<{ Params: { groupId: string } }>(
      '/v1/groups/:groupId/attachments',
      {
        schema: {
          summary: 'Upload an encrypted attachment (application/octet-stream, streamed, size-limited, within the user’s quota) for a group; answered once it is on disk', errors: ['device-required', 'unknown-group', 'not-a-member', 'quota-exceeded'],
          tags: ['attachments'],
          params: obj({ groupId }),
          rawBody: raw('The encrypted blob, at most the configured attachment size', ['application/octet-stream'], { type: 'string', format: 'binary' }),
          response: responses({ 201: answer('On disk: its id (a capability) and size', obj({ attachmentId, size: { type: 'integer', minimum: 0 } })) }),
        },
      },
      async (req, reply) => {
        const a = await authenticateDevice(ctx, bearer(req.headers.authorization));
        if ((await ctx.store.getGroup(req.params.groupId)) === null) throw new ApiError('unknown-group', 'no such group');
        if (!(await isMember(ctx, a.deviceId, req.params.groupId))) throw new ApiError('not-a-member', 'this device is not a member of the group');
        const declared = Number(req.headers['content-length'] ?? '0');
        if (declared > ctx.config.limits.attachment) throw new ApiError('body-too-large', `attachments are at most ${ctx.config.limits.attachment} bytes`);
        const quota = ctx.config.attachmentQuotaBytes;
        const room = admin === null ? Infinity : quota - (await usedBytes(ctx, admin, a.user.id)) - (inflight.get(a.user.id) ?? 0);
        if (declared > room) throw new ApiError('quota-exceeded', `the attachments of a user are at most ${quota} bytes in all; delete some first`);
        const id = newOpaqueId();
        const tmp = join(ctx.attachmentsDir, `${id}.part`);
        let size = 0;
        const counter = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            size += chunk.length;
            inflight.set(a.user.id, (inflight.get(a.user.id) ?? 0) + chunk.length);
            if (size > ctx.config.limits.attachment) cb(new ApiError('body-too-large', `attachments are at most ${ctx.config.limits.attachment} bytes`));
            else if (size > room) cb(new ApiError('quota-exceeded', `the attachments of a user are at most ${quota} bytes in all; delete some first`));
            else cb(null, chunk);
          },
        });
        try {
          await writeDurably(req.body as Readable, counter, tmp, join(ctx.attachmentsDir, id), ctx.attachmentsDir);
          await ctx.store.addAttachment({ id, groupId: req.params.groupId, uploader: a.deviceId, size, createdAt: ctx.now() });
        } catch (e) {
          await rm(tmp, { force: true });
          await rm(join(ctx.attachmentsDir, id), { force: true });
          if (e instanceof ApiError) throw e;
          throw new ApiError('bad-request', 'the upload did not complete');
        } finally {
          const left = (inflight.get(a.user.id) ?? 0) - size;
          if (left > 0) inflight.set(a.user.id, left);
          else inflight.delete(a.user.id);
        }
        return reply.code(201).send({ attachmentId: id, size });
      },
    );
  });

  app.get<{ Params: { attachmentId: string } }>(
    '/v1/attachments/:attachmentId',
    { schema: { summary: 'Download an attachment (member devices of its group only)', errors: ['device-required', 'unknown-attachment'], tags: ['attachments'], params: obj({ attachmentId }), response: responses({ 200: raw('The encrypted blob', ['application/octet-stream'], { type: 'string', format: 'binary' }) }) } },
    async (req, reply) => {
      const a = await authenticateDevice(ctx, bearer(req.headers.authorization));
      const att = await ctx.store.getAttachment(req.params.attachmentId);
      // The same answer for "no such id" and "not yours": ids are capabilities.
      if (att === null || !(await isMember(ctx, a.deviceId, att.groupId))) throw new ApiError('unknown-attachment', 'no such attachment');
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', String(att.size))
        .send(createReadStream(join(ctx.attachmentsDir, att.id)));
    },
  );
  app.delete<{ Params: { attachmentId: string } }>(
    '/v1/attachments/:attachmentId',
    { schema: { summary: 'Delete an attachment (the uploading user’s devices only); its bytes leave the quota', errors: ['device-required', 'unknown-attachment', 'forbidden'], tags: ['attachments'], params: obj({ attachmentId }), response: responses({ 204: noContent }) } },
    async (req, reply) => {
      const a = await authenticateDevice(ctx, bearer(req.headers.authorization));
      const att = await ctx.store.getAttachment(req.params.attachmentId);
      if (att === null || !(await canSee(ctx, a, att))) throw new ApiError('unknown-attachment', 'no such attachment');
      if (!(await isUploader(ctx, a, att))) throw new ApiError('forbidden', 'only the uploader may delete an attachment');
      if (admin === null) throw new ApiError('internal', 'this store cannot delete attachments');
      await admin.deleteAttachment(att.id);
      await rm(join(ctx.attachmentsDir, att.id), { force: true });
      return reply.code(204).send();
    },
  );
}

async function isUploader(ctx: Ctx, a: AuthenticatedDevice, att: AttachmentRecord): Promise<boolean> {
  if (att.uploader === a.deviceId) return true;
  return (await ctx.store.getDevice(att.uploader))?.userId === a.user.id;
}

/** Who may learn that the id exists: members of its group, and its uploader. */
async function canSee(ctx: Ctx, a: AuthenticatedDevice, att: AttachmentRecord): Promise<boolean> {
  return (await isMember(ctx, a.deviceId, att.groupId)) || (await isUploader(ctx, a, att));
}
