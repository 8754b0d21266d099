import { MEDIA_REGIONS, REGIONS, type RegionId } from '../../schema/regions.js';

/** When meetings happen: each media region's clients follow a working day by their own local time (schema/regions.ts utcOffsetHours). */
export const UTC_OFFSET_HOURS: Readonly<Record<RegionId, number>> = Object.fromEntries(REGIONS.map((region) => [region.id, region.utcOffsetHours])) as Record<RegionId, number>;

export const MINUTES_PER_DAY = 1_440;

/** Relative meeting starts by local hour: a morning and an afternoon hump, a small evening one. */
function localWeight(hour: number): number {
  const hump = (centre: number, width: number) => Math.exp(-0.5 * ((hour - centre) / width) ** 2);
  return 0.03 + hump(10.5, 1.6) + 0.9 * hump(14.5, 1.8) + 0.25 * hump(19.5, 1.5);
}

/** Share of a region's daily meetings that start in each UTC minute of the day (sums to 1). */
export function minuteShares(region: RegionId): Float64Array {
  const shares = new Float64Array(MINUTES_PER_DAY);
  const offsetMinutes = UTC_OFFSET_HOURS[region] * 60;
  let total = 0;
  for (let minute = 0; minute < MINUTES_PER_DAY; minute++) {
    const local = (((minute + offsetMinutes) % MINUTES_PER_DAY) + MINUTES_PER_DAY) % MINUTES_PER_DAY;
    shares[minute] = localWeight((local + 0.5) / 60);
    total += shares[minute]!;
  }
  for (let minute = 0; minute < MINUTES_PER_DAY; minute++) shares[minute]! /= total;
  return shares;
}

/** Local minute of the hour (0..59) for a UTC minute of the day: scheduled meetings start at :00 and :30. */
export function localMinuteOfHour(region: RegionId, utcMinute: number): number {
  const offsetMinutes = Math.round(UTC_OFFSET_HOURS[region] * 60);
  return (((utcMinute + offsetMinutes) % 60) + 60) % 60;
}

/** Minute index wrapped into one day (the profile repeats: the simulated day follows a day like it). */
export function wrapMinute(minute: number): number {
  return ((minute % MINUTES_PER_DAY) + MINUTES_PER_DAY) % MINUTES_PER_DAY;
}

export const MEDIA_REGION_IDS: readonly RegionId[] = MEDIA_REGIONS.map((region) => region.id);
