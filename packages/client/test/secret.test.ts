// Private keys never print: not through String(), JSON or util.inspect.
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { generateIdentityKey } from '../src/identity/identity.js';
import { nodeClientCrypto as crypto } from '../src/node/crypto.js';
import { SecretBytes } from '../src/util/secret.js';

describe('SecretBytes', () => {
  it('shows a placeholder wherever it is printed', async () => {
    const id = await generateIdentityKey(crypto);
    const hex = Buffer.from(id.privateKey.bytes).toString('hex');
    const b64 = Buffer.from(id.privateKey.bytes).toString('base64');
    const outputs = [String(id.privateKey), id.privateKey.toString(), JSON.stringify(id), inspect(id, { depth: 5 }), inspect(id.privateKey)];
    for (const out of outputs) {
      expect(out).toContain('[secret]');
      expect(out).not.toContain(hex);
      expect(out).not.toContain(b64);
      expect(out).not.toMatch(/\b\d{1,3}(, \d{1,3}){31}\b/); // no byte list either
    }
  });

  it('can be destroyed, after which use is an error', () => {
    const raw = new Uint8Array([1, 2, 3]);
    const s = new SecretBytes(raw);
    s.destroy();
    expect(raw).toEqual(new Uint8Array(3));
    expect(s.destroyed).toBe(true);
    expect(() => s.bytes).toThrow(/destroyed/);
  });
});
