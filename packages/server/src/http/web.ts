// The web app's static files (apps/web/dist, built by Vite), served at `/` next to the
// API. Every file is read once at start into memory (the build is a few hundred KiB), so
// a request can only ever name a file that was in the build: no path from the URL ever
// reaches the file system. Hashed assets are cached for a year; index.html is revalidated
// each time so a new build is picked up. Paths that are not files and not API routes get
// index.html (the app routes on the client). Every response carries a strict
// Content-Security-Policy: scripts and styles only from this origin (no inline code),
// connections only to this origin and its WebSocket.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { raw, responses } from './schema.js';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self' ws: wss:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

interface WebFile {
  readonly body: Buffer;
  readonly gzip: Buffer | undefined;
  readonly type: string;
  readonly etag: string;
  readonly immutable: boolean;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out;
}

/** The build's files by URL path (`/index.html`, `/assets/index-abc123.js`). */
export function loadWebRoot(root: string): Map<string, WebFile> {
  const files = new Map<string, WebFile>();
  for (const path of listFiles(root)) {
    const url = '/' + relative(root, path).split(sep).join('/');
    const body = readFileSync(path);
    const type = TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
    const compressible = /^(text\/|application\/(json|manifest)|image\/svg)/.test(type) && body.length > 1024;
    files.set(url, {
      body,
      gzip: compressible ? gzipSync(body, { level: 9 }) : undefined,
      type,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      immutable: url.startsWith('/assets/'),
    });
  }
  return files;
}

/** API and operations paths keep their JSON 404 instead of the app's index.html. */
const API_PATH = /^\/(v\d+|healthz|metrics|openapi\.json)(\/|$)/;

/**
 * Serves the built web app from `root` (its index.html must exist). `notFound` answers
 * a path that is neither a file of the build nor an app route.
 */
export function webRoutes(app: FastifyInstance, root: string, notFound: (reply: FastifyReply) => FastifyReply): void {
  const files = loadWebRoot(root);
  const index = files.get('/index.html');
  if (index === undefined) throw new Error(`the web root ${root} has no index.html (run npm run build)`);

  const answer = (req: FastifyRequest, reply: FastifyReply, file: WebFile): FastifyReply => {
    void reply
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('etag', file.etag)
      .header('vary', 'accept-encoding')
      .type(file.type);
    if (req.headers['if-none-match'] === file.etag) return reply.code(304).send();
    const acceptsGzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
    if (file.gzip !== undefined && acceptsGzip) return reply.header('content-encoding', 'gzip').send(file.gzip);
    return reply.send(file.body);
  };

  const handler = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const path = decodeURIComponentSafe(req.url.split('?')[0] ?? '/');
    if (path === undefined || API_PATH.test(path)) return notFound(reply);
    const file = files.get(path === '/' ? '/index.html' : path);
    if (file !== undefined) return answer(req, reply, file);
    // A missing asset is a 404; any other path is a route of the app.
    if (path.startsWith('/assets/') || extname(path) !== '') return notFound(reply);
    return answer(req, reply, index);
  };
  const answers = { 200: raw('A file of the build (index.html for the app’s own routes)', ['text/html', 'text/javascript', 'text/css', 'application/octet-stream']), 304: { description: 'Not modified (ETag)', type: 'null' } };
  app.get('/', { schema: { summary: 'The web app', tags: ['web'], security: [], errors: ['not-found'], response: responses(answers) } }, handler);
  app.get('/*', { schema: { summary: 'The web app: its static files, and index.html for its routes', tags: ['web'], security: [], errors: ['not-found'], response: responses(answers) } }, handler);
}

function decodeURIComponentSafe(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
