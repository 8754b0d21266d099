import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { nodeUpMessageSchema, type NodeUpMessage, type RecordingStatus } from '../../schema/wire/index.js';

export type RecordingStatusMessage = NodeUpMessage & { type: 'event'; event: { event: 'recordingStatus' } };

export function isRecordingStatus(message: NodeUpMessage): message is RecordingStatusMessage {
  return message.type === 'event' && message.event.event === 'recordingStatus';
}

const journalFileSchema = z.array(nodeUpMessageSchema).max(10_000);

/**
 * The recording statuses the edge has not confirmed yet, newest word per recording, kept in a file
 * so a restarted node still sends them. A final status is the node's only word on a recording's
 * files (their folder is gone by then): a status written into a control socket that broke (or only
 * looked open) is not delivered, so each waits here until the edge answers recordingStatusReceived.
 */
export class StatusJournal {
  private readonly byRecording = new Map<string, RecordingStatusMessage>();

  /** `file` undefined: kept in memory only (tests, nodes without a recordings folder). */
  constructor(private readonly file?: string) {
    if (!file) return;
    let saved: unknown = [];
    try {
      saved = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      saved = []; // none yet, or a torn write: nothing to resend
    }
    const parsed = journalFileSchema.safeParse(saved);
    for (const message of parsed.success ? parsed.data : []) if (isRecordingStatus(message)) this.byRecording.set(message.event.recordingId, message);
  }

  /** The statuses to (re)send, oldest first. */
  pending(): RecordingStatusMessage[] {
    return [...this.byRecording.values()];
  }

  get size(): number {
    return this.byRecording.size;
  }

  /** Keeps `message` until confirmed; it replaces an earlier status of the same recording. */
  add(message: RecordingStatusMessage): void {
    this.byRecording.delete(message.event.recordingId);
    this.byRecording.set(message.event.recordingId, message);
    this.save();
  }

  /** The edge took `status` of `recordingId`; a newer status of it that is still on its way stays. */
  confirm(recordingId: string, status: RecordingStatus): void {
    if (this.byRecording.get(recordingId)?.event.status !== status) return;
    this.byRecording.delete(recordingId);
    this.save();
  }

  private save(): void {
    if (!this.file) return;
    // Written whole and renamed: a crash mid-write leaves the previous journal, never half of one.
    mkdirSync(path.dirname(this.file), { recursive: true });
    const temporary = `${this.file}.tmp`;
    writeFileSync(temporary, JSON.stringify(this.pending()));
    renameSync(temporary, this.file);
  }
}
