import type { MediaKind } from '../../../schema/wire/index.js';
import type { SignalingClient } from './signaling-client.js';

/** RTP parameters a producer can be created with; no packet ever has to follow them. */
export function silentRtpParameters(kind: MediaKind, ssrc: number) {
  const codec =
    kind === 'audio'
      ? { mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2, parameters: {}, rtcpFeedback: [] }
      : { mimeType: 'video/VP8', payloadType: 101, clockRate: 90000, parameters: {}, rtcpFeedback: [] };
  return { codecs: [codec], encodings: [{ ssrc }], rtcp: { cname: `silent-${ssrc}` } };
}

/** Publishes a mic and a camera producer over signaling alone (no WebRTC): enough for consumers to exist. */
export async function publishSilently(client: SignalingClient): Promise<{ transportId: string; producerIds: string[] }> {
  const { id: transportId } = await client.request('createTransport', { direction: 'send' });
  const mic = await client.request('produce', { transportId, kind: 'audio', source: 'mic', rtpParameters: silentRtpParameters('audio', 1111) });
  const camera = await client.request('produce', { transportId, kind: 'video', source: 'camera', rtpParameters: silentRtpParameters('video', 2222) });
  return { transportId, producerIds: [mic.producerId, camera.producerId] };
}
