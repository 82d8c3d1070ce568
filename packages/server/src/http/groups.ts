// Routes: groups (creation from the first GroupInfo), commits sequenced one per epoch,
// the latest GroupInfo for rejoining, application messages over HTTP, backlog reads and
// acknowledgements (the WebSocket does the same in real time).

import type { FastifyInstance } from 'fastify';
import { MESSAGE_KINDS, type CommitRequest } from '@parley/protocol';
import { newMessageId } from '../auth/tokens.js';
import { authenticateDevice, bearer, limit, type AuthenticatedDevice, type Ctx } from '../context.js';
import { ApiError } from '../errors.js';
import { InspectionError } from '../mls/inspector.js';
import { StoreConflictError, type DeviceRecord, type GroupRecord, type StoredMessage } from '../store/store.js';
import { b64, answer, deviceId, fromB64, groupId, messageId, messageIdFrom, noContent, obj, responses, seq, seqQuery, toB64 } from './schema.js';

const MLS_MAX = 1 << 20;
const params = obj({ groupId });
const b64Out = { type: 'string', contentEncoding: 'base64' } as const;
const wireMessageSchema = obj({
  seq,
  messageId,
  kind: { type: 'string', enum: Object.keys(MESSAGE_KINDS) },
  groupId: { type: 'string' },
  sender: { type: 'string' },
  createdAt: { type: 'integer' },
  data: b64Out,
});
const messageList = answer('Messages in order of seq (at most `limit`, default 100, at most 500)', obj({ messages: { type: 'array', items: wireMessageSchema } }));

function wireMessage(m: StoredMessage): Record<string, unknown> {
  return { seq: m.seq, messageId: Buffer.from(m.id).toString('base64url'), kind: m.kind, groupId: m.groupId, sender: m.sender, createdAt: m.createdAt, data: toB64(m.data) };
}

async function memberGroup(ctx: Ctx, a: AuthenticatedDevice, id: string): Promise<GroupRecord> {
  const g = await ctx.store.getGroup(id);
  if (g === null) throw new ApiError('unknown-group', 'no such group');
  const mine = await ctx.store.groupsOfDevice(a.deviceId);
  if (!mine.some((m) => m.groupId === id)) throw new ApiError('not-a-member', 'this device is not a member of the group');
  return g;
}

/** Maps an inspector's refusal to the API's stable code; `stale-epoch` carries the current epoch. */
function inspectionFailure(currentEpoch?: number): (e: unknown) => never {
  return (e: unknown): never => {
    if (e instanceof InspectionError) {
      if (e.code === 'stale-epoch') throw new ApiError('stale-epoch', e.message, currentEpoch === undefined ? {} : { currentEpoch });
      throw new ApiError(e.code, e.message);
    }
    throw e;
  };
}

async function deviceRecord(ctx: Ctx, a: AuthenticatedDevice): Promise<DeviceRecord> {
  const d = await ctx.store.getDevice(a.deviceId);
  if (d === null) throw new ApiError('unauthenticated', 'a valid session token is required');
  return d;
}

