import { inject } from 'vitest';

// mediasoup reads MEDIASOUP_WORKER_BIN when it is first imported: set it before any test file loads.
process.env['MEDIASOUP_WORKER_BIN'] = inject('mediasoupWorkerBin');
