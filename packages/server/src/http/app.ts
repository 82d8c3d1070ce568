// The HTTP side: Fastify with strict JSON-schema validation on every route, one error
// handler that answers every failure with a stable code (never a stack trace), the
// operational routes (/healthz, /metrics, /openapi.json), and an OpenAPI document built
// from the route schemas themselves.

import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifySchema } from 'fastify';
import { ERROR_STATUS, PROTOCOL_VERSION, type ErrorBody, type ErrorCode } from '@parley/protocol';
import type { Ctx } from '../context.js';
import { ApiError } from '../errors.js';
import { accountRoutes, requireAdmin } from './accounts.js';
import { attachmentRoutes } from './attachments.js';
import { deviceRoutes } from './devices.js';
import { groupRoutes } from './groups.js';
import { answer, errorBody, errorResponses, obj, raw, responses, routeErrors } from './schema.js';
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

/** OpenAPI's form of one Fastify response schema: JSON unless it names its media types; 204/304 have no body. */
function openApiResponse(status: string, schema: Record<string, unknown>): Record<string, unknown> {
  const { description, content, ...rest } = schema as { description?: string; content?: Record<string, unknown>; type?: unknown };
  const text = description ?? (status.startsWith('2') ? 'Success' : '');
  if (content !== undefined) return { description: text, content };
  if (rest.type === 'null') return { description: text };
  return { description: text, content: { 'application/json': { schema: rest } } };
}

