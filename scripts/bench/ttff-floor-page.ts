/**
 * The floor page of bench:ttff (runs in Chromium, bundled by ttff-floor.ts): mediasoup-client
 * straight to the bare worker (bare-sfu.ts), nothing else — no room socket, no token, no UI. It
 * publishes mic and camera as the product does (same constraints, same three simulcast layers) or
 * joins — receiving everyone and sending its own mic and camera, as the product's guests do — and times "join" → first decoded remote video frame with the same 50 ms getStats poll as
 * the product's page (edge/web/src/debug-hook.ts), so the two are timed alike.
 */
import { Device, type types } from 'mediasoup-client';

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

const CAMERA_CONSTRAINTS: MediaTrackConstraints = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };

/** Sends mic and camera as the product does (the camera as three simulcast layers). */
async function produceBoth(send: types.Transport, stream: MediaStream): Promise<void> {
  await send.produce({ track: stream.getAudioTracks()[0]! });
  await send.produce({ track: stream.getVideoTracks()[0]!, encodings: CAMERA_ENCODINGS, codecOptions: { videoGoogleStartBitrate: 2500 } });
}

/** A publisher (the host): mic and camera. */
async function publish(url: string, room: string): Promise<void> {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: CAMERA_CONSTRAINTS });
  const { request } = await connect(url, room, () => undefined);
  const device = new Device();
  await device.load({ routerRtpCapabilities: (await request('getRouterRtpCapabilities')).rtpCapabilities as types.RtpCapabilities });
  const send = device.createSendTransport(transportOptions(await request('createTransport', { direction: 'send' })));
  wire(send, request);
  await request('join', { rtpCapabilities: device.rtpCapabilities });
  await produceBoth(send, stream);
}

/**
 * A joiner: "join" (now) → first decoded remote video frame, ms. Like the product's guests it also
 * sends its own mic and camera once in (opened before "join", as the product's pre-join preview
 * is), so a later joiner receives and competes for the CPU with the same media as in the product.
 */
async function join(url: string, room: string, timeoutMs = 20_000): Promise<{ ms: number; marks: Record<string, number> }> {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: CAMERA_CONSTRAINTS });
  const started = performance.now();
  // The product page's milestone names (edge/web/src/call/media-session.ts), for --marks side by side.
  const marks: Record<string, number> = {};
  const mark = (name: string) => void (marks[name] ??= Math.round(performance.now() - started));
  const consumers: types.Consumer[] = [];
  let recv: types.Transport | null = null;
  const early: Frame[] = [];
  let request: Request | null = null;
  let chain = Promise.resolve();
  const onConsumer = (frame: Frame) => {
    if (frame.notification !== 'newConsumer') return;
    if (!recv || !request) return void early.push(frame);
    const data = frame.data!;
    const transport = recv;
    const ask = request;
    chain = chain.then(async () => {
      const consumer = await transport.consume({ id: data['consumerId'] as string, producerId: data['producerId'] as string, kind: data['kind'] as types.MediaKind, rtpParameters: data['rtpParameters'] as types.RtpParameters });
      consumers.push(consumer);
      mark(consumer.kind === 'video' ? 'firstVideoConsumer' : 'firstAudioConsumer');
      void ask('resumeConsumer', { consumerId: consumer.id });
    });
  };
  const link = await connect(url, room, onConsumer);
  request = link.request;
  mark('mediaSocketOpen');
  const [caps, recvInfo, sendInfo] = await Promise.all([
    request('getRouterRtpCapabilities'),
    request('createTransport', { direction: 'recv' }),
    request('createTransport', { direction: 'send' }),
  ]);
  mark('mediaTransportsCreated');
  const device = new Device();
  await device.load({ routerRtpCapabilities: caps['rtpCapabilities'] as types.RtpCapabilities });
  mark('mediaDeviceLoaded');
  recv = device.createRecvTransport(transportOptions(recvInfo));
  wire(recv, request);
  const send = device.createSendTransport(transportOptions(sendInfo));
  wire(send, request);
  for (const frame of early.splice(0)) onConsumer(frame);
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

(window as unknown as { __floor: object }).__floor = { publish, join };
