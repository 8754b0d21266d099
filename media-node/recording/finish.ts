import { promises as fs } from 'node:fs';
import path from 'node:path';
import { compositeArgs, DEFAULT_LAYOUT, withGraphFile } from './composite.js';
import { measureCoverage } from './coverage.js';
import { FFMPEG_BIN, runToEnd } from './ffmpeg.js';
import { checkOutputs, codecOfMime } from './integrity.js';
import { afterUpload, recordingVerdict, type Verdict } from './status-rules.js';
import { finalizeTrackFiles } from './track-files.js';
import { uploadPending, type UploadOptions } from './upload-files.js';
import type { CompositeLayout, RecordingResult, RecordingStatusUpdate } from './types.js';
import { typedLog } from './log.js';

export const COMPOSITE_NAME = 'composite.mp4';

export interface FinishOptions extends UploadOptions {
  layout?: Partial<CompositeLayout>;
  onStatus?: (update: RecordingStatusUpdate) => void;
  /** Build no composite (the disk is full): upload the per-track files only. */
  skipComposite?: boolean;
}

/**
 * A composite is killed only when its ffmpeg reports no progress for this long: on a starved box a
 * short recording's composite can take minutes and must still finish (its progress every 5 s).
 */
const COMPOSITE_STALL_MS = 120_000;

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Capture is over: finalize track files → measure what they hold against when each track was live
 * → composite → integrity check (ffprobe) → verdict (status-rules.ts) → upload. The verdict is
 * decided and stored before uploading, so a resumed upload ends with the same one.
 */
async function processCapture(options: FinishOptions, durationMs: number): Promise<{ capturedAnything: boolean }> {
  const { recordingDir, writer } = options;
  const log = typedLog(options.log);
  const { manifest } = writer;
  await finalizeTrackFiles(recordingDir, manifest, () => writer.save(), log);
  const coverage = await measureCoverage(recordingDir, manifest, log);
  const placedAnything = coverage.inputs.length > 0;

  let compositeError: string | null = null;
  if (placedAnything && !options.skipComposite && !manifest.uploaded.some((f) => f.kind === 'composite')) {
    const target = path.join(recordingDir, COMPOSITE_NAME);
    try {
      const started = Date.now();
      const speakers = manifest.speakers.map((change) => ({ atSec: (change.at - manifest.startedAt) / 1000, participantId: change.participantId }));
      const command = withGraphFile(compositeArgs(coverage.inputs, durationMs / 1000, target, { ...DEFAULT_LAYOUT, ...options.layout }, speakers), path.join(recordingDir, 'composite-graph.txt'));
      if (command.graph !== null) await fs.writeFile(path.join(recordingDir, 'composite-graph.txt'), command.graph);
      const args = command.args;
      await runToEnd(FFMPEG_BIN, ['-progress', 'pipe:1', '-stats_period', '5', ...args], COMPOSITE_STALL_MS, { idle: true });
      manifest.composite = { file: COMPOSITE_NAME };
      log.info('composite written', { inputs: coverage.inputs.length, durationMs, speakerChanges: speakers.length, encodeMs: Date.now() - started });
    } catch (error) {
      compositeError = message(error).slice(0, 400);
      log.error('composite failed', { err: compositeError });
    }
  }

  const byFile = new Map(manifest.tracks.flatMap((track) => track.segments.map((segment) => [segment.file, track] as const)));
  const integrity = placedAnything
    ? await checkOutputs(
        {
          composite: manifest.composite ? { file: manifest.composite.file, path: path.join(recordingDir, manifest.composite.file) } : null,
          windowSec: durationMs / 1000,
          tracks: coverage.inputs.map((input) => {
            const file = path.basename(input.path);
            const span = coverage.spans.get(input.path);
            return { file, path: input.path, kind: input.kind, codec: codecOfMime(byFile.get(file)?.mimeType ?? ''), ...(span ? { span } : {}) };
          }),
        },
        log,
      )
    : [];

  const diskFull = manifest.error?.code === 'DISK_FULL' ? manifest.error.message : null;
  const verdict = recordingVerdict({
    window: { from: manifest.startedAt, to: manifest.startedAt + durationMs },
    tracks: coverage.facts,
    diskFull,
    compositeError,
    compositeFile: manifest.composite?.file ?? null,
    integrity,
    endedEarly: manifest.endedEarly,
  });
  manifest.verdict = verdict.status;
  manifest.notes = verdict.notes.map((note) => note.slice(0, 300)).slice(0, 64);
  manifest.error = verdict.error ?? null;
  if (verdict.status !== 'ready') log.warn('recording is not whole', { status: verdict.status, notes: verdict.notes });
  // A file that could not be read or placed may still be media: kept and uploaded.
  return { capturedAnything: coverage.mediaFiles > 0 };
}

