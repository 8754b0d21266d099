import { createServer, type Server } from 'node:http';
import type { Metrics } from './metrics.js';
import type { SignalingServer } from './signaling/server.js';

export interface HttpDeps {
  metrics: Metrics;
  /** Brings gauges up to date before a scrape. */
  refreshMetrics: () => void;
  signaling: SignalingServer;
  /** true → 200 (serving, all workers alive); false → 503. */
  healthy: () => { ok: boolean; state: string; workersAlive: number };
}

/** /health for supervisors, /metrics for Prometheus, /ws upgraded to browser signaling. */
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
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'not found' } }));
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
