import { z } from 'zod';
import { meetingLinkIdSchema, nodeIdSchema, uuidSchema } from '../../schema/wire/common.js';
import { AppError } from '../../schema/wire/errors.js';

/**
 * Which media node may upload a recording's files, and until when: one small JSON object per
 * recording in R2 (binding FILES), beside the files it guards. The RoomDO writes it when it asks
 * a node to record (`grantRecordingUpload`) and closes it when that node reports the recording
 * ready or failed (`finishRecordingUpload`); the upload routes (edge/routes/recording-uploads.ts)
 * read it on every request. R2 is strongly consistent, so a closed grant is seen at once.
 */
const recordingGrantSchema = z.object({
  recordingId: uuidSchema,
  nodeId: nodeIdSchema,
  meetingLinkId: meetingLinkIdSchema,
  grantedAt: z.number().int(),
  /** Set once the node reported the recording ready or failed: its files no longer change. */
  finishedAt: z.number().int().nullable(),
});
export type RecordingGrant = z.infer<typeof recordingGrantSchema>;

/** Outside `recordings/`, so a grant is never listed, served or overwritten as a file. */
function grantKey(recordingId: string): string {
  return `recording-grants/${recordingId}.json`;
}

async function readGrant(files: R2Bucket, recordingId: string): Promise<RecordingGrant | null> {
  const object = await files.get(grantKey(recordingId));
  if (!object) return null;
  const parsed = recordingGrantSchema.safeParse(await object.json().catch(() => null));
  return parsed.success ? parsed.data : null;
}

async function writeGrant(files: R2Bucket, grant: RecordingGrant): Promise<void> {
  await files.put(grantKey(grant.recordingId), JSON.stringify(grant), { httpMetadata: { contentType: 'application/json' } });
}

/** The node `nodeId` records `recordingId` of meeting `meetingLinkId`: only it may upload the files. */
export async function grantRecordingUpload(files: R2Bucket, grant: { recordingId: string; nodeId: string; meetingLinkId: string }, now = Date.now()): Promise<void> {
  await writeGrant(files, recordingGrantSchema.parse({ ...grant, grantedAt: now, finishedAt: null }));
}

/** The recording is final (its node reported it ready or failed): no upload may change it any more. */
export async function finishRecordingUpload(files: R2Bucket, recordingId: string, now = Date.now()): Promise<void> {
  const grant = await readGrant(files, recordingId);
  if (grant && grant.finishedAt === null) await writeGrant(files, { ...grant, finishedAt: now });
}

/**
 * The grant under which `nodeId` may write a file of `recordingId`, or the error to answer:
 * RECORDING_NOT_FOUND for a recording nobody started, FORBIDDEN for another node's recording,
 * CONFLICT once the recording is finished (`whenFinished: 'allow'` for harmless cleanup).
 */
export async function requireUploadGrant(files: R2Bucket, recordingId: string, nodeId: string, options: { whenFinished?: 'refuse' | 'allow' } = {}): Promise<RecordingGrant> {
  const grant = await readGrant(files, recordingId);
  if (!grant) throw new AppError('RECORDING_NOT_FOUND', 'no recording with this id was started; nothing may be uploaded for it');
  if (grant.nodeId !== nodeId) throw new AppError('FORBIDDEN', 'this recording was made by another media node');
  if (grant.finishedAt !== null && options.whenFinished !== 'allow') throw new AppError('CONFLICT', 'this recording is finished; its files can no longer change');
  return grant;
}
