import { z } from 'zod';
import { nodeIdSchema } from '../../schema/wire/common.js';
import type { NodeDownMessage, NodeEvent } from '../../schema/wire/node-control.js';
import { regionIdSchema } from '../../schema/regions.js';
import { log } from '../http/log.js';

/** What a node's control socket carries across hibernation. */
const nodeSocketAttachmentSchema = z.object({
  nodeId: nodeIdSchema,
  region: regionIdSchema,
  /** This connection among the node's connections: only the newest one's closing means "gone". */
  connectionId: z.string().min(1),
  helloed: z.boolean(),
});
export type NodeSocketAttachment = z.infer<typeof nodeSocketAttachmentSchema>;

export function attach(ws: WebSocket, attachment: NodeSocketAttachment): void {
  ws.serializeAttachment(attachment);
}

/** The socket's attachment; null for a socket that never got one (or one from an older version). */
export function attachmentOf(ws: WebSocket): NodeSocketAttachment | null {
  return nodeSocketAttachmentSchema.safeParse(ws.deserializeAttachment()).data ?? null;
}

export function sendDown(ws: WebSocket, message: NodeDownMessage): void {
  try {
    ws.send(JSON.stringify(message));
  } catch (error) {
    log('warn', 'node.send_failed', { error: String(error) });
  }
}

/** The room has taken this recording status: the node may forget it (it resends until told so). */
export function confirmRecordingStatus(ws: WebSocket, { recordingId, status, statusId }: Extract<NodeEvent, { event: 'recordingStatus' }>): void {
  sendDown(ws, { type: 'recordingStatusReceived', recordingId, status, ...(statusId ? { statusId } : {}) });
}
