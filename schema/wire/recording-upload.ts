import { z } from 'zod';
import { uuidSchema } from './common.js';

/**
 * Media node → edge → R2: finished recording files. A file up to RECORDING_SINGLE_UPLOAD_MAX_BYTES
 * goes in one PUT; a bigger one (an hour of composite is ~1 GB) as an R2 multipart upload whose
 * parts each fit a Worker request body (100 MB on most plans). Every body carries its SHA-256 and
 * the edge answers what it stored, so the node deletes its copy only after a confirmed match.
 */

/** Header with the SHA-256 (hex) of the request body: the whole file, or one part. */
export const CONTENT_SHA256_HEADER = 'x-content-sha256';
/** One PUT carries at most this (Workers' request body limit is 100 MB on Free/Pro). */
export const RECORDING_SINGLE_UPLOAD_MAX_BYTES = 95 * 1024 * 1024;
/** R2 (like S3) wants every part but the last to be at least 5 MiB, and all of them the same size. */
export const RECORDING_PART_MIN_BYTES = 5 * 1024 * 1024;
export const RECORDING_PART_MAX_PARTS = 10_000;

export const sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits (SHA-256)');
/** File names a node may upload: what the recorder writes (track files, composite, manifest). */
export const recordingFileNameSchema = z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/, 'not a recording file name');

export const recordingUploadParamsSchema = z.object({ recordingId: uuidSchema, name: recordingFileNameSchema });

/**
 * The content type a recording file is stored and served with, by its extension — our table,
 * never what the uploader declared (a node cannot make us serve HTML). Unknown: a download.
 */
const RECORDING_CONTENT_TYPES: ReadonlyMap<string, string> = new Map([
  ['mp4', 'video/mp4'],
  ['webm', 'video/webm'],
  ['mkv', 'video/x-matroska'],
  ['ivf', 'video/x-ivf'],
  ['ts', 'video/mp2t'],
  ['json', 'application/json'],
]);

export function recordingContentTypeOf(name: string): string {
  const dot = name.lastIndexOf('.');
  const extension = dot < 0 ? '' : name.slice(dot + 1).toLowerCase();
  return RECORDING_CONTENT_TYPES.get(extension) ?? 'application/octet-stream';
}

/** Largest body of a multipart completion: RECORDING_PART_MAX_PARTS entries of a part number and an etag. */
export const MULTIPART_COMPLETE_MAX_BYTES = 3 * 1024 * 1024;
export const multipartParamsSchema = recordingUploadParamsSchema.extend({ uploadId: z.string().min(1).max(1024) });
export const multipartPartParamsSchema = multipartParamsSchema.extend({ partNumber: z.coerce.number().int().min(1).max(RECORDING_PART_MAX_PARTS) });

/** What the edge stored: the node compares bytes and sha256 with its local file. */
export const uploadReceiptSchema = z.object({
  key: z.string().min(1).max(512),
  bytes: z.number().int().nonnegative(),
  sha256: sha256HexSchema,
});
export type UploadReceipt = z.infer<typeof uploadReceiptSchema>;

export const multipartStartRequestSchema = z.object({
  /** Informative only: the edge stores every file with recordingContentTypeOf(name). */
  contentType: z.string().min(1).max(128),
  /** The whole file: size and SHA-256, kept with the object. */
  bytes: z.number().int().min(1).max(5 * 1024 ** 4),
  sha256: sha256HexSchema,
});
export const multipartStartResponseSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('started'), key: z.string(), uploadId: z.string() }),
  /** The same file is stored already (a retry after a lost answer): nothing to upload. */
  z.object({ status: z.literal('stored'), receipt: uploadReceiptSchema }),
]);

export const multipartPartResponseSchema = z.object({ partNumber: z.number().int(), etag: z.string(), bytes: z.number().int().nonnegative(), sha256: sha256HexSchema });

export const multipartCompleteRequestSchema = z.object({
  parts: z
    .array(z.object({ partNumber: z.number().int().min(1).max(RECORDING_PART_MAX_PARTS), etag: z.string().min(1).max(256) }))
    .min(1)
    .max(RECORDING_PART_MAX_PARTS),
});
