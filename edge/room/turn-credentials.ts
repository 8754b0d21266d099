import type { IceServer } from '../../schema/wire/room.js';

/**
 * How long TURN credentials stay good. Longer than a media token: the browser keeps its relay
 * allocation (and refreshes it with the same credentials) for the whole media session.
 */
export const TURN_CREDENTIAL_TTL_SECONDS = 12 * 3600;

/**
 * Time-limited TURN credentials by the TURN REST scheme that coturn checks with
 * `use-auth-secret`: username `<expiry epoch s>:<who>`, password base64(HMAC-SHA1(secret,
 * username)). Nothing is stored: any TURN server sharing the secret verifies them itself.
 */
export async function turnCredentials(secret: string, urls: readonly string[], who: string, nowMs = Date.now()): Promise<IceServer> {
  const username = `${Math.floor(nowMs / 1000) + TURN_CREDENTIAL_TTL_SECONDS}:${who}`;
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(username)));
  return { urls: [...urls], username, credential: btoa(String.fromCharCode(...mac)) };
}
