import { uuidSchema } from '../../schema/wire/common.js';
import { randomBytes, toBase64Url } from './encoding.js';

/**
 * Session tokens are `<userId>.<32 random bytes, base64url>`: the user id names the AccountDO that
 * holds the session (no Postgres lookup), the random part is the secret. Only its SHA-256 is stored.
 */
export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;

export function newSessionToken(userId: string): string {
  return `${userId}.${toBase64Url(randomBytes(32))}`;
}

/** The user id of a well-formed token, or null. */
export function sessionTokenUserId(token: string): string | null {
  const match = /^([0-9a-fA-F-]{36})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match || !uuidSchema.safeParse(match[1]).success) return null;
  return match[1]!.toLowerCase();
}
