import { fromBase64Url, toBase64Url } from '../auth/encoding.js';

/**
 * Signed, expiring download links for recording files: HMAC-SHA256(URL_SIGNING_SECRET) over the
 * object key and the expiry. Anyone holding the link may fetch the file until it expires — the
 * permission check happens when the link is issued (GET /api/recordings/:id/download).
 */
const encoder = new TextEncoder();
export const DOWNLOAD_LINK_TTL_SECONDS = 15 * 60;

function key(secret: string): ReturnType<typeof crypto.subtle.importKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

const payload = (objectKey: string, expires: number) => encoder.encode(`GET\n${objectKey}\n${expires}`);

/** Object key of a recording file in R2 (the one place these keys are built). */
export function recordingObjectKey(recordingId: string, name: string): string {
  return `recordings/${recordingId}/${name}`;
}

export async function signDownload(secret: string, recordingId: string, name: string, expires: number): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', await key(secret), payload(recordingObjectKey(recordingId, name), expires));
  return `/api/recordings/${recordingId}/files/${encodeURIComponent(name)}?expires=${expires}&sig=${toBase64Url(new Uint8Array(mac))}`;
}

/** True when the signature matches and the link has not expired (HMAC verify is constant time). */
export async function verifyDownload(secret: string, recordingId: string, name: string, expires: number, sig: string, nowSeconds: number): Promise<boolean> {
  if (!Number.isSafeInteger(expires) || expires < nowSeconds) return false;
  if (!/^[A-Za-z0-9_-]{43}$/.test(sig)) return false;
  return crypto.subtle.verify('HMAC', await key(secret), fromBase64Url(sig), payload(recordingObjectKey(recordingId, name), expires));
}
