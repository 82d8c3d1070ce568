// Prometheus metrics (prom-client), one registry per server so tests can run several.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({ name: 'parley_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'] as const, registers: [this.registry] });
  readonly messagesStored = new Counter({ name: 'parley_messages_stored_total', help: 'Application messages made durable', registers: [this.registry] });
  readonly deliveries = new Counter({ name: 'parley_deliveries_total', help: 'Messages pushed to devices', registers: [this.registry] });
  readonly commits = new Counter({ name: 'parley_commits_total', help: 'Commits by result', labelNames: ['result'] as const, registers: [this.registry] });
  readonly wsConnections = new Gauge({ name: 'parley_ws_connections', help: 'Authenticated WebSocket connections', registers: [this.registry] });
  readonly wsSlowDisconnects = new Counter({ name: 'parley_ws_slow_disconnects_total', help: 'Connections closed for backpressure', registers: [this.registry] });
  readonly storeBatch = new Histogram({ name: 'parley_store_batch_size', help: 'Messages per durable write', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers: [this.registry] });
  /** Error answers with a code the route does not declare (http/schema.ts routeErrors): a bug, each one. */
  readonly undeclaredErrors = new Counter({ name: 'parley_http_undeclared_errors_total', help: 'Error answers with a code the route does not declare (a bug)', labelNames: ['method', 'route', 'code'] as const, registers: [this.registry] });
  readonly wsUndeclaredErrors = new Counter({ name: 'parley_ws_undeclared_errors_total', help: 'WebSocket error frames with a code their frame type does not declare (a bug)', labelNames: ['frame', 'code'] as const, registers: [this.registry] });
  readonly pruned = new Counter({ name: 'parley_messages_pruned_total', help: 'Messages deleted (acknowledged or expired)', registers: [this.registry] });

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry });
  }
}
