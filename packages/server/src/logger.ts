// Structured logs (pino). They never carry passwords, tokens, keys or message bytes:
// request bodies are not logged at all, the Authorization header and any field with a
// secret-looking name is redacted, and capability URLs (attachment ids) are masked.

import pino, { type DestinationStream, type Logger } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["sec-websocket-protocol"]',
  'password',
  'token',
  'invite',
  'code',
  '*.password',
  '*.token',
  '*.invite',
  '*.code',
  '*.identityKey',
  '*.keyPackage',
  '*.payload',
  '*.data',
];

function maskUrl(url: string): string {
  return url.replace(/\/attachments\/[^/?]+/, '/attachments/<id>').replace(/\?.*$/, '?…');
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: {
        req: (req: { method?: string; url?: string; ip?: string }) => ({ method: req.method, url: maskUrl(req.url ?? ''), remoteAddress: req.ip }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
        // Errors keep their type and code; their stack only at debug level, never sent to clients.
        err: pino.stdSerializers.err,
      },
    },
    destination,
  );
}
