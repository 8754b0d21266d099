import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ErrorCode } from '../schema/wire/index.js';
import type { Metrics } from './metrics.js';
import type { SignalingServer } from './signaling/server.js';

export interface HttpDeps {
  metrics: Metrics;
  /** Brings gauges up to date before a scrape. */
  refreshMetrics: () => void;
  signaling: Pick<SignalingServer, 'handleUpgrade'>;
  /** true → 200 (serving, all workers alive); false → 503. */
  healthy: () => { ok: boolean; state: string; workersAlive: number };
  /** METRICS_TOKEN (config.metricsToken): /metrics needs `Authorization: Bearer <it>`. Unset: this host only. */
  metricsToken?: string | undefined;
}

type MetricsRefusal = { status: 401 | 403; code: ErrorCode; message: string };

/** Headers a reverse proxy adds: a request carrying one came from elsewhere, whatever its socket says. */
const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip'];

function isLoopback(address: string | undefined): boolean {
  return address !== undefined && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));
}

function sameSecret(presented: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/**
 * Who may read /metrics (issue 13, point 16): with a token configured, whoever presents it (from
 * anywhere, loopback included); without one, only this host — a loopback client not relayed by a
 * proxy. Null: allowed.
 */
export function metricsRefusal(request: IncomingMessage, token: string | undefined): MetricsRefusal | null {
  if (token !== undefined) {
    const presented = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (presented !== undefined && sameSecret(presented, token)) return null;
    return { status: 401, code: 'UNAUTHENTICATED', message: 'metrics need Authorization: Bearer <METRICS_TOKEN>' };
  }
  const relayed = PROXY_HEADERS.some((name) => request.headers[name] !== undefined);
  if (isLoopback(request.socket.remoteAddress) && !relayed) return null;
  return { status: 403, code: 'FORBIDDEN', message: 'metrics are served to this host only; set METRICS_TOKEN to scrape from elsewhere' };
}

function sendError(response: ServerResponse, status: number, code: ErrorCode, message: string): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ error: { code, message } }));
}

/** /health for supervisors, /metrics for Prometheus (behind metricsRefusal), /ws upgraded to browser signaling. */
export function createHttpServer(deps: HttpDeps): Server {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://node.invalid').pathname;
    if (request.method === 'GET' && path === '/health') {
      const health = deps.healthy();
      response.writeHead(health.ok ? 200 : 503, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ state: health.state, workersAlive: health.workersAlive }));
      return;
    }
    if (request.method === 'GET' && path === '/metrics') {
      const refusal = metricsRefusal(request, deps.metricsToken);
      if (refusal) return sendError(response, refusal.status, refusal.code, refusal.message);
      deps.refreshMetrics();
      deps.metrics.registry.metrics().then(
        (text) => {
          response.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
          response.end(text);
        },
        () => {
          response.writeHead(500).end();
        },
      );
      return;
    }
    sendError(response, 404, 'NOT_FOUND', 'not found');
  });
  server.on('upgrade', (request, socket, head) => {
    const path = new URL(request.url ?? '/', 'http://node.invalid').pathname;
    if (path !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    deps.signaling.handleUpgrade(request, socket, head);
  });
  return server;
}
