/**
 * WebSocket ↔ TCP relay so the Neon serverless driver (inside workerd) can reach a plain local
 * Postgres — what Neon's own wsproxy does in production. The driver connects to
 *   ws://127.0.0.1:<port>/v1?address=<host>:<port>
 * and sends raw Postgres protocol bytes in binary frames.
 *
 * - Only `allowedTargets` (host:port) are reachable: this is not an open proxy.
 * - The driver never closes its WebSocket after Terminate ('X'); we parse the client→server
 *   message framing and half-close the TCP side on 'X', so Postgres ends the backend instead of
 *   leaking connections.
 *
 * Standalone: PG_RELAY_PORT=0 PG_RELAY_TARGETS=127.0.0.1:5432 node --import tsx scripts/pg-relay.ts
 * (prints `PG_RELAY_PORT=<port>` on stdout).
 */
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { z } from 'zod';
import { ClientFraming } from './pg-relay-framing.js';

export interface PgRelayOptions {
  /** 0 = any free port. */
  port: number;
  host?: string;
  /** `host:port` pairs the relay may connect to. */
  allowedTargets: string[];
}

export interface PgRelay {
  port: number;
  /** Allow one more target (e.g. a cluster started later by a test). */
  allow(target: string): void;
  /** Open client connections (for tests and leak checks). */
  openConnections(): number;
  close(): Promise<void>;
}

export async function startPgRelay(options: PgRelayOptions): Promise<PgRelay> {
  const allowed = new Set(options.allowedTargets.map(normaliseTarget));
  const sockets = new Set<net.Socket>();
  const wss = new WebSocketServer({ host: options.host ?? '127.0.0.1', port: options.port });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });

  wss.on('connection', (ws, request) => {
    const target = targetOf(request.url ?? '');
    if (!target || !allowed.has(target)) {
      ws.close(1008, 'target not allowed');
      return;
    }
    const [host, port] = splitTarget(target);
    const tcp = net.connect({ host, port });
    sockets.add(tcp);
    relay(ws, tcp);
    tcp.once('close', () => sockets.delete(tcp));
  });

  const address = wss.address();
  if (!address || typeof address === 'string') throw new Error('pg-relay: unexpected pipe address');
  return {
    port: address.port,
    allow: (target) => allowed.add(normaliseTarget(target)),
    openConnections: () => sockets.size,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

function relay(ws: WebSocket, tcp: net.Socket): void {
  const framing = new ClientFraming();
  const pending: Buffer[] = [];
  let connected = false;

  ws.on('message', (data: RawData) => {
    const chunk = toBuffer(data);
    const sawTerminate = framing.push(chunk);
    if (connected) tcp.write(chunk);
    else pending.push(chunk);
    if (sawTerminate) {
      // Half-close: Postgres sees EOF after Terminate and ends the backend.
      if (connected) tcp.end();
      else tcp.once('connect', () => tcp.end());
    }
  });
  tcp.once('connect', () => {
    connected = true;
    for (const chunk of pending.splice(0)) tcp.write(chunk);
  });
  tcp.on('data', (chunk) => {
    if (ws.readyState === ws.OPEN) ws.send(chunk);
  });
  tcp.on('error', () => ws.close(1011, 'upstream error'));
  tcp.once('close', () => {
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000);
  });
  ws.on('close', () => tcp.end());
  ws.on('error', () => tcp.destroy());
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function targetOf(url: string): string | null {
  const address = new URL(url, 'http://relay').searchParams.get('address');
  return address ? normaliseTarget(address) : null;
}

function normaliseTarget(target: string): string {
  const [host, port] = splitTarget(target);
  return `${host === 'localhost' ? '127.0.0.1' : host}:${port}`;
}

function splitTarget(target: string): [string, number] {
  const index = target.lastIndexOf(':');
  const host = index > 0 ? target.slice(0, index) : target;
  const port = index > 0 ? Number(target.slice(index + 1)) : 5432;
  return [host, Number.isInteger(port) && port > 0 ? port : 5432];
}

const standaloneConfigSchema = z.object({
  PG_RELAY_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  PG_RELAY_TARGETS: z.string().min(1, 'PG_RELAY_TARGETS lists host:port targets, comma-separated'),
});

async function main(): Promise<void> {
  const config = standaloneConfigSchema.parse(process.env);
  const relay = await startPgRelay({ port: config.PG_RELAY_PORT, allowedTargets: config.PG_RELAY_TARGETS.split(',') });
  console.log(`PG_RELAY_PORT=${relay.port}`);
  const stop = () => void relay.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
