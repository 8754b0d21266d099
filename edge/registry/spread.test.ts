import { describe, expect, it } from 'vitest';
import { distanceKm, regionById, type RegionId } from '../../schema/regions.js';
import type { NodeLoad } from '../../schema/wire/node-control.js';
import { DEFAULT_PLACEMENT_POLICY, exclusionReasons, type NodeCandidate } from './placement.js';
import { NewcomerLoad } from './newcomer-load.js';
import { locate, regionsByDistance } from './region-choice.js';
import { DEFAULT_REGION_SPREAD_POLICY, hasHeadroom, newcomerConsumers, nodeForNewcomer, partRegionsFor, regionForParticipant, type MeetingInRegion } from './spread.js';

const NOW = 1_800_000_000_000;

function node(nodeId: string, loadOverrides: Partial<NodeLoad> = {}, overrides: Partial<NodeCandidate> = {}): NodeCandidate {
  const load: NodeLoad = {
    workersAlive: 2,
    workersTotal: 2,
    rooms: 1,
    participants: 0,
    transports: 0,
    producers: 0,
    consumers: 0,
    consumerCapacity: 1_000,
    cpuPerWorker: [0.2, 0.2],
    bitrateInKbps: 0,
    bitrateOutKbps: 0,
    packetLoss: 0,
    recordings: 0,
    ...loadOverrides,
  };
  return { nodeId, state: 'serving', lastHeartbeatAt: NOW - 500, assignedRooms: load.rooms, load, ...overrides };
}

/** A meeting of `participants` people, `onFirst` of them on node a (the meeting's first node). */
const meetingOnA = (participants: number, onFirst = participants): MeetingInRegion => ({ nodes: [{ nodeId: 'a', participants: onFirst }], participants });

describe('newcomerConsumers', () => {
  it('counts the tracks the newcomer receives plus the node-local receivers of its own tracks', () => {
    expect(newcomerConsumers(10, 4)).toBe(2 * 10 + 2 * 4);
    expect(newcomerConsumers(0, 0)).toBe(0);
  });
});

describe('nodeForNewcomer: spilling onto a second node of the region', () => {
  it("keeps the newcomer on the meeting's node while it has headroom", () => {
    const decision = nodeForNewcomer(meetingOnA(10), [node('a', { consumers: 500 }), node('b')], NOW);
    expect(decision).toEqual({ node: expect.objectContaining({ nodeId: 'a' }), spill: false });
  });

  it('stays on a node that takes no new rooms but still fits one more participant of this meeting', () => {
    // 700 + a new room's reservation is past 85 %, 700 + this newcomer's 14 consumers is not.
    const a = node('a', { consumers: 700 });
    expect(exclusionReasons(a, NOW)).toEqual(['full']);
    expect(DEFAULT_PLACEMENT_POLICY.consumersPerNewRoom).toBeGreaterThan(150);
    expect(nodeForNewcomer(meetingOnA(4, 3), [a, node('b')], NOW)).toMatchObject({ node: { nodeId: 'a' }, spill: false });
  });

  it('spills onto the least-loaded other node of the region when the newcomer would push the node past the limit', () => {
    // 840 + 2 × (10 + 5) = 870 of 1,000 > 85 %.
    const nodes = [node('a', { consumers: 840 }), node('b', { consumers: 400 }), node('c', { consumers: 100 })];
    expect(nodeForNewcomer(meetingOnA(10, 5), nodes, NOW)).toMatchObject({ node: { nodeId: 'c' }, spill: true });
  });

  it('spills when the meeting node is draining, stale, down or degraded (any exclusion but "full")', () => {
    const others = [node('b', { consumers: 300 })];
    for (const a of [
      node('a', {}, { state: 'draining' }),
      node('a', {}, { state: 'down' }),
      node('a', {}, { lastHeartbeatAt: NOW - DEFAULT_PLACEMENT_POLICY.heartbeatTimeoutMs - 1 }),
      node('a', { cpuPerWorker: [0.95, 0.95] }),
      node('a', { packetLoss: 0.2 }),
    ]) {
      expect(hasHeadroom(a, 2, NOW)).toBe(false);
      expect(nodeForNewcomer(meetingOnA(3), [a, ...others], NOW)).toMatchObject({ node: { nodeId: 'b' }, spill: true });
    }
  });

  it('counts rooms assigned since the last heartbeat, as placement does', () => {
    // Reported 600, plus two unreported rooms at the placement reservation: past the limit.
    const a = node('a', { consumers: 600, rooms: 1 }, { assignedRooms: 3 });
    expect(hasHeadroom(a, 4, NOW)).toBe(false);
    expect(nodeForNewcomer(meetingOnA(2), [a, node('b')], NOW)).toMatchObject({ node: { nodeId: 'b' }, spill: true });
  });

  it("prefers the meeting's nodes in order: a newcomer joins the spill node before a third node is opened", () => {
    const meeting: MeetingInRegion = { nodes: [{ nodeId: 'a', participants: 40 }, { nodeId: 'b', participants: 5 }], participants: 45 };
    const nodes = [node('a', { consumers: 845 }), node('b', { consumers: 500 }), node('c')];
    expect(nodeForNewcomer(meeting, nodes, NOW)).toMatchObject({ node: { nodeId: 'b' }, spill: false });
  });

  it('skips other nodes without headroom for the newcomer and answers null when the region has none', () => {
    const full = [node('a', { consumers: 849 }), node('b', { consumers: 840 }), node('c', {}, { state: 'draining' })];
    expect(nodeForNewcomer(meetingOnA(10), full, NOW)).toBeNull();
  });

  it('places the first participant like placement does, without calling it a spill', () => {
    expect(nodeForNewcomer({ nodes: [], participants: 0 }, [node('a', { consumers: 300 }), node('b', { consumers: 200 })], NOW)).toMatchObject({
      node: { nodeId: 'b' },
      spill: false,
    });
  });

  it("ignores meeting nodes the region no longer lists (a node that died), and spills", () => {
    expect(nodeForNewcomer(meetingOnA(6), [node('b'), node('c', { consumers: 50 })], NOW)).toMatchObject({ node: { nodeId: 'b' }, spill: true });
  });
});

