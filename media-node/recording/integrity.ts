import { ffprobe, mediaDurationSeconds, type ProbeResult } from './ffmpeg.js';
import type { IntegrityProblem } from './status-rules.js';
import { typedLog, type RecorderLogger } from './log.js';

/**
 * The check every output passes before a recording may be called ready: ffprobe reads each file
 * back and the pure rules below compare it with what was expected.
 */

/** The composite's length may differ from the recording window by at most this much. */
export const DURATION_TOLERANCE_SEC = 0.5;
/** Audio and video of the composite must start together within this much. */
export const AV_OFFSET_TOLERANCE_SEC = 0.04;

const num = (value: string | undefined): number | null => {
  const n = Number(value);
  return value === undefined || value === '' || !Number.isFinite(n) ? null : n;
};

/** Composite: one H.264 video and one AAC audio stream, as long as the window, starting together. */
export function compositeProblems(file: string, probe: ProbeResult, windowSec: number): IntegrityProblem[] {
  const problems: IntegrityProblem[] = [];
  const video = probe.streams.filter((s) => s.codec_type === 'video');
  const audio = probe.streams.filter((s) => s.codec_type === 'audio');
  if (video.length !== 1) problems.push({ file, severity: 'broken', message: `expected 1 video stream, found ${video.length}` });
  if (audio.length !== 1) problems.push({ file, severity: 'broken', message: `expected 1 audio stream, found ${audio.length}` });
  const duration = num(probe.format.duration);
  if (duration === null) problems.push({ file, severity: 'broken', message: 'no readable duration' });
  else if (Math.abs(duration - windowSec) > DURATION_TOLERANCE_SEC) {
    problems.push({ file, severity: 'off', message: `lasts ${duration.toFixed(2)} s, the recording window ${windowSec.toFixed(2)} s` });
  }
  for (const stream of [...video, ...audio]) {
    const streamDuration = num(stream.duration);
    if (streamDuration !== null && Math.abs(streamDuration - windowSec) > DURATION_TOLERANCE_SEC) {
      problems.push({ file, severity: 'off', message: `its ${stream.codec_type} lasts ${streamDuration.toFixed(2)} s, the recording window ${windowSec.toFixed(2)} s` });
    }
  }
  const videoStart = num(video[0]?.start_time);
  const audioStart = num(audio[0]?.start_time);
  if (videoStart !== null && audioStart !== null && Math.abs(videoStart - audioStart) > AV_OFFSET_TOLERANCE_SEC) {
    problems.push({ file, severity: 'off', message: `audio and video are ${Math.round(Math.abs(videoStart - audioStart) * 1000)} ms apart` });
  }
  return problems;
}

export interface ExpectedTrackFile {
  file: string;
  kind: 'audio' | 'video';
  /** Codec name as ffprobe says it (opus, vp8, h264…), from the track's mime type. */
  codec: string;
}

/** Track file: exactly one stream, of the track's kind and codec, holding packets. */
export function trackFileProblems(expected: ExpectedTrackFile, probe: ProbeResult, span: { start: number; end: number }): IntegrityProblem[] {
  const { file } = expected;
  if (probe.streams.length !== 1) return [{ file, severity: 'broken', message: `expected 1 stream, found ${probe.streams.length}` }];
  const stream = probe.streams[0]!;
  if (stream.codec_type !== expected.kind) return [{ file, severity: 'broken', message: `holds ${stream.codec_type}, expected ${expected.kind}` }];
  if (stream.codec_name !== expected.codec) return [{ file, severity: 'broken', message: `holds ${stream.codec_name || 'an unknown codec'}, expected ${expected.codec}` }];
  if (span.end <= span.start) return [{ file, severity: 'broken', message: 'holds no packets' }];
  return [];
}

/** ffprobe's codec name for a mime type such as audio/opus or video/VP8. */
export function codecOfMime(mimeType: string): string {
  return (mimeType.split('/')[1] ?? '').toLowerCase();
}

/** Reads every output back (ffprobe) and lists what is wrong; an unreadable file is 'broken'. */
export async function checkOutputs(
  input: { composite: { file: string; path: string } | null; windowSec: number; tracks: Array<ExpectedTrackFile & { path: string; span?: { start: number; end: number } }> },
  logger: RecorderLogger,
): Promise<IntegrityProblem[]> {
  const log = typedLog(logger);
  const problems: IntegrityProblem[] = [];
  const unreadable = (file: string, error: unknown): IntegrityProblem => ({ file, severity: 'broken', message: `unreadable: ${error instanceof Error ? error.message.slice(0, 200) : String(error)}` });
  if (input.composite) {
    try {
      problems.push(...compositeProblems(input.composite.file, await ffprobe(input.composite.path), input.windowSec));
    } catch (error) {
      problems.push(unreadable(input.composite.file, error));
    }
  }
  for (const track of input.tracks) {
    try {
      problems.push(...trackFileProblems(track, await ffprobe(track.path), track.span ?? (await mediaDurationSeconds(track.path))));
    } catch (error) {
      problems.push(unreadable(track.file, error));
    }
  }
  if (problems.length > 0) log.warn('recording integrity check found problems', { problems: problems.map((p) => `${p.file}: ${p.message}`) });
  return problems;
}
