import { describe, expect, it } from 'vitest';
import { compositeArgs, DEFAULT_LAYOUT } from '../composite.js';
import { packetSpans } from '../coverage.js';
import type { ProbeResult } from '../ffmpeg.js';
import { codecOfMime, compositeProblems, trackFileProblems } from '../integrity.js';

const stream = (codec_type: string, codec_name: string, start_time = '0.000000', duration?: string) => ({ index: 0, codec_type, codec_name, start_time, ...(duration ? { duration } : {}) });
const probe = (streams: ProbeResult['streams'], duration = '8.000000'): ProbeResult => ({ format: { format_name: 'mov,mp4', duration }, streams });

describe('integrity rules (pure)', () => {
  it('a whole composite passes', () => {
    expect(compositeProblems('composite.mp4', probe([stream('video', 'h264', '0.000000', '8.000000'), stream('audio', 'aac', '0.000000', '7.990000')]), 8.1)).toEqual([]);
  });

  it('a composite without its audio or video stream is broken', () => {
    expect(compositeProblems('composite.mp4', probe([stream('video', 'h264')]), 8)).toEqual([{ file: 'composite.mp4', severity: 'broken', message: 'expected 1 audio stream, found 0' }]);
    expect(compositeProblems('c.mp4', probe([stream('audio', 'aac')], ''), 8).map((p) => p.message)).toEqual(['expected 1 video stream, found 0', 'no readable duration']);
  });

  it('duration more than 0.5 s off the window, or A/V more than 40 ms apart, is off', () => {
    expect(compositeProblems('c.mp4', probe([stream('video', 'h264'), stream('audio', 'aac')], '7.400000'), 8)).toEqual([{ file: 'c.mp4', severity: 'off', message: 'lasts 7.40 s, the recording window 8.00 s' }]);
    expect(compositeProblems('c.mp4', probe([stream('video', 'h264', '0.000000', '8.000000'), stream('audio', 'aac', '0.000000', '6.000000')]), 8)).toEqual([
      { file: 'c.mp4', severity: 'off', message: 'its audio lasts 6.00 s, the recording window 8.00 s' },
    ]);
    expect(compositeProblems('c.mp4', probe([stream('video', 'h264', '0.000000'), stream('audio', 'aac', '0.060000')]), 8)).toEqual([{ file: 'c.mp4', severity: 'off', message: 'audio and video are 60 ms apart' }]);
    expect(compositeProblems('c.mp4', probe([stream('video', 'h264', '0.000000'), stream('audio', 'aac', '0.030000')]), 8)).toEqual([]);
  });

  it('a track file has one stream of its kind and codec, with packets', () => {
    const expected = { file: 'a-mic-audio-000.webm', kind: 'audio' as const, codec: codecOfMime('audio/opus') };
    expect(trackFileProblems(expected, probe([stream('audio', 'opus')]), { start: 0, end: 5 })).toEqual([]);
    expect(trackFileProblems(expected, probe([]), { start: 0, end: 0 })[0]?.message).toBe('expected 1 stream, found 0');
    expect(trackFileProblems(expected, probe([stream('video', 'vp8')]), { start: 0, end: 5 })[0]?.message).toBe('holds video, expected audio');
    expect(trackFileProblems({ ...expected, kind: 'video', codec: codecOfMime('video/VP8') }, probe([stream('video', 'h264')]), { start: 0, end: 5 })[0]?.message).toBe('holds h264, expected vp8');
    expect(trackFileProblems(expected, probe([stream('audio', 'opus')]), { start: 0, end: 0 })[0]).toMatchObject({ severity: 'broken', message: 'holds no packets' });
  });

  it('packet spans split at silences longer than the hole size', () => {
    const packets = [0, 0.02, 0.04, 2.5, 2.52].map((pts) => ({ pts, end: pts + 0.02 }));
    expect(packetSpans(packets, 1)).toEqual([
      { start: 0, end: 0.06 },
      { start: 2.5, end: 2.54 },
    ]);
    expect(packetSpans(packets, 3)).toEqual([{ start: 0, end: 2.54 }]);
  });
});

describe('composite placement', () => {
  it('a file that began before the window loses its head instead of shifting; paused spans are black', () => {
    const args = compositeArgs(
      [
        { path: '/rec/a-camera.webm', kind: 'video', tile: 'a:camera', offsetSec: -0.25, hidden: [{ from: 2, to: 3.5 }] },
        { path: '/rec/a-mic.webm', kind: 'audio', tile: 'a:mic', offsetSec: -0.1 },
        { path: '/rec/b-mic.webm', kind: 'audio', tile: 'b:mic', offsetSec: 1.5 },
      ],
      8,
      '/rec/composite.mp4',
      DEFAULT_LAYOUT,
    );
    const graph = args[args.indexOf('-filter_complex') + 1]!;
    expect(graph).toContain('[0:v]setpts=PTS-STARTPTS,trim=start=0.250,setpts=PTS-STARTPTS,');
    // The tile is scaled into its cell and centred there (no pad step); black while paused.
    expect(graph).toContain("overlay=x=0+(1280-w)/2:y=0+(720-h)/2:eof_action=pass:enable='not(between(t,2.000,3.500))'[o0]");
    expect(graph).toContain('[1:a]aformat=sample_rates=48000:channel_layouts=stereo,asetpts=PTS-STARTPTS,atrim=start=0.100,asetpts=PTS-STARTPTS,');
    expect(graph).toContain('asetpts=PTS-STARTPTS+1.500/TB,aresample');
  });
});
