import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { edgeConfig } from '../../config.js';
import { mintNodeCredential } from '../../registry/credentials.js';
import { api } from '../helpers.js';
import { openNodeSocket } from '../kits/fake-node.js';

/**
 * Issue 13, point 16 (edge): a node's credential is read from the Authorization header only —
 * never from the URL, where logs and proxies keep it — and the edge serves no metrics.
 */
describe('node credential and metrics on the edge', () => {
  it('refuses a node credential offered in the URL query', async () => {
    const credential = await mintNodeCredential(edgeConfig(env).nodeCredentialSecret, { nodeId: 'media-query-1', region: 'lon' });
    for (const name of ['credential', 'token', 'authorization']) {
      const response = await api('GET', `/api/nodes/connect?region=lon&${name}=${encodeURIComponent(credential)}`, { headers: { Upgrade: 'websocket' } });
      expect(response.status, name).toBe(401);
      expect(response.body.error.code, name).toBe('INVALID_CREDENTIALS');
    }
    const inHeader = await openNodeSocket('media-query-1', 'lon', credential);
    expect(inHeader.status).toBe(101);
    inHeader.webSocket?.accept();
    inHeader.webSocket?.close(1000, 'test done');
  });

  it('has no metrics endpoint to protect', async () => {
    for (const path of ['/api/metrics', '/api/nodes/metrics']) expect((await api('GET', path)).status, path).toBe(404);
  });
});
