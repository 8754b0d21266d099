import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NodeLoad } from '../../schema/wire/node-control.js';
import { consumersPerRoom } from '../../schema/regions.js';
import { dropReservation, expireReservations, newLedger, reserve, reservedOn } from './reservations.js';
import {
  chooseNode,
  DEFAULT_PLACEMENT_POLICY,
  exclusionReasons,
  isOverloaded,
  isPlaceable,
  meanCpu,
  placeMeeting,
  projectedUtilisation,
  reservationFor,
  roomsToShed,
  staleNodes,
  type NodeCandidate,
  type PlacementPolicy,
} from './placement.js';

const NOW = 1_800_000_000_000;

function load(overrides: Partial<NodeLoad> = {}): NodeLoad {
  return {
    workersAlive: 4,
    workersTotal: 4,
    rooms: 0,
    participants: 0,
    transports: 0,
    producers: 0,
    consumers: 0,
    consumerCapacity: 2_000,
    cpuPerWorker: [0.1, 0.1, 0.1, 0.1],
    bitrateInKbps: 0,
    bitrateOutKbps: 0,
    packetLoss: 0,
    recordings: 0,
    ...overrides,
  };
}

function node(nodeId: string, overrides: Partial<NodeCandidate> = {}, loadOverrides: Partial<NodeLoad> = {}): NodeCandidate {
  return { nodeId, state: 'serving', lastHeartbeatAt: NOW - 1_000, assignedRooms: 0, load: load(loadOverrides), ...overrides };
}

const pick = (nodes: NodeCandidate[]) => chooseNode(nodes, NOW)?.nodeId ?? null;

describe('chooseNode', () => {
  it('picks the least-loaded serving node', () => {
    expect(pick([node('a', {}, { consumers: 900 }), node('b', {}, { consumers: 300 }), node('c', {}, { consumers: 600 })])).toBe('b');
  });

  it('skips draining and down nodes even when they are emptier', () => {
    expect(pick([node('a', { state: 'draining' }), node('b', { state: 'down' }), node('c', {}, { consumers: 1_000 })])).toBe('c');
  });

  it('skips nodes whose last heartbeat is older than the timeout', () => {
    const stale = node('a', { lastHeartbeatAt: NOW - DEFAULT_PLACEMENT_POLICY.heartbeatTimeoutMs - 1 });
    expect(pick([stale, node('b', {}, { consumers: 1_200 })])).toBe('b');
    expect(pick([stale])).toBeNull();
  });

  it('skips nodes without live workers or without capacity', () => {
    expect(pick([node('a', {}, { workersAlive: 0 }), node('b', {}, { consumerCapacity: 0 })])).toBeNull();
  });

  it('refuses a node without headroom for one more room', () => {
    // 2,000 capacity, 85 % cap = 1,700; one more average room reserves 180 consumers.
    expect(pick([node('a', {}, { consumers: 1_600 })])).toBeNull();
    expect(pick([node('a', {}, { consumers: 1_500 })])).toBe('a');
  });

  it('refuses a node whose CPU is saturated', () => {
    expect(pick([node('a', {}, { cpuPerWorker: [0.95, 0.9, 0.92, 0.97] })])).toBeNull();
  });

  it('counts rooms assigned since the last heartbeat, so a burst spreads over nodes', () => {
    // a reported fewer consumers, but the edge already gave it 3 rooms it has not reported yet.
    const a = node('a', { assignedRooms: 3 }, { consumers: 100, rooms: 0 });
    const b = node('b', { assignedRooms: 0 }, { consumers: 300, rooms: 0 });
    expect(pick([a, b])).toBe('b');
  });

  it('prefers a node with all workers alive over one that lost workers at equal load', () => {
    expect(pick([node('a', {}, { workersAlive: 2 }), node('b')])).toBe('b');
  });

  it('breaks exact ties by node id', () => {
    expect(pick([node('m'), node('c'), node('x')])).toBe('c');
  });

  it('answers null for an empty region', () => {
    expect(pick([])).toBeNull();
  });
});

