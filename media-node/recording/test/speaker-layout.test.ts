import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import * as mediasoup from 'mediasoup';
import type { Router, Worker } from 'mediasoup/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTER_MEDIA_CODECS } from '../../workers/media-codecs.js';
import { compositeArgs, DEFAULT_LAYOUT, planLayout, withGraphFile, type CompositeInput } from '../composite.js';
import { FFMPEG_BIN, runToEnd } from '../ffmpeg.js';
import { createRecorder } from '../recorder.js';
import { MIN_SPEAKER_HOLD_SEC, speakerCells, speakerTimeline } from '../speaker-layout.js';
import type { Recorder } from '../types.js';
import { MemoryUploader } from './fixtures.js';
import { log, sleep, tempDir } from './helpers.js';
import { startSyntheticParticipant, type SyntheticParticipant } from './synthetic-participant.js';

const tiles = ['ann:camera', 'bob:camera', 'cat:camera'];

describe('active-speaker timeline', () => {
  it('switches the big tile at each recorded change; the first speaker also covers the start, the last runs to the end', () => {
    const changes = [
      { atSec: 2, participantId: 'bob' },
      { atSec: 5.5, participantId: 'ann' },
      { atSec: 9, participantId: 'cat' },
    ];
    expect(speakerTimeline(changes, tiles, 12)).toEqual([
      { from: 0, to: 5.5, tile: 'bob:camera' },
      { from: 5.5, to: 9, tile: 'ann:camera' },
      { from: 9, to: 12, tile: 'cat:camera' },
    ]);
  });

  it('keeps the last speaker shown for a speaker without a camera, ignores repeats, and lets the last change before the start win', () => {
    const changes = [
      { atSec: -3, participantId: 'cat' },
      { atSec: -1, participantId: 'ann' },
      { atSec: 4, participantId: 'phone-only' },
      { atSec: 5, participantId: 'ann' },
      { atSec: 6, participantId: 'bob' },
    ];
    expect(speakerTimeline(changes, tiles, 10)).toEqual([
      { from: 0, to: 6, tile: 'ann:camera' },
      { from: 6, to: 10, tile: 'bob:camera' },
    ]);
  });

  it(`a speaker who holds the floor less than ${MIN_SPEAKER_HOLD_SEC} s does not take the big tile`, () => {
    const changes = [
      { atSec: 0, participantId: 'ann' },
      { atSec: 3, participantId: 'bob' },
      { atSec: 3.4, participantId: 'ann' }, // Bob's "mm-hm"
      { atSec: 7, participantId: 'cat' },
      { atSec: 7.3, participantId: 'bob' },
    ];
    expect(speakerTimeline(changes, tiles, 10)).toEqual([
      { from: 0, to: 7.3, tile: 'ann:camera' },
      { from: 7.3, to: 10, tile: 'bob:camera' },
    ]);
  });

  it('is a grid with a screen share, with one camera, or without speaker events', () => {
    const changes = [{ atSec: 1, participantId: 'ann' }];
    expect(planLayout([...tiles, 'ann:screen'], changes, 10).kind).toBe('grid');
    expect(planLayout(['ann:camera'], changes, 10).kind).toBe('grid');
    expect(planLayout(tiles, [], 10).kind).toBe('grid');
    expect(planLayout(tiles, [{ atSec: 1, participantId: 'phone-only' }], 10).kind).toBe('grid');
    expect(planLayout(tiles, changes, 10)).toEqual({ kind: 'speaker', spans: [{ from: 0, to: 10, tile: 'ann:camera' }] });
  });

  it('a long meeting’s graph goes to ffmpeg in a file', () => {
    const inputs: CompositeInput[] = ['ann', 'bob'].map((p) => ({ path: `/rec/${p}.webm`, kind: 'video', tile: `${p}:camera`, offsetSec: 0 }));
    const changes = Array.from({ length: 4000 }, (_, i) => ({ atSec: i * 2, participantId: i % 2 === 0 ? 'ann' : 'bob' }));
    const { args, graph } = withGraphFile(compositeArgs(inputs, 8000, '/rec/c.mp4', DEFAULT_LAYOUT, changes), '/rec/graph.txt');
    expect(graph).toContain('overlay=');
    expect(args).toContain('-filter_complex_script');
    expect(args).not.toContain('-filter_complex');
    expect(args.join(' ').length).toBeLessThan(2000);
    const short = withGraphFile(compositeArgs(inputs, 8, '/rec/c.mp4', DEFAULT_LAYOUT, changes.slice(0, 3)), '/rec/graph.txt');
    expect(short.graph).toBeNull();
    expect(short.args).toContain('-filter_complex');
  });
});

const execFileAsync = promisify(execFile);

/** RGB of one pixel of the composite's frame at `atSec`. */
async function pixel(file: string, atSec: number, x: number, y: number): Promise<[number, number, number]> {
  const { stdout } = await execFileAsync(
    FFMPEG_BIN,
    ['-hide_banner', '-nostdin', '-loglevel', 'error', '-ss', atSec.toFixed(3), '-i', file, '-frames:v', '1', '-vf', `crop=2:2:${x}:${y},scale=1:1`, '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'],
    { encoding: 'buffer' },
  );
  return [stdout[0]!, stdout[1]!, stdout[2]!];
}

