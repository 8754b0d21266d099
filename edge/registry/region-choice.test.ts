import { describe, expect, it } from 'vitest';
import { regionsByDistance, parseDefaultRegion } from './region-choice.js';
import { MEDIA_REGIONS } from '../../schema/regions.js';

const cities = [
  { city: 'San Francisco', latitude: '37.7749', longitude: '-122.4194', expected: 'sfo' },
  { city: 'Berlin', latitude: '52.52', longitude: '13.405', expected: 'fra' },
  { city: 'Lagos', latitude: '6.5244', longitude: '3.3792', expected: 'nbo' },
  { city: 'Tokyo', latitude: '35.6762', longitude: '139.6503', expected: 'tyo' },
  { city: 'São Paulo', latitude: '-23.5505', longitude: '-46.6333', expected: 'rio' },
  { city: 'Perth', latitude: '-31.9523', longitude: '115.8613', expected: 'syd' },
  { city: 'Almaty', latitude: '43.2389', longitude: '76.8897', expected: 'nqz' },
] as const;

describe('regionsByDistance', () => {
  for (const { city, latitude, longitude, expected } of cities) {
    it(`sends a client in ${city} to ${expected} first`, () => {
      const order = regionsByDistance({ latitude, longitude }, 'lon');
      expect(order[0]).toBe(expected);
      expect(order).toHaveLength(MEDIA_REGIONS.length);
    });
  }

  it('orders the fallbacks by distance (Berlin: Frankfurt, then London)', () => {
    expect(regionsByDistance({ latitude: '52.52', longitude: '13.405' }, 'lon').slice(0, 2)).toEqual(['fra', 'lon']);
  });

  it('never offers a control-only region for media', () => {
    expect(regionsByDistance({ latitude: '39.1', longitude: '-94.6' }, 'lon')).not.toContain('mci');
  });

  it('falls back to the country, then the continent, when coordinates are missing', () => {
    expect(regionsByDistance({ country: 'JP' }, 'lon')[0]).toBe('tyo');
    expect(regionsByDistance({ country: 'ZZ', continent: 'SA' }, 'lon')[0]).toBe('rio');
    expect(regionsByDistance({ latitude: 'nonsense', longitude: null, continent: 'OC' }, 'lon')[0]).toBe('syd');
  });

  it('uses the default region when nothing is known', () => {
    expect(regionsByDistance({}, 'sin')[0]).toBe('sin');
    expect(regionsByDistance({}, parseDefaultRegion(undefined))[0]).toBe('lon');
    expect(parseDefaultRegion('atlantis')).toBe('lon');
  });
});
