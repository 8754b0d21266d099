/**
 * `npm run bench:recording [-- --recordings 4 --seconds 10 --composite-repeats 3 --integrity-runs 20 --integrity-seconds 5]`
 *
 * Measures, on this machine, with a real mediasoup worker and real ffmpeg, and writes
 * bench-results/recording.json:
 *  1. capturesPerCore: N concurrent recordings (one participant, audio + video each) — CPU of
 *     their capture ffmpegs plus what the mediasoup worker spends extra on the recording
 *     consumers → captured tracks (one ffmpeg each) per core;
 *  2. compositeSpeedX / plainFfmpegSpeedX: the composite of all N participants, encoded by the
 *     recorder's own ffmpeg command in its active-speaker layout (the speaker changing every 2.5 s),
 *     and plain ffmpeg transcoding one of its inputs with the same
 *     encoders to the same 720p H.264 + AAC, each as × real time on one core (seconds of media
 *     per CPU second of the ffmpeg process: on a shared box, wall clock measures the neighbours),
 *     alternated COMPOSITE_REPEATS times in the same run; the JSON has the medians, the printout
 *     the spread;
 *  3. integrityRuns / integrityFailures: short recordings back to back through the node's
 *     recording controller (mic muted then unmuted, camera off at the start, a late publisher),
 *     each probed before it may be 'ready'; a failure is any recording that does not end 'ready'.
 * Senders are pre-encoded test streams sent in real time (their CPU is not counted).
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as mediasoup from 'mediasoup';
import type { Router } from 'mediasoup/types';
import { pino } from 'pino';
import type { NodeEvent } from '../schema/wire/index.js';
import { z } from 'zod';
import { COMPOSITE_ENCODE_ARGS, compositeArgs, DEFAULT_LAYOUT, type CompositeInput } from '../media-node/recording/composite.js';
import { recordingControllerFactory } from '../media-node/recording/controller.js';
import { FFMPEG_BIN } from '../media-node/recording/ffmpeg.js';
import { createRecorder } from '../media-node/recording/recorder.js';
import { FakeRoom } from '../media-node/recording/test/fake-room.js';
import { startSyntheticParticipant, type SyntheticParticipant } from '../media-node/recording/test/synthetic-participant.js';
import type { Recorder, UploadInput, Uploader } from '../media-node/recording/types.js';
import { ROUTER_MEDIA_CODECS } from '../media-node/workers/media-codecs.js';

const arg = (name: string, fallback: number) => {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
};
const RECORDINGS = arg('recordings', 4);
const COMPOSITE_REPEATS = arg('composite-repeats', 3);
const SECONDS = arg('seconds', 10);
const INTEGRITY_RUNS = arg('integrity-runs', 20);
const INTEGRITY_SECONDS = arg('integrity-seconds', 5);
const TICKS = 100; // USER_HZ: /proc/<pid>/stat counts CPU in 1/100 s
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = pino({ level: process.env['LOG_LEVEL'] ?? 'warn' });

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

/**
 * Runs a command to the end and answers the CPU seconds it used (user + system, its threads and
 * children included: bash's `times` reports what wait4 counted) and the wall seconds it took.
 */
export async function cpuSecondsOf(bin: string, args: string[]): Promise<{ cpuSeconds: number; wallSeconds: number }> {
  const started = Date.now();
  const script = '"$@" >/dev/null 2>&1; code=$?; times; exit $code';
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn('bash', ['-c', script, 'bash', bin, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(Buffer.concat(out).toString('utf8')) : reject(new Error(`${bin} exited ${code}`))));
  });
  // `times`: the shell's own user/system line, then its children's ("0m6.234s 0m0.345s").
  const children = stdout.trim().split('\n').at(-1) ?? '';
  const parts = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (parts.length !== 2) throw new Error(`could not read the CPU time of ${bin}: ${JSON.stringify(stdout)}`);
  return { cpuSeconds: parts[0]! + parts[1]!, wallSeconds: (Date.now() - started) / 1000 };
}

/** What bench-results/recording.json holds: exactly issue 12's fields. */
export const recordingResultSchema = z.strictObject({
  capturesPerCore: z.number().int().nonnegative(),
  compositeSpeedX: z.number().positive(),
  plainFfmpegSpeedX: z.number().positive(),
  integrityRuns: z.number().int().nonnegative(),
  integrityFailures: z.number().int().nonnegative(),
});
export type RecordingResult = z.infer<typeof recordingResultSchema>;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

