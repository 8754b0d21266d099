import { FULL_MEETING_TTL_S } from '../../edge/routes/full-meeting-cache.js';

/**
 * The "meeting full" answer cached at the edge (edge/routes/full-meeting-cache.ts), so a flash
 * crowd on one link is refused before it reaches the meeting's RoomDO. Modelled per Cloudflare
 * location (caches.default is per location): a location that got MEETING_FULL from the room
 * answers it itself for the TTL, once its write is visible (`visibleAfterMs`); until then its
 * joins go through. The code refuses everyone but the meeting's host from it (the one joiner a
 * full meeting lets in), as the simulation does.
 */
export interface FullCachePolicy {
  /** Locations the crowd comes through (joins spread evenly over them). */
  locations: number;
  ttlMs: number;
  visibleAfterMs: number;
}

export const FULL_CACHE: FullCachePolicy = { locations: 50, ttlMs: FULL_MEETING_TTL_S * 1_000, visibleAfterMs: 50 };

/** Per location: from when to when it answers "full" itself. */
export interface FullCache {
  from: Float64Array;
  until: Float64Array;
}

export function newFullCache(policy: FullCachePolicy = FULL_CACHE): FullCache {
  return { from: new Float64Array(policy.locations), until: new Float64Array(policy.locations) };
}

export function cachedFull(cache: FullCache, location: number, now: number): boolean {
  return cache.from[location]! <= now && now < cache.until[location]!;
}

/** The room answered MEETING_FULL through this location: it caches it (unless a fresher entry is there). */
export function rememberFull(cache: FullCache, location: number, now: number, policy: FullCachePolicy = FULL_CACHE): void {
  if (cachedFull(cache, location, now) || cache.from[location]! > now) return;
  cache.from[location] = now + policy.visibleAfterMs;
  cache.until[location] = now + policy.ttlMs;
}
