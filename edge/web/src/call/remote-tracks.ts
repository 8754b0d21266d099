import type { types } from 'mediasoup-client';
import { assertNever, type ConsumerInfo, type MediaNotification, type MediaSource } from '../wire.js';
import type { MediaSignaling } from './media-signaling.js';

/** A remote track this page receives, with who sent it and whether the sender paused it. */
export interface RemoteTrack {
  consumer: types.Consumer;
  participantId: string;
  displayName: string;
  kind: 'audio' | 'video';
  source: MediaSource;
  producerPaused: boolean;
  /** Simulcast layer last asked for (null: the node's default, the highest). */
  preferredLayer: number | null;
  /** Spatial layer the node forwards now (null: none yet, or not simulcast). Drops with bandwidth. */
  spatialLayer: number | null;
  /** The page holds it paused at the node (a camera whose tile is off the grid page): nothing is forwarded. */
  pausedByPage: boolean;
}

/** The same person's same source, whichever consumer carries it (ids differ per producer and node). */
export function trackKey(remote: Pick<RemoteTrack, 'participantId' | 'source'>): string {
  return `${remote.participantId}/${remote.source}`;
}

export interface RemoteTrackEvents {
  remoteAdded(remote: RemoteTrack): void;
  remoteRemoved(remote: RemoteTrack): void;
  remoteChanged(remote: RemoteTrack): void;
  /** Asked before a new camera is resumed: true leaves it paused at the node (its tile is not on screen). */
  keepPaused?(remote: RemoteTrack): boolean;
  /** The node confirmed it forwards this consumer (its resume answered): a join's timeline mark. */
  resumed?(remote: RemoteTrack): void;
  /** The node offered a consumer (its newConsumer arrived, not yet negotiated): a timeline mark. */
  offered?(kind: 'audio' | 'video'): void;
}

/** How long the page waits for a burst's next frame (they come back to back) before negotiating what it holds. */
export const BURST_WAIT_MS = 250;

const CONSUMER_NOTIFICATIONS = ['newConsumer', 'consumerClosed', 'consumerPaused', 'consumerResumed', 'consumerLayersChanged'] as const;

/** The node's notifications about what this page receives. */
export type ConsumerNotification = Extract<MediaNotification, { notification: (typeof CONSUMER_NOTIFICATIONS)[number] }>;

export function isConsumerNotification(notification: MediaNotification): notification is ConsumerNotification {
  return (CONSUMER_NOTIFICATIONS as readonly string[]).includes(notification.notification);
}

/**
 * What one media session receives: a consumer per remote track on the receive transport, kept
 * in step with the node's notifications, handled one at a time in arrival order.
 */
