import * as mediasoup from 'mediasoup';
import type { Router, Worker } from 'mediasoup/types';
import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTER_MEDIA_CODECS } from '../../workers/media-codecs.js';
import { CapturePool } from '../capture-pool.js';
import { DEFAULT_LAYOUT } from '../composite.js';
import { speakerCells } from '../speaker-layout.js';
import { ffprobe, mediaDurationSeconds, runToEnd, FFPROBE_BIN } from '../ffmpeg.js';
import { createRecorder } from '../recorder.js';
import type { Recorder, RecordingStatusUpdate } from '../types.js';
import { EdgeUploader } from '../uploader.js';
import { firstBeepSeconds, firstFlashSeconds } from './detect.js';
import { startEdgeUploadTarget, type EdgeUploadTarget } from './edge-upload-target.js';
import { CopyingUploader, log, sha256, sleep, tempDir } from './helpers.js';
import { startSyntheticParticipant, type SyntheticParticipant } from './synthetic-participant.js';

const MEETING = 'RecTestMeeting00000001';
/** The sync senders' events repeat this often (a window of 10 s holds at least two of each). */
const SYNC_EVERY_SEC = 4;

/** Largest gap between consecutive packets of a track file (seconds). */
async function largestPacketGap(file: string): Promise<number> {
  const { stdout } = await runToEnd(FFPROBE_BIN, ['-v', 'error', '-select_streams', '0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', file]);
  const times = stdout.split('\n').map(Number).filter(Number.isFinite).sort((a, b) => a - b);
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
  return gap;
}

