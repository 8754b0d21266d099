import type { PlainTransport, Producer, Router } from 'mediasoup/types';
import { spawnFfmpeg, type FfmpegProcess } from '../ffmpeg.js';

/**
 * A meeting participant made of one ffmpeg: test-pattern VP8 video and Opus audio, paced in real
 * time (-re), sent as RTP into two PlainTransports with comedia (rtcpMux off, RTCP on its own port),
 * which become the participant's two producers — what a browser's camera + mic are to the node.
 *
 * pattern 'sync': black video with a white flash and a loud 1 kHz beep at the same moment
 * (`syncAtSec` after the sender started); otherwise a moving test pattern and a quiet tone.
 */
export interface SyntheticParticipant {
  participantId: string;
  audio: Producer;
  video: Producer;
  /** Wall clock (epoch ms) when the sender ffmpeg was started (its t = 0). */
  startedAt: number;
  ffmpeg: FfmpegProcess;
  /** Leaves: closes both producers and stops the sender. */
  leave(): Promise<void>;
}

const AUDIO_PT = 100;
const VIDEO_PT = 101;
let nextSsrc = 0x10000000;

export async function startSyntheticParticipant(
  router: Router,
  options: { participantId: string; pattern: 'sync' | 'testsrc'; syncAtSec?: number },
): Promise<SyntheticParticipant> {
  const transports: PlainTransport[] = [];
  const open = async () => {
    const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: true });
    transports.push(transport);
    return transport;
  };
  const audioTransport = await open();
  const videoTransport = await open();
  const audioSsrc = nextSsrc++;
  const videoSsrc = nextSsrc++;
  const audio = await audioTransport.produce({
    kind: 'audio',
    rtpParameters: { codecs: [{ mimeType: 'audio/opus', clockRate: 48000, payloadType: AUDIO_PT, channels: 2 }], encodings: [{ ssrc: audioSsrc }] },
    appData: { participantId: options.participantId },
  });
  const video = await videoTransport.produce({
    kind: 'video',
    rtpParameters: { codecs: [{ mimeType: 'video/VP8', clockRate: 90000, payloadType: VIDEO_PT }], encodings: [{ ssrc: videoSsrc }] },
    appData: { participantId: options.participantId },
  });

  const s = options.syncAtSec ?? 5;
  const videoSource =
    options.pattern === 'sync'
      ? `color=c=black:size=320x240:rate=25,drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='between(t,${s},${s + 0.2})'`
      : 'testsrc2=size=320x240:rate=25';
  const audioSource =
    options.pattern === 'sync'
      ? `aevalsrc='if(between(t,${s},${s + 0.15}),0.8*sin(2*PI*1000*t),0.005*sin(2*PI*660*t))|if(between(t,${s},${s + 0.15}),0.8*sin(2*PI*1000*t),0.005*sin(2*PI*660*t))':s=48000`
      : `aevalsrc='0.005*sin(2*PI*440*t)|0.005*sin(2*PI*440*t)':s=48000`;
  const rtp = (transport: PlainTransport) => `rtp://127.0.0.1:${transport.tuple.localPort}?rtcpport=${transport.rtcpTuple?.localPort ?? transport.tuple.localPort + 1}&pkt_size=1200`;
  const startedAt = Date.now();
  const ffmpeg = spawnFfmpeg([
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    '-re', '-f', 'lavfi', '-i', videoSource,
    '-re', '-f', 'lavfi', '-i', audioSource,
    '-map', '0:v', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-lag-in-frames', '0', '-error-resilient', '1',
    '-b:v', '300k', '-g', '25', '-keyint_min', '25', '-pix_fmt', 'yuv420p',
    '-ssrc', String(videoSsrc), '-payload_type', String(VIDEO_PT), '-f', 'rtp', rtp(videoTransport),
    '-map', '1:a', '-c:a', 'libopus', '-b:a', '48k', '-ac', '2', '-ar', '48000',
    '-ssrc', String(audioSsrc), '-payload_type', String(AUDIO_PT), '-f', 'rtp', rtp(audioTransport),
  ]);
  return {
    participantId: options.participantId,
    audio,
    video,
    startedAt,
    ffmpeg,
    async leave() {
      audio.close();
      video.close();
      for (const transport of transports) transport.close();
      await ffmpeg.stop(2000);
    },
  };
}
