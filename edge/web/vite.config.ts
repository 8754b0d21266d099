import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The browser app: plain TypeScript + DOM, built into edge/web/dist, which wrangler.toml serves
// as the Worker's static assets (SPA fallback for /m/<linkId> etc.; /api/* goes to the Worker).
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 800,
    rollupOptions: {
      // zod ships comments Rollup cannot place; harmless, and noisy in every build.
      onwarn(warning, warn) {
        if (warning.code === 'INVALID_ANNOTATION') return;
        warn(warning);
      },
    },
  },
  server: {
    host: '127.0.0.1',
    // `vite dev` against a running `npm start`: API and sockets go to wrangler dev.
    proxy: { '/api': { target: 'http://127.0.0.1:8787', ws: true } },
  },
});
