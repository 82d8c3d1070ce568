// `parley serve` serving a web build at `/` (packages/server/src/http/web.ts), against a
// real server on loopback with a small fake build in a temp directory: content types,
// caching, the Content-Security-Policy, gzip, the SPA fallback, and the API's JSON 404
// that the fallback must not swallow.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '@parley/testing';

let server: TestServer;
const INDEX = '<!doctype html><title>Parley</title><script type="module" src="/assets/index-abc.js"></script>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))});`;

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'parley-web-root-'));
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'index.html'), INDEX);
  writeFileSync(join(root, 'assets', 'index-abc.js'), SCRIPT);
  writeFileSync(join(root, 'assets', 'index-abc.css'), 'body{color:#000}');
  writeFileSync(join(root, 'secret.txt'), 'only what is in the build');
  server = await startTestServer({ webRoot: root });
});

afterAll(async () => {
  await server.close();
});

const get = (path: string, headers: Record<string, string> = {}): Promise<Response> => fetch(server.url + path, { headers });

describe('the web app at /', () => {
  it('serves index.html, revalidated each time, with a strict CSP', async () => {
    const res = await get('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("connect-src 'self' ws: wss:");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toBe(INDEX);
  });

  it('serves hashed assets with their type, cached for a year, gzipped when asked', async () => {
    const js = await fetch(server.url + '/assets/index-abc.js', { headers: { 'accept-encoding': 'identity' } });
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await js.text()).toBe(SCRIPT);
    const css = await get('/assets/index-abc.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    // Node's fetch decompresses by itself; ask over plain HTTP to see the gzip bytes.
    const { request } = await import('node:http');
    const body = await new Promise<{ encoding: string | undefined; bytes: Buffer }>((resolve, reject) => {
      request(server.url + '/assets/index-abc.js', { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          resolve({ encoding: res.headers['content-encoding'], bytes: Buffer.concat(parts) });
        });
      })
        .on('error', reject)
        .end();
    });
    expect(body.encoding).toBe('gzip');
    expect(body.bytes.length).toBeLessThan(SCRIPT.length / 4);
    expect(gunzipSync(body.bytes).toString()).toBe(SCRIPT);
  });

  it('answers 304 to a matching ETag', async () => {
    const first = await get('/assets/index-abc.css');
    const etag = first.headers.get('etag') ?? '';
    expect(etag).not.toBe('');
    expect((await get('/assets/index-abc.css', { 'if-none-match': etag })).status).toBe(304);
  });

  it("gives index.html for the app's routes, a 404 for missing files", async () => {
    const route = await get('/conversations/abc');
    expect(route.status).toBe(200);
    expect(await route.text()).toBe(INDEX);
    expect((await get('/assets/missing.js')).status).toBe(404);
    expect((await get('/favicon.ico')).status).toBe(404);
    expect((await get('/%2e%2e/%2e%2e/etc/passwd')).status).not.toBe(500);
    expect(await (await get('/..%2f..%2fetc%2fpasswd')).text()).not.toContain('root:');
  });

  it('keeps the JSON 404 of unknown API paths and the API itself', async () => {
    const res = await get('/v1/no-such-route');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'not-found', message: 'no such route' } });
    expect((await get('/healthz')).status).toBe(200);
    expect(((await (await get('/v1/server')).json()) as { registration: string }).registration).toBe('open');
  });
});
