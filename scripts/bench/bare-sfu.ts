/**
 * The reference for the fan-out and time-to-first-frame benchmarks: one bare mediasoup worker
 * (the same binary the media node uses) doing the same forwarding, behind the smallest
 * signaling that speaks the node's wire protocol (so the same test peers and mediasoup-client
 * pages talk to both). No tokens, no permissions, no observers, no stats: only the media path.
 * The room is named by `/ws?room=<name>` or `?token=<name>`, or by the token of a first
 * `authenticate` frame (as the node reads it).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { WebSocketServer, type WebSocket } from 'ws';
import { mediaRequestSchema, type MediaNotification } from '../../schema/wire/index.js';
import { ROUTER_MEDIA_CODECS } from '../../media-node/workers/media-codecs.js';

interface Peer {
  id: string;
  socket: WebSocket;
  rtpCapabilities?: types.RtpCapabilities;
  transports: Map<string, { transport: types.WebRtcTransport; direction: 'send' | 'recv' }>;
  consumers: Map<string, types.Consumer>;
  /** Producers this peer consumes already (a join and a new producer may race, as on the node). */
  consumed: Set<string>;
  /** Its offers of what the room already has, one burst at a time (a join and its receive transport each ask). */
  offering: Promise<void>;
}

interface BareRoom {
  router: types.Router;
  peers: Set<Peer>;
  producers: Map<string, { producer: types.Producer; peer: Peer }>;
}

export interface BareSfuOptions {
  /** As the node's INITIAL_OUTGOING_BITRATE / MAX_INCOMING_BITRATE defaults, for the same BWE start. */
  initialOutgoingBitrate?: number;
  maxIncomingBitrate?: number;
  /** Holds each newConsumer notification this long (a known delay, for the harness tests). */
  consumerDelayMs?: number;
  /**
   * Starts every video consumer on its lowest simulcast layer (and leaves it there), as the node
   * starts one of a young producer (media-node/rooms/layer-start.ts): the quickest first frame.
   */
  startLowest?: boolean;
}

export interface BareSfu {
  /** ws://127.0.0.1:<port> (append /ws?room=…). */
  url: string;
  worker: types.Worker;
  /** Consumers alive in the worker. */
  consumerCount(): number;
  /** The spatial layer each video consumer was first aimed at, in the order made. */
  videoStartLayers(): (number | undefined)[];
  close(): Promise<void>;
}

