import { Device, detectDeviceAsync } from 'mediasoup-client';
import { Chrome111 } from 'mediasoup-client/handlers/Chrome111';
import { Chrome74 } from 'mediasoup-client/handlers/Chrome74';
import { Firefox120 } from 'mediasoup-client/handlers/Firefox120';
import type { HandlerFactory } from 'mediasoup-client/handlers/HandlerInterface';
import { Safari12 } from 'mediasoup-client/handlers/Safari12';

/**
 * mediasoup-client's Device, with the browser's own RTP capabilities probed once per page and
 * cached: `Device.load` otherwise builds a throw-away RTCPeerConnection on the join path.
 * `warmUpDevice()` runs the probe on the pre-join screen, before the person clicks Join.
 */
const FACTORIES = { Chrome111, Chrome74, Firefox120, Safari12 } as const;

let factory: Promise<HandlerFactory> | null = null;

async function cachedFactory(): Promise<HandlerFactory> {
  // HeadlessChrome is recognised only through navigator.userAgentData; without it, Chrome111.
  const detected = await detectDeviceAsync().catch(() => undefined);
  const name = detected && detected in FACTORIES ? (detected as keyof typeof FACTORIES) : 'Chrome111';
  const base = FACTORIES[name].createFactory();
  const memo = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, probe: () => Promise<T>): Promise<T> => {
    let result = memo.get(key) as Promise<T> | undefined;
    if (!result) {
      result = probe();
      memo.set(key, result);
      result.catch(() => memo.delete(key));
    }
    return result;
  };
  return {
    name: base.name,
    factory: base.factory,
    getNativeRtpCapabilities: (options) => once(`rtp:${JSON.stringify(options)}`, () => base.getNativeRtpCapabilities(options)),
    getNativeSctpCapabilities: () => once('sctp', () => base.getNativeSctpCapabilities()),
  };
}

function handlerFactory(): Promise<HandlerFactory> {
  factory ??= cachedFactory();
  return factory;
}

/** Probe the browser's capabilities ahead of time (safe to call more than once); resolves once probed, or failed. */
export function warmUpDevice(): Promise<void> {
  return handlerFactory()
    .then((ready) => Promise.all([ready.getNativeRtpCapabilities({ direction: 'recvonly' }), ready.getNativeRtpCapabilities({ direction: 'sendonly' }), ready.getNativeSctpCapabilities()]))
    .then(() => undefined, () => undefined);
}

export async function createDevice(): Promise<Device> {
  return new Device({ handlerFactory: await handlerFactory() });
}
