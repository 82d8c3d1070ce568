// JSON-schema building blocks for the routes (requests and responses), and the base64
// helpers for byte fields. Response schemas also serialize (fast-json-stringify): a field
// a schema does not name is never sent.

import { DEVICE_ID_PATTERN, ERROR_CODES, GROUP_ID_PATTERN, MESSAGE_ID_PATTERN, USERNAME_PATTERN } from '@parley/protocol';
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

/** The ErrorBody of packages/protocol/src/errors.ts: every failure, with its stable code. */
export const errorBody = answer(
  'An error: a stable code (docs/protocol.md "Errors"), a message safe to show, never a stack trace',
  obj(
    {
      error: obj(
        {
          code: { type: 'string', enum: [...ERROR_CODES] },
          message: { type: 'string' },
          currentEpoch: seq,
          retryAfter: { type: 'integer', minimum: 1 },
        },
        ['code', 'message'],
      ),
    },
    ['error'],
  ),
);

/** An answer without a body (204). */
export const noContent = { description: 'Done; no body', type: 'null' } as const;

/** A non-JSON body: `schema` per media type (Fastify serializes none of them). */
export function raw(description: string, mediaTypes: readonly string[], schema: Record<string, unknown> = { type: 'string' }): Record<string, unknown> {
  return { description, content: Object.fromEntries(mediaTypes.map((m) => [m, { schema }])) };
}

/** A route's responses: its successes, and the error body for every 4xx and 5xx. */
export function responses(success: Record<number, Record<string, unknown>>): Record<string, Record<string, unknown>> {
  return { ...success, '4xx': errorBody, '5xx': errorBody };
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
