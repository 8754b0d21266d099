/**
 * Test kit for RoomDO tests: configured meetings, joins through the Worker, room sockets.
 */
import { env, runInDurableObject, SELF } from 'cloudflare:test';
import type { HistoryMessage, HistoryRecord } from '../../../schema/wire/history.js';
import { roomSocketProtocols, type MeetingSettings } from '../../../schema/wire/http.js';
import { roomServerMessageSchema, type RoomClientMessage, type RoomServerMessage } from '../../../schema/wire/room.js';
import { randomBytes, toBase64Url } from '../../auth/encoding.js';
import { roomStub as roomStubOf } from '../../durable-objects.js';
import type { RoomDO } from '../../room/room-do.js';
import type { RegionId } from '../../../schema/regions.js';
import { api } from '../helpers.js';
import { connectFakeNode, MessageInbox } from './fake-node.js';

/** How long a room socket is waited for (a message, its close) before the wait fails. */
const ROOM_WAIT_MS = 5_000;

export function newLinkId(): string {
  return toBase64Url(randomBytes(16));
}

export function roomStub(linkId: string) {
  return roomStubOf(env, linkId);
}

/** Configures a meeting straight on its RoomDO (as the meetings routes do after Postgres). */
export async function configureMeeting(hostUserId: string, overrides: Partial<MeetingSettings> = {}): Promise<MeetingSettings> {
  const settings: MeetingSettings = {
    meetingId: crypto.randomUUID(),
    linkId: newLinkId(),
    title: 'Weekly sync',
    hostUserId,
    hostName: 'Ada',
    passcode: null,
    allowGuests: true,
    mode: 'meeting',
    waitingRoom: false,
    maxParticipants: 100,
    scheduledStart: null,
    endedAt: null,
    version: Date.now(),
    ...overrides,
  };
  await roomStub(settings.linkId).configure(settings);
  return settings;
}

/**
 * Puts a recording queue in front of the room's real HISTORY queue (the outbox's seam): answers
 * the list every history record sent from then on lands in.
 */
export async function recordHistory(linkId: string): Promise<HistoryRecord[]> {
  const sent: HistoryRecord[] = [];
  await runInDurableObject(roomStub(linkId), (instance: RoomDO) => {
    const real = env.HISTORY;
    instance.room.outbox.queue = {
      send: (body: HistoryMessage) => real.send(body),
      sendBatch: async (messages: Iterable<MessageSendRequest<HistoryMessage>>) => {
        const list = [...messages];
        for (const message of list) sent.push(...(Array.isArray(message.body) ? message.body : [message.body]));
        return real.sendBatch(list);
      },
    } as Queue<HistoryMessage>;
  });
  return sent;
}

export type CfLocation = { latitude?: string; longitude?: string; country?: string; continent?: string };

/** `ip`: the client address Cloudflare would report (CF-Connecting-IP). */
export async function joinMeeting(linkId: string, body: unknown, options: { token?: string; cf?: CfLocation; ip?: string } = {}) {
  const ipHeader: Record<string, string> = options.ip ? { 'CF-Connecting-IP': options.ip } : {};
  if (!options.cf) return api('POST', `/api/meetings/${linkId}/join`, { json: body, headers: ipHeader, ...(options.token ? { token: options.token } : {}) });
  const headers: Record<string, string> = { 'Content-Type': 'application/json', ...ipHeader };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const response = await SELF.fetch(`http://edgemeet.test/api/meetings/${linkId}/join`, { method: 'POST', headers, body: JSON.stringify(body), cf: options.cf });
  return { status: response.status, body: (await response.json()) as any, headers: response.headers };
}

export class RoomClient {
  readonly inbox = new MessageInbox<RoomServerMessage>();
  closeCode: number | null = null;
  private readonly closed: Promise<number>;

  constructor(readonly ws: WebSocket) {
    ws.addEventListener('message', (event) => this.inbox.push(roomServerMessageSchema.parse(JSON.parse(event.data as string))));
    this.closed = new Promise((resolve) =>
      ws.addEventListener('close', (event) => {
        this.closeCode = event.code;
        resolve(event.code);
      }),
    );
  }

