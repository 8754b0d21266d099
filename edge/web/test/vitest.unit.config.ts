import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Unit tests of the browser app's pure parts (connection rules, the person's device choice and
 * what is published from it), run under node with fakes for the browser objects they touch.
 * `npx vitest run --config edge/web/test/vitest.unit.config.ts`
 */
export default defineConfig({
  root: fileURLToPath(new URL('../../..', import.meta.url)),
  test: {
    include: ['edge/web/test/**/*.unit.test.ts'],
    environment: 'node',
    reporters: ['default'],
  },
});
