import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { edgeConfig, MissingConfigError } from '../config.js';
import { NODE_HEARTBEAT_TIMEOUT_MS } from '../../schema/wire/node-control.js';

/** Only what the test reads matters: edgeConfig takes the Worker's Env, bindings and all. */
const envWith = (vars: Record<string, string>) => ({ ...env, ...vars }) as Env;

describe('edge configuration (edge/config.ts)', () => {
  it('parses the Worker env once per env object', () => {
    const config = edgeConfig(env);
    expect(edgeConfig(env)).toBe(config);
    expect(config).toMatchObject({ publicUrl: 'http://edgemeet.test', defaultRegion: 'lon', heartbeatTimeoutMs: NODE_HEARTBEAT_TIMEOUT_MS, recordingsVisibility: 'participants' });
    expect(config.databaseUrl).toMatch(/^postgres/);
  });

  it('normalises: empty means unset, base URLs lose trailing slashes, unknown regions fall back to London', () => {
    const config = edgeConfig(envWith({ PUBLIC_URL: 'https://meet.example/', DB_WS_PROXY: '', DEFAULT_REGION: 'atlantis', NODE_HEARTBEAT_TIMEOUT_MS: '', ADMIN_TOKEN: '' }));
    expect(config).toMatchObject({ publicUrl: 'https://meet.example', dbWsProxy: null, defaultRegion: 'lon', heartbeatTimeoutMs: NODE_HEARTBEAT_TIMEOUT_MS, adminToken: null });
  });

  it('names the variable that is malformed, or missing where it is needed', () => {
    expect(() => edgeConfig(envWith({ NODE_HEARTBEAT_TIMEOUT_MS: 'soon' }))).toThrow(/NODE_HEARTBEAT_TIMEOUT_MS/);
    expect(() => edgeConfig(envWith({ RECORDINGS_VISIBILITY: 'everyone' }))).toThrow(/RECORDINGS_VISIBILITY/);
    const config = edgeConfig(envWith({ URL_SIGNING_SECRET: '' }));
    expect(() => config.urlSigningSecret).toThrow(MissingConfigError);
    expect(() => config.urlSigningSecret).toThrow(/URL_SIGNING_SECRET is not set/);
  });
});
