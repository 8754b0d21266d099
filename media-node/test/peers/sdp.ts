import type { ConsumerInfo, TransportInfo } from '../../../schema/wire/index.js';

/*
 * Just enough SDP to drive a werift RTCPeerConnection against a mediasoup WebRtcTransport
 * (mediasoup-client does the same translation in browsers): mediasoup's ICE/DTLS parameters
 * become the remote side of the session, RTP parameters become m-sections.
 */

export interface Fingerprint {
  algorithm: string;
  value: string;
}

export function fingerprintOf(sdp: string): Fingerprint {
  const match = /a=fingerprint:(\S+) (\S+)/.exec(sdp);
  if (!match?.[1] || !match[2]) throw new Error('SDP has no fingerprint');
  return { algorithm: match[1], value: match[2] };
}

export function setupOf(sdp: string): string {
  return /a=setup:(\w+)/.exec(sdp)?.[1] ?? 'active';
}

/** The m-sections of an SDP, as raw text blocks. */
export function mediaSections(sdp: string): string[] {
  return sdp.split(/\r?\n(?=m=)/).slice(1);
}

export function midOf(section: string): string {
  const mid = /a=mid:(\S+)/.exec(section)?.[1];
  if (mid === undefined) throw new Error('m-section without mid');
  return mid;
}

export function payloadTypeOf(section: string, codecName: string): number {
  const match = new RegExp(`a=rtpmap:(\\d+) ${codecName}/`, 'i').exec(section);
  if (!match?.[1]) throw new Error(`no ${codecName} in m-section`);
  return Number(match[1]);
}

export function cnameOf(sdp: string): string {
  return /a=ssrc:\d+ cname:(\S+)/.exec(sdp)?.[1] ?? 'werift';
}

function sessionHeader(transport: TransportInfo, mids: string[]): string[] {
  const fingerprint = transport.dtlsParameters.fingerprints.find((fp) => fp.algorithm === 'sha-256') ?? transport.dtlsParameters.fingerprints[0];
  if (!fingerprint) throw new Error('transport without fingerprint');
  return [
    'v=0',
    `o=- ${Date.now()} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'a=ice-lite',
    `a=group:BUNDLE ${mids.join(' ')}`,
    'a=msid-semantic: WMS *',
    `a=fingerprint:${fingerprint.algorithm} ${fingerprint.value}`,
  ];
}

function transportLines(transport: TransportInfo, setup: string, protocol: 'udp' | 'tcp'): string[] {
  const candidates = transport.iceCandidates
    .filter((candidate) => candidate.protocol === protocol)
    .map((candidate) => {
      const tcp = candidate.tcpType ? ` tcptype ${candidate.tcpType}` : '';
      return `a=candidate:${candidate.foundation} 1 ${candidate.protocol} ${candidate.priority} ${candidate.address} ${candidate.port} typ ${candidate.type}${tcp}`;
    });
  return [
    'c=IN IP4 127.0.0.1',
    `a=ice-ufrag:${transport.iceParameters.usernameFragment}`,
    `a=ice-pwd:${transport.iceParameters.password}`,
    ...candidates,
    'a=end-of-candidates',
    `a=setup:${setup}`,
    'a=rtcp-mux',
    'a=rtcp-rsize',
  ];
}

export interface SendSection {
  mid: string;
  kind: 'audio' | 'video';
  payloadType: number;
}

/** mediasoup's answer to a werift send-only offer. */
export function sendAnswer(transport: TransportInfo, sections: SendSection[]): string {
  const lines = sessionHeader(
    transport,
    sections.map((section) => section.mid),
  );
  for (const section of sections) {
    lines.push(`m=${section.kind} 7 UDP/TLS/RTP/SAVPF ${section.payloadType}`);
    lines.push(...transportLines(transport, 'passive', 'udp'));
    lines.push(`a=mid:${section.mid}`, 'a=recvonly');
    if (section.kind === 'audio') lines.push(`a=rtpmap:${section.payloadType} opus/48000/2`, `a=fmtp:${section.payloadType} minptime=10;useinbandfec=1`);
    else lines.push(`a=rtpmap:${section.payloadType} VP8/90000`, `a=rtcp-fb:${section.payloadType} nack`, `a=rtcp-fb:${section.payloadType} nack pli`);
  }
  return lines.join('\r\n') + '\r\n';
}

/** mediasoup's offer of every consumer so far to a werift receive-only peer. */
export function recvOffer(transport: TransportInfo, consumers: ConsumerInfo[]): string {
  const mids = consumers.map((consumer) => consumer.rtpParameters.mid ?? '');
  const lines = sessionHeader(transport, mids);
  for (const consumer of consumers) {
    const { rtpParameters } = consumer;
    const codecs = rtpParameters.codecs;
    lines.push(`m=${consumer.kind} 7 UDP/TLS/RTP/SAVPF ${codecs.map((codec) => codec.payloadType).join(' ')}`);
    lines.push(...transportLines(transport, 'actpass', 'udp'));
    lines.push(`a=mid:${rtpParameters.mid ?? ''}`, 'a=sendonly', `a=msid:${consumer.producerId} ${consumer.consumerId}`);
    for (const codec of codecs) {
      const [, name] = codec.mimeType.split('/');
      lines.push(`a=rtpmap:${codec.payloadType} ${name}/${codec.clockRate}${codec.channels && codec.channels > 1 ? `/${codec.channels}` : ''}`);
      const fmtp = Object.entries(codec.parameters ?? {}).map(([key, value]) => `${key}=${String(value)}`);
      if (fmtp.length > 0) lines.push(`a=fmtp:${codec.payloadType} ${fmtp.join(';')}`);
      for (const feedback of codec.rtcpFeedback ?? []) {
        const parameter = typeof feedback['parameter'] === 'string' && feedback['parameter'] ? ` ${feedback['parameter']}` : '';
        lines.push(`a=rtcp-fb:${codec.payloadType} ${feedback.type}${parameter}`);
      }
    }
    for (const extension of rtpParameters.headerExtensions ?? []) lines.push(`a=extmap:${extension.id} ${extension.uri}`);
    const ssrc = rtpParameters.encodings?.[0]?.['ssrc'];
    const cname = rtpParameters.rtcp?.['cname'];
    if (typeof ssrc === 'number') lines.push(`a=ssrc:${ssrc} cname:${typeof cname === 'string' ? cname : 'mediasoup'}`);
  }
  return lines.join('\r\n') + '\r\n';
}
