import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { mediaKindSchema, mediaSourceSchema } from '../../schema/wire/common.js';
import { errorCodeSchema } from '../../schema/wire/errors.js';
import { recordingFileSchema } from '../../schema/wire/node-control.js';

/**
 * A small JSON file per recording (`<dir>/<recordingId>/manifest.json`), rewritten atomically on
 * every change. It is what lets a restarted node finish a recording its predecessor was killed in
 * the middle of: which track files exist, when each started, and how far processing got.
 */
export const MANIFEST_NAME = 'manifest.json';

export const segmentSchema = z.object({
  file: z.string().min(1).max(200),
  /** Wall clock (epoch ms) when the first RTP packet was forwarded to ffmpeg; null = none yet. */
  firstRtpWallMs: z.number().nullable(),
  /** RTP timestamp of that first packet (for aligning against RTCP/sender clocks later). */
  firstRtpTimestamp: z.number().nullable(),
  startedAt: z.number(),
  /** The capturing ffmpeg; a restarted node stops an orphan left by its killed predecessor. */
  pid: z.number().int().nullable(),
  /** The output path that ffmpeg was started with, when not `file` (a warm pool slot linked to it). */
  ffmpegOutput: z.string().max(1000).optional(),
  endedAt: z.number().nullable(),
  endReason: z.enum(['stopped', 'producerClosed', 'ffmpegDied', 'nodeRestarted']).nullable(),
});
export type Segment = z.infer<typeof segmentSchema>;

export const trackSchema = z.object({
  trackId: z.string().min(1).max(64),
  producerId: z.string().max(64),
  participantId: z.string().max(64),
  source: mediaSourceSchema,
  kind: mediaKindSchema,
  mimeType: z.string().max(64),
  contentType: z.string().max(64),
  /** Extension of the delivered file (captured files are remuxed into it when finishing). */
  finalExt: z.enum(['webm', 'mkv']),
  segments: z.array(segmentSchema),
  /** Shown in host-facing notes instead of the participant id. */
  displayName: z.string().max(100).optional(),
  /** Wall-clock spans the producer was live (published, not paused); `to` null = still live. */
  live: z.array(z.object({ from: z.number(), to: z.number().nullable() })).default([]),
  /** Wall-clock spans the producer was paused (muted mic, camera off): black in the composite. */
  paused: z.array(z.object({ from: z.number(), to: z.number().nullable() })).default([]),
  /** Capture trouble seen on this track (host-facing, short). */
  troubles: z.array(z.string().max(300)).max(32).default([]),
});
export type TrackRecord = z.infer<typeof trackSchema>;

/** Speaker changes kept per recording: past this (one every 2 s for 11 h) the layout stays put. */
export const MAX_SPEAKER_CHANGES = 20_000;

export const manifestStateSchema = z.enum(['recording', 'processing', 'uploading', 'ready', 'incomplete', 'failed']);

export const manifestSchema = z.object({
  version: z.literal(1),
  recordingId: z.string(),
  meetingId: z.string(),
  startedAt: z.number(),
  stoppedAt: z.number().nullable(),
  state: manifestStateSchema,
  tracks: z.array(trackSchema),
  gaps: z.array(z.object({ trackId: z.string(), fromMs: z.number(), toMs: z.number().nullable(), reason: z.string().max(500) })),
  composite: z.object({ file: z.string() }).nullable(),
  /** Files the store confirmed (bytes + sha256 matched): the local copy may be gone. */
  uploaded: z.array(recordingFileSchema),
  error: z.object({ code: errorCodeSchema, message: z.string().max(500) }).nullable(),
  /** Host-facing notes of the verdict (what is missing), decided before uploading. */
  notes: z.array(z.string().max(300)).max(64).default([]),
  /** Why capture ended before the host stopped it (maximum length), if it did. */
  endedEarly: z.string().max(300).nullable().default(null),
  /** Outcome decided before uploading (coverage + integrity check); a resumed upload keeps it. */
  verdict: z.enum(['ready', 'incomplete', 'failed']).nullable().default(null),
  /** Dominant-speaker changes seen while recording (wall clock): the composite's layout follows them. */
  speakers: z.array(z.object({ at: z.number(), participantId: z.string().max(64) })).max(MAX_SPEAKER_CHANGES).default([]),
});
export type Manifest = z.infer<typeof manifestSchema>;

export function newManifest(recordingId: string, meetingId: string, startedAt: number): Manifest {
  return { version: 1, recordingId, meetingId, startedAt, stoppedAt: null, state: 'recording', tracks: [], gaps: [], composite: null, uploaded: [], error: null, notes: [], endedEarly: null, verdict: null, speakers: [] };
}

/** Writes the manifest through a temp file + rename, so a crash never leaves half a JSON. */
export async function writeManifest(recordingDir: string, manifest: Manifest): Promise<void> {
  const target = path.join(recordingDir, MANIFEST_NAME);
  const temp = `${target}.${process.pid}.tmp`;
  await fs.writeFile(temp, JSON.stringify(manifest, null, 1));
  await fs.rename(temp, target);
}

export async function readManifest(recordingDir: string): Promise<Manifest> {
  const raw = await fs.readFile(path.join(recordingDir, MANIFEST_NAME), 'utf8');
  return manifestSchema.parse(JSON.parse(raw));
}

/** Serialises manifest writes of one recording: the latest state always lands last. */
export class ManifestWriter {
  private chain: Promise<void> = Promise.resolve();
  constructor(
    private readonly recordingDir: string,
    readonly manifest: Manifest,
  ) {}
  /**
   * Writes the current state after the earlier writes (one retry). A caller that awaits sees a
   * failure; fire-and-forget callers (`void writer.save()`) cannot crash the node with it.
   */
  save(): Promise<void> {
    const snapshot = structuredClone(this.manifest);
    const write = this.chain.then(() => writeManifest(this.recordingDir, snapshot)).catch(() => writeManifest(this.recordingDir, snapshot));
    this.chain = write.catch(() => undefined);
    return write;
  }
}
