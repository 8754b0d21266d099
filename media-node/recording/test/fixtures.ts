import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { FFMPEG_BIN, runToEnd } from '../ffmpeg.js';
import { ManifestWriter, newManifest, type TrackRecord } from '../manifest.js';
import type { UploadInput, UploadReceipt, Uploader } from '../types.js';
import { UploadRefusedError } from '../uploader.js';

/**
 * A recording folder as a capture leaves it (no mediasoup needed): track files made by ffmpeg from
 * lavfi sources, a manifest saying when each track was live and where its file starts.
 */
export interface FixtureTrack {
  participantId: string;
  kind: 'audio' | 'video';
  /** Seconds after the window start where the file's first packet lies, and how much it holds. */
  fileFromSec: number;
  fileSeconds: number;
  /** Live spans in window seconds (default: the file's own span). */
  live?: Array<[number, number]>;
  troubles?: string[];
}

async function makeTrackFile(file: string, kind: 'audio' | 'video', seconds: number): Promise<void> {
  const args =
    kind === 'audio'
      ? ['-f', 'lavfi', '-i', 'sine=f=440:sample_rate=48000', '-ac', '2', '-t', seconds.toFixed(3), '-c:a', 'libopus', '-b:a', '32k', '-f', 'webm', file]
      : ['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=15', '-t', seconds.toFixed(3), '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '100k', '-g', '8', '-f', 'ivf', file];
  await runToEnd(FFMPEG_BIN, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args]);
}

export async function makeRecordingFolder(dir: string, recordingId: string, windowSeconds: number, tracks: FixtureTrack[]): Promise<{ recordingDir: string; writer: ManifestWriter }> {
  const recordingDir = path.join(dir, recordingId);
  await mkdir(recordingDir, { recursive: true });
  const startedAt = Date.now() - Math.round(windowSeconds * 1000) - 1000;
  const manifest = newManifest(recordingId, 'RecFixtureMeeting00001', startedAt);
  manifest.stoppedAt = startedAt + Math.round(windowSeconds * 1000);
  const at = (sec: number) => startedAt + Math.round(sec * 1000);
  for (const track of tracks) {
    const source = track.kind === 'audio' ? 'mic' : 'camera';
    const trackId = `${track.participantId}-${source}-${track.kind}`;
    const file = `${trackId}-000.${track.kind === 'audio' ? 'webm' : 'ivf'}`;
    if (track.fileSeconds > 0) await makeTrackFile(path.join(recordingDir, file), track.kind, track.fileSeconds);
    const record: TrackRecord = {
      trackId,
      producerId: `producer-${trackId}`,
      participantId: track.participantId,
      source,
      kind: track.kind,
      mimeType: track.kind === 'audio' ? 'audio/opus' : 'video/VP8',
      contentType: `${track.kind}/webm`,
      finalExt: 'webm',
      segments: [
        {
          file,
          firstRtpWallMs: track.fileSeconds > 0 ? at(track.fileFromSec) : null,
          firstRtpTimestamp: track.fileSeconds > 0 ? 0 : null,
          startedAt: at(track.fileFromSec),
          pid: null,
          endedAt: manifest.stoppedAt,
          endReason: 'stopped',
        },
      ],
      live: (track.live ?? [[track.fileFromSec, track.fileFromSec + track.fileSeconds]]).map(([from, to]) => ({ from: at(from), to: at(to) })),
      paused: [],
      troubles: track.troubles ?? [],
    };
    manifest.tracks.push(record);
  }
  const writer = new ManifestWriter(recordingDir, manifest);
  await writer.save();
  return { recordingDir, writer };
}

/** An in-memory store: confirms what it received, or fails as told (to test what stays on disk). */
export class MemoryUploader implements Uploader {
  readonly name = 'memory';
  readonly stored = new Map<string, Buffer>();
  readonly attempts: string[] = [];
  /** Fail every upload whose name matches; or lie about what was stored. */
  failOn: RegExp | null = null;
  corrupt = false;
  /** Answer every upload with this HTTP refusal (403, 404, 409: permanent). */
  refuseWith: number | null = null;

  async upload(input: UploadInput): Promise<UploadReceipt> {
    this.attempts.push(input.name);
    if (this.refuseWith !== null) throw new UploadRefusedError(this.refuseWith, `upload of ${input.name} answered ${this.refuseWith}`);
    if (this.failOn?.test(input.name)) throw new Error(`store unreachable for ${input.name}`);
    const bytes = await readFile(input.path);
    const key = `recordings/${input.recordingId}/${input.name}`;
    const existing = this.stored.get(key);
    // Like the edge: the same bytes again get the same receipt; different bytes never replace them.
    if (existing && !existing.equals(bytes)) throw new Error(`409: ${key} exists with other content`);
    this.stored.set(key, bytes);
    const sha256 = createHash('sha256').update(this.corrupt ? Buffer.concat([bytes, Buffer.from('x')]) : bytes).digest('hex');
    return { key, bytes: bytes.length, sha256 };
  }
}
