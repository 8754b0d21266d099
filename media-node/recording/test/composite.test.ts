import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseTiles, compositeArgs, DEFAULT_LAYOUT, type CompositeInput } from '../composite.js';
import { FFMPEG_BIN, runToEnd } from '../ffmpeg.js';
import { meanLuma, meanVolumeDb } from './detect.js';
import { tempDir } from './helpers.js';

const video = (participant: string, offsetSec: number, source = 'camera', segment = 0): CompositeInput => ({
  path: `/rec/${participant}-${source}-${segment}.webm`,
  kind: 'video',
  tile: `${participant}:${source}`,
  offsetSec,
});
const audio = (participant: string, offsetSec: number): CompositeInput => ({ path: `/rec/${participant}-mic.ogg`, kind: 'audio', tile: `${participant}:mic`, offsetSec });

describe('composite layout', () => {
  it('shows screen shares first, then cameras in capture order, up to the tile cap', () => {
    const inputs = [video('first', 9), video('second', 1), video('first', 12, 'camera', 1), video('sharer', 7, 'screen'), video('third', 3)];
    expect(chooseTiles(inputs, 16)).toEqual(['sharer:screen', 'first:camera', 'second:camera', 'third:camera']);
    expect(chooseTiles(inputs, 2)).toEqual(['sharer:screen', 'first:camera']);
  });

  it('a big meeting: 16 tiles in the composite, every voice in the mix, tracks past the cap not even opened', () => {
    const inputs: CompositeInput[] = [];
    for (let i = 0; i < 30; i++) inputs.push(video(`p${String(i).padStart(2, '0')}`, i), audio(`p${String(i).padStart(2, '0')}`, i));
    const args = compositeArgs(inputs, 60, '/rec/composite.mp4', DEFAULT_LAYOUT);
    const opened = args.filter((_, index) => args[index - 1] === '-i');
    expect(opened.filter((path) => path.endsWith('.webm'))).toHaveLength(16);
    expect(opened.filter((path) => path.endsWith('.ogg'))).toHaveLength(30);
    expect(opened).not.toContain('/rec/p16-camera-0.webm');
    const graph = args[args.indexOf('-filter_complex') + 1]!;
    expect(graph.match(/overlay=/g)).toHaveLength(16);
    expect(graph).toContain('amix=inputs=31');
    // 4×4 cells of 320×180 on the 1280×720 canvas.
    expect(graph).toContain('scale=320:180');
  });
});

describe('composite of one voice captured twice (a participant moved nodes: their old producer relayed on a moment)', () => {
  it('plays the later file from its start, never both: the voice is not doubled', async () => {
    const dir = await tempDir('composite-voice-twice-');
    try {
      const tone = async (name: string, seconds: number) => {
        const file = path.join(dir, name);
        await runToEnd(FFMPEG_BIN, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `sine=f=440:d=${seconds}`, '-c:a', 'libopus', file]);
        return file;
      };
      // The old producer's file from 0 to 6 s, the republished one from 2 s on (in step: 880 cycles apart).
      const older = await tone('old.webm', 6);
      const newer = await tone('new.webm', 4);
      const output = path.join(dir, 'composite.mp4');
      const args = compositeArgs(
        [
          { path: older, kind: 'audio', tile: 'ann:mic', offsetSec: 0 },
          { path: newer, kind: 'audio', tile: 'ann:mic', offsetSec: 2 },
        ],
        6,
        output,
      );
      await runToEnd(FFMPEG_BIN, args);
      const alone = await meanVolumeDb(output, 0.5, 1.5);
      const both = await meanVolumeDb(output, 3, 5);
      expect(alone).toBeGreaterThan(-40);
      // Mixed twice it was ~6 dB louder.
      expect(Math.abs(both - alone)).toBeLessThan(1.5);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('composite of a track whose resolution changes (a simulcast layer switch)', () => {
  /** Volume (dB) of the composite's audio over [from, from + 0.5 s). */
  const volumeAt = async (file: string, fromSec: number) => {
    const { stderr } = await runToEnd(FFMPEG_BIN, ['-hide_banner', '-nostdin', '-ss', String(fromSec), '-t', '0.5', '-i', file, '-vn', '-af', 'volumedetect', '-f', 'null', '-']);
    return Number(/mean_volume: (-?[\d.]+) dB/.exec(stderr)?.[1] ?? '-91');
  };

  it('keeps the audio mix going past the switch, and the camera shown at both sizes', async () => {
    const dir = await tempDir('composite-resize-');
    try {
      // 2 s at the lowest layer's size, then 3 s at the top layer's, in one VP8 track (as captured
      // with -c copy); a steady tone beside it.
      const part = async (name: string, size: string, seconds: number) => {
        const file = path.join(dir, name);
        await runToEnd(FFMPEG_BIN, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `color=c=white:s=${size}:r=15:d=${seconds}`, '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k', file]);
        return file;
      };
      const low = await part('low.webm', '320x180', 2);
      const high = await part('high.webm', '1280x720', 3);
      await writeFile(path.join(dir, 'parts.txt'), `file '${low}'\nfile '${high}'\n`);
      const camera = path.join(dir, 'camera.webm');
      await runToEnd(FFMPEG_BIN, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', path.join(dir, 'parts.txt'), '-c', 'copy', camera]);
      const mic = path.join(dir, 'mic.webm');
      await runToEnd(FFMPEG_BIN, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=f=440:d=5', '-c:a', 'libopus', mic]);
      const output = path.join(dir, 'composite.mp4');
      await runToEnd(FFMPEG_BIN, compositeArgs([{ path: camera, kind: 'video', tile: 'ann:camera', offsetSec: 0 }, { path: mic, kind: 'audio', tile: 'ann:mic', offsetSec: 0 }], 5, output));

      const before = await volumeAt(output, 1);
      expect(before).toBeGreaterThan(-40);
      // Rebuilding the graph at the switch (ffmpeg's default) left the rest of the mix silent.
      for (const at of [2.5, 3.5, 4.3]) expect(Math.abs((await volumeAt(output, at)) - before), `volume at ${at} s`).toBeLessThan(3);
      expect(await meanLuma(output, 0.5, 1.5)).toBeGreaterThan(150);
      expect(await meanLuma(output, 3, 4.5)).toBeGreaterThan(150);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
