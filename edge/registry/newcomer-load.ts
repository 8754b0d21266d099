import type { NodeCandidate } from './placement.js';

/**
 * Consumers of newcomers a RegionDO just sent to its nodes (spread.ts nodeForNewcomer), which the
 * nodes' own reports do not show until their next heartbeats: without them, a burst of joins into
 * a large meeting between two heartbeats would all see the same headroom and pile onto one node.
 * In memory only: each entry matters for a couple of heartbeat intervals, and an evicted RegionDO
 * simply counts on the reports again.
 */
export class NewcomerLoad {
  private readonly pending = new Map<string, { consumers: number; until: number }[]>();

  constructor(private readonly holdMs: number) {}

  /** `consumers` more are on their way to the node. */
  add(nodeId: string, consumers: number, now: number): void {
    const entries = this.live(nodeId, now);
    entries.push({ consumers, until: now + this.holdMs });
    this.pending.set(nodeId, entries);
  }

  /** The nodes with their newcomers still on the way added to their reported consumers. */
  apply<N extends NodeCandidate>(nodes: readonly N[], now: number): N[] {
    return nodes.map((node) => {
      const consumers = this.live(node.nodeId, now).reduce((sum, entry) => sum + entry.consumers, 0);
      return consumers === 0 ? node : { ...node, load: { ...node.load, consumers: node.load.consumers + consumers } };
    });
  }

  private live(nodeId: string, now: number): { consumers: number; until: number }[] {
    const entries = (this.pending.get(nodeId) ?? []).filter((entry) => entry.until > now);
    if (entries.length === 0) this.pending.delete(nodeId);
    else this.pending.set(nodeId, entries);
    return entries;
  }
}
