import { Hono, type Context } from 'hono';
import { AppError } from '../../schema/wire/errors.js';
import {
  CONTENT_SHA256_HEADER,
  multipartCompleteRequestSchema,
  multipartParamsSchema,
  multipartPartParamsSchema,
  multipartStartRequestSchema,
  RECORDING_SINGLE_UPLOAD_MAX_BYTES,
  recordingUploadParamsSchema,
  sha256HexSchema,
  type UploadReceipt,
} from '../../schema/wire/recording-upload.js';
import type { AppEnv } from '../http/app-env.js';
import { parseJsonBody, parseParams, parseWith } from '../http/validate.js';
import { toHex } from '../auth/encoding.js';
import { requireNodeCredential } from '../registry/credentials.js';
import { recordingObjectKey } from './recording-links.js';

/**
 * Media nodes upload finished recording files into R2 (binding FILES) through these routes, with
 * their node credential: one PUT for a file that fits a Worker request, an R2 multipart upload
 * (start, parts, complete) for a bigger one. Every body is checked against its SHA-256 and the
 * answer says what was stored, so the node deletes its copy only after a confirmed match.
 */
export const recordingUploadRoutes = new Hono<AppEnv>();

const hex = (bytes: ArrayBuffer) => toHex(new Uint8Array(bytes));
const requireNode = (c: Context<AppEnv>) => requireNodeCredential(c.env.NODE_CREDENTIAL_SECRET, c.req.header('Authorization'));

function declaredLength(c: Context<AppEnv>, max: number): number {
  const length = Number(c.req.header('Content-Length'));
  if (!c.req.header('Content-Length') || !Number.isSafeInteger(length) || length < 0) throw new AppError('BAD_REQUEST', 'Content-Length is required');
  if (length > max) throw new AppError('PAYLOAD_TOO_LARGE', `bodies above ${max} bytes are uploaded in parts (multipart)`);
  return length;
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
recordingUploadRoutes.put('/nodes/recordings/:recordingId/files/:name', async (c) => {
  const nodeId = await requireNode(c);
  const { recordingId, name } = parseParams(c, recordingUploadParamsSchema);
  const sha256 = parseWith(sha256HexSchema, c.req.header(CONTENT_SHA256_HEADER));
  const length = declaredLength(c, RECORDING_SINGLE_UPLOAD_MAX_BYTES);
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
      httpMetadata: { contentType: c.req.header('Content-Type') ?? 'application/octet-stream' },
      customMetadata: { sha256, nodeId, recordingId },
    });
  } catch (error) {
    throw new AppError('BAD_REQUEST', `store refused the file: ${error instanceof Error ? error.message.slice(0, 200) : 'unknown'}`);
  }
  if (!object) throw new AppError('CONFLICT', 'the file could not be stored');
  return c.json({ key, bytes: object.size, sha256: object.checksums.sha256 ? hex(object.checksums.sha256) : sha256 } satisfies UploadReceipt, 201);
});

// ── multipart ─────────────────────────────────────────────────────────────────────────────
recordingUploadRoutes.post('/nodes/recordings/:recordingId/files/:name/multipart', async (c) => {
  const nodeId = await requireNode(c);
  const { recordingId, name } = parseParams(c, recordingUploadParamsSchema);
  const body = await parseJsonBody(c, multipartStartRequestSchema);
  const key = recordingObjectKey(recordingId, name);
  const stored = await alreadyStored(c.env, key, body.bytes, body.sha256);
  if (stored) return c.json({ status: 'stored' as const, receipt: stored });
  const upload = await c.env.FILES.createMultipartUpload(key, {
    httpMetadata: { contentType: body.contentType },
    // The whole file's hash, declared here and vouched for part by part below.
    customMetadata: { sha256: body.sha256, bytes: String(body.bytes), nodeId, recordingId },
  });
  return c.json({ status: 'started' as const, key, uploadId: upload.uploadId }, 201);
});

recordingUploadRoutes.put('/nodes/recordings/:recordingId/files/:name/multipart/:uploadId/parts/:partNumber', async (c) => {
  await requireNode(c);
  const { recordingId, name, uploadId, partNumber } = parseParams(c, multipartPartParamsSchema);
  const sha256 = parseWith(sha256HexSchema, c.req.header(CONTENT_SHA256_HEADER));
  const length = declaredLength(c, RECORDING_SINGLE_UPLOAD_MAX_BYTES);
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
    throw new AppError('BAD_REQUEST', `store refused the part: ${error instanceof Error ? error.message.slice(0, 200) : 'unknown'}`);
  }
  const received = hex(await digest.digest);
  if (received !== sha256) throw new AppError('BAD_REQUEST', `part ${partNumber} arrived with SHA-256 ${received.slice(0, 12)}…, not the declared one; send it again`);
  return c.json({ partNumber: part.partNumber, etag: part.etag, bytes: length, sha256: received });
});

recordingUploadRoutes.post('/nodes/recordings/:recordingId/files/:name/multipart/:uploadId/complete', async (c) => {
  await requireNode(c);
  const { recordingId, name, uploadId } = parseParams(c, multipartParamsSchema);
  const { parts } = await parseJsonBody(c, multipartCompleteRequestSchema);
  const key = recordingObjectKey(recordingId, name);
  let object: R2Object;
  try {
    object = await c.env.FILES.resumeMultipartUpload(key, uploadId).complete([...parts].sort((a, b) => a.partNumber - b.partNumber));
  } catch (error) {
    throw new AppError('BAD_REQUEST', `store could not complete the upload: ${error instanceof Error ? error.message.slice(0, 200) : 'unknown'}`);
  }
  const declared = object.customMetadata ?? {};
  // Every part was checked against its hash on the way in; the total size must match as well.
  if (String(object.size) !== declared.bytes || !declared.sha256) {
    await c.env.FILES.delete(key);
    throw new AppError('CONFLICT', `the parts add up to ${object.size} bytes, not the declared ${declared.bytes ?? '?'}; upload again`);
  }
  return c.json({ key, bytes: object.size, sha256: declared.sha256 } satisfies UploadReceipt, 201);
});

recordingUploadRoutes.delete('/nodes/recordings/:recordingId/files/:name/multipart/:uploadId', async (c) => {
  await requireNode(c);
  const { recordingId, name, uploadId } = parseParams(c, multipartParamsSchema);
  try {
    await c.env.FILES.resumeMultipartUpload(recordingObjectKey(recordingId, name), uploadId).abort();
  } catch {
    // unknown or finished uploads: nothing left to abort
  }
  return c.body(null, 204);
});
