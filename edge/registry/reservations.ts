/**
 * Reservations for rooms placed recently: a room reaches its size minutes after placement (people
 * trickle in), so for `reservationMs` after it is placed its node counts the consumers reserved
 * for it (placement.ts reservedConsumers); a room that arrives full (moved) only until its node
 * has reported it (arrivedReservationMs). A meeting holds one reservation at a time: placed
 * again (moved), the old one goes. Expired ones fall off as they expire.
 *
 * The ledger is pure data and functions (the simulation runs the same); RoomReservations keeps it in the
 * RegionDO's SQLite so it survives the object being evicted.
 */
export interface Reservation<K, N = string> {
  meeting: K;
  nodeId: N;
  consumers: number;
  expiresAt: number;
}

export interface ReservedTotals {
  rooms: number;
  consumers: number;
}

/**
 * The live reservations: plain data (Maps and arrays), so a simulated world holding one clones.
 * `heap`: a binary min-heap on expiresAt (windows differ: a room arriving full is reserved only
 * until its node reports it); entries replaced or dropped stay in it until they surface.
 */
export interface ReservationLedger<K, N = string> {
  byMeeting: Map<K, Reservation<K, N>>;
  heap: Reservation<K, N>[];
  totals: Map<N, ReservedTotals>;
}

/** Told when a node's totals change (the simulation writes them onto its node objects). */
export type OnReservedChange<N> = (nodeId: N, totals: ReservedTotals) => void;

const NONE: ReservedTotals = { rooms: 0, consumers: 0 };

export function newLedger<K, N = string>(): ReservationLedger<K, N> {
  return { byMeeting: new Map(), heap: [], totals: new Map() };
}

/** Reserves for the meeting on the node until `expiresAt`, replacing the meeting's earlier reservation. */
export function reserve<K, N>(ledger: ReservationLedger<K, N>, reservation: Reservation<K, N>, onChange?: OnReservedChange<N>): void {
  dropReservation(ledger, reservation.meeting, undefined, onChange);
  ledger.byMeeting.set(reservation.meeting, reservation);
  push(ledger.heap, reservation);
  change(ledger, reservation.nodeId, 1, reservation.consumers, onChange);
}

/** The meeting left its node (released or moved; only from `nodeId` when given): its reservation goes. */
export function dropReservation<K, N>(ledger: ReservationLedger<K, N>, meeting: K, nodeId?: N, onChange?: OnReservedChange<N>): void {
  const reservation = ledger.byMeeting.get(meeting);
  if (!reservation || (nodeId !== undefined && reservation.nodeId !== nodeId)) return;
  ledger.byMeeting.delete(meeting);
  change(ledger, reservation.nodeId, -1, -reservation.consumers, onChange);
}

/** Drops every reservation that expired by `now`; answers the meetings whose reservation expired. */
export function expireReservations<K, N>(ledger: ReservationLedger<K, N>, now: number, onChange?: OnReservedChange<N>): K[] {
  const expired: K[] = [];
  while (ledger.heap.length > 0 && ledger.heap[0]!.expiresAt <= now) {
    const reservation = pop(ledger.heap);
    if (ledger.byMeeting.get(reservation.meeting) !== reservation) continue;
    dropReservation(ledger, reservation.meeting, undefined, onChange);
    expired.push(reservation.meeting);
  }
  return expired;
}

/** The node's live reservations (expire first). */
export function reservedOn<K, N>(ledger: ReservationLedger<K, N>, nodeId: N): ReservedTotals {
  return ledger.totals.get(nodeId) ?? NONE;
}

function push<T extends { expiresAt: number }>(heap: T[], item: T): void {
  heap.push(item);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]!.expiresAt <= item.expiresAt) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = item;
}

function pop<T extends { expiresAt: number }>(heap: T[]): T {
  const top = heap[0]!;
  const last = heap.pop()!;
  if (heap.length === 0) return top;
  let i = 0;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= heap.length) break;
    const child = left + 1 < heap.length && heap[left + 1]!.expiresAt < heap[left]!.expiresAt ? left + 1 : left;
    if (heap[child]!.expiresAt >= last.expiresAt) break;
    heap[i] = heap[child]!;
    i = child;
  }
  heap[i] = last;
  return top;
}

function change<K, N>(ledger: ReservationLedger<K, N>, nodeId: N, rooms: number, consumers: number, onChange?: OnReservedChange<N>): void {
  const current = ledger.totals.get(nodeId) ?? NONE;
  const next = { rooms: current.rooms + rooms, consumers: current.consumers + consumers };
  if (next.rooms === 0) ledger.totals.delete(nodeId);
  else ledger.totals.set(nodeId, next);
  onChange?.(nodeId, next.rooms === 0 ? NONE : next);
}

/** The ledger of a RegionDO, written through to its SQLite and rebuilt from it on start. */
export class RoomReservations {
  private readonly ledger = newLedger<string>();

  constructor(
    private readonly sql: SqlStorage,
    now: number,
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS room_reservations (
      meeting_link_id TEXT PRIMARY KEY,
      node_id TEXT NOT NULL,
      consumers INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    )`);
    sql.exec('DELETE FROM room_reservations WHERE expires_at <= ?', now);
    const rows = sql.exec<{ meeting_link_id: string; node_id: string; consumers: number; expires_at: number }>('SELECT * FROM room_reservations ORDER BY expires_at');
    for (const row of rows) reserve(this.ledger, { meeting: row.meeting_link_id, nodeId: row.node_id, consumers: row.consumers, expiresAt: row.expires_at });
  }

  reserve(meetingLinkId: string, nodeId: string, consumers: number, expiresAt: number): void {
    reserve(this.ledger, { meeting: meetingLinkId, nodeId, consumers, expiresAt });
    this.sql.exec(
      `INSERT INTO room_reservations (meeting_link_id, node_id, consumers, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (meeting_link_id) DO UPDATE SET node_id = excluded.node_id, consumers = excluded.consumers, expires_at = excluded.expires_at`,
      meetingLinkId,
      nodeId,
      consumers,
      expiresAt,
    );
  }

  drop(meetingLinkId: string, nodeId: string): void {
    dropReservation(this.ledger, meetingLinkId, nodeId);
    this.sql.exec('DELETE FROM room_reservations WHERE meeting_link_id = ? AND node_id = ?', meetingLinkId, nodeId);
  }

  /** The nodes with their live reservations attached (what placement reads). */
  attach<N extends { nodeId: string; reserved?: { rooms: number; consumers: number } }>(nodes: N[], now: number): N[] {
    const expired = expireReservations(this.ledger, now);
    if (expired.length > 0) this.sql.exec('DELETE FROM room_reservations WHERE expires_at <= ?', now);
    for (const node of nodes) node.reserved = reservedOn(this.ledger, node.nodeId);
    return nodes;
  }
}
