import type { RtpCodecParameters, RtpParameters } from 'mediasoup/types';

/** The one codec a consumer sends (its first non-RTX codec). */
export function mainCodec(rtpParameters: RtpParameters): RtpCodecParameters {
  const codec = rtpParameters.codecs.find((c) => !/\/rtx$/i.test(c.mimeType));
  if (!codec) throw new Error('consumer has no media codec');
  return codec;
}

/**
 * Containers for one codec, without transcoding. Capture uses formats that need no probing of the
 * stream (IVF/MPEG-TS do not need the picture size, which ffmpeg only learns from a decoded key
 * frame) and survive a killed writer; finishing remuxes into the delivered WebM/Matroska.
 */
export interface TrackContainer {
  /** Demuxer probing: audio needs none; video waits (≤ 1 s of media) for a decodable key frame's size. */
  probeArgs: string[];
  captureExt: 'ivf' | 'webm' | 'ts';
  captureArgs: string[];
  finalExt: 'webm' | 'mkv';
  finalFormat: 'webm' | 'matroska';
  contentType: string;
}

const AUDIO_PROBE = ['-probesize', '32', '-analyzeduration', '0'];
// -fpsprobesize 0: without it ffmpeg also counts ~20 frames to guess a frame rate (which -c copy
// does not need) before writing anything, and a track stopped within that first second left an
// empty file: a camera turned on just before the recording stopped was lost whole.
const VIDEO_PROBE = ['-probesize', '1000000', '-analyzeduration', '1000000', '-fpsprobesize', '0'];

export function containerFor(codec: RtpCodecParameters): TrackContainer {
  const name = codec.mimeType.split('/')[1]?.toLowerCase();
  const kind = codec.mimeType.split('/')[0]?.toLowerCase();
  if (name === 'vp8' || name === 'vp9' || name === 'av1') {
    return { probeArgs: VIDEO_PROBE, captureExt: 'ivf', captureArgs: ['-f', 'ivf'], finalExt: 'webm', finalFormat: 'webm', contentType: 'video/webm' };
  }
  if (name === 'opus') {
    // The muxer holds the open cluster in memory: an ffmpeg stopped without its trailer (no packet
    // came after the stop signal: the speaker left or muted) loses it. Short clusters bound that
    // loss to ~0.1 s, for ~1 % more bytes.
    return { probeArgs: AUDIO_PROBE, captureExt: 'webm', captureArgs: ['-f', 'webm', '-cluster_time_limit', '100', '-cluster_size_limit', String(256 * 1024)], finalExt: 'webm', finalFormat: 'webm', contentType: 'audio/webm' };
  }
  return { probeArgs: kind === 'audio' ? AUDIO_PROBE : VIDEO_PROBE, captureExt: 'ts', captureArgs: ['-f', 'mpegts'], finalExt: 'mkv', finalFormat: 'matroska', contentType: kind === 'audio' ? 'audio/x-matroska' : 'video/x-matroska' };
}

/** Content type of a file by its extension (finished or, if finishing failed, as captured). */
export function contentTypeOf(file: string, kind: 'audio' | 'video'): string {
  const ext = file.slice(file.lastIndexOf('.') + 1);
  switch (ext) {
    case 'webm':
      return `${kind}/webm`;
    case 'mkv':
      return `${kind}/x-matroska`;
    case 'ivf':
      return 'video/x-ivf';
    case 'ts':
      return 'video/mp2t';
    case 'mp4':
      return 'video/mp4';
    default:
      return 'application/octet-stream';
  }
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