export class RemoteTracks {
  private readonly remotes = new Map<string, RemoteTrack>();
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  /** Offers of a burst the node has not finished sending (`more`): submitted together at its end. */
  private burst: ConsumerInfo[] = [];
  private burstTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly transport: types.Transport,
    private readonly signaling: MediaSignaling,
    private readonly events: RemoteTrackEvents,
  ) {}

  list(): RemoteTrack[] {
    return [...this.remotes.values()];
  }

  onNotification(notification: ConsumerNotification): void {
    if (this.closed) return;
    // Nothing overtakes an offer: whatever else arrives ends a burst first.
    if (notification.notification !== 'newConsumer') this.endBurst();
    switch (notification.notification) {
      case 'newConsumer': {
        const info = notification.data;
        this.events.offered?.(info.kind);
        this.burst.push(info);
        if (!info.more) return this.endBurst();
        // The burst's frames come back to back; should the next never come, its offers still go.
        this.stopBurstTimer();
        this.burstTimer = setTimeout(() => this.endBurst(), BURST_WAIT_MS);
        return;
      }
      case 'consumerClosed':
        this.update(notification.data.consumerId, (remote) => {
          this.remotes.delete(remote.consumer.id);
          remote.consumer.close();
          this.events.remoteRemoved(remote);
        });
        return;
      case 'consumerPaused':
      case 'consumerResumed': {
        const paused = notification.notification === 'consumerPaused';
        this.update(notification.data.consumerId, (remote) => {
          remote.producerPaused = paused;
          this.events.remoteChanged(remote);
        });
        return;
      }
      case 'consumerLayersChanged': {
        const { spatialLayer } = notification.data;
        this.update(notification.data.consumerId, (remote) => {
          remote.spatialLayer = spatialLayer;
          this.events.remoteChanged(remote);
        });
        return;
      }
      default:
        assertNever(notification, 'consumer notification');
    }
  }

  /** Asks the node to stop forwarding every track (a move switched away from this session), then closes them. */
  pauseAndClose(): void {
    for (const remote of this.remotes.values()) this.signaling.request('pauseConsumer', { consumerId: remote.consumer.id }).catch(() => undefined);
    this.close();
  }

  /** Closes every consumer and says so for each. */
  close(): void {
    this.closed = true;
    this.burst = [];
    this.stopBurstTimer();
    for (const remote of this.remotes.values()) {
      remote.consumer.close();
      this.events.remoteRemoved(remote);
    }
    this.remotes.clear();
  }

  /**
   * Submits the held offers in one go, finished in order: mediasoup-client negotiates the consumers
   * submitted in one task in one renegotiation (a join's burst, or every track after a failover),
   * and no notification overtakes its newConsumer.
   */
  private endBurst(): void {
    this.stopBurstTimer();
    for (const info of this.burst.splice(0)) {
      const creating = this.submit(info);
      creating.catch(() => undefined); // awaited (and reported) in turn below
      this.chain = this.chain.then(() => this.added(info, creating)).catch((error: unknown) => console.warn('consume failed', error));
    }
  }

  private stopBurstTimer(): void {
    if (this.burstTimer) clearTimeout(this.burstTimer);
    this.burstTimer = null;
  }

  /** After the consumes queued before it, so a notification never overtakes its newConsumer. */
  private update(consumerId: string, change: (remote: RemoteTrack) => void): void {
    this.chain = this.chain.then(() => {
      const remote = this.remotes.get(consumerId);
      if (remote && !this.closed) change(remote);
    });
  }

  /** Hands the consumer to the receive transport now (null: this session is closed). */
  private submit(info: ConsumerInfo): Promise<types.Consumer | null> {
    if (this.closed) return Promise.resolve(null);
    return this.transport.consume({
      id: info.consumerId,
      producerId: info.producerId,
      kind: info.kind,
      rtpParameters: info.rtpParameters as types.RtpParameters,
      streamId: `${info.participantId}-${info.source}`,
    });
  }

  private async added(info: ConsumerInfo, creating: Promise<types.Consumer | null>): Promise<void> {
    const consumer = await creating;
    if (!consumer) return;
    if (this.closed) {
      consumer.close();
      return;
    }
    const remote: RemoteTrack = {
      consumer,
      participantId: info.participantId,
      displayName: info.displayName,
      kind: info.kind,
      source: info.source,
      producerPaused: info.producerPaused,
      preferredLayer: null,
      spatialLayer: null,
      pausedByPage: false,
    };
    // A camera off the grid page is never resumed: not one frame of it crosses the network.
    const held = info.source === 'camera' && (this.events.keepPaused?.(remote) ?? false);
    remote.pausedByPage = held;
    this.remotes.set(consumer.id, remote);
    this.events.remoteAdded(remote);
    // The page may have decided meanwhile (it laid the new tile out): a held one it resumed itself.
    if (held || remote.pausedByPage) return;
    // Not awaited: the next consumer's negotiation need not wait for this round trip.
    this.signaling
      .request('resumeConsumer', { consumerId: consumer.id })
      .then(() => this.events.resumed?.(remote))
      .catch((error: unknown) => console.warn('resumeConsumer failed', error));
  }
}