export function groupRoutes(app: FastifyInstance, ctx: Ctx): void {
  const device = (h: string | undefined): Promise<AuthenticatedDevice> => authenticateDevice(ctx, bearer(h));

  app.post<{ Body: { groupId: string; epoch: number; groupInfo: string; ratchetTree?: string } }>(
    '/v1/groups',
    {
      schema: {
        summary: 'Create a group from its first GroupInfo (and ratchet tree); the calling device is its first member', errors: ['device-required', 'group-exists', 'invalid-group-info', 'policy-violation'],
        tags: ['groups'],
        body: obj({ groupId, epoch: seq, groupInfo: b64(MLS_MAX), ratchetTree: b64(MLS_MAX) }, ['groupId', 'epoch', 'groupInfo']),
        response: responses({ 201: answer('The group and its epoch', obj({ groupId, epoch: seq })) }),
      },
    },
    async (req, reply) => {
      const a = await device(req.headers.authorization);
      const groupInfo = fromB64(req.body.groupInfo, 'groupInfo');
      const ratchetTree = req.body.ratchetTree === undefined ? null : fromB64(req.body.ratchetTree, 'ratchetTree');
      const creator = await deviceRecord(ctx, a);
      if ((await ctx.store.getGroup(req.body.groupId)) !== null) throw new ApiError('group-exists', 'this group id is taken');
      const { epoch } = await ctx.inspector.inspectGroupInfo(req.body.groupId, groupInfo, ratchetTree, req.body.epoch, creator).catch(inspectionFailure());
      try {
        await ctx.store.createGroup({ id: req.body.groupId, epoch, groupInfo, ratchetTree, createdAt: ctx.now() }, a.deviceId);
      } catch (e) {
        if (e instanceof StoreConflictError) throw new ApiError('group-exists', 'this group id is taken');
        throw e;
      }
      ctx.bus.publish({ type: 'membership', groupId: req.body.groupId, added: [a.deviceId], removed: [] });
      return reply.code(201).send({ groupId: req.body.groupId, epoch });
    },
  );

  app.get<{ Params: { groupId: string } }>(
    '/v1/groups/:groupId',
    {
      schema: {
        summary: 'The group’s epoch, log position and member devices (members only)', errors: ['device-required', 'unknown-group', 'not-a-member'],
        tags: ['groups'],
        params,
        response: responses({ 200: answer('The group', obj({ groupId, epoch: seq, lastSeq: seq, members: { type: 'array', items: deviceId } })) }),
      },
    },
    async (req) => {
      const a = await device(req.headers.authorization);
      const g = await memberGroup(ctx, a, req.params.groupId);
      const members = await ctx.store.listMembers(g.id);
      return { groupId: g.id, epoch: g.epoch, lastSeq: g.lastSeq, members: members.map((m) => m.deviceId) };
    },
  );

  app.get<{ Params: { groupId: string } }>(
    '/v1/groups/:groupId/group-info',
    {
      schema: {
        summary: 'The latest GroupInfo and ratchet tree, for a member device (or another device of a member user) that must rejoin', errors: ['device-required', 'unknown-group', 'not-a-member'],
        tags: ['groups'],
        params,
        response: responses({ 200: answer('The latest GroupInfo (and ratchet tree, null if it travels in the GroupInfo)', obj({ groupId, epoch: seq, groupInfo: b64Out, ratchetTree: { type: ['string', 'null'], contentEncoding: 'base64' } })) }),
      },
    },
    async (req) => {
      const a = await device(req.headers.authorization);
      const g = await ctx.store.getGroup(req.params.groupId);
      if (g === null) throw new ApiError('unknown-group', 'no such group');
      const members = await ctx.store.listMembers(g.id);
      const own = new Set((await ctx.store.listDevices(a.user.id)).map((d) => d.id));
      if (!members.some((m) => own.has(m.deviceId))) throw new ApiError('not-a-member', 'none of your devices is a member of the group');
      return { groupId: g.id, epoch: g.epoch, groupInfo: toB64(g.groupInfo), ratchetTree: g.ratchetTree === null ? null : toB64(g.ratchetTree) };
    },
  );

  app.post<{ Params: { groupId: string }; Body: CommitRequest }>(
    '/v1/groups/:groupId/commits',
    {
      schema: {
        summary: 'Submit a commit (PublicMessage) with the new GroupInfo and the Welcome; one commit per epoch, first come first served', errors: ['device-required', 'unknown-group', 'not-a-member', 'unknown-device', 'stale-epoch', 'invalid-commit', 'invalid-group-info', 'policy-violation', 'external-join-refused'],
        tags: ['groups'],
        params,
        body: obj(
          {
            epoch: seq,
            commit: b64(MLS_MAX),
            groupInfo: b64(MLS_MAX),
            ratchetTree: b64(MLS_MAX),
            welcome: b64(MLS_MAX),
            addedDevices: { type: 'array', maxItems: 1000, uniqueItems: true, items: deviceId },
            removedDevices: { type: 'array', maxItems: 1000, uniqueItems: true, items: deviceId },
          },
          ['epoch', 'commit', 'groupInfo'],
        ),
        response: responses({ 201: answer('Accepted: the new epoch and the commit’s seq in the group log', obj({ epoch: seq, seq })) }),
      },
    },
    async (req, reply) => {
      const a = await device(req.headers.authorization);
      const body = req.body;
      const g = await ctx.store.getGroup(req.params.groupId);
      if (g === null) throw new ApiError('unknown-group', 'no such group');
      const sender = await deviceRecord(ctx, a);
      const member = (await ctx.store.groupsOfDevice(a.deviceId)).some((m) => m.groupId === g.id);
      if (body.epoch !== g.epoch) throw new ApiError('stale-epoch', 'the group is at another epoch', { currentEpoch: g.epoch });
      const commit = fromB64(body.commit, 'commit');
      const groupInfo = fromB64(body.groupInfo, 'groupInfo');
      const ratchetTree = body.ratchetTree === undefined ? null : fromB64(body.ratchetTree, 'ratchetTree');
      const welcome = body.welcome === undefined ? null : fromB64(body.welcome, 'welcome');
      // A non-member's commit can only be an external one (a new device of a member
      // joining from the GroupInfo); the inspector decides, then membership is checked.
      const inspected = await ctx.inspector
        .inspectCommit(g, sender, { commit, groupInfo, ratchetTree, declared: { epoch: body.epoch, addedDevices: body.addedDevices ?? [], removedDevices: body.removedDevices ?? [] } })
        .catch(inspectionFailure(g.epoch));
      if (!inspected.external && !member) throw new ApiError('not-a-member', 'this device is not a member of the group');
      if (inspected.addedDevices.some((d) => d !== a.deviceId) && welcome === null) throw new ApiError('invalid-commit', 'a commit that adds devices needs their Welcome');
      const now = ctx.now();
      const result = await ctx.store.applyCommit({
        groupId: g.id,
        fromEpoch: inspected.fromEpoch,
        toEpoch: inspected.toEpoch,
        message: { groupId: g.id, id: newMessageId(), sender: a.deviceId, data: commit, createdAt: now },
        groupInfo,
        ratchetTree,
        addDevices: inspected.addedDevices,
        removeDevices: inspected.removedDevices,
        welcome: welcome === null ? null : { id: newMessageId(), kind: 'welcome', groupId: g.id, sender: a.deviceId, data: welcome, createdAt: now },
        ...(inspected.external ? { external: true } : {}),
      });
      if (!result.ok) {
        ctx.metrics.commits.inc({ result: result.reason });
        if (result.reason === 'stale-epoch') throw new ApiError('stale-epoch', 'another commit was accepted for this epoch', { currentEpoch: result.currentEpoch });
        if (result.reason === 'unknown-device') throw new ApiError('unknown-device', 'an added device is not registered');
        throw new ApiError(result.reason, 'the commit cannot be applied');
      }
      inspected.accepted?.();
      ctx.metrics.commits.inc({ result: 'accepted' });
      ctx.bus.publish({ type: 'membership', groupId: g.id, added: inspected.addedDevices, removed: inspected.removedDevices });
      ctx.bus.publish({ type: 'group-message', message: result.message });
      for (const x of result.inbox) ctx.bus.publish({ type: 'inbox-message', deviceId: x.deviceId, message: x.message });
      return reply.code(201).send({ epoch: inspected.toEpoch, seq: result.message.seq });
    },
  );

  app.post<{ Params: { groupId: string }; Body: { messageId: string; message: string } }>(
    '/v1/groups/:groupId/messages',
    {
      schema: {
        summary: 'Send an application message (PrivateMessage); answered once it is on disk. The WebSocket send frame does the same', errors: ['device-required', 'rate-limited', 'unknown-group', 'not-a-member'],
        tags: ['delivery'],
        params,
        body: obj({ messageId, message: b64(ctx.config.limits.message) }),
        response: responses({ 201: answer('Stored: its seq in the group log; duplicate if this message id was stored before', obj({ seq, duplicate: { type: 'boolean' } })) }),
      },
    },
    async (req, reply) => {
      const a = await device(req.headers.authorization);
      limit(ctx.limiters?.sendPerAccount, a.user.id);
      limit(ctx.limiters?.sendPerAddress, req.ip);
      const r = await ctx.delivery.submit({
        groupId: req.params.groupId,
        id: messageIdFrom(req.body.messageId),
        sender: a.deviceId,
        data: fromB64(req.body.message, 'message'),
        createdAt: ctx.now(),
      });
      if (!r.ok) throw new ApiError(r.reason, r.reason === 'unknown-group' ? 'no such group' : 'this device is not a member of the group');
      return reply.code(201).send({ seq: r.seq, duplicate: r.duplicate });
    },
  );

  app.get<{ Params: { groupId: string }; Querystring: { after?: string; limit?: string } }>(
    '/v1/groups/:groupId/messages',
    {
      schema: {
        summary: 'Read the group’s log after a sequence number (members only)', errors: ['device-required', 'unknown-group', 'not-a-member'],
        tags: ['delivery'],
        params,
        querystring: obj({ after: seqQuery, limit: { type: 'string', pattern: '^[1-9][0-9]{0,2}$' } }, []),
        response: responses({ 200: messageList }),
      },
    },
    async (req) => {
      const a = await device(req.headers.authorization);
      await memberGroup(ctx, a, req.params.groupId);
      const messages = await ctx.store.readGroup(req.params.groupId, Number(req.query.after ?? '0'), Math.min(500, Number(req.query.limit ?? '100')));
      return { messages: messages.map(wireMessage) };
    },
  );

  app.get<{ Querystring: { after?: string; limit?: string } }>(
    '/v1/inbox',
    {
      schema: {
        summary: 'Read this device’s inbox (Welcome messages, notices) after a sequence number', errors: ['device-required'],
        tags: ['delivery'],
        querystring: obj({ after: seqQuery, limit: { type: 'string', pattern: '^[1-9][0-9]{0,2}$' } }, []),
        response: responses({ 200: messageList }),
      },
    },
    async (req) => {
      const a = await device(req.headers.authorization);
      const after = req.query.after === undefined ? await ctx.store.inboxCursor(a.deviceId) : Number(req.query.after);
      const messages = await ctx.store.readInbox(a.deviceId, after, Math.min(500, Number(req.query.limit ?? '100')));
      return { messages: messages.map(wireMessage) };
    },
  );

  app.post<{ Body: { groups?: { groupId: string; seq: number }[]; inbox?: number } }>(
    '/v1/acks',
    {
      schema: {
        summary: 'Acknowledge what this device has stored: per-group and inbox cursors only move forward', errors: ['device-required'],
        tags: ['delivery'],
        body: obj({ groups: { type: 'array', maxItems: 10_000, items: obj({ groupId, seq }) }, inbox: seq }, []),
        response: responses({ 204: noContent }),
      },
    },
    async (req, reply) => {
      const a = await device(req.headers.authorization);
      for (const c of req.body.groups ?? []) await ctx.store.ackGroup(a.deviceId, c.groupId, c.seq);
      if (req.body.inbox !== undefined) await ctx.store.ackInbox(a.deviceId, req.body.inbox);
      return reply.code(204).send();
    },
  );
}
