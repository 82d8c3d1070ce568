// Routes: encrypted attachments. The body is streamed to disk (never buffered whole)
// under a size limit; the blob is named by a random 32-byte id, and only member
// devices of the group it was posted to may download it.

import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance } from 'fastify';
import { newOpaqueId } from '../auth/tokens.js';
import { authenticateDevice, bearer, type Ctx } from '../context.js';
import { ApiError } from '../errors.js';
import { groupId, obj } from './schema.js';

const attachmentId = { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$' } as const;

async function isMember(ctx: Ctx, deviceId: string, group: string): Promise<boolean> {
  return (await ctx.store.groupsOfDevice(deviceId)).some((m) => m.groupId === group);
}

export async function attachmentRoutes(app: FastifyInstance, ctx: Ctx): Promise<void> {
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
          summary: 'Upload an encrypted attachment (application/octet-stream, streamed, size-limited) for a group',
          tags: ['attachments'],
          params: obj({ groupId }),
        },
      },
      async (req, reply) => {
        const a = await authenticateDevice(ctx, bearer(req.headers.authorization));
        if ((await ctx.store.getGroup(req.params.groupId)) === null) throw new ApiError('unknown-group', 'no such group');
        if (!(await isMember(ctx, a.deviceId, req.params.groupId))) throw new ApiError('not-a-member', 'this device is not a member of the group');
        const max = ctx.config.limits.attachment;
        const declared = Number(req.headers['content-length'] ?? '0');
        if (declared > max) throw new ApiError('body-too-large', `attachments are at most ${max} bytes`);
        const id = newOpaqueId();
        const tmp = join(ctx.attachmentsDir, `${id}.part`);
        let size = 0;
        const counter = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            size += chunk.length;
            if (size > max) cb(new ApiError('body-too-large', `attachments are at most ${max} bytes`));
            else cb(null, chunk);
          },
        });
        try {
          await pipeline(req.body as Readable, counter, createWriteStream(tmp, { flags: 'wx' }));
          await rename(tmp, join(ctx.attachmentsDir, id));
        } catch (e) {
          await rm(tmp, { force: true });
          if (e instanceof ApiError) throw e;
          throw new ApiError('bad-request', 'the upload did not complete');
        }
        await ctx.store.addAttachment({ id, groupId: req.params.groupId, uploader: a.deviceId, size, createdAt: ctx.now() });
        return reply.code(201).send({ attachmentId: id, size });
      },
    );
  });

  app.get<{ Params: { attachmentId: string } }>(
    '/v1/attachments/:attachmentId',
    { schema: { summary: 'Download an attachment (member devices of its group only)', tags: ['attachments'], params: obj({ attachmentId }) } },
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
}
