import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { AppError } from '../../schema/wire/errors.js';
import {
  CONTENT_SHA256_HEADER,
  multipartCompleteRequestSchema,
  multipartParamsSchema,
  multipartPartParamsSchema,
  multipartPartResponseSchema,
  multipartStartRequestSchema,
  multipartStartResponseSchema,
  MULTIPART_COMPLETE_MAX_BYTES,
  RECORDING_SINGLE_UPLOAD_MAX_BYTES,
  recordingContentTypeOf,
  recordingUploadParamsSchema,
  sha256HexSchema,
  uploadReceiptSchema,
  type UploadReceipt,
} from '../../schema/wire/recording-upload.js';
import type { AppEnv } from '../http/app-env.js';
import { toHex } from '../auth/encoding.js';
import { requireUploadGrant } from '../files/recording-grants.js';
import { defineRoute } from './define-route.js';
import { recordingObjectKey } from './recording-links.js';

/**
 * Media nodes upload finished recording files into R2 (binding FILES) through these routes, with
 * their node credential: one PUT for a file that fits a Worker request, an R2 multipart upload
 * (start, parts, complete) for a bigger one. Every body is checked against its SHA-256 and the
 * answer says what was stored, so the node deletes its copy only after a confirmed match.
 * Only the node the recording was granted to may write, and only until the recording is finished
 * (edge/files/recording-grants.ts); a stored file is never replaced; files are stored with the
 * content type of our own table, whatever the node declares.
 */
export const recordingUploadRoutes = new Hono<AppEnv>();

const hex = (bytes: ArrayBuffer) => toHex(new Uint8Array(bytes));
/** The SHA-256 the node declares for the body it sends. */
const contentHashHeadersSchema = z.object({ [CONTENT_SHA256_HEADER]: sha256HexSchema });

function declaredLength(c: Context<AppEnv>, max: number): number {
  const length = Number(c.req.header('Content-Length'));
  if (!c.req.header('Content-Length') || !Number.isSafeInteger(length) || length < 0) throw new AppError('BAD_REQUEST', 'Content-Length is required');
  if (length > max) throw new AppError('PAYLOAD_TOO_LARGE', `bodies above ${max} bytes are uploaded in parts (multipart)`);
  return length;
}

/** R2 refused a write: BAD_REQUEST with R2's reason, shortened (the node retries). */
function storeRefused(what: string, error: unknown): AppError {
  return new AppError('BAD_REQUEST', `${what}: ${error instanceof Error ? error.message.slice(0, 200) : 'unknown'}`);
}

/** A retry after a lost answer finds the file stored already: the same bytes get the same receipt. */
async function alreadyStored(env: AppEnv['Bindings'], key: string, bytes: number, sha256: string): Promise<UploadReceipt | null> {
  const existing = await env.FILES.head(key);
  if (!existing) return null;
  const stored = existing.checksums.sha256 ? hex(existing.checksums.sha256) : existing.customMetadata?.sha256;
  if (existing.size === bytes && stored === sha256) return { key, bytes: existing.size, sha256: stored };
  throw new AppError('CONFLICT', 'a different file is already stored under this name');
}

// ── one request ───────────────────────────────────────────────────────────────────────────
defineRoute(recordingUploadRoutes, {
  method: 'put', path: '/nodes/recordings/:recordingId/files/:name', tag: 'recordings', auth: 'node',
  summary: `A media node uploads a finished recording file (≤ ${RECORDING_SINGLE_UPLOAD_MAX_BYTES} bytes) to R2`,
  params: recordingUploadParamsSchema, headers: contentHashHeadersSchema,
  body: { contentTypes: ['application/octet-stream', 'video/webm', 'audio/ogg'], description: 'the file bytes' },
  responses: { 200: uploadReceiptSchema, 201: uploadReceiptSchema }, errors: ['BAD_REQUEST', 'PAYLOAD_TOO_LARGE', 'CONFLICT', 'FORBIDDEN', 'RECORDING_NOT_FOUND'],
}, async (c, { nodeId, params: { recordingId, name }, headers }) => {
  const sha256 = headers[CONTENT_SHA256_HEADER];
  const length = declaredLength(c, RECORDING_SINGLE_UPLOAD_MAX_BYTES);
  await requireUploadGrant(c.env.FILES, recordingId, nodeId);
  const body = c.req.raw.body;
  if (!body) throw new AppError('BAD_REQUEST', 'request has no body');
  const key = recordingObjectKey(recordingId, name);
  const stored = await alreadyStored(c.env, key, length, sha256);
  if (stored) return c.json(stored);
  // R2 checks the body against sha256 and refuses the write on a mismatch.
  let object: R2Object | null;
  try {
    object = await c.env.FILES.put(key, body, {
      sha256,
      httpMetadata: { contentType: recordingContentTypeOf(name) },
      customMetadata: { sha256, nodeId, recordingId },
    });
  } catch (error) {
    throw storeRefused('store refused the file', error);
  }
  if (!object) throw new AppError('CONFLICT', 'the file could not be stored');
  return c.json({ key, bytes: object.size, sha256: object.checksums.sha256 ? hex(object.checksums.sha256) : sha256 } satisfies UploadReceipt, 201);
});

