import type { types } from 'mediasoup';

/**
 * Who holds a consumer paused: the client (it asked, or has not resumed the consumer it was
 * offered yet) and the node (top-N audio: the producer is not among the loudest speakers and not
 * pinned). The consumer flows only when neither does, so a client's `resumeConsumer` never
 * un-silences a speaker the node left out, and the node's choice never overrides a client's pause.
 * The node's pause is not a producer pause: no `consumerPaused` goes to the client for it.
 */
export class ConsumerGate {
  private pausedByClient = true;
  private pausedByNode: boolean;
  /** Changes reach the worker one at a time, each reading the latest wishes. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly consumer: types.Consumer,
    /** Whether the node pauses it from the start (consumers are created paused). */
    pausedByNode: boolean,
  ) {
    this.pausedByNode = pausedByNode;
  }

  /** The client's pause/resume; rejects as mediasoup does (the consumer closed meanwhile). */
  setClientPaused(paused: boolean): Promise<void> {
    this.pausedByClient = paused;
    return this.sync();
  }

  /** The node's top-N choice; failures (the consumer closed meanwhile) are nothing to report. */
  setNodePaused(paused: boolean): Promise<void> {
    if (this.pausedByNode === paused) return Promise.resolve();
    this.pausedByNode = paused;
    return this.sync().catch(() => undefined);
  }

  private sync(): Promise<void> {
    const run = this.chain.then(async () => {
      const wanted = this.pausedByClient || this.pausedByNode;
      // A closed consumer is asked anyway: mediasoup's refusal tells a client it is gone.
      if (!this.consumer.closed && this.consumer.paused === wanted) return;
      await (wanted ? this.consumer.pause() : this.consumer.resume());
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}
