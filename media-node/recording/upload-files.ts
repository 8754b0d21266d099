import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { RecordingFile } from '../../schema/wire/node-control.js';
import { digestFile } from './file-digest.js';
import type { ManifestWriter } from './manifest.js';
import { contentTypeOf } from './sdp.js';
import { fileExists } from './track-files.js';
import { isPermanentUploadError, uploadConfirmed, type RetryPolicy } from './uploader.js';
import type { Uploader } from './types.js';
import { typedLog, type RecorderLogger } from './log.js';

/** What an upload round needs: where the files are, their manifest, and the way to the edge. */
export interface UploadOptions {
  recordingDir: string;
  writer: ManifestWriter;
  uploader: Uploader;
  log: RecorderLogger;
  retry?: RetryPolicy;
}

/** Why the upload stopped; `permanent`: the store refused for good (retrying cannot help). */
export interface UploadFailure {
  reason: string;
  permanent: boolean;
}

interface PendingFile {
  name: string;
  kind: RecordingFile['kind'];
  contentType: string;
  participantId?: string;
  mediaKind?: 'audio' | 'video';
  offsetMs?: number;
}

/**
 * Uploads every file of the recording the store has not confirmed yet, one after another; each
 * local copy is deleted only once the store confirmed its size and SHA-256 (and the manifest says
 * so first), so a crash at any point leaves either the local file or a confirmed upload.
 * Returns null when all are stored, else why not (the files stay on disk either way).
 */
export async function uploadPending(options: UploadOptions): Promise<UploadFailure | null> {
  const { recordingDir, writer, uploader } = options;
  const log = typedLog(options.log);
  const { manifest } = writer;
  const pending: PendingFile[] = [];
  if (manifest.composite) pending.push({ name: manifest.composite.file, kind: 'composite', contentType: 'video/mp4' });
  for (const track of manifest.tracks) {
    for (const segment of track.segments) {
      const offsetMs = segment.firstRtpWallMs === null ? undefined : Math.round(segment.firstRtpWallMs - manifest.startedAt);
      pending.push({ name: segment.file, kind: 'track', contentType: contentTypeOf(segment.file, track.kind), participantId: track.participantId, mediaKind: track.kind, ...(offsetMs !== undefined ? { offsetMs } : {}) });
    }
  }
  try {
    for (const file of pending) {
      if (manifest.uploaded.some((done) => done.key.endsWith(`/${file.name}`))) continue;
      const local = path.join(recordingDir, file.name);
      if (!(await fileExists(local))) {
        log.warn('track file is empty or missing (no packets arrived): nothing to upload', { file: file.name });
        continue;
      }
      const digest = await digestFile(local);
      const receipt = await uploadConfirmed(uploader, { recordingId: manifest.recordingId, name: file.name, path: local, contentType: file.contentType, ...digest }, log, options.retry);
      manifest.uploaded.push({
        key: receipt.key,
        kind: file.kind,
        contentType: file.contentType,
        bytes: receipt.bytes,
        sha256: receipt.sha256,
        ...(file.participantId ? { participantId: file.participantId } : {}),
        ...(file.mediaKind ? { mediaKind: file.mediaKind } : {}),
        ...(file.offsetMs !== undefined ? { offsetMs: file.offsetMs } : {}),
      });
      await writer.save();
      await fs.rm(local, { force: true });
      log.info('upload confirmed, local copy deleted', { file: file.name, bytes: receipt.bytes, key: receipt.key });
    }
    return null;
  } catch (error) {
    const permanent = isPermanentUploadError(error);
    const why = error instanceof Error ? error.message : String(error);
    const reason = (permanent ? `upload refused for good, files kept on the node for an operator: ${why}` : `upload failed, files kept on the node and uploaded again later: ${why}`).slice(0, 500);
    log.error('recording upload failed', { err: reason, permanent });
    return { reason, permanent };
  }
}
