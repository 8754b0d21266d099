import type { Call } from '../call/call.js';
import type { RemoteTrack } from '../call/remote-tracks.js';
import { button, h, toast } from '../lib/dom.js';
import { MAX_PINNED_PARTICIPANTS } from '../wire.js';
import { GridPaging } from './grid-paging.js';

interface Tile {
  root: HTMLElement;
  video: HTMLVideoElement;
  avatar: HTMLElement;
  name: HTMLElement;
  mic: HTMLElement;
  hand: HTMLElement;
  /** Pin/unpin (participant tiles only). */
  pin: HTMLButtonElement | null;
  trackId: string | null;
}

function initials(name: string): string {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((word) => word[0]?.toUpperCase() ?? '')
    .join('');
}

function createTile(key: string, screen: boolean, onPin: (() => void) | null): Tile {
  const video = h('video', { autoplay: true, playsinline: true, muted: true });
  video.muted = true; // own audio comes through AudioSink; never echo through video elements
  const avatar = h('div', { class: 'avatar', 'aria-hidden': 'true' });
  const name = h('span', { class: 'tile-name' });
  const mic = h('span', { class: 'tile-mic', role: 'img', 'aria-label': 'Microphone off', title: 'Microphone off' }, 'muted');
  const hand = h('span', { class: 'tile-hand', role: 'img', 'aria-label': 'Hand raised', title: 'Hand raised' }, 'hand raised');
  const pin = onPin ? button('Pin', onPin, { class: 'tile-pin' }) : null;
  const root = h('figure', { class: screen ? 'tile tile-screen' : 'tile', 'data-key': key }, video, avatar, h('figcaption', {}, hand, name, mic), pin);
  return { root, video, avatar, name, mic, hand, pin, trackId: null };
}

function showTrack(tile: Tile, track: MediaStreamTrack | null): void {
  const id = track?.id ?? null;
  if (tile.trackId === id) return;
  tile.trackId = id;
  tile.video.srcObject = track ? new MediaStream([track]) : null;
  if (track) void tile.video.play().catch(() => undefined);
}

/**
 * The video grid: one tile per participant on the page shown (camera or avatar; pinned ones first
 * and large), a large tile per screen share. Tiles are reconciled in place, so video elements
 * survive updates. Which page, pins and whose camera is received: GridPaging.
 */
export class VideoGrid {
  readonly element: HTMLElement;
  private readonly stage: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly tiles = new Map<string, Tile>();
  private readonly paging: GridPaging;
  private readonly pager: HTMLElement;
  private readonly previous: HTMLButtonElement;
  private readonly next: HTMLButtonElement;
  private readonly pageText: HTMLElement;

  constructor(private readonly call: Call) {
    this.paging = new GridPaging(call);
    this.stage = h('div', { class: 'stage', 'aria-label': 'Screen share' });
    this.grid = h('div', { class: 'grid', 'aria-label': 'Participants video' });
    this.previous = button('Previous', () => this.turnPage(-1), { class: 'btn', label: 'Previous page' });
    this.next = button('Next', () => this.turnPage(1), { class: 'btn', label: 'Next page' });
    this.pageText = h('span', { class: 'pager-text', role: 'status' });
    this.pager = h('nav', { class: 'pager', 'aria-label': 'Video pages', hidden: true }, this.previous, this.pageText, this.next);
    this.element = h('section', { class: 'videos', 'aria-label': 'Videos' }, this.stage, this.grid, this.pager);
    const update = () => this.update();
    for (const topic of ['participants', 'remotes', 'speaker', 'local'] as const) call.on(topic, update);
    this.update();
  }