async function measureCapture(router: Router, workerPid: number, people: SyntheticParticipant[], dir: string, uploader: KeepingUploader) {
  let workerBefore = await cpuSeconds(workerPid);
  let t = Date.now();
  await sleep(5000);
  const workerBaseline = (await cpuSeconds(workerPid)) - workerBefore;
  const baselineWindow = (Date.now() - t) / 1000;
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
  workerBefore = await cpuSeconds(workerPid);
  t = Date.now();
  await sleep(SECONDS * 1000);
  const window = (Date.now() - t) / 1000;
  const ffmpegCpu = (await totalCpu(pids)) - ffmpegBefore;
  const workerExtra = Math.max(0, (await cpuSeconds(workerPid)) - workerBefore - (workerBaseline * window) / baselineWindow);
  await Promise.all(recorders.map((r) => r.stop()));
  const perCapture = (ffmpegCpu + workerExtra) / (2 * RECORDINGS) / window; // cores per captured track
  return { window, ffmpegCpu, workerExtra, perCapture };
}

/**
 * The composite of `inputs` (the recorder's own command) against plain ffmpeg transcoding one
 * participant's video + audio with the same encoders to the same 720p output, alternated
 * `repeats` times; speeds are seconds of media per CPU second (× real time on one core).
 */
export async function measureComposite(inputs: CompositeInput[], duration: number, keep: string, repeats: number) {
  const video = inputs.find((i) => i.kind === 'video')!;
  const audio = inputs.find((i) => i.kind === 'audio')!;
  const plainArgs = [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-i', video.path, '-i', audio.path,
    '-map', '0:v', '-map', '1:a', '-vf', `scale=${DEFAULT_LAYOUT.width}:${DEFAULT_LAYOUT.height},fps=${DEFAULT_LAYOUT.fps},format=yuv420p`, '-filter_threads', '1',
    ...COMPOSITE_ENCODE_ARGS(DEFAULT_LAYOUT), '-t', String(duration), '-f', 'mp4', path.join(keep, 'bench-plain.mp4'),
  ];
  // The active-speaker layout (the composite's usual one): the floor passes to the next camera every 2.5 s.
  const cameras = [...new Set(inputs.filter((i) => i.kind === 'video').map((i) => i.tile.replace(/:camera$/, '')))];
  const speakers = Array.from({ length: Math.ceil(duration / 2.5) }, (_, k) => ({ atSec: k * 2.5, participantId: cameras[k % cameras.length]! }));
  const composite: number[] = [];
  const plain: number[] = [];
  for (let i = 0; i < repeats; i++) {
    composite.push(duration / (await cpuSecondsOf(FFMPEG_BIN, compositeArgs(inputs, duration, path.join(keep, 'bench-composite.mp4'), DEFAULT_LAYOUT, speakers))).cpuSeconds);
    plain.push(duration / (await cpuSecondsOf(FFMPEG_BIN, plainArgs)).cpuSeconds);
  }
  return { composite, plain, compositeSpeedX: median(composite), plainFfmpegSpeedX: median(plain) };
}

/** Short recordings back to back through the controller, as the edge drives them. */
async function integrityRuns(router: Router, dir: string) {
  const finals = new Map<string, Extract<NodeEvent, { event: 'recordingStatus' }>>();
  const upload: Uploader = { name: 'discard', upload: async (input) => ({ key: `${input.recordingId}/${input.name}`, bytes: input.bytes, sha256: input.sha256 }) };
  const controller = recordingControllerFactory({ uploader: upload, recoverOnStart: false, minFreeBytes: 0 })({
    emitEvent: (event) => void (event.event === 'recordingStatus' && (event.status === 'ready' || event.status === 'failed') && finals.set(event.recordingId, event)),
    log,
    recordingsDir: dir,
  });
  const room = new FakeRoom('BenchIntegrity00000001', router);
  const host = await startSyntheticParticipant(router, { participantId: 'host-0000001', pattern: 'testsrc' });
  const guest = await startSyntheticParticipant(router, { participantId: 'guest-000001', pattern: 'testsrc' });
  room.publish(host.audio, host.participantId, 'mic');
  room.publish(host.video, host.participantId, 'camera');
  room.publish(guest.audio, guest.participantId, 'mic');
  room.publish(guest.video, guest.participantId, 'camera');
  await sleep(1500);
  const ids: string[] = [];
  const late: SyntheticParticipant[] = [];
  for (let i = 0; i < INTEGRITY_RUNS; i++) {
    const recordingId = `00000000-0000-4000-9000-${String(i).padStart(12, '0')}`;
    ids.push(recordingId);
    if (i % 3 === 0) await guest.audio.pause();
    if (i % 3 === 1) await guest.video.pause();
    await controller.start(room, recordingId);
    await sleep((INTEGRITY_SECONDS * 1000) / 3);
    if (i % 3 === 0) await guest.audio.resume();
    if (i % 3 === 1) await guest.video.resume();
    // A newcomer starts sending as it publishes (as a browser does), with warm captures ready for
    // it as on a node that records (a box loaded by other work may take a while to refill them).
    let newcomer: SyntheticParticipant | null = null;
    if (i % 3 === 2) {
      for (let waited = 0; controller.warmCaptures() < 4 && waited < 60_000; waited += 250) await sleep(250);
      newcomer = await startSyntheticParticipant(router, { participantId: `late-${String(i).padStart(7, '0')}`, pattern: 'testsrc' });
      late.push(newcomer);
      room.publish(newcomer.audio, newcomer.participantId, 'mic');
      room.publish(newcomer.video, newcomer.participantId, 'camera');
      // Its media flows before the rest of the window is timed (a loaded box starts a sender late).
      await newcomer.mediaZeroAt;
    }
    await sleep((INTEGRITY_SECONDS * 2000) / 3);
    await controller.stop(room.meetingId, recordingId, undefined);
    await newcomer?.leave();
  }
  const deadline = Date.now() + 600_000;
  while (ids.some((id) => !finals.has(id)) && Date.now() < deadline) await sleep(500);
  await controller.close();
  for (const person of [host, guest, ...late]) await person.leave();
  const failures = ids.filter((id) => finals.get(id)?.status !== 'ready');
  for (const id of failures) console.log(`  not ready: ${id} ${JSON.stringify(finals.get(id)?.notes ?? 'no final status')}`);
  return { runs: ids.length, failures: failures.length };
}

