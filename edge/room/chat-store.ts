import type { ChatMessage } from '../../schema/wire/room.js';

/** Storage of the recent chat. */
export const CHAT_TABLE = 'chat';

/** Messages a participant gets as history when joining. */
export const CHAT_HISTORY_ON_JOIN = 50;
/** Messages the room keeps (older ones live on in Postgres via the outbox). */
const CHAT_KEEP = 500;

type ChatRow = { message_id: string; participant_id: string; display_name: string; text: string; sent_at: number };

/** How often the table is trimmed back to CHAT_KEEP rows. */
const TRIM_EVERY = 100;

/** The meeting's chat in RoomDO storage: appended in order, trimmed to the recent tail. */
export class Chat {
  private appendsSinceTrim = 0;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS ${CHAT_TABLE} (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      message_id TEXT NOT NULL,
      participant_id TEXT NOT NULL,
      display_name TEXT NOT NULL,
      text TEXT NOT NULL,
      sent_at INTEGER NOT NULL
    )`);
  }

  append(message: ChatMessage): void {
    // A plain insert (no RETURNING cursor to read back): this runs once per message of a busy room.
    this.sql.exec(
      `INSERT INTO ${CHAT_TABLE} (message_id, participant_id, display_name, text, sent_at) VALUES (?, ?, ?, ?, ?)`,
      message.messageId,
      message.participantId,
      message.displayName,
      message.text,
      message.sentAt,
    );
    // Trimmed every TRIM_EVERY appends of this instance (and on the first after a restart).
    if (this.appendsSinceTrim++ % TRIM_EVERY === 0) {
      this.sql.exec(`DELETE FROM ${CHAT_TABLE} WHERE seq <= (SELECT max(seq) FROM ${CHAT_TABLE}) - ?`, CHAT_KEEP);
    }
  }

  recent(limit = CHAT_HISTORY_ON_JOIN): ChatMessage[] {
    return this.sql
      .exec<ChatRow>(`SELECT * FROM (SELECT * FROM ${CHAT_TABLE} ORDER BY seq DESC LIMIT ?) ORDER BY seq`, limit)
      .toArray()
      .map((row) => ({ messageId: row.message_id, participantId: row.participant_id, displayName: row.display_name, text: row.text, sentAt: row.sent_at }));
  }
}

/** Per-participant chat limit (burst, then one per refill): defined with the other limits. */
export { CHAT_BURST, CHAT_REFILL_MS } from './message-limits.js';
