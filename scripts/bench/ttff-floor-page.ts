/**
 * The floor page of bench:ttff (runs in Chromium, bundled by ttff-floor.ts): mediasoup-client
 * straight to the bare worker (bare-sfu.ts), nothing else — no room socket, no token, no UI.
 * Every page sends mic and camera as the product does (same constraints, same three simulcast
 * layers) and receives everyone, as the product's host and guests do; a joiner times "join" →
 * first decoded remote video frame with the same 50 ms getStats poll as the product's page
 * (edge/web/src/debug-hook.ts), so the two are timed alike. It also plays what it receives as the
 * product's page does — its own camera and each remote one in a grid laid out like the product's
 * (edge/web/src/meeting/grid.ts), each remote voice on an <audio> element: on two cores, painting
 * video and decoding audio are a share of every page's CPU.
 */
import type { types } from 'mediasoup-client';
// The product's Device with its capability probes cached per page: Device.load would otherwise
// build a throw-away RTCPeerConnection on the join path, which the product does on its pre-join
// screen (a floor must not be slower).
import { createDevice, warmUpDevice } from '../../edge/web/src/call/device.js';

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

/**
 * The videos' grid, sized as the product's call view: beside a 320 px side panel, ⌈√n⌉ columns of
 * cells filled edge to edge (edge/web/src/styles.css .call-body, .grid, .tile video).
 */
function grid(): HTMLElement {
  let cells = document.getElementById('grid');
  if (cells) return cells;
  document.body.style.cssText = 'margin:0;height:100vh;display:grid;grid-template-columns:1fr 320px';
  cells = document.createElement('div');
  cells.id = 'grid';
  cells.style.cssText = 'display:grid;grid-auto-rows:minmax(0,1fr);gap:.5rem;padding:.5rem;min-height:0';
  document.body.append(cells, document.createElement('aside'));
  return cells;
}

/** A camera, its own (mirrored, as the product shows it) or another's, in the next cell of the grid. */
function show(track: MediaStreamTrack, own = false): void {
  const video = document.createElement('video');
  Object.assign(video, { autoplay: true, muted: true, playsInline: true, srcObject: new MediaStream([track]) });
  video.style.cssText = `width:100%;height:100%;min-height:0;object-fit:cover;background:#000${own ? ';transform:scaleX(-1)' : ''}`;
  const cells = grid();
  cells.append(video);
  cells.style.gridTemplateColumns = `repeat(${Math.ceil(Math.sqrt(cells.childElementCount))}, minmax(0, 1fr))`;
  void video.play().catch(() => undefined);
}

/** A remote voice on a hidden, playing <audio> element: Chrome decodes remote audio only then (edge/web/src/call/audio-sink.ts). */
function play(track: MediaStreamTrack): void {
  const audio = document.createElement('audio');
  Object.assign(audio, { autoplay: true, hidden: true, srcObject: new MediaStream([track]) });
  document.body.append(audio);
  void audio.play().catch(() => undefined);
}

const CAMERA_CONSTRAINTS: MediaTrackConstraints = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };

/** Sends mic and camera as the product does (the camera as three simulcast layers). */
async function produceBoth(send: types.Transport, stream: MediaStream): Promise<void> {
  await send.produce({ track: stream.getAudioTracks()[0]! });
  await send.produce({ track: stream.getVideoTracks()[0]!, encodings: CAMERA_ENCODINGS, codecOptions: { videoGoogleStartBitrate: 2500 } });
}

/** How long offers flagged `more` wait for the rest of their burst before being negotiated anyway (the product's page waits likewise). */
const BURST_WAIT_MS = 100;

/**
 * Consumes what the bare worker offers on the receive transport `ready` hands it (offers that come
 * before wait), resuming each and playing it; `consumed` hears of each, in the order offered. A
 * burst (offers flagged `more`, then the last) is consumed in one task, so mediasoup-client
 * negotiates it in one go, as the product's page does (edge/web/src/call/remote-tracks.ts).
 */
