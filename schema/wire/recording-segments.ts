import { z } from 'zod';
import { uuidSchema } from './common.js';

/**
 * A recording whose media node died goes on on the meeting's new node as a further part, with its
 * own recording id (files, upload grant and status are per node). The room lists the parts in
 * order; the last one is the recording's current `recordingId`.
 */
export const recordingSegmentSchema = z.object({
  recordingId: uuidSchema,
  /** When this part's node was asked to record (epoch ms); null: not started yet (the new node has no room yet). */
  startedAt: z.number().int().nullable(),
  /** When this part ended: its node was lost, or the recording stopped; null while it runs. */
  endedAt: z.number().int().nullable(),
  /** The part ended because its media node was lost (what it captured may still arrive). */
  nodeLost: z.boolean(),
});
export type RecordingSegment = z.infer<typeof recordingSegmentSchema>;

/** At most this many parts: a recording whose node is lost more often than that ends. */
export const RECORDING_MAX_SEGMENTS = 16;
