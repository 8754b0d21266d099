import { sql, type SQL } from 'drizzle-orm';
import { analyticsEvents, messages, participants, recordings } from '../../schema/db/index.js';
import type { HistoryRecord } from '../../schema/wire/history.js';
import type { Db } from './client.js';

/**
 * Writes one queue batch of history records (many rooms) in a few multi-row statements inside
 * one transaction. Every statement is idempotent on the record's key, so a redelivered batch — or
 * records arriving out of order — end in the same rows: nothing doubled, nothing lost.
 */
export const ROWS_PER_STATEMENT = 500;

type Of<K extends HistoryRecord['kind']> = Extract<HistoryRecord, { kind: K }>;

export async function writeHistory(db: Db, records: readonly HistoryRecord[]): Promise<void> {
  const byKind = groupByKind(records);
  await db.transaction(async (tx) => {
    for (const rows of chunks(mergeParticipants(byKind.participantJoined, byKind.participantLeft))) {
      await tx
        .insert(participants)
        .values(rows)
        .onConflictDoUpdate({
          target: [participants.meetingId, participants.participantId],
          set: {
            userId: sql`coalesce(excluded.user_id, ${participants.userId})`,
            displayName: sql`coalesce(excluded.display_name, ${participants.displayName})`,
            role: sql`coalesce(excluded.role, ${participants.role})`,
            joinedAt: sql`least(${participants.joinedAt}, excluded.joined_at)`,
            leftAt: sql`greatest(${participants.leftAt}, excluded.left_at)`,
            leaveReason: sql`coalesce(excluded.leave_reason, ${participants.leaveReason})`,
          },
        });
    }
    await insertMessages(tx, byKind.message.map(messageRow));
    await insertAnalytics(tx, byKind.analytics.map(analyticsRow));
    for (const rows of chunks(mergeRecordings(byKind.recording))) {
      await tx
        .insert(recordings)
        .values(rows)
        .onConflictDoUpdate({
          target: recordings.id,
          set: {
            startedAt: sql`least(${recordings.startedAt}, excluded.started_at)`,
            status: newer('status'),
            endedAt: newer('ended_at'),
            // A status without a length or file list (the room's own deadline) keeps what the node said.
            durationMs: sql`coalesce(${newer('duration_ms')}, ${recordings.durationMs})`,
            bytes: sql`coalesce(${newer('bytes')}, ${recordings.bytes})`,
            files: sql`case when jsonb_array_length(excluded.files) = 0 then ${recordings.files} else ${newer('files')} end`,
            error: newer('error'),
            incomplete: newer('incomplete'),
            notes: newer('notes'),
            statusAt: sql`greatest(${recordings.statusAt}, excluded.status_at)`,
          },
        });
    }
    await applyMeetingStatus(tx, byKind.meetingStatus);
  });
}

/*
 * The two high-volume tables (chat, analytics) are inserted with one array parameter per column
 * and unnest(): a single statement of any size, no per-row parameters to build or parse.
 */
async function insertMessages(tx: Pick<Db, 'execute'>, rows: (typeof messages.$inferInsert)[]): Promise<void> {
  if (!rows.length) return;
  const column = <T>(pick: (row: (typeof messages.$inferInsert)) => T) => sql.param(rows.map(pick));
  await tx.execute(sql`insert into ${messages} (id, key, meeting_id, participant_id, user_id, display_name, text, sent_at)
    select * from unnest(
      ${column((r) => r.id)}::uuid[], ${column((r) => r.key)}::varchar[], ${column((r) => r.meetingId)}::uuid[],
      ${column((r) => r.participantId)}::varchar[], ${column((r) => r.userId ?? null)}::uuid[], ${column((r) => r.displayName)}::varchar[],
      ${column((r) => r.text)}::text[], ${column((r) => r.sentAt.toISOString())}::timestamptz[])
    on conflict do nothing`);
}

async function insertAnalytics(tx: Pick<Db, 'execute'>, rows: (typeof analyticsEvents.$inferInsert)[]): Promise<void> {
  if (!rows.length) return;
  const column = <T>(pick: (row: (typeof analyticsEvents.$inferInsert)) => T) => sql.param(rows.map(pick));
  await tx.execute(sql`insert into ${analyticsEvents} (key, meeting_id, event, participant_id, props, at)
    select * from unnest(
      ${column((r) => r.key)}::varchar[], ${column((r) => r.meetingId)}::uuid[], ${column((r) => r.event)}::varchar[],
      ${column((r) => r.participantId ?? null)}::varchar[], ${column((r) => JSON.stringify(r.props))}::jsonb[], ${column((r) => r.at.toISOString())}::timestamptz[])
    on conflict do nothing`);
}

function groupByKind(records: readonly HistoryRecord[]): { [K in HistoryRecord['kind']]: Of<K>[] } {
  const groups = { participantJoined: [], participantLeft: [], message: [], analytics: [], meetingStatus: [], recording: [] } as {
    [K in HistoryRecord['kind']]: Of<K>[];
  };
  for (const record of records) (groups[record.kind] as HistoryRecord[]).push(record);
  return groups;
}

