// JSON-schema building blocks for the routes, and the base64 helpers for byte fields.

import { DEVICE_ID_PATTERN, GROUP_ID_PATTERN, MESSAGE_ID_PATTERN, USERNAME_PATTERN } from '@parley/protocol';
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
  }
}
