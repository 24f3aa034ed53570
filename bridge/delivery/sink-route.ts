import { hostAllowed, parseSink } from '../../common/sink.js';

/** Where an environment's events go, and why not to its own sink when they cannot. */
export interface Route {
  /** undefined: K_SINK's, or nowhere without one. */
  url?: string;
  problem?: string;
}

/**
 * A claim's sink if it is a valid URL on an allowed host; K_SINK's otherwise. A sink the bridge
 * cannot use is the claim's problem, announced as an incident, not a reason to retry.
 */
export function routeSink(claimSink: string | undefined, allow: readonly string[]): Route {
  if (claimSink === undefined) return {};
  const sink = parseSink(claimSink);
  if (!sink.ok) return { problem: sink.problem };
  if (!hostAllowed(sink.url, allow)) {
    return { problem: `host ${sink.url.hostname} is not allowed (BRIDGE_SINK_ALLOW)` };
  }
  return { url: claimSink };
}
