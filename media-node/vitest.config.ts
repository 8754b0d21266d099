import { defineConfig } from 'vitest/config';

/** `npm run test:media`: media node against real mediasoup workers and real WebRTC peers. */
export default defineConfig({
  test: {
    environment: 'node',
    include: ['media-node/test/**/*.test.ts'],
    globalSetup: ['media-node/test/global-setup.ts'],
    setupFiles: ['media-node/test/setup-worker-bin.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 600_000,
    teardownTimeout: 30_000,
  },
});
