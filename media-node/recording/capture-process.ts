import { promises as fs } from 'node:fs';
import type { RtpParameters } from 'mediasoup/types';
import { spawnFfmpeg, type FfmpegProcess } from './ffmpeg.js';
import { containerFor, mainCodec, sdpForConsumer, type TrackContainer } from './sdp.js';
import { freeUdpPortPair } from './udp-ports.js';

/** One capture ffmpeg: listens for RTP on a loopback port pair, writes one track file (-c copy). */
export interface CaptureProcess {
  readonly ffmpeg: FfmpegProcess;
  readonly rtpPort: number;
  readonly rtcpPort: number;
  /** The output path ffmpeg was started with (a pool slot's link, or the track file itself). */
  readonly outputArg: string;
  /** True when it was listening before it was handed out (a warm pool slot). */
  readonly warm: boolean;
  /** Removes what only this process needed (a slot's link and SDP) once it has exited. */
  release(): Promise<void>;
}

export function captureFfmpegArgs(sdpPath: string, output: string, container: TrackContainer): string[] {
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'warning',
    '-protocol_whitelist', 'file,udp,rtp',
    // Without packets ffmpeg gives up after 10 s; a muted mic or paused camera must not end the file.
    '-listen_timeout', String(7 * 24 * 3600),
    // Listen on loopback only: ffmpeg binds every interface otherwise, and anyone reaching the
    // host could put RTP into a recording.
    '-localaddr', '127.0.0.1',
    // Write (almost) from the first packet: a short probing window, whose packets live only in memory.
    ...container.probeArgs,
    '-reorder_queue_size', '64',
    '-buffer_size', String(4 * 1024 * 1024),
    '-f', 'sdp', '-i', sdpPath,
    '-map', '0:0', '-c', 'copy',
    ...container.captureArgs, '-flush_packets', '1',
    // ffmpeg opens its output only once the first packets are probed: a pool slot's path can
    // still be linked to the real track file when the slot is handed out.
    '-y', output,
  ];
}

/** A cold start: free ports, an SDP for this consumer, a new ffmpeg writing `output` directly. */
export async function spawnCapture(rtpParameters: RtpParameters, sdpPath: string, output: string): Promise<CaptureProcess> {
  const { rtpPort, rtcpPort } = await freeUdpPortPair();
  await fs.writeFile(sdpPath, sdpForConsumer(rtpParameters, rtpPort));
  const ffmpeg = spawnFfmpeg(captureFfmpegArgs(sdpPath, output, containerFor(mainCodec(rtpParameters))));
  return { ffmpeg, rtpPort, rtcpPort, outputArg: output, warm: false, release: async () => undefined };
}
