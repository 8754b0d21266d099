import { IncomingMessage, type Server } from 'node:http';
import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { createHttpServer, metricsRefusal } from '../http-server.js';
import { Metrics } from '../metrics.js';
import { startTestNode, type TestNode } from './harness.js';

/*
 * Issue 13 point 16: the node's /metrics needs a credential or stays private. Without
 * METRICS_TOKEN it answers this host only (loopback, not relayed by a proxy); with it, only a
 * request carrying `Authorization: Bearer <token>`.
 */

const TOKEN = 'metrics-token-0123456789abcdef';

describe('node /metrics without a token: this host only', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('serves a loopback scrape, refuses one relayed by a proxy (FORBIDDEN); /health stays open', async () => {
    const base = `http://127.0.0.1:${node.node.port}`;
    const local = await fetch(`${base}/metrics`);
    expect(local.status).toBe(200);
    expect(await local.text()).toMatch(/edgemeet_media_rooms/);

    const relayHeaders: Record<string, string>[] = [{ 'X-Forwarded-For': '198.51.100.4' }, { Forwarded: 'for=198.51.100.4' }, { 'X-Real-IP': '198.51.100.4' }];
    for (const header of relayHeaders) {
      const relayed = await fetch(`${base}/metrics`, { headers: header });
      expect(relayed.status).toBe(403);
      const body = await relayed.text();
      expect(JSON.parse(body)).toMatchObject({ error: { code: 'FORBIDDEN' } });
      expect(body).not.toMatch(/edgemeet_media/);
    }
    expect((await fetch(`${base}/health`, { headers: { 'X-Forwarded-For': '198.51.100.4' } })).status).toBe(200);
  });

  it('refuses a client on another host', () => {
    const socket = new Socket();
    Object.defineProperty(socket, 'remoteAddress', { value: '203.0.113.7' });
    expect(metricsRefusal(new IncomingMessage(socket), undefined)).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    const local = new Socket();
    Object.defineProperty(local, 'remoteAddress', { value: '::ffff:127.0.0.1' });
    expect(metricsRefusal(new IncomingMessage(local), undefined)).toBeNull();
  });
});

describe('node /metrics with METRICS_TOKEN', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createHttpServer({
      metrics: new Metrics(),
      refreshMetrics: () => undefined,
      signaling: { handleUpgrade: () => undefined },
      healthy: () => ({ ok: true, state: 'serving', workersAlive: 1 }),
      metricsToken: loadConfig({ MEDIA_TOKEN_PUBLIC_JWK: '{}', METRICS_TOKEN: TOKEN }).metricsToken,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  it('answers only the bearer of the token, loopback included (UNAUTHENTICATED otherwise)', async () => {
    const refusedHeaders: Record<string, string>[] = [{}, { Authorization: 'Bearer wrong-token-0123456789abcdef' }, { Authorization: TOKEN }];
    for (const headers of refusedHeaders) {
      const refused = await fetch(`${base}/metrics`, { headers });
      expect(refused.status).toBe(401);
      const body = await refused.text();
      expect(JSON.parse(body)).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
      expect(body).not.toMatch(/edgemeet_media/);
    }
    const scraped = await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toMatch(/edgemeet_media_rooms/);
  });

  it('a token too short to be a secret is a configuration error', () => {
    expect(() => loadConfig({ MEDIA_TOKEN_PUBLIC_JWK: '{}', METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
  });
});
