import { z } from 'zod';

/**
 * Loose shapes of mediasoup's own parameter objects. We check the structure a message must have
 * so garbage is refused at the boundary; mediasoup validates the details and its TypeErrors are
 * mapped to MEDIA_ERROR by the node.
 */
export const rtpCodecSchema = z.looseObject({
  mimeType: z.string().max(64),
  clockRate: z.number().int().positive(),
  payloadType: z.number().int().min(0).max(127).optional(),
  channels: z.number().int().positive().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  rtcpFeedback: z.array(z.looseObject({ type: z.string() })).optional(),
});

export const rtpCapabilitiesSchema = z.looseObject({
  codecs: z.array(rtpCodecSchema).max(64).optional(),
  headerExtensions: z.array(z.looseObject({ uri: z.string() })).max(64).optional(),
});
export type RtpCapabilitiesWire = z.infer<typeof rtpCapabilitiesSchema>;

export const rtpParametersSchema = z.looseObject({
  mid: z.string().optional(),
  codecs: z.array(rtpCodecSchema.extend({ payloadType: z.number().int().min(0).max(127) })).min(1).max(32),
  headerExtensions: z.array(z.looseObject({ uri: z.string(), id: z.number().int() })).max(32).optional(),
  encodings: z.array(z.looseObject({})).max(8).optional(),
  rtcp: z.looseObject({}).optional(),
});
export type RtpParametersWire = z.infer<typeof rtpParametersSchema>;

export const dtlsParametersSchema = z.looseObject({
  role: z.enum(['auto', 'client', 'server']).optional(),
  fingerprints: z.array(z.object({ algorithm: z.string().max(32), value: z.string().max(256) })).min(1).max(8),
});
export type DtlsParametersWire = z.infer<typeof dtlsParametersSchema>;

export const iceParametersSchema = z.looseObject({
  usernameFragment: z.string(),
  password: z.string(),
  iceLite: z.boolean().optional(),
});

export const iceCandidateSchema = z.looseObject({
  foundation: z.string(),
  priority: z.number(),
  address: z.string(),
  protocol: z.enum(['udp', 'tcp']),
  port: z.number().int(),
  type: z.string(),
  tcpType: z.string().optional(),
});

export const sctpCapabilitiesSchema = z.looseObject({
  numStreams: z.looseObject({ OS: z.number().int(), MIS: z.number().int() }),
});
