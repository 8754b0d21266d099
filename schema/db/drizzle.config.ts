import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` diffs the tables against the committed snapshots and writes a new
// migration; `npm run db:migrate` (scripts/db-migrate.ts) applies them.
export default defineConfig({
  dialect: 'postgresql',
  schema: './schema/db/index.ts',
  out: './schema/db/migrations',
  strict: true,
  verbose: true,
});
