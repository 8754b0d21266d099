import type { PlainTransport, Producer, ProducerTraceEventData, Router } from 'mediasoup/types';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FFMPEG_BIN, runToEnd, spawnFfmpeg, type FfmpegProcess } from '../ffmpeg.js';
import { traceProducer } from '../producer-trace.js';

/**
 * A meeting participant made of one ffmpeg: test-pattern VP8 video and Opus audio (pre-encoded),
 * paced in real time (-re), sent as RTP into two PlainTransports with comedia (rtcpMux off, RTCP on its own port),
 * which become the participant's two producers — what a browser's camera + mic are to the node.
 *
 * pattern 'sync': black video with a white flash and a loud 1 kHz beep at the same moment
 * (`syncAtSec` after the sender started, then every `syncEverySec` if given); 'flash': the
 * flashes without the beeps (a quiet tone); 'testsrc': a moving test pattern and a quiet tone.
 */
export interface SyntheticParticipant {
  participantId: string;
  audio: Producer;
  video: Producer;
  /** Wall clock (epoch ms) when the sender ffmpeg was spawned (a loaded box starts it seconds later). */
  startedAt: number;
  /**
   * Wall clock (epoch ms) at which the sender's media time 0 reached the router, measured from its
   * video packets' arrivals (its t = 0 on the node's clock: what a recording is aligned to).
   */
  mediaZeroAt: Promise<number>;
  ffmpeg: FfmpegProcess;
  /** Leaves: closes both producers and stops the sender. */
  leave(): Promise<void>;
}

/** Length of the pre-encoded sender media (played in a loop). */
const MEDIA_SECONDS = 45;

type Pattern = 'sync' | 'flash' | 'testsrc';

/**
 * VP8 (15 fps, a key frame every 3 frames: within 0.2 s, as a browser answering a key-frame request)
 * + Opus in WebM, encoded once per pattern and cached in the temp folder.
 */
async function senderMedia(pattern: Pattern, syncAtSec: number, syncEverySec: number | undefined): Promise<string> {
  const file = path.join(os.tmpdir(), `edgemeet-rec-sender-${pattern}-${syncAtSec}${syncEverySec ? `-every-${syncEverySec}` : ''}-v3.webm`);
  if (existsSync(file)) return file;
  const s = syncAtSec;
  // True for `lengthSec` from each sync event on.
  const during = (lengthSec: number) => (syncEverySec ? `gte(t,${s})*lte(mod(t-${s},${syncEverySec}),${lengthSec})` : `between(t,${s},${s + lengthSec})`);
  const video = pattern === 'testsrc' ? 'testsrc2=size=320x240:rate=15' : `color=c=black:size=320x240:rate=15,drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='${during(0.2)}'`;
  const quiet = (hz: number) => `0.005*sin(2*PI*${hz}*t)`;
  const channel = pattern === 'sync' ? `if(${during(0.15)},0.8*sin(2*PI*1000*t),${quiet(660)})` : quiet(pattern === 'flash' ? 660 : 440);
  const audio = `aevalsrc='${channel}|${channel}':s=48000`;
  const temp = `${file}.${process.pid}.webm`;
  await runToEnd(FFMPEG_BIN, [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', video, '-f', 'lavfi', '-i', audio, '-t', String(MEDIA_SECONDS),
    '-map', '0:v', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k', '-g', '3', '-keyint_min', '3', '-pix_fmt', 'yuv420p',
    '-map', '1:a', '-c:a', 'libopus', '-b:a', '48k', '-ar', '48000', '-ac', '2',
    '-f', 'webm', temp,
  ]);
  const { rename } = await import('node:fs/promises');
  await rename(temp, file);
  return file;
}

/**
 * When the sender's media time 0 reached the router: each video packet of its first 2 s votes
 * arrival − media time elapsed since the first packet (the sender's RTP clock starts at media 0);
 * the smallest vote is the least-delayed one. Arrival is the worker's own trace time (monotonic,
 * the clock process.hrtime reads), so a busy event loop here does not shift it.
 */
function measureMediaZero(video: Producer): Promise<number> {
  return new Promise((resolve) => {
    let firstTs: number | null = null;
    let best = Number.POSITIVE_INFINITY;
    const onTrace = (trace: ProducerTraceEventData) => {
      const ts = (trace.info as { rtpPacket?: { timestamp?: number } } | undefined)?.rtpPacket?.timestamp;
      if (trace.type !== 'rtp' || trace.direction !== 'in' || typeof ts !== 'number') return;
      firstTs ??= ts;
      const ticks = (ts - firstTs) >>> 0;
      if (ticks > 0x7fffffff) return; // reordered, older than the first
      const elapsedMs = (ticks / 90_000) * 1000;
      const arrivedAt = Date.now() - (Number(process.hrtime.bigint()) / 1e6 - trace.timestamp);
      best = Math.min(best, arrivedAt - elapsedMs);
      if (elapsedMs < 2000) return;
      unsubscribe();
      resolve(Math.round(best));
    };
    const unsubscribe = traceProducer(video, ['rtp'], onTrace);
  });
}

const AUDIO_PT = 100;
const VIDEO_PT = 101;
let nextSsrc = 0x10000000;

export async function startSyntheticParticipant(
  router: Router,
  options: { participantId: string; pattern: Pattern; syncAtSec?: number; syncEverySec?: number },
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

  const media = await senderMedia(options.pattern, options.syncAtSec ?? 5, options.syncEverySec);
  const mediaZeroAt = measureMediaZero(video);
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
    mediaZeroAt,
    ffmpeg,
    async leave() {
      audio.close();
      video.close();
      for (const transport of transports) transport.close();
      await ffmpeg.stop(2000);
    },
  };
}