async function main(): Promise<void> {
  const worker = await mediasoup.createWorker({ logLevel: 'warn' });
  const router = await worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'edgemeet-bench-rec-'));
  const keep = await mkdtemp(path.join(os.tmpdir(), 'edgemeet-bench-keep-'));
  const people = await Promise.all(
    Array.from({ length: RECORDINGS }, (_, i) => startSyntheticParticipant(router, { participantId: `bench-${String(i).padStart(6, '0')}`, pattern: 'testsrc' })),
  );
  await sleep(3000);
  const uploader = new KeepingUploader(keep);
  const capture = await measureCapture(router, worker.pid, people, dir, uploader);
  const compositeInputs: CompositeInput[] = uploader.kept
    .filter((f) => f.name.endsWith('.webm'))
    .map((f) => ({ path: f.path, kind: f.name.includes('-audio-') ? 'audio' : 'video', tile: f.name.replace(/-(mic|camera)-.*$/, (_, source: string) => `:${source}`), offsetSec: 0 }));
  const compositeSeconds = SECONDS + 3;
  const composite = await measureComposite(compositeInputs, compositeSeconds, keep, COMPOSITE_REPEATS);
  for (const person of people) await person.leave();
  const integrity = await integrityRuns(router, dir);
  worker.close();
  await rm(dir, { recursive: true, force: true });
  await rm(keep, { recursive: true, force: true });

  const load = os.loadavg()[0]!.toFixed(1);
  console.log(`machine: ${os.cpus().length} cores, load average ${load} (others' work shares these cores)`);
  console.log(`capture path: ${RECORDINGS} concurrent recordings × (1 audio + 1 video track), ${capture.window.toFixed(1)} s window`);
  console.log(`  capture ffmpegs ${(capture.ffmpegCpu / capture.window).toFixed(3)} cores, worker extra ${(capture.workerExtra / capture.window).toFixed(3)} cores`);
  console.log(`  per captured track: ${(capture.perCapture * 100).toFixed(2)} % of a core → ~${Math.floor(1 / capture.perCapture)} captures per core`);
  const spreadOf = (values: number[]) => `median ${median(values).toFixed(2)}× (min ${Math.min(...values).toFixed(2)}, max ${Math.max(...values).toFixed(2)}, ${values.length} runs)`;
  console.log(`composite: ${compositeInputs.filter((i) => i.kind === 'video').length} videos + ${compositeInputs.filter((i) => i.kind === 'audio').length} audios → ${DEFAULT_LAYOUT.width}x${DEFAULT_LAYOUT.height}@${DEFAULT_LAYOUT.fps} H.264 + AAC, ${compositeSeconds} s, × real time on one core (media seconds per CPU second)`);
  console.log(`  composite ${spreadOf(composite.composite)}`);
  console.log(`  plain ffmpeg (one input, same encoders and output) ${spreadOf(composite.plain)}`);
  console.log(`  composite / plain: ${(composite.compositeSpeedX / composite.plainFfmpegSpeedX).toFixed(2)}`);
  console.log(`integrity: ${integrity.runs} recordings of ${INTEGRITY_SECONDS} s back to back, ${integrity.failures} not ready`);

  const results = recordingResultSchema.parse({
    capturesPerCore: Math.floor(1 / capture.perCapture),
    compositeSpeedX: Number(composite.compositeSpeedX.toFixed(2)),
    plainFfmpegSpeedX: Number(composite.plainFfmpegSpeedX.toFixed(2)),
    integrityRuns: integrity.runs,
    integrityFailures: integrity.failures,
  });
  const out = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bench-results');
  await mkdir(out, { recursive: true });
  await writeFile(path.join(out, 'recording.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(JSON.stringify(results));
}

// Run as a script (npm run bench:recording); imported (its test), it only lends its measures.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
