import { assertNever, type Permission, type Role } from '../../schema/wire/common.js';
import { AppError } from '../../schema/wire/errors.js';
import { MEDIA_TOKEN_TTL_SECONDS } from '../../schema/wire/media-token.js';
import type { NodeCommand, PlacedNode } from '../../schema/wire/node-control.js';
import type { MediaAssignment } from '../../schema/wire/room.js';
import type { RegionId } from '../../schema/regions.js';
import { edgeConfig } from '../config.js';
import { nodeRegistryStub, regionShardCount, regionStub } from '../durable-objects.js';
import { describeError, log } from '../http/log.js';
import { regionsByDistance, type ClientLocation } from '../registry/region-choice.js';
import { shardsToAsk } from '../registry/shards.js';
import { MediaTokenSigner } from './media-token.js';
import { onRecordingNodeLost } from './recording.js';
import { turnCredentials } from './turn-credentials.js';
import type { MeetingSpread } from './media-spread.js';
import type { Participant } from './participants.js';
import type { Room } from './room.js';

/** The deadline at which an empty room gives its media node back. */
export const RELEASE_TIMER = 'release';
/** How long a room keeps its media node after the last participant left. */
export const RELEASE_GRACE_MS = 60_000;
/** The deadline at which a room whose node was lost, and that found no other, tries again. */
export const REPLACE_TIMER = 'replace';
/** How often a room without a node tries to place its meeting again while people are here. */
export const REPLACE_RETRY_MS = 2_000;
/**
 * A token handed out earlier (the join's) is handed out again on connect while at least half of
 * its life is left; otherwise the connect gets a fresh one.
 */
export const TOKEN_REUSE_MIN_LIFE_MS = (MEDIA_TOKEN_TTL_SECONDS * 1000) / 2;

/** Commands about the whole meeting or one participant wherever they are connected. */
const MEETING_WIDE_COMMANDS: ReadonlySet<NodeCommand['command']> = new Set(['closeParticipant', 'muteParticipant', 'setUnmutePolicy', 'setPermissions', 'closeMeeting']);

export function permissionsOf(role: Role): Permission[] {
  switch (role) {
    case 'host':
    case 'cohost':
      return ['publish', 'subscribe', 'screen', 'record'];
    case 'participant':
    case 'guest':
      return ['publish', 'subscribe', 'screen'];
    case 'attendee':
      return ['subscribe'];
    default:
      return assertNever(role, 'role');
  }
}

/**
 * The meeting's media: which node it is on (placed through the RegionDOs), moving when that node
 * is lost, releasing it when the room empties, and the media tokens that let participants in.
 */
export class RoomMedia {
  private readonly signer: MediaTokenSigner;
  /** The placement in flight: concurrent first joins all wait for this one. */
  private assigning: Promise<PlacedNode> | null = null;
  /**
   * The last token issued to each participant, so that the socket's welcome does not mint a second
   * one right after the join (kept in memory: after hibernation the welcome simply mints anew).
   */
  private readonly issued = new Map<string, { role: Role; media: MediaAssignment }>();

  constructor(
    private readonly room: Room,
    private readonly env: Env,
    /** Runs after the meeting lands on a node, before anyone is sent there (host mutes follow it). */
    private readonly afterPlaced: (node: PlacedNode) => Promise<void> = async () => undefined,
    /** The meeting's other nodes (cascading): newcomers may go there, meeting-wide commands reach them too. */
    private readonly spread: MeetingSpread | null = null,
  ) {
    this.signer = new MediaTokenSigner(() => edgeConfig(env).mediaTokenPrivateJwk);
  }

  /**
   * The meeting's media node: kept once assigned; otherwise placed by the nearest region with
   * capacity. Concurrent callers share one placement, so a meeting never lands on two nodes.
   */
  ensureAssignment(regions: readonly RegionId[]): Promise<PlacedNode> {
    const current = this.room.meeting.assignment();
    if (current) return Promise.resolve(current);
    this.assigning ??= this.place(regions.length > 0 ? regions : this.fallbackRegions()).finally(() => {
      this.assigning = null;
    });
    return this.assigning;
  }

  private fallbackRegions(): RegionId[] {
    const remembered = this.room.meeting.regions();
    return remembered.length > 0 ? remembered : regionsByDistance({}, edgeConfig(this.env).defaultRegion);
  }

