import type { ErrorCode } from '../schema/wire/index.js';

/*
 * Every log line the media node writes: event name (pino's `msg`, what operators query) → the
 * fields it carries. The logger (log.ts) accepts only these, so a line cannot drift from its
 * queries. Add an event here before logging it. `err` is always a message string, never an object.
 */

type NoFields = Record<never, never>;
type Port = { protocol: 'udp' | 'tcp'; port: number };

/** Fields a child logger binds to every line it writes. */
export interface LogContext {
  nodeId?: string;
  component?: 'recording' | 'edge-link';
  meetingId?: string;
  participantId?: string;
  commandId?: string;
  command?: string;
  recordingId?: string;
  trackId?: string;
  producerId?: string;
}

/** The node itself: start, drain, stop, workers, the control link. */
interface NodeLifecycleEvents {
  'media node serving': { port: number; workers: number; rtcPorts: Port[][] };
  'media node failed to start': { err: string };
  'signal: draining (send again to exit now)': { signal: NodeJS.Signals };
  'second signal: exiting now': { signal: NodeJS.Signals };
  draining: { deadline: string; rooms: number };
  'media node stopping': { code: number; reason: string };
  'mediasoup worker started': { workerPid: number; index: number; ports: Port[] };
  'mediasoup worker died': { workerPid: number; err: string };
  'control link up': { url: string };
  'control link refused': { status: number | undefined };
  'control link error': { err: string };
  'control link down; reconnecting': { delayMs: number; attempt: number };
  'control link: unreadable message from edge': NoFields;
  'edge reported an error': { code: ErrorCode; message: string };
  'command done': NoFields;
  'command failed': { err: string };
  'unhandled control message': { message: unknown };
}

/** Meetings, participants and their signaling. */
interface MeetingEvents {
  'room opened': { workerPid: number };
  'room closed': { reason: string };
  'meeting outgrew its worker: adding a router': { workerPid: number; routers: number };
  'participant joined': { workerPid: number; routerId: string };
  'participant left': { reason: string };
  'consume failed': { err: string };
  'cannot consume producer with these capabilities': { producerId: string };
  'signaling connection failed': { err: string };
  'request failed': { err: string; method: string };
  'follow-up failed': { err: string; method: string };
  /** Once per connection, at its first RATE_LIMITED answer. */
  'signaling requests throttled': NoFields;
}

/** media-node/recording (its current lines; it adopts the typed logger through `Log.wrap`). */
interface RecordingEvents {
  'recording started': { recordingId: string; dir: string };
  'recording stopped: processing': { recordingId: string; reason: string; tracks: number };
  'disk almost full: recording stopped, per-track files kept': { recordingId: string; free: number; freeMiB: number };
  'could not start capturing a producer': { err: string; producerId: string };
  'track segment started': { file: string; pid: number | undefined; rtpPort: number; codec: string };
  'track segment ended': { file: string; ffmpeg: string };
  'capture ffmpeg listening': { ready: boolean; msToListen: number };
  'track timeline anchored': { file: string; anchor: number | null };
  'track capture resumed after a gap': { gapMs: number };
  'producer closed: finishing track': NoFields;
  'transport closed under the recorder (router closed?)': NoFields;
  'ffmpeg did not open its port in time: restarting it': { port: number };
  'ffmpeg died: restarting with a new segment': { reason: string; restart: number };
  'ffmpeg keeps dying: giving up on this track': { reason: string };
  'could not restart the track capture': { err: string };
  'could not finalize a track file: kept as written': { file: string; err: string };
  'track file holds no packets: left out of the composite': { file: string };
  'composite written': { inputs: number; durationMs: number; encodeMs: number };
  'composite failed': { err: string };
  'track file is empty or missing (no packets arrived): nothing to upload': { file: string };
  'upload attempt failed': { file: string; attempt: number; err: string };
  'upload confirmed, local copy deleted': { file: string; bytes: number; key: string };
  'recording upload failed': { err: string };
  'interrupted recordings finished': { recovered: number };
  'recording recovery failed': { err: string };
  'stopping an orphaned capture ffmpeg': { pid: number; file: string };
  'recording folder without a readable manifest: left for an operator': { recordingId: string; err: string };
  'recovering a recording interrupted by a node restart': { state: string };
}

export interface NodeLogEvents extends NodeLifecycleEvents, MeetingEvents, RecordingEvents {}
export type NodeLogEvent = keyof NodeLogEvents;

/** The fields argument of an event: required when it has fields, absent when it has none. */
export type FieldsArgument<E extends NodeLogEvent> = keyof NodeLogEvents[E] extends never ? [] : [fields: NodeLogEvents[E]];
