/**
 * Diagnostics for bench:join (`--diagnose`): an entry module around the built Worker that counts,
 * without touching the product, what each request does — storage operations of the RoomDO and
 * RegionDO (each `sql.exec` by its verb, `transactionSync`, `getAlarm`/`setAlarm` …), the
 * sub-requests each isolate part makes (Durable Object RPCs, queue sends, cache calls) and the
 * wall time spent in the Worker and in RoomDO.join. Read with GET /__bench/counters, reset with
 * DELETE (only this entry answers that path). /__bench/ping/<linkId> is the floor a join cannot
 * go under: the Worker's round trip to the RoomDO with nothing done there.
 */

/**
 * Counters by name, e.g. `room.sql.INSERT`, `worker->ROOM.join`, `cache.match`; each statement
 * also counts under `sql <class>: <its text>`.
 */
export type OpCounters = Record<string, number>;

export const COUNTERS_PATH = '/__bench/counters';
/** POST /__bench/ping/<linkId>: an empty RPC to that meeting's RoomDO through the Worker. */
export const PING_PATH = '/__bench/ping/';
/**
 * POST /__bench/emulation?off=1: queue sends (history) and cache reads (full-meeting cache) become
 * no-ops, to tell their cost in Miniflare (its queue broker and cache are local services in the
 * same workerd; in production they are remote) from the join's own. ?off=0 restores them.
 */
export const EMULATION_PATH = '/__bench/emulation';

/** The entry (plain JS, next to the bundle's worker.js). */
export const COUNTING_ENTRY = `
import product, { RoomDO, RegionDO } from './worker.js';
export * from './worker.js';

const counts = Object.create(null);
/** When set (/__bench/emulation?off=1): queue sends and cache reads answer at once, as no-ops. */
let emulationOff = false;
const bump = (key, by = 1) => { counts[key] = (counts[key] ?? 0) + by; };
const verbOf = (query) => (/^\\s*(\\w+)/.exec(query)?.[1] ?? '?').toUpperCase();
const bound = (target, value) => (typeof value === 'function' ? value.bind(target) : value);

// The runtime checks that a Durable Object gets its own state object, so storage is counted on
// the prototypes instead: each storage (and its sql) is labelled with its class when constructed.
const owners = new WeakMap();
const patched = new WeakSet();
function patchMethods(proto, label, names) {
  if (patched.has(proto)) return;
  patched.add(proto);
  for (const name of names ?? Object.getOwnPropertyNames(proto)) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, name);
    if (name === 'constructor' || !descriptor || typeof descriptor.value !== 'function') continue;
    const original = descriptor.value;
    proto[name] = function (...args) {
      const who = owners.get(this) ?? 'other';
      bump(who + label(name, args));
      if (name === 'exec') bump('sql ' + who + ': ' + String(args[0]).replace(/\\s+/g, ' ').trim().slice(0, 90));
      return original.apply(this, args);
    };
  }
}

function labelStorage(ctx, who) {
  const storage = ctx.storage;
  owners.set(storage, who);
  owners.set(storage.sql, who);
  patchMethods(Object.getPrototypeOf(storage), (name) => '.storage.' + name);
  patchMethods(Object.getPrototypeOf(storage.sql), (_name, args) => '.sql.' + verbOf(args[0]), ['exec']);
}

/** A stub whose method calls count as who->BINDING.method. */
function countingStub(stub, label) {
  return new Proxy(stub, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (typeof key !== 'string' || key === 'then' || typeof value !== 'function') return value;
      return (...args) => { bump(label + '.' + key); return Reflect.apply(value, target, args); };
    },
  });
}

function countingEnv(env, who) {
  const out = { ...env };
  for (const name of ['ROOM', 'REGION', 'ACCOUNT', 'LIMITER']) {
    const ns = env[name];
    if (!ns) continue;
    out[name] = new Proxy(ns, {
      get(target, key) {
        const value = Reflect.get(target, key, target);
        if (key === 'get') return (...args) => countingStub(Reflect.apply(value, target, args), who + '->' + name);
        return bound(target, value);
      },
    });
  }
  for (const name of ['HISTORY', 'HISTORY_DLQ']) {
    if (!env[name]) continue;
    const counted = countingStub(env[name], who + '->' + name);
    out[name] = new Proxy(counted, {
      get(target, key) {
        const value = Reflect.get(target, key, target);
        if ((key === 'send' || key === 'sendBatch') && typeof value === 'function') return (...args) => (emulationOff ? Promise.resolve() : Reflect.apply(value, target, args));
        return value;
      },
    });
  }
  return out;
}

// The cache API (the full-meeting cache on the join route): one global, counted once.
const cache = caches.default;
for (const method of ['match', 'put', 'delete']) {
  const original = cache[method].bind(cache);
  try { cache[method] = (...args) => { bump('cache.' + method); return emulationOff ? Promise.resolve(method === 'delete' ? false : undefined) : original(...args); }; } catch { /* not writable: left uncounted */ }
}

export class CountingRoomDO extends RoomDO {
  constructor(ctx, env) { labelStorage(ctx, 'room'); super(ctx, countingEnv(env, 'room')); }
  /** The floor of a join: the Worker's round trip to the meeting's RoomDO, doing nothing there. */
  async benchPing() { return { ok: true }; }
  async join(input) {
    bump('room.join');
    const started = performance.now();
    try { return await super.join(input); } finally { bump('room.joinMs', performance.now() - started); }
  }
}

export class CountingRegionDO extends RegionDO {
  constructor(ctx, env) { labelStorage(ctx, 'region'); super(ctx, countingEnv(env, 'region')); }
  async place(...args) { bump('region.place'); return super.place(...args); }
}

export default {
  ...product,
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === '${COUNTERS_PATH}') {
      const snapshot = { ...counts };
      if (request.method === 'DELETE') for (const key of Object.keys(counts)) delete counts[key];
      return Response.json(snapshot);
    }
    if (url.pathname === '${EMULATION_PATH}') {
      emulationOff = url.searchParams.get('off') === '1';
      return Response.json({ emulationOff });
    }
    if (url.pathname.startsWith('${PING_PATH}')) {
      const stub = env.ROOM.get(env.ROOM.idFromName(url.pathname.slice('${PING_PATH}'.length)));
      return Response.json(await stub.benchPing());
    }
    bump('worker.fetch');
    const started = performance.now();
    try { return await product.fetch(request, countingEnv(env, 'worker'), ctx); } finally { bump('worker.fetchMs', performance.now() - started); }
  },
};
`;

/** Per join: each counter divided by the joins counted (timings as ms per join). */
export function perJoin(counters: OpCounters): { joins: number; rows: { name: string; perJoin: number }[] } {
  const joins = counters['room.join'] ?? 0;
  const rows = Object.entries(counters)
    .filter(([name]) => name !== 'room.join')
    .map(([name, n]) => ({ name, perJoin: joins > 0 ? n / joins : Number.NaN }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return { joins, rows };
}