  private async place(regions: readonly RegionId[]): Promise<PlacedNode> {
    const linkId = this.room.linkId();
    for (const region of regions) {
      const placed = await this.placeInRegion(linkId, region);
      if (!placed) continue;
      this.room.meeting.setAssignment(placed);
      this.room.meeting.setRegions(regions);
      await this.room.timers.clear(RELEASE_TIMER);
      await this.room.timers.clearIfSet(REPLACE_TIMER);
      await this.afterPlaced(placed);
      return placed;
    }
    throw new AppError('NO_MEDIA_CAPACITY', 'no media region has room for this meeting right now; try again shortly');
  }

  /**
   * Asks the region's registry shards in shardsToAsk order (edge/registry/shards.ts): the one the
   * meeting hashes to, then the next; null when neither has a node for it.
   */
  private async placeInRegion(linkId: string, region: RegionId): Promise<PlacedNode | null> {
    for (const shard of shardsToAsk(linkId, regionShardCount(this.env, region))) {
      try {
        const placed = await regionStub(this.env, region, shard).place(linkId, this.room.participants.count('joined'));
        if (placed) return placed;
      } catch (error) {
        // The shard rides in the region text (region#shard), as its RegionDO is named.
        log('error', 'room.place_failed', { linkId, region: shard === 0 ? region : `${region}#${shard}`, error: describeError(error) });
      }
    }
    return null;
  }

  // ── spreading over nodes (cascading, media-spread.ts) ─────────────────────────────────────

  /**
   * The node a newcomer (already seated) is sent to: the placed node unless the meeting spreads.
   * Without `location`, from where the room kept that they joined (the lobby, a lost part).
   */
  nodeForNewcomer(participant: Participant, placed: PlacedNode, location?: ClientLocation): Promise<PlacedNode> {
    return this.spread ? this.spread.nodeForNewcomer(participant.participantId, placed, location) : Promise.resolve(placed);
  }

  /** Someone waits in the lobby: their node is chosen, from where they are, once admitted. */
  rememberLocation(participantId: string, location: ClientLocation | undefined): void {
    if (location) this.spread?.rememberLocation(participantId, location);
  }

  private nodeOf(participantId: string, placed: PlacedNode): PlacedNode {
    return this.spread ? this.spread.nodeOf(participantId, placed) : placed;
  }

  // ── tokens ────────────────────────────────────────────────────────────────────────────────

  /** Mints a media token for the participant on this node. */
  async issue(participant: Participant, node: PlacedNode): Promise<MediaAssignment> {
    const { token, expiresAt } = await this.signer.sign({
      nodeId: node.nodeId,
      participantId: participant.participantId,
      meetingLinkId: this.room.linkId(),
      displayName: participant.displayName,
      perms: permissionsOf(participant.role),
    });
    const turn = edgeConfig(this.env).turn;
    const iceServers = turn ? [await turnCredentials(turn.secret, turn.urls, participant.participantId)] : undefined;
    const media: MediaAssignment = { nodeId: node.nodeId, region: node.region, signalingUrl: node.signalingUrl, token, expiresAt, ...(iceServers ? { iceServers } : {}) };
    this.issued.set(participant.participantId, { role: participant.role, media });
    return media;
  }

  /**
   * The assignment a connecting socket gets: the token issued at join when it is still for this
   * node and role with time to spare (one mint per join), otherwise a fresh one.
   */
  async forConnect(participant: Participant): Promise<MediaAssignment> {
    const node = this.nodeOf(participant.participantId, await this.ensureAssignment([]));
    const held = this.issued.get(participant.participantId);
    const reusable = held && held.media.nodeId === node.nodeId && held.role === participant.role && held.media.expiresAt - Date.now() >= TOKEN_REUSE_MIN_LIFE_MS;
    return reusable ? held.media : this.issue(participant, node);
  }

  /**
   * A token for the participant on their node after their permissions changed (a webinar attendee
   * invited to speak); null while the meeting has no node (their next connect gets one).
   */
  async reissue(participant: Participant): Promise<MediaAssignment | null> {
    const placed = this.room.meeting.assignment();
    return placed ? this.issue(participant, this.nodeOf(participant.participantId, placed)) : null;
  }

