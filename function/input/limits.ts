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
  /**
   * `spec.ttl` as text (XRD maxLength), and as a duration (XRD CEL rule); the same for the
   * catalogue's `environments.defaultTTL` and `maxTTL`, and the length of its `waitTimeout`s.
   */
  ttlLength: 32,
  ttlDays: 365,
  /**
   * A catalogue `waitTimeout` (input CRD CEL rule), in seconds. Helm waits that long inside one
   * reconcile of provider-helm, which stops a Helm command after its `--timeout` (10m by default).
   */
  waitTimeoutSeconds: 3_600,
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
  /**
   * `tools[].readiness` of a catalogue (input CRD maxItems): each check is an Object composed per
   * environment, polled by provider-kubernetes.
   */
  readinessChecks: 16,
  /** A readiness check's object name: a DNS-1123 subdomain (input CRD maxLength). */
  objectNameLength: 253,
  /** `allowedValues` of a catalogue tool or cluster backend (input CRD maxItems and maxLength). */
  allowedValues: 64,
  allowedValueLength: 253,
  /** `cluster.<backend>.kubernetesVersions` of a catalogue (input CRD maxProperties). */
  kubernetesVersions: 32,
} as const;
