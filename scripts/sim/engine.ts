import { openMinute } from './arrivals.js';
import { encode, kindOf, payloadOf, runUntil, schedule, SLOT_MS } from './calendar.js';
import { MINUTE_MS } from './demand.js';
import { applyFault, flashJoin } from './faults.js';
import { countRegionDo, sampleIndex } from './meters.js';
import { paceNotice } from '../../edge/registry/room-moves.js';
import { MOVES_PER_SHARD_PER_SECOND } from '../../edge/registry/shards.js';
import { HEARTBEAT_PHASES, heartbeat, POLICY, release, roomsToShedNow, runAlarm } from './registry.js';
import { addParticipants, join, moveRoom, nodeOf, regionJoin, shedRoom } from './room-ops.js';
import { freeRoom } from './rooms.js';
import { KIND, RELEASE_GRACE_MS, SOURCE, type Sim } from './sim-state.js';

/**
 * The simulation loop: calendar events (joins, meeting ends, releases, the RegionDOs' alarms, a
 * tick per slot for heartbeats, samples and arrivals, faults) applied to the world in virtual time.
 */
export { injectFault } from './faults.js';
export { DEFAULT_MAX_PARTICIPANTS, RELEASE_GRACE_MS, type Fault, type RunParams, type Sim } from './sim-state.js';

/** Everyone leaves: the node sends participantLeft per person and roomClosed through its RegionDO. */
function end(sim: Sim, slot: number, now: number): void {
  const { rooms, meters } = sim.world;
  rooms.over[slot] = 1;
  const node = nodeOf(sim, slot);
  const joined = rooms.joined[slot]!;
  if (node) {
    addParticipants(node, joined, 0);
    if (node.alive && sim.counting) countRegionDo(meters, node.region, node.shard, SOURCE.nodeEvent, now, joined + 1);
  }
  rooms.joined[slot] = 0;
  schedule(sim.world.calendar, now + RELEASE_GRACE_MS, encode(KIND.release, slot));
}

function releaseRoom(sim: Sim, slot: number, now: number): void {
  const node = nodeOf(sim, slot);
  if (node) {
    release(sim.world.regions[node.region]!, node, slot);
    if (sim.counting) countRegionDo(sim.world.meters, node.region, node.shard, SOURCE.release, now);
  }
  freeRoom(sim.world.rooms, slot);
}


// ── liveness (RegionDO alarm → RoomDO onNodeLost → ensureAssignment) ─────────────────────────

function alarm(sim: Sim, regionIndex: number, now: number): void {
  const region = sim.world.regions[regionIndex]!;
  if (region.alarmAt !== now) return;
  if (sim.counting) countRegionDo(sim.world.meters, regionIndex, 0, SOURCE.alarm, now, sim.world.scale);
  const { lost, next } = runAlarm(region, now);
  const { rooms } = sim.world;
  // Each shard tells its rooms to move at a pace (room-moves.ts paceNotice). A node is
  // full size at any scale, so one node's rooms move at that pace; when a shard loses several, the
  // simulated shard (fewer nodes than a full-size one) is paced down so its queue takes as long.
  const lostPerShard = new Array<number>(region.shards.length).fill(0);
  for (const { node } of lost) lostPerShard[node.shard]! += 1;
  const scaledPace = MOVES_PER_SHARD_PER_SECOND * ((sim.world.scale * region.fullShards) / region.shards.length);
  for (const { node, rooms: lostRooms } of lost) {
    node.consumers = 0;
    node.participants = 0;
    node.mediaRooms = 0;
    const pace = lostPerShard[node.shard]! > 1 ? Math.min(MOVES_PER_SHARD_PER_SECOND, scaledPace) : MOVES_PER_SHARD_PER_SECOND;
    for (const slot of lostRooms) {
      rooms.node[slot] = -1;
      rooms.nodeRegion[slot] = -1;
      rooms.lostAt[slot] = node.diedAt >= 0 ? node.diedAt : now;
      // The shard's queue carries over from earlier alarms (nodes go silent over a heartbeat interval).
      const paced = paceNotice(region.movesQueuedUntil[node.shard]!, now, pace);
      region.movesQueuedUntil[node.shard] = paced.queuedUntil;
      if (paced.notifyAt <= now) moveRoom(sim, slot, now);
      else schedule(sim.world.calendar, paced.notifyAt, encode(KIND.move, slot));
    }
  }
  armAlarm(sim, regionIndex, next);
}

/** setAlarm: the calendar runs in slots, so the alarm fires at the start of the slot after `at`. */
function armAlarm(sim: Sim, regionIndex: number, at: number): void {
  const region = sim.world.regions[regionIndex]!;
  region.alarmAt = at < 0 ? -1 : Math.ceil(at / SLOT_MS) * SLOT_MS;
  if (region.alarmAt >= 0) schedule(sim.world.calendar, region.alarmAt, encode(KIND.alarm, regionIndex));
}


