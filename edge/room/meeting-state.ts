import { meetingSettingsSchema, type MeetingSettings } from '../../schema/wire/http.js';
import { recordingStateSchema, type RecordingState } from '../../schema/wire/room.js';
import { regionIdSchema, type RegionId } from '../../schema/regions.js';
import type { PlacedNode } from '../../schema/wire/node-control.js';

/** Storage of the meeting's own row; its presence means the meeting was configured. */
export const MEETING_TABLE = 'meeting';

const IDLE_RECORDING: RecordingState = { active: false, recordingId: null, startedAt: null, status: null };

type MeetingRow = {
  settings: string;
  locked: number;
  ended: number;
  live: number;
  recording: string;
  node_id: string | null;
  node_region: string | null;
  signaling_url: string | null;
  regions: string;
  may_unmute: number;
};

/**
 * The meeting's own row in the RoomDO: settings from Postgres (via configure), the live flags
 * (locked, ended, recording) and the media node this meeting is kept on.
 */
export class MeetingState {
  /** Settings change only through configure(); parsed once, not on every join step. */
  private cachedSettings: MeetingSettings | null | undefined;
  /**
   * The row as last read (undefined: read it again). A join asks for it half a dozen times (lock,
   * end, node, live …); every write here drops it, nothing else writes the table, and forget()
   * covers a rolled-back transaction (room.change).
   */
  private cachedRow: MeetingRow | null | undefined;

  /** Whether configure() ever created the tables (probing a link must not create them). */
  static exists(sql: SqlStorage): boolean {
    return sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", MEETING_TABLE).toArray().length > 0;
  }

  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS ${MEETING_TABLE} (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      settings TEXT NOT NULL,
      locked INTEGER NOT NULL DEFAULT 0, -- 0, or when the host locked it (rooms from before: 1)
      ended INTEGER NOT NULL DEFAULT 0,
      live INTEGER NOT NULL DEFAULT 0,
      recording TEXT NOT NULL,
      node_id TEXT,
      node_region TEXT,
      signaling_url TEXT,
      regions TEXT NOT NULL DEFAULT '[]',
      may_unmute INTEGER NOT NULL DEFAULT 1
    )`);
    // Rooms created before the unmute policy existed get the column (people may unmute: as before).
    const columns = sql.exec<{ name: string }>(`PRAGMA table_info(${MEETING_TABLE})`).toArray();
    if (!columns.some((column) => column.name === 'may_unmute')) sql.exec(`ALTER TABLE ${MEETING_TABLE} ADD COLUMN may_unmute INTEGER NOT NULL DEFAULT 1`);
  }

  private row(): MeetingRow | null {
    if (this.cachedRow === undefined) this.cachedRow = this.sql.exec<MeetingRow>(`SELECT * FROM ${MEETING_TABLE} WHERE id = 1`).toArray()[0] ?? null;
    return this.cachedRow;
  }

  /** Every write to the row goes through here, so the cached row never outlives one. */
  private write(query: string, ...params: SqlStorageValue[]): SqlStorageCursor<Record<string, SqlStorageValue>> {
    this.cachedRow = undefined;
    return this.sql.exec(query, ...params);
  }

  /** Drops what was read (a transaction that wrote the row rolled back). */
  forget(): void {
    this.cachedRow = undefined;
    this.cachedSettings = undefined;
  }

  settings(): MeetingSettings | null {
    if (this.cachedSettings === undefined) {
      const row = this.row();
      this.cachedSettings = row ? meetingSettingsSchema.parse(JSON.parse(row.settings)) : null;
    }
    return this.cachedSettings;
  }

  /** Stores settings unless newer ones are already here (configure calls may cross). */
  configure(settings: MeetingSettings): boolean {
    const current = this.settings();
    if (current && current.version > settings.version) return false;
    this.write(
      `INSERT INTO ${MEETING_TABLE} (id, settings, recording) VALUES (1, ?, ?)
       ON CONFLICT (id) DO UPDATE SET settings = excluded.settings`,
      JSON.stringify(settings),
      JSON.stringify(IDLE_RECORDING),
    );
    this.cachedSettings = settings;
    return true;
  }

  locked(): boolean {
    return this.lockedAt() !== null;
  }
  /** When the host locked the meeting (null: open). Locking again keeps the first time. */
  lockedAt(): number | null {
    const locked = this.row()?.locked ?? 0;
    return locked === 0 ? null : locked;
  }
  setLocked(locked: boolean, now: number): void {
    this.write(`UPDATE ${MEETING_TABLE} SET locked = CASE WHEN ?1 = 0 THEN 0 WHEN locked <> 0 THEN locked ELSE ?2 END WHERE id = 1`, locked ? 1 : 0, now);
  }

  /** Whether people the host muted may unmute themselves (host.allowUnmute; the node enforces it). */
  participantsMayUnmute(): boolean {
    return (this.row()?.may_unmute ?? 1) === 1;
  }
  setParticipantsMayUnmute(allowed: boolean): void {
    this.write(`UPDATE ${MEETING_TABLE} SET may_unmute = ? WHERE id = 1`, allowed ? 1 : 0);
  }

  ended(): boolean {
    return this.row()?.ended === 1;
  }
  markEnded(): void {
    this.write(`UPDATE ${MEETING_TABLE} SET ended = 1 WHERE id = 1`);
  }

  /** Someone has been in the meeting (it is live unless it ended). */
  wentLive(): boolean {
    return this.row()?.live === 1;
  }

  /** True the first time only: the meeting went live with its first participant. */
  markLive(): boolean {
    // Every join after the first: already live, nothing to write.
    if (this.row()?.live === 1) return false;
    return this.write(`UPDATE ${MEETING_TABLE} SET live = 1 WHERE id = 1 AND live = 0`).rowsWritten > 0;
  }

  recording(): RecordingState {
    const row = this.row();
    return row ? recordingStateSchema.parse(JSON.parse(row.recording)) : IDLE_RECORDING;
  }
  setRecording(recording: RecordingState): void {
    this.write(`UPDATE ${MEETING_TABLE} SET recording = ? WHERE id = 1`, JSON.stringify(recording));
  }

  assignment(): PlacedNode | null {
    const row = this.row();
    if (!row?.node_id || !row.node_region || !row.signaling_url) return null;
    return { nodeId: row.node_id, region: regionIdSchema.parse(row.node_region), signalingUrl: row.signaling_url };
  }
  setAssignment(node: PlacedNode | null): void {
    this.write(`UPDATE ${MEETING_TABLE} SET node_id = ?, node_region = ?, signaling_url = ? WHERE id = 1`, node?.nodeId ?? null, node?.region ?? null, node?.signalingUrl ?? null);
  }

  /** Region preference of the latest joiner: where the room re-places itself if its node dies. */
  regions(): RegionId[] {
    const row = this.row();
    return row ? regionIdSchema.array().parse(JSON.parse(row.regions)) : [];
  }
  setRegions(regions: readonly RegionId[]): void {
    this.write(`UPDATE ${MEETING_TABLE} SET regions = ? WHERE id = 1`, JSON.stringify(regions));
  }
}
