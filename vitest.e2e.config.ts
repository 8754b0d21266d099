import { defineConfig } from 'vitest/config';

/**
 * End-to-end: the whole stack (scripts/dev-stack.ts startStack: Postgres, relay, wrangler dev,
 * a media node) driven by Debian's Chromium with fake devices. Real network on 127.0.0.1, so
 * generous timeouts and one file at a time.
 */
export default defineConfig({
  test: {
    include: ['edge/web/test/**/*.e2e.test.ts'],
    environment: 'node',
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 300_000,
    teardownTimeout: 60_000,
    reporters: ['verbose'],
  },
});
