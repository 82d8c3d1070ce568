// JSON-schema building blocks for the routes (requests and responses), and the base64
// helpers for byte fields. Response schemas also serialize (fast-json-stringify): a field
// a schema does not name is never sent.

import { DEVICE_ID_PATTERN, ERROR_CODES, ERROR_STATUS, GROUP_ID_PATTERN, MESSAGE_ID_PATTERN, USERNAME_PATTERN, type ErrorCode } from '@parley/protocol';
import type { FastifySchema } from 'fastify';
import { ApiError } from '../errors.js';

export const b64 = (maxBytes: number, minBytes = 1): Record<string, unknown> => ({
  type: 'string',
  pattern: '^[A-Za-z0-9+/]*={0,2}$',
  minLength: Math.ceil(minBytes / 3) * 4,
  maxLength: Math.ceil(maxBytes / 3) * 4,
  contentEncoding: 'base64',
});

export const username = { type: 'string', pattern: USERNAME_PATTERN } as const;
export const deviceId = { type: 'string', pattern: DEVICE_ID_PATTERN } as const;
export const groupId = { type: 'string', pattern: GROUP_ID_PATTERN } as const;
export const messageId = { type: 'string', pattern: MESSAGE_ID_PATTERN } as const;
export const seq = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
export const seqQuery = { type: 'string', pattern: '^[0-9]{1,15}$' } as const;

export function obj(properties: Record<string, unknown>, required: readonly string[] = Object.keys(properties)): Record<string, unknown> {
  return { type: 'object', additionalProperties: false, properties, required };
}

/** A JSON response body, with the line the OpenAPI document shows for it. */
export function answer(description: string, schema: Record<string, unknown>): Record<string, unknown> {
  return { description, ...schema };
}

/** The ErrorBody of packages/protocol/src/errors.ts, restricted to `codes` (all of them by default). */
export function errorSchema(codes: readonly ErrorCode[] = ERROR_CODES): Record<string, unknown> {
  const error: Record<string, unknown> = { code: { type: 'string', enum: [...codes] }, message: { type: 'string' } };
  if (codes.includes('stale-epoch')) error.currentEpoch = seq;
  if (codes.includes('rate-limited') || codes.includes('too-many-connections')) error.retryAfter = { type: 'integer', minimum: 1 };
  return obj({ error: obj(error, ['code', 'message']) }, ['error']);
}

/** Every failure, with its stable code: the document's Error schema. */
export const errorBody = answer('An error: a stable code (docs/protocol.md "Errors"), a message safe to show, never a stack trace', errorSchema());

/**
 * The codes any route may answer: input that does not parse or match its schema
 * (`bad-request`), and a bug (`internal`).
 */
export const COMMON_ERRORS: readonly ErrorCode[] = ['bad-request', 'internal'];

/** The methods whose requests Fastify reads a body of. */
const BODY_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The error codes a route may answer, the one source the OpenAPI document and the error
 * handler's check read: the route's own (`schema.errors`) and those its shape implies. A
 * route of a method that carries a body (with or without a body schema: Fastify reads a body
 * sent anyway) may get one too large or of another media type; one that needs a session
 * may be called without a valid one (`unauthenticated`). (A path parameter too long to
 * route is `bad-request`, like any malformed request.) In ERROR_CODES order.
 */
export function routeErrors(schema: FastifySchema, method: string): ErrorCode[] {
  const codes = new Set<ErrorCode>([...COMMON_ERRORS, ...(schema.errors ?? [])]);
  if (schema.body !== undefined || schema.rawBody !== undefined || BODY_METHODS.has(method)) for (const c of ['body-too-large', 'unsupported-media-type'] as const) codes.add(c);
  if (schema.security === undefined || schema.security.length > 0) codes.add('unauthenticated');
  return ERROR_CODES.filter((c) => codes.has(c));
}

/** The route's error answers, one per HTTP status: each lists the codes of that status the route may answer. */
export function errorResponses(codes: readonly ErrorCode[]): Record<string, Record<string, unknown>> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const c of codes) {
    const list = byStatus.get(ERROR_STATUS[c]) ?? [];
    list.push(c);
    byStatus.set(ERROR_STATUS[c], list);
  }
  return Object.fromEntries([...byStatus].sort(([a], [b]) => a - b).map(([status, list]) => [String(status), answer(`Error: ${list.map((c) => `\`${c}\``).join(', ')}`, errorSchema(list))]));
}

/** An answer without a body (204). */
export const noContent = { description: 'Done; no body', type: 'null' } as const;

/** A non-JSON body: `schema` per media type (Fastify serializes none of them). */
export function raw(description: string, mediaTypes: readonly string[], schema: Record<string, unknown> = { type: 'string' }): Record<string, unknown> {
  return { description, content: Object.fromEntries(mediaTypes.map((m) => [m, { schema }])) };
}

/** A route's success responses; its error responses are added from routeErrors when it is registered (buildApp). */
export function responses(success: Record<number, Record<string, unknown>>): Record<string, Record<string, unknown>> {
  return { ...success };
}

/** Decodes a schema-checked base64 field; rejects non-canonical padding. */
export function fromB64(s: string, field: string): Uint8Array {
  if (s.length % 4 !== 0) throw new ApiError('bad-request', `${field} is not valid base64`);
  const b = Buffer.from(s, 'base64');
  if (b.toString('base64') !== s) throw new ApiError('bad-request', `${field} is not canonical base64`);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export const toB64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

export function messageIdFrom(s: string): Uint8Array {
  const b = Buffer.from(s, 'base64url');
  if (b.length !== 16 || b.toString('base64url') !== s) throw new ApiError('bad-request', 'messageId must be 16 bytes, base64url');
  return new Uint8Array(b);
}

declare module 'fastify' {
  interface FastifySchema {
    /**
     * The error codes the route's handler may answer, besides those routeErrors adds for
     * every route of its shape. The OpenAPI document lists them per status; an answer with
     * another code is a bug (counted in parley_http_undeclared_errors_total).
     */
    errors?: readonly ErrorCode[];
    /** One line for the OpenAPI document. */
    summary?: string;
    tags?: string[];
    /**
     * A request body Fastify does not parse as JSON (a stream): its media types and schema,
     * for the OpenAPI document only. A route with neither this nor `body` takes no body.
     */
    rawBody?: Record<string, unknown>;
    /** OpenAPI security requirements; `[]` for the routes that need no session. */
    security?: Record<string, string[]>[];
  }
}
