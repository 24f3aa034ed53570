/**
 * Every bound the function enforces on claims and catalogues, in one place. The XRDs and the input
 * CRD declare the same numbers, so the API server refuses what the function would (a test checks);
 * the function checks again because a request can carry anything.
 */
export const limits = {
  /** `spec.tools` of a claim (XRD maxItems). */
  claimTools: 200,
  /** `spec.tools[].version` (XRD maxLength). */
  chartVersionLength: 64,
  /** `spec.events.sink` (XRD maxLength). */
  sinkLength: 2048,
  /** `spec.ttl` as text (XRD maxLength), and as a duration (XRD CEL rule). */
  ttlLength: 32,
  ttlDays: 365,
  /**
   * Nesting of chart values below `values`, in claims and catalogues. Not expressible in a schema;
   * it bounds every walk over values, and no real chart nests deeper.
   */
  valuesDepth: 64,
  /**
   * `tools` of a catalogue (input CRD maxItems). A Composition is one etcd object (at most 1.5 MiB),
   * which holds about this many tools.
   */
  catalogTools: 1024,
  /** A catalogue tool's name is its Helm release name, which Helm caps at 53 characters. */
  toolNameLength: 53,
  /** `tools[].dependsOn` of a catalogue (input CRD maxItems). */
  dependsOn: 32,
  /** `allowedValues` of a catalogue tool or cluster backend (input CRD maxItems and maxLength). */
  allowedValues: 64,
  allowedValueLength: 253,
  /** `cluster.<backend>.kubernetesVersions` of a catalogue (input CRD maxProperties). */
  kubernetesVersions: 32,
} as const;
