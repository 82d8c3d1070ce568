// util/secret.ts: a Secret never shows its bytes — not through String(), template
// literals, JSON.stringify, util.inspect (console.log's formatter), nor when nested
// inside another object or an error; destroy() zeroes it and later use is an error.
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { toHex } from '../src/util/bytes.js';
import { Secret } from '../src/util/secret.js';

// A recognisable pattern in every representation we check: hex, decimal bytes, base64.
const BYTES = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + (i % 16));
const hex = toHex(BYTES);
const base64 = Buffer.from(BYTES).toString('base64');
const decimal = Array.from(BYTES.subarray(0, 4)).join(',');

function expectNoKeyBytes(text: string): void {
  expect(text).not.toContain(hex.slice(0, 8));
  expect(text).not.toContain(base64.slice(0, 8));
  expect(text.replace(/\s/g, '')).not.toContain(decimal);
  expect(text).not.toMatch(/160,\s*161/);
}

describe('Secret', () => {
  const secret = () => new Secret<'epoch_secret'>(BYTES.slice());

  it('keeps its bytes available to the engine', () => {
    expect(toHex(secret().bytes)).toBe(hex);
  });

  it('String() and template literals show a placeholder', () => {
    const s = secret();
    expect(String(s)).toBe('[secret]');
    expectNoKeyBytes(String(s));
    expectNoKeyBytes(['epoch secret', s].join(': '));
  });

  it('JSON.stringify shows a placeholder, also when nested', () => {
    const s = secret();
    expect(JSON.stringify(s)).toBe('"[secret]"');
    const nested = JSON.stringify({ epoch: 3, secrets: [s], inner: { s } });
    expectNoKeyBytes(nested);
    expect(nested).toContain('[secret]');
  });

  it('util.inspect shows a placeholder at any depth and with showHidden', () => {
    const s = secret();
    expect(inspect(s)).toBe('[secret]');
    expectNoKeyBytes(inspect(s, { showHidden: true, depth: Infinity }));
    expectNoKeyBytes(inspect({ group: { epoch: 1, key: s }, list: [s] }, { depth: Infinity }));
    expectNoKeyBytes(inspect(new Map([['k', s]])));
  });

  it('an error that carries a secret in its cause does not print it', () => {
    const error = new Error('could not derive', { cause: secret() });
    expectNoKeyBytes(inspect(error));
    expectNoKeyBytes(String(error));
  });

  it('the bytes themselves do print, so the checks above can fail', () => {
    // Guards the test helpers: a raw Uint8Array is what a leak would look like.
    expect(() => {
      expectNoKeyBytes(inspect({ key: BYTES }));
    }).toThrow();
    expect(() => {
      expectNoKeyBytes(JSON.stringify({ key: Array.from(BYTES) }));
    }).toThrow();
    expect(() => {
      expectNoKeyBytes(toHex(BYTES));
    }).toThrow();
  });

  it('destroy() zeroes the buffer and makes later use a UsageError', () => {
    const buffer = BYTES.slice();
    const s = new Secret(buffer);
    s.destroy();
    expect(s.destroyed).toBe(true);
    expect(buffer.every((b) => b === 0)).toBe(true);
    expect(() => s.bytes).toThrow(UsageError);
    expect(() => s.bytes).toThrow(expect.objectContaining({ code: 'secret-destroyed' }));
    expect(String(s)).toBe('[secret]');
  });
});