/** One row per (meeting, participant): Postgres refuses to upsert the same key twice in a statement. */
function mergeParticipants(joined: Of<'participantJoined'>[], left: Of<'participantLeft'>[]): (typeof participants.$inferInsert)[] {
  const rows = new Map<string, typeof participants.$inferInsert>();
  const rowFor = (meetingId: string, participantId: string) => {
    const key = `${meetingId}/${participantId}`;
    let row = rows.get(key);
    if (!row) {
      row = { meetingId, participantId, userId: null, displayName: null, role: null, joinedAt: null, leftAt: null, leaveReason: null };
      rows.set(key, row);
    }
    return row;
  };
  for (const record of joined) {
    const row = rowFor(record.meetingId, record.participantId);
    row.userId = record.userId;
    row.displayName = clean(record.displayName);
    row.role = record.role;
    row.joinedAt = earliest(row.joinedAt ?? null, new Date(record.at));
  }
  for (const record of left) {
    const row = rowFor(record.meetingId, record.participantId);
    if (!row.leftAt || row.leftAt.getTime() < record.at) {
      row.leftAt = new Date(record.at);
      row.leaveReason = clean(record.reason);
    }
  }
  return [...rows.values()];
}

function messageRow(record: Of<'message'>): typeof messages.$inferInsert {
  return {
    id: record.messageId,
    key: record.key,
    meetingId: record.meetingId,
    participantId: record.participantId,
    userId: record.userId,
    displayName: clean(record.displayName),
    text: clean(record.text),
    sentAt: new Date(record.at),
  };
}

function analyticsRow(record: Of<'analytics'>): typeof analyticsEvents.$inferInsert {
  return {
    key: record.key,
    meetingId: record.meetingId,
    event: record.event,
    participantId: record.participantId,
    props: Object.fromEntries(Object.entries(record.props).map(([name, value]) => [clean(name), typeof value === 'string' ? clean(value) : value])),
    at: new Date(record.at),
  };
}

const FINAL_RECORDING_STATUSES = new Set(['ready', 'failed']);

/** One row per recording: the newest status wins, the earliest record gives the start. */
function mergeRecordings(records: Of<'recording'>[]): (typeof recordings.$inferInsert)[] {
  const rows = new Map<string, typeof recordings.$inferInsert>();
  for (const record of records) {
    const existing = rows.get(record.recordingId);
    const startedAt = earliest(existing?.startedAt ?? null, new Date(record.at))!;
    if (existing && existing.statusAt.getTime() > record.at) {
      existing.startedAt = startedAt;
      continue;
    }
    // A status without a length or file list (the room's own deadline) keeps what the node said.
    const files = record.files.length > 0 ? record.files : (existing?.files ?? []);
    rows.set(record.recordingId, {
      id: record.recordingId,
      meetingId: record.meetingId,
      meetingLinkId: record.meetingLinkId,
      status: record.status,
      startedAt,
      endedAt: FINAL_RECORDING_STATUSES.has(record.status) ? new Date(record.at) : null,
      durationMs: record.durationMs ?? existing?.durationMs ?? null,
      bytes: files.length ? files.reduce((sum, file) => sum + file.bytes, 0) : null,
      files,
      error: record.error === null ? null : clean(record.error),
      incomplete: record.incomplete ?? false,
      notes: (record.notes ?? []).map(clean),
      statusAt: new Date(record.at),
    });
  }
  return [...rows.values()];
}

/** Column value from the incoming row only if it is at least as new as the stored one. */
function newer(column: string): SQL {
  return sql`case when ${recordings.statusAt} <= excluded.status_at then ${sql.raw(`excluded.${column}`)} else ${sql.raw(`"recordings"."${column}"`)} end`;
}

/** live: scheduled → live and the first start time; ended: status ended and the first end time. */
async function applyMeetingStatus(tx: Pick<Db, 'execute'>, records: Of<'meetingStatus'>[]): Promise<void> {
  for (const status of ['live', 'ended'] as const) {
    const firstAt = new Map<string, number>();
    for (const record of records) {
      if (record.status !== status) continue;
      firstAt.set(record.meetingId, Math.min(firstAt.get(record.meetingId) ?? Infinity, record.at));
    }
    for (const rows of chunks([...firstAt])) {
      const values = sql.join(
        rows.map(([id, at]) => sql`(${id}::uuid, ${new Date(at).toISOString()}::timestamptz)`),
        sql`, `,
      );
      if (status === 'live') {
        await tx.execute(sql`update meetings as m
          set status = case when m.status = 'ended' then 'ended' else 'live' end,
              started_at = least(m.started_at, v.at)
          from (values ${values}) as v(id, at) where m.id = v.id`);
      } else {
        await tx.execute(sql`update meetings as m
          set status = 'ended', ended_at = coalesce(m.ended_at, v.at)
          from (values ${values}) as v(id, at) where m.id = v.id`);
      }
    }
  }
}

/** Postgres text and jsonb cannot hold NUL characters; they carry no meaning here, so drop them. */
function clean(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '') : text;
}

function earliest(a: Date | null, b: Date): Date {
  return a && a.getTime() <= b.getTime() ? a : b;
}

function* chunks<T>(rows: T[]): Generator<T[]> {
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) yield rows.slice(i, i + ROWS_PER_STATEMENT);
}
