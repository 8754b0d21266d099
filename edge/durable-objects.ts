import type { RegionId } from '../schema/regions.js';

/**
 * The one place Durable Object names are built: each helper names the object that owns one
 * meeting, region, account or rate-limit key. Callers never call idFromName themselves.
 */

/** The RoomDO of a meeting (named by its link id). */
export function roomStub(env: Env, meetingLinkId: string) {
  return env.ROOM.get(env.ROOM.idFromName(meetingLinkId));
}

/** The RegionDO of a region: that region's media-node registry. */
export function regionStub(env: Env, region: RegionId) {
  return env.REGION.get(env.REGION.idFromName(region));
}

/** The AccountDO of a user: sessions, profile snapshot, login failures. */
export function accountStub(env: Env, userId: string) {
  return env.ACCOUNT.get(env.ACCOUNT.idFromName(userId));
}

/** What a RateLimiterDO counts: one object per purpose and client address. */
export type LimiterKey = `${'login-ip' | 'register-ip'}:${string}`;

export function limiterStub(env: Env, key: LimiterKey) {
  return env.LIMITER.get(env.LIMITER.idFromName(key));
}
