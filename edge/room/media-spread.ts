import type { NodeCommand, PlacedNode } from '../../schema/wire/node-control.js';
import type { RegionId } from '../../schema/regions.js';
import { nodeRegistryStub, regionShardCount, regionStub } from '../durable-objects.js';
import { describeError, log } from '../http/log.js';
import type { ClientLocation } from '../registry/region-choice.js';
import { shardsToAsk } from '../registry/shards.js';
import { partRegionsFor, type MeetingInRegion } from '../registry/spread.js';
import type { MeetingCascade } from './cascade.js';
import type { ParticipantLocations } from './participant-locations.js';
import type { ParticipantNodes } from './participant-nodes.js';
import type { Room } from './room.js';

/**
 * From this many participants on, each join asks the region's registry whether the meeting's node
 * still has headroom for one more (spread.ts nodeForNewcomer), and spills onto a second node when
 * it has not. Smaller meetings fit in what placement reserved for a new room (consumersPerNewRoom),
 * so their joins skip the question — and the registry round trip.
 */
export const SPILL_CHECK_FROM_PARTICIPANTS = 20;

/**
 * How many regions a far newcomer's join asks for a node in turn (their own, then the next
 * nearest worth a part): each is a registry round trip on the join's path, paid only when the
 * one before had no node.
 */
const PART_REGIONS_ASKED = 2;

/**
 * The meeting over several nodes (cascading, docs/cascading.md): which node a newcomer is sent
 * to, which node each participant is on, where those who may need a node chosen again joined
 * from, and the parts the registries forget when the meeting no longer uses them.
 */
export class MeetingSpread {
  constructor(
    private readonly room: Room,
    private readonly env: Env,
    readonly cascade: MeetingCascade,
    private readonly nodes: ParticipantNodes,
    private readonly locations: ParticipantLocations,
  ) {}

  /**
   * The node a newcomer (already seated) is sent to: the meeting's placed node, unless the meeting
   * spreads (spread.ts) — the newcomer is far from the meeting's region and their own region has
   * a node for them, or the meeting has grown past SPILL_CHECK_FROM_PARTICIPANTS and its node
   * lacks headroom. A node chosen here serves a part of the meeting: the cascade relays producers
   * to and from it. When no other node answers, the newcomer stays on the placed node. Without
   * `location`: where the room kept that they joined from (none: the meeting's region).
   */
  async nodeForNewcomer(participantId: string, placed: PlacedNode, location: ClientLocation = this.locations.get(participantId)): Promise<PlacedNode> {
    const others = this.room.participants.count('joined') - 1;
    // Their own region first; when it has no node for them (all down, draining or full), the
    // next region still far enough nearer than the meeting's — not straight to the placed node,
    // which may be a continent further. A large meeting may also spill within its own region.
    const regions = partRegionsFor(location, placed.region).slice(0, PART_REGIONS_ASKED);
    if (others + 1 >= SPILL_CHECK_FROM_PARTICIPANTS) regions.push(placed.region);
    const node = await this.firstNodeIn(regions, placed, others);
    if (!node || node.nodeId === placed.nodeId) return placed;
    this.cascade.graph.admit(node.nodeId, node.region);
    this.nodes.set(participantId, node);
    // Kept so that, should this node go, they are placed again in their own region.
    this.locations.set(participantId, location);
    return node;
  }

  /** Someone waits in the lobby: where they joined from, for their node once admitted. */
  rememberLocation(participantId: string, location: ClientLocation): void {
    this.locations.set(participantId, location);
  }

  /** The participant's node: their own while the meeting still sends people there, else the placed node. */
  nodeOf(participantId: string, placed: PlacedNode): PlacedNode {
    const own = this.nodes.get(participantId);
    if (!own) return placed;
    if (this.cascade.graph.isAdmitted(own.nodeId)) return own;
    this.nodes.delete(participantId);
    return placed;
  }

  /**
   * media.refresh from a participant on a part of the meeting: their node while its registry says
   * it still serves the part (as the placed node is kept while its registry says it serves the
   * meeting); otherwise they are placed again from where they joined — their region's node, else
   * the placed one.
   */
  async confirmOwnNode(participantId: string, placed: PlacedNode): Promise<PlacedNode> {
    const own = this.nodeOf(participantId, placed);
    if (own.nodeId === placed.nodeId) return placed;
    let serving = false;
    try {
      serving = await nodeRegistryStub(this.env, own.region, own.nodeId).servesPart(this.room.linkId(), own.nodeId);
    } catch (error) {
      log('error', 'room.confirm_failed', { nodeId: own.nodeId, error: describeError(error) });
    }
    if (serving) return own;
    this.nodes.delete(participantId);
    log('warn', 'room.part_refused', { linkId: this.room.linkId(), nodeId: own.nodeId });
    await this.letGo(own);
    return this.nodeForNewcomer(participantId, placed);
  }

