import { z } from 'zod';

/**
 * Every error that crosses a process boundary carries one of these codes. The code is the
 * contract; the message is for humans and may change. HTTP statuses and WebSocket close codes
 * are mapped here and nowhere else.
 */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  UNKNOWN_MESSAGE: 400,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  TOKEN_INVALID: 401,
  TOKEN_EXPIRED: 401,
  FORBIDDEN: 403,
  NOT_HOST: 403,
  PERMISSION_DENIED: 403,
  WRONG_PASSCODE: 403,
  GUESTS_NOT_ALLOWED: 403,
  REMOVED_BY_HOST: 403,
  MEETING_LOCKED: 403,
  ADMISSION_DENIED: 403,
  NOT_FOUND: 404,
  MEETING_NOT_FOUND: 404,
  PARTICIPANT_NOT_FOUND: 404,
  RECORDING_NOT_FOUND: 404,
  NODE_NOT_FOUND: 404,
  EMAIL_TAKEN: 409,
  MEETING_ENDED: 410,
  ALREADY_RECORDING: 409,
  NOT_RECORDING: 409,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  MEETING_FULL: 503,
  NO_MEDIA_CAPACITY: 503,
  NODE_DRAINING: 503,
  /** Postgres unreachable: routes that need it answer this; meetings (Durable Objects) go on. */
  DATABASE_UNAVAILABLE: 503,
  MEDIA_ERROR: 500,
  DISK_FULL: 507,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export const errorCodeSchema = z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]);

export const errorBodySchema = z.object({
  error: z.object({
    code: errorCodeSchema,
    message: z.string(),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** WebSocket close codes (4000–4999 are free for applications). */
export const WS_CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  TOKEN_INVALID: 4001,
  TOKEN_EXPIRED: 4002,
  REMOVED_BY_HOST: 4003,
  MEETING_ENDED: 4004,
  REPLACED: 4005,
  NODE_DRAINING: 4006,
  FORBIDDEN: 4007,
  INTERNAL: 4500,
} as const;

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
    return ERROR_STATUS[this.code];
  }
}

/** Summarises zod issues for a client without echoing its input back. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}
