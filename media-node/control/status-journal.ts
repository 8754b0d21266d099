import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { nodeUpMessageSchema, type NodeUpMessage, type RecordingStatus } from '../../schema/wire/index.js';

export type RecordingStatusMessage = NodeUpMessage & { type: 'event'; event: { event: 'recordingStatus' } };

export function isRecordingStatus(message: NodeUpMessage): message is RecordingStatusMessage {
  return message.type === 'event' && message.event.event === 'recordingStatus';
}

/**
 * At most this many recordings' statuses are kept (an edge that never confirms, a node cut off for
 * days): the oldest words go first. A node records a handful of meetings at a time.
 */
export const JOURNAL_LIMIT = 1_000;

interface Entry {
  message: RecordingStatusMessage;
  lastSentAt: number | null;
}

/**
 * The recording statuses the edge has not confirmed yet, newest word per recording, kept in a file
 * so a restarted node still sends them. A final status is the node's only word on a recording's
 * files (their folder is gone by then): a status written into a control socket that broke (or only
 * looked open) is not delivered, so each waits here until the edge answers recordingStatusReceived.
 * The file is a copy: when it cannot be written (a full disk), the journal still works in memory.
 */
export class StatusJournal {
  private readonly byRecording = new Map<string, Entry>();

  /** `file` undefined: kept in memory only (tests, nodes without a recordings folder). */
  constructor(
    private readonly file?: string,
    private readonly onSaveError: (error: unknown) => void = () => undefined,
  ) {
    if (!file) return;
    let saved: unknown = [];
    try {
      saved = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      saved = []; // none yet, or a torn write: nothing to resend
    }
    // Entry by entry: one unreadable status does not cost the others.
    for (const item of Array.isArray(saved) ? saved.slice(-JOURNAL_LIMIT) : []) {
      const parsed = nodeUpMessageSchema.safeParse(item);
      if (parsed.success && isRecordingStatus(parsed.data)) this.byRecording.set(parsed.data.event.recordingId, { message: parsed.data, lastSentAt: null });
    }
  }

  /** The statuses to (re)send, oldest first. */
  pending(): RecordingStatusMessage[] {
    return [...this.byRecording.values()].map((entry) => entry.message);
  }

  get size(): number {
    return this.byRecording.size;
  }

  /**
   * Keeps `message` until confirmed, named (statusId) so that its confirmation is told from an
   * earlier word with the same status; it replaces an earlier status of the same recording.
   * Answers the message as it is to be sent.
   */
  add(message: RecordingStatusMessage): RecordingStatusMessage {
    const named = { ...message, event: { ...message.event, statusId: message.event.statusId ?? randomUUID() } };
    this.byRecording.delete(named.event.recordingId);
    this.byRecording.set(named.event.recordingId, { message: named, lastSentAt: null });
    while (this.byRecording.size > JOURNAL_LIMIT) this.byRecording.delete(this.byRecording.keys().next().value!);
    this.save();
    return named;
  }

  /** The status of `recordingId` went out. */
  sent(recordingId: string, now: number): void {
    const entry = this.byRecording.get(recordingId);
    if (entry) entry.lastSentAt = now;
  }

  /** Sent at least `afterMs` ago and still not confirmed (the edge did not take it): to send again. */
  unconfirmedSince(now: number, afterMs: number): RecordingStatusMessage[] {
    return [...this.byRecording.values()].filter((entry) => entry.lastSentAt !== null && now - entry.lastSentAt >= afterMs).map((entry) => entry.message);
  }

  /**
   * The edge took the word `statusId` (an edge that does not echo it: `status`) of `recordingId`.
   * A newer word, still on its way, stays.
   */
  confirm(recordingId: string, status: RecordingStatus, statusId?: string): void {
    const entry = this.byRecording.get(recordingId);
    if (!entry || entry.message.event.status !== status) return;
    if (statusId !== undefined && entry.message.event.statusId !== statusId) return;
    this.byRecording.delete(recordingId);
    this.save();
  }

  private save(): void {
    if (!this.file) return;
    try {
      // Written whole and renamed: a crash mid-write leaves the previous journal, never half of one.
      mkdirSync(path.dirname(this.file), { recursive: true });
      const temporary = `${this.file}.tmp`;
      writeFileSync(temporary, JSON.stringify(this.pending()));
      renameSync(temporary, this.file);
    } catch (error) {
      this.onSaveError(error);
    }
  }
}
