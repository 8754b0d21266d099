import { spawn, type ChildProcess } from 'node:child_process';

/** Debian's ffmpeg/ffprobe from PATH (apt-get install ffmpeg). */
export const FFMPEG_BIN = 'ffmpeg';
export const FFPROBE_BIN = 'ffprobe';

export interface FfmpegProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines ffmpeg wrote to stderr (for error messages and logs). */
  stderrTail(): string;
  /** Asks ffmpeg to finish its file (SIGINT → trailer written), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export function spawnFfmpeg(args: string[], bin: string = FFMPEG_BIN): FfmpegProcess {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  };
  child.stderr?.on('data', keep);
  child.stdout?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => {
      tail += `\nspawn error: ${error.message}`;
      resolve({ code: -1, signal: null });
    });
  });
  let stopping: Promise<void> | null = null;
  return {
    child,
    pid: child.pid ?? -1,
    exited,
    stderrTail: () => tail,
    stop(graceMs = 5000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        // The first SIGINT is seen at the next packet (trailer written). A reader blocked on an
        // idle socket needs a second one, which interrupts the read (no trailer: finish remuxes).
        child.kill('SIGINT');
        const nudge = setTimeout(() => child.kill('SIGINT'), 400);
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(nudge);
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/** Runs ffmpeg/ffprobe to completion; rejects with its stderr tail on a non-zero exit. */
export async function runToEnd(bin: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  });
  const stdout = Buffer.concat(out).toString('utf8');
  const stderr = Buffer.concat(err).toString('utf8');
  if (code !== 0) throw new Error(`${bin} exited ${code}: ${stderr.slice(-1500)}`);
  return { stdout, stderr };
}

export interface ProbedStream {
  index: number;
  codec_type: 'audio' | 'video' | string;
  codec_name: string;
  start_time?: string;
  duration?: string;
  width?: number;
  height?: number;
}

export interface ProbeResult {
  format: { duration?: string; size?: string; format_name: string; start_time?: string };
  streams: ProbedStream[];
}

export async function ffprobe(path: string): Promise<ProbeResult> {
  const { stdout } = await runToEnd(FFPROBE_BIN, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path]);
  return JSON.parse(stdout) as ProbeResult;
}

/**
 * Duration of a file by reading its packets (a killed ffmpeg leaves Matroska files without a
 * duration header; the last packet's end time is the truth).
 */
export async function mediaDurationSeconds(path: string): Promise<{ start: number; end: number }> {
  const { stdout } = await runToEnd(FFPROBE_BIN, [
    '-v', 'error', '-select_streams', '0', '-show_entries', 'packet=pts_time,duration_time', '-of', 'csv=p=0', path,
  ]);
  let start = Number.POSITIVE_INFINITY;
  let end = 0;
  for (const line of stdout.split('\n')) {
    const [pts, dur] = line.split(',');
    const t = Number(pts);
    if (!Number.isFinite(t)) continue;
    start = Math.min(start, t);
    end = Math.max(end, t + (Number(dur) || 0));
  }
  if (!Number.isFinite(start)) return { start: 0, end: 0 };
  return { start, end };
}
