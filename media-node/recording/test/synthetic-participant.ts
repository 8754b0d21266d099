import type { PlainTransport, Producer, Router } from 'mediasoup/types';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FFMPEG_BIN, runToEnd, spawnFfmpeg, type FfmpegProcess } from '../ffmpeg.js';

/**
 * A meeting participant made of one ffmpeg: test-pattern VP8 video and Opus audio (pre-encoded),
 * paced in real time (-re), sent as RTP into two PlainTransports with comedia (rtcpMux off, RTCP on its own port),
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

/** Length of the pre-encoded sender media (played in a loop). */
const MEDIA_SECONDS = 45;

/**
 * VP8 (15 fps, a key frame every 6 frames: within 0.4 s, as a browser answering a key-frame request)
 * + Opus in WebM, encoded once per pattern and cached in the temp folder.
 */
async function senderMedia(pattern: 'sync' | 'testsrc', syncAtSec: number): Promise<string> {
  const file = path.join(os.tmpdir(), `edgemeet-rec-sender-${pattern}-${syncAtSec}-v2.webm`);
  if (existsSync(file)) return file;
  const s = syncAtSec;
  const video =
    pattern === 'sync'
      ? `color=c=black:size=320x240:rate=15,drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='between(t,${s},${s + 0.2})'`
      : 'testsrc2=size=320x240:rate=15';
  const audio =
    pattern === 'sync'
      ? `aevalsrc='if(between(t,${s},${s + 0.15}),0.8*sin(2*PI*1000*t),0.005*sin(2*PI*660*t))|if(between(t,${s},${s + 0.15}),0.8*sin(2*PI*1000*t),0.005*sin(2*PI*660*t))':s=48000`
      : `aevalsrc='0.005*sin(2*PI*440*t)|0.005*sin(2*PI*440*t)':s=48000`;
  const temp = `${file}.${process.pid}.webm`;
  await runToEnd(FFMPEG_BIN, [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', video, '-f', 'lavfi', '-i', audio, '-t', String(MEDIA_SECONDS),
    '-map', '0:v', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k', '-g', '6', '-keyint_min', '6', '-pix_fmt', 'yuv420p',
    '-map', '1:a', '-c:a', 'libopus', '-b:a', '48k', '-ar', '48000', '-ac', '2',
    '-f', 'webm', temp,
  ]);
  const { rename } = await import('node:fs/promises');
  await rename(temp, file);
  return file;
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

  const media = await senderMedia(options.pattern, options.syncAtSec ?? 5);
  const rtp = (transport: PlainTransport) => `rtp://127.0.0.1:${transport.tuple.localPort}?rtcpport=${transport.rtcpTuple?.localPort ?? transport.tuple.localPort + 1}&pkt_size=1200`;
  const startedAt = Date.now();
  // Stream copy of pre-encoded media, paced in real time: almost no CPU, so a busy box does not
  // slow the sender below real time (an encoding sender there falls behind and then bursts).
  const ffmpeg = spawnFfmpeg([
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    // Looped: a sender runs as long as its test needs (timestamps continue across loops).
    '-re', '-stream_loop', '-1', '-i', media,
    '-map', '0:v', '-c', 'copy', '-ssrc', String(videoSsrc), '-payload_type', String(VIDEO_PT), '-f', 'rtp', rtp(videoTransport),
    '-map', '0:a', '-c', 'copy', '-ssrc', String(audioSsrc), '-payload_type', String(AUDIO_PT), '-f', 'rtp', rtp(audioTransport),
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
