import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { z } from 'zod';
import {
  CONTENT_SHA256_HEADER,
  multipartPartResponseSchema,
  multipartStartResponseSchema,
  RECORDING_PART_MIN_BYTES,
  RECORDING_SINGLE_UPLOAD_MAX_BYTES,
  uploadReceiptSchema,
} from '../../schema/wire/recording-upload.js';
import type { UploadInput, UploadReceipt, Uploader } from './types.js';
import { typedLog, type RecorderLogger } from './log.js';

export interface EdgeUploaderOptions {
  /** Files up to this size go in one PUT; bigger ones in parts. */
  singleUploadMaxBytes?: number;
  /** Size of every part but the last (≥ 5 MiB, ≤ one request body). */
  partBytes?: number;
  /** Attempts per part before the whole upload gives up (uploadConfirmed then starts over). */
  partAttempts?: number;
}

/**
 * Uploads through the edge with the node credential; the Worker writes to R2 (binding FILES)
 * and answers what R2 stored. Small files: one `PUT …/files/:name`. Big ones (an hour of
 * composite is ~1 GB, past any Worker request limit): an R2 multipart upload, each part sent with
 * its SHA-256 and retried on its own. Works the same against Miniflare's R2 and real R2.
 */
export class EdgeUploader implements Uploader {
  readonly name = 'edge-r2';
  private readonly singleMax: number;
  private readonly partBytes: number;
  private readonly partAttempts: number;

  constructor(
    private readonly edgeUrl: string,
    private readonly nodeCredential: string,
    options: EdgeUploaderOptions = {},
  ) {
    this.singleMax = options.singleUploadMaxBytes ?? RECORDING_SINGLE_UPLOAD_MAX_BYTES;
    this.partBytes = options.partBytes ?? 64 * 1024 * 1024;
    this.partAttempts = options.partAttempts ?? 3;
    if (this.partBytes < RECORDING_PART_MIN_BYTES || this.partBytes > RECORDING_SINGLE_UPLOAD_MAX_BYTES) {
      throw new Error(`partBytes must be within ${RECORDING_PART_MIN_BYTES}…${RECORDING_SINGLE_UPLOAD_MAX_BYTES}`);
    }
  }

  upload(input: UploadInput): Promise<UploadReceipt> {
    return input.bytes <= this.singleMax ? this.uploadWhole(input) : this.uploadInParts(input);
  }

  private fileUrl(input: UploadInput, suffix = ''): URL {
    return new URL(`/api/nodes/recordings/${encodeURIComponent(input.recordingId)}/files/${encodeURIComponent(input.name)}${suffix}`, this.edgeUrl);
  }

