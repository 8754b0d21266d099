import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { CompositeInput } from './composite.js';
import { packetTimes, ToolRefused } from './ffmpeg.js';
import { clip, type Interval } from './intervals.js';
import type { Manifest, TrackRecord } from './manifest.js';
import type { TrackFacts } from './status-rules.js';
import { typedLog, type RecorderLogger } from './log.js';

/**
 * What each track's files really hold, on the wall clock: read back packet by packet and placed
 * by the segment's anchor (the wall-clock time of its first packet). Compared with when the
 * producer was live, this is what tells a whole recording from one with holes.
 */

/** A silence longer than this between packets of a live track is a hole (Opus DTX sends every 400 ms). */
const HOLE_SEC: Record<'audio' | 'video', number> = { audio: 1, video: 3 };

const exists = (file: string) => fs.stat(file).then((s) => s.isFile() && s.size > 0, () => false);

/** Spans of packets (file seconds) with no silence longer than `holeSec` inside. */
export function packetSpans(packets: ReadonlyArray<{ pts: number; end: number }>, holeSec: number): Array<{ start: number; end: number }> {
  const spans: Array<{ start: number; end: number }> = [];
  for (const packet of packets) {
    const last = spans.at(-1);
    // A packet's duration may be unknown (0): it still covers up to the next packet within holeSec.
    if (last && packet.pts - last.end <= holeSec) last.end = Math.max(last.end, packet.end, packet.pts);
    else spans.push({ start: packet.pts, end: Math.max(packet.end, packet.pts) });
  }
  return spans;
}

/** The track's live spans, with a still-open one ending at `until`. */
export function liveSpans(track: TrackRecord, until: number): Interval[] {
  return track.live.map((span) => ({ from: span.from, to: span.to ?? until }));
}

/** The track's paused spans, with a still-open one ending at `until`. */
export function pausedSpans(track: TrackRecord, until: number): Interval[] {
  return track.paused.map((span) => ({ from: span.from, to: span.to ?? until }));
}

export interface Coverage {
  facts: TrackFacts[];
  /** Segment files with packets and an anchor, placed on the composite timeline. */
  inputs: CompositeInput[];
  /** First and last packet time (file seconds) of each of those files, by path. */
  spans: Map<string, { start: number; end: number }>;
  /**
   * Segment files that hold media or may: those with packets, and those that could not be read or
   * placed (a probe that failed, an anchor that never reached the manifest). What there is to
   * upload and keep; a file read whole with no packet in it is not among them.
   */
  mediaFiles: number;
}

/**
 * A probe that failed without reading its file (not started, killed, timed out on a busy box) is
 * tried this often before the file counts as unreadable. One that read the file and refused it
 * (ToolRefused: no decoder makes sense of it) is not tried again: the file holds no packets.
 */
const PROBE_ATTEMPTS = 2;
const PROBE_RETRY_MS = 500;

async function probePackets(file: string): Promise<Array<{ pts: number; end: number }>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await packetTimes(file);
    } catch (error) {
      if (error instanceof ToolRefused || attempt >= PROBE_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, PROBE_RETRY_MS));
    }
  }
}

export async function measureCoverage(recordingDir: string, manifest: Manifest, logger: RecorderLogger): Promise<Coverage> {
  const log = typedLog(logger);
  const window: Interval = { from: manifest.startedAt, to: manifest.stoppedAt ?? Date.now() };
  const facts: TrackFacts[] = [];
  const inputs: CompositeInput[] = [];
  const fileSpans = new Map<string, { start: number; end: number }>();
  let mediaFiles = 0;
  for (const track of manifest.tracks) {
    const live = clip(liveSpans(track, window.to), window);
    const captured: Interval[] = [];
    const unreadable: string[] = [];
    for (const segment of track.segments) {
      const file = path.join(recordingDir, segment.file);
      if (!(await exists(file))) continue;
      if (segment.firstRtpWallMs === null) {
        mediaFiles++;
        continue;
      }
      let packets: Array<{ pts: number; end: number }> = [];
      try {
        packets = await probePackets(file);
      } catch (error) {
        const reason = error instanceof Error ? error.message.slice(0, 300) : String(error);
        log.warn('track file unreadable', { file: segment.file, err: reason });
        if (!(error instanceof ToolRefused)) {
          // Kept and uploaded as it is; only its place in the composite and the check are lost.
          unreadable.push(`${segment.file} could not be read (${reason.split('\n')[0]})`);
          mediaFiles++;
          continue;
        }
      }
      if (packets.length === 0) {
        log.warn('track file holds no packets: left out of the composite', { file: segment.file });
        continue;
      }
      mediaFiles++;
      const first = packets[0]!.pts;
      const at = (sec: number) => segment.firstRtpWallMs! + (sec - first) * 1000;
      const spans = packetSpans(packets, HOLE_SEC[track.kind]).map((s) => ({ from: at(s.start), to: at(s.end) }));
      captured.push(...spans);
      const last = packets.reduce((end, p) => Math.max(end, p.end), first);
      fileSpans.set(file, { start: first, end: last });
      const segmentSpan = { from: at(first), to: at(last) };
      // Paused (camera off) inside this file: black, not the last frame held. (A sender that only
      // idles, e.g. a still screen share, keeps its last frame.)
      const paused = clip(pausedSpans(track, window.to), segmentSpan);
      const hidden = track.kind === 'video' ? paused.map((h) => ({ from: (h.from - window.from) / 1000, to: (h.to - window.from) / 1000 })) : [];
      inputs.push({
        path: file,
        kind: track.kind,
        tile: `${track.participantId}:${track.source}`,
        offsetSec: (segment.firstRtpWallMs - window.from) / 1000,
        ...(hidden.length > 0 ? { hidden } : {}),
      });
    }
    const relative = (spans: Interval[]) => spans.map((s): [number, number] => [s.from - window.from, s.to - window.from]);
    log.debug('track coverage', { trackId: track.trackId, live: relative(live), captured: relative(clip(captured, window)) });
    facts.push({
      trackId: track.trackId,
      participantId: track.participantId,
      ...(track.displayName ? { displayName: track.displayName } : {}),
      source: track.source,
      kind: track.kind,
      live,
      captured: clip(captured, window),
      troubles: [...track.troubles, ...unreadable],
    });
  }
  return { facts, inputs, spans: fileSpans, mediaFiles };
}
