import type { NodeCommandQueue } from './command-queue.js';
import type { NodeStore } from './node-store.js';

/**
 * Lifts an operator's drain (the fleet API's undrain): the registry places rooms on the node
 * again, and a `drain` command it has not confirmed yet is withdrawn — else a node that was away
 * when it was drained would get it after its next hello and drain itself after all. Rooms that
 * already moved stay where they are. A node that got the command is draining by itself (it
 * reports `draining` until it exits and restarts): the edge cannot call that back.
 * False when the region has no such node.
 */
export function liftDrain(store: NodeStore, commands: NodeCommandQueue, nodeId: string, now: number): boolean {
  if (!store.clearDraining(nodeId)) return false;
  for (const { commandId, command } of commands.pending(nodeId, now)) {
    if (command.command === 'drain') commands.settle(nodeId, commandId);
  }
  return true;
}
