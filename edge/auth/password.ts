import { fromBase64Url, randomBytes, timingSafeEqual, toBase64Url } from './encoding.js';

/**
 * PBKDF2-SHA256 through WebCrypto. 100,000 iterations is the most deployed Workers accept (more
 * → NotSupportedError; local workerd does not enforce the cap, so it is pinned here), per-user
 * 16-byte salt.
 * Stored as `pbkdf2-sha256$<iterations>$<salt>$<hash>` so the cost can be raised later.
 */
export const PBKDF2_ITERATIONS = 100_000;
const SCHEME = 'pbkdf2-sha256';
const KEY_BITS = 256;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(password, salt, PBKDF2_ITERATIONS);
  return [SCHEME, PBKDF2_ITERATIONS, toBase64Url(salt), toBase64Url(hash)].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, iterationsText, saltText, hashText] = stored.split('$');
  const iterations = Number(iterationsText);
  if (scheme !== SCHEME || !Number.isInteger(iterations) || !saltText || !hashText) return false;
  const actual = await derive(password, fromBase64Url(saltText), iterations);
  return timingSafeEqual(actual, fromBase64Url(hashText));
}

/** Spends the same time as a real check, so unknown emails cannot be told apart by timing. */
export async function burnPasswordCheck(password: string): Promise<void> {
  await derive(password, DUMMY_SALT, PBKDF2_ITERATIONS);
}
const DUMMY_SALT = new Uint8Array(16);

export async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, key, KEY_BITS);
  return new Uint8Array(bits);
}