  send(message: RoomClientMessage | Record<string, unknown> | string): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The first `type` message (received or to come) that matches; fails naming it after timeoutMs. */
  next<T extends RoomServerMessage['type']>(
    type: T,
    match: (message: Extract<RoomServerMessage, { type: T }>) => boolean = () => true,
    timeoutMs = ROOM_WAIT_MS,
  ) {
    return this.inbox.next(
      (m): m is Extract<RoomServerMessage, { type: T }> => m.type === type && match(m as Extract<RoomServerMessage, { type: T }>),
      timeoutMs,
      `room message '${type}' matching ${match.toString()}`,
    );
  }

  /** Sends a message with a ref and waits for its ack or error. */
  async request(message: RoomClientMessage): Promise<Extract<RoomServerMessage, { type: 'ack' | 'error' }>> {
    const ref = crypto.randomUUID().slice(0, 12);
    this.send({ ...message, ref });
    return this.inbox.next(
      (m): m is Extract<RoomServerMessage, { type: 'ack' | 'error' }> => (m.type === 'ack' || m.type === 'error') && m.ref === ref,
      ROOM_WAIT_MS,
      `ack or error for ${message.type} (ref ${ref})`,
    );
  }

  /** The close code once the socket closed; fails after timeoutMs saying it is still open. */
  whenClosed(timeoutMs = ROOM_WAIT_MS): Promise<number> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for the room socket to close; it is still open`)), timeoutMs);
    });
    return Promise.race([this.closed, timeout]).finally(() => clearTimeout(timer));
  }

  close(): void {
    try {
      this.ws.close(1000, 'bye');
    } catch {
      // already closed
    }
  }
}

export async function openRoomSocket(linkId: string, session: string): Promise<RoomClient> {
  // The session is a subprotocol, as the browser offers it (new WebSocket(url, roomSocketProtocols(session))).
  const response = await SELF.fetch(`http://edgemeet.test/api/meetings/${linkId}/ws`, {
    headers: { Upgrade: 'websocket', 'Sec-WebSocket-Protocol': roomSocketProtocols(session).join(', ') },
  });
  if (response.status !== 101 || !response.webSocket) throw new Error(`room socket failed: ${response.status} ${await response.text()}`);
  response.webSocket.accept();
  return new RoomClient(response.webSocket);
}

/** Someone in a meeting with an open room socket that got its welcome. */
export interface Seat {
  participantId: string;
  session: string;
  socket: RoomClient;
}

/**
 * A meeting on a fresh fake node in `region`, with the host and `guests` guests joined from `cf`
 * and connected. Everything it opens is handed to `cleanup` (run it after each test).
 */
export async function seatedMeeting(options: {
  host: { user: { id: string }; token: string };
  region: RegionId;
  cf: CfLocation;
  cleanup: (() => void)[];
  guests?: number;
  settings?: Partial<MeetingSettings>;
}) {
  const { cf, cleanup } = options;
  const node = await connectFakeNode({ region: options.region });
  cleanup.push(() => node.retire());
  const settings = await configureMeeting(options.host.user.id, options.settings);
  const seat = async (body: object, token?: string): Promise<Seat> => {
    const joined = await joinMeeting(settings.linkId, body, { cf, ...(token ? { token } : {}) });
    if (joined.status !== 200) throw new Error(`join failed: ${JSON.stringify(joined.body)}`);
    const socket = await openRoomSocket(settings.linkId, joined.body.roomSession);
    cleanup.push(() => socket.close());
    await socket.next('welcome');
    return { participantId: joined.body.participantId, session: joined.body.roomSession, socket };
  };
  const host = await seat({}, options.host.token);
  const guests: Seat[] = [];
  for (let i = 0; i < (options.guests ?? 0); i++) guests.push(await seat({ displayName: `Guest ${i}` }));
  return { settings, node, host, guests, seat };
}
