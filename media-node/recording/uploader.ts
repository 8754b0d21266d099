import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { z } from 'zod';
import type { Logger } from 'pino';
import type { UploadInput, UploadReceipt, Uploader } from './types.js';

/** What the edge answers to a stored file (edge/routes/recordings.ts). */
export const uploadReceiptSchema = z.object({
  key: z.string().min(1).max(512),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/** Header carrying the client's SHA-256 so the store can refuse a corrupted body. */
export const CONTENT_SHA256_HEADER = 'x-content-sha256';

/**
 * Uploads through the edge: `PUT <edge>/api/nodes/recordings/:recordingId/files/:name` with the
 * node credential; the Worker writes to R2 (binding FILES) and answers what R2 stored.
 * Works the same against Miniflare's R2 locally and real R2 in production.
 */
export class EdgeUploader implements Uploader {
  readonly name = 'edge-r2';
  constructor(
    private readonly edgeUrl: string,
    private readonly nodeCredential: string,
  ) {}

  async upload(input: UploadInput): Promise<UploadReceipt> {
    const url = new URL(`/api/nodes/recordings/${encodeURIComponent(input.recordingId)}/files/${encodeURIComponent(input.name)}`, this.edgeUrl);
    const body = Readable.toWeb(createReadStream(input.path)) as ReadableStream<Uint8Array>;
    const response = await fetch(url, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${this.nodeCredential}`,
        'content-type': input.contentType,
        'content-length': String(input.bytes),
        [CONTENT_SHA256_HEADER]: input.sha256,
      },
      body,
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
    const text = await response.text();
    if (!response.ok) throw new Error(`upload of ${input.name} answered ${response.status}: ${text.slice(0, 300)}`);
    return uploadReceiptSchema.parse(JSON.parse(text));
  }
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
export async function uploadConfirmed(uploader: Uploader, input: UploadInput, log: Logger, retry: RetryPolicy = DEFAULT_RETRY): Promise<UploadReceipt> {
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
      log.warn({ file: input.name, attempt, err: error instanceof Error ? error.message : String(error) }, 'upload attempt failed');
      if (attempt < retry.attempts) await new Promise((r) => setTimeout(r, retry.firstDelayMs * 2 ** (attempt - 1)));
    }
  }
  throw new Error(`upload of ${input.name} failed after ${retry.attempts} attempts: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
}
