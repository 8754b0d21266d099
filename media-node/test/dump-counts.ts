import type { MediaNode } from '../node.js';

/** Every count zero: what a worker holds once every meeting on it has closed. */
export const EMPTY_DUMP = { routers: 0, webRtcServerTransports: 0, iceUsernameFragments: 0, tupleHashes: 0, transports: 0, producers: 0, consumers: 0, rtpObservers: 0 };

/** Counts of every mediasoup object left in the node's workers, from mediasoup's own dumps. */
export async function dumpCounts(node: MediaNode) {
  const counts = { ...EMPTY_DUMP };
  for (const slot of node.pool.slots) {
    const worker = await slot.worker.dump();
    counts.routers += worker.routerIds.length;
    const server = await slot.webRtcServer.dump();
    counts.webRtcServerTransports += server.webRtcTransportIds.length;
    counts.iceUsernameFragments += server.localIceUsernameFragments.length;
    counts.tupleHashes += server.tupleHashes.length;
  }
  for (const room of node.rooms.rooms.values()) {
    for (const place of room.routers) {
      const router = await place.router.dump();
      counts.transports += router.transportIds.length;
      counts.producers += router.mapProducerIdConsumerIds.length;
      counts.consumers += router.mapConsumerIdProducerId.length;
      counts.rtpObservers += router.rtpObserverIds.length;
    }
  }
  return counts;
}