  /** The participant is out: nothing issued to them is handed out again. */
  forget(participantId: string): void {
    this.issued.delete(participantId);
    this.spread?.forget(participantId);
  }

  /**
   * media.refresh: the client could not use its token or node. Checks the node with its region
   * first (moving everyone if it is gone), then answers a fresh token — for the participant's own
   * node when they are on a part of the meeting that its region confirms, else placed again.
   */
  async refresh(participant: Participant): Promise<MediaAssignment> {
    await this.confirmAssignment();
    const placed = await this.ensureAssignment([]);
    const node = this.spread ? await this.spread.confirmOwnNode(participant.participantId, placed) : placed;
    return this.issue(participant, node);
  }

  // ── the node ──────────────────────────────────────────────────────────────────────────────

  /**
   * Sends a command to the meeting's node; false when there is no node or it is unreachable.
   * A removal, a mute, the unmute policy and the meeting's close also go to the meeting's other
   * nodes (cascading), which serve participants of it too.
   */
  async commandNode(command: NodeCommand): Promise<boolean> {
    const node = this.room.meeting.assignment();
    if (MEETING_WIDE_COMMANDS.has(command.command)) await this.spread?.commandOthers(node?.nodeId ?? null, command);
    if (!node) return false;
    try {
      const result = await nodeRegistryStub(this.env, node.region, node.nodeId).sendCommand(node.nodeId, command);
      if (!result.ok) log('warn', 'room.node_command_failed', { nodeId: node.nodeId, command: command.command, code: result.code });
      return result.ok;
    } catch (error) {
      log('error', 'room.node_command_failed', { nodeId: node.nodeId, command: command.command, error: describeError(error) });
      return false;
    }
  }

  /**
   * The node now records the meeting. A spread meeting may have nobody on it (its participants
   * all on other nodes): the cascade relays the meeting's media there as to a part.
   */
  recordingOn(node: PlacedNode): void {
    void this.spread?.cascade.serveRecorder({ nodeId: node.nodeId, region: node.region });
  }

  /** Someone took a seat: the node stays. */
  async keepNode(): Promise<void> {
    await this.room.timers.clearIfSet(RELEASE_TIMER);
  }

  /** Nobody is left: the node goes back after RELEASE_GRACE_MS unless someone comes (keepNode). */
  async releaseWhenEmpty(now: number): Promise<void> {
    const node = this.room.meeting.assignment();
    if (this.room.participants.count('joined') > 0 || !node) return;
    await this.room.timers.set(RELEASE_TIMER, now + RELEASE_GRACE_MS);
    try {
      await nodeRegistryStub(this.env, node.region, node.nodeId).emptied(this.room.linkId(), node.nodeId);
    } catch (error) {
      // Only an estimate is left standing: it expires on its own.
      log('error', 'room.unreserve_failed', { nodeId: node.nodeId, error: describeError(error) });
    }
  }

  /** The release deadline passed: gives the node back if the room is still empty. */
  async onReleaseDue(): Promise<void> {
    if (this.room.participants.count('joined') === 0) await this.releaseNode();
  }

  /** Frees the node (the meeting ended, or nobody is left). */
  async releaseNode(): Promise<void> {
    await this.spread?.releaseParts();
    const node = this.room.meeting.assignment();
    if (!node) return;
    this.room.meeting.setAssignment(null);
    try {
      await nodeRegistryStub(this.env, node.region, node.nodeId).release(this.room.linkId(), node.nodeId);
    } catch (error) {
      log('error', 'room.release_failed', { nodeId: node.nodeId, error: describeError(error) });
    }
  }

  /** The meeting is over: the node goes back now, and no token is handed out again. */
  async releaseForGood(): Promise<void> {
    this.issued.clear();
    await this.releaseNode();
    await this.spread?.cascade.forget();
    this.spread?.forgetLocations();
    await this.room.timers.clear(RELEASE_TIMER);
  }

  /**
   * The RegionDO took the meeting off the node — it died, or it drains or is overloaded: forget it
   * and, if people are here, move them to a new one. A client whose session on the old node still
   * works connects to the new node before it lets the old one go (the old node closes the meeting
   * after the RegionDO's grace); one whose session died simply reconnects there.
   */
  async onNodeLost(nodeId: string): Promise<void> {
    const node = this.room.meeting.assignment();
    if (!node || node.nodeId !== nodeId) return this.onPartLost(nodeId);
    this.room.meeting.setAssignment(null);
    await onRecordingNodeLost(this.room);
    await this.moveConnected();
  }

