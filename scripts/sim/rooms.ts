/**
 * The meetings in flight, as columns indexed by a slot number (reused once a room is released),
 * so a million rooms cost a few typed arrays rather than a million objects.
 */
export interface Rooms {
  capacity: number;
  free: number[];
  next: number;
  /**
   * Region whose clients hold the meeting, and which of its client points: that point's region
   * order is what the first join brings and the room remembers (meeting.setRegions).
   */
  home: Int8Array;
  point: Int8Array;
  /** People in the room now, join attempts so far, and the meeting's limit. */
  joined: Int32Array;
  attempts: Int32Array;
  maxParticipants: Int32Array;
  /** Where its media is: region index and node index (−1: none). */
  nodeRegion: Int8Array;
  node: Int32Array;
  endsAt: Float64Array;
  /** When its node died, while it waits to be moved (NaN otherwise). */
  lostAt: Float64Array;
  /** 1 once the meeting is over (everyone left). */
  over: Uint8Array;
}

export function newRooms(capacity: number): Rooms {
  return {
    capacity,
    free: [],
    next: 0,
    home: new Int8Array(capacity),
    point: new Int8Array(capacity),
    joined: new Int32Array(capacity),
    attempts: new Int32Array(capacity),
    maxParticipants: new Int32Array(capacity),
    nodeRegion: new Int8Array(capacity),
    node: new Int32Array(capacity),
    endsAt: new Float64Array(capacity),
    lostAt: new Float64Array(capacity),
    over: new Uint8Array(capacity),
  };
}

function grow<T extends Int8Array | Int32Array | Float64Array | Uint8Array>(array: T, capacity: number): T {
  const bigger = new (array.constructor as new (n: number) => T)(capacity);
  bigger.set(array);
  return bigger;
}

function ensureCapacity(rooms: Rooms): void {
  if (rooms.next < rooms.capacity) return;
  const capacity = rooms.capacity * 2;
  rooms.home = grow(rooms.home, capacity);
  rooms.point = grow(rooms.point, capacity);
  rooms.joined = grow(rooms.joined, capacity);
  rooms.attempts = grow(rooms.attempts, capacity);
  rooms.maxParticipants = grow(rooms.maxParticipants, capacity);
  rooms.nodeRegion = grow(rooms.nodeRegion, capacity);
  rooms.node = grow(rooms.node, capacity);
  rooms.endsAt = grow(rooms.endsAt, capacity);
  rooms.lostAt = grow(rooms.lostAt, capacity);
  rooms.over = grow(rooms.over, capacity);
  rooms.capacity = capacity;
}

export function openRoom(rooms: Rooms, home: number, point: number, maxParticipants: number, endsAt: number): number {
  let slot = rooms.free.pop();
  if (slot === undefined) {
    ensureCapacity(rooms);
    slot = rooms.next++;
  }
  rooms.home[slot] = home;
  rooms.point[slot] = point;
  rooms.joined[slot] = 0;
  rooms.attempts[slot] = 0;
  rooms.maxParticipants[slot] = maxParticipants;
  rooms.nodeRegion[slot] = -1;
  rooms.node[slot] = -1;
  rooms.endsAt[slot] = endsAt;
  rooms.lostAt[slot] = NaN;
  rooms.over[slot] = 0;
  return slot;
}

export function freeRoom(rooms: Rooms, slot: number): void {
  rooms.free.push(slot);
}

export function openRoomCount(rooms: Rooms): number {
  return rooms.next - rooms.free.length;
}
