import { Device, type types } from 'mediasoup-client';
import { FakeHandler } from 'mediasoup-client/handlers/FakeHandler';
import * as fakeParameters from 'mediasoup-client/fakeParameters';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MediaSignaling } from '../src/call/media-signaling.js';
import { BURST_WAIT_MS, RemoteTracks, type RemoteTrack } from '../src/call/remote-tracks.js';
import type { ConsumerInfo, MediaNotification } from '../src/wire.js';

/**
 * A join into a room with media: the node offers every consumer in one burst (`more` on all but
 * the last, media-node/rooms/participant.ts consumeAll). The page must hand the whole burst to
 * mediasoup-client in one task, so it negotiates them in one round — handed over as they came,
 * the first offer was negotiated alone and the camera waited a renegotiation behind it. Real
 * mediasoup-client Transport on its FakeHandler: `receive` runs once per negotiation.
 */

async function recvTransport(): Promise<types.Transport> {
  const device = new Device({ handlerFactory: FakeHandler.createFactory(fakeParameters) });
  await device.load({ routerRtpCapabilities: fakeParameters.generateRouterRtpCapabilities() });
  const transport = device.createRecvTransport(fakeParameters.generateTransportRemoteParameters());
  transport.on('connect', (_parameters, callback) => callback());
  return transport;
}

/** The negotiations of offered tracks (mediasoup-client adds one of its own for its bandwidth probator after the first video). */
const negotiations = (receive: { mock: { calls: Array<[Array<{ trackId: string }>]> } }) =>
  receive.mock.calls.map(([optionsList]) => optionsList.filter((options) => options.trackId !== 'probator').length).filter((count) => count > 0);

const signaling = { request: async () => ({}) } as unknown as MediaSignaling;

function offer(participantId: string, source: 'mic' | 'camera', more: boolean): MediaNotification {
  const remote = fakeParameters.generateConsumerRemoteParameters({ codecMimeType: source === 'mic' ? 'audio/opus' : 'video/VP8' });
  const data: ConsumerInfo = {
    consumerId: remote.id!,
    producerId: remote.producerId!,
    participantId,
    displayName: participantId,
    kind: source === 'mic' ? 'audio' : 'video',
    source,
    rtpParameters: remote.rtpParameters as ConsumerInfo['rtpParameters'],
    producerPaused: false,
    ...(more ? { more: true } : {}),
  };
  return { notification: 'newConsumer', data };
}

/** Each frame in its own task, as WebSocket messages arrive. */
const nextFrame = () => new Promise((resolve) => setTimeout(resolve, 0));

function tracksOn(transport: types.Transport) {
  const shown: RemoteTrack[] = [];
  const tracks = new RemoteTracks(transport, signaling, {
    remoteAdded: (remote) => shown.push(remote),
    remoteRemoved: (remote) => shown.splice(shown.indexOf(remote), 1),
    remoteChanged: () => undefined,
  });
  return { tracks, shown };
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('a burst of offers', () => {
  it('is negotiated in one round, however many frames it came in', async () => {
    const receive = vi.spyOn(FakeHandler.prototype, 'receive');
    const { tracks, shown } = tracksOn(await recvTransport());
    const burst = [offer('host', 'mic', true), offer('host', 'camera', true), offer('guest', 'mic', true), offer('guest', 'camera', false)];
    for (const frame of burst) {
      tracks.onNotification(frame as Parameters<RemoteTracks['onNotification']>[0]);
      await nextFrame();
    }
    await vi.waitFor(() => expect(shown).toHaveLength(4));
    expect(negotiations(receive)).toEqual([4]);
    expect(shown.map((remote) => `${remote.participantId}/${remote.source}`)).toEqual(['host/mic', 'host/camera', 'guest/mic', 'guest/camera']);
  });

  it('an offer on its own (someone publishing later) is negotiated at once', async () => {
    const receive = vi.spyOn(FakeHandler.prototype, 'receive');
    const { tracks, shown } = tracksOn(await recvTransport());
    tracks.onNotification(offer('host', 'camera', false) as Parameters<RemoteTracks['onNotification']>[0]);
    await vi.waitFor(() => expect(shown).toHaveLength(1));
    expect(negotiations(receive)).toEqual([1]);
  });

  it('whatever else arrives ends the burst first, so it applies to the offers held', async () => {
    const { tracks, shown } = tracksOn(await recvTransport());
    const camera = offer('host', 'camera', true);
    tracks.onNotification(offer('host', 'mic', true) as Parameters<RemoteTracks['onNotification']>[0]);
    tracks.onNotification(camera as Parameters<RemoteTracks['onNotification']>[0]);
    const consumerId = (camera.data as ConsumerInfo).consumerId;
    tracks.onNotification({ notification: 'consumerPaused', data: { consumerId } });
    await vi.waitFor(() => expect(shown).toHaveLength(2));
    await vi.waitFor(() => expect(shown.find((remote) => remote.consumer.id === consumerId)?.producerPaused).toBe(true));
  });

  it('a burst whose end never comes is still negotiated, once no frame of it came for a while', async () => {
    const { tracks, shown } = tracksOn(await recvTransport());
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    tracks.onNotification(offer('host', 'mic', true) as Parameters<RemoteTracks['onNotification']>[0]);
    await vi.advanceTimersByTimeAsync(BURST_WAIT_MS - 10);
    // A slow link: the next frame of the burst waits for its next frame again.
    tracks.onNotification(offer('host', 'camera', true) as Parameters<RemoteTracks['onNotification']>[0]);
    await vi.advanceTimersByTimeAsync(BURST_WAIT_MS - 10);
    expect(shown).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(20);
    vi.useRealTimers();
    await vi.waitFor(() => expect(shown).toHaveLength(2));
  });

  it('closing drops a burst in progress', async () => {
    const receive = vi.spyOn(FakeHandler.prototype, 'receive');
    const { tracks, shown } = tracksOn(await recvTransport());
    tracks.onNotification(offer('host', 'mic', true) as Parameters<RemoteTracks['onNotification']>[0]);
    tracks.close();
    await new Promise((resolve) => setTimeout(resolve, BURST_WAIT_MS + 50));
    expect(receive).not.toHaveBeenCalled();
    expect(shown).toHaveLength(0);
  });
});
