import type { types } from 'mediasoup';

interface TransportObjects {
  router: types.Router;
  producers: Set<types.Producer>;
  consumers: Set<types.Consumer>;
}

/**
 * Counts of one worker's live mediasoup objects, for placement, heartbeats and metrics (never a
 * worker dump). Each count is taken from the objects themselves, not kept as a tally: an object
 * counts while it and everything that owns it is open. mediasoup can hand back an object created
 * on a transport that closed while the request was in flight; such an object is never counted,
 * so a race cannot make the node look full.
 */
export class ObjectCounts {
  private readonly routerSet = new Set<types.Router>();
  private readonly byTransport = new Map<types.Transport, TransportObjects>();

  watch(worker: types.Worker): void {
    worker.observer.on('newrouter', (router) => {
      if (router.closed) return;
      this.routerSet.add(router);
      router.observer.once('close', () => this.routerSet.delete(router));
      router.observer.on('newtransport', (transport) => this.watchTransport(router, transport));
    });
  }

  private watchTransport(router: types.Router, transport: types.Transport): void {
    if (transport.closed || router.closed) return;
    const objects: TransportObjects = { router, producers: new Set(), consumers: new Set() };
    this.byTransport.set(transport, objects);
    transport.observer.once('close', () => this.byTransport.delete(transport));
    transport.observer.on('newproducer', (producer) => {
      if (adopt(objects.producers, producer, transport)) producer.observer.once('close', () => objects.producers.delete(producer));
    });
    transport.observer.on('newconsumer', (consumer) => {
      if (adopt(objects.consumers, consumer, transport)) consumer.observer.once('close', () => objects.consumers.delete(consumer));
    });
  }

  get routers(): number {
    let count = 0;
    for (const router of this.routerSet) if (!router.closed) count++;
    return count;
  }

  get transports(): number {
    let count = 0;
    for (const [transport, { router }] of this.byTransport) if (!transport.closed && !router.closed) count++;
    return count;
  }

  get producers(): number {
    return this.countOpen('producers');
  }

  get consumers(): number {
    return this.countOpen('consumers');
  }

  private countOpen(kind: 'producers' | 'consumers'): number {
    let count = 0;
    for (const [transport, objects] of this.byTransport) {
      if (transport.closed || objects.router.closed) continue;
      for (const object of objects[kind]) if (!object.closed) count++;
    }
    return count;
  }
}

/** Remembers a new object (until it closes); one created on an already-closed transport is ignored. */
function adopt<T extends { closed: boolean }>(set: Set<T>, object: T, transport: types.Transport): boolean {
  if (object.closed || transport.closed) return false;
  set.add(object);
  return true;
}
