import type { BackendRegistry } from './backend.js';
import { vcluster } from './vcluster.js';

/** The backends the function offers; run-function hands them to parsing. */
export const clusterBackends: BackendRegistry = new Map([['vcluster', vcluster]]);
