import type { RegionId } from '../schema/regions.js';
import { edgeConfig } from './config.js';
import { allShards, shardOfNode } from './registry/shards.js';

/**
 * The one place Durable Object names are built: each helper names the object that owns one
 * meeting, region, account or rate-limit key. Callers never call idFromName themselves.
 */

/** The RoomDO of a meeting (named by its link id). */
export function roomStub(env: Env, meetingLinkId: string) {
  return env.ROOM.get(env.ROOM.idFromName(meetingLinkId));
}

/**
 * The RegionDO of one shard of a region's media-node registry (edge/registry/shards.ts). Shard 0
 * keeps the region's bare name, so a region that had one object keeps its storage.
 */
export function regionStub(env: Env, region: RegionId, shard = 0) {
  return env.REGION.get(env.REGION.idFromName(shard === 0 ? region : `${region}#${shard}`));
}

/** How many shards the region's registry has (REGISTRY_SHARDS; 1 unless configured). */
export function regionShardCount(env: Env, region: RegionId): number {
  return edgeConfig(env).registryShards(region);
}

/** The RegionDO shard that holds this node: its control socket, rooms and commands. */
export function nodeRegistryStub(env: Env, region: RegionId, nodeId: string) {
  return regionStub(env, region, shardOfNode(nodeId, regionShardCount(env, region)));
}

/** Every shard of the region's registry, shard 0 first (the fleet view reads them all). */
export function regionShardStubs(env: Env, region: RegionId) {
  return allShards(regionShardCount(env, region)).map((shard) => regionStub(env, region, shard));
}

/** The AccountDO of a user: sessions, profile snapshot, login failures. */
export function accountStub(env: Env, userId: string) {
  return env.ACCOUNT.get(env.ACCOUNT.idFromName(userId));
}

/** What a RateLimiterDO counts: one object per purpose and client address, or per email that has no account. */
export type LimiterKey = `${'login-ip' | 'register-ip' | 'login-email'}:${string}`;

export function limiterStub(env: Env, key: LimiterKey) {
  return env.LIMITER.get(env.LIMITER.idFromName(key));
}
