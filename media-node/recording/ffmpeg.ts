import { spawn, type ChildProcess } from 'node:child_process';
import { z } from 'zod';

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

/**
 * Runs ffmpeg/ffprobe to completion; rejects with its stderr tail on a non-zero exit, and kills it
 * (SIGKILL) past `timeoutMs` so no step of finishing a recording can hang for ever. With
 * `idle`, the limit is on silence instead: each output chunk (e.g. `-progress`) restarts it, so a
 * long job on a starved box runs on while a stuck one is still killed.
 */
export async function runToEnd(bin: string, args: string[], timeoutMs = DEFAULT_RUN_TIMEOUT_MS, options: { idle?: boolean } = {}): Promise<{ stdout: string; stderr: string }> {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let timedOut = false;
  const kill = () => {
    timedOut = true;
    child.kill('SIGKILL');
  };
  let timer = setTimeout(kill, timeoutMs);
  const alive = () => {
    if (!options.idle || timedOut) return;
    clearTimeout(timer);
    timer = setTimeout(kill, timeoutMs);
  };
  child.stdout.on('data', (c: Buffer) => (out.push(c), alive()));
  child.stderr.on('data', (c: Buffer) => (err.push(c), alive()));
  // 'close', not 'exit': only then has all of stdout been read (a loaded box delivers the
  // last chunks after the exit, and a cut probe output reads as a broken or shorter file).
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c));
  }).finally(() => clearTimeout(timer));
  const stdout = Buffer.concat(out).toString('utf8');
  const stderr = Buffer.concat(err).toString('utf8');
  if (timedOut) throw new Error(`${bin} ${options.idle ? 'made no progress for' : 'took longer than'} ${Math.round(timeoutMs / 1000)} s and was killed`);
  if (code !== 0 && code !== null) throw new ToolRefused(`${bin} exited ${code}: ${stderr.slice(-1500)}`);
  if (code !== 0) throw new Error(`${bin} was ended by a signal: ${stderr.slice(-1500)}`);
  return { stdout, stderr };
}

/**
 * The tool ran to its end and refused (exit status ≠ 0): about its input, a verdict that running
 * it again would repeat. Anything else it could throw (not started, killed, timed out) says
 * nothing about the input.
 */
export class ToolRefused extends Error {}

/** Probes and remuxes of one file: generous for a loaded box, bounded all the same. */
export const DEFAULT_RUN_TIMEOUT_MS = 120_000;

const probedStreamSchema = z.object({
  index: z.number(),
  codec_type: z.string(),
  codec_name: z.string().optional().default(''),
  start_time: z.string().optional(),
  duration: z.string().optional(),
  width: z.number().optional(),
  height: z.number().optional(),
});
const probeResultSchema = z.object({
  format: z.object({ duration: z.string().optional(), size: z.string().optional(), format_name: z.string(), start_time: z.string().optional() }),
  streams: z.array(probedStreamSchema),
});
export type ProbedStream = z.infer<typeof probedStreamSchema>;
export type ProbeResult = z.infer<typeof probeResultSchema>;

export async function ffprobe(path: string): Promise<ProbeResult> {
  const { stdout } = await runToEnd(FFPROBE_BIN, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path]);
  return probeResultSchema.parse(JSON.parse(stdout));
}

/** Packet times (seconds, sorted) of a file's first stream, read packet by packet. */
export async function packetTimes(path: string): Promise<Array<{ pts: number; end: number }>> {
  const { stdout } = await runToEnd(FFPROBE_BIN, [
    '-v', 'error', '-select_streams', '0', '-show_entries', 'packet=pts_time,duration_time', '-of', 'csv=p=0', path,
  ]);
  const packets: Array<{ pts: number; end: number }> = [];
  for (const line of stdout.split('\n')) {
    const [pts, dur] = line.split(',');
    const t = Number(pts);
    if (pts === undefined || pts === '' || !Number.isFinite(t)) continue;
    packets.push({ pts: t, end: t + (Number(dur) || 0) });
  }
  return packets.sort((a, b) => a.pts - b.pts);
}

/**
 * Duration of a file by reading its packets (a killed ffmpeg leaves Matroska files without a
 * duration header; the last packet's end time is the truth).
 */
export async function mediaDurationSeconds(path: string): Promise<{ start: number; end: number }> {
  const packets = await packetTimes(path);
  if (packets.length === 0) return { start: 0, end: 0 };
  return { start: packets[0]!.pts, end: packets.reduce((end, p) => Math.max(end, p.end), 0) };
}
