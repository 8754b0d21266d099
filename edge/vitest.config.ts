import { edgeTestConfig } from './vitest.shared.js';

/**
 * Edge tests in workerd against a real Postgres (DATABASE_URL, else the dev cluster).
 *   npm run test:edge [-- edge/test/auth.test.ts]
 * The meeting-during-an-outage test stops its database, so it runs alone: npm run test:edge:outage.
 * The security regression tests (edge/test/security) run in their own suite: npm run test:security.
 * The sharded-registry tests (edge/test/shards) need REGISTRY_SHARDS: edge/vitest.shards.config.ts.
 */
export default edgeTestConfig({
  include: ['edge/**/*.test.ts'],
  exclude: ['edge/test/outage/**', 'edge/test/security/**', 'edge/test/shards/**'],
  globalSetup: 'edge/test/global-setup.ts',
});
