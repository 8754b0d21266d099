import { describe, expect, it } from 'vitest';
import { PLAN } from '../../schema/regions.js';
import { admissionRefusal } from '../sim/admission.js';
import { encode, kindOf, newCalendar, payloadOf, runUntil, schedule } from '../sim/calendar.js';
import { DEFAULT_NODE, nodeBudget, sizeRegion } from '../sim/capacity-model.js';
import { peakOf, sumCurves } from '../sim/demand-curves.js';
import { planBandwidthTable, planCpuCheck } from '../sim/plan-bandwidth.js';
import { meanRoomLoad, roomLoad } from '../sim/room-load.js';
import { clientPoints } from '../sim/world.js';
import { plan } from './sim-kit.js';

describe('capacity model', () => {
  it("reproduces the plan's bandwidth sizing: 70 baseline + 22 reserve = 92 hosts", () => {
    const table = planBandwidthTable();
    expect(table.rows.reduce((sum, row) => sum + row.gbps, 0)).toBeCloseTo(5_211, 6);
    expect(table.baseline).toBe(70);
    expect(table.reserve).toBe(22);
  });

  it('finds that the CPU per consumer does not allow the 92 hosts at 500 consumers per core', () => {
    const check = planCpuCheck(92, 180, 500);
    expect(check.consumers).toBe(108_000_000);
    expect(check.hostsNeeded).toBe(6_750);
    expect(check.allows).toBe(false);
  });

  it('lets the scarcest resource bind and adds the plan reserve', () => {
    const mean = meanRoomLoad(10, 2);
    const guidance = nodeBudget(DEFAULT_NODE, { consumersPerCore: { value: 500, source: 't' }, rssPerParticipantKb: { value: 3_000, source: 't' } }, mean);
    expect(guidance.binding).toBe('cpu');
    const fast = nodeBudget(DEFAULT_NODE, { consumersPerCore: { value: 5_000, source: 't' }, rssPerParticipantKb: { value: 3_000, source: 't' } }, mean);
    expect(fast.binding).toBe('bandwidth');
    const sizing = sizeRegion(100_000, mean, guidance, 0.8);
    expect(sizing.baseline).toBe(Math.ceil((100_000 * mean.consumers) / (16_000 * 0.8)));
    expect(sizing.reserve).toBe(2);
  });

  it('counts consumers and bitrate per room size', () => {
    expect(roomLoad(10).consumers).toBe(180);
    expect(roomLoad(2).kbpsOut).toBe(2 * (1_500 + 40));
    expect(meanRoomLoad(10, 2).participants).toBeCloseTo(10, 6);
  });
});

describe('demand model', () => {
  it("is calibrated to the plan's world peak of joins", () => {
    const { curves } = plan();
    expect(peakOf(sumCurves(curves, (c) => c.joinsPerSecond)).value).toBeCloseTo(PLAN.peakJoinsPerSecond, -1);
    const roomMinutes = sumCurves(curves, (c) => c.rooms).reduce((sum, rooms) => sum + rooms, 0);
    // Rooms open × minutes over the day = meetings × mean length.
    expect(roomMinutes / (PLAN.meetingsPerDay * PLAN.avgMinutes)).toBeCloseTo(1, 2);
  });

  it("routes each region's clients to their own region first (the real region choice)", () => {
    clientPoints(1).orders.forEach((points, home) => {
      for (const order of points) expect(order[0]).toBe(home);
    });
  });
});

describe('room admission and the calendar', () => {
  it('refuses an ended or full meeting, but not its host', () => {
    expect(admissionRefusal({ ended: true, joined: 0, maxParticipants: 10, isHost: true })).toBe('MEETING_ENDED');
    expect(admissionRefusal({ ended: false, joined: 10, maxParticipants: 10, isHost: false })).toBe('MEETING_FULL');
    expect(admissionRefusal({ ended: false, joined: 10, maxParticipants: 10, isHost: true })).toBeNull();
    expect(admissionRefusal({ ended: false, joined: 3, maxParticipants: 10, isHost: false })).toBeNull();
  });

  it('runs events in time order, same-slot ones in the order scheduled, far-future ones too', () => {
    const calendar = newCalendar(0);
    const seen: [number, number][] = [];
    schedule(calendar, 500, encode(1, 2));
    schedule(calendar, 100, encode(1, 1));
    schedule(calendar, 500, encode(2, 3));
    schedule(calendar, 10 * 3_600_000, encode(3, 4));
    runUntil(calendar, 11 * 3_600_000, (event, now) => {
      seen.push([now, payloadOf(event)]);
      if (payloadOf(event) === 1) schedule(calendar, now, encode(kindOf(event), 5));
    });
    expect(seen).toEqual([[100, 1], [100, 5], [500, 2], [500, 3], [36_000_000, 4]]);
  });
});
