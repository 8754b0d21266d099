import { describe, expect, it } from 'vitest';
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
});
