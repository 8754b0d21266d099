import { distanceKm, MEDIA_REGIONS, regionById, regionIdSchema, type Continent, type RegionId } from '../../schema/regions.js';

/** What the edge knows about where a request comes from (a subset of request.cf). */
export interface ClientLocation {
  latitude?: string | number | null;
  longitude?: string | number | null;
  /** ISO 3166-1 alpha-2. */
  country?: string | null;
  continent?: string | null;
}

interface Point {
  lat: number;
  lon: number;
}

/** Rough population centres, used only when the request carries no coordinates. */
const COUNTRY_POINTS: Record<string, Point> = {
  US: { lat: 39.8, lon: -98.6 },
  CA: { lat: 45.4, lon: -75.7 },
  MX: { lat: 19.4, lon: -99.1 },
  BR: { lat: -23.5, lon: -46.6 },
  AR: { lat: -34.6, lon: -58.4 },
  CL: { lat: -33.4, lon: -70.6 },
  CO: { lat: 4.7, lon: -74.1 },
  GB: { lat: 51.5, lon: -0.1 },
  IE: { lat: 53.3, lon: -6.3 },
  FR: { lat: 48.9, lon: 2.4 },
  DE: { lat: 50.9, lon: 10.5 },
  ES: { lat: 40.4, lon: -3.7 },
  IT: { lat: 41.9, lon: 12.5 },
  PL: { lat: 52.2, lon: 21.0 },
  RU: { lat: 55.8, lon: 37.6 },
  TR: { lat: 41.0, lon: 29.0 },
  KZ: { lat: 48.0, lon: 68.0 },
  IN: { lat: 20.6, lon: 78.9 },
  PK: { lat: 30.4, lon: 69.3 },
  CN: { lat: 31.2, lon: 121.5 },
  JP: { lat: 35.7, lon: 139.7 },
  KR: { lat: 37.6, lon: 127.0 },
  ID: { lat: -6.2, lon: 106.8 },
  SG: { lat: 1.35, lon: 103.8 },
  PH: { lat: 14.6, lon: 121.0 },
  AU: { lat: -33.9, lon: 151.2 },
  NZ: { lat: -36.8, lon: 174.8 },
  NG: { lat: 6.5, lon: 3.4 },
  KE: { lat: -1.3, lon: 36.8 },
  ZA: { lat: -26.2, lon: 28.0 },
  EG: { lat: 30.0, lon: 31.2 },
  AE: { lat: 25.2, lon: 55.3 },
  SA: { lat: 24.7, lon: 46.7 },
};

const CONTINENT_POINTS: Record<Continent, Point> = {
  NA: { lat: 39.8, lon: -98.6 },
  SA: { lat: -15.8, lon: -47.9 },
  EU: { lat: 50.1, lon: 8.7 },
  AF: { lat: 2.0, lon: 20.0 },
  AS: { lat: 30.0, lon: 90.0 },
  OC: { lat: -28.0, lon: 140.0 },
  AN: { lat: -75.0, lon: 0.0 },
};

function toNumber(value: string | number | null | undefined): number | null {
  if (value === null || value === undefined || value === '') return null;
  const number = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(number) ? number : null;
}

/** Best available point for the client: coordinates, else its country, else its continent. */
export function locate(location: ClientLocation): Point | null {
  const lat = toNumber(location.latitude);
  const lon = toNumber(location.longitude);
  if (lat !== null && lon !== null && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) return { lat, lon };
  const country = location.country?.toUpperCase();
  if (country && country in COUNTRY_POINTS) return COUNTRY_POINTS[country]!;
  const continent = location.continent?.toUpperCase();
  if (continent && continent in CONTINENT_POINTS) return CONTINENT_POINTS[continent as Continent];
  return null;
}

/**
 * Media regions ordered from nearest to farthest for this client. Without any location, the
 * default region comes first and the rest follow by distance from it.
 */
export function regionsByDistance(location: ClientLocation, defaultRegion: RegionId): RegionId[] {
  const origin = locate(location) ?? regionById(defaultRegion);
  return MEDIA_REGIONS.map((region) => ({ id: region.id, km: distanceKm(origin, region) }))
    .sort((a, b) => a.km - b.km || a.id.localeCompare(b.id))
    .map((entry) => entry.id);
}

/** DEFAULT_REGION from the environment, falling back to London when unset or unknown. */
export function parseDefaultRegion(value: string | undefined): RegionId {
  const parsed = regionIdSchema.safeParse(value);
  return parsed.success ? parsed.data : 'lon';
}
