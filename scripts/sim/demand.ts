import { PLAN, regionById, type RegionId } from '../../schema/regions.js';
import { localMinuteOfHour, MEDIA_REGION_IDS, MINUTES_PER_DAY, minuteShares, wrapMinute } from './day-profile.js';
import { Rng } from './rng.js';

/** The meetings of a day: the plan's totals plus the shape assumptions the plan leaves open. */
export interface MeetingModel {
  meetingsPerDay: number;
  meanParticipants: number;
  /** Sizes are minParticipants + Poisson(mean − min): most meetings near the mean, few large. */
  minParticipants: number;
  meanMinutes: number;
  /** Lognormal spread of meeting length. */
  durationSigma: number;
  /** The first person (usually the host) arrives this long after the start, on average (exponential). */
  hostDelayMeanS: number;
  /** Everyone else arrives this long after the start, on average (exponential). */
  joinDelayMeanS: number;
  /** Share of meetings scheduled at :00 or :30 local time (the rest start at any minute). */
  scheduledShare: number;
  /** Chat lines per participant per meeting (for RoomDO and history rates). */
  chatPerParticipant: number;
}

export const PLAN_MEETINGS: MeetingModel = {
  meetingsPerDay: PLAN.meetingsPerDay,
  meanParticipants: PLAN.avgParticipants,
  minParticipants: 2,
  meanMinutes: PLAN.avgMinutes,
  durationSigma: 0.6,
  hostDelayMeanS: 20,
  joinDelayMeanS: 90,
  scheduledShare: 0.25,
  chatPerParticipant: 1,
};

/** Expected meeting starts per UTC minute for one region (before scaling), and the scheduled part. */
export interface MinuteStarts {
  total: Float64Array;
  scheduled: Float64Array;
}

export function startsPerMinute(region: RegionId, model: MeetingModel): MinuteStarts {
  const daily = model.meetingsPerDay * regionById(region).peakShare;
  const shares = minuteShares(region);
  const total = new Float64Array(MINUTES_PER_DAY);
  const scheduled = new Float64Array(MINUTES_PER_DAY);
  for (let minute = 0; minute < MINUTES_PER_DAY; minute++) {
    const localMinute = localMinuteOfHour(region, minute);
    if (localMinute === 0 || localMinute === 30) {
      let block = 0;
      for (let j = 0; j < 30; j++) block += shares[wrapMinute(minute + j)]!;
      scheduled[minute] = model.scheduledShare * daily * block;
    }
    total[minute] = (1 - model.scheduledShare) * daily * shares[minute]! + scheduled[minute]!;
  }
  return { total, scheduled };
}

/** One meeting as the demand model draws it; times in ms of simulated time. */
export interface MeetingDraw {
  size: number;
  /** Sorted arrival times of its participants (the first one places the room). */
  joins: number[];
  endsAt: number;
  /** Its position among the minute's meetings (picks its clients' location). */
  index: number;
}

export const MINUTE_MS = 60_000;
const REGION_INDEX = new Map(MEDIA_REGION_IDS.map((id, i) => [id, i]));

/**
 * The meetings that start in one UTC minute (absolute: minute 0 is midnight UTC of the simulated
 * day; negative minutes are the day before, which looks the same). `scale` shrinks the count.
 * Each meeting has its own random stream, so skipping the ones over before `endedBefore` changes
 * nothing else.
 */
export function drawMinute(seed: number, region: RegionId, minute: number, starts: MinuteStarts, model: MeetingModel, scale: number, endedBefore = -Infinity): MeetingDraw[] {
  const regionIndex = REGION_INDEX.get(region)!;
  const dayMinute = wrapMinute(minute);
  const expected = starts.total[dayMinute]!;
  const count = new Rng(seed, regionIndex, minute + 1_000_000).poisson(expected * scale);
  const scheduledChance = expected > 0 ? starts.scheduled[dayMinute]! / expected : 0;
  const mu = Math.log(model.meanMinutes) - (model.durationSigma * model.durationSigma) / 2;
  const draws: MeetingDraw[] = [];
  for (let i = 0; i < count; i++) {
    const rng = new Rng(seed, regionIndex, minute + 1_000_000, i + 1);
    const scheduled = rng.next() < scheduledChance;
    const start = minute * MINUTE_MS + (scheduled ? 0 : rng.next() * MINUTE_MS);
    const length = Math.exp(mu + model.durationSigma * rng.normal()) * MINUTE_MS;
    const endsAt = start + Math.max(2 * MINUTE_MS, length);
    if (endsAt <= endedBefore) continue;
    const size = model.minParticipants + rng.poisson(model.meanParticipants - model.minParticipants);
    const joins = [Math.min(endsAt - 1_000, start + rng.exp(model.hostDelayMeanS * 1_000))];
    for (let p = 1; p < size; p++) joins.push(Math.min(endsAt - 1_000, start + rng.exp(model.joinDelayMeanS * 1_000)));
    joins.sort((a, b) => a - b);
    draws.push({ size, joins, endsAt, index: i });
  }
  return draws;
}
