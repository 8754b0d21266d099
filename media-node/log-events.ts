import type { ErrorCode } from '../schema/wire/index.js';
import type { RecordingLogEvents } from './recording/log-events.js';

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
  'kernel caps UDP socket buffers below RTC_UDP_BUFFER_BYTES (docs/operations.md)': { sysctl: string; bytes: number | null; wanted: number };
  'control link up': { url: string };
  'control link refused': { status: number | undefined };
  'control link error': { err: string };
  'control link down; reconnecting': { delayMs: number; attempt: number };
  'control link: unreadable message from edge': NoFields;
  'control link silent; redialling': { silentMs: number };
  'control link: status journal not saved': { err: string };
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
  'signaling request slow': { method: string; queuedMs: number; handledMs: number };
  /** Once per connection, at its first RATE_LIMITED answer. */
  'signaling requests throttled': NoFields;
}

/** media-node/recording: its own list (recording/log-events.ts), part of the node's. */
export interface NodeLogEvents extends NodeLifecycleEvents, MeetingEvents, RecordingLogEvents {}
export type NodeLogEvent = keyof NodeLogEvents;

/** The fields argument of an event: required when it has fields, absent when it has none. */
export type FieldsArgument<E extends NodeLogEvent> = keyof NodeLogEvents[E] extends never ? [] : [fields: NodeLogEvents[E]];