describe('server-side recording of a synthetic meeting (real mediasoup, ffmpeg, workerd + R2)', () => {
  let worker: Worker;
  let router: Router;
  let target: EdgeUploadTarget;
  let dir: string;
  let copies: string;
  let uploader: CopyingUploader;
  let pool: CapturePool;
  const people: SyntheticParticipant[] = [];
  const recorders: Recorder[] = [];

  beforeAll(async () => {
    worker = await mediasoup.createWorker({ logLevel: 'warn' });
    router = await worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS });
    target = await startEdgeUploadTarget();
    dir = await tempDir('edgemeet-recordings-');
    copies = await tempDir('edgemeet-recording-copies-');
    uploader = new CopyingUploader(new EdgeUploader(target.url, target.nodeCredential), copies);
    pool = new CapturePool(path.join(dir, '.capture-pool'), log);
  });

  afterAll(async () => {
    // A failed assertion must not leave capture ffmpegs behind: stop() is idempotent.
    await Promise.allSettled(recorders.map((r) => r.stop('test finished')));
    await Promise.allSettled(people.map((p) => p.leave()));
    await pool?.close();
    worker?.close();
    await target?.close();
    await Promise.all([dir, copies].map((d) => rm(d, { recursive: true, force: true })));
  });

  it('captures 3 participants (one late, one pausing, one leaving) into tracks + an aligned composite, uploaded byte for byte', async () => {
    // Warm captures (Opus + VP8, two each) for Carol, who publishes while recording.
    pool.prime(router.rtpCapabilities.codecs ?? []);
    for (let waited = 0; pool.idleCount < 4 && waited < 60_000; waited += 250) await sleep(250);
    // Everyone's sender runs before the recording starts (real-time pacing settles); Carol's
    // producers reach the recorder only 3 s in — to the recorder she joins late. Alice sends a
    // sync event (flash + beep) every 4 s, Carol a flash: however long a loaded box takes to
    // start the recording, some of each land inside the window, at media times known to the ms.
    const alice = await startSyntheticParticipant(router, { participantId: 'alice-00001', pattern: 'sync', syncAtSec: 3, syncEverySec: SYNC_EVERY_SEC });
    const bob = await startSyntheticParticipant(router, { participantId: 'bob-0000001', pattern: 'testsrc' });
    const carol = await startSyntheticParticipant(router, { participantId: 'carol-00001', pattern: 'flash', syncAtSec: 1, syncEverySec: SYNC_EVERY_SEC });
    people.push(alice, bob, carol);
    await sleep(3000);

    const statuses: RecordingStatusUpdate[] = [];
    const recordingId = '0b9a3c1e-8d2f-4f6a-9c1b-2e7d5a4f0001';
    await target.grant(recordingId);
    // As the node's controller does: warm captures for tracks published later, and the window
    // opens once the first captures receive (begin), so no track starts the recording missing.
    const recorder = await createRecorder({ router, recordingId, meetingId: MEETING, dir, log, uploader, onStatus: (s) => statuses.push(s), deferStart: true, pool });
    recorders.push(recorder);
    void recorder.addProducer(alice.audio, { participantId: alice.participantId, source: 'mic' });
    void recorder.addProducer(alice.video, { participantId: alice.participantId, source: 'camera' });
    void recorder.addProducer(bob.audio, { participantId: bob.participantId, source: 'mic' });
    void recorder.addProducer(bob.video, { participantId: bob.participantId, source: 'camera' });
    await recorder.begin();
    const t0 = Date.now();

    const at = (ms: number) => sleep(Math.max(0, t0 + ms - Date.now()));
    await at(3000);
    void recorder.addProducer(carol.audio, { participantId: carol.participantId, source: 'mic' });
    void recorder.addProducer(carol.video, { participantId: carol.participantId, source: 'camera' });
    await at(5000);
    await bob.video.pause();
    await at(7000);
    await bob.video.resume();
    await at(8500);
    await bob.leave(); // producers close: the recorder finishes Bob's tracks on its own
    await at(10_000);
    const stopAt = Date.now();
    const result = await recorder.stop();
    const realSeconds = (stopAt - result.startedAt) / 1000;

    expect(result.status, JSON.stringify(result.notes)).toBe('ready');
    expect(statuses.map((s) => s.status)).toEqual(['recording', 'processing', 'uploading', 'ready']);
    expect(result.files.filter((f) => f.kind === 'composite')).toHaveLength(1);
    const tracks = result.files.filter((f) => f.kind === 'track');
    // One file per track (a capture restarted on a starved box adds -001, -002… segments).
    const trackIds = new Set(tracks.map((f) => path.basename(f.key).replace(/-\d{3}\.webm$/, '')));
    expect([...trackIds].sort()).toEqual(
      [
        'alice-00001-camera-video',
        'alice-00001-mic-audio',
        'bob-0000001-camera-video',
        'bob-0000001-mic-audio',
        'carol-00001-camera-video',
        'carol-00001-mic-audio',
      ].sort(),
    );

    // Upload verified byte for byte: R2 holds exactly what the node wrote.
    for (const file of result.files) {
      const name = path.basename(file.key);
      const local = await readFile(uploader.copies.get(name)!);
      const stored = await target.stored(file.key);
      expect(stored, name).not.toBeNull();
      expect(stored!.equals(local), name).toBe(true);
      expect(sha256(stored!)).toBe(file.sha256);
      expect(stored!.length).toBe(file.bytes);
    }
    // Local copies are gone once confirmed.
    await expect(stat(path.join(dir, recordingId))).rejects.toThrow();

    // The composite: one H.264 grid video + one AAC mix, as long as the meeting was recorded.
    const composite = uploader.copies.get('composite.mp4')!;
    const probe = await ffprobe(composite);
    expect(Math.abs(Number(probe.format.duration) - realSeconds)).toBeLessThan(0.5);
    expect(probe.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort()).toEqual(['audio:aac', 'video:h264']);
    const video = probe.streams.find((s) => s.codec_type === 'video')!;
    expect([video.width, video.height]).toEqual([DEFAULT_LAYOUT.width, DEFAULT_LAYOUT.height]);

    // Each sync event sits where it reached the node: at its media time after the sender's media 0
    // arrived (measured at the router, so a sender ffmpeg that a loaded box starts late shifts both).
    // Speaker changes recorded while capturing give the active-speaker layout: each camera keeps
    // its cell in the strip (a grid without them).
    const speakers = recorder.describe().speakers;
    expect(speakers.length).toBeGreaterThan(0);
    const cells = speakerCells(3, DEFAULT_LAYOUT).strip;
    const durationSec = result.durationMs / 1000;
    /** The first sync event of a sender inside [fromSec, duration − 0.5 s] of the recording. */
    const syncEventIn = async (sender: SyntheticParticipant, syncAtSec: number, fromSec: number) => {
      const mediaZero = ((await sender.mediaZeroAt) - result.startedAt) / 1000;
      for (let at = mediaZero + syncAtSec; at < durationSec - 0.5; at += SYNC_EVERY_SEC) if (at >= fromSec) return at;
      throw new Error(`no sync event of ${sender.participantId} inside the recording`);
    };
    // Alice: flash (her tile, the first cell) and beep together, where she sent them.
    const aliceSent = await syncEventIn(alice, 3, 0.5);
    const flash = await firstFlashSeconds(composite, cells[0]!, aliceSent - 1.5);
    const beep = await firstBeepSeconds(composite, aliceSent - 1.5);
    console.info(`sync event sent at ${aliceSent.toFixed(3)} s: flash ${flash?.toFixed(3)} s, beep ${beep?.toFixed(3)} s in the composite`);
    expect(flash).not.toBeNull();
    expect(beep).not.toBeNull();
    expect(Math.abs(flash! - beep!)).toBeLessThan(0.1);
    expect(Math.abs(flash! - aliceSent)).toBeLessThan(0.3);
    // Carol's tracks, captured from 3 s on by warm captures, are placed as exactly.
    const carolSent = await syncEventIn(carol, 1, 3.5);
    const carolFlash = await firstFlashSeconds(composite, cells[2]!, carolSent - 1.5);
    console.info(`late publisher's flash sent at ${carolSent.toFixed(3)} s: in the composite at ${carolFlash?.toFixed(3)} s`);
    expect(carolFlash).not.toBeNull();
    expect(Math.abs(carolFlash! - carolSent)).toBeLessThan(0.3);
    // Her own track file lines up with the composite by its offsetMs: the same flash at the same
    // window time. Tracks captured before the window opened start at or before its 0.
    const trackFile = (name: string) => result.files.find((f) => f.kind === 'track' && path.basename(f.key) === name)!;
    const carolVideo = trackFile('carol-00001-camera-video-000.webm');
    expect(carolVideo.offsetMs).toBeGreaterThan(2_500);
    expect(trackFile('alice-00001-mic-audio-000.webm').offsetMs).toBeLessThan(200);
    const carolCopy = uploader.copies.get('carol-00001-camera-video-000.webm')!;
    const carolStart = (await mediaDurationSeconds(carolCopy)).start;
    const toTrackTime = (windowSec: number) => windowSec - carolVideo.offsetMs! / 1000 + carolStart;
    const flashInTrack = await firstFlashSeconds(carolCopy, { x: 0, y: 0, w: 320, h: 240 }, toTrackTime(carolFlash! - 0.5));
    expect(flashInTrack).not.toBeNull();
    expect(Math.abs(toTrackTime(carolFlash!) - flashInTrack!)).toBeLessThan(0.1);

    // Per-track files: codecs copied, not transcoded; Carol's from her join, Bob's to his leave.
    for (const name of uploader.copies.keys()) {
      if (name === 'composite.mp4') continue;
      const track = await ffprobe(uploader.copies.get(name)!);
      expect(track.streams[0]!.codec_name).toBe(name.includes('audio') ? 'opus' : 'vp8');
    }
    // Seconds of media a track holds (over all its segment files).
    const seconds = async (trackId: string) => {
      let total = 0;
      for (const [name, copy] of uploader.copies) {
        if (!name.startsWith(`${trackId}-`)) continue;
        const { start, end } = await mediaDurationSeconds(copy);
        total += end - start;
      }
      return total;
    };
    expect(await seconds('carol-00001-camera-video')).toBeGreaterThan(4);
    expect(await seconds('carol-00001-camera-video')).toBeLessThan(7.8);
    expect(await seconds('bob-0000001-mic-audio')).toBeGreaterThan(5);
    expect(await seconds('bob-0000001-mic-audio')).toBeLessThan(9.5);
    // Bob's 2 s camera pause is a gap in his video track, not lost sync.
    expect(await largestPacketGap(uploader.copies.get('bob-0000001-camera-video-000.webm')!)).toBeGreaterThan(1.5);
  });

  it('records the same meeting again; a capture ffmpeg killed midway loses nothing already written, and the recording says it is incomplete', async () => {
    const alice = people[0]!;
    const carol = people[2]!;
    uploader.copies.clear();
    const recordingId = '0b9a3c1e-8d2f-4f6a-9c1b-2e7d5a4f0002';
    await target.grant(recordingId);
    const statuses: RecordingStatusUpdate[] = [];
    const recorder = await createRecorder({ router, recordingId, meetingId: MEETING, dir, log, uploader, onStatus: (s) => statuses.push(s), restartDelayMs: 200, deferStart: true, pool });
    recorders.push(recorder);
    void recorder.addProducer(alice.audio, { participantId: alice.participantId, source: 'mic' });
    void recorder.addProducer(alice.video, { participantId: alice.participantId, source: 'camera' });
    void recorder.addProducer(carol.audio, { participantId: carol.participantId, source: 'mic' });
    void recorder.addProducer(carol.video, { participantId: carol.participantId, source: 'camera' });
    await recorder.begin();
    const t0 = Date.now();

    await sleep(Math.max(0, t0 + 3500 - Date.now()));
    const pid = recorder.ffmpegPidOf(alice.video.id);
    expect(pid).toBeGreaterThan(0);
    const killedAt = Date.now();
    process.kill(pid!, 'SIGKILL');
    await sleep(Math.max(0, t0 + 7000 - Date.now()));
    const killedTrack = recorder.describe().tracks.find((t) => t.trackId === 'alice-00001-camera-video')!;
    expect(killedTrack).toMatchObject({ segments: 2, restarts: 1 });
    const firstSegmentStart = killedTrack.segmentStarts[0]!;
    const stopAt = Date.now();
    const result = await recorder.stop();
    const realSeconds = (stopAt - result.startedAt) / 1000;

    // Never "ready" as if whole: the interruption is in the status and its notes.
    expect(result.status).toBe('incomplete');
    expect(statuses.at(-1)).toMatchObject({ status: 'incomplete', error: { code: 'MEDIA_ERROR' } });
    expect(result.notes).toContain("alice-00001's camera: capture interrupted (ffmpeg exited with signal SIGKILL) and restarted in a new file");
    const names = result.files.map((f) => path.basename(f.key));
    expect(names).toContain('alice-00001-camera-video-000.webm');
    expect(names).toContain('alice-00001-camera-video-001.webm');
    // What the killed ffmpeg had written survives (it flushes ~1 s clusters)…
    const before = await mediaDurationSeconds(uploader.copies.get('alice-00001-camera-video-000.webm')!);
    expect(before.end - before.start).toBeGreaterThan((killedAt - firstSegmentStart) / 1000 - 1);
    // …and the restarted capture carries on in a new segment.
    const after = await mediaDurationSeconds(uploader.copies.get('alice-00001-camera-video-001.webm')!);
    expect(after.end - after.start).toBeGreaterThan(1.5);
    const probe = await ffprobe(uploader.copies.get('composite.mp4')!);
    expect(Math.abs(Number(probe.format.duration) - realSeconds)).toBeLessThan(0.5);
    for (const file of result.files) {
      const stored = await target.stored(file.key);
      expect(stored?.equals(await readFile(uploader.copies.get(path.basename(file.key))!)), file.key).toBe(true);
    }
  });
});
