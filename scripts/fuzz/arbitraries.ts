/**
 * fast-check generators of what a hostile client sends: every client→server message of the room
 * socket and of the node's signaling socket, well-formed (so handlers run, privileged ones from
 * the unprivileged too) and broken — wrong types, missing and extra fields, oversize and odd
 * unicode, other participants' ids, unknown types, non-JSON and binary frames.
 */
import fc from 'fast-check';
import { mediaRequestSchema } from '../../schema/wire/media-signaling.js';
import { roomClientMessageSchema } from '../../schema/wire/room.js';
import { FUZZ_MARK } from './findings.js';

export const ROOM_TYPES: readonly string[] = roomClientMessageSchema.options.map((option) => option.shape.type.value);
export const MEDIA_METHODS: readonly string[] = mediaRequestSchema.options.map((option) => option.shape.method.value);

/** A frame as sent: text (JSON or not) or binary; `type` when it names one. */
export interface Frame {
  data: string | Uint8Array;
  type?: string;
}

/** Text a person would never type: bidi, zero-width, lone surrogates, markup, NUL, huge. Marked. */
const oddText: fc.Arbitrary<string> = fc
  .oneof(
    fc.string({ maxLength: 30 }),
    fc.string({ unit: 'grapheme', maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.constantFrom('\u202Eevil\u202C', '\u200B\u200D\uFEFF', '<script>alert(1)</script>', '\u0000\u0007', '𝕳𝖔𝖘𝖙 (Host)', 'e\u0301\u0301\u0301', '\uD800', '\uDFFF\uD800', '﷽'.repeat(40), '../../etc/passwd', "'; DROP TABLE participants; --"),
    fc.constant('x'.repeat(2_100)),
  )
  .map((text) => `${FUZZ_MARK}${text}`);

const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  oddText,
  fc.jsonValue({ maxDepth: 2 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(null, true, false, [], {}, -1, 1e308, '', ' '),
);

function idOf(targets: readonly string[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 8, arbitrary: targets.length > 0 ? fc.constantFrom(...targets) : fc.constant('nobody-here') },
    { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/) },
    { weight: 1, arbitrary: anyValue },
  );
}

const ref = fc.option(fc.oneof({ weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 64 }) }, { weight: 1, arbitrary: anyValue }), { nil: undefined });

/** Well-formed fields of each room message type (ids aimed at the given participants). */
function roomFields(type: string, targets: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  const id = idOf(targets);
  switch (type) {
    case 'chat.send':
      return fc.record({ text: fc.oneof({ weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 80 }) }, { weight: 2, arbitrary: oddText }) });
    case 'hand.set':
      return fc.record({ raised: fc.boolean() });
    case 'host.remove':
    case 'host.admit':
    case 'host.deny':
    case 'host.lowerHand':
      return fc.record({ participantId: id });
    case 'host.mute':
      return fc.record({ participantId: id, kind: fc.constantFrom('audio', 'video') }, { requiredKeys: ['participantId'] });
    case 'host.setRole':
      return fc.record({ participantId: id, role: fc.constantFrom('cohost', 'participant') });
    case 'host.lock':
      return fc.record({ locked: fc.boolean() });
    case 'host.allowUnmute':
      return fc.record({ allowed: fc.boolean() });
    default:
      return fc.constant({});
  }
}

/** One way of breaking a message: drop a field, give one a wrong value, add one. */
function broken(message: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(message);
  return fc.oneof(
    fc.constantFrom(...keys).map((key) => Object.fromEntries(Object.entries(message).filter(([k]) => k !== key))),
    fc.tuple(fc.constantFrom(...keys), anyValue).map(([key, value]) => ({ ...message, [key]: value })),
    fc.tuple(fc.constantFrom('__proto__', 'constructor', 'role', 'participantId', 'userId', 'status', 'isHost', `${FUZZ_MARK}extra`), anyValue).map(([key, value]) => ({ ...message, [key]: value })),
  );
}

const garbage: fc.Arbitrary<Frame> = fc.oneof(
  oddText.map((data) => ({ data })),
  fc.constantFrom('{"type":', '[]', 'null', '"chat.send"', '{"type":"chat.send","text":"a"}'.repeat(3), '\u0000').map((data) => ({ data })),
  fc.uint8Array({ maxLength: 64 }).map((data) => ({ data })),
  // Over the frame cap, in bytes: 40,000 "é" are 80,000 bytes in 40,000 characters.
  fc.constantFrom('x'.repeat(70_000), 'é'.repeat(40_000)).map((text) => ({ data: JSON.stringify({ type: 'chat.send', text }), type: 'chat.send' })),
);

/**
 * Room socket frames aimed at `targets`. `end` decides whether host.end is among the well-formed
 * ones (the harness lets the host end a meeting only now and then: each one costs a new fixture).
 */
