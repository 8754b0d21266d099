import { z } from 'zod';
import { regionIdSchema } from '../../schema/regions.js';
import { assertNever, nodeIdSchema } from '../../schema/wire/common.js';
import type { NodeCommand, NodeCommandData, NodeEvent, PipeEnd, RelayedProducer } from '../../schema/wire/node-control.js';
import type { RpcResult } from '../../schema/wire/socket-frame.js';
import { nodeRegistryStub } from '../durable-objects.js';
import { describeError, log } from '../http/log.js';
import { CascadeGraph, type CascadeProducer } from './cascade-graph.js';

/** The node an event came from, as its RegionDO names it. */
export const nodeRefSchema = z.object({ nodeId: nodeIdSchema, region: regionIdSchema });
export type NodeRef = z.infer<typeof nodeRefSchema>;

export type CascadeEvent = Extract<NodeEvent, { event: 'participantJoined' | 'producerOpened' | 'producerClosed' | 'producerPaused' | 'roomClosed' }>;

/**
 * How long the relay of a participant's old producer runs on after they republished the source on
 * another node of the meeting (they moved: a drain, an overload). Viewers who see them through the
 * relay need that long to negotiate the new track and decode its first key frame; the relay closing
 * first left their tile frozen until then. Drills (npm run bench:failover -- --faults drain, 5
 * rounds each, back to back): at 3 s, 4 tiles lost their relay before the successor played and the
 * longest gaps were 1.0–2.7 s (median 2.2 s); at 10 s, none did, 0.9–2.1 s (median 1.05 s). (An
 * earlier trial of 10 s slowed round after round: that was the leak fixed in bdda3e0, old sessions
 * left encoding.) A viewer that has the new one pauses the old one at its node, so the grace costs
 * the pipe only. The sender's old session sends on for longer than this anyway (RETIRE_AFTER_MS,
 * edge/web/src/call/media-link.ts). The page shows one of the two at a time
 * (edge/web/src/call/track-swap.ts). In memory: a Durable Object evicted meanwhile leaves the relay
 * until the leaving node's room closes (MIGRATION_GRACE_MS, 20 s, which bounds this grace).
 */
export const SUPERSEDED_GRACE_MS = 10_000;

/** A cascade step the node refused or did not answer: the relay it belongs to stops there. */
class StepFailed extends Error {}

/**
 * The meeting's media over several nodes (docs/cascading.md, "Orchestration protocol"): learns
 * from node events which node holds which producer and which nodes have participants, and asks
 * nodes to open, connect and close pipes and to relay producers — once per node pair and once
 * per producer and node, however many consume it there. Work runs one step at a time in event
 * order (a chain in memory), so two events never race for the same pipe; node events return at
 * once and the chain runs on (ctx.waitUntil), so a node's answers are never stuck behind it.
 */
