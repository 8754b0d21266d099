import type { ActiveSpeakerObserver, Producer, Router } from 'mediasoup/types';

/** Same cadence as the room's own observer (media-node/rooms/room.ts): a change within ~0.3 s. */
const OBSERVER_INTERVAL_MS = 300;

export interface SpeakerFollower {
  /** Listen to this audio producer too (it must be on the recorder's router). */
  add(producer: Producer, participantId: string): Promise<void>;
  close(): void;
}

/**
 * The dominant speaker while recording, from the recorder's own ActiveSpeakerObserver on its
 * router (the recording keeps its own log of changes: the composite's layout follows them, and
 * the recorder needs nothing from the room for it). Each change is told once, with its wall clock.
 */
export async function followSpeakers(router: Router, onChange: (participantId: string, at: number) => void): Promise<SpeakerFollower> {
  const observer: ActiveSpeakerObserver = await router.createActiveSpeakerObserver({ interval: OBSERVER_INTERVAL_MS });
  const owners = new Map<string, string>();
  let last: string | null = null;
  observer.on('dominantspeaker', ({ producer }) => {
    const participantId = owners.get(producer.id);
    if (!participantId || participantId === last) return;
    last = participantId;
    onChange(participantId, Date.now());
  });
  return {
    async add(producer, participantId) {
      if (observer.closed || producer.closed || producer.kind !== 'audio') return;
      owners.set(producer.id, participantId);
      // A producer closed meanwhile, or the observer closed by the stop: nothing to follow.
      await observer.addProducer({ producerId: producer.id }).catch(() => undefined);
    },
    close() {
      if (!observer.closed) observer.close();
    },
  };
}

/** When no observer could be made (the router is closing): no speaker events, the composite is a grid. */
export const NO_SPEAKERS: SpeakerFollower = { add: async () => undefined, close: () => undefined };
