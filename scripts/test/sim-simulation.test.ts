import { beforeAll, describe, expect, it } from 'vitest';
import { NODE_HEARTBEAT_INTERVAL_MS, NODE_HEARTBEAT_TIMEOUT_MS } from '../../schema/wire/node-control.js';
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
    expect(summary.nodeLoss!.waitMaxS * 1_000).toBeLessThanOrEqual(NODE_HEARTBEAT_TIMEOUT_MS + 200);
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

  it('is deterministic for a seed, and the seed matters', () => {
    const summarise = (all: Map<ScenarioName, ScenarioRun>) => [...all.values()].map((r) => JSON.stringify(summariseScenario(r, plan().fleet.budget.consumers)));
    const again = runSmall(7, { afterMinutes: 4 });
    expect(summarise(again)).toEqual(summarise(runs));
    expect(summarise(runSmall(8))).not.toEqual(summarise(runs));
  });
});
