import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../schema/wire/errors.js';
import { edgeConfig } from '../../config.js';
import {
  deriveNodeCredential,
  mintNodeCredential,
  requireNodeIdentity,
  verifyNodeIdentity,
} from '../../registry/credentials.js';
import { openNodeSocket, regionStubFor, uniqueNodeId } from '../kits/fake-node.js';

/**
 * Issue 13, point 12: a node credential is bound to its node id and its region. A credential
 * whose node or region part is changed does not verify; the node-id-only credential of before
 * does not pass as a region-bound one; a credential of one region is refused in another.
 */
const SECRET = 'test-node-credential-secret-0123456789';

async function refusal(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
  return 'accepted';
}

describe('region-bound node credentials', () => {
  it('prove node and region together; a changed node, region or secret does not verify', async () => {
    const credential = await mintNodeCredential(SECRET, { nodeId: 'lon-media-7', region: 'lon' });
    expect(credential).toMatch(/^lon-media-7\.lon\.[A-Za-z0-9_-]{43}$/);
    expect(await verifyNodeIdentity(SECRET, credential)).toEqual({ nodeId: 'lon-media-7', region: 'lon' });

    const mac = credential.split('.')[2]!;
    expect(await verifyNodeIdentity(SECRET, `lon-media-7.fra.${mac}`)).toBeNull();
    expect(await verifyNodeIdentity(SECRET, `lon-media-8.lon.${mac}`)).toBeNull();
    expect(await verifyNodeIdentity('another-secret-0123456789', credential)).toBeNull();
    for (const malformed of ['', 'lon-media-7', 'lon-media-7.lon', `lon-media-7.mars.${mac}`, `lon-media-7.lon.${mac}.x`, `Lon.lon.${mac}`]) {
      expect(await verifyNodeIdentity(SECRET, malformed), malformed).toBeNull();
    }
  });

  it('the node-id-only credential of before is not region-bound: requireNodeIdentity refuses it', async () => {
    const legacy = await deriveNodeCredential(SECRET, 'lon-media-7');
    expect(await verifyNodeIdentity(SECRET, legacy)).toBeNull();
    expect(await refusal(() => requireNodeIdentity(SECRET, `Bearer ${legacy}`))).toBe('INVALID_CREDENTIALS');
  });

  it('requireNodeIdentity: the region asked for must be the credential\'s (FORBIDDEN otherwise)', async () => {
    const bound = await mintNodeCredential(SECRET, { nodeId: 'lon-media-7', region: 'lon' });
    expect(await requireNodeIdentity(SECRET, `Bearer ${bound}`, 'lon')).toEqual({ nodeId: 'lon-media-7', region: 'lon' });
    expect(await refusal(() => requireNodeIdentity(SECRET, `Bearer ${bound}`, 'fra'))).toBe('FORBIDDEN');
    expect(await refusal(() => requireNodeIdentity(SECRET, undefined, 'lon'))).toBe('INVALID_CREDENTIALS');
    expect(await refusal(() => requireNodeIdentity(SECRET, `Basic ${bound}`, 'lon'))).toBe('INVALID_CREDENTIALS');
  });

  it('matches what operators mint with scripts/node-credential.ts (the same bytes in Node)', async () => {
    // NODE_CREDENTIAL_SECRET=0123456789abcdef0123 npm run -s node-credential -- lon-media-7 lon
    const fromScript = 'lon-media-7.lon.zZnA4vNwy5npLe4xwXWqUV_PrH8E3tpxQxVPaonRj8M';
    expect(await mintNodeCredential('0123456789abcdef0123', { nodeId: 'lon-media-7', region: 'lon' })).toBe(fromScript);
    expect(await verifyNodeIdentity('0123456789abcdef0123', fromScript)).toEqual({ nodeId: 'lon-media-7', region: 'lon' });
  });

  it('a region-bound credential opens the node control socket of its region', async () => {
    const nodeId = uniqueNodeId('bound');
    const credential = await mintNodeCredential(edgeConfig(env).nodeCredentialSecret, { nodeId, region: 'lon' });
    const response = await openNodeSocket(nodeId, 'lon', credential);
    expect(response.status).toBe(101);
    response.webSocket?.accept();
    response.webSocket?.close(1000, 'test done');
  });

  it('the control socket refuses a credential of another region (403) and the node-id-only one (401); neither registers', async () => {
    const nodeId = uniqueNodeId('elsewhere');
    const london = await mintNodeCredential(edgeConfig(env).nodeCredentialSecret, { nodeId, region: 'lon' });
    const inFrankfurt = await openNodeSocket(nodeId, 'fra', london);
    expect(inFrankfurt.status).toBe(403);
    expect(((await inFrankfurt.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');

    const legacy = await deriveNodeCredential(edgeConfig(env).nodeCredentialSecret, nodeId);
    const old = await openNodeSocket(nodeId, 'fra', legacy);
    expect(old.status).toBe(401);
    expect(((await old.json()) as { error: { code: string } }).error.code).toBe('INVALID_CREDENTIALS');

    expect((await regionStubFor('fra').fleet()).some((node) => node.nodeId === nodeId)).toBe(false);
  });
});
