import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What ffprobe sees in a downloaded recording file. */
export interface Probe {
  durationSec: number;
  startSec: number;
  streams: Array<{ kind: string; codec: string; durationSec: number | null }>;
}

export async function probe(file: string): Promise<Probe> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration,start_time:stream=codec_type,codec_name,duration', '-of', 'json', file]);
  const json = JSON.parse(stdout) as { format?: { duration?: string; start_time?: string }; streams?: Array<{ codec_type: string; codec_name: string; duration?: string }> };
  return {
    durationSec: Number(json.format?.duration ?? Number.NaN),
    startSec: Number(json.format?.start_time ?? 0),
    streams: (json.streams ?? []).map((s) => ({ kind: s.codec_type, codec: s.codec_name, durationSec: s.duration ? Number(s.duration) : null })),
  };
}

/** Audio loudness every 100 ms of a file's timeline (RMS dBFS; silence is very negative). */
export interface Envelope {
  /** Chunk start, seconds from the start of the file's timeline. */
  at: number[];
  rmsDb: number[];
}

/**
 * RMS per 0.1 s chunk. `aresample=async=1` fills timestamp gaps with silence, so a track file
 * whose producer paused still lines up with the wall clock.
 */
export async function loudness(file: string): Promise<Envelope> {
  const { stdout } = await run('ffmpeg', [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-i', file, '-vn',
    '-af', 'aresample=48000:async=1:first_pts=0,asetnsamples=n=4800:p=0,astats=metadata=1:reset=1,ametadata=print:key=lavfi.astats.Overall.RMS_level:file=-',
    '-f', 'null', '-',
  ], { maxBuffer: 64 * 1024 * 1024 });
  const at: number[] = [];
  const rmsDb: number[] = [];
  let time: number | null = null;
  for (const line of stdout.split('\n')) {
    const frame = /pts_time:([-\d.]+)/.exec(line);
    if (frame) time = Number(frame[1]);
    const rms = /RMS_level=(-?[\d.]+|-inf)/.exec(line);
    if (rms && time !== null) {
      at.push(time);
      rmsDb.push(rms[1] === '-inf' ? -200 : Number(rms[1]));
    }
  }
  return { at, rmsDb };
}

/** A chunk louder than this holds a beep (the beeps are ~-9 dBFS RMS; muted/silence ≲ -60). */
export const LOUD_DB = -40;

/** Chunks of [from, to) measured at all (to know the range is inside the file). */
export function chunksIn(envelope: Envelope, from: number, to: number): number {
  return envelope.at.filter((at) => at >= from && at + 0.1 <= to).length;
}

/** Mean luma (0–255) of a video between two times (black is ~16). */
export async function meanLuma(file: string, from: number, to: number): Promise<number> {
  const { stdout } = await run('ffmpeg', [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-ss', from.toFixed(3), '-t', (to - from).toFixed(3), '-i', file, '-an',
    '-vf', 'signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-', '-f', 'null', '-',
  ], { maxBuffer: 64 * 1024 * 1024 });
  const values = [...stdout.matchAll(/lavfi\.signalstats\.YAVG=([\d.]+)/g)].map((m) => Number(m[1]));
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Stretches of [from, to) at least `minS` long with no loud chunk: where no beep was heard. */
export function silentRuns(envelope: Envelope, from: number, to: number, minS: number): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  let runStart: number | null = null;
  const close = (end: number) => {
    if (runStart !== null && end - runStart >= minS - 1e-6) runs.push([runStart, end]);
    runStart = null;
  };
  envelope.at.forEach((at, i) => {
    if (at < from || at + 0.1 > to) return;
    if (envelope.rmsDb[i]! > LOUD_DB) close(at);
    else runStart ??= at;
  });
  close(Math.min(to, (envelope.at.at(-1) ?? to) + 0.1));
  return runs;
}
