import { Hono } from 'hono';
import { z } from 'zod';
import { meetingLinkIdSchema, uuidSchema } from '../../schema/wire/common.js';
import { errorBodySchema, ERROR_STATUS, type ErrorCode } from '../../schema/wire/errors.js';
import * as http from '../../schema/wire/http.js';
import * as upload from '../../schema/wire/recording-upload.js';
import { regionIdSchema } from '../../schema/regions.js';
import type { AppEnv } from '../http/app-env.js';
import type { RouteDoc } from '../http/route-docs.js';

/** The API route table. A test checks it against the routes the Worker actually serves. */
export const ROUTES: RouteDoc[] = [
  // auth
  { method: 'post', path: '/api/auth/register', tag: 'auth', summary: 'Create an account and sign in (rate-limited per IP)', auth: 'none', body: http.registerRequestSchema, responses: { 201: http.sessionResponseSchema }, errors: ['BAD_REQUEST', 'VALIDATION_FAILED', 'EMAIL_TAKEN', 'RATE_LIMITED', 'DATABASE_UNAVAILABLE'] },
  { method: 'post', path: '/api/auth/login', tag: 'auth', summary: 'Sign in (rate-limited per account and per IP)', auth: 'none', body: http.loginRequestSchema, responses: { 200: http.sessionResponseSchema }, errors: ['BAD_REQUEST', 'VALIDATION_FAILED', 'INVALID_CREDENTIALS', 'RATE_LIMITED', 'DATABASE_UNAVAILABLE'] },
  { method: 'post', path: '/api/auth/logout', tag: 'auth', summary: 'End this session', auth: 'session', responses: { 204: 'session revoked' }, errors: ['UNAUTHENTICATED'] },
  { method: 'get', path: '/api/auth/me', tag: 'auth', summary: 'The signed-in user', auth: 'session', responses: { 200: http.meResponseSchema }, errors: ['UNAUTHENTICATED'] },
  {
    method: 'put', path: '/api/auth/avatar', tag: 'auth', summary: `Upload an avatar (PNG/JPEG, ≤ ${http.AVATAR_MAX_SIDE}×${http.AVATAR_MAX_SIDE}, ≤ ${http.AVATAR_MAX_BYTES} bytes)`, auth: 'session',
    body: { contentTypes: ['image/png', 'image/jpeg'], description: 'the image bytes' }, responses: { 200: http.avatarResponseSchema },
    errors: ['UNAUTHENTICATED', 'UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE', 'VALIDATION_FAILED', 'DATABASE_UNAVAILABLE'],
  },
  { method: 'get', path: '/api/users/:id/avatar', tag: 'auth', summary: "A user's avatar image", auth: 'none', params: z.object({ id: uuidSchema }), responses: { 200: 'image/png or image/jpeg' }, errors: ['VALIDATION_FAILED', 'NOT_FOUND'] },
  // meetings
  { method: 'post', path: '/api/meetings', tag: 'meetings', summary: 'Create a meeting', auth: 'session', body: http.createMeetingRequestSchema, responses: { 201: http.meetingResponseSchema }, errors: ['UNAUTHENTICATED', 'BAD_REQUEST', 'VALIDATION_FAILED', 'DATABASE_UNAVAILABLE'] },
  { method: 'get', path: '/api/meetings', tag: 'meetings', summary: 'My meetings (upcoming, past or all)', auth: 'session', query: http.listMeetingsQuerySchema, responses: { 200: http.meetingListResponseSchema }, errors: ['UNAUTHENTICATED', 'VALIDATION_FAILED', 'DATABASE_UNAVAILABLE'] },
  {
    method: 'get', path: '/api/meetings/:linkId', tag: 'meetings', summary: 'A meeting: the owner view for its host, the public view for anyone with the link', auth: 'optional-session',
    params: http.meetingLinkParamsSchema, responses: { 200: z.union([http.meetingResponseSchema, http.meetingPublicResponseSchema]) }, errors: ['VALIDATION_FAILED', 'MEETING_NOT_FOUND', 'DATABASE_UNAVAILABLE'],
  },
  { method: 'patch', path: '/api/meetings/:linkId', tag: 'meetings', summary: 'Change a meeting (host only)', auth: 'session', params: http.meetingLinkParamsSchema, body: http.updateMeetingRequestSchema, responses: { 200: http.meetingResponseSchema }, errors: ['UNAUTHENTICATED', 'BAD_REQUEST', 'VALIDATION_FAILED', 'MEETING_NOT_FOUND', 'NOT_HOST', 'MEETING_ENDED', 'DATABASE_UNAVAILABLE'] },
  { method: 'post', path: '/api/meetings/:linkId/end', tag: 'meetings', summary: 'End a meeting for everyone (host only)', auth: 'session', params: http.meetingLinkParamsSchema, responses: { 200: http.meetingResponseSchema }, errors: ['UNAUTHENTICATED', 'VALIDATION_FAILED', 'MEETING_NOT_FOUND', 'NOT_HOST', 'DATABASE_UNAVAILABLE'] },
  // join and room (edge-rooms)
  {
    method: 'post', path: '/api/meetings/:linkId/join', tag: 'rooms', summary: 'Join a meeting (signed in or as a guest)', auth: 'optional-session', params: http.meetingLinkParamsSchema, body: http.joinRequestSchema,
    responses: { 200: http.joinResponseSchema }, errors: ['VALIDATION_FAILED', 'MEETING_NOT_FOUND', 'MEETING_ENDED', 'WRONG_PASSCODE', 'GUESTS_NOT_ALLOWED', 'MEETING_FULL', 'NO_MEDIA_CAPACITY'],
  },
  { method: 'get', path: '/api/meetings/:linkId/ws', tag: 'rooms', summary: 'Room signaling WebSocket (schema/wire/room.ts)', auth: 'none', websocket: true, params: http.meetingLinkParamsSchema, query: http.roomSocketQuerySchema, responses: { 101: 'WebSocket upgrade' }, errors: ['TOKEN_INVALID'] },
  // media nodes and fleet (edge-rooms)
  { method: 'get', path: '/api/nodes/connect', tag: 'fleet', summary: "A media node's control WebSocket to its RegionDO (schema/wire/node-control.ts)", auth: 'node', websocket: true, query: z.object({ region: regionIdSchema }), responses: { 101: 'WebSocket upgrade' }, errors: ['INVALID_CREDENTIALS', 'BAD_REQUEST', 'VALIDATION_FAILED'] },
  { method: 'get', path: '/api/fleet/regions', tag: 'fleet', summary: 'Regions and their media nodes', auth: 'admin', responses: { 200: http.fleetResponseSchema }, errors: ['UNAUTHENTICATED'] },
  { method: 'post', path: '/api/fleet/regions/:region/nodes/:nodeId/drain', tag: 'fleet', summary: 'Drain a media node (optional JSON body with a deadline)', auth: 'admin', params: http.drainNodeParamsSchema, body: http.drainNodeRequestSchema, responses: { 200: z.object({ node: http.fleetNodeSchema }) }, errors: ['UNAUTHENTICATED', 'BAD_REQUEST', 'VALIDATION_FAILED', 'NODE_NOT_FOUND'] },
  // recordings (recording engineer)
  { method: 'get', path: '/api/meetings/:linkId/recordings', tag: 'recordings', summary: "A meeting's recordings (host)", auth: 'session', params: z.object({ linkId: meetingLinkIdSchema }), responses: { 200: http.recordingListResponseSchema }, errors: ['UNAUTHENTICATED', 'NOT_HOST', 'MEETING_NOT_FOUND', 'DATABASE_UNAVAILABLE'] },
  { method: 'get', path: '/api/recordings/:recordingId/download', tag: 'recordings', summary: 'A signed, expiring download link', auth: 'session', params: http.recordingParamsSchema, query: http.recordingDownloadQuerySchema, responses: { 200: http.recordingDownloadResponseSchema }, errors: ['UNAUTHENTICATED', 'RECORDING_NOT_FOUND', 'DATABASE_UNAVAILABLE'] },
  {
    method: 'put', path: '/api/nodes/recordings/:recordingId/files/:name', tag: 'recordings', summary: `A media node uploads a finished recording file (≤ ${upload.RECORDING_SINGLE_UPLOAD_MAX_BYTES} bytes) to R2 (header x-content-sha256)`, auth: 'node',
    params: upload.recordingUploadParamsSchema, body: { contentTypes: ['application/octet-stream', 'video/webm', 'audio/ogg'], description: 'the file bytes' },
    responses: { 200: upload.uploadReceiptSchema, 201: upload.uploadReceiptSchema }, errors: ['INVALID_CREDENTIALS', 'BAD_REQUEST', 'VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'CONFLICT'],
  },
  {
    method: 'post', path: '/api/nodes/recordings/:recordingId/files/:name/multipart', tag: 'recordings', summary: 'A media node starts a multipart upload of a big recording file (or learns it is stored already)', auth: 'node',
    params: upload.recordingUploadParamsSchema, body: upload.multipartStartRequestSchema, responses: { 200: upload.multipartStartResponseSchema, 201: upload.multipartStartResponseSchema },
    errors: ['INVALID_CREDENTIALS', 'BAD_REQUEST', 'VALIDATION_FAILED', 'CONFLICT'],
  },
  {
    method: 'put', path: '/api/nodes/recordings/:recordingId/files/:name/multipart/:uploadId/parts/:partNumber', tag: 'recordings', summary: 'One part of a multipart upload (header x-content-sha256 of the part)', auth: 'node',
    params: upload.multipartPartParamsSchema, body: { contentTypes: ['application/octet-stream'], description: 'the part bytes' }, responses: { 200: upload.multipartPartResponseSchema },
    errors: ['INVALID_CREDENTIALS', 'BAD_REQUEST', 'VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE'],
  },
  {
    method: 'post', path: '/api/nodes/recordings/:recordingId/files/:name/multipart/:uploadId/complete', tag: 'recordings', summary: 'Completes a multipart upload; answers what R2 stored', auth: 'node',
    params: upload.multipartParamsSchema, body: upload.multipartCompleteRequestSchema, responses: { 201: upload.uploadReceiptSchema }, errors: ['INVALID_CREDENTIALS', 'BAD_REQUEST', 'VALIDATION_FAILED', 'CONFLICT'],
  },
  {
    method: 'delete', path: '/api/nodes/recordings/:recordingId/files/:name/multipart/:uploadId', tag: 'recordings', summary: 'Abandons a multipart upload', auth: 'node',
    params: upload.multipartParamsSchema, responses: { 204: 'aborted (or nothing to abort)' }, errors: ['INVALID_CREDENTIALS', 'VALIDATION_FAILED'],
  },
  ...(['get', 'head'] as const).map((method): RouteDoc => ({
    method, path: '/api/recordings/:recordingId/files/:name', tag: 'recordings', summary: 'A recording file through a signed, expiring link (Range supported)', auth: 'none',
    params: upload.recordingUploadParamsSchema, query: z.object({ expires: z.number().int(), sig: z.string() }),
    responses: { 200: 'the file', 206: 'a byte range of the file' }, errors: ['FORBIDDEN', 'NOT_FOUND'],
  })),
  // this document
  { method: 'get', path: '/api/openapi.json', tag: 'meta', summary: 'This OpenAPI document', auth: 'none', responses: { 200: 'OpenAPI 3.1 document' } },
];

const SECURITY: Record<RouteDoc['auth'], object[] | undefined> = {
  none: [],
  session: [{ session: [] }],
  'optional-session': [{}, { session: [] }],
  admin: [{ admin: [] }],
  node: [{ nodeCredential: [] }],
};

/** Builds the OpenAPI 3.1 document from the route table. */
export function buildOpenApi(routes: readonly RouteDoc[] = ROUTES): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    (paths[path] ??= {})[route.method] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: { title: 'edgemeet API', version: '0.1.0', description: 'Errors answer `{ error: { code, message } }` with a stable code (schema/wire/errors.ts).' },
    servers: [{ url: '/' }],
    paths,
    components: {
      securitySchemes: {
        session: { type: 'http', scheme: 'bearer', description: 'session token from register/login' },
        admin: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
        nodeCredential: { type: 'http', scheme: 'bearer', description: '<nodeId>.<HMAC>' },
      },
      schemas: { Error: jsonSchema(errorBodySchema, 'output') },
    },
  };
}

