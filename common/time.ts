/** An RFC 3339 date-time, as Kubernetes and CDEvents write them. */
export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** `time` as Kubernetes writes times: RFC 3339 in UTC, to the second. */
export function kubernetesTime(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
