/**
 * Diagnostics for bench:ttff (`--diagnose`): a video timeline of a mediasoup worker the bench
 * runs itself (the floor's), from the worker's own trace events — producer and consumer created,
 * consumer resumed, PLIs sent to the sender, keyframes in, the consumer's layers chosen and its
 * first keyframe out — in ms since `reset()`. Shows whether a first frame waits in the worker
 * (for a keyframe, for a layer) or after it (network, decoder).
 */
import type { types } from 'mediasoup';

export interface WorkerTrace {
  /** Starts a new timeline (time 0 now). */
  reset(): void;
  lines(): string[];
}

export function traceWorker(worker: types.Worker): WorkerTrace {
  let started = performance.now();
  let lines: string[] = [];
  const log = (what: string) => lines.push(`${(performance.now() - started).toFixed(0).padStart(5)} ms  ${what}`);
  worker.observer.on('newrouter', (router) =>
    router.observer.on('newtransport', (transport) => {
      transport.observer.on('newproducer', (producer) => {
        if (producer.kind !== 'video') return;
        log('producer created');
        void producer.enableTraceEvent(['keyframe', 'pli', 'fir']);
        producer.on('trace', (trace) => log(`producer ${trace.type} ${trace.direction}`));
      });
      transport.observer.on('newconsumer', (consumer) => {
        if (consumer.kind !== 'video') return;
        const name = `consumer ${consumer.id.slice(0, 6)}`;
        log(`${name} created`);
        void consumer.enableTraceEvent(['keyframe', 'pli', 'fir']);
        consumer.on('trace', (trace) => log(`${name} ${trace.type} ${trace.direction}`));
        consumer.observer.on('resume', () => log(`${name} resumed`));
        consumer.on('layerschange', (layers) => log(`${name} layers ${layers ? `${layers.spatialLayer}/${layers.temporalLayer}` : 'none'}`));
      });
    }),
  );
  return {
    reset() {
      started = performance.now();
      lines = [];
    },
    lines: () => lines,
  };
}