describe('exclusionReasons: why a node takes no new room', () => {
  const reasons = (candidate: NodeCandidate, policy = DEFAULT_PLACEMENT_POLICY) => exclusionReasons(candidate, NOW, policy);

  it('is empty for a healthy serving node', () => {
    expect(reasons(node('a'))).toEqual([]);
  });

  it('names liveness first: down alone, draining, a stale heartbeat, no live workers', () => {
    expect(reasons(node('a', { state: 'down' }, { packetLoss: 0.5 }))).toEqual(['down']);
    expect(reasons(node('a', { state: 'draining' }))).toEqual(['draining']);
    expect(reasons(node('a', { lastHeartbeatAt: NOW - DEFAULT_PLACEMENT_POLICY.heartbeatTimeoutMs - 1 }))).toEqual(['stale-heartbeat']);
    expect(reasons(node('a', {}, { workersAlive: 0 }))).toEqual(['no-workers']);
    expect(reasons(node('a', {}, { consumerCapacity: 0 }))).toEqual(['no-workers']);
  });

  it('names every quality threshold a degraded node is past', () => {
    expect(reasons(node('a', {}, { consumers: 1_700 }))).toEqual(['full']);
    expect(reasons(node('a', {}, { cpuPerWorker: [0.9, 0.9, 0.9, 0.9] }))).toEqual(['cpu']);
    expect(reasons(node('a', {}, { packetLoss: 0.08 }))).toEqual(['loss']);
    expect(reasons(node('a', {}, { jitterMs: 80 }))).toEqual(['jitter']);
    expect(reasons(node('a', {}, { eventLoopLagMs: 400 }))).toEqual(['event-loop-lag']);
    expect(reasons(node('a', { state: 'draining' }, { packetLoss: 0.2, eventLoopLagMs: 900 }))).toEqual(['draining', 'loss', 'event-loop-lag']);
  });

  it('treats a node that does not report jitter or event-loop lag as fine on those', () => {
    const load = node('a').load;
    expect(load.jitterMs).toBeUndefined();
    expect(reasons(node('a'))).toEqual([]);
  });

  it('reads every threshold from the one policy object', () => {
    const strict: PlacementPolicy = { ...DEFAULT_PLACEMENT_POLICY, maxPacketLoss: 0.01, maxJitterMs: 5, maxEventLoopLagMs: 20, maxCpu: 0.05 };
    expect(reasons(node('a', {}, { packetLoss: 0.02, jitterMs: 6, eventLoopLagMs: 21 }), strict)).toEqual(['cpu', 'loss', 'jitter', 'event-loop-lag']);
  });
});

describe('chooseNode skips degraded nodes', () => {
  it('passes over lossy, jittery and lagging nodes even when they are emptier', () => {
    const lossy = node('a', {}, { packetLoss: 0.1 });
    const jittery = node('b', {}, { jitterMs: 120 });
    const lagging = node('c', {}, { eventLoopLagMs: 600 });
    const busyButHealthy = node('d', {}, { consumers: 1_200, packetLoss: 0.01, jitterMs: 8, eventLoopLagMs: 15 });
    expect(pick([lossy, jittery, lagging, busyButHealthy])).toBe('d');
    expect(pick([lossy, jittery, lagging])).toBeNull();
  });
});

