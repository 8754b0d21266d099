import { timestamp } from 'drizzle-orm/pg-core';

/** Every timestamp is timestamptz; the app reads and writes JS Dates (UTC). */
export const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** created/updated columns shared by the mutable tables. */
export const timestamps = {
  createdAt: tstz('created_at').notNull().defaultNow(),
  updatedAt: tstz('updated_at').notNull().defaultNow(),
};
