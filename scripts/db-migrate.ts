/**
 * Applies the committed drizzle migrations (schema/db/migrations) to DATABASE_URL with node-postgres.
 *   DATABASE_URL=postgres://… npm run db:migrate
 * Unlike `drizzle-kit migrate`, a failing migration prints Postgres' own error (code, detail,
 * position, hint) and exits 1.
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { z } from 'zod';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../schema/db/migrations', import.meta.url));

export async function runMigrations(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await migrate(drizzle(client), { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await client.end();
  }
}

/** Postgres' error fields, found on the error or on its `cause` (drizzle wraps query errors). */
export function describeMigrationError(error: unknown): string {
  const lines: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    if (current instanceof Error) {
      lines.push(current.message);
      const pgFields = current as Partial<pg.DatabaseError>;
      for (const field of ['code', 'detail', 'hint', 'position', 'where', 'table', 'constraint'] as const) {
        if (pgFields[field]) lines.push(`  ${field}: ${String(pgFields[field])}`);
      }
      current = (current as { cause?: unknown }).cause;
    } else {
      lines.push(String(current));
      break;
    }
  }
  return lines.join('\n');
}

const configSchema = z.object({ DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must be a postgres:// URL') });

async function main(): Promise<void> {
  const parsed = configSchema.safeParse(process.env);
  if (!parsed.success) {
    console.error('db-migrate: DATABASE_URL is not set (try: eval "$(bash scripts/postgres.sh start)")');
    process.exit(1);
  }
  try {
    await runMigrations(parsed.data.DATABASE_URL);
    console.log(`db-migrate: migrations in ${path.relative(process.cwd(), MIGRATIONS_FOLDER)} applied`);
  } catch (error) {
    console.error(`db-migrate: migration failed\n${describeMigrationError(error)}`);
    process.exit(1);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
