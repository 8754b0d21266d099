import * as mediasoup from 'mediasoup';
import type { Router, Worker } from 'mediasoup/types';
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../schema/wire/errors.js';
import { ROUTER_MEDIA_CODECS } from '../../workers/media-codecs.js';
import { ffprobe } from '../ffmpeg.js';
import { readManifest } from '../manifest.js';
import { createRecorder } from '../recorder.js';
import { recoverRecordings } from '../recovery.js';
import type { RecordingStatusUpdate } from '../types.js';
import { EdgeUploader } from '../uploader.js';
import { startEdgeUploadTarget, type EdgeUploadTarget } from './edge-upload-target.js';
import { CopyingUploader, log, sleep, tempDir } from './helpers.js';
import { startSyntheticParticipant, type SyntheticParticipant } from './synthetic-participant.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const alive = (pid: number) => stat(`/proc/${pid}`).then(() => true, () => false);

describe('recording faults', () => {
  let target: EdgeUploadTarget;
  /** Processes a killed child may leave behind if an assertion fails first. */
  const leftovers: number[] = [];
  beforeAll(async () => {
    target = await startEdgeUploadTarget();
  });
  afterAll(async () => {
    for (const pid of leftovers) if (await alive(pid)) process.kill(pid, 'SIGKILL');
    await target?.close();
  });

  it('a node killed while recording: the next start finishes and uploads what was written, as incomplete', async () => {
    const dir = await tempDir('edgemeet-recordings-kill-');
    const recordingId = '5d1f0c2a-7b3e-4c9d-8e2f-1a2b3c4d0003';
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'recorder-child.ts'), dir, recordingId], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: process.env,
    });
    const line = await new Promise<string>((resolve, reject) => {
      let buffered = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        if (buffered.includes('\n')) resolve(buffered.split('\n')[0]!);
      });
      child.once('exit', (code) => reject(new Error(`child exited ${code} before capturing`)));
    });
    const { senderPid } = JSON.parse(line) as { senderPid: number };
    leftovers.push(senderPid);
    await sleep(5000);
    // The node dies without any chance to clean up; its sender goes with the meeting.
    child.kill('SIGKILL');
    process.kill(senderPid, 'SIGKILL');
    const killedAt = Date.now();
    await new Promise((r) => child.once('exit', r));
    child.stdout?.destroy();

    const before = await readManifest(path.join(dir, recordingId));
    expect(before.state).toBe('recording');
    const orphans = before.tracks.flatMap((t) => t.segments.map((s) => s.pid!)).filter((pid) => pid > 0);
    leftovers.push(...orphans);
    expect(orphans).toHaveLength(2);

    await target.grant(recordingId);
    const copies = await tempDir('edgemeet-recording-copies-kill-');
    const uploader = new CopyingUploader(new EdgeUploader(target.url, target.nodeCredential), copies);
    const statuses: RecordingStatusUpdate[] = [];
    const [result] = await recoverRecordings({ dir, uploader, log, onStatus: (s) => statuses.push(s) });

    // What was written is finished and uploaded; the recording says it was cut short.
    expect(result?.status).toBe('incomplete');
    expect(statuses.map((s) => s.status)).toEqual(['processing', 'uploading', 'incomplete']);
    expect(result?.notes).toContain('the media node restarted during the recording: it ends at the restart');
    for (const pid of orphans) expect(await alive(pid)).toBe(false);
    const names = result!.files.map((f) => path.basename(f.key)).sort();
    expect(names).toEqual(['composite.mp4', 'dave-000001-camera-video-000.webm', 'dave-000001-mic-audio-000.webm']);
    // The composite covers the recording up to the kill (the last write), not more.
    const composite = await ffprobe(uploader.copies.get('composite.mp4')!);
    const seconds = Number(composite.format.duration);
    expect(seconds).toBeGreaterThan((killedAt - before.startedAt) / 1000 - 1.5);
    expect(seconds).toBeLessThan((killedAt - before.startedAt) / 1000 + 0.5);
    const audio = await ffprobe(uploader.copies.get('dave-000001-mic-audio-000.webm')!);
    expect(Number(audio.format.duration)).toBeGreaterThan(2);
    for (const file of result!.files) {
      expect((await target.stored(file.key))?.equals(await readFile(uploader.copies.get(path.basename(file.key))!))).toBe(true);
    }
    await expect(stat(path.join(dir, recordingId))).rejects.toThrow();
    // A second scan finds nothing left to do.
    expect(await recoverRecordings({ dir, uploader, log })).toEqual([]);
  });

  describe('disk space', () => {
    let worker: Worker;
    let router: Router;
    let erin: SyntheticParticipant;
    beforeAll(async () => {
      worker = await mediasoup.createWorker({ logLevel: 'warn' });
      router = await worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS });
      erin = await startSyntheticParticipant(router, { participantId: 'erin-000001', pattern: 'testsrc' });
    });
    afterAll(async () => {
      await erin?.leave();
      worker?.close();
    });

    it('refuses to start without free space (DISK_FULL)', async () => {
      const dir = await tempDir('edgemeet-recordings-full-');
      const attempt = createRecorder({
        router,
        recordingId: '5d1f0c2a-7b3e-4c9d-8e2f-1a2b3c4d0004',
        meetingId: 'RecDiskMeeting00000001',
        dir,
        log,
        uploader: new EdgeUploader(target.url, target.nodeCredential),
        freeBytes: async () => 10 * 1024 * 1024,
      });
      await expect(attempt).rejects.toSatisfy((error: unknown) => error instanceof AppError && error.code === 'DISK_FULL');
      await expect(stat(path.join(dir, '5d1f0c2a-7b3e-4c9d-8e2f-1a2b3c4d0004'))).rejects.toThrow();
    });

    it('stops by itself when the disk fills up, tells the host DISK_FULL, and keeps the track files', async () => {
      const dir = await tempDir('edgemeet-recordings-fill-');
      await target.grant('5d1f0c2a-7b3e-4c9d-8e2f-1a2b3c4d0005');
      let free = 50 * 1024 ** 3;
      const statuses: RecordingStatusUpdate[] = [];
      const recorder = await createRecorder({
        router,
        recordingId: '5d1f0c2a-7b3e-4c9d-8e2f-1a2b3c4d0005',
        meetingId: 'RecDiskMeeting00000001',
        dir,
        log,
        uploader: new EdgeUploader(target.url, target.nodeCredential),
        freeBytes: async () => free,
        diskCheckIntervalMs: 200,
        onStatus: (s) => statuses.push(s),
      });
      await Promise.all([
        recorder.addProducer(erin.audio, { participantId: erin.participantId, source: 'mic' }),
        recorder.addProducer(erin.video, { participantId: erin.participantId, source: 'camera' }),
      ]);
      await sleep(3000);
      free = 100 * 1024 * 1024; // below the 512 MiB floor
      const result = await Promise.race([recorder.done, sleep(60_000).then(() => recorder.stop('test timed out'))]);
      expect(result.status).toBe('failed');
      expect(result.error?.code).toBe('DISK_FULL');
      const last = statuses.at(-1)!;
      expect(last).toMatchObject({ status: 'failed', error: { code: 'DISK_FULL' } });
      // No composite on a full disk; the captured tracks are uploaded and reported.
      expect(result.files.map((f) => f.kind)).not.toContain('composite');
      expect(result.files.filter((f) => f.kind === 'track').length).toBe(2);
      for (const file of result.files) expect(await target.stored(file.key)).not.toBeNull();
      expect(recorder.describe().state).toBe('done');
    });
  });
});
