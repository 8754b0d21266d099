/**
 * The floor page of bench:ttff (runs in Chromium, bundled by ttff-floor.ts): mediasoup-client
 * straight to the bare worker (bare-sfu.ts), nothing else — no room socket, no token, no UI. It
 * publishes mic and camera as the product does (same constraints, same three simulcast layers) or
 * joins — receiving everyone and sending its own mic and camera, as the product's guests do — and times "join" → first decoded remote video frame with the same 50 ms getStats poll as
 * the product's page (edge/web/src/debug-hook.ts), so the two are timed alike. It shows what it
 * sends and receives as the product's page does (its own camera, every remote camera, each in a
 * video element): on two cores, painting the videos is a share of every page's CPU.
 */
import { Device, type types } from 'mediasoup-client';
import { Chrome111 } from 'mediasoup-client/handlers/Chrome111';
import type { HandlerFactory } from 'mediasoup-client/handlers/HandlerInterface';

interface Frame {
  id?: number;
  ok?: boolean;
  data?: Record<string, unknown>;
  error?: { message: string };
  notification?: string;
}

const CAMERA_ENCODINGS: types.RtpEncodingParameters[] = [
  { rid: 'r0', scaleResolutionDownBy: 4, maxBitrate: 150_000, scalabilityMode: 'L1T3' },
  { rid: 'r1', scaleResolutionDownBy: 2, maxBitrate: 500_000, scalabilityMode: 'L1T3' },
  { rid: 'r2', scaleResolutionDownBy: 1, maxBitrate: 1_500_000, scalabilityMode: 'L1T3' },
];
const POLL_MS = 50;

/**
 * Chrome's handler with its capability probes made once per page, as the product's page does
 * (edge/web/src/call/device.ts): Device.load would otherwise build a throw-away RTCPeerConnection
 * on the join path, which the product moved to its pre-join screen (a floor must not be slower).
 */
function probedOnce(): HandlerFactory & { warmUp(): Promise<unknown> } {
  const base = Chrome111.createFactory();
  const probes = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, probe: () => Promise<T>): Promise<T> => {
    if (!probes.has(key)) probes.set(key, probe());
    return probes.get(key) as Promise<T>;
  };
  const factory: HandlerFactory = {
    name: base.name,
    factory: base.factory,
    getNativeRtpCapabilities: (options) => once(`rtp:${JSON.stringify(options)}`, () => base.getNativeRtpCapabilities(options)),
    getNativeSctpCapabilities: () => once('sctp', () => base.getNativeSctpCapabilities()),
  };
  const warmUp = () => Promise.all([factory.getNativeRtpCapabilities({ direction: 'recvonly' }), factory.getNativeRtpCapabilities({ direction: 'sendonly' }), factory.getNativeSctpCapabilities()]);
  return { ...factory, warmUp };
}

const handlers = probedOnce();

/** One signaling socket to the bare worker, requests answered by id. */
async function connect(url: string, room: string, onNotification: (frame: Frame) => void) {
  const socket = new WebSocket(`${url}/ws?room=${encodeURIComponent(room)}`);
  const pending = new Map<number, { resolve: (data: Record<string, unknown>) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  socket.addEventListener('message', (event) => {
    const frame = JSON.parse(String(event.data)) as Frame;
    if (frame.notification) return onNotification(frame);
    const waiting = pending.get(frame.id ?? -1);
    pending.delete(frame.id ?? -1);
    if (frame.ok) waiting?.resolve(frame.data ?? {});
    else waiting?.reject(new Error(frame.error?.message ?? 'request failed'));
  });
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true });
    socket.addEventListener('error', reject, { once: true });
  });
  const request = (method: string, data: object = {}) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, method, data }));
    });
  return { socket, request };
}

type Request = Awaited<ReturnType<typeof connect>>['request'];

function wire(transport: types.Transport, request: Request): void {
  transport.on('connect', ({ dtlsParameters }, callback, errback) => void request('connectTransport', { transportId: transport.id, dtlsParameters }).then(() => callback(), errback));
  transport.on('produce', ({ kind, rtpParameters }, callback, errback) =>
    void request('produce', { transportId: transport.id, kind, source: kind === 'audio' ? 'mic' : 'camera', rtpParameters }).then((data) => callback({ id: data['producerId'] as string }), errback),
  );
}

function transportOptions(info: Record<string, unknown>): types.TransportOptions {
  return {
    id: info['id'] as string,
    iceParameters: info['iceParameters'] as types.IceParameters,
    iceCandidates: info['iceCandidates'] as types.IceCandidate[],
    dtlsParameters: info['dtlsParameters'] as types.DtlsParameters,
  };
}

/** A tile for a camera, its own or another's, as the product's grid shows it (a third of the width, 16:9). */
function show(track: MediaStreamTrack): void {
  const video = document.createElement('video');
  Object.assign(video, { autoplay: true, muted: true, playsInline: true, srcObject: new MediaStream([track]) });
  video.style.cssText = 'width:32vw;aspect-ratio:16/9;background:#000;object-fit:cover';
  document.body.append(video);
  void video.play().catch(() => undefined);
}

const CAMERA_CONSTRAINTS: MediaTrackConstraints = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };

/** Sends mic and camera as the product does (the camera as three simulcast layers). */
async function produceBoth(send: types.Transport, stream: MediaStream): Promise<void> {
  await send.produce({ track: stream.getAudioTracks()[0]! });
  await send.produce({ track: stream.getVideoTracks()[0]!, encodings: CAMERA_ENCODINGS, codecOptions: { videoGoogleStartBitrate: 2500 } });
}

