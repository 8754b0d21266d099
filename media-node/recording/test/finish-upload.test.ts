import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ffprobe } from '../ffmpeg.js';
import { finishRecording } from '../finish.js';
import { ManifestWriter, newManifest, readManifest } from '../manifest.js';
import { recoverRecordings } from '../recovery.js';
import { finalizeTrackFiles } from '../track-files.js';
import type { RecordingStatusUpdate } from '../types.js';
import { meanLuma, meanVolumeDb } from './detect.js';
import { makeRecordingFolder, MemoryUploader, type FixtureTrack } from './fixtures.js';
import { log, tempDir } from './helpers.js';

/**
 * Finishing without mediasoup: recording folders as a capture leaves them (fixtures.ts), finished
 * into verdicts and uploads. Covers the status rules end to end (no media, a gap, whole) and the
 * upload guarantees: files stay until the store confirmed them, and a restart resumes the upload.
 */
const FAST_RETRY = { attempts: 2, firstDelayMs: 10 };
const whole: FixtureTrack[] = [
  { participantId: 'host-0000001', kind: 'audio', fileFromSec: 0, fileSeconds: 4 },
  { participantId: 'host-0000001', kind: 'video', fileFromSec: 0, fileSeconds: 4 },
];
const id = (n: number) => `6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f${n}`;
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('finishing a recording: verdicts and uploads that cannot lose files', () => {
  it('a manifest write that fails rejects for whoever awaits it, and never crashes the node (no unhandled rejection)', async () => {
    const dir = await tempDir('edgemeet-manifest-gone-');
    const writer = new ManifestWriter(path.join(dir, 'removed-meanwhile'), newManifest(id(9), 'RecFixtureMeeting00001', Date.now()));
    await expect(writer.save()).rejects.toThrow(/ENOENT/);
    void writer.save(); // fire and forget, as captures do: its failure must not be unhandled
    await new Promise((resolve) => setTimeout(resolve, 100));
  });

  it('no media at all: failed with a reason, nothing uploaded, never a black "ready"', async () => {
    const dir = await tempDir('edgemeet-finish-empty-');
    const { recordingDir, writer } = await makeRecordingFolder(dir, id(1), 4, [{ participantId: 'host-0000001', kind: 'audio', fileFromSec: 0, fileSeconds: 0, live: [[0, 4]] }]);
    const uploader = new MemoryUploader();
    const statuses: RecordingStatusUpdate[] = [];
    const result = await finishRecording({ recordingDir, writer, uploader, log, onStatus: (s) => statuses.push(s), retry: FAST_RETRY });
    expect(result.status).toBe('failed');
    expect(result.error).toEqual({ code: 'MEDIA_ERROR', message: 'no media: 1 tracks were live but nothing was captured' });
    expect(statuses.map((s) => s.status)).toEqual(['processing', 'failed']);
    expect(uploader.attempts).toEqual([]);
    await expect(stat(recordingDir)).rejects.toThrow();
  });

  it('a track missing for part of the window: incomplete with a note, black in the composite for exactly that gap', async () => {
    const dir = await tempDir('edgemeet-finish-gap-');
    const { recordingDir, writer } = await makeRecordingFolder(dir, id(2), 4, [
      { participantId: 'host-0000001', kind: 'audio', fileFromSec: 0, fileSeconds: 4 },
      // Live the whole window, but its file starts only 2 s in.
      { participantId: 'host-0000001', kind: 'video', fileFromSec: 2, fileSeconds: 2, live: [[0, 4]] },
    ]);
    const uploader = new MemoryUploader();
    const statuses: RecordingStatusUpdate[] = [];
    const result = await finishRecording({ recordingDir, writer, uploader, log, onStatus: (s) => statuses.push(s), retry: FAST_RETRY });
    expect(result.status).toBe('incomplete');
    expect(result.notes).toEqual(["host-0000001's camera: 2.0 s of 4.0 s live were not captured (left as black)"]);
    expect(statuses.map((s) => s.status)).toEqual(['processing', 'uploading', 'incomplete']);
    expect(statuses.at(-1)?.notes).toEqual(result.notes);
    expect(result.files.map((f) => path.basename(f.key)).sort()).toEqual(['composite.mp4', 'host-0000001-camera-video-000.webm', 'host-0000001-mic-audio-000.webm']);
    const composite = uploader.stored.get(`recordings/${id(2)}/composite.mp4`)!;
    const copy = path.join(dir, 'composite-copy.mp4');
    await writeFile(copy, composite);
    expect(Math.abs(Number((await ffprobe(copy)).format.duration) - 4)).toBeLessThan(0.5);
    // Black while the camera was missing, the picture once it was there; sound all along.
    expect(await meanLuma(copy, 0.2, 1.7)).toBeLessThan(20);
    expect(await meanLuma(copy, 2.3, 3.8)).toBeGreaterThan(40);
    expect(await meanVolumeDb(copy, 0.2, 1.7)).toBeGreaterThan(-40);
  });

  it('upload fails: not final, every file stays on disk, and the next node start uploads them and ends ready', async () => {
    const dir = await tempDir('edgemeet-finish-retry-');
    const { recordingDir, writer } = await makeRecordingFolder(dir, id(3), 4, whole);
    const down = new MemoryUploader();
    down.failOn = /./;
    const told: RecordingStatusUpdate[] = [];
    const first = await finishRecording({ recordingDir, writer, uploader: down, log, retry: FAST_RETRY, onStatus: (s) => told.push(s) });
    // Still 'uploading' (the edge keeps the upload open), with the reason: never a final 'failed' that a retry would contradict.
    expect(first.status).toBe('uploading');
    expect(first.error?.code).toBe('INTERNAL');
    expect(first.error?.message).toMatch(/^upload failed, files kept on the node and uploaded again later/);
    expect(told.map((s) => s.status)).toEqual(['processing', 'uploading', 'uploading']);
    expect(told.at(-1)?.error?.message).toBe(first.error?.message);
    const kept = (await readdir(recordingDir)).filter((f) => !f.endsWith('.json'));
    expect(kept.sort()).toEqual(['composite.mp4', 'host-0000001-camera-video-000.webm', 'host-0000001-mic-audio-000.webm']);
    const manifest = await readManifest(recordingDir);
    expect(manifest).toMatchObject({ state: 'uploading', verdict: 'ready', uploaded: [] });
    const compositeOnDisk = sha(await readFile(path.join(recordingDir, 'composite.mp4')));

    // The node restarts: recovery resumes at the upload (no second composite), the same files.
    const store = new MemoryUploader();
    const statuses: RecordingStatusUpdate[] = [];
    const [again] = await recoverRecordings({ dir, uploader: store, log, onStatus: (s) => statuses.push(s), retry: FAST_RETRY });
    expect(again?.status).toBe('ready');
    expect(statuses.map((s) => s.status)).toEqual(['uploading', 'ready']);
    expect(again?.files).toHaveLength(3);
    expect(sha(store.stored.get(`recordings/${id(3)}/composite.mp4`)!)).toBe(compositeOnDisk);
    await expect(stat(recordingDir)).rejects.toThrow();
    expect(await recoverRecordings({ dir, uploader: store, log })).toEqual([]);
  });

  it('a partial upload resumes with only what the store has not confirmed; a wrong receipt deletes nothing', async () => {
    const dir = await tempDir('edgemeet-finish-partial-');
    const { recordingDir, writer } = await makeRecordingFolder(dir, id(4), 4, whole);
    const store = new MemoryUploader();
    store.failOn = /video/;
    const first = await finishRecording({ recordingDir, writer, uploader: store, log, retry: FAST_RETRY });
    expect(first.status).toBe('uploading');
    // Confirmed files are gone locally; the unconfirmed one is still there.
    const left = (await readdir(recordingDir)).filter((f) => !f.endsWith('.json'));
    expect(left).toEqual(['host-0000001-camera-video-000.webm']);

    const liar = new MemoryUploader();
    liar.corrupt = true;
    const [lied] = await recoverRecordings({ dir, uploader: liar, log, retry: FAST_RETRY });
    expect(lied?.status).toBe('uploading');
    expect(lied?.error?.message).toMatch(/store confirmed .* local file is/);
    expect((await readdir(recordingDir)).filter((f) => !f.endsWith('.json'))).toEqual(['host-0000001-camera-video-000.webm']);

    store.failOn = null;
    store.attempts.length = 0;
    const [done] = await recoverRecordings({ dir, uploader: store, log, retry: FAST_RETRY });
    expect(done?.status).toBe('ready');
    expect(store.attempts).toEqual(['host-0000001-camera-video-000.webm']);
    expect(done?.files.map((f) => path.basename(f.key)).sort()).toEqual(['composite.mp4', 'host-0000001-camera-video-000.webm', 'host-0000001-mic-audio-000.webm']);
  });

  it("a refusal for good (recording final on the edge, another node's): failed at once, files kept for an operator, not retried", async () => {
    const dir = await tempDir('edgemeet-finish-refused-');
    const { recordingDir, writer } = await makeRecordingFolder(dir, id(5), 4, whole);
    const store = new MemoryUploader();
    store.refuseWith = 409;
    const result = await finishRecording({ recordingDir, writer, uploader: store, log, retry: FAST_RETRY });
    expect(result.status).toBe('failed');
    expect(result.error?.message).toMatch(/^upload refused for good, files kept on the node for an operator/);
    expect(store.attempts).toEqual(['composite.mp4']); // no retries of a permanent refusal
    expect(await readManifest(recordingDir)).toMatchObject({ state: 'failed' });
    expect((await readdir(recordingDir)).filter((f) => !f.endsWith('.json')).sort()).toEqual(['composite.mp4', 'host-0000001-camera-video-000.webm', 'host-0000001-mic-audio-000.webm']);
    expect(await recoverRecordings({ dir, uploader: store, log })).toEqual([]);
  });

  it('a track file ffprobe cannot read is still uploaded (the verdict says so), never deleted as "nothing captured"', async () => {
    const dir = await tempDir('edgemeet-finish-unprobed-');
    const { recordingDir, writer } = await makeRecordingFolder(dir, id(6), 4, whole);
    // ffprobe is killed every time before it says anything of the file (the OOM killer on a busy
    // box, a timeout); ffmpeg works. (A probe that reads a file and refuses it is another matter:
    // node-integration.test.ts, media no decoder reads.)
    const bin = path.join(dir, 'bin');
    await mkdir(bin);
    await writeFile(path.join(bin, 'ffprobe'), '#!/bin/sh\nkill -KILL $$\n');
    await chmod(path.join(bin, 'ffprobe'), 0o755);
    const savedPath = process.env['PATH'];
    process.env['PATH'] = `${bin}:${savedPath}`;
    const store = new MemoryUploader();
    let result;
    try {
      result = await finishRecording({ recordingDir, writer, uploader: store, log, retry: FAST_RETRY });
    } finally {
      process.env['PATH'] = savedPath;
    }
    expect([...store.stored.keys()].map((key) => path.basename(key)).sort()).toEqual(['host-0000001-camera-video-000.webm', 'host-0000001-mic-audio-000.webm']);
    expect(result.files.map((file) => path.basename(file.key)).sort()).toEqual(['host-0000001-camera-video-000.webm', 'host-0000001-mic-audio-000.webm']);
    expect(result.status).not.toBe('ready');
    expect(result.notes.join('\n')).toMatch(/host-0000001-(camera-video|mic-audio)-000\.webm could not be read/);
  });

  it('a node killed between finalizing a track file and saving the manifest: the restart still uploads that track', async () => {
    const dir = await tempDir('edgemeet-finish-remux-crash-');
    // The camera first: its captured IVF is remuxed to WebM under a new name (the mic's WebM keeps its name).
    const { recordingDir, writer } = await makeRecordingFolder(dir, id(7), 4, [...whole].reverse());
    writer.manifest.state = 'processing';
    await writer.save();
    // The kill lands on the first manifest save after a remux: the manifest on disk is the old one.
    const killed = new Error('node killed');
    await expect(finalizeTrackFiles(recordingDir, structuredClone(writer.manifest), () => Promise.reject(killed), log)).rejects.toBe(killed);
    const onDisk = await readManifest(recordingDir);
    const present = await readdir(recordingDir);
    for (const track of onDisk.tracks) for (const segment of track.segments) expect(present).toContain(segment.file);

    const store = new MemoryUploader();
    const [recovered] = await recoverRecordings({ dir, uploader: store, log, retry: FAST_RETRY });
    expect(recovered?.status).toBe('ready');
    expect([...store.stored.keys()].map((key) => path.basename(key)).sort()).toEqual(['composite.mp4', 'host-0000001-camera-video-000.webm', 'host-0000001-mic-audio-000.webm']);
  });
});
