import { describeError } from '../lib/errors.js';
import {
  WS_CLOSE,
  type ChatMessage,
  type ErrorCode,
  type JoinResponse,
  type MediaAssignment,
  type ParticipantView,
  type RoomClientMessage,
  type RoomServerMessage,
  type WaitingParticipant,
  type meetingStateSchema,
} from '../wire.js';
import type { z } from 'zod';
import { AudioSink } from './audio-sink.js';
import type { LocalMedia } from './local-media.js';
import { MediaSession, type RemoteTrack } from './media-session.js';
import { QualityMeter, type Quality } from './quality.js';
import { RoomSocket, type SocketStatus } from './room-socket.js';

export type MeetingState = z.infer<typeof meetingStateSchema>;
export type Phase = 'waiting' | 'in-call' | 'ended';
export type MediaStatus = 'connecting' | 'connected' | 'reconnecting' | 'off';
export type Topic = 'phase' | 'participants' | 'waiting' | 'chat' | 'meeting' | 'remotes' | 'speaker' | 'local' | 'status';

/** How a call ended, for the end screen. */
export interface Ending {
  code: ErrorCode | 'LEFT';
  message: string;
}

const CLOSE_CODE_ERRORS: Record<number, ErrorCode> = {
  [WS_CLOSE.TOKEN_INVALID]: 'TOKEN_INVALID',
  [WS_CLOSE.TOKEN_EXPIRED]: 'TOKEN_EXPIRED',
  [WS_CLOSE.REMOVED_BY_HOST]: 'REMOVED_BY_HOST',
  [WS_CLOSE.MEETING_ENDED]: 'MEETING_ENDED',
  [WS_CLOSE.FORBIDDEN]: 'FORBIDDEN',
  [WS_CLOSE.REPLACED]: 'CONFLICT',
};

/**
 * Low bandwidth mode's cap on what the node sends us: room for the lowest camera layer of a few
 * people plus audio, so a weak link keeps everyone's voice and a small picture.
 */
export const LOW_BANDWIDTH_BPS = 200_000;
const LOW_BANDWIDTH_KEY = 'edgemeet.lowBandwidth';

function readLowBandwidth(): boolean {
  try {
    return localStorage.getItem(LOW_BANDWIDTH_KEY) === '1';
  } catch {
    return false;
  }
}

/**
 * One person's presence in one meeting: the room socket (people, chat, host actions), the media
 * session on the assigned node, and local devices. Views subscribe to topics and read the state.
 */
export class Call {
  phase: Phase;
  ending: Ending | null = null;
  self: ParticipantView | null = null;
  readonly participants = new Map<string, ParticipantView>();
  waiting: WaitingParticipant[] = [];
  waitingPosition: number | null = null;
  chat: ChatMessage[] = [];
  meeting: MeetingState | null = null;
  activeSpeaker: string | null = null;
  roomStatus: SocketStatus = 'connecting';
  mediaStatus: MediaStatus = 'off';
  quality: Quality = 'unknown';
  /** Media sessions that reached 'connected' (1 + reconnects). */
  mediaSessions = 0;
  /** Low bandwidth mode: the node sends us at most LOW_BANDWIDTH_BPS (lowest camera layers). Remembered. */
  lowBandwidth = readLowBandwidth();
  readonly remotes = new Map<string, RemoteTrack>();
  readonly qualityMeter = new QualityMeter();
  /** When Join was clicked and when the first remote video frame was decoded (for the e2e figure). */
  readonly timing: { joinClickedAt: number; firstRemoteFrameAt: number | null; marks: Record<string, number> };

  private readonly room: RoomSocket;
  private media: MediaSession | null = null;
  private mediaGeneration = 0;
  private currentAssignment: MediaAssignment | null = null;
  /** A session is being set up (so a welcome arriving meanwhile does not start a second one). */
  private mediaStarting = false;
  private mediaRetry = 0;
  private refreshTimer: number | null = null;
  private readonly audio = new AudioSink();
  private readonly listeners = new Map<Topic, Set<() => void>>();
  private readonly intervals: number[] = [];
  private firstFrameTimer: number | null = null;