export function roomFrames(targets: readonly string[], options: { end: boolean }): fc.Arbitrary<Frame> {
  const types = options.end ? ROOM_TYPES : ROOM_TYPES.filter((type) => type !== 'host.end');
  const wellFormed = fc
    .constantFrom(...types)
    .chain((type) => fc.tuple(fc.constant(type), roomFields(type, targets), ref))
    .map(([type, fields, r]) => ({ type, ...fields, ...(r === undefined ? {} : { ref: r }) }) as Record<string, unknown>);
  const message = fc.oneof({ weight: 12, arbitrary: wellFormed }, { weight: 4, arbitrary: wellFormed.chain(broken) }, { weight: 1, arbitrary: fc.record({ type: fc.oneof(oddText, anyValue), ref }) });
  return fc.oneof(
    { weight: 20, arbitrary: message.map((m) => ({ data: JSON.stringify(m), ...(typeof m.type === 'string' ? { type: m.type } : {}) })) },
    { weight: 1, arbitrary: garbage },
  );
}

/** Ids a signaling request may aim at: transports, producers, consumers (own and others'). */
export interface MediaIds {
  transports: readonly string[];
  producers: readonly string[];
  consumers: readonly string[];
  rtpCapabilities: unknown;
}

function mediaData(method: string, ids: MediaIds): fc.Arbitrary<Record<string, unknown>> {
  const pick = (list: readonly string[]) => (list.length > 0 ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...list) }, { weight: 1, arbitrary: anyValue }) : anyValue);
  const dtlsParameters = fc.record({
    role: fc.constantFrom('client', 'server', 'auto'),
    fingerprints: fc.constant([{ algorithm: 'sha-256', value: Array.from({ length: 32 }, () => 'AB').join(':') }]),
  });
  switch (method) {
    case 'join':
      return fc.record({ rtpCapabilities: fc.oneof({ weight: 3, arbitrary: fc.constant(ids.rtpCapabilities) }, { weight: 1, arbitrary: anyValue }) });
    case 'createTransport':
      return fc.record({ direction: fc.constantFrom('send', 'recv'), forceTcp: fc.boolean() }, { requiredKeys: ['direction'] });
    case 'connectTransport':
      return fc.record({ transportId: pick(ids.transports), dtlsParameters });
    case 'restartIce':
    case 'getTransportStats':
      return fc.record({ transportId: pick(ids.transports) });
    case 'produce':
      return fc.record({
        transportId: pick(ids.transports),
        kind: fc.constantFrom('audio', 'video'),
        source: fc.constantFrom('mic', 'camera', 'screen'),
        rtpParameters: fc.oneof(anyValue, fc.constant({ codecs: [], encodings: [{ ssrc: 1111 }], headerExtensions: [], rtcp: { cname: FUZZ_MARK } })),
        paused: fc.boolean(),
      });
    case 'pauseProducer':
    case 'resumeProducer':
    case 'closeProducer':
      return fc.record({ producerId: pick(ids.producers) });
    case 'resumeConsumer':
    case 'pauseConsumer':
      return fc.record({ consumerId: pick(ids.consumers) });
    case 'setConsumerPreferredLayers':
      return fc.record({ consumerId: pick(ids.consumers), spatialLayer: fc.integer({ min: -1, max: 3 }), temporalLayer: fc.integer({ min: -1, max: 3 }) });
    case 'setReceiveBitrate':
      return fc.record({ maxBitrate: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 200_000_000 })) });
    default:
      return fc.constant({});
  }
}

/**
 * Node signaling frames `{ id, method, data }`. `leave` is left out unless `leave` is set (a
 * session that leaves is done; the harness reconnects it).
 */
export function mediaFrames(ids: MediaIds, nextId: () => number, options: { leave: boolean }): fc.Arbitrary<Frame> {
  const methods = options.leave ? MEDIA_METHODS : MEDIA_METHODS.filter((method) => method !== 'leave');
  const wellFormed = fc
    .constantFrom(...methods)
    .chain((method) => fc.tuple(fc.constant(method), mediaData(method, ids)))
    .map(([method, data]) => ({ id: 0, method, data }) as Record<string, unknown>);
  const request = fc.oneof(
    { weight: 10, arbitrary: wellFormed },
    { weight: 3, arbitrary: wellFormed.chain(broken) },
    { weight: 1, arbitrary: fc.record({ id: anyValue, method: fc.oneof(oddText, anyValue), data: anyValue }) },
  );
  return fc.oneof(
    { weight: 20, arbitrary: request.map((r) => ({ data: JSON.stringify(typeof r.id === 'number' ? { ...r, id: nextId() } : r), ...(typeof r.method === 'string' ? { type: r.method } : {}) })) },
    { weight: 1, arbitrary: garbage },
  );
}

/** `count` values of `arbitrary`, reproducible from `seed`. */
export function sample<T>(arbitrary: fc.Arbitrary<T>, count: number, seed: number): T[] {
  return count <= 0 ? [] : fc.sample(arbitrary, { numRuns: count, seed });
}
