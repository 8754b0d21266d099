import { defineConfig } from 'vitest/config';

/**
 * End-to-end: the whole stack (scripts/dev-stack.ts startStack: Postgres, relay, wrangler dev,
 * a media node) driven by Debian's Chromium with fake devices. Real network on 127.0.0.1, so
 * generous timeouts and one file at a time.
 */
export default defineConfig({
  test: {
    include: ['edge/web/test/**/*.e2e.test.ts'],
    // Ten recordings fed known media (npm run test:recording-e2e, which sets EDGEMEET_RECORDING_E2E):
    // not yet part of npm test. About one run in ten, a camera published while recording reaches
    // its file ~1 s after its first packets reached the node (issue 12, still open), and the
    // recording rightly says it is incomplete.
    exclude: process.env.EDGEMEET_RECORDING_E2E === '1' ? [] : ['edge/web/test/recording-integrity.e2e.test.ts'],
    environment: 'node',
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 300_000,
    teardownTimeout: 60_000,
    reporters: ['verbose'],
  },
});