export class MeetingCascade {
  readonly graph: CascadeGraph;
  private chain: Promise<void> = Promise.resolve();
  /**
   * Producers whose close arrived before their opening (events of one node may overtake each
   * other on their way through the RegionDO): their late opening is not relayed. In memory: a
   * lost entry costs one relay that the node refuses.
   */
  private readonly closedEarly = new Set<string>();
  /**
   * Producers republished elsewhere whose relays close after SUPERSEDED_GRACE_MS: never relayed
   * anew meanwhile (a node reached later gets only the newer one). In memory, as the timer is.
   */
  private readonly superseded = new Set<string>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
    private readonly meetingId: () => string,
    /** The node placement gave the meeting (it serves the meeting without being admitted). */
    private readonly placedNodeId: () => string | null,
  ) {
    this.graph = new CascadeGraph(ctx.storage.sql);
  }

  /** Queues the event's work behind what is already queued; resolves when it is done. */
  onEvent(event: CascadeEvent, from: NodeRef): Promise<void> {
    return this.enqueue(() => this.apply(event, from));
  }

  /** The node is gone (failover): its part closes as on roomClosed, and its producers with it. */
  onNodeLost(nodeId: string): Promise<void> {
    return this.enqueue(async () => {
      this.graph.dismiss(nodeId);
      await this.partGone(nodeId);
    });
  }

  /**
   * The node is leaving the meeting but still runs (drain, overload; make-before-break): no relay
   * goes to it any more, while what it relays stays until its room closes (its participants moved
   * away, or the registry's grace ended) or it is lost. A participant's producer republished on
   * the node they moved to replaces their old one in the relays (superseded, apply).
   */
  onNodeLeaving(nodeId: string): Promise<void> {
    return this.enqueue(async () => this.graph.dismiss(nodeId));
  }

  /**
   * The room sends participants to this node too (a spill or a far participant's region): its
   * events count from now on. Only the placed node and admitted ones open relays, so a node the
   * meeting is moving away from (make-before-break) is never cascaded to.
   */
  admit(node: NodeRef): Promise<void> {
    return this.enqueue(async () => this.graph.admit(node.nodeId, node.region));
  }

  /**
   * The meeting's node records with nobody of the meeting on it (they are all on other nodes; the
   * node opened the room for the recording): every producer is relayed to it as to a part, and
   * what opens later follows. Its roomClosed, once the recording let go, ends that as for a part.
   */
  serveRecorder(node: NodeRef): Promise<void> {
    return this.enqueue(async () => {
      if (this.graph.markNode(node.nodeId, node.region, true)) await this.fillNode(node.nodeId);
    });
  }

  private serves(nodeId: string): boolean {
    return nodeId === this.placedNodeId() || this.graph.isAdmitted(nodeId);
  }

  /** Resolves once everything queued so far is done (tests, and the meeting's end). */
  settled(): Promise<void> {
    return this.chain;
  }

  /**
   * Nodes serving the meeting besides `except` — with participants connected, or admitted (a
   * participant may be on the way) — for the meeting-wide commands.
   */
  otherNodes(except: string | null): NodeRef[] {
    const byId = new Map<string, NodeRef>();
    for (const node of [...this.graph.nodes(), ...this.graph.admitted()]) if (node.nodeId !== except) byId.set(node.nodeId, { nodeId: node.nodeId, region: node.region });
    return [...byId.values()];
  }

  /** The meeting ended: the graph is forgotten (each node's room closes with closeMeeting). */
  forget(): Promise<void> {
    return this.enqueue(async () => this.graph.clear());
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const run = this.chain.then(work).catch((error: unknown) => {
      if (!(error instanceof StepFailed)) log('error', 'room.cascade_step_failed', { nodeId: '-', command: '-', code: 'INTERNAL', error: describeError(error) });
    });
    this.chain = run;
    this.ctx.waitUntil(run);
    return run;
  }

  private async apply(event: CascadeEvent, from: NodeRef): Promise<void> {
    const opening = event.event === 'participantJoined' || event.event === 'producerOpened';
    if (opening && !this.serves(from.nodeId)) return this.ignored(from.nodeId, event.event, 'not a node of this meeting');
    switch (event.event) {
      case 'participantJoined':
        // Every join checks the node lacks nothing (a relay that failed earlier is tried again);
        // what it holds already is not relayed twice.
        this.graph.markNode(from.nodeId, from.region, true);
        return this.fillNode(from.nodeId);
      case 'producerOpened': {
        if (this.graph.markNode(from.nodeId, from.region, true)) await this.fillNode(from.nodeId);
        if (this.closedEarly.delete(event.producerId)) return;
        const producer: CascadeProducer = { ...event, originNodeId: from.nodeId };
        this.graph.addProducer(producer);
        for (const node of this.graph.nodes()) if (node.roomOpen && node.nodeId !== from.nodeId && this.serves(node.nodeId)) await this.relayIfMissing(producer, node.nodeId);
        // Make-before-break for the viewers: the new copy is on its way before the old one closes.
        return this.closeSuperseded(producer);
      }
      case 'producerPaused':
        return this.mirrorPause(event.producerId, event.paused, from.nodeId);
      case 'producerClosed':
        return this.closeProducer(event.producerId, from.nodeId);
      case 'roomClosed':
        return this.partGone(from.nodeId);
      default:
        return assertNever(event, 'cascade event');
    }
  }

  /**
   * The participant published this source again on a node of the meeting while their older
   * producer of it still comes from a node the meeting is leaving (make-before-break): the older
   * one's relays close SUPERSEDED_GRACE_MS later, once viewers have the new one, so nobody
   * elsewhere sees or hears them twice for long. Viewers on the leaving node keep its local
   * original until they move too.
   */
  private closeSuperseded(producer: CascadeProducer): void {
    const superseded = this.graph
      .producersOf(producer.participantId)
      .filter((older) => older.producerId !== producer.producerId && older.source === producer.source && !this.serves(older.originNodeId));
    if (superseded.length === 0) return;
    for (const older of superseded) this.superseded.add(older.producerId);
    const later = new Promise((resolve) => setTimeout(resolve, SUPERSEDED_GRACE_MS)).then(() =>
      this.enqueue(async () => {
        // The new one closed meanwhile (the move failed: they send from the old node again): the old one stays.
        const replaced = this.graph.producer(producer.producerId) !== null;
        for (const older of superseded) {
          this.superseded.delete(older.producerId);
          // Closed meanwhile at its origin (its node's room closed), or the meeting ended: nothing left to do.
          if (replaced && this.graph.producer(older.producerId) && !this.serves(older.originNodeId)) await this.closeProducer(older.producerId, older.originNodeId);
        }
      }),
    );
    this.ctx.waitUntil(later);
  }

  /** A node's part just opened: every producer of the meeting held elsewhere is relayed to it. */
  private async fillNode(nodeId: string): Promise<void> {
    for (const producer of this.graph.producers()) await this.relayIfMissing(producer, nodeId);
  }

  private async relayIfMissing(producer: CascadeProducer, target: string): Promise<void> {
    if (this.graph.holders(producer).includes(target) || this.superseded.has(producer.producerId)) return;
    try {
      await this.relay(producer, target);
    } catch (error) {
      if (!(error instanceof StepFailed)) throw error;
      // Logged by the step; the node's next join, or the next producer, tries again.
    }
  }

  /**
   * Relays the producer to `target`: from a holder in the target's region (one crossing per
   * region; a star inside it), else from its origin, over their pipe (opened on first use). A copy
   * on a node the meeting is leaving (drain, overload) feeds nobody new: that node's room closes
   * soon, and would cut the relay a second time (the origin itself is the producer's only source).
   */
  private async relay(producer: CascadeProducer, target: string): Promise<void> {
    const targetRegion = this.graph.node(target)?.region;
    const inRegion = this.graph.holders(producer).find((holder) => holder !== target && this.graph.node(holder)?.region === targetRegion && (holder === producer.originNodeId || this.serves(holder)));
    const source = inRegion ?? producer.originNodeId;
    await this.ensurePipe(source, target);
    const meetingId = this.meetingId();
    const { producerId } = producer;
    try {
      const sent = await this.step(source, { command: 'cascadeSendProducer', meetingId, peerNodeId: target, producerId });
      const relayed: RelayedProducer = dataOf(sent, 'relayedProducer', source).producer;
      await this.step(target, { command: 'cascadeReceiveProducer', meetingId, peerNodeId: source, producer: relayed });
    } catch (error) {
      // Undone on both ends: the source's pipe consumer would stream the producer to a node that
      // takes nothing of it for as long as the pipe lives, and a receive that did succeed
      // unanswered would refuse the next try as a loop.
      await this.tryStep(source, { command: 'cascadeCloseProducer', meetingId, peerNodeId: target, producerId });
      await this.tryStep(target, { command: 'cascadeCloseProducer', meetingId, peerNodeId: source, producerId });
      throw error;
    }
    this.graph.addCopy({ producerId: producer.producerId, nodeId: target, viaNodeId: source });
    log('info', 'room.cascade_relayed', { producerId: producer.producerId, from: source, to: target });
  }

  /**
   * Opens both ends of the a↔b pipe (in parallel), then connects each to the other's end. Work cut
   * short is undone: an end left open — connected, perhaps, to an end whose room is gone — would
   * be answered again at the next try and refuse the peer's new end (CONFLICT), for good.
   */
  private async ensurePipe(a: string, b: string): Promise<void> {
    if (this.graph.hasPipe(a, b)) return;
    const meetingId = this.meetingId();
    const opened = new Set<string>();
    const open = (nodeId: string, peerNodeId: string) =>
      this.step(nodeId, { command: 'cascadeOpenPipe', meetingId, peerNodeId }).then((data) => {
        opened.add(nodeId);
        return dataOf(data, 'pipeEnd', nodeId).pipe;
      });
    try {
      const [endA, endB] = await both(open(a, b), open(b, a));
      await both(this.connect(a, b, endB), this.connect(b, a, endA));
    } catch (error) {
      for (const [nodeId, peerNodeId] of [[a, b], [b, a]] as const) {
        if (opened.has(nodeId)) await this.tryStep(nodeId, { command: 'cascadeClosePipe', meetingId, peerNodeId });
      }
      throw error;
    }
    this.graph.addPipe(a, b);
  }

  private connect(nodeId: string, peerNodeId: string, remote: PipeEnd): Promise<NodeCommandData | undefined> {
    return this.step(nodeId, { command: 'cascadeConnectPipe', meetingId: this.meetingId(), peerNodeId, remote });
  }

  /** A pause or resume at the producer's origin reaches every copy, nearest the origin first. */
  private async mirrorPause(producerId: string, paused: boolean, from: string): Promise<void> {
    const producer = this.graph.producer(producerId);
    if (!producer || producer.originNodeId !== from) return this.ignored(from, 'producerPaused', 'not a producer of that node');
    this.graph.setPaused(producerId, paused);
    for (const copy of this.graph.copiesOf(producerId)) {
      await this.tryStep(copy.nodeId, { command: 'cascadeSetProducerPaused', meetingId: this.meetingId(), peerNodeId: copy.viaNodeId, producerId, paused });
    }
  }

  /** The producer closed at its origin: each copy's relay closes on both ends of its pipe. */
  private async closeProducer(producerId: string, from: string, goneNode: string | null = null): Promise<void> {
    const producer = this.graph.producer(producerId);
    if (!producer && this.closedEarly.size < 1_000) this.closedEarly.add(producerId);
    if (!producer || producer.originNodeId !== from) return this.ignored(from, 'producerClosed', 'not a producer of that node');
    const meetingId = this.meetingId();
    // Farthest copies first: a copy that feeds others closes after them.
    for (const copy of this.graph.copiesOf(producerId).reverse()) {
      if (copy.nodeId !== goneNode) await this.tryStep(copy.nodeId, { command: 'cascadeCloseProducer', meetingId, peerNodeId: copy.viaNodeId, producerId });
      if (copy.viaNodeId !== goneNode) await this.tryStep(copy.viaNodeId, { command: 'cascadeCloseProducer', meetingId, peerNodeId: copy.nodeId, producerId });
    }
    this.graph.dropProducer(producerId);
  }

  /**
   * A node's part of the meeting is gone (its last local participant left: roomClosed; or the
   * node was lost) — never the meeting. Its peers close their pipe to it, and every copy that came
   * through it is relayed again from another holder (the repair).
   */
  private async partGone(nodeId: string): Promise<void> {
    if (!this.graph.node(nodeId)) return;
    // Its participants' producers went with its room (their close events may still be on the way).
    for (const producer of this.graph.producers()) {
      if (producer.originNodeId === nodeId) await this.closeProducer(producer.producerId, nodeId, nodeId);
    }
    const orphaned = this.graph.copiesVia(nodeId);
    const peers = this.graph.pipePeers(nodeId);
    this.graph.dropNode(nodeId);
    for (const orphan of orphaned) this.graph.dropCopy(orphan.producerId, orphan.nodeId);
    for (const peer of peers) await this.tryStep(peer, { command: 'cascadeClosePipe', meetingId: this.meetingId(), peerNodeId: nodeId });
    for (const orphan of orphaned) {
      const producer = this.graph.producer(orphan.producerId);
      if (producer && this.graph.node(orphan.nodeId)?.roomOpen) await this.relayIfMissing(producer, orphan.nodeId);
    }
  }

  /** Sends the command to the node (through its region's RegionDO) and answers its data; StepFailed when refused. */
  private async step(nodeId: string, command: NodeCommand): Promise<NodeCommandData | undefined> {
    const node = this.graph.node(nodeId);
    const fail = (code: string, error: string): never => {
      log('warn', 'room.cascade_step_failed', { nodeId, command: command.command, code, error });
      throw new StepFailed(`${command.command} on ${nodeId}: ${code}`);
    };
    if (!node) return fail('NODE_NOT_FOUND', 'not a node of this meeting');
    const outcome = await this.ask(node, command).catch((error: unknown) => fail('INTERNAL', describeError(error)));
    if (outcome.ok) return outcome.value.data;
    return fail(outcome.code, outcome.message);
  }

  private async ask(node: NodeRef, command: NodeCommand): Promise<RpcResult<{ data?: NodeCommandData }>> {
    return nodeRegistryStub(this.env, node.region, node.nodeId).sendCommandAndWait(node.nodeId, command);
  }

  /** A step whose failure does not stop the ones after it (closing: the node may be gone already). */
  private async tryStep(nodeId: string, command: NodeCommand): Promise<void> {
    try {
      await this.step(nodeId, command);
    } catch (error) {
      if (!(error instanceof StepFailed)) throw error;
    }
  }

  private ignored(nodeId: string, event: string, why: string): void {
    log('info', 'room.cascade_event_ignored', { nodeId, nodeEvent: event, why });
  }
}

function dataOf<K extends NodeCommandData['kind']>(data: NodeCommandData | undefined, kind: K, nodeId: string): Extract<NodeCommandData, { kind: K }> {
  if (data?.kind !== kind) {
    log('warn', 'room.cascade_step_failed', { nodeId, command: kind, code: 'MEDIA_ERROR', error: `answer without ${kind}` });
    throw new StepFailed(`node ${nodeId} answered no ${kind}`);
  }
  return data as Extract<NodeCommandData, { kind: K }>;
}

/** Both results, once both settled (a step still in flight never overtakes the undo after a failure); the first failure otherwise. */
async function both<A, B>(first: Promise<A>, second: Promise<B>): Promise<[A, B]> {
  const [one, two] = await Promise.allSettled([first, second]);
  if (one.status === 'rejected') throw one.reason;
  if (two.status === 'rejected') throw two.reason;
  return [one.value, two.value];
}
