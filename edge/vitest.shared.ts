import { fileURLToPath } from 'node:url';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * An edge test suite: the Worker, its Durable Objects, queues and R2 inside workerd, against the
 * real Postgres that `globalSetup` starts and reaches through scripts/pg-relay.ts.
 */
export function edgeTestConfig(suite: { include: string[]; exclude?: string[]; globalSetup: string; bindings?: Record<string, string> }) {
  return defineConfig({
    root,
    plugins: [
      cloudflareTest(({ inject }) => ({
        wrangler: { configPath: `${root}/wrangler.toml` },
        miniflare: {
          // No network calls for request.cf data.
          cf: false,
          bindings: {
            DATABASE_URL: inject('databaseUrl'),
            DB_WS_PROXY: inject('dbWsProxy'),
            TEST_CONTROL_URL: inject('testControlUrl'),
            MEDIA_TOKEN_PRIVATE_JWK: inject('mediaTokenPrivateJwk'),
            MEDIA_TOKEN_PUBLIC_JWK: inject('mediaTokenPublicJwk'),
            NODE_CREDENTIAL_SECRET: 'test-node-credential-secret-0123456789',
            ADMIN_TOKEN: 'test-admin-token-0123456789',
            URL_SIGNING_SECRET: 'test-url-signing-secret-0123456789',
            PUBLIC_URL: 'http://edgemeet.test',
            TURN_SECRET: 'test-turn-secret-0123456789',
            TURN_URLS: 'turn:127.0.0.1:3478?transport=udp,turn:127.0.0.1:3478?transport=tcp',
            // A suite's own variables (edge/vitest.shards.config.ts: REGISTRY_SHARDS).
            ...suite.bindings,
          },
        },
      })),
    ],
    test: {
      include: suite.include,
      exclude: ['edge/web/**', 'node_modules/**', ...(suite.exclude ?? [])],
      globalSetup: [suite.globalSetup],
      testTimeout: 60_000,
      hookTimeout: 120_000,
      // Durable Objects keep logging (e.g. a RegionDO noticing a test's node socket close) after a
      // test file's worker shut down; vitest reports that late console line as an unhandled
      // EnvironmentTeardownError although every test passed. Ignore exactly that, nothing else.
      onUnhandledError: (error) => !(error.name === 'EnvironmentTeardownError' && /onUserConsoleLog/.test(error.message)),
    },
  });
}