const colourOf = ([r, g, b]: [number, number, number]) => (r > 150 && g < 90 && b < 90 ? 'red' : b > 150 && r < 90 && g < 90 ? 'blue' : g > 150 && r < 90 && b < 90 ? 'green' : `rgb(${r},${g},${b})`);

describe('active-speaker composite, rendered by ffmpeg', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('edgemeet-speaker-layout-');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A camera file of one solid colour (VP8 in WebM, like a capture), `seconds` long. */
  const camera = async (name: string, colour: string, seconds: number) => {
    const file = path.join(dir, `${name}.webm`);
    await runToEnd(FFMPEG_BIN, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `color=c=${colour}:s=320x240:r=15:d=${seconds}`, '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', file]);
    return file;
  };

  it('shows the active speaker big, switching at the recorded speaker times, with everyone in the strip', async () => {
    const inputs: CompositeInput[] = [
      { path: await camera('ann', 'red', 9), kind: 'video', tile: 'ann:camera', offsetSec: 0 },
      { path: await camera('bob', 'blue', 9), kind: 'video', tile: 'bob:camera', offsetSec: 0 },
      // Cat joins 1 s in and is the last speaker; her camera is off (hidden) from 7.5 s.
      { path: await camera('cat', 'lime', 8), kind: 'video', tile: 'cat:camera', offsetSec: 1, hidden: [{ from: 7.5, to: 9 }] },
    ];
    const speakers = [
      { atSec: 0.2, participantId: 'ann' },
      { atSec: 3, participantId: 'bob' },
      { atSec: 4.5, participantId: 'phone-only' }, // no camera: Bob stays big
      { atSec: 5.5, participantId: 'cat' },
    ];
    const output = path.join(dir, 'composite.mp4');
    await runToEnd(FFMPEG_BIN, compositeArgs(inputs, 9, output, DEFAULT_LAYOUT, speakers));

    const { big, strip } = speakerCells(3, DEFAULT_LAYOUT);
    const bigCentre = (at: number) => pixel(output, at, big.x + big.w / 2, big.y + big.h / 2).then(colourOf);
    // Around each switch (±0.3 s: a frame is 40 ms, the switch lands exactly at the change).
    expect(await bigCentre(1)).toBe('red');
    expect(await bigCentre(2.7)).toBe('red');
    expect(await bigCentre(3.3)).toBe('blue');
    expect(await bigCentre(5.2)).toBe('blue');
    expect(await bigCentre(5.8)).toBe('green');
    // Cat's camera off: black in the big tile too, not her last frame.
    expect(await bigCentre(8)).toBe('rgb(0,0,0)');
    // The strip keeps everyone in tile order throughout.
    const thumb = (i: number, at: number) => pixel(output, at, strip[i]!.x + strip[i]!.w / 2, strip[i]!.y + strip[i]!.h / 2).then(colourOf);
    expect([await thumb(0, 4), await thumb(1, 4), await thumb(2, 4)]).toEqual(['red', 'blue', 'green']);
  });

  it('falls back to the grid when a screen is shared', async () => {
    const inputs: CompositeInput[] = [
      { path: path.join(dir, 'ann.webm'), kind: 'video', tile: 'ann:camera', offsetSec: 0 },
      { path: path.join(dir, 'bob.webm'), kind: 'video', tile: 'bob:screen', offsetSec: 0 },
    ];
    const output = path.join(dir, 'grid.mp4');
    await runToEnd(FFMPEG_BIN, compositeArgs(inputs, 4, output, DEFAULT_LAYOUT, [{ atSec: 0, participantId: 'ann' }]));
    // Two columns: the screen (first) on the left, Ann's camera on the right, both at 2 s.
    expect(colourOf(await pixel(output, 2, 320, 360))).toBe('blue');
    expect(colourOf(await pixel(output, 2, 960, 360))).toBe('red');
  });
});

describe('speaker events during capture (real mediasoup ActiveSpeakerObserver)', () => {
  let worker: Worker;
  let router: Router;
  let dir: string;
  const people: SyntheticParticipant[] = [];
  let recorder: Recorder | null = null;
  beforeAll(async () => {
    worker = await mediasoup.createWorker({ logLevel: 'warn' });
    router = await worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS });
    dir = await tempDir('edgemeet-speaker-events-');
  });
  afterAll(async () => {
    await recorder?.stop('test finished');
    await Promise.allSettled(people.map((p) => p.leave()));
    worker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('records the dominant speaker among the captured microphones, with its time', async () => {
    const ann = await startSyntheticParticipant(router, { participantId: 'ann-0000001', pattern: 'testsrc' });
    people.push(ann);
    const before = Date.now();
    recorder = await createRecorder({ router, recordingId: '0b9a3c1e-8d2f-4f6a-9c1b-2e7d5a4f5001', meetingId: 'SpeakerEvents000001', dir, log, uploader: new MemoryUploader(), minFreeBytes: 0 });
    await recorder.addProducer(ann.audio, { participantId: ann.participantId, source: 'mic' });
    for (let waited = 0; recorder.describe().speakers.length === 0 && waited < 20_000; waited += 100) await sleep(100);
    const [first] = recorder.describe().speakers;
    expect(first?.participantId).toBe(ann.participantId);
    expect(first!.at).toBeGreaterThanOrEqual(before);
    // Changes are recorded, not repeats: the only speaker is named once.
    await sleep(1000);
    expect(recorder.describe().speakers).toHaveLength(1);
  });
});
