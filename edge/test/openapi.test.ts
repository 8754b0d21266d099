import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { edgeConfig } from '../config.js';
import { mintNodeCredential } from '../registry/credentials.js';
import { app } from '../worker.js';
import { api } from './helpers.js';

describe('OpenAPI document', () => {
  it('lists every /api route the Worker serves, and nothing it does not', async () => {
    const response = await api('GET', '/api/openapi.json');
    expect(response.status).toBe(200);
    const doc = response.body as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');

    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`)));
    const served = new Set(
      app.routes
        .filter((route) => route.method !== 'ALL' && route.path.startsWith('/api/'))
        .map((route) => `${route.method} ${route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`),
    );
    expect([...served].filter((route) => !documented.has(route))).toEqual([]);
    expect([...documented].filter((route) => !served.has(route))).toEqual([]);
  });

  it('describes bodies, parameters and errors from the zod schemas', async () => {
    const { body: doc } = await api('GET', '/api/openapi.json');
    const register = doc.paths['/api/auth/register'].post;
    const schema = register.requestBody.content['application/json'].schema;
    expect(schema.required).toEqual(expect.arrayContaining(['email', 'displayName', 'password']));
    expect(schema.properties.displayName.maxLength).toBe(20);
    expect(register.responses['409'].description).toContain('EMAIL_TAKEN');
    const get = doc.paths['/api/meetings/{linkId}'].get;
    expect(get.parameters).toEqual([expect.objectContaining({ name: 'linkId', in: 'path', required: true })]);
    expect(doc.paths['/api/auth/avatar'].put.requestBody.content).toHaveProperty('image/png');
  });

  it('documents every path placeholder as a required path parameter', async () => {
    const { body: doc } = await api('GET', '/api/openapi.json');
    for (const [path, operations] of Object.entries(doc.paths as Record<string, Record<string, { parameters?: { name: string; in: string; required: boolean }[] }>>)) {
      const placeholders = [...path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((match) => match[1]).sort();
      for (const [method, operation] of Object.entries(operations)) {
        const documented = (operation.parameters ?? []).filter((parameter) => parameter.in === 'path' && parameter.required).map((parameter) => parameter.name).sort();
        expect({ route: `${method} ${path}`, params: documented }).toEqual({ route: `${method} ${path}`, params: placeholders });
      }
    }
  });

  it('documents the schemas the routes parse with, and the errors that parsing and auth imply', async () => {
    const { body: doc } = await api('GET', '/api/openapi.json');
    const signedFile = doc.paths['/api/recordings/{recordingId}/files/{name}'];
    const sig = signedFile.get.parameters.find((parameter: { name: string }) => parameter.name === 'sig');
    expect(sig).toMatchObject({ in: 'query', required: true, schema: { maxLength: 64 } });
    expect(signedFile.head.parameters).toEqual(signedFile.get.parameters);
    const upload = doc.paths['/api/nodes/recordings/{recordingId}/files/{name}'].put;
    expect(upload.parameters).toContainEqual(expect.objectContaining({ name: 'x-content-sha256', in: 'header', required: true }));
    expect(upload.responses['401'].description).toContain('INVALID_CREDENTIALS');
    const drain = doc.paths['/api/fleet/regions/{region}/nodes/{nodeId}/drain'].post;
    expect(drain.requestBody.required).toBe(false);
    expect(drain.responses['401'].description).toContain('UNAUTHENTICATED');
    expect(doc.paths['/api/meetings/{linkId}/join'].post.responses['400'].description).toBe('BAD_REQUEST, VALIDATION_FAILED');
  });

  it('enforces what a route declares: a WebSocket route refuses a plain request, after auth and parsing', async () => {
    const notUpgrade = await api('GET', `/api/meetings/${'a'.repeat(22)}/ws`, { headers: { 'Sec-WebSocket-Protocol': `edgemeet.room, edgemeet.session.${'s'.repeat(16)}` } });
    expect(notUpgrade.status).toBe(400);
    expect(notUpgrade.body.error.code).toBe('BAD_REQUEST');
    const badQuery = await api('GET', `/api/meetings/${'a'.repeat(22)}/ws`);
    expect(badQuery.body.error.code).toBe('VALIDATION_FAILED');
    // The session is never read from the URL: ?session= alone is as good as nothing.
    const inUrl = await api('GET', `/api/meetings/${'a'.repeat(22)}/ws?session=${'s'.repeat(16)}`, { headers: { Upgrade: 'websocket' } });
    expect(inUrl.body.error.code).toBe('VALIDATION_FAILED');

    const credential = await mintNodeCredential(edgeConfig(env).nodeCredentialSecret, { nodeId: 'node-openapi-1', region: 'lon' });
    const node = await api('GET', '/api/nodes/connect?region=lon', { token: credential });
    expect(node.body.error.code).toBe('BAD_REQUEST');
    const stranger = await api('GET', '/api/nodes/connect?region=lon');
    expect(stranger.body.error.code).toBe('INVALID_CREDENTIALS');
  });
});