  constructor(
    readonly linkId: string,
    join: JoinResponse,
    readonly local: LocalMedia,
    joinClickedAt: number,
  ) {
    this.timing = { joinClickedAt, firstRemoteFrameAt: null, marks: { joined: performance.now() } };
    this.phase = join.status === 'waiting' ? 'waiting' : 'in-call';
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    this.room = new RoomSocket(`${scheme}://${location.host}/api/meetings/${encodeURIComponent(linkId)}/ws?session=${encodeURIComponent(join.roomSession)}`, {
      message: (message) => this.onRoomMessage(message),
      status: (status) => {
        this.roomStatus = status;
        this.emit('status');
      },
      final: (code, reason) => this.end(CLOSE_CODE_ERRORS[code] ?? 'INTERNAL', reason),
    });
    if (join.media) void this.startMedia(join.media);
    this.intervals.push(window.setInterval(() => void this.measureQuality(), 3_000));
    this.firstFrameTimer = window.setInterval(() => void this.watchFirstFrame(), 50);
    window.addEventListener('online', this.onOnline);
  }

  on(topic: Topic, listener: () => void): () => void {
    let set = this.listeners.get(topic);
    if (!set) this.listeners.set(topic, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  get ended(): boolean {
    return this.phase === 'ended';
  }

  get isHost(): boolean {
    return this.self?.role === 'host' || this.self?.role === 'cohost';
  }

  get sharingScreen(): boolean {
    return this.local.screen !== null;
  }

  // ── actions ──────────────────────────────────────────────────────────────────────────
  send(message: RoomClientMessage): void {
    this.room.send(message);
  }

  sendChat(text: string): void {
    this.send({ type: 'chat.send', text });
  }

  async toggleMic(): Promise<void> {
    await this.toggleDevice('mic');
  }

  async toggleCamera(): Promise<void> {
    await this.toggleDevice('camera');
  }

  /** On ↔ off; turning on opens the device first if it is not open (e.g. refused earlier). */
  private async toggleDevice(kind: 'mic' | 'camera'): Promise<void> {
    const local = this.local;
    const isOn = kind === 'mic' ? local.micOn && local.mic !== null : local.cameraOn && local.camera !== null;
    const turnOn = !isOn;
    if (turnOn && (kind === 'mic' ? !local.mic : !local.camera)) {
      const track = kind === 'mic' ? await local.openMic() : await local.openCamera();
      if (track && this.media) await this.media.produce(kind, track).catch(() => undefined);
    }
    const track = kind === 'mic' ? local.mic : local.camera;
    const on = turnOn && track !== null;
    if (kind === 'mic') local.micOn = on;
    else local.cameraOn = on;
    if (track) track.enabled = on;
    this.emit('local');
    await this.media?.setPaused(kind, !on).catch(() => undefined);
  }

  /** Returns a message when sharing could not start. */
  async toggleScreen(): Promise<string | null> {
    if (this.local.screen) {
      this.local.stopScreen();
      await this.media?.closeProducer('screen');
      this.emit('local');
      return null;
    }
    try {
      const track = await this.local.openScreen();
      track.addEventListener('ended', () => {
        if (this.local.screen === track) void this.toggleScreen();
      });
      await this.media?.produce('screen', track);
      this.emit('local');
      return null;
    } catch (error) {
      this.local.stopScreen();
      this.emit('local');
      return error instanceof Error ? error.message : 'Could not share the screen.';
    }
  }

  async switchDevice(kind: 'camera' | 'mic', deviceId: string): Promise<void> {
    const track = kind === 'camera' ? await this.local.openCamera(deviceId) : await this.local.openMic(deviceId);
    if (!track) return;
    track.enabled = kind === 'camera' ? this.local.cameraOn : this.local.micOn;
    await this.media?.replaceTrack(kind, track);
    this.emit('local');
  }

  setHand(raised: boolean): void {
    this.send({ type: 'hand.set', raised });
  }

  leave(): void {
    this.end('LEFT', 'You left the meeting.');
  }

  endForAll(): void {
    this.send({ type: 'host.end' });
  }

  // ── room messages ────────────────────────────────────────────────────────────────────
  private onRoomMessage(message: RoomServerMessage): void {
    switch (message.type) {
      case 'welcome':
        this.mark('welcome');
        this.phase = 'in-call';
        this.self = message.self;
        this.participants.clear();
        for (const participant of message.participants) this.participants.set(participant.participantId, participant);
        this.participants.set(message.self.participantId, message.self);
        this.waiting = message.waiting;
        this.chat = message.chat;
        this.meeting = message.meeting;
        this.emit('phase', 'participants', 'waiting', 'chat', 'meeting');
        // A (re)connected room socket brings a fresh assignment; use it if media is not healthy.
        if (message.media && this.needsMedia(message.media)) void this.startMedia(message.media);
        return;
      case 'waiting':
        this.phase = 'waiting';
        this.waitingPosition = message.position;
        this.emit('phase');
        return;
      case 'admitted':
        return; // welcome follows
      case 'participant.joined':
      case 'participant.updated':
        this.participants.set(message.participant.participantId, message.participant);
        if (message.participant.participantId === this.self?.participantId) this.self = message.participant;
        this.emit('participants');
        return;
      case 'participant.left':
        this.participants.delete(message.participantId);
        this.emit('participants');
        return;
      case 'waiting.updated':
        this.waiting = message.waiting;
        this.emit('waiting');
        return;
      case 'chat.message':
        this.chat = [...this.chat, message.message];
        this.emit('chat');
        return;
      case 'meeting.updated':
        this.meeting = message.meeting;
        this.emit('meeting');
        if (message.meeting.ended) this.end('MEETING_ENDED', 'The host ended the meeting.');
        return;
      case 'media.assignment':
        if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
        this.refreshTimer = null;
        // A fresh token for the node we are connected (or connecting) to needs no new session.
        if ((this.mediaStatus === 'connected' || this.mediaStarting) && this.currentAssignment?.nodeId === message.media.nodeId) this.currentAssignment = message.media;
        else void this.startMedia(message.media);
        return;
      case 'muted':
        if (message.kind === null || message.kind === 'audio') this.local.micOn = false;
        if (message.kind === null || message.kind === 'video') this.local.cameraOn = false;
        if (this.local.mic) this.local.mic.enabled = this.local.micOn;
        if (this.local.camera) this.local.camera.enabled = this.local.cameraOn;
        void this.media?.setPaused('mic', !this.local.micOn).catch(() => undefined);
        void this.media?.setPaused('camera', !this.local.cameraOn).catch(() => undefined);
        this.emit('local');
        return;
      case 'closed':
        this.end(message.code, message.reason);
        return;
      case 'error':
        this.lastError = describeError(message.code, message.message);
        this.emit('status');
        return;
      case 'ack':
      case 'pong':
        return;
      default:
        assertNever(message);
    }
  }

  lastError: string | null = null;

  // ── media ────────────────────────────────────────────────────────────────────────────
  /** Whether an assignment from a (re)connect's welcome should (re)start media. */
  private needsMedia(assignment: MediaAssignment): boolean {
    if (!this.currentAssignment || assignment.nodeId !== this.currentAssignment.nodeId) return true;
    return this.mediaStatus === 'reconnecting' && !this.mediaStarting;
  }

  private async startMedia(assignment: MediaAssignment): Promise<void> {
    if (this.phase === 'ended') return;
    const generation = ++this.mediaGeneration;
    this.currentAssignment = assignment;
    this.mediaStarting = true;
    this.media?.close(false);
    this.media = null;
    this.mediaStatus = this.mediaStatus === 'off' ? 'connecting' : 'reconnecting';
    this.emit('status');
    this.mark('mediaStart');
    try {
      const session = await MediaSession.start(assignment, {
        remoteAdded: (remote) => this.onRemoteAdded(remote),
        remoteRemoved: (remote) => this.onRemoteRemoved(remote),
        remoteChanged: () => this.emit('remotes'),
        activeSpeaker: (participantId) => {
          this.activeSpeaker = participantId;
          this.emit('speaker');
        },
        localPausedByServer: (source) => {
          if (source === 'mic') this.local.micOn = false;
          if (source === 'camera') this.local.cameraOn = false;
          if (source === 'screen') this.local.stopScreen();
          this.emit('local');
        },
        closedByServer: (code, reason) => {
          if (code === 'REMOVED_BY_HOST' || code === 'MEETING_ENDED') this.end(code, reason);
          else this.mediaLost(generation, reason);
        },
        lost: (reason) => this.mediaLost(generation, reason),
      }, (milestone) => this.mark(milestone));
      if (generation !== this.mediaGeneration || this.ended) {
        session.close();
        return;
      }
      this.media = session;
      const { mic, camera, screen } = this.local;
      if (mic) await session.produce('mic', mic, !this.local.micOn);
      this.mark('micProduced');
      if (camera && session.canProduceVideo) await session.produce('camera', camera, !this.local.cameraOn);
      this.mark('cameraProduced');
      if (screen) await session.produce('screen', screen);
      if (this.lowBandwidth) await session.setReceiveBitrate(LOW_BANDWIDTH_BPS);
      this.mark('mediaConnected');
      this.mediaRetry = 0;
      this.mediaStarting = false;
      this.mediaSessions += 1;
      this.mediaStatus = 'connected';
      this.emit('status', 'local');
    } catch (error) {
      if (generation !== this.mediaGeneration) return;
      this.mediaStarting = false;
      console.warn('media session failed to start', error);
      this.mediaLost(generation, 'could not start media');
    }
  }

  /** Media dropped: ask the room for a fresh token (maybe a new node), with backoff. */
  private mediaLost(generation: number, reason: string): void {
    if (generation !== this.mediaGeneration || this.phase === 'ended') return;
    console.info(`media lost: ${reason}; reconnecting`);
    this.mediaStarting = false;
    this.media?.close(false);
    this.media = null;
    this.mediaGeneration++;
    this.mediaStatus = 'reconnecting';
    this.emit('status');
    const delay = Math.min(5_000, 250 * 2 ** this.mediaRetry);
    this.mediaRetry += 1;
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    const askAgain = () => {
      if (this.phase === 'ended' || this.mediaStatus === 'connected') return;
      this.send({ type: 'media.refresh' });
      this.refreshTimer = window.setTimeout(askAgain, 5_000);
    };
    this.refreshTimer = window.setTimeout(askAgain, delay);
  }

  private onRemoteAdded(remote: RemoteTrack): void {
    this.mark(`first${remote.kind === 'video' ? 'Video' : 'Audio'}Consumer`);
    this.remotes.set(remote.consumer.id, remote);
    if (remote.kind === 'audio') this.audio.attach(remote.consumer.id, remote.consumer.track);
    this.emit('remotes');
  }

  private onRemoteRemoved(remote: RemoteTrack): void {
    this.remotes.delete(remote.consumer.id);
    this.audio.detach(remote.consumer.id);
    this.emit('remotes');
  }

  /** Turns low bandwidth mode on or off, now (if connected) and for later sessions. */
  async setLowBandwidth(on: boolean): Promise<void> {
    this.lowBandwidth = on;
    try {
      localStorage.setItem(LOW_BANDWIDTH_KEY, on ? '1' : '0');
    } catch {
      // storage refused (private mode): it holds for this call only
    }
    this.emit('local');
    await this.media?.setReceiveBitrate(on ? LOW_BANDWIDTH_BPS : 0);
  }

  preferLayer(consumerId: string, spatialLayer: number): void {
    this.media?.preferLayer(consumerId, spatialLayer);
  }

  private async measureQuality(): Promise<void> {
    if (!this.media || this.mediaStatus !== 'connected') {
      const next: Quality = this.mediaStatus === 'off' ? 'unknown' : 'poor';
      if (next !== this.quality) {
        this.quality = next;
        this.emit('status');
      }
      return;
    }
    const quality = this.qualityMeter.sample(await this.media.transportStats().catch(() => new Map() as unknown as RTCStatsReport));
    if (quality !== this.quality) {
      this.quality = quality;
      this.emit('status');
    }
  }

  private async watchFirstFrame(): Promise<void> {
    if (this.timing.firstRemoteFrameAt !== null || this.phase === 'ended') {
      if (this.firstFrameTimer !== null) clearInterval(this.firstFrameTimer);
      this.firstFrameTimer = null;
      return;
    }
    for (const remote of this.remotes.values()) {
      if (remote.kind !== 'video') continue;
      const report = await remote.consumer.getStats().catch(() => null);
      report?.forEach((stat: Record<string, unknown>) => {
        if (stat.type === 'inbound-rtp' && typeof stat.framesDecoded === 'number' && stat.framesDecoded > 0 && this.timing.firstRemoteFrameAt === null) {
          this.timing.firstRemoteFrameAt = performance.now();
        }
      });
    }
  }

  /** Inbound stats per remote track, for the debug hook and the e2e test. */
  async inboundStats(): Promise<
    Array<{ participantId: string; displayName: string; kind: string; source: string; spatialLayer: number | null; framesDecoded: number; frameWidth: number; totalAudioEnergy: number; bytesReceived: number }>
  > {
    return Promise.all(
      [...this.remotes.values()].map(async (remote) => {
        const row = {
          participantId: remote.participantId,
          displayName: remote.displayName,
          kind: remote.kind,
          source: remote.source,
          spatialLayer: remote.spatialLayer,
          framesDecoded: 0,
          frameWidth: 0,
          totalAudioEnergy: 0,
          bytesReceived: 0,
        };
        const report = await remote.consumer.getStats().catch(() => null);
        report?.forEach((stat: Record<string, unknown>) => {
          if (stat.type !== 'inbound-rtp') return;
          if (typeof stat.framesDecoded === 'number') row.framesDecoded += stat.framesDecoded;
          if (typeof stat.frameWidth === 'number') row.frameWidth = stat.frameWidth;
          if (typeof stat.totalAudioEnergy === 'number') row.totalAudioEnergy += stat.totalAudioEnergy;
          if (typeof stat.bytesReceived === 'number') row.bytesReceived += stat.bytesReceived;
        });
        return row;
      }),
    );
  }

  async outboundStats(): Promise<Array<{ source: string; framesEncoded: number; bytesSent: number; layers: number }>> {
    const producers = (await this.media?.producerStats()) ?? [];
    return producers.map(({ source, report }) => {
      const row = { source, framesEncoded: 0, bytesSent: 0, layers: 0 };
      report.forEach((stat: Record<string, unknown>) => {
        if (stat.type !== 'outbound-rtp') return;
        row.layers += 1;
        if (typeof stat.framesEncoded === 'number') row.framesEncoded += stat.framesEncoded;
        if (typeof stat.bytesSent === 'number') row.bytesSent += stat.bytesSent;
      });
      return row;
    });
  }

  get transportStates(): { send: string; recv: string } | null {
    return this.media?.transportStates ?? null;
  }

  // ── ending ───────────────────────────────────────────────────────────────────────────
  private end(code: Ending['code'], reason: string): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    this.ending = { code, message: code === 'LEFT' ? reason : describeError(code, reason) };
    this.mediaGeneration++;
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    this.media?.close(code === 'LEFT');
    this.media = null;
    this.mediaStatus = 'off';
    this.room.close();
    this.local.stopAll();
    this.audio.destroy();
    for (const id of this.intervals) clearInterval(id);
    if (this.firstFrameTimer !== null) clearInterval(this.firstFrameTimer);
    window.removeEventListener('online', this.onOnline);
    this.remotes.clear();
    this.emit('phase', 'remotes', 'status');
  }

  private readonly onOnline = () => this.room.kick();

  /** First time something happened, ms since page start (for the join-time figure). */
  private mark(name: string): void {
    this.timing.marks[name] ??= performance.now();
  }

  private emit(...topics: Topic[]): void {
    for (const topic of topics) for (const listener of this.listeners.get(topic) ?? []) listener();
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled room message ${JSON.stringify(value)}`);
}
