/**
 * The simulation's event queue: a calendar of fixed time slots (SLOT_MS), each a list of events in
 * the order they were scheduled. Events are numbers (payload × 16 + kind) so millions of them stay
 * cheap; everything in one slot happens at the slot's start time, in insertion order, so a run is
 * deterministic. The next RING_SLOTS slots live in a ring of arrays; later ones in a Map until the
 * ring reaches them. Plain data, so a state can be cloned with structuredClone.
 */
export const SLOT_MS = 100;
const RING_SLOTS = 1 << 16;

export interface Calendar {
  /** Slot being processed (events scheduled earlier than it land in it). */
  slot: number;
  ring: number[][];
  later: Map<number, number[]>;
}

export function newCalendar(startMs: number): Calendar {
  return { slot: Math.floor(startMs / SLOT_MS), ring: Array.from({ length: RING_SLOTS }, () => []), later: new Map() };
}

export function encode(kind: number, payload: number): number {
  return payload * 16 + kind;
}

export function kindOf(event: number): number {
  return event % 16;
}

export function payloadOf(event: number): number {
  return Math.floor(event / 16);
}

export function schedule(calendar: Calendar, atMs: number, event: number): void {
  const slot = Math.max(calendar.slot, Math.floor(atMs / SLOT_MS));
  if (slot - calendar.slot < RING_SLOTS) {
    calendar.ring[slot % RING_SLOTS]!.push(event);
    return;
  }
  const list = calendar.later.get(slot);
  if (list) list.push(event);
  else calendar.later.set(slot, [event]);
}

/**
 * Runs every event before `untilMs`, slot by slot. `handle` may schedule more events, also into
 * the slot being run (they run in the same pass).
 */
export function runUntil(calendar: Calendar, untilMs: number, handle: (event: number, nowMs: number) => void): void {
  const lastSlot = Math.floor(untilMs / SLOT_MS);
  for (; calendar.slot < lastSlot; calendar.slot++) {
    const list = calendar.ring[calendar.slot % RING_SLOTS]!;
    // Events far ahead wait in `later` until their slot enters the ring (one slot per step).
    const arriving = calendar.later.get(calendar.slot + RING_SLOTS - 1);
    if (arriving) {
      calendar.ring[(calendar.slot + RING_SLOTS - 1) % RING_SLOTS]!.push(...arriving);
      calendar.later.delete(calendar.slot + RING_SLOTS - 1);
    }
    if (list.length === 0) continue;
    const now = calendar.slot * SLOT_MS;
    for (let i = 0; i < list.length; i++) handle(list[i]!, now);
    list.length = 0;
  }
}
