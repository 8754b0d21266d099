/**
 * Test helper for RoomDO tests: configured meetings, joins through the Worker, room sockets.
 */
import { env, SELF } from 'cloudflare:test';
import type { MeetingSettings } from '../../schema/wire/http.js';
import { roomServerMessageSchema, type RoomClientMessage, type RoomServerMessage } from '../../schema/wire/room.js';
import { toBase64Url, randomBytes } from '../auth/encoding.js';
import { api } from '../test/helpers.js';
import { MessageInbox } from '../registry/fake-node.js';

export function newLinkId(): string {
  return toBase64Url(randomBytes(16));
}

export function roomStub(linkId: string) {
  return env.ROOM.get(env.ROOM.idFromName(linkId));
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
  readonly closed: Promise<number>;

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

  next<T extends RoomServerMessage['type']>(type: T, match: (message: Extract<RoomServerMessage, { type: T }>) => boolean = () => true, timeoutMs?: number) {
    return this.inbox.next((m): m is Extract<RoomServerMessage, { type: T }> => m.type === type && match(m as Extract<RoomServerMessage, { type: T }>), timeoutMs);
  }

  /** Sends a message with a ref and waits for its ack or error. */
  async request(message: RoomClientMessage): Promise<Extract<RoomServerMessage, { type: 'ack' | 'error' }>> {
    const ref = crypto.randomUUID().slice(0, 12);
    this.send({ ...message, ref });
    return this.inbox.next((m): m is Extract<RoomServerMessage, { type: 'ack' | 'error' }> => (m.type === 'ack' || m.type === 'error') && m.ref === ref);
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
  const response = await SELF.fetch(`http://edgemeet.test/api/meetings/${linkId}/ws?session=${encodeURIComponent(session)}`, { headers: { Upgrade: 'websocket' } });
  if (response.status !== 101 || !response.webSocket) throw new Error(`room socket failed: ${response.status} ${await response.text()}`);
  response.webSocket.accept();
  return new RoomClient(response.webSocket);
}
