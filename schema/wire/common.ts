import { z } from 'zod';
import { AppError } from './errors.js';

export const uuidSchema = z.uuid();
/** Unguessable, URL-safe meeting link id: 16 random bytes in base64url (128 bits). */
export const meetingLinkIdSchema = z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'not a meeting link id');
export const participantIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'not a participant id');
export const nodeIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'not a node id');
/** Text that goes to Postgres as it is: a NUL character cannot be stored there (a 500 otherwise). */
export const NO_NUL = [(text: string) => !text.includes('\u0000'), 'contains a NUL character'] as const;
export const displayNameSchema = z
  .string()
  .trim()
  .min(1, 'display name is empty')
  .max(20, 'display name is longer than 20 characters')
  .refine(...NO_NUL);
/** ISO 8601 with an offset; year 0000 is valid ISO but not a year Postgres reads (a 500 otherwise). */
export const isoDateSchema = z.iso.datetime({ offset: true }).refine((text) => !text.startsWith('0000'), 'year 0000 is not a date');

/** attendee: a webinar's audience — receives, chats, raises a hand; publishes nothing until the host invites them to speak. */
export const roleSchema = z.enum(['host', 'cohost', 'participant', 'guest', 'attendee']);
export type Role = z.infer<typeof roleSchema>;

export const mediaKindSchema = z.enum(['audio', 'video']);
export type MediaKind = z.infer<typeof mediaKindSchema>;
/** What a producer carries: mic, camera or screen share (screen audio is not captured). */
export const mediaSourceSchema = z.enum(['mic', 'camera', 'screen']);
export type MediaSource = z.infer<typeof mediaSourceSchema>;

export const permissionSchema = z.enum(['publish', 'subscribe', 'screen', 'record']);
export type Permission = z.infer<typeof permissionSchema>;

/**
 * Exhaustiveness guard for switches over a union: compiles only when every case is handled.
 * Reached at run time only when a value slipped past its schema; it is then an unknown message.
 */
export function assertNever(value: never, what = 'value'): never {
  const shown = JSON.stringify(value) ?? String(value);
  throw new AppError('UNKNOWN_MESSAGE', `unhandled ${what}: ${shown.slice(0, 200)}`);
}
