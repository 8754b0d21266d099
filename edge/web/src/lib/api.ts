import { z } from 'zod';
import {
  createMeetingRequestSchema,
  errorBodySchema,
  joinResponseSchema,
  meResponseSchema,
  meetingListResponseSchema,
  meetingPublicResponseSchema,
  meetingResponseSchema,
  sessionResponseSchema,
  type CreateMeetingRequest,
  type ErrorCode,
  type JoinRequest,
  type MeetingPublic,
} from '../wire.js';
import { session } from './auth-store.js';

/** An HTTP API failure with the server's stable code (or INTERNAL when the server is unreachable). */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly status: number,
    /** From Retry-After (rate limits, the database away): when asking again can succeed. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Retry-After as milliseconds from now: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMsOf(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

async function call<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown): Promise<z.infer<S>> {
  const headers: Record<string, string> = {};
  const token = session()?.token;
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError('INTERNAL', 'Cannot reach the server. Check your connection.', 0);
  }
  const json: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const parsed = errorBodySchema.safeParse(json);
    if (parsed.success) throw new ApiError(parsed.data.error.code, parsed.data.error.message, response.status, retryAfterMsOf(response.headers.get('retry-after')));
    throw new ApiError('INTERNAL', `The server answered ${response.status}.`, response.status);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ApiError('INTERNAL', 'The server sent an unexpected answer.', response.status);
  return parsed.data;
}

export const api = {
  register: (email: string, displayName: string, password: string) =>
    call('POST', '/api/auth/register', sessionResponseSchema, { email, displayName, password }),
  login: (email: string, password: string) => call('POST', '/api/auth/login', sessionResponseSchema, { email, password }),
  logout: () => call('POST', '/api/auth/logout', z.unknown()),
  me: () => call('GET', '/api/auth/me', meResponseSchema),
  createMeeting: (request: z.input<typeof createMeetingRequestSchema>) =>
    call('POST', '/api/meetings', meetingResponseSchema, createMeetingRequestSchema.parse(request) satisfies CreateMeetingRequest),
  listMeetings: (scope: 'upcoming' | 'past' | 'all') => call('GET', `/api/meetings?scope=${scope}`, meetingListResponseSchema),
  /** The public view; the host gets the owner view, shown the same way. */
  /** `hosting`: the signed-in user hosts it (the edge answered the owner view). */
  meetingInfo: async (linkId: string): Promise<{ meeting: MeetingPublic; hosting: boolean }> => {
    const answer = await call('GET', `/api/meetings/${encodeURIComponent(linkId)}`, z.union([meetingPublicResponseSchema, meetingResponseSchema]));
    if ('hostName' in answer.meeting) return { meeting: answer.meeting, hosting: false };
    const owner = answer.meeting;
    return {
      hosting: true,
      meeting: {
        linkId: owner.linkId,
        title: owner.title,
        hostName: session()?.user.displayName ?? 'you',
        scheduledStart: owner.scheduledStart,
        needsPasscode: owner.hasPasscode,
        allowGuests: owner.allowGuests,
        waitingRoom: owner.waitingRoom,
        mode: owner.mode,
        status: owner.status,
      },
    };
  },
  join: (linkId: string, request: JoinRequest) => call('POST', `/api/meetings/${encodeURIComponent(linkId)}/join`, joinResponseSchema, request),
};
