import { nodeIdSchema } from '../../schema/wire/common.js';
import { AppError } from '../../schema/wire/errors.js';
import { fromBase64Url, toBase64Url } from '../auth/encoding.js';

/**
 * Shared secrets compared without leaking timing: node credentials (HMAC-SHA256 of the node id
 * under NODE_CREDENTIAL_SECRET), the admin token and meeting passcodes.
 */
const encoder = new TextEncoder();

function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

/** The credential an operator hands a node: `<nodeId>.<base64url HMAC-SHA256(secret, nodeId)>`. */
export async function deriveNodeCredential(secret: string, nodeId: string): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret), encoder.encode(nodeId));
  return `${nodeId}.${toBase64Url(new Uint8Array(mac))}`;
}

/** The node id a credential proves, or null. HMAC verify compares in constant time. */
export async function verifyNodeCredential(secret: string, credential: string): Promise<string | null> {
  const dot = credential.lastIndexOf('.');
  if (dot <= 0) return null;
  const nodeId = credential.slice(0, dot);
  if (!nodeIdSchema.safeParse(nodeId).success) return null;
  const macText = credential.slice(dot + 1);
  if (!/^[A-Za-z0-9_-]{43}$/.test(macText)) return null;
  const mac = fromBase64Url(macText);
  const ok = await crypto.subtle.verify('HMAC', await hmacKey(secret), mac, encoder.encode(nodeId));
  return ok ? nodeId : null;
}

/** Constant-time string equality: compares fixed-length digests, so length leaks nothing either. */
export async function safeEqual(a: string, b: string): Promise<boolean> {
  const [digestA, digestB] = await Promise.all([crypto.subtle.digest('SHA-256', encoder.encode(a)), crypto.subtle.digest('SHA-256', encoder.encode(b))]);
  return crypto.subtle.timingSafeEqual(digestA, digestB);
}

/** `Authorization: Bearer <token>` → token, or null. */
export function bearerToken(header: string | null | undefined): string | null {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return match ? match[1]! : null;
}

/** The node a request's `Authorization: Bearer <nodeId>.<hmac>` proves; INVALID_CREDENTIALS otherwise. */
export async function requireNodeCredential(secret: string, authorization: string | null | undefined): Promise<string> {
  const credential = bearerToken(authorization);
  const nodeId = credential ? await verifyNodeCredential(secret, credential) : null;
  if (!nodeId) throw new AppError('INVALID_CREDENTIALS', 'node credential missing or wrong (Authorization: Bearer <nodeId>.<hmac>)');
  return nodeId;
}
