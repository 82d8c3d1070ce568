// The HTTP side: Fastify with strict JSON-schema validation on every route, one error
// handler that answers every failure with a stable code (never a stack trace), the
// operational routes (/healthz, /metrics, /openapi.json), and an OpenAPI document built
// from the route schemas themselves.

import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifySchema } from 'fastify';
import { ERROR_STATUS, PROTOCOL_VERSION, type ErrorBody, type ErrorCode } from '@parley/protocol';
import type { Ctx } from '../context.js';
import { ApiError } from '../errors.js';
import { accountRoutes, requireAdmin } from './accounts.js';
import { attachmentRoutes } from './attachments.js';
import { deviceRoutes } from './devices.js';
import { groupRoutes } from './groups.js';
import { webRoutes } from './web.js';

function send(reply: FastifyReply, code: ErrorCode, message: string, extra: Partial<ErrorBody['error']> = {}): FastifyReply {
  const body: ErrorBody = { error: { code, message, ...extra } };
  if (extra.retryAfter !== undefined) void reply.header('retry-after', String(extra.retryAfter));
  return reply.code(ERROR_STATUS[code]).type('application/json').send(body);
}

interface RouteDoc {
  readonly method: string;
  readonly url: string;
  readonly schema: FastifySchema | undefined;
}

function openApi(routes: readonly RouteDoc[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    if (r.method === 'HEAD') continue;
    const path = r.url.replace(/:([A-Za-z]+)/g, '{$1}');
    const s = r.schema ?? {};
    const parameters: unknown[] = [];
    for (const [where, sch] of [['path', s.params], ['query', s.querystring]] as const) {
      const props = (sch as { properties?: Record<string, unknown>; required?: string[] } | undefined)?.properties ?? {};
      const required = (sch as { required?: string[] } | undefined)?.required ?? [];
      for (const [name, schema] of Object.entries(props)) parameters.push({ name, in: where, required: where === 'path' || required.includes(name), schema });
    }
    const op: Record<string, unknown> = {
      summary: s.summary ?? '',
      tags: s.tags ?? [],
      parameters,
      responses: { default: { description: 'An error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } } },
    };
    if (s.body !== undefined) op.requestBody = { required: true, content: { 'application/json': { schema: s.body } } };
    if (s.response !== undefined) {
      for (const [status, schema] of Object.entries(s.response as Record<string, unknown>)) {
        (op.responses as Record<string, unknown>)[status] = { description: 'Success', content: { 'application/json': { schema } } };
      }
    }
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.0.3',
    info: { title: 'Parley server', version: String(PROTOCOL_VERSION), description: 'See docs/protocol.md. The WebSocket is at GET /v1/ws.' },
    components: {
      securitySchemes: { session: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: {
          type: 'object',
          properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, currentEpoch: { type: 'integer' }, retryAfter: { type: 'integer' } } } },
        },
      },
    },
    security: [{ session: [] }],
    paths,
  };
}

export async function buildApp(ctx: Ctx): Promise<FastifyInstance> {
  const loggerInstance: FastifyBaseLogger = ctx.log;
  const app = Fastify({
    loggerInstance,
    bodyLimit: ctx.config.limits.jsonBody,
    // Strict schemas: no silent coercion or stripping of unknown fields.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    trustProxy: false,
    frameworkErrors: (_err, _req, reply) => {
      void send(reply, 'bad-request', 'malformed request');
    },
  });
  const routes: RouteDoc[] = [];
  app.addHook('onRoute', (r) => {
    for (const m of Array.isArray(r.method) ? r.method : [r.method]) routes.push({ method: m, url: r.url, schema: r.schema });
  });
  app.addHook('onResponse', async (req, reply) => {
    ctx.metrics.httpRequests.inc({ method: req.method, route: req.routeOptions.url ?? 'unknown', status: String(reply.statusCode) });
  });

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    if (err instanceof ApiError) return send(reply, err.code, err.message, err.extra);
    const e = err;
    if (e.validation !== undefined) return send(reply, 'bad-request', `invalid ${e.validationContext ?? 'input'}: ${e.validation[0]?.instancePath ?? '/'} ${e.validation[0]?.message ?? ''}`.trim());
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return send(reply, 'body-too-large', 'the body is too large');
    if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return send(reply, 'unsupported-media-type', 'unsupported content type');
    const status = e.statusCode ?? 500;
    if (status >= 400 && status < 500) return send(reply, 'bad-request', 'malformed request');
    req.log.error({ err: e }, 'unhandled error');
    return send(reply, 'internal', 'internal error');
  });
  app.setNotFoundHandler((_req, reply) => send(reply, 'not-found', 'no such route'));

  app.get('/healthz', { schema: { summary: 'Liveness and readiness: probes the database (503 database-unavailable when it does not answer)', tags: ['operations'] } }, async (req) => {
    try {
      await ctx.store.check();
    } catch (e) {
      req.log.warn({ err: e }, 'health check: database unavailable');
      throw new ApiError('database-unavailable', 'the database does not answer');
    }
    return { status: 'ok', version: PROTOCOL_VERSION };
  });
  // Admin-only: the counters reveal traffic per route and connection counts (see docs/protocol.md).
  app.get('/metrics', { schema: { summary: 'Prometheus metrics (admin session token)', tags: ['operations'] } }, async (req, reply) => {
    await requireAdmin(ctx, req);
    return reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
  app.get('/v1/server', { schema: { summary: 'Protocol version and registration policy', tags: ['operations'] } }, async () => ({
    version: PROTOCOL_VERSION,
    registration: ctx.config.registration.policy,
    // Honest about it: e-mail addresses are checked against the allow-list, not verified.
    emailVerification: false,
  }));

  accountRoutes(app, ctx);
  deviceRoutes(app, ctx);
  groupRoutes(app, ctx);
  await attachmentRoutes(app, ctx);
  if (ctx.config.webRoot !== undefined) webRoutes(app, ctx.config.webRoot, (reply) => send(reply, 'not-found', 'no such route'));

  let doc: Record<string, unknown> | undefined;
  app.get('/openapi.json', { schema: { summary: 'This OpenAPI document, generated from the route schemas', tags: ['operations'] } }, async () => (doc ??= openApi(routes)));
  return app;
}