  /**
   * One request, bounded in time (a stalled connection must not leave a recording 'uploading' for
   * ever): a minute, or longer for a big body at a slow 256 KiB/s.
   */
  private async call<S extends z.ZodType>(url: URL, init: RequestInit & { headers?: Record<string, string> }, schema: S, what: string, bodyBytes = 0): Promise<z.output<S>> {
    const timeoutMs = Math.max(60_000, Math.ceil((bodyBytes / (256 * 1024)) * 1000)); // AbortSignal.timeout takes whole ms only
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs), headers: { authorization: `Bearer ${this.nodeCredential}`, ...init.headers } });
    const text = await response.text();
    if (!response.ok) throw new UploadRefusedError(response.status, `${what} answered ${response.status}: ${text.slice(0, 300)}`);
    return schema.parse(JSON.parse(text));
  }

  private uploadWhole(input: UploadInput): Promise<UploadReceipt> {
    const body = Readable.toWeb(createReadStream(input.path)) as ReadableStream<Uint8Array>;
    return this.call(
      this.fileUrl(input),
      {
        method: 'PUT',
        headers: { 'content-type': input.contentType, 'content-length': String(input.bytes), [CONTENT_SHA256_HEADER]: input.sha256 },
        body,
        duplex: 'half',
      } as RequestInit & { duplex: 'half'; headers: Record<string, string> },
      uploadReceiptSchema,
      `upload of ${input.name}`,
      input.bytes,
    );
  }

  private async uploadInParts(input: UploadInput): Promise<UploadReceipt> {
    const json = { 'content-type': 'application/json' };
    const started = await this.call(
      this.fileUrl(input, '/multipart'),
      { method: 'POST', headers: json, body: JSON.stringify({ contentType: input.contentType, bytes: input.bytes, sha256: input.sha256 }) },
      multipartStartResponseSchema,
      `multipart start of ${input.name}`,
    );
    if (started.status === 'stored') return started.receipt;
    const base = `/multipart/${encodeURIComponent(started.uploadId)}`;
    const file = await open(input.path, 'r');
    try {
      const parts: { partNumber: number; etag: string }[] = [];
      const buffer = Buffer.alloc(this.partBytes);
      for (let offset = 0, partNumber = 1; offset < input.bytes; offset += this.partBytes, partNumber++) {
        const length = Math.min(this.partBytes, input.bytes - offset);
        const { bytesRead } = await file.read(buffer, 0, length, offset);
        if (bytesRead !== length) throw new Error(`${input.name} is shorter than its declared ${input.bytes} bytes`);
        const chunk = buffer.subarray(0, length);
        const sha256 = createHash('sha256').update(chunk).digest('hex');
        const part = await this.withAttempts(`part ${partNumber} of ${input.name}`, () =>
          this.call(
            this.fileUrl(input, `${base}/parts/${partNumber}`),
            { method: 'PUT', headers: { 'content-type': 'application/octet-stream', [CONTENT_SHA256_HEADER]: sha256 }, body: chunk },
            multipartPartResponseSchema,
            `part ${partNumber} of ${input.name}`,
            length,
          ),
        );
        // The edge hashed what it stored: a match proves this part arrived byte for byte.
        if (part.sha256 !== sha256 || part.bytes !== length) throw new Error(`part ${partNumber} of ${input.name} was stored as ${part.bytes} B ${part.sha256.slice(0, 12)}…`);
        parts.push({ partNumber, etag: part.etag });
      }
      return await this.call(this.fileUrl(input, `${base}/complete`), { method: 'POST', headers: json, body: JSON.stringify({ parts }) }, uploadReceiptSchema, `multipart completion of ${input.name}`);
    } catch (error) {
      // Best effort: R2 also drops unfinished multipart uploads by itself after a while.
      await fetch(this.fileUrl(input, base), { method: 'DELETE', headers: { authorization: `Bearer ${this.nodeCredential}` } }).catch(() => undefined);
      throw error;
    } finally {
      await file.close();
    }
  }

  private async withAttempts<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (error) {
        if (n >= this.partAttempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** (n - 1)));
      }
    }
  }
}

/** The store answered with an HTTP error (its status says whether trying again can help). */
export class UploadRefusedError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'UploadRefusedError';
  }
}

/**
 * Refusals no retry can change: another node's recording (403), no recording started (404), a
 * finished recording or a different file under that name (409), a body too big (413). Anything
 * else (network, 5xx, a part that arrived damaged) is worth another try.
 */
export function isPermanentUploadError(error: unknown): boolean {
  return error instanceof UploadRefusedError && [403, 404, 409, 413].includes(error.status);
}

export interface RetryPolicy {
  attempts: number;
  firstDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, firstDelayMs: 500 };

/**
 * Uploads with retries (exponential backoff) and accepts only a receipt whose size and SHA-256
 * equal the local file's: that match is what allows deleting the local copy.
 */
export async function uploadConfirmed(uploader: Uploader, input: UploadInput, logger: RecorderLogger, retry: RetryPolicy = DEFAULT_RETRY): Promise<UploadReceipt> {
  const log = typedLog(logger);
  let lastError: unknown;
  for (let attempt = 1; attempt <= retry.attempts; attempt++) {
    try {
      const receipt = await uploader.upload(input);
      if (receipt.bytes !== input.bytes || receipt.sha256 !== input.sha256) {
        throw new Error(`store confirmed ${receipt.bytes} B sha256 ${receipt.sha256.slice(0, 12)}…, local file is ${input.bytes} B ${input.sha256.slice(0, 12)}…`);
      }
      return receipt;
    } catch (error) {
      lastError = error;
      log.warn('upload attempt failed', { file: input.name, attempt, err: error instanceof Error ? error.message : String(error) });
      if (isPermanentUploadError(error)) throw error;
      if (attempt < retry.attempts) await new Promise((r) => setTimeout(r, retry.firstDelayMs * 2 ** (attempt - 1)));
    }
  }
  throw new Error(`upload of ${input.name} failed after ${retry.attempts} attempts: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
}
