import { env, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { AVATAR_MAX_BYTES, JSON_BODY_MAX_BYTES } from '../../../schema/wire/http.js';
import { RECORDING_SINGLE_UPLOAD_MAX_BYTES } from '../../../schema/wire/recording-upload.js';
import { edgeConfig } from '../../config.js';
import { mintNodeCredential } from '../../registry/credentials.js';
import { api, registerUser } from '../helpers.js';

/** Issue 13, point 7: request bodies are capped, with 413 PAYLOAD_TOO_LARGE, before they are read whole. */

/** A chunked body (no Content-Length) of `total` bytes; `pulled()` says how much was asked for. */
function endlessBody(total: number, chunk = 1024) {
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) return controller.close();
      sent += chunk;
      controller.enqueue(new TextEncoder().encode(sent === chunk ? '{"email":"' + 'a'.repeat(chunk - 10) : 'a'.repeat(chunk)));
    },
  });
  return { stream, pulled: () => sent };
}

describe('request body caps', () => {
  it('refuses a JSON body over the cap with 413, by its Content-Length', async () => {
    const response = await api('POST', '/api/auth/login', { json: { email: 'someone@example.test', password: 'x'.repeat(JSON_BODY_MAX_BYTES) } });
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('stops reading a chunked JSON body once it passes the cap', async () => {
    const total = 8 * 1024 * 1024;
    const body = endlessBody(total);
    const response = await SELF.fetch('http://edgemeet.test/api/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: body.stream });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(body.pulled()).toBeLessThan(total / 2);
  });

  it('still takes a JSON body just under the cap', async () => {
    const response = await api('POST', '/api/auth/login', { json: { email: 'someone@example.test', password: 'x'.repeat(200), pad: 'p'.repeat(JSON_BODY_MAX_BYTES - 400) } });
    expect(response.status).not.toBe(413);
  });

  it('caps avatars by their own limit, also without a Content-Length', async () => {
    const { token } = await registerUser('Avatar Cap');
    const body = endlessBody(4 * AVATAR_MAX_BYTES);
    const response = await SELF.fetch('http://edgemeet.test/api/auth/avatar', { method: 'PUT', headers: { 'Content-Type': 'image/png', Authorization: `Bearer ${token}` }, body: body.stream });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('caps a recording upload by its declared length before reading it, and wants one declared', async () => {
    const credential = await mintNodeCredential(edgeConfig(env).nodeCredentialSecret, { nodeId: 'media-body-cap', region: 'lon' });
    const url = `http://edgemeet.test/api/nodes/recordings/${crypto.randomUUID()}/files/track-1.webm`;
    const headers = { Authorization: `Bearer ${credential}`, 'x-content-sha256': '0'.repeat(64) };
    const declaredTooBig = endlessBody(4 * 1024 * 1024);
    const tooBig = await SELF.fetch(url, { method: 'PUT', headers: { ...headers, 'Content-Length': String(RECORDING_SINGLE_UPLOAD_MAX_BYTES + 1) }, body: declaredTooBig.stream });
    expect(tooBig.status).toBe(413);
    expect(declaredTooBig.pulled()).toBeLessThan(4 * 1024 * 1024);
    const undeclared = endlessBody(4 * 1024 * 1024);
    const chunked = await SELF.fetch(url, { method: 'PUT', headers, body: undeclared.stream });
    expect(chunked.status).toBe(400);
    expect(undeclared.pulled()).toBeLessThan(4 * 1024 * 1024);
  });

  it('documents 413 for every route that takes a JSON body', async () => {
    const { body: doc } = await api('GET', '/api/openapi.json');
    const jsonOperations = Object.values(doc.paths as Record<string, Record<string, { requestBody?: { content: Record<string, unknown> }; responses: Record<string, unknown> }>>)
      .flatMap((operations) => Object.values(operations))
      .filter((operation) => operation.requestBody?.content['application/json']);
    expect(jsonOperations.length).toBeGreaterThan(5);
    for (const operation of jsonOperations) expect(operation.responses).toHaveProperty('413');
  });
});
