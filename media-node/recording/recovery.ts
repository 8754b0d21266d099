import { promises as fs } from 'node:fs';
import path from 'node:path';
import { finishRecording } from './finish.js';
import { closeLiveSpans } from './live-spans.js';
import { ManifestWriter, readManifest, type Manifest } from './manifest.js';
import type { RetryPolicy } from './uploader.js';
import type { CompositeLayout, RecordingResult, RecordingStatusUpdate, Uploader } from './types.js';
import type { Log } from '../log.js';
import { typedLog, type RecorderLogger } from './log.js';

export interface RecoveryOptions {
  dir: string;
  uploader: Uploader;
  log: RecorderLogger;
  layout?: Partial<CompositeLayout>;
  onStatus?: (update: RecordingStatusUpdate) => void;
  retry?: RetryPolicy;
  /** Only folders whose manifest passes (a running node retries its pending uploads this way). */
  only?: (manifest: Manifest) => boolean;
}

const isUuid = (name: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(name);

/** Stops an ffmpeg a killed node left behind (only if it is really our ffmpeg writing that file). */
async function stopOrphan(pid: number | null, file: string, log: Log): Promise<void> {
  if (pid === null || pid <= 0) return;
  const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.includes('ffmpeg') || !cmdline.includes(file)) return;
  log.warn('stopping an orphaned capture ffmpeg', { pid, file });
  const alive = () => fs.stat(`/proc/${pid}`).then(() => true, () => false);
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      /* gone already */
    }
  };
  // Its sender is gone, so it sits in a read: the second SIGINT interrupts that (see ffmpeg.ts).
  signal('SIGINT');
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 100));
    if (!(await alive())) return;
    if (i === 4) signal('SIGINT');
  }
  signal('SIGKILL');
}

/** When the killed node stopped writing: the newest track file's mtime (or the manifest's). */
async function lastWriteMs(recordingDir: string, manifest: Manifest): Promise<number> {
  let last = 0;
  for (const track of manifest.tracks) {
    for (const segment of track.segments) {
      const stat = await fs.stat(path.join(recordingDir, segment.file)).catch(() => null);
      if (stat) last = Math.max(last, stat.mtimeMs);
    }
  }
  if (last === 0) last = (await fs.stat(path.join(recordingDir, 'manifest.json'))).mtimeMs;
  return Math.round(last);
}

/**
 * At node start: every recording folder a previous process left unfinished is finished now
 * (composite + upload of what was written) or reported failed with the reason — never dropped
 * silently. Call it before taking new recordings; it runs the folders one after another.
 */
export async function recoverRecordings(options: RecoveryOptions): Promise<RecordingResult[]> {
  const { dir } = options;
  const log = typedLog(options.log);
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  const results: RecordingResult[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || !isUuid(entry.name)) continue;
    const recordingDir = path.join(dir, entry.name);
    let manifest: Manifest;
    try {
      manifest = await readManifest(recordingDir);
    } catch (error) {
      log.error('recording folder without a readable manifest: left for an operator', { recordingId: entry.name, err: error instanceof Error ? error.message : String(error) });
      continue;
    }
    if (manifest.state === 'ready' || manifest.state === 'incomplete' || manifest.state === 'failed') continue;
    if (options.only && !options.only(manifest)) continue;
    const recLog = log.child({ recordingId: manifest.recordingId, meetingId: manifest.meetingId });
    recLog.warn('recovering a recording interrupted by a node restart', { state: manifest.state });
    // Cut short by the restart: what was written is finished, and the host hears it is not whole.
    if (manifest.state === 'recording') manifest.endedEarly ??= 'the media node restarted during the recording: it ends at the restart';
    for (const track of manifest.tracks) {
      for (const segment of track.segments) {
        if (segment.endedAt === null) {
          await stopOrphan(segment.pid, segment.ffmpegOutput ?? segment.file, recLog);
          segment.endedAt = Date.now();
          segment.endReason = 'nodeRestarted';
        }
      }
    }
    if (manifest.stoppedAt === null) manifest.stoppedAt = await lastWriteMs(recordingDir, manifest);
    for (const track of manifest.tracks) closeLiveSpans(track, manifest.stoppedAt);
    const writer = new ManifestWriter(recordingDir, manifest);
    await writer.save();
    results.push(await finishRecording({ recordingDir, writer, uploader: options.uploader, log: recLog, layout: options.layout, onStatus: options.onStatus, ...(options.retry ? { retry: options.retry } : {}) }));
  }
  return results;
}
