import { env, SELF } from 'cloudflare:test';
import { edgeConfig } from '../config.js';
import { withDb, type Db } from '../db/client.js';

/** HTTP against the Worker (in workerd) with JSON in and out. */
export async function api(
  method: string,
  path: string,
  options: { token?: string; json?: unknown; body?: BodyInit; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let body = options.body;
  if (options.json !== undefined) {
    headers['Content-Type'] ??= 'application/json';
    body = JSON.stringify(options.json);
  }
  const response = await SELF.fetch(`http://edgemeet.test${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${crypto.randomUUID()}@example.test`;
}

/** A fresh account and its session token. */
export async function registerUser(displayName = 'Ada'): Promise<{ token: string; user: { id: string; email: string; displayName: string }; password: string }> {
  const password = 'correct horse battery';
  // Each test user comes from its own address, so the per-IP registration limit never bites here.
  const headers = { 'CF-Connecting-IP': `198.51.100.${crypto.randomUUID()}` };
  const response = await api('POST', '/api/auth/register', { json: { email: uniqueEmail(), displayName, password }, headers });
  if (response.status !== 201) throw new Error(`register failed: ${response.status} ${JSON.stringify(response.body)}`);
  return { token: response.body.token, user: response.body.user, password };
}

/** Postgres of the test run (through the relay, like the Worker). */
export function db<T>(work: (db: Db) => Promise<T>, databaseUrl = edgeConfig(env).databaseUrl): Promise<T> {
  return withDb({ databaseUrl, dbWsProxy: edgeConfig(env).dbWsProxy }, work);
}
