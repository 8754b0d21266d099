import { z } from 'zod';

/** WebSocket close codes (4000–4999 are free for applications). */
export const WS_CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  TOKEN_INVALID: 4001,
  TOKEN_EXPIRED: 4002,
  REMOVED_BY_HOST: 4003,
  MEETING_ENDED: 4004,
  /** A newer connection of the same participant (or node) took over: error code CONFLICT. */
  REPLACED: 4005,
  NODE_DRAINING: 4006,
  FORBIDDEN: 4007,
  /** The meeting left this media node (failover, drain): reconnect through the room, the call goes on. */
  MEETING_MOVED: 4008,
  INTERNAL: 4500,
} as const;

/** HTTP status, and the WebSocket close code of a socket closed for this error (INTERNAL unless it has its own). */
type ErrorMapping = { status: number; close: number };
const mapping = (status: number, close: number = WS_CLOSE.INTERNAL): ErrorMapping => ({ status, close });

/**
 * Every error that crosses a process boundary carries one of these codes. The code is the
 * contract; the message is for humans and may change. Each code's HTTP status and WebSocket close
 * code are mapped here and nowhere else (edge, media node and browser read this table).
 */
export const ERRORS = {
  BAD_REQUEST: mapping(400),
  VALIDATION_FAILED: mapping(400),
  UNKNOWN_MESSAGE: mapping(400),
  UNAUTHENTICATED: mapping(401, WS_CLOSE.TOKEN_INVALID),
  INVALID_CREDENTIALS: mapping(401),
  TOKEN_INVALID: mapping(401, WS_CLOSE.TOKEN_INVALID),
  TOKEN_EXPIRED: mapping(401, WS_CLOSE.TOKEN_EXPIRED),
  FORBIDDEN: mapping(403, WS_CLOSE.FORBIDDEN),
  NOT_HOST: mapping(403),
  PERMISSION_DENIED: mapping(403, WS_CLOSE.FORBIDDEN),
  WRONG_PASSCODE: mapping(403),
  GUESTS_NOT_ALLOWED: mapping(403),
  REMOVED_BY_HOST: mapping(403, WS_CLOSE.REMOVED_BY_HOST),
  MEETING_LOCKED: mapping(403),
  ADMISSION_DENIED: mapping(403, WS_CLOSE.FORBIDDEN),
  NOT_FOUND: mapping(404),
  MEETING_NOT_FOUND: mapping(404),
  PARTICIPANT_NOT_FOUND: mapping(404),
  RECORDING_NOT_FOUND: mapping(404),
  NODE_NOT_FOUND: mapping(404),
  EMAIL_TAKEN: mapping(409),
  MEETING_ENDED: mapping(410, WS_CLOSE.MEETING_ENDED),
  /** Only ever a close code: the media node no longer serves the meeting, another one does (or will). */
  MEETING_MOVED: mapping(409, WS_CLOSE.MEETING_MOVED),
  ALREADY_RECORDING: mapping(409),
  NOT_RECORDING: mapping(409),
  /** Also how a socket learns a newer connection replaced it. */
  CONFLICT: mapping(409, WS_CLOSE.REPLACED),
  PAYLOAD_TOO_LARGE: mapping(413),
  UNSUPPORTED_MEDIA_TYPE: mapping(415),
  RATE_LIMITED: mapping(429),
  /** Not 503: a full meeting stays full for a while, and a 5xx invites clients and proxies to retry. */
  MEETING_FULL: mapping(409),
  NO_MEDIA_CAPACITY: mapping(503, WS_CLOSE.NODE_DRAINING),
  NODE_DRAINING: mapping(503, WS_CLOSE.NODE_DRAINING),
  /** Postgres unreachable: routes that need it answer this; meetings (Durable Objects) go on. */
  DATABASE_UNAVAILABLE: mapping(503),
  MEDIA_ERROR: mapping(500),
  DISK_FULL: mapping(507),
  INTERNAL: mapping(500),
} as const satisfies Record<string, ErrorMapping>;

export type ErrorCode = keyof typeof ERRORS;
export const errorCodeSchema = z.enum(Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]]);

export function httpStatusOf(code: ErrorCode): number {
  return ERRORS[code].status;
}

/** Close code of a socket closed for this error (INTERNAL's for codes without their own). */
export function wsCloseCodeOf(code: ErrorCode): number {
  return ERRORS[code].close;
}

/**
 * The error a WebSocket close code stands for, or null for codes that carry none (normal
 * closure, going away, network drops). Where several codes share a close code, the one named
 * like it in WS_CLOSE wins, else the first in the table (REPLACED → CONFLICT).
 */
export function errorCodeOfClose(closeCode: number): ErrorCode | null {
  return CODE_OF_CLOSE.get(closeCode) ?? null;
}

const CODE_OF_CLOSE: ReadonlyMap<number, ErrorCode> = (() => {
  const byClose = new Map<number, ErrorCode>();
  const codes = errorCodeSchema.options;
  for (const code of codes) if (WS_CLOSE[code as keyof typeof WS_CLOSE] === ERRORS[code].close) byClose.set(ERRORS[code].close, code);
  for (const code of codes) if (!byClose.has(ERRORS[code].close)) byClose.set(ERRORS[code].close, code);
  return byClose;
})();

/** HTTP status per error code: a view of ERRORS for callers that index by code. */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = Object.fromEntries(
  errorCodeSchema.options.map((code) => [code, ERRORS[code].status]),
) as Record<ErrorCode, number>;

export const errorBodySchema = z.object({
  error: z.object({
    code: errorCodeSchema,
    message: z.string(),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

/** A typed error any layer can throw; the boundary turns it into a status/close code and body. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AppError';
  }
  get status(): number {
    return httpStatusOf(this.code);
  }
}

/** Summarises zod issues for a client without echoing its input back. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}
