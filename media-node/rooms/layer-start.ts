import type { types } from 'mediasoup';

/**
 * Starts a simulcast consumer on its lowest layer and raises it once video flows.
 *
 * Why: while a publisher's send estimate ramps up (its first seconds, or its first seconds on a
 * new node after a failover), Chrome starts its top simulcast layer and may drop it again. A
 * consumer aimed at the top layer then waits for a key frame that never comes, until mediasoup
 * declares the layer inactive (1.5 s without packets) and falls back: a fresh viewer, a moved
 * room or a recording sees black for that long. The lowest layer is always sent. Once a frame of
 * it has been forwarded mediasoup keeps forwarding that layer while it waits for the higher
 * layer's key frame, so raising the preference afterwards costs no gap.
 */

/** A producer younger than this may still start and drop layers (libwebrtc's ramp-up). */
export const YOUNG_PRODUCER_MS = 10_000;
/** Raised anyway after this long resumed without a forwarded frame (a silent sender). */
export const RAISE_ANYWAY_MS = 5_000;

type Layers = types.ConsumerLayers;

/** The part of a mediasoup Consumer used here (tests hand in a real one). */
export type LayeredConsumer = Pick<types.Consumer, 'type' | 'closed' | 'paused' | 'preferredLayers' | 'currentLayers' | 'setPreferredLayers' | 'on' | 'off' | 'observer'>;

export class LayerStart {
  /** Layers to use once flowing: the consumer's own default (the highest) until someone asks for others. */
  private wanted: Layers | undefined;
  private starting = false;
  private timer: NodeJS.Timeout | null = null;
  /** When the producer stops being young: from then on the top layer is safe to aim at. */
  private settlesAt = 0;
  private readonly onLayers = (layers?: Layers) => {
    if (layers) void this.raise();
  };
  /** Paused (a camera off the viewer's grid page), nothing is forwarded, so no frame can end the start. */
  private readonly onPausedChange = () => this.armTimer();

  constructor(
    private readonly consumer: LayeredConsumer,
    private readonly raiseAnywayMs = RAISE_ANYWAY_MS,
  ) {
    this.wanted = consumer.preferredLayers;
  }

  /**
   * Call before the consumer is resumed. `producerAgeMs`: how long its producer has been
   * published (0 for "treat as young": a recording cannot afford the fallback even for an older one).
   */
  async startLow(producerAgeMs: number): Promise<void> {
    const { consumer } = this;
    const top = consumer.preferredLayers;
    if (consumer.closed || consumer.type !== 'simulcast' || !top || top.spatialLayer === 0 || producerAgeMs >= YOUNG_PRODUCER_MS || consumer.currentLayers) return;
    this.starting = true;
    this.settlesAt = Date.now() + YOUNG_PRODUCER_MS - producerAgeMs;
    consumer.on('layerschange', this.onLayers);
    consumer.observer.on('pause', this.onPausedChange);
    consumer.observer.on('resume', this.onPausedChange);
    consumer.observer.once('close', () => this.finish());
    this.armTimer();
    // A consumer closed meanwhile has nothing left to start.
    await consumer.setPreferredLayers({ spatialLayer: 0, ...(top.temporalLayer !== undefined ? { temporalLayer: top.temporalLayer } : {}) }).catch(() => this.finish());
  }

  /** Still on the low start layer (tests, logs). */
  get isStarting(): boolean {
    return this.starting;
  }

  /** The layers someone wants (the client's tile size): applied now, or once the start is over. */
  async prefer(layers: Layers): Promise<void> {
    this.wanted = layers;
    if (!this.starting) await this.consumer.setPreferredLayers(layers);
  }

  private async raise(): Promise<void> {
    if (!this.starting) return;
    this.finish();
    if (this.consumer.closed || !this.wanted) return;
    await this.consumer.setPreferredLayers(this.wanted).catch(() => undefined); // closed meanwhile
  }

  /**
   * Resumed: raised anyway RAISE_ANYWAY_MS on (its sender may be silent). Paused: raised once the
   * producer is no longer young, and not before — raised earlier, a camera that comes on screen
   * while its publisher still ramps up would start on a layer that may be gone.
   */
  private armTimer(): void {
    if (!this.starting) return;
    if (this.timer) clearTimeout(this.timer);
    const delay = this.consumer.paused ? Math.max(0, this.settlesAt - Date.now()) : this.raiseAnywayMs;
    this.timer = setTimeout(() => void this.raise(), delay);
    this.timer.unref();
  }

  private finish(): void {
    this.starting = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.consumer.off('layerschange', this.onLayers);
    this.consumer.observer.off('pause', this.onPausedChange);
    this.consumer.observer.off('resume', this.onPausedChange);
  }
}
