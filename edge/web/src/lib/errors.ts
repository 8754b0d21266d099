import type { ErrorCode } from '../wire.js';

/** What the person sees for each error code: plain words, and what they can do about it. */
const MESSAGES: Partial<Record<ErrorCode, string>> = {
  INVALID_CREDENTIALS: 'That email and password do not match an account.',
  EMAIL_TAKEN: 'An account with that email already exists. Sign in instead.',
  UNAUTHENTICATED: 'Please sign in first.',
  WRONG_PASSCODE: 'Wrong passcode. Check the passcode the host shared and try again.',
  GUESTS_NOT_ALLOWED: 'This meeting is for signed-in users only. Sign in to join.',
  REMOVED_BY_HOST: 'You were removed from this meeting by the host.',
  MEETING_LOCKED: 'The host has locked this meeting. Nobody new can join right now.',
  ADMISSION_DENIED: 'The host declined your request to join this meeting.',
  MEETING_NOT_FOUND: 'This meeting does not exist. Check the link.',
  MEETING_ENDED: 'This meeting has ended.',
  MEETING_MOVED: 'The meeting moved to another media server; reconnecting…',
  MEETING_FULL: 'This meeting is full.',
  NO_MEDIA_CAPACITY: 'No media server has room right now. Try again in a minute.',
  NOT_HOST: 'Only the host can do that.',
  PERMISSION_DENIED: 'The host has not allowed that in this meeting.',
  RATE_LIMITED: 'Too many attempts. Wait a moment and try again.',
  TOKEN_EXPIRED: 'Your session expired. Rejoin the meeting.',
  TOKEN_INVALID: 'Your session is no longer valid. Rejoin the meeting.',
  ALREADY_RECORDING: 'The meeting is already being recorded.',
  NOT_RECORDING: 'The meeting is not being recorded.',
  NODE_DRAINING: 'The media server is restarting; reconnecting…',
  DATABASE_UNAVAILABLE: 'We cannot reach our database right now. Meetings in progress carry on; try this again in a moment.',
};

/**
 * The person's words for a code. With RATE_LIMITED, `retryAfterMs` (from Retry-After or the
 * error's retryAfterMs) replaces "wait a moment" with how long; the other texts say it already.
 */
export function describeError(code: ErrorCode, fallback?: string, retryAfterMs?: number): string {
  if (code === 'RATE_LIMITED' && retryAfterMs !== undefined && retryAfterMs > 0) return `Too many attempts. ${tryAgainIn(retryAfterMs)}`;
  return MESSAGES[code] ?? fallback ?? 'Something went wrong. Please try again.';
}

/** "Try again in 42 seconds." / "… in 3 minutes." (rounded up: never earlier than the server said). */
export function tryAgainIn(retryAfterMs: number): string {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  if (seconds < 120) return `Try again in ${seconds} second${seconds === 1 ? '' : 's'}.`;
  return `Try again in ${Math.ceil(seconds / 60)} minutes.`;
}

/** The host muted this person and has turned off "participants may unmute themselves". */
export const HOST_HOLDS_MUTE = 'The host muted you and has not allowed participants to unmute themselves. You can unmute when the host allows it.';

/** Friendly text for a getUserMedia/getDisplayMedia failure. */
export function describeMediaError(error: unknown, what: 'camera' | 'microphone' | 'screen'): string {
  const name = error instanceof DOMException ? error.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return what === 'screen'
      ? 'Screen sharing was cancelled or refused.'
      : `Access to your ${what} was refused. Allow it in the browser's site settings (the icon in the address bar), then try again.`;
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return `No ${what} was found.`;
  if (name === 'NotReadableError') return `Your ${what} is in use by another application.`;
  return `Could not start your ${what}.`;
}
