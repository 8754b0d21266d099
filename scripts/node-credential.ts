/**
 * Mints a media node's credential for operators:
 *   NODE_CREDENTIAL_SECRET=… npm run -s node-credential -- <nodeId>
 * prints `<nodeId>.<base64url HMAC-SHA256(secret, nodeId)>`, the value of the node's NODE_CREDENTIAL.
 */
import { nodeIdSchema } from '../schema/wire/common.js';
import { nodeCredential } from './dev-stack/secrets.js';

const nodeId = nodeIdSchema.safeParse(process.argv[2]);
const secret = process.env.NODE_CREDENTIAL_SECRET ?? '';
if (!nodeId.success || secret.length < 16) {
  console.error('usage: NODE_CREDENTIAL_SECRET=<the edge secret, ≥ 16 chars> npm run -s node-credential -- <node id, e.g. lon-media-7>');
  process.exit(2);
}
console.log(nodeCredential(secret, nodeId.data));
