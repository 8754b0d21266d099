import { z } from 'zod';

/**
 * The 12 data centres of the capacity plan: one typed config that placement, the capacity
 * planner and the fleet tools all read. Node counts derive from the plan's load figures below.
 */
export const REGION_IDS = ['sfo', 'nyc', 'mci', 'lon', 'fra', 'tyo', 'bom', 'nqz', 'sin', 'nbo', 'rio', 'syd'] as const;
export const regionIdSchema = z.enum(REGION_IDS);
export type RegionId = z.infer<typeof regionIdSchema>;

export type RegionRole = 'control' | 'media';
export type Continent = 'NA' | 'SA' | 'EU' | 'AF' | 'AS' | 'OC' | 'AN';

export interface Region {
  id: RegionId;
  name: string;
  lat: number;
  lon: number;
  continent: Continent;
  roles: readonly RegionRole[];
  /** Share of the world's peak joins this region's media serves (planning assumption). */
  peakShare: number;
  /** Its clients' local time, hours from UTC in December (the simulation's day follows it). */
  utcOffsetHours: number;
}

/** The capacity plan's load figures. */
export const PLAN = {
  monthlyUsers: 700_000_000,
  dailyUsers: 300_000_000,
  meetingsPerDay: 16_700_000,
  avgParticipants: 10,
  avgMinutes: 54,
  peakJoinsPerSecond: 5_700,
  busiestRegionJoinsPerSecond: 880,
  concurrentRooms: 600_000,
  /** mediasoup guidance: one worker (one core) carries ~500 consumers. */
  consumersPerCore: 500,
  coresPerMediaNode: 32,
} as const;

export const REGIONS: readonly Region[] = [
  { id: 'sfo', name: 'San Francisco', lat: 37.7749, lon: -122.4194, continent: 'NA', roles: ['media'], peakShare: 0.1, utcOffsetHours: -8 },
  { id: 'nyc', name: 'New York', lat: 40.7128, lon: -74.006, continent: 'NA', roles: ['media'], peakShare: 0.154, utcOffsetHours: -5 },
  { id: 'mci', name: 'Kansas City', lat: 39.0997, lon: -94.5786, continent: 'NA', roles: ['control'], peakShare: 0, utcOffsetHours: -6 },
  { id: 'lon', name: 'London', lat: 51.5072, lon: -0.1276, continent: 'EU', roles: ['control', 'media'], peakShare: 0.12, utcOffsetHours: 0 },
  { id: 'fra', name: 'Frankfurt', lat: 50.1109, lon: 8.6821, continent: 'EU', roles: ['media'], peakShare: 0.1, utcOffsetHours: 1 },
  { id: 'tyo', name: 'Tokyo', lat: 35.6762, lon: 139.6503, continent: 'AS', roles: ['control', 'media'], peakShare: 0.09, utcOffsetHours: 9 },
  { id: 'bom', name: 'Mumbai', lat: 19.076, lon: 72.8777, continent: 'AS', roles: ['control', 'media'], peakShare: 0.12, utcOffsetHours: 5.5 },
  { id: 'nqz', name: 'Astana', lat: 51.1694, lon: 71.4491, continent: 'AS', roles: ['media'], peakShare: 0.036, utcOffsetHours: 5 },
  { id: 'sin', name: 'Singapore', lat: 1.3521, lon: 103.8198, continent: 'AS', roles: ['media'], peakShare: 0.09, utcOffsetHours: 8 },
  { id: 'nbo', name: 'Nairobi', lat: -1.2921, lon: 36.8219, continent: 'AF', roles: ['media'], peakShare: 0.05, utcOffsetHours: 3 },
  { id: 'rio', name: 'Rio de Janeiro', lat: -22.9068, lon: -43.1729, continent: 'SA', roles: ['media'], peakShare: 0.07, utcOffsetHours: -3 },
  { id: 'syd', name: 'Sydney', lat: -33.8688, lon: 151.2093, continent: 'OC', roles: ['control', 'media'], peakShare: 0.07, utcOffsetHours: 11 },
];

export const MEDIA_REGIONS = REGIONS.filter((region) => region.roles.includes('media'));

export function regionById(id: RegionId): Region {
  const region = REGIONS.find((candidate) => candidate.id === id);
  if (!region) throw new Error(`unknown region ${id}`);
  return region;
}

/** Consumers one room needs at the plan's average size: everyone receives everyone's audio + video. */
export function consumersPerRoom(participants: number = PLAN.avgParticipants): number {
  return participants * (participants - 1) * 2;
}

/** Rooms one media node carries at the plan's node size. */
export function roomsPerNode(): number {
  return Math.floor((PLAN.consumersPerCore * PLAN.coresPerMediaNode) / consumersPerRoom());
}

/** Baseline media nodes a region needs for its share of the plan's concurrent rooms. */
export function baselineNodes(region: Region): number {
  if (!region.roles.includes('media')) return 0;
  return Math.ceil((region.peakShare * PLAN.concurrentRooms) / roomsPerNode());
}

/** The plan's reserve for N baseline nodes: ceil(2N / (N + 1)) — one spare for one node, two beyond. */
export function reserveNodes(baseline: number): number {
  return baseline === 0 ? 0 : Math.ceil((2 * baseline) / (baseline + 1));
}

/** Great-circle distance in km (haversine). */
export function distanceKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const toRad = (deg: number) => (deg * Math.PI) / 180;
  const dLat = toRad(b.lat - a.lat);
  const dLon = toRad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(toRad(a.lat)) * Math.cos(toRad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}
