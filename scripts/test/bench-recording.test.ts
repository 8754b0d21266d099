import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffprobe, FFMPEG_BIN, runToEnd } from '../../media-node/recording/ffmpeg.js';
import type { CompositeInput } from '../../media-node/recording/composite.js';
import { cpuSecondsOf, measureComposite, recordingResultSchema } from '../bench-recording.js';

/**
 * The recording benchmark measures what it says: CPU seconds (not wall clock) of the process it
 * times, the recorder's real composite against a plain transcode, and a JSON of exactly issue
 * 12's fields.
 */
describe('bench:recording harness', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'edgemeet-bench-rec-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('counts CPU, not waiting: a sleeping process costs ~nothing, a busy one what it burnt', async () => {
    const sleeping = await cpuSecondsOf('sleep', ['0.6']);
    expect(sleeping.wallSeconds).toBeGreaterThanOrEqual(0.6);
    expect(sleeping.cpuSeconds).toBeLessThan(0.2);
    // Burns 0.6 s of its own CPU however long a loaded box makes that take (plus node's start-up).
    const burn = 'const t = process.cpuUsage(); const used = () => { const u = process.cpuUsage(t); return (u.user + u.system) / 1e6; }; while (used() < 0.6);';
    const busy = await cpuSecondsOf(process.execPath, ['-e', burn]);
    expect(busy.cpuSeconds).toBeGreaterThanOrEqual(0.6);
    expect(busy.cpuSeconds).toBeLessThan(0.6 + 1.5);
    await expect(cpuSecondsOf('false', [])).rejects.toThrow(/exited 1/);
  });

  it('times the recorder’s own composite and a plain transcode with the same encoders, once per repeat', async () => {
    const inputs: CompositeInput[] = [];
    for (const n of [0, 1]) {
      const video = path.join(dir, `v${n}.webm`);
      const audio = path.join(dir, `a${n}.webm`);
      await runToEnd(FFMPEG_BIN, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=15', '-t', '2', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', video]);
      await runToEnd(FFMPEG_BIN, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '2', '-ac', '2', '-c:a', 'libopus', audio]);
      inputs.push({ path: video, kind: 'video', tile: `p${n}:camera`, offsetSec: 0 }, { path: audio, kind: 'audio', tile: `p${n}:mic`, offsetSec: 0 });
    }
    const measured = await measureComposite(inputs, 2, dir, 2);
    expect(measured.composite).toHaveLength(2);
    expect(measured.plain).toHaveLength(2);
    for (const speed of [...measured.composite, ...measured.plain]) expect(speed).toBeGreaterThan(0);
    const composite = await ffprobe(path.join(dir, 'bench-composite.mp4'));
    expect(composite.streams.map((s) => `${s.codec_type}:${s.codec_name}:${s.width ?? ''}`).sort()).toEqual(['audio:aac:', 'video:h264:1280']);
    const plain = await ffprobe(path.join(dir, 'bench-plain.mp4'));
    expect(plain.streams.map((s) => `${s.codec_type}:${s.codec_name}:${s.width ?? ''}`).sort()).toEqual(['audio:aac:', 'video:h264:1280']);
  });

  it('writes exactly the fields issue 12 names', () => {
    const figures = { capturesPerCore: 163, compositeSpeedX: 4.2, plainFfmpegSpeedX: 5.1, integrityRuns: 20, integrityFailures: 0 };
    expect(recordingResultSchema.parse(figures)).toEqual(figures);
    expect(() => recordingResultSchema.parse({ ...figures, machine: { cores: 2 } })).toThrow();
    expect(() => recordingResultSchema.parse({ ...figures, integrityRuns: undefined })).toThrow();
  });
});
