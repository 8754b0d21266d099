import { FFMPEG_BIN, runToEnd } from '../ffmpeg.js';

/**
 * Finds a sync event in a composite: the first frame (from `fromSec` on) whose crop (the sync
 * sender's tile) turns bright, and the first moment the mixed audio rises above the quiet tones
 * (silencedetect).
 */
export async function firstFlashSeconds(file: string, crop: { x: number; y: number; w: number; h: number }, fromSec = 0): Promise<number | null> {
  const { stdout } = await runToEnd(FFMPEG_BIN, [
    '-hide_banner', '-nostdin', '-i', file, '-an',
    '-vf', `crop=${crop.w}:${crop.h}:${crop.x}:${crop.y},signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-`,
    '-f', 'null', '-',
  ]);
  let time: number | null = null;
  for (const line of stdout.split('\n')) {
    const frame = /pts_time:([\d.]+)/.exec(line);
    if (frame) time = Number(frame[1]);
    const luma = /lavfi\.signalstats\.YAVG=([\d.]+)/.exec(line);
    if (luma && time !== null && time >= fromSec && Number(luma[1]) > 128) return time;
  }
  return null;
}

export async function firstBeepSeconds(file: string, fromSec = 0): Promise<number | null> {
  const { stderr } = await runToEnd(FFMPEG_BIN, ['-hide_banner', '-nostdin', '-i', file, '-vn', '-af', 'silencedetect=noise=-20dB:duration=0.05', '-f', 'null', '-']);
  const beep = [...stderr.matchAll(/silence_end: ([\d.]+)/g)].map((m) => Number(m[1])).find((at) => at >= fromSec);
  return beep ?? null;
}

/** Mean luma (0–255) of a region of a video between two times (a black tile is ~16). */
export async function meanLuma(file: string, fromSec: number, toSec: number, crop?: { x: number; y: number; w: number; h: number }): Promise<number> {
  const filters = [...(crop ? [`crop=${crop.w}:${crop.h}:${crop.x}:${crop.y}`] : []), 'signalstats', 'metadata=print:key=lavfi.signalstats.YAVG:file=-'];
  const { stdout } = await runToEnd(FFMPEG_BIN, ['-hide_banner', '-nostdin', '-ss', fromSec.toFixed(3), '-t', (toSec - fromSec).toFixed(3), '-i', file, '-an', '-vf', filters.join(','), '-f', 'null', '-']);
  const values = [...stdout.matchAll(/lavfi\.signalstats\.YAVG=([\d.]+)/g)].map((m) => Number(m[1]));
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Mean volume (dB) of the audio between two times (silence is -91 dB). */
export async function meanVolumeDb(file: string, fromSec: number, toSec: number): Promise<number> {
  const { stderr } = await runToEnd(FFMPEG_BIN, ['-hide_banner', '-nostdin', '-ss', fromSec.toFixed(3), '-t', (toSec - fromSec).toFixed(3), '-i', file, '-vn', '-af', 'volumedetect', '-f', 'null', '-']);
  const match = /mean_volume: (-?[\d.]+) dB/.exec(stderr);
  return match ? Number(match[1]) : Number.NEGATIVE_INFINITY;
}
