import type { RtpCodecParameters, RtpParameters } from 'mediasoup/types';

/** The one codec a consumer sends (its first non-RTX codec). */
export function mainCodec(rtpParameters: RtpParameters): RtpCodecParameters {
  const codec = rtpParameters.codecs.find((c) => !/\/rtx$/i.test(c.mimeType));
  if (!codec) throw new Error('consumer has no media codec');
  return codec;
}

/** File container that can hold the codec without transcoding (WebM for VP8/VP9/Opus/AV1, Matroska otherwise). */
export function containerFor(codec: RtpCodecParameters): { ext: 'webm' | 'mkv'; format: 'webm' | 'matroska'; contentType: string } {
  const name = codec.mimeType.split('/')[1]?.toLowerCase();
  const kind = codec.mimeType.split('/')[0]?.toLowerCase();
  if (name === 'vp8' || name === 'vp9' || name === 'opus' || name === 'av1') {
    return { ext: 'webm', format: 'webm', contentType: kind === 'audio' ? 'audio/webm' : 'video/webm' };
  }
  return { ext: 'mkv', format: 'matroska', contentType: kind === 'audio' ? 'audio/x-matroska' : 'video/x-matroska' };
}

/**
 * An SDP that tells ffmpeg to receive one RTP stream on 127.0.0.1:<rtpPort> (RTCP on rtpPort+1,
 * which is why the caller allocates an even/odd pair).
 */
export function sdpForConsumer(rtpParameters: RtpParameters, rtpPort: number): string {
  const codec = mainCodec(rtpParameters);
  const [kind, name] = codec.mimeType.split('/') as [string, string];
  const channels = kind === 'audio' && codec.channels && codec.channels > 1 ? `/${codec.channels}` : '';
  const fmtp = Object.entries(codec.parameters ?? {})
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(';');
  const lines = [
    'v=0',
    'o=- 0 0 IN IP4 127.0.0.1',
    's=edgemeet-recording',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=${kind} ${rtpPort} RTP/AVP ${codec.payloadType}`,
    `a=rtpmap:${codec.payloadType} ${name}/${codec.clockRate}${channels}`,
    ...(fmtp ? [`a=fmtp:${codec.payloadType} ${fmtp}`] : []),
    'a=recvonly',
  ];
  return lines.join('\n') + '\n';
}
