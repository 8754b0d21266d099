import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FFMPEG_BIN, runToEnd } from './ffmpeg.js';
import type { Manifest } from './manifest.js';
import { typedLog, type RecorderLogger } from './log.js';

export const fileExists = (file: string) => fs.stat(file).then((s) => s.isFile() && s.size > 0, () => false);

/**
 * Remuxes a captured track file (IVF / WebM / MPEG-TS, see sdp.ts containerFor) into the delivered
 * WebM/Matroska by stream copy, timestamps kept: it gains its duration and seek index, which a
 * capture stopped while idle or killed leaves out. Returns the file name to use from now on; keeps
 * the captured file if remuxing fails (it is still uploaded, as written). The captured file stays
 * either way: the caller deletes it once the manifest names the new one (finalizeTrackFiles).
 */
export async function finalizeTrackFile(recordingDir: string, captured: string, finalExt: 'webm' | 'mkv', logger: RecorderLogger): Promise<string> {
  const log = typedLog(logger);
  const base = captured.slice(0, captured.lastIndexOf('.'));
  const finalName = `${base}.${finalExt}`;
  const temp = path.join(recordingDir, `${base}.remux.${finalExt}`);
  try {
    await runToEnd(FFMPEG_BIN, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-i', path.join(recordingDir, captured), '-map', '0', '-c', 'copy', '-copyts', '-f', finalExt === 'webm' ? 'webm' : 'matroska', temp]);
    if (!(await fileExists(temp))) throw new Error('remux wrote nothing');
    await fs.rename(temp, path.join(recordingDir, finalName));
    return finalName;
  } catch (error) {
    await fs.rm(temp, { force: true });
    log.warn('could not finalize a track file: kept as written', { file: captured, err: error instanceof Error ? error.message.slice(0, 300) : String(error) });
    return captured;
  }
}

/**
 * Finalizes every segment file that exists; the manifest follows each rename. The captured file is
 * deleted only after the saved manifest names its successor: a node killed in between leaves a
 * manifest that still names a file on disk (recovery finalizes it again), never one that is gone.
 */
export async function finalizeTrackFiles(recordingDir: string, manifest: Manifest, save: () => Promise<void>, log: RecorderLogger): Promise<void> {
  for (const track of manifest.tracks) {
    for (const segment of track.segments) {
      if (!(await fileExists(path.join(recordingDir, segment.file)))) continue;
      const captured = segment.file;
      segment.file = await finalizeTrackFile(recordingDir, captured, track.finalExt, log);
      if (segment.file === captured) continue;
      await save();
      await fs.rm(path.join(recordingDir, captured), { force: true });
    }
  }
}