function receiver(consumed: (consumer: types.Consumer) => void, submitted: (offers: number) => void = () => undefined) {
  let recv: { transport: types.Transport; request: Request } | null = null;
  const held: Frame[] = [];
  let burstTimer: ReturnType<typeof setTimeout> | null = null;
  let chain = Promise.resolve();
  const submit = () => {
    if (burstTimer) clearTimeout(burstTimer);
    burstTimer = null;
    if (!recv) return;
    const { transport, request } = recv;
    if (held.length > 0) submitted(held.length);
    for (const frame of held.splice(0)) {
      const data = frame.data!;
      const creating = transport.consume({ id: data['consumerId'] as string, producerId: data['producerId'] as string, kind: data['kind'] as types.MediaKind, rtpParameters: data['rtpParameters'] as types.RtpParameters });
      creating.catch(() => undefined); // reported in turn below
      chain = chain
        .then(async () => {
          const consumer = await creating;
          if (consumer.kind === 'video') show(consumer.track);
          else play(consumer.track);
          consumed(consumer);
          void request('resumeConsumer', { consumerId: consumer.id });
        })
        .catch((error: unknown) => console.warn('floor consume failed', error));
    }
  };
  /** Negotiates what is held once its burst is whole (or has waited long enough). */
  const flush = () => {
    if (!recv || held.length === 0) return;
    if (held.at(-1)!.data?.['more'] !== true) return submit();
    burstTimer ??= setTimeout(submit, BURST_WAIT_MS);
  };
  const offered = (frame: Frame) => {
    if (frame.notification !== 'newConsumer') return;
    held.push(frame);
    flush();
  };
  const ready = (transport: types.Transport, request: Request) => {
    recv = { transport, request };
    flush();
  };
  return { offered, ready };
}

/** A publisher (the host): mic and camera, and, like the product's host, everyone who joins later. */
async function publish(url: string, room: string): Promise<void> {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: CAMERA_CONSTRAINTS });
  show(stream.getVideoTracks()[0]!, true);
  const receiving = receiver(() => undefined);
  const { request } = await connect(url, room, receiving.offered);
  const device = await createDevice();
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
async function join(url: string, room: string, timeoutMs = 20_000): Promise<{ ms: number; marks: Record<string, number>; bursts: number[] }> {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: CAMERA_CONSTRAINTS });
  show(stream.getVideoTracks()[0]!, true);
  await warmUpDevice();
  const started = performance.now();
  // The product page's milestone names (edge/web/src/call/media-session.ts), for --marks side by side.
  const marks: Record<string, number> = {};
  const mark = (name: string) => void (marks[name] ??= Math.round(performance.now() - started));
  const consumers: types.Consumer[] = [];
  // How many offers each negotiation took, in order.
  const bursts: number[] = [];
  const receiving = receiver(
    (consumer) => {
      consumers.push(consumer);
      mark(consumer.kind === 'video' ? 'firstVideoConsumer' : 'firstAudioConsumer');
    },
    (offers) => bursts.push(offers),
  );
  const { request } = await connect(url, room, receiving.offered);
  mark('mediaSocketOpen');
  const [caps, recvInfo, sendInfo] = await Promise.all([
    request('getRouterRtpCapabilities'),
    request('createTransport', { direction: 'recv' }),
    request('createTransport', { direction: 'send' }),
  ]);
  mark('mediaTransportsCreated');
  const device = await createDevice();
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
              void sending.then(() => resolve({ ms, marks, bursts }));
            }
          });
        }
      });
    }, POLL_MS);
  });
}

/** What the page plays: videos showing a frame (its own camera, each remote one), and remote voices with data flowing. */
function playing(): { videos: number; voices: number } {
  const videos = [...document.querySelectorAll('video')].filter((video) => video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA && video.videoWidth > 0).length;
  const voices = [...document.querySelectorAll('audio')].filter((audio) => !audio.paused && audio.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA).length;
  return { videos, voices };
}

(window as unknown as { __floor: object }).__floor = { publish, join, playing };
