import { describe, expect, it } from 'vitest';
import type { NodeLoad } from '../../schema/wire/node-control.js';
import { chooseNode, DEFAULT_PLACEMENT_POLICY, type NodeCandidate } from './placement.js';

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