/**
 * After capture: process (see above) → upload every file (confirmed by size + sha256) → delete
 * local copies. Resumable: the manifest says what is already built, decided and uploaded, so a
 * restarted node continues where the killed one stopped. Never throws: failures end as 'failed',
 * except an upload that may still succeed: 'uploading' (not final), tried again later.
 */
export async function finishRecording(options: FinishOptions): Promise<RecordingResult> {
  const { recordingDir, writer } = options;
  const log = typedLog(options.log);
  const { manifest } = writer;
  const stoppedAt = manifest.stoppedAt ?? Date.now();
  manifest.stoppedAt = stoppedAt;
  const durationMs = Math.max(0, stoppedAt - manifest.startedAt);
  const status = (update: Omit<RecordingStatusUpdate, 'recordingId' | 'meetingId'>) =>
    options.onStatus?.({ recordingId: manifest.recordingId, meetingId: manifest.meetingId, ...update });
  const result = (verdict: Verdict): RecordingResult => ({
    recordingId: manifest.recordingId,
    meetingId: manifest.meetingId,
    status: verdict.status,
    startedAt: manifest.startedAt,
    stoppedAt,
    durationMs,
    files: [...manifest.uploaded],
    notes: verdict.notes,
    ...(verdict.error ? { error: verdict.error } : {}),
  });
  /** Tells the final status and returns the result. */
  const end = (verdict: Verdict): RecordingResult => {
    status({ status: verdict.status, durationMs, files: [...manifest.uploaded], ...(verdict.error ? { error: verdict.error } : {}), ...(verdict.notes.length > 0 ? { notes: verdict.notes } : {}) });
    return result(verdict);
  };

  try {
    let capturedAnything = true;
    if (manifest.state === 'recording' || manifest.state === 'processing') {
      manifest.state = 'processing';
      await writer.save();
      status({ status: 'processing', durationMs });
      ({ capturedAnything } = await processCapture(options, durationMs));
      manifest.state = 'uploading';
      await writer.save();
    }
    // A manifest from before verdicts existed: its error was the whole story.
    if (manifest.error?.message.startsWith('upload failed')) manifest.error = null;
    const verdict: Verdict = {
      status: manifest.verdict ?? (manifest.error ? 'failed' : 'ready'),
      notes: manifest.notes,
      ...(manifest.error ? { error: manifest.error } : {}),
    };

    // Nothing was captured: nothing to upload or keep.
    if (!capturedAnything) {
      manifest.state = 'failed';
      await fs.rm(recordingDir, { recursive: true, force: true });
      return end(verdict);
    }

    status({ status: 'uploading', durationMs });
    const failure = await uploadPending(options);
    if (failure?.permanent) {
      // The store will never take these files: final, and kept on disk for an operator.
      manifest.state = 'failed';
      await writer.save();
      return end(afterUpload(verdict, failure.reason));
    }
    if (failure) {
      // Not final: the files stay, the manifest stays 'uploading', and the upload is tried again
      // (by the controller later, and at the next node start). The edge keeps the upload open.
      const files = [...manifest.uploaded];
      status({ status: 'uploading', durationMs, files, error: { code: 'INTERNAL', message: failure.reason }, notes: [failure.reason, ...verdict.notes] });
      return { ...result(verdict), status: 'uploading', error: { code: 'INTERNAL', message: failure.reason }, notes: [failure.reason, ...verdict.notes] };
    }
    manifest.state = verdict.status;
    await writer.save();
    // Everything is in the store: the folder (manifest, SDPs) is no longer needed.
    await fs.rm(recordingDir, { recursive: true, force: true });
    return end(verdict);
  } catch (error) {
    // A step that should not fail did (disk gone, manifest unwritable): say so, never hang.
    log.error('finishing the recording failed', { err: message(error) });
    return end({ status: 'failed', notes: [], error: { code: 'INTERNAL', message: `finishing failed: ${message(error)}`.slice(0, 500) } });
  }
}
