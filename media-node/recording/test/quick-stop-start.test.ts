import * as mediasoup from 'mediasoup';
import type { Router, Worker } from 'mediasoup/types';
import { readdir, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeEvent } from '../../../schema/wire/index.js';
import { ROUTER_MEDIA_CODECS } from '../../workers/media-codecs.js';
import { recordingControllerFactory, type NodeRecordingController, type RecordingControllerOptions } from '../controller.js';
import { FakeRoom } from './fake-room.js';
import { MemoryUploader } from './fixtures.js';
import { log, sleep, tempDir } from './helpers.js';
import { startSyntheticParticipant, type SyntheticParticipant } from './synthetic-participant.js';

type RecordingEvent = Extract<NodeEvent, { event: 'recordingStatus' }>;
const id = (n: number) => `8a7b6c5d-4e3f-4a1b-9c8d-00000000000${n}`;

/**
 * Commands as the edge sends them: queued and replayed, not waiting for each other's results, so
 * the node sees them overlap. Every recording must end with a final status keyed by its own id.
 */
describe('quick stop/start through the recording controller', () => {
  let worker: Worker;
  let router: Router;
  let ann: SyntheticParticipant;
  const dirs: string[] = [];
  const controllers: NodeRecordingController[] = [];

  beforeAll(async () => {
    worker = await mediasoup.createWorker({ logLevel: 'warn' });
    router = await worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS });
    ann = await startSyntheticParticipant(router, { participantId: 'ann-0000001', pattern: 'testsrc' });
  });
  afterAll(async () => {
    await Promise.allSettled(controllers.map((c) => c.close()));
    await ann?.leave();
    worker?.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  const setup = async (extra: Partial<RecordingControllerOptions> = {}) => {
    const dir = await tempDir('edgemeet-quick-');
    dirs.push(dir);
    const events: RecordingEvent[] = [];
    const uploader = new MemoryUploader();
    const controller = recordingControllerFactory({ uploader, recoverOnStart: false, minFreeBytes: 0, ...extra })({
      emitEvent: (event) => void (event.event === 'recordingStatus' && events.push(event)),
      log,
      recordingsDir: dir,
    });
    controllers.push(controller);
    const room = new FakeRoom(`RecQuick${String(controllers.length).padStart(14, '0')}`, router);
    const final = async (recordingId: string, timeoutMs = 120_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.find((e) => e.recordingId === recordingId && (e.status === 'ready' || e.status === 'failed'));
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no final status for ${recordingId}: ${JSON.stringify(events.filter((e) => e.recordingId === recordingId).map((e) => e.status))}`);
        await sleep(200);
      }
    };
    return { dir, events, uploader, controller, room, final };
  };

  it('a stop that overtakes its start (both sent at once) still stops it: nothing records for ever', async () => {
    const { controller, room, final } = await setup();
    room.publish(ann.audio, ann.participantId, 'mic');
    const started = controller.start(room, id(1));
    const stopped = controller.stop(room.meetingId, id(1), undefined);
    await Promise.all([started, stopped]);
    expect((await final(id(1))).recordingId).toBe(id(1));
    await sleep(200);
    expect(controller.activeCount()).toBe(0);
  });

  it('stop A, start B at once: A finishes under its own id after B started; a replayed start of A records nothing', async () => {
    const { dir, events, controller, room, final } = await setup();
    room.publish(ann.audio, ann.participantId, 'mic');
    room.publish(ann.video, ann.participantId, 'camera');
    await controller.start(room, id(2));
    // The recording holds its room open (were everyone to leave, it goes on until stopped).
    expect(room.holds).toBe(1);
    await sleep(3000);
    await controller.stop(room.meetingId, id(2), undefined);
    await controller.start(room, id(3));
    const bStarted = events.findIndex((e) => e.recordingId === id(3) && e.status === 'recording');
    await sleep(3000);
    await controller.stop(room.meetingId, id(3), undefined);
    const [a, b] = [await final(id(2)), await final(id(3))];
    // A's statuses after B started are A's (keyed by recordingId), ending in its own final one.
    expect(events.findIndex((e) => e === a)).toBeGreaterThan(bStarted);
    expect([a.status, b.status]).toEqual(['ready', 'ready']);
    // Each let go of the room once finished with it.
    for (let waited = 0; room.holds > 0 && waited < 10_000; waited += 100) await sleep(100);
    expect(room.holds).toBe(0);
    // The edge replays a start it got no answer for: the recording that already ran is not redone.
    await controller.start(room, id(2));
    expect(controller.activeCount()).toBe(0);
    expect((await readdir(dir)).filter((name) => !name.startsWith('.'))).toEqual([]);
    await expect(controller.stop(room.meetingId, id(2), undefined)).rejects.toMatchObject({ code: 'NOT_RECORDING' });
  });

  it('an upload the store could not take is tried again by the running node until it is final', async () => {
    const { events, uploader, controller, room, final } = await setup({ uploadRetryMs: 500 });
    uploader.failOn = /./;
    room.publish(ann.audio, ann.participantId, 'mic');
    await controller.start(room, id(6));
    await sleep(2000);
    await controller.stop(room.meetingId, id(6), undefined);
    for (let waited = 0; !events.some((e) => e.recordingId === id(6) && e.status === 'uploading' && e.error); waited += 200) {
      if (waited > 120_000) throw new Error('no failed upload reported');
      await sleep(200);
    }
    uploader.failOn = null; // the store is back
    expect((await final(id(6))).status).toBe('ready');
    expect(events.filter((e) => e.recordingId === id(6)).map((e) => e.status).filter((s) => s === 'failed')).toEqual([]);
  });

  it('a recording nobody stops ends by itself at its maximum length, and says so', async () => {
    const { controller, room, final } = await setup({ maxDurationMs: 3000 });
    room.publish(ann.audio, ann.participantId, 'mic');
    await controller.start(room, id(4));
    const ended = await final(id(4), 150_000);
    expect(ended, JSON.stringify(ended)).toMatchObject({ status: 'failed', incomplete: true });
    expect(ended.notes).toContain('recording stopped by itself at its maximum length (3 s)');
    expect(controller.activeCount()).toBe(0);
  });

  it('a recording of a meeting where nothing is published ends failed with a reason, not a black "ready"', async () => {
    const { events, controller, room, final } = await setup();
    await controller.start(room, id(5));
    await sleep(1500);
    await controller.stop(room.meetingId, id(5), undefined);
    const ended = await final(id(5));
    expect(ended).toMatchObject({ status: 'failed', error: { code: 'MEDIA_ERROR', message: expect.stringMatching(/^no media: nobody published/) }, files: [] });
    expect(ended).not.toHaveProperty('incomplete');
    expect(events.filter((e) => e.recordingId === id(5)).map((e) => e.status)).toEqual(['recording', 'processing', 'failed']);
  });
});