export async function startBareSfu(options: BareSfuOptions = {}): Promise<BareSfu> {
  const worker = await mediasoup.createWorker({ logLevel: 'warn', disableLiburing: false });
  const webRtcServer = await worker.createWebRtcServer({
    listenInfos: [
      { protocol: 'udp', ip: '127.0.0.1' },
      { protocol: 'tcp', ip: '127.0.0.1' },
    ],
  });
  const rooms = new Map<string, Promise<BareRoom>>();
  const roomFor = (name: string) => {
    let room = rooms.get(name);
    if (!room) {
      room = worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS }).then((router) => ({ router, peers: new Set<Peer>(), producers: new Map() }));
      rooms.set(name, room);
    }
    return room;
  };
  let consumers = 0;
  const startLayers: (number | undefined)[] = [];
  let nextPeer = 1;

  const notify = (peer: Peer, message: MediaNotification) => peer.socket.send(JSON.stringify(message));
  /** `more`: another offer follows at once (the node's burst flag: the page negotiates them together). */
  const consume = async (room: BareRoom, peer: Peer, producer: types.Producer, owner: Peer, more = false) => {
    const recv = [...peer.transports.values()].find((entry) => entry.direction === 'recv')?.transport;
    if (peer === owner || !recv || !peer.rtpCapabilities || peer.consumed.has(producer.id)) return;
    if (!room.router.canConsume({ producerId: producer.id, rtpCapabilities: peer.rtpCapabilities })) return;
    peer.consumed.add(producer.id);
    const lowest = options.startLowest && producer.kind === 'video' ? { preferredLayers: { spatialLayer: 0 } } : {};
    const consumer = await recv.consume({ producerId: producer.id, rtpCapabilities: peer.rtpCapabilities, paused: true, ...lowest });
    consumers++;
    if (consumer.kind === 'video') startLayers.push(consumer.preferredLayers?.spatialLayer);
    consumer.observer.once('close', () => consumers--);
    peer.consumers.set(consumer.id, consumer);
    if (options.consumerDelayMs) await new Promise((resolve) => setTimeout(resolve, options.consumerDelayMs));
    notify(peer, {
      notification: 'newConsumer',
      data: {
        consumerId: consumer.id,
        producerId: producer.id,
        participantId: owner.id,
        displayName: owner.id,
        kind: producer.kind,
        source: producer.kind === 'audio' ? 'mic' : 'camera',
        rtpParameters: consumer.rtpParameters as never,
        producerPaused: consumer.producerPaused,
        ...(more ? { more: true } : {}),
      },
    });
  };
  // Serialized per peer: two bursts interleaved would end one in the middle of the other.
  const consumeExisting = (room: BareRoom, peer: Peer): Promise<void> => {
    const run = peer.offering.then(async () => {
      const offers = [...room.producers.values()].filter(({ peer: owner, producer }) => owner !== peer && !peer.consumed.has(producer.id));
      for (const [i, { producer, peer: owner }] of offers.entries()) await consume(room, peer, producer, owner, i < offers.length - 1);
    });
    peer.offering = run.catch(() => undefined); // a failed burst is the caller's to report; the next one still runs
    return run;
  };

  const handle = async (room: BareRoom, peer: Peer, raw: string): Promise<{ data: object; after?: () => Promise<void> }> => {
    const request = mediaRequestSchema.parse(JSON.parse(raw));
    switch (request.method) {
      case 'getRouterRtpCapabilities':
        return { data: { rtpCapabilities: room.router.rtpCapabilities } };
      case 'join':
        peer.rtpCapabilities = request.data.rtpCapabilities as types.RtpCapabilities;
        return { data: { participantId: peer.id }, after: () => consumeExisting(room, peer) };
      case 'createTransport': {
        const transport = await room.router.createWebRtcTransport({
          webRtcServer,
          enableUdp: request.data.forceTcp !== true,
          enableTcp: true,
          preferUdp: true,
          initialAvailableOutgoingBitrate: options.initialOutgoingBitrate ?? 1_000_000,
        });
        peer.transports.set(transport.id, { transport, direction: request.data.direction });
        if (request.data.direction === 'send') await transport.setMaxIncomingBitrate(options.maxIncomingBitrate ?? 3_000_000);
        return {
          data: { id: transport.id, iceParameters: transport.iceParameters, iceCandidates: transport.iceCandidates, dtlsParameters: transport.dtlsParameters },
          ...(request.data.direction === 'recv' ? { after: () => consumeExisting(room, peer) } : {}),
        };
      }
      case 'connectTransport':
        await peer.transports.get(request.data.transportId)?.transport.connect({ dtlsParameters: request.data.dtlsParameters as types.DtlsParameters });
        return { data: {} };
      case 'produce': {
        const transport = peer.transports.get(request.data.transportId)?.transport;
        if (!transport) throw new Error('no such transport');
        const producer = await transport.produce({ kind: request.data.kind, rtpParameters: request.data.rtpParameters as types.RtpParameters });
        room.producers.set(producer.id, { producer, peer });
        return { data: { producerId: producer.id }, after: async () => void (await Promise.all([...room.peers].map((other) => consume(room, other, producer, peer)))) };
      }
      case 'resumeConsumer':
        await peer.consumers.get(request.data.consumerId)?.resume();
        return { data: {} };
      default:
        return { data: {} };
    }
  };

  const http: Server = createServer((_, response) => response.writeHead(404).end());
  const wss = new WebSocketServer({ server: http });
  wss.on('connection', (socket, request) => {
    const url = new URL(request.url ?? '/', 'http://bare');
    const peer: Peer = { id: `bare-peer-${nextPeer++}`, socket, transports: new Map(), consumers: new Map(), consumed: new Set(), offering: Promise.resolve() };
    // The room: ?room= or ?token= in the URL, else the token of a first `authenticate` frame (the
    // node's own way), else 'default'.
    const named = url.searchParams.get('room') ?? url.searchParams.get('token');
    let room: BareRoom | null = null;
    const enter = async (name: string) => {
      room = await roomFor(name);
      room.peers.add(peer);
      return room;
    };
    let queue = named ? enter(named).then(() => undefined) : Promise.resolve();
    socket.on('message', (raw) => {
      // One request at a time per socket, as the node does.
      queue = queue.then(async () => {
        const text = raw.toString();
        const frame = JSON.parse(text) as { id?: number; method?: string; data?: { token?: string } };
        const id = frame.id ?? null;
        try {
          if (frame.method === 'authenticate') {
            await enter(frame.data?.token ?? 'default');
            socket.send(JSON.stringify({ id, ok: true, data: { participantId: peer.id } }));
            return;
          }
          const { data, after } = await handle(room ?? (await enter('default')), peer, text);
          socket.send(JSON.stringify({ id, ok: true, data }));
          await after?.();
        } catch (error) {
          socket.send(JSON.stringify({ id, ok: false, error: { code: 'INTERNAL', message: String(error) } }));
        }
      });
    });
    socket.on('close', () => {
      void queue.then(() => {
        const left: BareRoom | null = room;
        if (!left) return;
        left.peers.delete(peer);
        for (const [producerId, entry] of left.producers) if (entry.peer === peer) left.producers.delete(producerId);
        for (const { transport } of peer.transports.values()) transport.close();
      });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}`,
    worker,
    consumerCount: () => consumers,
    videoStartLayers: () => [...startLayers],
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      worker.close();
    },
  };
}
