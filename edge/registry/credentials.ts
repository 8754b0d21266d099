import { regionIdSchema, type RegionId } from '../../schema/regions.js';
import { nodeIdSchema } from '../../schema/wire/common.js';
import { AppError } from '../../schema/wire/errors.js';
import { fromBase64Url, toBase64Url } from '../auth/encoding.js';

/**
 * Shared secrets compared without leaking timing: node credentials (HMAC-SHA256 under
 * NODE_CREDENTIAL_SECRET), the admin token and meeting passcodes.
 *
 * A node credential is bound to its node id and its region (issue 13, point 12):
 *   `<nodeId>.<region>.<base64url HMAC-SHA256(secret, "edgemeet-node/v2\n<nodeId>\n<region>")>`
 * so a node can neither act for another node nor register in another region's registry. The
 * older `<nodeId>.<base64url HMAC(secret, nodeId)>` binds the node id only; requireNodeIdentity
 * refuses it (deriveNodeCredential mints it only so tests can show that).
 */
const encoder = new TextEncoder();
const MAC_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export interface NodeIdentity {
  nodeId: string;
  region: RegionId;
}

function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

/** What the MAC covers; the prefix keeps it apart from the older node-id-only MAC. */
function boundText(identity: NodeIdentity): string {
  return `edgemeet-node/v2\n${identity.nodeId}\n${identity.region}`;
}

/** The credential an operator hands a node: bound to its node id and region. */
export async function mintNodeCredential(secret: string, identity: NodeIdentity): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret), encoder.encode(boundText(identity)));
  return `${identity.nodeId}.${identity.region}.${toBase64Url(new Uint8Array(mac))}`;
}

/** The node and region a region-bound credential proves, or null. HMAC verify compares in constant time. */
export async function verifyNodeIdentity(secret: string, credential: string): Promise<NodeIdentity | null> {
  const parts = credential.split('.');
  if (parts.length !== 3) return null;
  const [nodeIdText, regionText, macText] = parts as [string, string, string];
  const nodeId = nodeIdSchema.safeParse(nodeIdText);
  const region = regionIdSchema.safeParse(regionText);
  if (!nodeId.success || !region.success || !MAC_PATTERN.test(macText)) return null;
  const identity = { nodeId: nodeId.data, region: region.data };
  const ok = await crypto.subtle.verify('HMAC', await hmacKey(secret), fromBase64Url(macText), encoder.encode(boundText(identity)));
  return ok ? identity : null;
}

/**
 * The older credential, bound to the node id only: `<nodeId>.<base64url HMAC-SHA256(secret, nodeId)>`.
 * @deprecated mint with mintNodeCredential (node id and region); this one cannot pass requireNodeIdentity.
 */
export async function deriveNodeCredential(secret: string, nodeId: string): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret), encoder.encode(nodeId));
  return `${nodeId}.${toBase64Url(new Uint8Array(mac))}`;
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

/**
 * The node and region a request's region-bound credential proves. INVALID_CREDENTIALS for a
 * missing, wrong or older (node-id-only) credential; FORBIDDEN when `region` (where the node
 * asks to register) is not the credential's.
 */
export async function requireNodeIdentity(secret: string, authorization: string | null | undefined, region?: string): Promise<NodeIdentity> {
  const credential = bearerToken(authorization);
  const identity = credential ? await verifyNodeIdentity(secret, credential) : null;
  if (!identity) {
    throw new AppError('INVALID_CREDENTIALS', 'node credential missing, wrong or not bound to a region (Authorization: Bearer <nodeId>.<region>.<hmac>; npm run node-credential)');
  }
  if (region !== undefined && region !== identity.region) throw new AppError('FORBIDDEN', `this credential registers in ${identity.region} only`);
  return identity;
}
