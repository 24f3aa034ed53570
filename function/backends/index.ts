import type { ClusterBackend } from './backend.js';
import { vcluster } from './vcluster.js';

/** Cluster backends by the name used in `spec.cluster.backend` and the catalogue's `cluster`. */
export const backends: ReadonlyMap<string, ClusterBackend> = new Map([['vcluster', vcluster]]);
