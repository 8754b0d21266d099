import { loadConfig } from './config.js';
import { createLog } from './log.js';
import { MediaNode } from './node.js';
import { EdgeUploader, recordingControllerFactory } from './recording/index.js';

/*
 * Entry point: `node --import tsx media-node/main.ts`. Config is read once from the environment;
 * the first SIGTERM/SIGINT drains, a second one exits at once.
 */
const config = loadConfig(process.env);
const log = createLog(config.logLevel, config.nodeId);

try {
  // Recordings are uploaded through the edge, so recording needs the control-plane URL.
  const recording =
    config.recordingEnabled && config.edgeUrl && config.nodeCredential
      ? recordingControllerFactory({ uploader: new EdgeUploader(config.edgeUrl, config.nodeCredential) })
      : undefined;
  const node = await MediaNode.start(config, { log, exit: (code) => process.exit(code), ...(recording ? { recording } : {}) });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      log.info('signal: draining (send again to exit now)', { signal });
      node.drain();
    } else {
      log.warn('second signal: exiting now', { signal });
      process.exit(1);
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
} catch (error) {
  log.fatal('media node failed to start', { err: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}