// ── heartbeats, samples, arrivals: every slot ────────────────────────────────────────────────

function tick(sim: Sim, now: number): void {
  const { world } = sim;
  const phase = Math.floor(now / SLOT_MS) % HEARTBEAT_PHASES;
  for (const region of world.regions) {
    const sent = new Array<number>(region.shards.length).fill(0);
    for (let i = phase; i < region.nodes.length; i += HEARTBEAT_PHASES) {
      const node = region.nodes[i]!;
      if (!heartbeat(node, now, sim.params.kbpsPerConsumer)) continue;
      sent[node.shard]! += 1;
      if (node.state === 'serving') for (const slot of roomsToShedNow(region, node, now)) shedRoom(sim, node, slot, now);
    }
    if (sim.counting) sent.forEach((count, shard) => count > 0 && countRegionDo(world.meters, region.index, shard, SOURCE.heartbeat, now, count));
  }
  if (now % MINUTE_MS === 0) sample(sim, now);
  while (world.nextMinute * MINUTE_MS <= now + MINUTE_MS) openMinute(sim, world.nextMinute++);
  schedule(world.calendar, now + SLOT_MS, encode(KIND.tick, 0));
}

function sample(sim: Sim, now: number): void {
  const meters = sim.world.meters;
  const minute = Math.floor((now - meters.startMs) / MINUTE_MS);
  if (minute < 0 || minute >= meters.minutes) return;
  for (const region of sim.world.regions) {
    let up = 0;
    let rooms = 0;
    let participants = 0;
    let sum = 0;
    let max = 0;
    for (const node of region.nodes) {
      if (!node.alive) continue;
      up++;
      rooms += node.mediaRooms;
      participants += node.participants;
      const utilisation = node.consumers / node.budget;
      sum += utilisation;
      if (utilisation > max) max = utilisation;
    }
    const values = [rooms, up ? sum / up : 0, max, up, participants];
    values.forEach((value, field) => (meters.samples[sampleIndex(meters, region.index, minute, field)] = value));
  }
}

// ── the loop ─────────────────────────────────────────────────────────────────────────────────

function handle(sim: Sim, event: number, now: number): void {
  sim.world.now = now;
  const payload = payloadOf(event);
  switch (kindOf(event)) {
    case KIND.tick:
      return tick(sim, now);
    case KIND.join:
      return regionJoin(sim, payload, now);
    case KIND.end:
      return end(sim, payload, now);
    case KIND.release:
      return releaseRoom(sim, payload, now);
    case KIND.alarm:
      return alarm(sim, payload, now);
    case KIND.flashJoin:
      return flashJoin(sim, payload, now);
    case KIND.fault:
      return applyFault(sim, sim.params.faults[payload]!, now);
    case KIND.move:
      return moveRoom(sim, payload, now);
  }
}

/**
 * Starts a run at the world's current time in steady state: the meetings already under way (drawn
 * from the hours before) are placed in the order they began, each with the people who had
 * arrived by then, and the clock starts.
 */
export function startSim(sim: Sim): void {
  const { world } = sim;
  const start = world.now;
  sim.counting = false;
  const early: { first: number; slot: number; arrived: number }[] = [];
  // Meetings last ~54 min (lognormal); fewer than 3 in 10,000 run past 6 hours.
  const firstMinute = Math.floor(start / MINUTE_MS) - 6 * 60;
  for (let minute = firstMinute; minute <= Math.floor(start / MINUTE_MS); minute++) openMinute(sim, minute, start, early);
  world.nextMinute = Math.floor(start / MINUTE_MS) + 1;
  early.sort((a, b) => a.first - b.first || a.slot - b.slot);
  for (const { slot, arrived } of early) for (let i = 0; i < arrived; i++) join(sim, slot, start);
  for (const region of world.regions) for (let i = 0; i < region.nodes.length; i++) heartbeat(region.nodes[i]!, start, sim.params.kbpsPerConsumer);
  for (const region of world.regions) for (const node of region.nodes) node.peakUtilisation = node.consumers / node.budget;
  sim.counting = true;
  for (const region of world.regions) armAlarm(sim, region.index, start + POLICY.heartbeatTimeoutMs + 1);
  schedule(world.calendar, start, encode(KIND.tick, 0));
}

export function runSim(sim: Sim, untilMs: number): void {
  runUntil(sim.world.calendar, untilMs, (event, now) => handle(sim, event, now));
  sim.world.now = untilMs;
}

