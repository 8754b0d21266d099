import { baselineNodes, MEDIA_REGIONS, regionIdSchema, reserveNodes, type RegionId } from '../../schema/regions.js';

/*
 * A region's media-node registry split over several RegionDO instances (docs/simulation.md: one
 * object serves ~1,000 requests/s, and a region of 4,000 nodes heartbeating every second sends
 * 4,000). Each shard holds the nodes hashed to it — their heartbeats, events and rooms — and
 * places rooms on them only. A meeting asks the shard its id hashes to, then one more, then the
 * next region. Moves after a node or region loss are paced per shard.
 *
 * The same rules the simulation runs drive the code: edge/durable-objects.ts names each shard's
 * RegionDO, edge/routes/nodes.ts connects a node to its shard, edge/room/media.ts places through
 * shardsToAsk, and the fleet API reads every shard. The count per region is REGISTRY_SHARDS
 * (edge/config.ts; one unless configured).
 */

/**
 * Nodes one registry shard holds: ~64 heartbeats/s plus their events and placements, so that even
 * a neighbour region taking a lost region's rooms stays under half an object's ~1,000 requests/s
 * (docs/simulation.md: at 128 the busiest shard reached 54% in the region-loss scenario).
 */
export const NODES_PER_REGISTRY_SHARD = 64;

/** Shards a region's registry needs for this many media nodes (at least one). */
export function registryShards(nodes: number): number {
  return Math.max(1, Math.ceil(nodes / NODES_PER_REGISTRY_SHARD));
}

/** FNV-1a: stable over runtimes, enough to spread ids evenly. */
export function hashId(id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * The shard a node reports to (and whose placements use it). Nodes are provisioned numbered per
 * region (lon-0007): the number modulo the shards keeps shards even, which a hash would not (a
 * shard with fewer nodes would fill first, meetings being spread evenly). Other ids are hashed.
 */
export function shardOfNode(nodeId: string, shards: number): number {
  const number = /(\d+)$/.exec(nodeId);
  return (number ? Number(number[1]) : hashId(nodeId)) % shards;
}

/** The shards a meeting asks for a node, in order: its own, then the next (at most two requests per region). */
export function shardsToAsk(meetingId: string, shards: number): number[] {
  const own = hashId(meetingId) % shards;
  return shards === 1 ? [own] : [own, (own + 1) % shards];
}

/**
 * Rooms one shard tells to move per second after it wrote nodes off: a lost region's rooms then
 * reach the next regions' shards spread over tens of seconds, not in one burst.
 */
export const MOVES_PER_SHARD_PER_SECOND = 100;

/**
 * REGISTRY_SHARDS: comma-separated entries, later ones winning: `plan` sets every media region to
 * registryShards(its capacity-plan nodes, baseline + reserve); `lon=3` sets one region. Unset: 1.
 * Changing it moves nodes between shards: they reconnect on the deploy and land on their new one.
 */
export function parseRegistryShards(value: string | undefined): (region: RegionId) => number {
  const counts = new Map<RegionId, number>();
  for (const entry of (value ?? '').split(',').map((part) => part.trim()).filter((part) => part.length > 0)) {
    if (entry === 'plan') {
      for (const region of MEDIA_REGIONS) counts.set(region.id, registryShards(baselineNodes(region) + reserveNodes(baselineNodes(region))));
      continue;
    }
    const match = /^([a-z]+)=(\d+)$/.exec(entry);
    const region = regionIdSchema.safeParse(match?.[1]).data;
    const shards = Number(match?.[2]);
    if (!region || !Number.isInteger(shards) || shards < 1 || shards > 1_000) {
      throw new Error(`edge configuration is invalid: REGISTRY_SHARDS: ${entry} is not \`plan\` or <region>=<shards 1..1000>`);
    }
    counts.set(region, shards);
  }
  return (region) => counts.get(region) ?? 1;
}

/** Every shard of a region with this many, in order. */
export function allShards(shards: number): number[] {
  return Array.from({ length: shards }, (_, shard) => shard);
}