  /**
   * A node serving part of the meeting is gone (the cascade repairs the pipes, RoomDO.onNodeLost):
   * its participants are placed again as newcomers from where they joined — another node of their
   * own region when one takes them, else the meeting's node.
   */
  private async onPartLost(nodeId: string): Promise<void> {
    const moved = new Set(this.spread?.dropNode(nodeId) ?? []);
    if (moved.size === 0) return;
    log('warn', 'room.part_lost', { linkId: this.room.linkId(), nodeId, participants: moved.size });
    const placed = this.room.meeting.assignment();
    if (!placed) return this.moveConnected((participantId) => moved.has(participantId));
    for (const participant of this.connectedAmong((participantId) => moved.has(participantId))) {
      await this.sendAssignment(participant, await this.nodeForNewcomer(participant, placed));
    }
  }

  /** Participants in the meeting with a room socket open, among those `picked` names. */
  private connectedAmong(picked: (participantId: string) => boolean): Participant[] {
    return this.room.participants.withStatus('joined').filter((p) => picked(p.participantId) && this.room.sockets.isConnected(p.participantId));
  }

  private async sendAssignment(participant: Participant, node: PlacedNode): Promise<void> {
    this.room.sockets.sendTo(participant.participantId, { type: 'media.assignment', media: await this.issue(participant, node) });
  }

  /**
   * Everyone connected to the lost node — the placed one unless `moving` says otherwise; those
   * on a part of the meeting stay there — goes to the meeting's (new) node. When no node will take the meeting, they
   * hear so, and the room tries again every REPLACE_RETRY_MS while anyone is here: a node that was
   * only slow to report comes back, and a new one may join the region.
   */
  private async moveConnected(moving?: (participantId: string) => boolean): Promise<void> {
    const onParts = moving ? new Set<string>() : (this.spread?.onParts() ?? new Set<string>());
    moving ??= (participantId) => !onParts.has(participantId);
    const connected = this.connectedAmong(moving);
    if (connected.length === 0) return;
    let next: PlacedNode;
    try {
      next = await this.ensureAssignment([]);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      log('warn', 'room.replace_failed', { linkId: this.room.linkId(), code: error.code, retryInMs: REPLACE_RETRY_MS });
      for (const participant of connected) {
        this.room.sockets.sendTo(participant.participantId, { type: 'error', code: error.code, message: error.message, retryAfterMs: REPLACE_RETRY_MS });
      }
      await this.room.timers.set(REPLACE_TIMER, Date.now() + REPLACE_RETRY_MS);
      return;
    }
    for (const participant of connected) await this.sendAssignment(participant, next);
    log('info', 'room.moved', { linkId: this.room.linkId(), nodeId: next.nodeId, participants: connected.length });
  }

  /** REPLACE_TIMER is due: still without a node, the room tries to place its meeting again. */
  async onReplaceDue(): Promise<void> {
    if (!this.room.meeting.assignment()) await this.moveConnected();
  }

  /**
   * A client could not reach the media node and asks again: check with the node's region that it
   * still serves this meeting. If the region has moved the meeting (the node died and its notice
   * went astray) or cannot answer, everyone here moves to a new node, as on onNodeLost.
   */
  async confirmAssignment(): Promise<void> {
    const current = this.room.meeting.assignment();
    if (!current) return;
    let serving = false;
    try {
      // A question only: asking the region to place would record a second assignment there.
      serving = await nodeRegistryStub(this.env, current.region, current.nodeId).serves(this.room.linkId(), current.nodeId);
    } catch (error) {
      log('error', 'room.confirm_failed', { nodeId: current.nodeId, error: describeError(error) });
    }
    if (serving) return;
    // Its part of the cascade goes too, as on the registry's notice (RoomDO.onNodeLost).
    await this.spread?.letGo(current);
    await this.onNodeLost(current.nodeId);
    log('warn', 'room.node_replaced', { from: current.nodeId, to: this.room.meeting.assignment()?.nodeId ?? null });
  }
}
