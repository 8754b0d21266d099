/**
 * `npm run bench:recording [-- --recordings 4 --seconds 10]`
 *
 * Measures, on this machine, with a real mediasoup worker and real ffmpeg:
 *  1. the capture path: N concurrent recordings (one participant, audio + video, each) — CPU of
 *     their capture ffmpegs plus what the mediasoup worker spends extra on the recording
 *     consumers → recordings per core;
 *  2. the composite: a grid of all N participants (N videos + N audios), encoded by the same
 *     ffmpeg command the recorder runs → speed as × real time (wall clock) and CPU seconds per
 *     media second.
 * Senders are pre-encoded test streams sent in real time (their CPU is not counted).
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as mediasoup from 'mediasoup';
import { pino } from 'pino';
import { compositeArgs, DEFAULT_LAYOUT, type CompositeInput } from '../media-node/recording/composite.js';
import { FFMPEG_BIN } from '../media-node/recording/ffmpeg.js';
import { createRecorder } from '../media-node/recording/recorder.js';
import { startSyntheticParticipant } from '../media-node/recording/test/synthetic-participant.js';
import type { Recorder, UploadInput, Uploader } from '../media-node/recording/types.js';
import { ROUTER_MEDIA_CODECS } from '../media-node/workers/media-codecs.js';

const arg = (name: string, fallback: number) => {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
};
const RECORDINGS = arg('recordings', 4);
const SECONDS = arg('seconds', 10);
const TICKS = 100; // USER_HZ: /proc/<pid>/stat counts CPU in 1/100 s
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = pino({ level: 'warn' });

async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / TICKS;
}
const totalCpu = async (pids: number[]) => (await Promise.all(pids.map(cpuSeconds))).reduce((a, b) => a + b, 0);

/** Keeps the finished files for the composite measurement; confirms like a store would. */
class KeepingUploader implements Uploader {
  readonly name = 'keep';
  readonly kept: Array<{ name: string; path: string }> = [];
  constructor(private readonly dir: string) {}
  async upload(input: UploadInput) {
    const copy = path.join(this.dir, `${input.recordingId}-${input.name}`);
    await copyFile(input.path, copy);
    this.kept.push({ name: input.name, path: copy });
    const sha256 = createHash('sha256').update(await readFile(copy)).digest('hex');
    return { key: `${input.recordingId}/${input.name}`, bytes: input.bytes, sha256 };
  }
}

const worker = await mediasoup.createWorker({ logLevel: 'warn' });
const router = await worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS });
const dir = await mkdtemp(path.join(os.tmpdir(), 'edgemeet-bench-rec-'));
const keep = await mkdtemp(path.join(os.tmpdir(), 'edgemeet-bench-keep-'));
const people = await Promise.all(
  Array.from({ length: RECORDINGS }, (_, i) => startSyntheticParticipant(router, { participantId: `bench-${String(i).padStart(6, '0')}`, pattern: 'testsrc' })),
);
await sleep(3000);

// Baseline: the worker forwarding the senders only.
let workerBefore = await cpuSeconds(worker.pid);
let t = Date.now();
await sleep(5000);
const workerBaseline = (await cpuSeconds(worker.pid)) - workerBefore;
const baselineWindow = (Date.now() - t) / 1000;

// Capture path: one recording per participant.
const uploader = new KeepingUploader(keep);
const recorders: Recorder[] = [];
for (const [i, person] of people.entries()) {
  const recorder = await createRecorder({ router, recordingId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, meetingId: `BenchMeeting${String(i).padStart(10, '0')}`, dir, log, uploader, minFreeBytes: 0 });
  await recorder.addProducer(person.audio, { participantId: person.participantId, source: 'mic' });
  await recorder.addProducer(person.video, { participantId: person.participantId, source: 'camera' });
  recorders.push(recorder);
}
await sleep(3000); // past start-up and the anchoring window
const pids = recorders.flatMap((r, i) => [r.ffmpegPidOf(people[i]!.audio.id), r.ffmpegPidOf(people[i]!.video.id)]).filter((p): p is number => p !== null);
const ffmpegBefore = await totalCpu(pids);
workerBefore = await cpuSeconds(worker.pid);
t = Date.now();
await sleep(SECONDS * 1000);
const window = (Date.now() - t) / 1000;
const ffmpegCpu = (await totalCpu(pids)) - ffmpegBefore;
const workerExtra = Math.max(0, (await cpuSeconds(worker.pid)) - workerBefore - (workerBaseline * window) / baselineWindow);
const perRecording = (ffmpegCpu + workerExtra) / RECORDINGS / window; // cores
await Promise.all(recorders.map((r) => r.stop()));

// Composite: all participants' tracks in one grid, the recorder's own ffmpeg command.
const inputs: CompositeInput[] = uploader.kept
  .filter((f) => f.name.endsWith('.webm'))
  .map((f) => ({ path: f.path, kind: f.name.includes('-audio-') ? 'audio' : 'video', tile: f.name.replace(/-(mic|camera)-.*$/, ''), offsetSec: 0 }));
const duration = SECONDS + 3;
const output = path.join(keep, 'bench-composite.mp4');
const args = compositeArgs(inputs, duration, output, DEFAULT_LAYOUT);
const started = Date.now();
const cpu = await new Promise<number>((resolve, reject) => {
  const child = spawn(FFMPEG_BIN, args, { stdio: 'ignore' });
  let last = 0;
  const timer = setInterval(() => void cpuSeconds(child.pid!).then((s) => (last = Math.max(last, s))), 100);
  child.once('error', reject);
  child.once('exit', (code) => {
    clearInterval(timer);
    if (code === 0) resolve(last);
    else reject(new Error(`composite ffmpeg exited ${code}`));
  });
});
const encodeSeconds = (Date.now() - started) / 1000;

for (const person of people) await person.leave();
worker.close();
await rm(dir, { recursive: true, force: true });
await rm(keep, { recursive: true, force: true });

const load = os.loadavg()[0]!.toFixed(1);
console.log(`machine: ${os.cpus().length} cores, load average ${load} (others' work shares these cores)`);
console.log(`capture path: ${RECORDINGS} concurrent recordings × (1 audio + 1 video track), ${window.toFixed(1)} s window`);
console.log(`  capture ffmpegs ${(ffmpegCpu / window).toFixed(3)} cores, worker extra ${(workerExtra / window).toFixed(3)} cores`);
console.log(`  per recording: ${(perRecording * 100).toFixed(2)} % of a core → ~${Math.floor(1 / perRecording)} concurrent recordings per core (capture only)`);
console.log(`composite: ${inputs.filter((i) => i.kind === 'video').length} videos + ${inputs.filter((i) => i.kind === 'audio').length} audios → ${DEFAULT_LAYOUT.width}x${DEFAULT_LAYOUT.height}@${DEFAULT_LAYOUT.fps} H.264 veryfast + AAC, ${duration} s`);
console.log(`  encode ${encodeSeconds.toFixed(1)} s wall → ${(duration / encodeSeconds).toFixed(2)}× real time; ${(cpu / duration).toFixed(2)} CPU-s per media second (${(duration / Math.max(cpu, 0.001)).toFixed(2)}× real time per fully used core)`);
