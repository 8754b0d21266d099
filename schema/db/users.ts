import { sql } from 'drizzle-orm';
import { pgTable, text, uniqueIndex, uuid, varchar } from 'drizzle-orm/pg-core';
import { timestamps, tstz } from './columns.js';

/** USERS. Sessions are not here: they live in each user's AccountDO (checked at the edge). */
export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    /** Lower-cased on the way in (schema/wire emailSchema). */
    email: varchar('email', { length: 254 }).notNull(),
    displayName: varchar('display_name', { length: 20 }).notNull(),
    /** `pbkdf2-sha256$<iterations>$<salt b64url>$<hash b64url>` */
    passwordHash: text('password_hash').notNull(),
    /** R2 key of the avatar (avatars/<userId>), null when none. */
    avatarKey: text('avatar_key'),
    avatarUpdatedAt: tstz('avatar_updated_at'),
    ...timestamps,
  },
  (t) => [uniqueIndex('users_email_key').on(t.email)],
);
export type UserRow = typeof users.$inferSelect;