describe('overload shedding', () => {
  const overloaded = (rooms: number, overrides: Partial<NodeLoad> = {}) => node('hot', { assignedRooms: rooms }, { consumers: 1_950, rooms, ...overrides });
  const rooms = (count: number) => Array.from({ length: count }, (_, i) => `room-${i}`);
  const spare = node('spare');

  it('knows overload by consumers, CPU or event-loop lag past the shed thresholds', () => {
    expect(isOverloaded(node('a', {}, { consumers: 1_950 }))).toBe(true);
    expect(isOverloaded(node('a', {}, { cpuPerWorker: [0.99, 0.97, 0.98, 0.99] }))).toBe(true);
    expect(isOverloaded(node('a', {}, { eventLoopLagMs: 1_500 }))).toBe(true);
    // Past admission (no new rooms) but short of overload: keeps its rooms.
    expect(isOverloaded(node('a', {}, { consumers: 1_800 }))).toBe(false);
    expect(isOverloaded(node('a', { state: 'down' }, { consumers: 1_990 }))).toBe(false);
  });

  it('moves a share of the rooms, newest first, at least one and at most the per-round cap', () => {
    const context = { now: NOW, lastShedAt: null };
    expect(roomsToShed(overloaded(3), rooms(3), [spare], context)).toEqual(['room-0']);
    expect(roomsToShed(overloaded(25), rooms(25), [spare], context)).toEqual(['room-0', 'room-1', 'room-2']);
    expect(roomsToShed(overloaded(200), rooms(200), [spare], context)).toHaveLength(DEFAULT_PLACEMENT_POLICY.maxRoomsShedPerRound);
  });

  it('sheds nothing while healthy, during the cooldown, or when no other node could take the rooms', () => {
    expect(roomsToShed(node('calm', { assignedRooms: 5 }), rooms(5), [spare], { now: NOW, lastShedAt: null })).toEqual([]);
    const hot = overloaded(5);
    expect(roomsToShed(hot, rooms(5), [spare], { now: NOW, lastShedAt: NOW - 1_000 })).toEqual([]);
    expect(roomsToShed(hot, rooms(5), [spare], { now: NOW, lastShedAt: NOW - DEFAULT_PLACEMENT_POLICY.shedCooldownMs })).toHaveLength(1);
    // The only other node is degraded itself, and the hot node does not count as its own relief.
    expect(roomsToShed(hot, rooms(5), [hot, node('lossy', {}, { packetLoss: 0.3 })], { now: NOW, lastShedAt: null })).toEqual([]);
    expect(roomsToShed(hot, [], [spare], { now: NOW, lastShedAt: null })).toEqual([]);
  });
});

describe('the fast path places exactly as the reasons say', () => {
  const policy = DEFAULT_PLACEMENT_POLICY;
  /** Values on and around each threshold of the policy, plus anything in range. */
  const near = (threshold: number, spread: number) =>
    fc.oneof(fc.constantFrom(0, threshold, threshold + 1e-9, threshold - 1e-9), fc.double({ min: 0, max: threshold + spread, noNaN: true }));
  const loadArb: fc.Arbitrary<NodeLoad> = fc
    .record({
      workersTotal: fc.integer({ min: 0, max: 4 }),
      workersDead: fc.integer({ min: 0, max: 4 }),
      rooms: fc.integer({ min: 0, max: 12 }),
      consumers: fc.oneof(fc.constantFrom(0, 1_520, 1_521, 1_700), fc.integer({ min: 0, max: 2_100 })),
      consumerCapacity: fc.constantFrom(0, 1_000, 2_000),
      cpu: fc.array(near(policy.maxCpu, 0.3), { maxLength: 4 }),
      packetLoss: near(policy.maxPacketLoss, 0.2).map((loss) => Math.min(1, loss)),
      jitterMs: fc.option(near(policy.maxJitterMs, 40), { nil: undefined }),
      eventLoopLagMs: fc.option(near(policy.maxEventLoopLagMs, 200), { nil: undefined }),
    })
    .map(({ workersTotal, workersDead, cpu, jitterMs, eventLoopLagMs, ...rest }) => ({
      ...load({ ...rest, workersTotal, workersAlive: Math.max(0, workersTotal - workersDead), cpuPerWorker: cpu }),
      ...(jitterMs === undefined ? {} : { jitterMs }),
      ...(eventLoopLagMs === undefined ? {} : { eventLoopLagMs }),
    }));
  const candidateArb: fc.Arbitrary<NodeCandidate> = fc.record({
    // Few ids and few distinct loads, so equal scores (the id tie-break) come up often.
    nodeId: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
    state: fc.constantFrom('serving', 'serving', 'draining', 'down'),
    lastHeartbeatAt: fc.oneof(fc.constantFrom(NOW, NOW - policy.heartbeatTimeoutMs, NOW - policy.heartbeatTimeoutMs - 1), fc.integer({ min: NOW - 3 * policy.heartbeatTimeoutMs, max: NOW })),
    assignedRooms: fc.integer({ min: 0, max: 14 }),
    load: fc.oneof(loadArb, fc.constant(load())),
  });

  /** The placement before the fast path: filter on the reasons, then the least score. */
  function chooseByReasons(nodes: readonly NodeCandidate[]): NodeCandidate | null {
    let best: NodeCandidate | null = null;
    let bestScore = Infinity;
    for (const candidate of nodes) {
      if (exclusionReasons(candidate, NOW, policy).length > 0) continue;
      const workerLoss = 1 - candidate.load.workersAlive / Math.max(1, candidate.load.workersTotal);
      const score = projectedUtilisation(candidate, policy) + 0.25 * meanCpu(candidate.load) + 0.25 * workerLoss;
      if (score < bestScore || (score === bestScore && best !== null && candidate.nodeId < best.nodeId)) {
        best = candidate;
        bestScore = score;
      }
    }
    return best;
  }

  it('isPlaceable is true exactly when a node has no exclusion reason', () => {
    fc.assert(
      fc.property(candidateArb, (candidate) => {
        expect(isPlaceable(candidate, NOW, policy)).toBe(exclusionReasons(candidate, NOW, policy).length === 0);
      }),
      { numRuns: 5_000 },
    );
  });

  it('chooseNode picks the same node as the reason-based choice on random fleets', () => {
    fc.assert(
      fc.property(fc.array(candidateArb, { maxLength: 12 }), (fleet) => {
        expect(chooseNode(fleet, NOW, policy)).toBe(chooseByReasons(fleet));
      }),
      { numRuns: 3_000 },
    );
  });
});

