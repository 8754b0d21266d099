import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { startChatFloor } from '../bench/chat-floor.js';
import { openChatSockets } from '../bench/chat-run.js';
import { wranglerCompat } from '../miniflare-edge.js';

/** A room stand-in that fans each chat.send out to every socket after a known delay. */
function delayedRoom(delayMs: number): Promise<{ url: string; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  const sockets = new Set<WebSocket>();
  let received = 0;
  wss.on('connection', (ws) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.send('{"type":"welcome"}');
    ws.on('message', (raw) => {
      const { text } = JSON.parse(raw.toString()) as { text: string };
      if (++received % 5 === 0) return void ws.send('{"type":"error","code":"RATE_LIMITED"}');
      setTimeout(() => {
        for (const socket of sockets) socket.send(JSON.stringify({ type: 'chat.message', message: { text } }));
      }, delayMs);
    });
  });
  return new Promise((resolve) =>
    wss.on('listening', () => resolve({ url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, close: () => new Promise((done) => wss.close(() => done())) })),
  );
}

describe('bench:chat harness', () => {
  let room: Awaited<ReturnType<typeof delayedRoom>>;
  beforeAll(async () => {
    room = await delayedRoom(60);
  });
  afterAll(() => room?.close());

  it('reports an injected 60 ms fan-out delay, every delivery and the refusals', async () => {
    const sockets = await openChatSockets(Array.from({ length: 8 }, () => ({ url: room.url })), { compression: false });
    try {
      const outcome = await sockets.run({ messagesPerSec: 40, seconds: 1 });
      expect(outcome.sent).toBe(40);
      // Every fifth message is refused; each other one reaches all 8 sockets.
      expect(outcome.errors).toBe(8);
      expect(outcome.deliveries).toBe((outcome.sent - outcome.errors) * 8);
      expect(outcome.p50Ms).toBeGreaterThanOrEqual(60);
      expect(outcome.p99Ms).toBeGreaterThanOrEqual(outcome.p50Ms);
    } finally {
      await sockets.close();
    }
  });

  it('fans out through the floor Durable Object (Miniflare) to every socket, compressed', async () => {
    const floor = await startChatFloor();
    const sockets = await openChatSockets(Array.from({ length: 5 }, () => ({ url: floor.url })), { compression: true });
    try {
      const outcome = await sockets.run({ messagesPerSec: 10, seconds: 1 });
      expect(outcome.deliveries).toBe(outcome.sent * 5);
      expect(outcome.errors).toBe(0);
    } finally {
      await sockets.close();
      await floor.close();
    }
  });

  it("runs Miniflare with the Worker's own compatibility date and flags (wrangler.toml)", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'edgemeet-compat-'));
    try {
      const file = path.join(dir, 'wrangler.toml');
      await writeFile(file, 'name = "x"\ncompatibility_date = "2026-01-02"\n# a comment\ncompatibility_flags = ["nodejs_compat", "no_web_socket_compression"]\n');
      expect(wranglerCompat(file)).toEqual({ compatibilityDate: '2026-01-02', compatibilityFlags: ['nodejs_compat', 'no_web_socket_compression'] });
      // The real file: whatever it says is what the bench runs with.
      expect(wranglerCompat().compatibilityFlags).toContain('nodejs_compat');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
