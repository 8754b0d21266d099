import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { NodeUpMessage } from '../../schema/wire/index.js';
import { EdgeLink } from '../control/edge-link.js';
import { Log } from '../log.js';
import { freePort } from './free-port.js';

/**
 * A recording's final status ('ready' with its file list) is the only thing that tells the edge
 * (and so Postgres) which files the recording has; by the time it is sent the node has deleted the
 * recording folder. Events raised while the edge is unreachable wait in a bounded outbox, and a busy
 * node (mute toggles, joins, producers of hundreds of rooms) cut off for a while fills it.
 */
let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

describe('node → edge events raised while the control link is down', () => {
  it("a full outbox drops the oldest ordinary event, never a recording's status", async () => {
    const port = await freePort();
    const link = new EdgeLink({
      edgeUrl: `http://127.0.0.1:${port}`,
      region: 'lon',
      credential: 'x',
      hello: () => ({ type: 'hello' }) as unknown as NodeUpMessage,
      onMessage: () => undefined,
      log: Log.wrap(pino({ level: 'silent' })),
      minBackoffMs: 50,
      maxBackoffMs: 200,
    });
    cleanup.push(() => link.stop());
    link.start(); // nothing listens yet: the edge is unreachable

    const recordingId = crypto.randomUUID();
    link.send({ type: 'event', event: { event: 'recordingStatus', meetingId: 'AAAAAAAAAAAAAAAAAAAAAA', recordingId, status: 'ready', durationMs: 60_000, files: [] } } as NodeUpMessage);
    // Meanwhile the node's other rooms go on: 1,000 ordinary events (about 2 per room of a 500-room node).
    for (let i = 0; i < 1_000; i++) {
      link.send({ type: 'event', event: { event: 'producerPaused', meetingId: 'BBBBBBBBBBBBBBBBBBBBBB', producerId: crypto.randomUUID(), paused: i % 2 === 0 } } as NodeUpMessage);
    }

    // The edge is back.
    const received: Array<{ type: string; event?: { event: string; recordingId?: string } }> = [];
    const wss = new WebSocketServer({ host: '127.0.0.1', port });
    cleanup.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    wss.on('connection', (socket) => socket.on('message', (raw) => received.push(JSON.parse(raw.toString()))));
    const deadline = Date.now() + 10_000;
    while (received.length < 1_002 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    for (const client of wss.clients) client.terminate();

    const statuses = received.filter((m) => m.type === 'event' && m.event?.event === 'recordingStatus');
    // The hello, the unconfirmed recording status, then the outbox: as many events as it holds.
    const ordinary = received.filter((m) => m.type === 'event' && m.event?.event !== 'recordingStatus');
    expect({ ordinary: ordinary.length, recordingStatuses: statuses.length }).toEqual({ ordinary: 1_000, recordingStatuses: 1 });
    expect(statuses[0]?.event?.recordingId).toBe(recordingId);
  });
});
