import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { RecordingFile } from '../../schema/wire/node-control.js';
import { compositeArgs, DEFAULT_LAYOUT, type CompositeInput } from './composite.js';
import { FFMPEG_BIN, mediaDurationSeconds, runToEnd } from './ffmpeg.js';
import { digestFile } from './file-digest.js';
import type { ManifestWriter } from './manifest.js';
import { contentTypeOf } from './sdp.js';
import { uploadConfirmed, type RetryPolicy } from './uploader.js';
import type { CompositeLayout, RecordingResult, RecordingStatusUpdate, Uploader } from './types.js';

export const COMPOSITE_NAME = 'composite.mp4';

export interface FinishOptions {
  recordingDir: string;
  writer: ManifestWriter;
  uploader: Uploader;
  log: Logger;
  layout?: Partial<CompositeLayout>;
  onStatus?: (update: RecordingStatusUpdate) => void;
  retry?: RetryPolicy;
  /** Build no composite (the disk is full): upload the per-track files only. */
  skipComposite?: boolean;
}

const exists = (file: string) => fs.stat(file).then((s) => s.isFile() && s.size > 0, () => false);

/**
 * Remuxes a captured track file (IVF / WebM / MPEG-TS, see sdp.ts containerFor) into the delivered
 * WebM/Matroska by stream copy, timestamps kept: it gains its duration and seek index, which a
 * capture stopped while idle or killed leaves out. Returns the file name to use from now on; keeps
 * the captured file if remuxing fails (it is still uploaded, as written).
 */
