/**
 * Server-side recording on the media node. Public API:
 * - `createRecorder(options)`: capture one meeting (addProducer/removeProducer/begin/stop).
 * - `recordingControllerFactory({ uploader })`: the node's RecordingController seam.
 * - `recoverRecordings(options)`: finish what a killed node left behind.
 * - `EdgeUploader`: uploads through the edge to R2, confirmed by size + sha256.
 * - `recordingVerdict(facts)`: the status rules (ready / incomplete / failed), pure.
 */
export { createRecorder } from './recorder.js';
export { CapturePool } from './capture-pool.js';
export { recordingControllerFactory, recordingStatusEvent, type NodeRecordingController, type RecordableRoom, type RecordingControllerOptions } from './controller.js';
export { recordingVerdict, type RecordingFacts, type Verdict } from './status-rules.js';
export { recoverRecordings } from './recovery.js';
export { EdgeUploader, uploadConfirmed } from './uploader.js';
export { compositeArgs, gridCells } from './composite.js';
export type * from './types.js';
