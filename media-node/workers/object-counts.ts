import type { types } from 'mediasoup';

/**
 * Live counts of one worker's mediasoup objects, kept from mediasoup's observer events so
 * placement, heartbeats and metrics never have to dump the worker.
 */
export class ObjectCounts {
  routers = 0;
  transports = 0;
  producers = 0;
  consumers = 0;

  watch(worker: types.Worker): void {
    worker.observer.on('newrouter', (router) => {
      this.routers++;
      router.observer.once('close', () => this.routers--);
      router.observer.on('newtransport', (transport) => this.watchTransport(transport));
    });
  }

  private watchTransport(transport: types.Transport): void {
    this.transports++;
    transport.observer.once('close', () => this.transports--);
    transport.observer.on('newproducer', (producer) => {
      this.producers++;
      producer.observer.once('close', () => this.producers--);
    });
    transport.observer.on('newconsumer', (consumer) => {
      this.consumers++;
      consumer.observer.once('close', () => this.consumers--);
    });
  }
}
