import type { Producer, ProducerTraceEventData, ProducerTraceEventType } from 'mediasoup/types';

/** How many subscribers want each trace type, per producer. */
const wanted = new WeakMap<Producer, Map<ProducerTraceEventType, number>>();

/** Asks the worker for the union of what every subscriber wants (requests apply in order). */
function applyWanted(producer: Producer): void {
  if (producer.closed) return;
  const types = [...(wanted.get(producer) ?? new Map<ProducerTraceEventType, number>())].filter(([, count]) => count > 0).map(([type]) => type);
  producer.enableTraceEvent(types).catch(() => undefined);
}

/**
 * Subscribes to a producer's trace events of these types. mediasoup keeps one set of trace types
 * per producer, replaced by every enableTraceEvent: subscriptions add up here instead, so one
 * (the recorder following key frames) does not switch off another (a test timing packets).
 */
export function traceProducer(producer: Producer, types: readonly ProducerTraceEventType[], listener: (trace: ProducerTraceEventData) => void): () => void {
  const counts = wanted.get(producer) ?? new Map<ProducerTraceEventType, number>();
  wanted.set(producer, counts);
  for (const type of types) counts.set(type, (counts.get(type) ?? 0) + 1);
  const onTrace = (trace: ProducerTraceEventData) => {
    if (types.includes(trace.type)) listener(trace);
  };
  producer.on('trace', onTrace);
  applyWanted(producer);
  let subscribed = true;
  return () => {
    if (!subscribed) return;
    subscribed = false;
    producer.off('trace', onTrace);
    for (const type of types) counts.set(type, (counts.get(type) ?? 1) - 1);
    applyWanted(producer);
  };
}
