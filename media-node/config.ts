import os from 'node:os';
import { z } from 'zod';
import { nodeIdSchema, regionIdSchema } from '../schema/wire/index.js';

/**
 * The media node's one configuration object, parsed from the environment once at start-up.
 * Defaults run a single node locally; production sets NODE_ID, REGION, EDGE_URL, credentials
 * and ANNOUNCED_ADDRESS.
 */
const intFromEnv = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);
const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value));

export const configSchema = z.object({
  NODE_ID: nodeIdSchema.default('media-local-1'),
  REGION: regionIdSchema.default('lon'),
  /** Edge base URL (http(s)); the control socket goes to <EDGE_URL>/api/nodes/connect. Unset: no control link. */
  EDGE_URL: optionalText.pipe(z.url().optional()),
  NODE_CREDENTIAL: optionalText,
  /**
   * Bearer token for GET /metrics (≥ 16 characters). Unset: /metrics answers this host only
   * (loopback, not through a proxy); set it to scrape from a monitoring host.
   */
  METRICS_TOKEN: optionalText.pipe(z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional()),
  /** Public JWK (JSON) of the edge's ES256 media-token key. */
  MEDIA_TOKEN_PUBLIC_JWK: optionalText,
  LISTEN_HOST: z.string().default('127.0.0.1'),
  LISTEN_PORT: intFromEnv(4443),
  /** Base URL browsers use for signaling; default derived from LISTEN_HOST/LISTEN_PORT. */
  SIGNALING_URL: optionalText,
  /** IP the WebRtcServers bind to. */
  RTC_LISTEN_IP: z.string().default('127.0.0.1'),
  /** Address put into ICE candidates (public IP or host name); default RTC_LISTEN_IP. */
  ANNOUNCED_ADDRESS: optionalText,
  /** Worker i's WebRtcServer listens on RTC_MIN_PORT + i (UDP and TCP). 0 = pick free ports. */
  RTC_MIN_PORT: intFromEnv(40000),
  /**
   * Receive/send buffer of the workers' UDP sockets, in bytes (0: the kernel's default, about
   * 208 KiB, which holds ~90 packets of 1,000 bytes: a few ms of a busy worker's traffic). Every participant on
   * a worker shares its one WebRtcServer socket, so a worker that is descheduled for a moment
   * would drop everyone's packets. The kernel caps it at net.core.rmem_max / wmem_max
   * (docs/operations.md raises them); the node warns at start when they are lower.
   */
  RTC_UDP_BUFFER_BYTES: z.coerce.number().int().min(0).max(2 ** 30, 'RTC_UDP_BUFFER_BYTES is at most 1 GiB').default(4 * 1024 * 1024),
  /** 0 = one worker per core. */
  NUM_WORKERS: intFromEnv(0),
  /** mediasoup's guidance: one worker carries ~500 consumers. */
  CONSUMERS_PER_WORKER: intFromEnv(500, 1),
  /** A participant whose transport stays ICE-disconnected this long is closed. */
  ICE_DISCONNECT_TIMEOUT_MS: intFromEnv(15_000, 1),
  /** Drain deadline for SIGTERM / drain commands without one. */
  DRAIN_TIMEOUT_MS: intFromEnv(3_600_000, 1),
  /** How long revoked participant ids are remembered (longer than any token lives). */
  REVOKED_TTL_MS: intFromEnv(3_600_000, 1),
  INITIAL_OUTGOING_BITRATE: intFromEnv(1_000_000, 100_000),
  MAX_INCOMING_BITRATE: intFromEnv(3_000_000, 100_000),
  RECORDINGS_DIR: z.string().default('.data/recordings'),
  /** Server-side recording (needs EDGE_URL: files are uploaded through the edge). */
  RECORDING_ENABLED: z
    .enum(['true', 'false', '1', '0'])
    .default('true')
    .transform((value) => value === 'true' || value === '1'),
  /** Signaling requests a participant may send at once, and per second after that (RATE_LIMITED beyond). */
  SIGNALING_REQUEST_BURST: intFromEnv(50, 1),
  SIGNALING_REQUESTS_PER_SECOND: intFromEnv(20, 1),
  /** Top-N audio: each participant receives the audio of this many loudest speakers (plus its pins); 0: everyone's. */
  TOP_N_AUDIO: intFromEnv(3),
  /** A speaker among the loudest keeps its place at least this long (ms), so the set does not flap. */
  TOP_N_AUDIO_HOLD_MS: intFromEnv(1_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Read by mediasoup itself; checked here so a missing binary fails with a clear message. */
  MEDIASOUP_WORKER_BIN: optionalText,
});

export type MediaNodeConfig = ReturnType<typeof toConfig>;

function toConfig(env: z.infer<typeof configSchema>) {
  const numWorkers = env.NUM_WORKERS > 0 ? env.NUM_WORKERS : os.availableParallelism();
  return {
    nodeId: env.NODE_ID,
    region: env.REGION,
    edgeUrl: env.EDGE_URL,
    nodeCredential: env.NODE_CREDENTIAL,
    metricsToken: env.METRICS_TOKEN,
    mediaTokenPublicJwk: env.MEDIA_TOKEN_PUBLIC_JWK,
    listenHost: env.LISTEN_HOST,
    listenPort: env.LISTEN_PORT,
    signalingUrl: env.SIGNALING_URL,
    rtcListenIp: env.RTC_LISTEN_IP,
    announcedAddress: env.ANNOUNCED_ADDRESS ?? env.RTC_LISTEN_IP,
    rtcMinPort: env.RTC_MIN_PORT,
    udpSocketBufferBytes: env.RTC_UDP_BUFFER_BYTES,
    numWorkers,
    consumersPerWorker: env.CONSUMERS_PER_WORKER,
    iceDisconnectTimeoutMs: env.ICE_DISCONNECT_TIMEOUT_MS,
    drainTimeoutMs: env.DRAIN_TIMEOUT_MS,
    revokedTtlMs: env.REVOKED_TTL_MS,
    initialOutgoingBitrate: env.INITIAL_OUTGOING_BITRATE,
    maxIncomingBitrate: env.MAX_INCOMING_BITRATE,
    recordingsDir: env.RECORDINGS_DIR,
    recordingEnabled: env.RECORDING_ENABLED,
    signalingLimits: { burst: env.SIGNALING_REQUEST_BURST, perSecond: env.SIGNALING_REQUESTS_PER_SECOND },
    audioSelection: { topN: env.TOP_N_AUDIO, holdMs: env.TOP_N_AUDIO_HOLD_MS },
    logLevel: env.LOG_LEVEL,
    mediasoupWorkerBin: env.MEDIASOUP_WORKER_BIN,
  };
}

/** Parses (and validates) the environment; throws a readable error listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): MediaNodeConfig {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`invalid media node configuration: ${problems}`);
  }
  if (parsed.data.MEDIA_TOKEN_PUBLIC_JWK === undefined) {
    throw new Error('invalid media node configuration: MEDIA_TOKEN_PUBLIC_JWK is required (the edge\'s public media-token key)');
  }
  if (parsed.data.EDGE_URL !== undefined && parsed.data.NODE_CREDENTIAL === undefined) {
    throw new Error('invalid media node configuration: NODE_CREDENTIAL is required when EDGE_URL is set');
  }
  return toConfig(parsed.data);
}
