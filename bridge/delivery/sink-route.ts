import { hostAllowed, parseClaimSink } from '../../common/sink.js';

/** Where an environment's events go, and why not to its own sink when they cannot. */
export interface Route {
  /** undefined: K_SINK's, or nowhere without one. */
  url?: string;
  problem?: string;
}

/**
 * A claim's sink if it is a valid URL on an allowed host (and on none that no sink may be on,
 * common/sink.ts); K_SINK's otherwise. A sink the bridge cannot use is the claim's problem,
 * announced as an incident, not a reason to retry. The inbound endpoint refuses an event asking
 * for one with the same problem.
 */
export function routeSink(claimSink: string | undefined, allow: readonly string[]): Route {
  if (claimSink === undefined) return {};
  const sink = parseClaimSink(claimSink);
  if (!sink.ok) return { problem: sink.problem };
  if (!hostAllowed(sink.url, allow)) {
    return { problem: `host ${sink.url.hostname} is not allowed (BRIDGE_SINK_ALLOW)` };
  }
  return { url: claimSink };
}