  update(): void {
    const call = this.call;
    const byParticipant = new Map<string, { camera?: RemoteTrack; mic?: RemoteTrack; screen?: RemoteTrack }>();
    for (const remote of call.remotes.values()) {
      const entry = byParticipant.get(remote.participantId) ?? {};
      entry[remote.source] = remote;
      byParticipant.set(remote.participantId, entry);
    }
    const selfId = call.self?.participantId ?? null;
    const wanted = new Set<string>();
    const screens: Array<{ key: string; name: string; track: MediaStreamTrack }> = [];
    const layout = this.paging.apply();
    let pinnedShown = 0;
    let position = 0;

    for (const participantId of layout.tiles) {
      const person = call.participants.get(participantId);
      if (!person) continue;
      const isSelf = person.participantId === selfId;
      const media = byParticipant.get(person.participantId) ?? {};
      const key = `p:${person.participantId}`;
      wanted.add(key);
      const tile = this.tile(key, false, this.grid, () => this.togglePin(participantId));
      // In page order: moved only when out of place (a moved video element keeps playing).
      if (this.grid.children[position] !== tile.root) this.grid.insertBefore(tile.root, this.grid.children[position] ?? null);
      position += 1;
      const pinned = this.paging.isPinned(person.participantId);
      if (pinned) pinnedShown += 1;
      tile.root.classList.toggle('pinned', pinned);
      tile.pin!.textContent = pinned ? 'Unpin' : 'Pin';
      tile.pin!.setAttribute('aria-label', `${pinned ? 'Unpin' : 'Pin'} ${person.displayName}`);
      tile.pin!.setAttribute('aria-pressed', String(pinned));
      const cameraTrack = isSelf
        ? call.local.isOn('camera')
          ? call.local.camera
          : null
        : media.camera && !media.camera.producerPaused
          ? media.camera.consumer.track
          : null;
      showTrack(tile, cameraTrack);
      tile.root.classList.toggle('self', isSelf);
      tile.root.classList.toggle('no-video', cameraTrack === null);
      tile.root.classList.toggle('speaking', call.activeSpeaker === person.participantId);
      tile.avatar.textContent = initials(person.displayName);
      tile.name.textContent = isSelf ? `${person.displayName} (you)` : person.displayName;
      const micOff = isSelf
        ? !call.local.isOn('mic') || person.mutedByHost.audio
        : !media.mic || media.mic.producerPaused || person.mutedByHost.audio;
      tile.mic.hidden = !micOff;
      tile.hand.hidden = !person.handRaised;
      tile.root.setAttribute('aria-label', `${person.displayName}${isSelf ? ' (you)' : ''}${pinned ? ', pinned' : ''}${micOff ? ', muted' : ''}${person.handRaised ? ', hand raised' : ''}`);
    }
    // Screen shares show whatever the page (never paged: they are few and what people look at).
    for (const person of call.participants.values()) {
      const media = byParticipant.get(person.participantId) ?? {};
      if (person.participantId !== selfId && media.screen && !media.screen.producerPaused) screens.push({ key: `s:${person.participantId}`, name: person.displayName, track: media.screen.consumer.track });
      if (person.participantId === selfId && call.local.screen) screens.push({ key: `s:${person.participantId}`, name: 'You are sharing your screen', track: call.local.screen });
    }
    for (const screen of screens) {
      wanted.add(screen.key);
      const tile = this.tile(screen.key, true, this.stage);
      showTrack(tile, screen.track);
      tile.name.textContent = screen.name.startsWith('You') ? screen.name : `${screen.name}'s screen`;
      tile.mic.hidden = true;
      tile.hand.hidden = true;
    }
    for (const [key, tile] of this.tiles) {
      if (wanted.has(key)) continue;
      tile.video.srcObject = null;
      tile.root.remove();
      this.tiles.delete(key);
    }
    const count = this.grid.childElementCount;
    // A pinned tile is large (2×2 cells) when there are others beside it.
    const large = count > 1 && screens.length === 0;
    this.grid.classList.toggle('pins-large', large);
    const columns = Math.ceil(Math.sqrt(count + (large ? 3 * pinnedShown : 0) || 1));
    this.grid.style.setProperty('--columns', String(columns));
    this.element.classList.toggle('has-screen', screens.length > 0);
    this.pager.hidden = layout.pageCount <= 1;
    this.pageText.textContent = `Page ${layout.page + 1} of ${layout.pageCount}`;
    this.previous.disabled = layout.page === 0;
    this.next.disabled = layout.page >= layout.pageCount - 1;
    this.preferLayers(count, screens.length > 0);
  }

  private togglePin(participantId: string): void {
    if (!this.paging.togglePin(participantId)) toast(`You can pin up to ${MAX_PINNED_PARTICIPANTS} people; unpin someone first.`, 'error');
    this.update();
  }

  private turnPage(by: number): void {
    this.paging.turnPage(by);
    this.update();
  }

  private tile(key: string, screen: boolean, parent: HTMLElement, onPin: (() => void) | null = null): Tile {
    let tile = this.tiles.get(key);
    if (!tile) {
      tile = createTile(key, screen, onPin);
      this.tiles.set(key, tile);
      parent.append(tile.root);
    }
    return tile;
  }

  /** Small tiles do not need 720p: ask the node for a lower simulcast layer. */
  private preferLayers(tileCount: number, screenShown: boolean): void {
    const layer = screenShown || tileCount > 9 ? 0 : tileCount > 4 ? 1 : 2;
    for (const remote of this.call.remotes.values()) {
      if (remote.source !== 'camera') continue;
      if (remote.preferredLayer === layer) continue;
      remote.preferredLayer = layer;
      this.call.preferLayer(remote.consumer.id, layer);
    }
  }
}