describe('reservations for rooms still filling', () => {
  const perRoom = DEFAULT_PLACEMENT_POLICY.consumersPerNewRoom;

  it('keeps a young room reserved after the node reported it with its first people', () => {
    // a got a room a second ago and reported it with the host alone; b is fuller but settled.
    const young = node('a', { assignedRooms: 1, reserved: { rooms: 1, consumers: perRoom } }, { rooms: 1, consumers: 0 });
    const settled = node('b', { assignedRooms: 1 }, { rooms: 1, consumers: perRoom / 2 });
    expect(pick([young, settled])).toBe('b');
    // Once the window is over, only the report counts and a looks emptiest again.
    expect(pick([{ ...young, reserved: { rooms: 0, consumers: 0 } }, settled])).toBe('a');
  });

  it('still reserves a new room for rooms assigned but not reported, without counting a young one twice', () => {
    const unreported = node('a', { assignedRooms: 2, reserved: { rooms: 1, consumers: perRoom } }, { rooms: 0 });
    expect(projectedUtilisation(unreported, DEFAULT_PLACEMENT_POLICY)).toBeCloseTo((3 * perRoom) / 2_000);
  });

  it('reserves a moved room at its size: a node with room for a new meeting but not for it is skipped', () => {
    const policy: PlacementPolicy = { ...DEFAULT_PLACEMENT_POLICY, maxConsumerUtilisation: 0.5 };
    expect(reservationFor(0, policy)).toEqual({ consumers: perRoom, forMs: policy.reservationMs });
    // Arrived full: reserved at its size, only until its node reports it (then its report counts it).
    expect(reservationFor(20, policy)).toEqual({ consumers: consumersPerRoom(20), forMs: policy.arrivedReservationMs });
    expect(policy.arrivedReservationMs).toBeLessThan(policy.heartbeatTimeoutMs);
    const nodes = [node('a', {}, { consumers: 600 }), node('b', {}, { consumers: 900 }), node('c', {}, { consumers: 100, consumerCapacity: 4_000 })];
    expect(placeMeeting(nodes.slice(0, 2), null, 0, NOW, policy)).toMatchObject({ node: { nodeId: 'a' }, kept: false, reserve: { consumers: perRoom } });
    // 20 people: 760 consumers fit on neither 2,000-consumer node under 50%.
    expect(placeMeeting(nodes.slice(0, 2), null, 20, NOW, policy)).toBeNull();
    expect(placeMeeting(nodes, null, 20, NOW, policy)).toMatchObject({ node: { nodeId: 'c' }, reserve: { consumers: consumersPerRoom(20) } });
  });

  it('keeps a meeting on its live node and re-places it off a silent one', () => {
    const silent = node('a', { lastHeartbeatAt: NOW - DEFAULT_PLACEMENT_POLICY.heartbeatTimeoutMs - 1 });
    const draining = node('b', { state: 'draining' }, { consumers: 1_900 });
    const spare = node('c');
    expect(placeMeeting([silent, draining, spare], 'b', 0, NOW)).toMatchObject({ node: { nodeId: 'b' }, kept: true });
    expect(placeMeeting([silent, draining, spare], 'a', 5, NOW)).toMatchObject({ node: { nodeId: 'c' }, kept: false });
    expect(staleNodes([silent, draining, spare, node('d', { state: 'down', lastHeartbeatAt: 0 })], NOW).map((n) => n.nodeId)).toEqual(['a']);
  });

  it('the ledger sums a node\'s live reservations, replaces a moved meeting\'s, and expires them in order', () => {
    const changes: string[] = [];
    const ledger = newLedger<string>();
    const onChange = (nodeId: string, totals: { rooms: number; consumers: number }) => changes.push(`${nodeId}:${totals.rooms}/${totals.consumers}`);
    reserve(ledger, { meeting: 'm1', nodeId: 'a', consumers: 180, expiresAt: 10 }, onChange);
    reserve(ledger, { meeting: 'm2', nodeId: 'a', consumers: 760, expiresAt: 20 }, onChange);
    expect(reservedOn(ledger, 'a')).toEqual({ rooms: 2, consumers: 940 });
    // m1 moves to b: its reservation on a goes with it.
    reserve(ledger, { meeting: 'm1', nodeId: 'b', consumers: 180, expiresAt: 30 }, onChange);
    expect([reservedOn(ledger, 'a'), reservedOn(ledger, 'b')]).toEqual([{ rooms: 1, consumers: 760 }, { rooms: 1, consumers: 180 }]);
    // A release from a node the meeting already left changes nothing.
    dropReservation(ledger, 'm1', 'a');
    expect(reservedOn(ledger, 'b').rooms).toBe(1);
    expect(expireReservations(ledger, 10)).toEqual([]);
    expect(expireReservations(ledger, 20, onChange)).toEqual(['m2']);
    expect(reservedOn(ledger, 'a')).toEqual({ rooms: 0, consumers: 0 });
    dropReservation(ledger, 'm1', 'b', onChange);
    expect(expireReservations(ledger, 1_000)).toEqual([]);
    expect(changes.at(-1)).toBe('b:0/0');
    // Plain data: a cloned ledger (a simulated world's snapshot) behaves the same.
    reserve(ledger, { meeting: 'm3', nodeId: 'c', consumers: 5, expiresAt: 2_000 });
    const copy = structuredClone(ledger);
    expect(expireReservations(copy, 2_000)).toEqual(['m3']);
    expect(reservedOn(ledger, 'c').rooms).toBe(1);
  });

  it('never lets the ledger go negative or keep a dropped meeting (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('add', 'drop', 'expire'), fc.integer({ min: 0, max: 5 }), fc.constantFrom('a', 'b')), { maxLength: 60 }), (ops) => {
        const ledger = newLedger<number>();
        const live = new Map<number, { nodeId: string; expiresAt: number }>();
        let now = 0;
        for (const [op, meeting, nodeId] of ops) {
          now += 1;
          if (op === 'add') {
            const expiresAt = now + 1 + (meeting % 3) * 4;
            reserve(ledger, { meeting, nodeId, consumers: 10, expiresAt });
            live.set(meeting, { nodeId, expiresAt });
          } else if (op === 'drop') {
            dropReservation(ledger, meeting);
            live.delete(meeting);
          } else {
            expireReservations(ledger, now);
            for (const [key, value] of live) if (value.expiresAt <= now) live.delete(key);
          }
        }
        expireReservations(ledger, now);
        for (const [key, value] of live) if (value.expiresAt <= now) live.delete(key);
        for (const nodeId of ['a', 'b']) {
          const expected = [...live.values()].filter((value) => value.nodeId === nodeId).length;
          expect(reservedOn(ledger, nodeId)).toEqual({ rooms: expected, consumers: 10 * expected });
        }
      }),
    );
  });
});