function operation(route: RouteDoc): Record<string, unknown> {
  const parameters = [
    ...parametersOf(route.params, 'path'),
    ...parametersOf(route.query, 'query'),
  ];
  const responses: Record<string, unknown> = {};
  for (const [status, response] of Object.entries(route.responses)) {
    responses[status] = typeof response === 'string' ? { description: response } : { description: 'OK', content: { 'application/json': { schema: jsonSchema(response, 'output') } } };
  }
  for (const status of new Set((route.errors ?? []).map((code) => ERROR_STATUS[code as ErrorCode]))) {
    const codes = (route.errors ?? []).filter((code) => ERROR_STATUS[code as ErrorCode] === status);
    responses[String(status)] = { description: codes.join(', '), content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  }
  return {
    summary: route.summary,
    tags: [route.tag],
    operationId: `${route.method}${route.path.replace(/[^A-Za-z0-9]+(.)?/g, (_, next: string | undefined) => (next ? next.toUpperCase() : ''))}`,
    security: SECURITY[route.auth],
    ...(route.websocket ? { 'x-websocket': true } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(route.body ? { requestBody: requestBody(route.body) } : {}),
    responses,
  };
}

function requestBody(body: NonNullable<RouteDoc['body']>): Record<string, unknown> {
  if ('contentTypes' in body && Array.isArray(body.contentTypes)) {
    return { required: true, description: body.description, content: Object.fromEntries(body.contentTypes.map((type) => [type, { schema: { type: 'string', format: 'binary' } }])) };
  }
  return { required: true, content: { 'application/json': { schema: jsonSchema(body as z.ZodType, 'input') } } };
}

function parametersOf(schema: z.ZodObject | undefined, location: 'path' | 'query'): Record<string, unknown>[] {
  if (!schema) return [];
  const json = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || (json.required ?? []).includes(name),
    schema: property,
  }));
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return rest;
}

let cached: Record<string, unknown> | undefined;

export const openApiRoutes = new Hono<AppEnv>();
openApiRoutes.get('/openapi.json', (c) => c.json((cached ??= buildOpenApi())));