async function finalizeTrackFile(recordingDir: string, captured: string, finalExt: 'webm' | 'mkv', log: Logger): Promise<string> {
  const base = captured.slice(0, captured.lastIndexOf('.'));
  const finalName = `${base}.${finalExt}`;
  const temp = path.join(recordingDir, `${base}.remux.${finalExt}`);
  try {
    await runToEnd(FFMPEG_BIN, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-i', path.join(recordingDir, captured), '-map', '0', '-c', 'copy', '-copyts', '-f', finalExt === 'webm' ? 'webm' : 'matroska', temp]);
    if (!(await exists(temp))) throw new Error('remux wrote nothing');
    await fs.rename(temp, path.join(recordingDir, finalName));
    if (finalName !== captured) await fs.rm(path.join(recordingDir, captured), { force: true });
    return finalName;
  } catch (error) {
    await fs.rm(temp, { force: true });
    log.warn({ file: captured, err: error instanceof Error ? error.message.slice(0, 300) : String(error) }, 'could not finalize a track file: kept as written');
    return captured;
  }
}

/** Track files worth composing: they exist, hold packets, and saw a first packet (so have an offset). */
async function compositeInputs(recordingDir: string, writer: ManifestWriter, log: Logger): Promise<CompositeInput[]> {
  const { manifest } = writer;
  const inputs: CompositeInput[] = [];
  for (const track of manifest.tracks) {
    for (const segment of track.segments) {
      const file = path.join(recordingDir, segment.file);
      if (segment.firstRtpWallMs === null || !(await exists(file))) continue;
      const span = await mediaDurationSeconds(file).catch(() => ({ start: 0, end: 0 }));
      if (span.end <= span.start) {
        log.warn({ file: segment.file }, 'track file holds no packets: left out of the composite');
        continue;
      }
      inputs.push({ path: file, kind: track.kind, tile: `${track.participantId}:${track.source}`, offsetSec: (segment.firstRtpWallMs - manifest.startedAt) / 1000 });
    }
  }
  return inputs;
}

/**
 * After capture: composite → upload every file (confirmed by size + sha256) → delete local copies.
 * Resumable: the manifest says what is already built and uploaded, so a restarted node continues
 * where the killed one stopped. Never throws: failures end as status 'failed' with a reason.
 */
export async function finishRecording(options: FinishOptions): Promise<RecordingResult> {
  const { recordingDir, writer, uploader, log } = options;
  const { manifest } = writer;
  const stoppedAt = manifest.stoppedAt ?? Date.now();
  manifest.stoppedAt = stoppedAt;
  const durationMs = Math.max(0, stoppedAt - manifest.startedAt);
  const status = (update: Omit<RecordingStatusUpdate, 'recordingId' | 'meetingId'>) =>
    options.onStatus?.({ recordingId: manifest.recordingId, meetingId: manifest.meetingId, ...update });
  const result = (extra: Partial<RecordingResult>): RecordingResult => ({
    recordingId: manifest.recordingId,
    meetingId: manifest.meetingId,
    status: 'ready',
    startedAt: manifest.startedAt,
    stoppedAt,
    durationMs,
    files: [...manifest.uploaded],
    ...extra,
  });

  // 1. Composite.
  if (manifest.state === 'recording' || manifest.state === 'processing') {
    manifest.state = 'processing';
    await writer.save();
    status({ status: 'processing', durationMs });
    for (const track of manifest.tracks) {
      for (const segment of track.segments) {
        if (!(await exists(path.join(recordingDir, segment.file)))) continue;
        segment.file = await finalizeTrackFile(recordingDir, segment.file, track.finalExt, log);
        await writer.save();
      }
    }
    const target = path.join(recordingDir, COMPOSITE_NAME);
    if (!options.skipComposite && !manifest.uploaded.some((f) => f.kind === 'composite')) {
      try {
        const inputs = await compositeInputs(recordingDir, writer, log);
        const started = Date.now();
        await runToEnd(FFMPEG_BIN, compositeArgs(inputs, durationMs / 1000, target, { ...DEFAULT_LAYOUT, ...options.layout }));
        manifest.composite = { file: COMPOSITE_NAME };
        log.info({ inputs: inputs.length, durationMs, encodeMs: Date.now() - started }, 'composite written');
      } catch (error) {
        // The per-track files are still worth uploading; the recording ends 'failed' with the reason.
        manifest.error = { code: 'MEDIA_ERROR', message: `composite failed: ${error instanceof Error ? error.message : String(error)}`.slice(0, 500) };
        log.error({ err: manifest.error.message }, 'composite failed');
      }
    }
    manifest.state = 'uploading';
    await writer.save();
  }

  // 2. Upload what is not confirmed yet; delete each local copy once it is.
  if (manifest.error?.message.startsWith('upload failed')) manifest.error = null; // this is the retry
  status({ status: 'uploading', durationMs });
  const pending: Array<{ name: string; kind: RecordingFile['kind']; contentType: string; participantId?: string; mediaKind?: 'audio' | 'video' }> = [];
  if (manifest.composite) pending.push({ name: manifest.composite.file, kind: 'composite', contentType: 'video/mp4' });
  for (const track of manifest.tracks) {
    for (const segment of track.segments) pending.push({ name: segment.file, kind: 'track', contentType: contentTypeOf(segment.file, track.kind), participantId: track.participantId, mediaKind: track.kind });
  }
  try {
    for (const file of pending) {
      if (manifest.uploaded.some((done) => done.key.endsWith(`/${file.name}`))) continue;
      const local = path.join(recordingDir, file.name);
      if (!(await exists(local))) {
        log.warn({ file: file.name }, 'track file is empty or missing (no packets arrived): nothing to upload');
        continue;
      }
      const digest = await digestFile(local);
      const receipt = await uploadConfirmed(uploader, { recordingId: manifest.recordingId, name: file.name, path: local, contentType: file.contentType, ...digest }, log, options.retry);
      manifest.uploaded.push({
        key: receipt.key,
        kind: file.kind,
        contentType: file.contentType,
        bytes: receipt.bytes,
        sha256: receipt.sha256,
        ...(file.participantId ? { participantId: file.participantId } : {}),
        ...(file.mediaKind ? { mediaKind: file.mediaKind } : {}),
      });
      await writer.save();
      await fs.rm(local, { force: true });
      log.info({ file: file.name, bytes: receipt.bytes, key: receipt.key }, 'upload confirmed, local copy deleted');
    }
  } catch (error) {
    // Local files stay, and the manifest stays 'uploading': the next node start retries.
    const message = `upload failed, files kept on the node for a retry at its next start: ${error instanceof Error ? error.message : String(error)}`.slice(0, 500);
    manifest.error = { code: 'INTERNAL', message };
    await writer.save();
    log.error({ err: message }, 'recording upload failed');
    status({ status: 'failed', durationMs, files: [...manifest.uploaded], error: manifest.error });
    return result({ status: 'failed', error: manifest.error });
  }

  // 3. Done: a composite failure or a stop for a full disk still ends 'failed' with its reason.
  manifest.state = manifest.error ? 'failed' : 'ready';
  await writer.save();
  const files = [...manifest.uploaded];
  if (manifest.error) {
    status({ status: 'failed', durationMs, files, error: manifest.error });
    return result({ status: 'failed', files, error: manifest.error });
  }
  // Everything is in the store: the folder (manifest, SDPs) is no longer needed.
  await fs.rm(recordingDir, { recursive: true, force: true });
  status({ status: 'ready', durationMs, files });
  return result({ files });
}
