import { edgeTestConfig } from './vitest.shared.js';

/**
 * The edge's security regression tests (issue 13), in workerd against the real Postgres like
 * test:edge:  npm run test:security [-- edge/test/security/login-race.test.ts]
 * edge/vitest.config.ts leaves edge/test/security/** out, so these run once. The media node's
 * security tests (points 0, 6 and 8: orphaned consumers, per-session request limits, echoed
 * method names) live in media-node/test and run with test:media.
 */
export default edgeTestConfig({
  include: ['edge/test/security/**/*.test.ts'],
  globalSetup: 'edge/test/global-setup.ts',
});