/**
 * Consumes what the bare worker offers, in order, on the receive transport `ready` hands it
 * (offers that come before wait), resuming each and showing its video; `consumed` hears of each.
 */
function receiver(consumed: (consumer: types.Consumer) => void) {
  let recv: { transport: types.Transport; request: Request } | null = null;
  const early: Frame[] = [];
  let chain = Promise.resolve();
  const offered = (frame: Frame) => {
    if (frame.notification !== 'newConsumer') return;
    if (!recv) return void early.push(frame);
    const data = frame.data!;
    const { transport, request } = recv;
    chain = chain.then(async () => {
      const consumer = await transport.consume({ id: data['consumerId'] as string, producerId: data['producerId'] as string, kind: data['kind'] as types.MediaKind, rtpParameters: data['rtpParameters'] as types.RtpParameters });
      if (consumer.kind === 'video') show(consumer.track);
      consumed(consumer);
      void request('resumeConsumer', { consumerId: consumer.id });
    });
  };
  const ready = (transport: types.Transport, request: Request) => {
    recv = { transport, request };
    for (const frame of early.splice(0)) offered(frame);
  };
  return { offered, ready };
}

/** A publisher (the host): mic and camera, and, like the product's host, everyone who joins later. */
async function publish(url: string, room: string): Promise<void> {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: CAMERA_CONSTRAINTS });
  show(stream.getVideoTracks()[0]!);
  const receiving = receiver(() => undefined);
  const { request } = await connect(url, room, receiving.offered);
  const device = new Device({ handlerFactory: handlers });
  await device.load({ routerRtpCapabilities: (await request('getRouterRtpCapabilities')).rtpCapabilities as types.RtpCapabilities });
  const send = device.createSendTransport(transportOptions(await request('createTransport', { direction: 'send' })));
  wire(send, request);
  const recv = device.createRecvTransport(transportOptions(await request('createTransport', { direction: 'recv' })));
  wire(recv, request);
  receiving.ready(recv, request);
  await request('join', { rtpCapabilities: device.rtpCapabilities });
  await produceBoth(send, stream);
}

/**
 * A joiner: "join" (now) → first decoded remote video frame, ms. Like the product's guests it also
 * sends its own mic and camera once in (opened and shown before "join", as the product's pre-join
 * preview is, which also probes the browser's capabilities then), so a later joiner receives and
 * competes for the CPU with the same media as in the product.
 */
async function join(url: string, room: string, timeoutMs = 20_000): Promise<{ ms: number; marks: Record<string, number> }> {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: CAMERA_CONSTRAINTS });
  show(stream.getVideoTracks()[0]!);
  await handlers.warmUp();
  const started = performance.now();
  // The product page's milestone names (edge/web/src/call/media-session.ts), for --marks side by side.
  const marks: Record<string, number> = {};
  const mark = (name: string) => void (marks[name] ??= Math.round(performance.now() - started));
  const consumers: types.Consumer[] = [];
  const receiving = receiver((consumer) => {
    consumers.push(consumer);
    mark(consumer.kind === 'video' ? 'firstVideoConsumer' : 'firstAudioConsumer');
  });
  const { request } = await connect(url, room, receiving.offered);
  mark('mediaSocketOpen');
  const [caps, recvInfo, sendInfo] = await Promise.all([
    request('getRouterRtpCapabilities'),
    request('createTransport', { direction: 'recv' }),
    request('createTransport', { direction: 'send' }),
  ]);
  mark('mediaTransportsCreated');
  const device = new Device({ handlerFactory: handlers });
  await device.load({ routerRtpCapabilities: caps['rtpCapabilities'] as types.RtpCapabilities });
  mark('mediaDeviceLoaded');
  const recv = device.createRecvTransport(transportOptions(recvInfo));
  wire(recv, request);
  const send = device.createSendTransport(transportOptions(sendInfo));
  wire(send, request);
  receiving.ready(recv, request);
  await request('join', { rtpCapabilities: device.rtpCapabilities });
  mark('mediaJoined');
  // Not awaited, as in the product: receiving does not wait for sending.
  const sending = produceBoth(send, stream)
    .then(() => mark('cameraProduced'))
    .catch((error: unknown) => console.warn('floor produce failed', error));
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (performance.now() - started > timeoutMs) {
        clearInterval(timer);
        reject(new Error('no remote video frame decoded in time'));
        return;
      }
      void Promise.all(consumers.filter((c) => c.kind === 'video').map((c) => c.getStats())).then((reports) => {
        for (const report of reports) {
          report.forEach((stat: Record<string, unknown>) => {
            if (stat['type'] === 'inbound-rtp' && typeof stat['framesDecoded'] === 'number' && stat['framesDecoded'] > 0) {
              clearInterval(timer);
              // Timed now; answered once its own camera is sent too, so the marks are whole.
              const ms = performance.now() - started;
              void sending.then(() => resolve({ ms, marks }));
            }
          });
        }
      });
    }, POLL_MS);
  });
}

/** Videos on the page showing a frame (its own camera and each remote one it received). */
function videosPlaying(): number {
  return [...document.querySelectorAll('video')].filter((video) => video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA && video.videoWidth > 0).length;
}

(window as unknown as { __floor: object }).__floor = { publish, join, videosPlaying };