  /**
   * The node's registry says it no longer serves the meeting, found out by a client's media.refresh
   * (the registry's notice, RoomDO.onNodeLost, went astray or is still paced): the cascade lets it
   * go as that notice would — lost (its part closes, its relays are repaired) when it is no longer
   * alive, else leaving (drain, overload: its relays run on until its room closes). A registry that
   * cannot answer leaves it leaving: its notice comes later, and nothing is cut meanwhile.
   */
  async letGo(node: PlacedNode): Promise<void> {
    let live = true;
    try {
      live = await nodeRegistryStub(this.env, node.region, node.nodeId).nodeLive(node.nodeId);
    } catch (error) {
      log('error', 'room.confirm_failed', { nodeId: node.nodeId, error: describeError(error) });
    }
    void (live ? this.cascade.onNodeLeaving(node.nodeId) : this.cascade.onNodeLost(node.nodeId));
  }

  /** The participant is out. */
  forget(participantId: string): void {
    this.nodes.delete(participantId);
    this.locations.delete(participantId);
  }

  /** Everyone sent to a node other than the placed one. */
  onParts(): Set<string> {
    return this.nodes.participantIds();
  }

  /** The node is gone: answers who was on it (they need a node again). */
  dropNode(nodeId: string): string[] {
    return this.nodes.dropNode(nodeId);
  }

  /** The meeting's nodes other than `except`, for the meeting-wide commands. */
  async commandOthers(except: string | null, command: NodeCommand): Promise<void> {
    for (const other of this.cascade.otherNodes(except)) {
      try {
        const result = await nodeRegistryStub(this.env, other.region, other.nodeId).sendCommand(other.nodeId, command);
        if (!result.ok) log('warn', 'room.node_command_failed', { nodeId: other.nodeId, command: command.command, code: result.code });
      } catch (error) {
        log('error', 'room.node_command_failed', { nodeId: other.nodeId, command: command.command, error: describeError(error) });
      }
    }
  }

  /** The meeting no longer sends anyone to its other nodes: each registry forgets the part. */
  async releaseParts(): Promise<void> {
    // A meeting that never spread has no parts (and keeps no cascade tables to look them up in).
    if (!this.nodes.everSpread()) return;
    const { graph } = this.cascade;
    for (const part of graph.admitted()) {
      graph.dismiss(part.nodeId);
      try {
        await nodeRegistryStub(this.env, part.region, part.nodeId).releasePart(this.room.linkId(), part.nodeId);
      } catch (error) {
        log('error', 'room.release_failed', { nodeId: part.nodeId, error: describeError(error) });
      }
    }
    this.nodes.clear();
  }

  /** The meeting ended: nobody's location is needed any more. */
  forgetLocations(): void {
    this.locations.clear();
  }

  /** The meeting's nodes in the region with their participants (the placed node first), as spread.ts reads it. */
  private footprint(region: RegionId, placed: PlacedNode, others: number): MeetingInRegion {
    const nodes = this.nodes.countsIn(region);
    if (placed.region === region) nodes.unshift({ nodeId: placed.nodeId, participants: Math.max(0, others - this.nodes.total()) });
    return { nodes, participants: others };
  }

  /** The first of `regions` whose registry has a node for the newcomer (asked in turn); null when none has. */
  private async firstNodeIn(regions: readonly RegionId[], placed: PlacedNode, others: number): Promise<PlacedNode | null> {
    for (const region of regions) {
      const node = await this.placeNewcomer(region, this.footprint(region, placed, others));
      if (node) return node;
    }
    return null;
  }

  /** Asks the region's registry shards (as placeInRegion) for the newcomer's node; null when none has one. */
  private async placeNewcomer(region: RegionId, meeting: MeetingInRegion): Promise<PlacedNode | null> {
    const linkId = this.room.linkId();
    for (const shard of shardsToAsk(linkId, regionShardCount(this.env, region))) {
      try {
        const node = await regionStub(this.env, region, shard).placeNewcomer(linkId, meeting);
        if (node) return node;
      } catch (error) {
        log('error', 'room.place_newcomer_failed', { linkId, region: shard === 0 ? region : `${region}#${shard}`, error: describeError(error) });
      }
    }
    return null;
  }
}