const tokyo = { latitude: '35.68', longitude: '139.69' };
const berlin = { latitude: '52.52', longitude: '13.405' };
const paris = { latitude: '48.86', longitude: '2.35' };
const newYork = { latitude: '40.71', longitude: '-74.0', continent: 'NA' };

describe('regionForParticipant: far participants get their own region', () => {
  it("gives a participant on another continent their own region's node", () => {
    expect(regionForParticipant(tokyo, 'lon')).toEqual({ region: 'tyo', reason: 'own-region' });
    expect(regionForParticipant(newYork, 'lon')).toEqual({ region: 'nyc', reason: 'own-region' });
    expect(regionForParticipant({ country: 'JP' }, 'lon')).toEqual({ region: 'tyo', reason: 'own-region' });
  });

  it("keeps a participant near the meeting's region in it (a relay hop costs more than it saves)", () => {
    // Berlin's nearest region is Frankfurt, only ~500 km nearer than London.
    expect(regionsByDistance(berlin, 'lon')[0]).toBe('fra');
    expect(regionForParticipant(berlin, 'lon')).toEqual({ region: 'lon', reason: 'meeting-region' });
    expect(regionForParticipant(paris, 'lon')).toEqual({ region: 'lon', reason: 'meeting-region' });
    expect(regionForParticipant(berlin, 'lon', () => true, { minGainKm: 0 })).toEqual({ region: 'fra', reason: 'own-region' });
  });

  it("keeps participants without any location in the meeting's region", () => {
    expect(regionForParticipant({}, 'sin')).toEqual({ region: 'sin', reason: 'meeting-region' });
  });

  it('lists the regions worth a part, nearest first: each far enough nearer than the meeting\'s', () => {
    const parts = partRegionsFor(tokyo, 'lon');
    expect(parts[0]).toBe('tyo');
    const km = (region: RegionId) => distanceKm(locate(tokyo)!, regionById(region));
    for (const region of parts) expect(km('lon') - km(region)).toBeGreaterThanOrEqual(DEFAULT_REGION_SPREAD_POLICY.minGainKm);
    expect(parts.map(km)).toEqual([...parts.map(km)].sort((a, b) => a - b));
    // Every media region that gains enough is listed (and the meeting's own region never is).
    const gaining = regionsByDistance(tokyo, 'lon').filter((region) => region !== 'lon' && km('lon') - km(region) >= DEFAULT_REGION_SPREAD_POLICY.minGainKm);
    expect(parts).toEqual(gaining);
    expect(partRegionsFor(berlin, 'lon')).toEqual([]);
    expect(partRegionsFor({}, 'lon')).toEqual([]);
  });

  it('skips regions that cannot take anyone now', () => {
    const tokyoDown = (region: RegionId) => region !== 'tyo';
    const next = regionsByDistance(tokyo, 'lon').filter(tokyoDown)[0];
    expect(next).not.toBe('lon');
    expect(regionForParticipant(tokyo, 'lon', tokyoDown)).toEqual({ region: next, reason: 'own-region' });
    // The meeting's own region unusable: the nearest usable one, also for a nearby participant.
    expect(regionForParticipant(berlin, 'lon', (region) => region !== 'lon')).toEqual({ region: 'fra', reason: 'meeting-region-unusable' });
    // Nothing usable anywhere: the meeting's region (placement there answers no capacity).
    expect(regionForParticipant(berlin, 'lon', () => false)).toEqual({ region: 'lon', reason: 'meeting-region' });
  });
});

describe('newcomers on their way to a node (NewcomerLoad)', () => {
  it('count on top of its report until the hold ends, per node', () => {
    const load = new NewcomerLoad(2_000);
    load.add('a', 40, NOW);
    load.add('a', 44, NOW + 500);
    const at = (now: number) => load.apply([node('a', { consumers: 100 }), node('b', { consumers: 7 })], now).map((n) => n.load.consumers);
    expect(at(NOW + 1_000)).toEqual([184, 7]);
    // The first newcomer's hold is over (its node has reported it by now); the second's is not.
    expect(at(NOW + 2_000)).toEqual([144, 7]);
    expect(at(NOW + 2_500)).toEqual([100, 7]);
  });
});
