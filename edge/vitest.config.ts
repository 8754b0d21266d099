import { fileURLToPath } from 'node:url';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

/**
 * Edge tests run inside workerd (the Worker, its Durable Objects, queues, R2) against a real
 * Postgres that the global setup starts and reaches through scripts/pg-relay.ts.
 *   npm run test:edge [-- edge/test/auth.test.ts]
 */
const root = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
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
        },
      },
    })),
  ],
  test: {
    include: ['edge/**/*.test.ts'],
    exclude: ['edge/web/**', 'node_modules/**'],
    globalSetup: ['edge/test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
