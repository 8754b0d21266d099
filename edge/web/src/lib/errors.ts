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
  ADMISSION_DENIED: 'The host did not let you in.',
  MEETING_NOT_FOUND: 'This meeting does not exist. Check the link.',
  MEETING_ENDED: 'This meeting has ended.',
  MEETING_FULL: 'This meeting is full.',
  NO_MEDIA_CAPACITY: 'No media server has room right now. Try again in a minute.',
  NOT_HOST: 'Only the host can do that.',
  PERMISSION_DENIED: 'You are not allowed to do that.',
  RATE_LIMITED: 'Too many attempts. Wait a moment and try again.',
  TOKEN_EXPIRED: 'Your session expired. Rejoin the meeting.',
  TOKEN_INVALID: 'Your session is no longer valid. Rejoin the meeting.',
  ALREADY_RECORDING: 'The meeting is already being recorded.',
  NOT_RECORDING: 'The meeting is not being recorded.',
  NODE_DRAINING: 'The media server is restarting; reconnecting…',
  DATABASE_UNAVAILABLE: 'We cannot reach our database right now. Meetings in progress carry on; try this again in a moment.',
};

export function describeError(code: ErrorCode, fallback?: string): string {
  return MESSAGES[code] ?? fallback ?? 'Something went wrong. Please try again.';
}

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
