import * as mediasoup from 'mediasoup';
import type { Router, Worker } from 'mediasoup/types';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeEvent } from '../../../schema/wire/index.js';
import { ROUTER_MEDIA_CODECS } from '../../workers/media-codecs.js';
import { recordingControllerFactory } from '../controller.js';
import { mediaDurationSeconds } from '../ffmpeg.js';
import { FakeRoom } from './fake-room.js';
import { MemoryUploader } from './fixtures.js';
import { log, sleep, tempDir } from './helpers.js';
import { startSyntheticParticipant, type SyntheticParticipant } from './synthetic-participant.js';

type RecordingEvent = Extract<NodeEvent, { event: 'recordingStatus' }>;
/** One of each case by default; RECORDING_RUNS=10 for the ten in a row. */
const RECORDINGS = Number(process.env['RECORDING_RUNS'] ?? 3);

/**
 * The reproduction, node side: short recordings back to back through the controller (as
 * the edge's commands drive it), each with tracks published before and after the start, a mic
 * muted then unmuted, a camera off at the start. Every live track must be in every recording.
 */
describe('short recordings back to back (real mediasoup + ffmpeg)', () => {
  let worker: Worker;
  let router: Router;
  let dir: string;
  const people: SyntheticParticipant[] = [];
  const events: RecordingEvent[] = [];
  const uploader = new MemoryUploader();
  let controller: ReturnType<ReturnType<typeof recordingControllerFactory>>;

  beforeAll(async () => {
    worker = await mediasoup.createWorker({ logLevel: 'warn' });
    router = await worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS });
    dir = await tempDir('edgemeet-back-to-back-');
    // A loaded box takes seconds to start an ffmpeg: let start() wait for them all (the test is
    // about what gets captured, not how fast a start answers).
    controller = recordingControllerFactory({ uploader, recoverOnStart: false, minFreeBytes: 0, beginWaitMs: 60_000 })({
      emitEvent: (event) => {
        if (event.event === 'recordingStatus') events.push(event);
      },
      log,
      recordingsDir: dir,
    });
  });
  afterAll(async () => {
    await controller?.close();
    await Promise.allSettled(people.map((p) => p.leave()));
    worker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const finalOf = (recordingId: string) => events.find((e) => e.recordingId === recordingId && (e.status === 'ready' || e.status === 'failed'));

  it('recordings of ~7 s in a row: every live track captured in each, none falsely ready', async () => {
    const room = new FakeRoom('RecBackToBack00000001', router);
    const host = await startSyntheticParticipant(router, { participantId: 'host-0000001', pattern: 'sync', syncAtSec: 600 });
    const guest = await startSyntheticParticipant(router, { participantId: 'guest-000001', pattern: 'testsrc' });
    people.push(host, guest);
    room.publish(host.audio, host.participantId, 'mic', 'Host');
    room.publish(host.video, host.participantId, 'camera', 'Host');
    room.publish(guest.audio, guest.participantId, 'mic', 'Guest');
    room.publish(guest.video, guest.participantId, 'camera', 'Guest');
    await sleep(1500);

    const startLatencies: number[] = [];
    const runs: Array<{ recordingId: string; case: string; maxMs: number; late?: SyntheticParticipant }> = [];
    for (let i = 0; i < RECORDINGS; i++) {
      const recordingId = `3c0f5a52-91d7-4c1e-a7b3-0000000000${String(i).padStart(2, '0')}`;
      const kind = ['mic muted, then unmuted', 'camera off at the start', 'tracks published after the start'][i % 3]!;
      if (i % 3 === 0) await guest.audio.pause();
      if (i % 3 === 1) await guest.video.pause();
      // start() answers once the captures listen: the recording window starts there.
      const asked = Date.now();
      await controller.start(room, recordingId);
      const t0 = Date.now();
      startLatencies.push(t0 - asked);
      await sleep(Math.max(0, t0 + 2000 - Date.now()));
      if (i % 3 === 0) await guest.audio.resume();
      if (i % 3 === 1) await guest.video.resume();
      // A participant who starts publishing now, as a browser does: its sender starts with the
      // publication. Warm captures are ready for it (a loaded box may take a while to refill them).
      let late: SyntheticParticipant | undefined;
      if (i % 3 === 2) {
        for (let waited = 0; controller.warmCaptures() < 4 && waited < 60_000; waited += 250) await sleep(250);
        late = await startSyntheticParticipant(router, { participantId: `late-00000${i}`, pattern: 'testsrc' });
        people.push(late);
        room.publish(late.audio, late.participantId, 'mic');
        room.publish(late.video, late.participantId, 'camera');
      }
      // The newcomer's media flows first (a loaded box starts its sender seconds late), then 4 s of it.
      if (late) await late.mediaZeroAt;
      await sleep(Math.max(0, Math.max(t0 + 7000, Date.now() + (late ? 4000 : 0)) - Date.now()));
      // Stop and start the next one at once: this one finishes while the next records.
      await controller.stop(room.meetingId, recordingId, undefined);
      runs.push({ recordingId, case: kind, maxMs: Date.now() - asked, ...(late ? { late } : {}) });
      if (late) await late.leave();
    }

    console.info(`start() answered after ${startLatencies.join(', ')} ms (captures listening)`);
    const deadline = Date.now() + 400_000;
    while (runs.some((run) => !finalOf(run.recordingId)) && Date.now() < deadline) await sleep(250);
    for (const run of runs) {
      const final = finalOf(run.recordingId);
      expect(final, `${run.case}: final status`).toBeDefined();
      expect({ case: run.case, status: final!.status, notes: final!.notes ?? [], incomplete: final!.incomplete ?? false }).toEqual({ case: run.case, status: 'ready', notes: [], incomplete: false });
      const names = final!.files!.map((f) => path.basename(f.key).replace(/-\d{3}\.webm$/, ''));
      const expected = ['composite.mp4', 'host-0000001-mic-audio', 'host-0000001-camera-video', 'guest-000001-mic-audio', 'guest-000001-camera-video'];
      if (run.late) expected.push(`${run.late.participantId}-mic-audio`, `${run.late.participantId}-camera-video`);
      expect(names.sort(), run.case).toEqual(expected.sort());
      expect(final!.durationMs, run.case).toBeGreaterThan(6900);
      expect(final!.durationMs, run.case).toBeLessThanOrEqual(run.maxMs);
    }

    // The host's microphone is in every recording, for the whole window; the muted-then-unmuted
    // guest's from the unmute on.
    // Every segment of the track: a capture whose ffmpeg died (e.g. its UDP port taken meanwhile)
    // goes on in a further segment, and the recording is whole only if the segments together are.
    const heldSeconds = async (recordingId: string, track: string) => {
      const prefix = `recordings/${recordingId}/${track}-`;
      let seconds = 0;
      for (const [key, bytes] of uploader.stored) {
        if (!key.startsWith(prefix)) continue;
        const copy = path.join(dir, `${recordingId}-${path.basename(key)}`);
        await writeFile(copy, bytes);
        const span = await mediaDurationSeconds(copy);
        seconds += span.end - span.start;
      }
      return seconds;
    };
    for (const run of runs) {
      const windowSec = finalOf(run.recordingId)!.durationMs! / 1000;
      expect(await heldSeconds(run.recordingId, 'host-0000001-mic-audio'), run.case).toBeGreaterThan(windowSec - 0.5);
    }
    const unmuted = await heldSeconds(runs[0]!.recordingId, 'guest-000001-mic-audio');
    expect(unmuted).toBeGreaterThan(4.3);
    expect(unmuted).toBeLessThan(5.5);
  }, 900_000);
});
