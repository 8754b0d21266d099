import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { edgeConfig, MissingConfigError } from '../config.js';
import { NODE_HEARTBEAT_TIMEOUT_MS } from '../../schema/wire/node-control.js';
import { mediaAssignmentSchema } from '../../schema/wire/room.js';
import { turnCredentials } from '../room/turn-credentials.js';

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

  it('refuses TURN URLs the browser would refuse in every join answer (more than 8, or one over 300 characters)', async () => {
    // Three relay hosts, each on udp, tcp and tls: 9 URLs in the one ICE server of each answer.
    const hosts = ['turn-a.example.com', 'turn-b.example.com', 'turn-c.example.com'];
    const nine = hosts.flatMap((host) => [`turn:${host}:3478?transport=udp`, `turn:${host}:3478?transport=tcp`, `turns:${host}:443?transport=tcp`]);
    expect(() => edgeConfig(envWith({ TURN_SECRET: 'a-shared-secret', TURN_URLS: nine.join(',') }))).toThrow(/TURN_URLS: .*at most 8 URLs/);
    expect(() => edgeConfig(envWith({ TURN_SECRET: 'a-shared-secret', TURN_URLS: `turn:${'a'.repeat(300)}.example:3478` }))).toThrow(/TURN_URLS/);

    // Eight fit, and what the room hands out passes the schema the browser parses it with.
    const eight = nine.slice(0, 8);
    const turn = edgeConfig(envWith({ TURN_SECRET: 'a-shared-secret', TURN_URLS: eight.join(',') })).turn!;
    const iceServer = await turnCredentials(turn.secret, turn.urls, 'participant01');
    const assignment = { nodeId: 'node-1', region: 'lon', signalingUrl: 'wss://node-1.example', token: 'x', expiresAt: 1, iceServers: [iceServer] };
    expect(mediaAssignmentSchema.safeParse(assignment).success).toBe(true);
  });
});
