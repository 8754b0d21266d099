/**
 * Storage of who is due to have their media let go, and when (media-let-go.ts says why): a row
 * per participant out of the room.
 */
const LET_GO_TABLE = 'media_let_go';

export class MediaLetGo {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS ${LET_GO_TABLE} (participant_id TEXT PRIMARY KEY, due_at INTEGER NOT NULL)`);
  }

  /** Inside the change that takes them out. */
  schedule(participantId: string, dueAt: number): void {
    this.sql.exec(`INSERT INTO ${LET_GO_TABLE} (participant_id, due_at) VALUES (?, ?) ON CONFLICT (participant_id) DO UPDATE SET due_at = excluded.due_at`, participantId, dueAt);
  }

  /** They are back (or removed: the removal closed their media already). */
  cancel(participantId: string): void {
    this.sql.exec(`DELETE FROM ${LET_GO_TABLE} WHERE participant_id = ?`, participantId);
  }

  /** Everyone out of the room whose media has not been let go yet. */
  pending(): string[] {
    return this.sql.exec<{ participant_id: string }>(`SELECT participant_id FROM ${LET_GO_TABLE}`).toArray().map((row) => row.participant_id);
  }

  due(now: number): string[] {
    return this.sql.exec<{ participant_id: string }>(`SELECT participant_id FROM ${LET_GO_TABLE} WHERE due_at <= ?`, now).toArray().map((row) => row.participant_id);
  }

  next(): number | null {
    return this.sql.exec<{ at: number | null }>(`SELECT min(due_at) AS at FROM ${LET_GO_TABLE}`).one().at;
  }

  clear(): void {
    this.sql.exec(`DELETE FROM ${LET_GO_TABLE}`);
  }
}