function openApi(routes: readonly RouteDoc[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    if (r.method === 'HEAD') continue;
    const path = r.url.replace(/:([A-Za-z]+)/g, '{$1}').replace(/\/\*$/, '/{path}');
    const s = r.schema ?? {};
    const parameters: unknown[] = [];
    for (const [where, sch] of [['path', s.params], ['query', s.querystring]] as const) {
      const props = (sch as { properties?: Record<string, unknown>; required?: string[] } | undefined)?.properties ?? {};
      const required = (sch as { required?: string[] } | undefined)?.required ?? [];
      for (const [name, schema] of Object.entries(props)) parameters.push({ name, in: where, required: where === 'path' || required.includes(name), schema });
    }
    if (path.endsWith('/{path}')) parameters.push({ name: 'path', in: 'path', required: true, schema: { type: 'string' } });
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries((s.response ?? {}) as Record<string, Record<string, unknown>>)) {
      // OpenAPI spells status ranges in capitals (4XX); Fastify in lower case.
      responses[status.toUpperCase()] = openApiResponse(status, schema);
    }
    const op: Record<string, unknown> = { summary: s.summary ?? '', tags: s.tags ?? [], parameters, responses, ...(s.security === undefined ? {} : { security: s.security }) };
    if (s.body !== undefined) op.requestBody = { required: true, content: { 'application/json': { schema: s.body } } };
    else if (s.rawBody !== undefined) op.requestBody = { required: true, ...s.rawBody };
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  const { description: _description, ...errorSchema } = errorBody;
  return {
    // 3.1: its schemas are JSON Schema (2020-12), so the route schemas go in as they are.
    openapi: '3.1.0',
    info: { title: 'Parley server', version: String(PROTOCOL_VERSION), description: 'See docs/protocol.md. The WebSocket is at GET /v1/ws.' },
    components: {
      securitySchemes: { session: { type: 'http', scheme: 'bearer' } },
      // Every code of the protocol; each operation lists its own, per status.
      schemas: { Error: errorSchema },
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
  /** Per route (method and URL pattern): the error codes it declares (routeErrors). */
  const declared = new Map<string, ReadonlySet<ErrorCode>>();
  app.addHook('onRoute', (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    if (r.schema !== undefined && methods.length === 1) {
      // Its success answers as the route gives them, then one error answer per status of the codes it may answer.
      const codes = routeErrors(r.schema, methods[0]!);
      const success = Object.entries(r.schema.response ?? {}).filter(([status]) => !/^[45]/.test(status));
      r.schema = { ...r.schema, response: { ...Object.fromEntries(success), ...errorResponses(codes) } };
      declared.set(`${methods[0]!} ${r.url}`, new Set(codes));
    }
    for (const m of methods) routes.push({ method: m, url: r.url, schema: r.schema });
  });
  /** An error answer whose code its route does not declare is a bug: counted and logged, still sent. */
  const checkDeclared = (req: FastifyRequest, code: ErrorCode): void => {
    const route = req.routeOptions.url;
    const codes = route === undefined ? undefined : declared.get(`${req.method} ${route}`);
    if (codes === undefined || codes.has(code)) return;
    ctx.metrics.undeclaredErrors.inc({ method: req.method, route, code });
    req.log.error({ route, code }, 'error code not declared for this route');
  };
  app.addHook('onResponse', async (req, reply) => {
    ctx.metrics.httpRequests.inc({ method: req.method, route: req.routeOptions.url ?? 'unknown', status: String(reply.statusCode) });
  });

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    if (err instanceof ApiError) {
      checkDeclared(req, err.code);
      return send(reply, err.code, err.message, err.extra);
    }
    const e = err;
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') checkDeclared(req, e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'body-too-large' : 'unsupported-media-type');
    if (e.validation !== undefined) return send(reply, 'bad-request', `invalid ${e.validationContext ?? 'input'}: ${e.validation[0]?.instancePath ?? '/'} ${e.validation[0]?.message ?? ''}`.trim());
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return send(reply, 'body-too-large', 'the body is too large');
    if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return send(reply, 'unsupported-media-type', 'unsupported content type');
    const status = e.statusCode ?? 500;
    if (status >= 400 && status < 500) return send(reply, 'bad-request', 'malformed request');
    req.log.error({ err: e }, 'unhandled error');
    return send(reply, 'internal', 'internal error');
  });
  app.setNotFoundHandler((_req, reply) => send(reply, 'not-found', 'no such route'));

  const healthz: FastifySchema = {
    summary: 'Liveness and readiness: probes the database (503 database-unavailable when it does not answer)', errors: ['database-unavailable'],
    tags: ['operations'],
    security: [],
    response: responses({ 200: answer('Up, and the database answers', obj({ status: { type: 'string', enum: ['ok'] }, version: { type: 'integer' } })) }),
  };
  app.get('/healthz', { schema: healthz }, async (req) => {
    try {
      await ctx.store.check();
    } catch (e) {
      req.log.warn({ err: e }, 'health check: database unavailable');
      throw new ApiError('database-unavailable', 'the database does not answer');
    }
    return { status: 'ok', version: PROTOCOL_VERSION };
  });
  // Admin-only: the counters reveal traffic per route and connection counts (see docs/protocol.md).
  app.get('/metrics', { schema: { summary: 'Prometheus metrics (admin session token)', errors: ['forbidden'], tags: ['operations'], response: responses({ 200: raw('The Prometheus text exposition format', ['text/plain']) }) } }, async (req, reply) => {
    await requireAdmin(ctx, req);
    return reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
  const serverInfo = obj({ version: { type: 'integer' }, registration: { type: 'string', enum: ['open', 'invite', 'domains'] }, emailVerification: { type: 'boolean' } });
  app.get('/v1/server', { schema: { summary: 'Protocol version and registration policy', tags: ['operations'], security: [], response: responses({ 200: answer('What a client checks before it registers', serverInfo) }) } }, async () => ({
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
  const openapiSchema = { summary: 'This OpenAPI document, generated from the route schemas', tags: ['operations'], security: [], response: responses({ 200: answer('An OpenAPI 3.1 document', { type: 'object', additionalProperties: true }) }) };
  app.get('/openapi.json', { schema: openapiSchema }, async () => (doc ??= openApi(routes)));
  return app;
}
