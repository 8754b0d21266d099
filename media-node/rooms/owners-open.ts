import { AppError } from '../../schema/wire/index.js';

interface Closable {
  readonly closed: boolean;
}

/**
 * mediasoup creates objects asynchronously: whatever owns the new object (participant, transport,
 * router, room) may close while the request is in flight, and mediasoup then hands back an object
 * that nothing tracks or will ever close. Call this after every such await: it returns the object
 * while all its owners are open, else closes it and throws NOT_FOUND.
 */
export function keepIfOwnersOpen<T extends Closable & { close(): void }>(created: T, owners: readonly Closable[], what: string): T {
  if (!created.closed && owners.every((owner) => !owner.closed)) return created;
  created.close();
  throw new AppError('NOT_FOUND', `${what} closed meanwhile`);
}

/** Throws NOT_FOUND when something a request works on closed during its last await. */
export function assertOpen(owners: readonly Closable[], what: string): void {
  if (owners.some((owner) => owner.closed)) throw new AppError('NOT_FOUND', `${what} closed meanwhile`);
}
