import { beforeAll, describe, expect, it } from 'vitest';
import { NODE_HEARTBEAT_INTERVAL_MS, NODE_HEARTBEAT_TIMEOUT_MS } from '../../schema/wire/node-control.js';
import { MOVES_PER_SHARD_PER_SECOND } from '../../edge/registry/shards.js';
import { REFUSALS } from '../sim/meters.js';
import type { ScenarioName, ScenarioRun } from '../sim/peak-run.js';
import { summariseScenario } from '../sim/scenario-summary.js';
import { plan, runSmall } from './sim-kit.js';

let runs: Map<ScenarioName, ScenarioRun>;

beforeAll(() => {
  runs = runSmall(7);
});

const run = (name: ScenarioName) => runs.get(name)!;

describe('peak-day simulation (small scale)', () => {
  it('places or refuses every join, with a reason', () => {
    for (const scenario of runs.values()) {
      for (const counters of scenario.sim.world.meters.counters) {
        const refused = REFUSALS.reduce((sum, reason) => sum + counters.refused[reason], 0);
        expect(counters.joinAttempts).toBe(counters.joinsPlaced + refused);
      }
      const flash = scenario.sim.world.meters.flash;
      expect(flash.attempts).toBe(flash.placed + REFUSALS.reduce((sum, reason) => sum + flash.refused[reason], 0));
    }
    expect(run('normal').sim.world.meters.counters.reduce((sum, c) => sum + c.joinsPlaced, 0)).toBeGreaterThan(1_000);
  });

  it('keeps every node within its capacity on a normal peak', () => {
    for (const region of run('normal').sim.world.regions) {
      for (const node of region.nodes) expect(node.peakUtilisation, node.nodeId).toBeLessThanOrEqual(1);
    }
  });

  it("moves all of a failed node's rooms to live nodes", () => {
    const { sim } = run('nodeLoss');
    const killed = sim.params.outcome.killed!;
    const dead = sim.world.regions[killed.region]!.nodes[killed.node]!;
    expect(killed.rooms).toBeGreaterThan(0);
    expect(dead.alive).toBe(false);
    expect(dead.state).toBe('down');
    expect(dead.assigned.size).toBe(0);
    const { rooms } = sim.world;
    for (let slot = 0; slot < rooms.next; slot++) {
      if (rooms.over[slot] === 1 || rooms.joined[slot] === 0) continue;
      expect(rooms.node[slot], `room ${slot} has no node`).toBeGreaterThanOrEqual(0);
      expect(sim.world.regions[rooms.nodeRegion[slot]!]!.nodes[rooms.node[slot]!]!.alive).toBe(true);
    }
    const summary = summariseScenario(run('nodeLoss'), plan().fleet.budget.consumers);
    expect(summary.nodeLoss!.moved).toBeGreaterThan(0);
    expect(summary.nodeLoss!.stranded).toBe(0);
    // A silent death: found by the alarm once the heartbeat timeout passed since the last heartbeat.
    expect(summary.nodeLoss!.waitMaxS * 1_000).toBeGreaterThan(NODE_HEARTBEAT_TIMEOUT_MS - NODE_HEARTBEAT_INTERVAL_MS);
    // …and its rooms told to move at the shard's pace.
    expect(summary.nodeLoss!.waitMaxS * 1_000).toBeLessThanOrEqual(NODE_HEARTBEAT_TIMEOUT_MS + 200 + (killed.rooms * 1_000) / MOVES_PER_SHARD_PER_SECOND);
  });

  it('sends a lost region’s rooms to the next regions by distance', () => {
    const summary = summariseScenario(run('regionLoss'), plan().fleet.budget.consumers);
    const loss = summary.regionLoss!;
    expect(loss.openRoomsByRegion[loss.region] ?? 0).toBe(0);
    expect(Object.keys(loss.openRoomsByRegion).length).toBeGreaterThan(0);
  });

  it('refuses a flash crowd beyond what one RoomDO takes and the meeting holds', () => {
    const summary = summariseScenario(run('flashCrowd'), plan().fleet.budget.consumers);
    const flash = summary.flashCrowd!;
    expect(flash.admitted).toBe(100);
    expect(flash.refused.DO_OVERLOADED).toBeGreaterThan(0);
    expect(flash.refused.MEETING_FULL).toBeGreaterThan(0);
    expect(Math.max(...run('flashCrowd').sim.world.meters.flashDo)).toBeLessThanOrEqual(1_000);
  });

  it('keeps each node near the mean of the busiest region (reservations for rooms still filling)', () => {
    const summary = summariseScenario(run('normal'), plan().fleet.budget.consumers);
    const busiest = summary.regions[plan().busiest.region]!;
    expect(busiest.load.mean).toBeGreaterThan(0.5);
    expect(busiest.load.maxOverMean).toBeLessThanOrEqual(1.2);
  });

  it("keeps the registry's reservations on the nodes that hold the rooms, and the nodes' totals equal to them", () => {
    for (const scenario of runs.values()) {
      for (const region of scenario.sim.world.regions) {
        const totals = new Map<number, { rooms: number; consumers: number }>();
        for (const [slot, reservation] of region.ledger.byMeeting) {
          expect(region.nodes[reservation.nodeId]!.assigned.has(slot), `${region.id} room ${slot}`).toBe(true);
          const sum = totals.get(reservation.nodeId) ?? { rooms: 0, consumers: 0 };
          totals.set(reservation.nodeId, { rooms: sum.rooms + 1, consumers: sum.consumers + reservation.consumers });
        }
        for (const node of region.nodes) expect(node.reserved ?? { rooms: 0, consumers: 0 }).toEqual(totals.get(node.index) ?? { rooms: 0, consumers: 0 });
      }
    }
  });

  it('keeps every registry shard under half of what one Durable Object serves, a lost region included', () => {
    for (const scenario of runs.values()) {
      const summary = summariseScenario(scenario, plan().fleet.budget.consumers);
      expect(summary.doUtilisation.regionDo, scenario.name).toBeLessThanOrEqual(0.5);
    }
    // The lost region's rooms were paced: they did not all move when their nodes were written off.
    const lost = summariseScenario(run('regionLoss'), plan().fleet.budget.consumers).regions[plan().busiest.region]!;
    expect(lost.rooms.moved).toBeGreaterThan(0);
    expect(lost.rooms.waitMaxS * 1_000).toBeGreaterThan(NODE_HEARTBEAT_TIMEOUT_MS + NODE_HEARTBEAT_INTERVAL_MS);
  });

  it('answers a flash crowd from a cached "full" at the edge once the meeting is full, keeping its RoomDO under half its limit', () => {
    const cached = runSmall(7, { edgeFullCache: true }).get('flashCrowd')!;
    const flash = summariseScenario(cached, plan().fleet.budget.consumers).flashCrowd!;
    expect(flash.admitted).toBe(100);
    expect(flash.refused.DO_OVERLOADED ?? 0).toBe(0);
    expect(flash.cachedFull).toBeGreaterThan(0.9 * flash.refused.MEETING_FULL!);
    expect(flash.roomDoPeak10sPerSecond).toBeLessThanOrEqual(500);
  });

  it('is deterministic for a seed, and the seed matters', () => {
    const summarise = (all: Map<ScenarioName, ScenarioRun>) => [...all.values()].map((r) => JSON.stringify(summariseScenario(r, plan().fleet.budget.consumers)));
    const again = runSmall(7, { afterMinutes: 4 });
    expect(summarise(again)).toEqual(summarise(runs));
    expect(summarise(runSmall(8))).not.toEqual(summarise(runs));
  });
});
