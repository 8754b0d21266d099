import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import type { NodeUpMessage, RecordingStatus } from '../../schema/wire/index.js';
import { EdgeLink } from '../control/edge-link.js';
import { JOURNAL_LIMIT, StatusJournal, type RecordingStatusMessage } from '../control/status-journal.js';
import { Log } from '../log.js';
import { freePort } from './free-port.js';

/**
 * A recording's final status is the node's only word on the recording's files: the folder is gone
 * once they are uploaded. A status written into a control socket that broke, or that only looks
 * open (the edge's host vanished; nothing answers, TCP keeps retrying for many minutes), never
 * arrives, and the edge then marks a recording failed whose files are all stored. The link redials
 * a silent edge and sends every status again until the edge confirms it, across a restart too.
 */
let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

type Received = { type: string; event?: { event: string; recordingId?: string; status?: string; statusId?: string } };

/** A stand-in for the region's registry; `silent` makes it a vanished host (no pong, no answer). */
/** `confirm`: every status; `confirmFrom: n`: from the n-th status on (the room refused the earlier ones). */
async function fakeEdge(options: { silent?: boolean; confirm?: boolean; confirmFrom?: number; port?: number } = {}) {
  const port = options.port ?? (await freePort());
  const wss = new WebSocketServer({ host: '127.0.0.1', port, autoPong: !options.silent });
  const connections: Array<{ socket: WebSocket; received: Received[] }> = [];
  let statusesSeen = 0;
  wss.on('connection', (socket) => {
    const connection = { socket, received: [] as Received[] };
    connections.push(connection);
    socket.on('message', (raw) => {
      const message = JSON.parse(raw.toString()) as Received;
      connection.received.push(message);
      if (message.event?.event !== 'recordingStatus') return;
      statusesSeen += 1;
      if (options.confirm || (options.confirmFrom !== undefined && statusesSeen > options.confirmFrom)) {
        socket.send(JSON.stringify({ type: 'recordingStatusReceived', recordingId: message.event.recordingId, status: message.event.status, statusId: message.event.statusId }));
      }
    });
  });
  cleanup.push(async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  const waitFor = async (done: () => boolean, what: string) => {
    const deadline = Date.now() + 10_000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const statusesOn = (index: number) => (connections[index]?.received ?? []).filter((m) => m.event?.event === 'recordingStatus').map((m) => `${m.event!.recordingId}:${m.event!.status}`);
  return { url: `http://127.0.0.1:${port}`, connections, waitFor, statusesOn };
}

function link(edgeUrl: string, options: { journal?: StatusJournal; resendAfterMs?: number } = {}) {
  const edgeLink = new EdgeLink({
    edgeUrl,
    region: 'lon',
    credential: 'x',
    hello: () => ({ type: 'hello' }) as unknown as NodeUpMessage,
    onMessage: () => undefined,
    log: Log.wrap(pino({ level: 'silent' })),
    minBackoffMs: 20,
    maxBackoffMs: 50,
    pingIntervalMs: 50,
    silentAfterMs: 300,
    ...options,
  });
  cleanup.push(() => edgeLink.stop());
  edgeLink.start();
  return edgeLink;
}

const status = (recordingId: string, value: RecordingStatus): RecordingStatusMessage =>
  ({ type: 'event', event: { event: 'recordingStatus', meetingId: 'AAAAAAAAAAAAAAAAAAAAAA', recordingId, status: value, files: [] } }) as RecordingStatusMessage;

describe('recording statuses reach the edge at least once', () => {
  it('a link whose edge answers nothing is dropped and redialled, and the status written into it is sent again', async () => {
    const edge = await fakeEdge({ silent: true });
    const edgeLink = link(edge.url);
    await edge.waitFor(() => edgeLink.connected, 'the first connection');
    const recordingId = crypto.randomUUID();
    edgeLink.send(status(recordingId, 'ready'));
    await edge.waitFor(() => edge.statusesOn(0).length === 1, 'the status on the first connection');

    // Nothing comes back: the node hangs up and dials again, and the status goes out again.
    await edge.waitFor(() => edge.statusesOn(1).length === 1, 'a second connection carrying the status');
    expect(edge.statusesOn(1)).toEqual([`${recordingId}:ready`]);
    expect(edge.connections[1]!.received[0]).toEqual({ type: 'hello' });
    expect(edgeLink.unconfirmed).toBe(1);
  });

  it('an edge that answers pings keeps its link, and a confirmed status is not sent again', async () => {
    const edge = await fakeEdge({ confirm: true });
    const edgeLink = link(edge.url);
    await edge.waitFor(() => edgeLink.connected, 'the connection');
    const recordingId = crypto.randomUUID();
    edgeLink.send(status(recordingId, 'ready'));
    await edge.waitFor(() => edgeLink.unconfirmed === 0, 'the confirmation');

    // Many silence windows later the same connection is up, and it carried the status once.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(edge.connections.length).toBe(1);
    expect(edge.statusesOn(0)).toEqual([`${recordingId}:ready`]);

    // A broken link's next connection brings nothing already confirmed.
    edge.connections[0]!.socket.terminate();
    await edge.waitFor(() => edge.connections.length === 2 && edge.connections[1]!.received.length > 0, 'the redial');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(edge.statusesOn(1)).toEqual([]);
  });

  it('statuses raised while the edge is away go out once it is back; a confirmation of an older status keeps the newer one', async () => {
    const port = await freePort();
    const edgeLink = link(`http://127.0.0.1:${port}`);
    const recordingId = crypto.randomUUID();
    edgeLink.send(status(recordingId, 'uploading'));
    edgeLink.send(status(recordingId, 'ready'));
    expect(edgeLink.unconfirmed).toBe(1); // the newest word per recording

    const edge = await fakeEdge({ confirm: true, port });
    await edge.waitFor(() => edgeLink.unconfirmed === 0, 'the confirmation');
    expect(edge.statusesOn(0)).toEqual([`${recordingId}:ready`]);

    const journal = new StatusJournal();
    journal.add(status(recordingId, 'uploading'));
    journal.add(status(recordingId, 'ready'));
    journal.confirm(recordingId, 'uploading');
    expect(journal.pending().map((m) => m.event.status)).toEqual(['ready']);
    journal.confirm(recordingId, 'ready');
    expect(journal.size).toBe(0);
  });

  it('a restarted node sends what the edge never confirmed (the journal is on disk)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'edgemeet-journal-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'unconfirmed.json');
    const unconfirmed = crypto.randomUUID();
    const confirmed = crypto.randomUUID();

    // Before the restart: the edge confirmed one recording's status and not the other's.
    const before = new StatusJournal(file);
    before.add(status(unconfirmed, 'ready'));
    before.add(status(confirmed, 'failed'));
    before.confirm(confirmed, 'failed');

    const edge = await fakeEdge({ confirm: true });
    const edgeLink = link(edge.url, { journal: new StatusJournal(file) });
    await edge.waitFor(() => edge.statusesOn(0).length === 1, 'the resent status');
    expect(edge.statusesOn(0)).toEqual([`${unconfirmed}:ready`]);
    await edge.waitFor(() => edgeLink.unconfirmed === 0, 'its confirmation');
    expect(new StatusJournal(file).size).toBe(0);
  });

  it('a status the edge did not take (its room call failed, no confirmation) is sent again on the same healthy link', async () => {
    const edge = await fakeEdge({ confirmFrom: 1 });
    const edgeLink = link(edge.url, { resendAfterMs: 200 });
    await edge.waitFor(() => edgeLink.connected, 'the connection');
    const recordingId = crypto.randomUUID();
    edgeLink.send(status(recordingId, 'ready'));
    await edge.waitFor(() => edgeLink.unconfirmed === 0, 'the second send confirmed');
    expect({ connections: edge.connections.length, sent: edge.statusesOn(0) }).toEqual({ connections: 1, sent: [`${recordingId}:ready`, `${recordingId}:ready`] });
  });

  it('a confirmation of an earlier message with the same status keeps the newer one still on its way', () => {
    // finish.ts says 'uploading' when the upload starts, and 'uploading' again with the files and the
    // error when it failed (to be retried): the second carries what the edge needs.
    const journal = new StatusJournal();
    const recordingId = crypto.randomUUID();
    const first = journal.add(status(recordingId, 'uploading'));
    const withFiles = journal.add({ ...status(recordingId, 'uploading'), event: { ...status(recordingId, 'uploading').event, error: { code: 'INTERNAL', message: 'upload failed; retrying' } } } as RecordingStatusMessage);
    expect(first.event.statusId).not.toBe(withFiles.event.statusId);
    journal.confirm(recordingId, 'uploading', first.event.statusId); // the first one's answer, late
    expect(journal.pending()).toEqual([withFiles]);
    journal.confirm(recordingId, 'uploading', withFiles.event.statusId);
    expect(journal.size).toBe(0);
  });

  it('a journal that cannot be written (a full disk) still sends, and says so; a long one keeps the newest words within its limit', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'edgemeet-journal-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(path.join(dir, 'not-a-folder'), 'x'); // every save fails, as on a full disk
    const saveErrors: unknown[] = [];
    const unwritable = new StatusJournal(path.join(dir, 'not-a-folder', 'unconfirmed.json'), (error) => saveErrors.push(error));
    const edge = await fakeEdge({ confirm: true });
    const edgeLink = link(edge.url, { journal: unwritable });
    await edge.waitFor(() => edgeLink.connected, 'the connection');
    const recordingId = crypto.randomUUID();
    edgeLink.send(status(recordingId, 'failed'));
    await edge.waitFor(() => edgeLink.unconfirmed === 0, 'the confirmation');
    expect(edge.statusesOn(0)).toEqual([`${recordingId}:failed`]);
    expect(saveErrors.length).toBeGreaterThan(0);

    // An edge that never confirms: the oldest words go past the limit, and the file stays readable.
    const file = path.join(dir, 'long.json');
    const long = new StatusJournal(file);
    const ids = Array.from({ length: JOURNAL_LIMIT + 5 }, () => crypto.randomUUID());
    for (const id of ids) long.add(status(id, 'ready'));
    expect(long.size).toBe(JOURNAL_LIMIT);
    const reread = new StatusJournal(file);
    expect(reread.pending().map((m) => m.event.recordingId)).toEqual(ids.slice(5));
  });
});