// ── multipart ─────────────────────────────────────────────────────────────────────────────
defineRoute(recordingUploadRoutes, {
  method: 'post', path: '/nodes/recordings/:recordingId/files/:name/multipart', tag: 'recordings', auth: 'node',
  summary: 'A media node starts a multipart upload of a big recording file (or learns it is stored already)',
  params: recordingUploadParamsSchema, body: multipartStartRequestSchema,
  responses: { 200: multipartStartResponseSchema, 201: multipartStartResponseSchema }, errors: ['CONFLICT', 'FORBIDDEN', 'RECORDING_NOT_FOUND'],
}, async (c, { nodeId, params: { recordingId, name }, body }) => {
  await requireUploadGrant(c.env.FILES, recordingId, nodeId);
  const key = recordingObjectKey(recordingId, name);
  const stored = await alreadyStored(c.env, key, body.bytes, body.sha256);
  if (stored) return c.json({ status: 'stored' as const, receipt: stored });
  const upload = await c.env.FILES.createMultipartUpload(key, {
    httpMetadata: { contentType: recordingContentTypeOf(name) },
    // The whole file's hash, declared here and vouched for part by part below.
    customMetadata: { sha256: body.sha256, bytes: String(body.bytes), nodeId, recordingId },
  });
  return c.json({ status: 'started' as const, key, uploadId: upload.uploadId }, 201);
});

defineRoute(recordingUploadRoutes, {
  method: 'put', path: '/nodes/recordings/:recordingId/files/:name/multipart/:uploadId/parts/:partNumber', tag: 'recordings', auth: 'node',
  summary: 'One part of a multipart upload', params: multipartPartParamsSchema, headers: contentHashHeadersSchema,
  body: { contentTypes: ['application/octet-stream'], description: 'the part bytes' },
  responses: { 200: multipartPartResponseSchema }, errors: ['BAD_REQUEST', 'PAYLOAD_TOO_LARGE', 'CONFLICT', 'FORBIDDEN', 'RECORDING_NOT_FOUND'],
}, async (c, { nodeId, params: { recordingId, name, uploadId, partNumber }, headers }) => {
  const sha256 = headers[CONTENT_SHA256_HEADER];
  const length = declaredLength(c, RECORDING_SINGLE_UPLOAD_MAX_BYTES);
  await requireUploadGrant(c.env.FILES, recordingId, nodeId);
  const body = c.req.raw.body;
  if (!body || length === 0) throw new AppError('BAD_REQUEST', 'a part needs a body');
  const upload = c.env.FILES.resumeMultipartUpload(recordingObjectKey(recordingId, name), uploadId);
  // Hash the part while R2 stores it; a mismatch is refused and the node sends the part again
  // (a part number uploaded twice keeps the last one).
  const [toHash, toStore] = body.tee();
  const digest = new crypto.DigestStream('SHA-256');
  const hashing = toHash.pipeTo(digest);
  const sized = new FixedLengthStream(length);
  const feeding = toStore.pipeTo(sized.writable);
  let part: R2UploadedPart;
  try {
    [part] = await Promise.all([upload.uploadPart(partNumber, sized.readable), hashing, feeding]);
  } catch (error) {
    throw storeRefused('store refused the part', error);
  }
  const received = hex(await digest.digest);
  if (received !== sha256) throw new AppError('BAD_REQUEST', `part ${partNumber} arrived with SHA-256 ${received.slice(0, 12)}…, not the declared one; send it again`);
  return c.json({ partNumber: part.partNumber, etag: part.etag, bytes: length, sha256: received });
});

defineRoute(recordingUploadRoutes, {
  method: 'post', path: '/nodes/recordings/:recordingId/files/:name/multipart/:uploadId/complete', tag: 'recordings', auth: 'node',
  summary: 'Completes a multipart upload; answers what R2 stored', params: multipartParamsSchema, body: multipartCompleteRequestSchema,
  maxBodyBytes: MULTIPART_COMPLETE_MAX_BYTES, responses: { 201: uploadReceiptSchema }, errors: ['CONFLICT', 'FORBIDDEN', 'RECORDING_NOT_FOUND'],
}, async (c, { nodeId, params: { recordingId, name, uploadId }, body: { parts } }) => {
  await requireUploadGrant(c.env.FILES, recordingId, nodeId);
  const key = recordingObjectKey(recordingId, name);
  // Completing again, or over a file stored meanwhile, would replace a file already confirmed
  // to the node: refused. A node that lost the first answer starts again and gets the receipt.
  if (await c.env.FILES.head(key)) throw new AppError('CONFLICT', 'a file is already stored under this name; start the upload again for its receipt');
  let object: R2Object;
  try {
    object = await c.env.FILES.resumeMultipartUpload(key, uploadId).complete([...parts].sort((a, b) => a.partNumber - b.partNumber));
  } catch (error) {
    throw storeRefused('store could not complete the upload', error);
  }
  const declared = object.customMetadata ?? {};
  // Every part was checked against its hash on the way in; the total size must match as well.
  if (String(object.size) !== declared.bytes || !declared.sha256) {
    await c.env.FILES.delete(key);
    throw new AppError('CONFLICT', `the parts add up to ${object.size} bytes, not the declared ${declared.bytes ?? '?'}; upload again`);
  }
  return c.json({ key, bytes: object.size, sha256: declared.sha256 } satisfies UploadReceipt, 201);
});

defineRoute(recordingUploadRoutes, {
  method: 'delete', path: '/nodes/recordings/:recordingId/files/:name/multipart/:uploadId', tag: 'recordings', auth: 'node',
  summary: 'Abandons a multipart upload', params: multipartParamsSchema, responses: { 204: 'aborted (or nothing to abort)' }, errors: ['FORBIDDEN', 'RECORDING_NOT_FOUND'],
}, async (c, { nodeId, params: { recordingId, name, uploadId } }) => {
  await requireUploadGrant(c.env.FILES, recordingId, nodeId, { whenFinished: 'allow' });
  try {
    await c.env.FILES.resumeMultipartUpload(recordingObjectKey(recordingId, name), uploadId).abort();
  } catch {
    // unknown or finished uploads: nothing left to abort
  }
  return c.body(null, 204);
});
