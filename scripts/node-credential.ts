/**
 * Mints a media node's credential for operators:
 *   NODE_CREDENTIAL_SECRET=… npm run -s node-credential -- <nodeId> <region>
 * prints `<nodeId>.<region>.<base64url HMAC-SHA256(secret, "edgemeet-node/v2\n<nodeId>\n<region>")>`,
 * the value of the node's NODE_CREDENTIAL. It is bound to the node id and the region: the edge
 * lets it register in that region's registry only (edge/registry/credentials.ts verifies it).
 */
import { createHmac } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { MEDIA_REGIONS, type RegionId } from '../schema/regions.js';
import { nodeIdSchema } from '../schema/wire/common.js';

/** The same credential edge/registry/credentials.ts mintNodeCredential makes, with Node's crypto (for scripts). */
export function regionNodeCredential(secret: string, nodeId: string, region: RegionId): string {
  const mac = createHmac('sha256', secret).update(`edgemeet-node/v2\n${nodeId}\n${region}`).digest('base64url');
  return `${nodeId}.${region}.${mac}`;
}

function main(): void {
  const nodeId = nodeIdSchema.safeParse(process.argv[2]);
  const region = MEDIA_REGIONS.find((candidate) => candidate.id === process.argv[3]);
  const secret = process.env.NODE_CREDENTIAL_SECRET ?? '';
  if (!nodeId.success || !region || secret.length < 16) {
    console.error(
      `usage: NODE_CREDENTIAL_SECRET=<the edge secret, ≥ 16 chars> npm run -s node-credential -- <node id, e.g. lon-media-7> <region: ${MEDIA_REGIONS.map((r) => r.id).join(' | ')}>`,
    );
    process.exit(2);
  }
  console.log(regionNodeCredential(secret, nodeId.data, region.id));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
