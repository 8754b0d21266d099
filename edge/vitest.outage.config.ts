import { edgeTestConfig } from './vitest.shared.js';

/**
 * The edge suite that stops its own Postgres mid-meeting (a cluster in .data/ of its own, so
 * nobody else's database goes down):  npm run test:edge:outage
 */
export default edgeTestConfig({
  include: ['edge/test/outage/**/*.test.ts'],
  globalSetup: 'edge/test/outage/global-setup.ts',
});
