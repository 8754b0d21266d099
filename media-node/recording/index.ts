/**
 * Server-side recording on the media node. Public API:
 * - `createRecorder(options)`: capture one meeting (addProducer/removeProducer/stop).
 * - `recordingControllerFactory({ uploader })`: the node's RecordingController seam.
 * - `recoverRecordings(options)`: finish what a killed node left behind.
 * - `EdgeUploader`: uploads through the edge to R2, confirmed by size + sha256.
 */
export { createRecorder } from './recorder.js';
export { recordingControllerFactory, type RecordingControllerOptions } from './controller.js';
export { recoverRecordings } from './recovery.js';
export { EdgeUploader, uploadConfirmed } from './uploader.js';
export { compositeArgs, gridCells } from './composite.js';
export type * from './types.js';
