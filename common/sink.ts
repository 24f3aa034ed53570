/**
 * Event sink URLs (`spec.events.sink`, K_SINK): one validation for the function and the bridge, so
 * that what a claim may name is decided in one place.
 */

export type SinkCheck = { ok: true; url: URL } | { ok: false; problem: string };

/** An absolute http(s) URL with a host; the problem, when not, names what is wrong. */
export function parseSink(text: string): SinkCheck {
  const shown = JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
  if (/\s/.test(text)) return { ok: false, problem: `${shown} contains whitespace` };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // new URL() rejects both "http://" (no host) and "http://x:99999/" (port out of range).
    return { ok: false, problem: `${shown} is not an absolute URL with a valid host and port` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, problem: `${shown}: scheme ${url.protocol} is not http or https` };
  }
  if (url.hostname === '') return { ok: false, problem: `${shown} has no host` };
  return { ok: true, url };
}

/** Cluster-local service names: where a claim may send events unless the operator says more. */
export const CLUSTER_LOCAL_HOSTS = ['*.svc', '*.svc.cluster.local'];

const LABEL = '[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?';
const HOST_PATTERN = new RegExp(`^(\\*|(\\*\\.)?${LABEL}(\\.${LABEL})*)$`);
const IPV6 = /^\[[0-9a-f:.]+\]$/;

function normalHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

/**
 * Host patterns, comma-separated: `*` (any host), `*.example.org` (any name below example.org,
 * not example.org itself), or an exact host name or IP address.
 */
export function parseHostPatterns(text: string): string[] {
  return text
    .split(',')
    .map((pattern) => normalHost(pattern.trim()))
    .filter((pattern) => pattern !== '')
    .map((pattern) => {
      if (!HOST_PATTERN.test(pattern) && !IPV6.test(pattern)) {
        throw new Error(`${JSON.stringify(pattern)} is not a host, *.domain or *`);
      }
      return pattern;
    });
}

export function hostAllowed(url: URL, patterns: readonly string[]): boolean {
  const host = normalHost(url.hostname);
  return patterns.some((pattern) =>
    pattern === '*'
      ? true
      : pattern.startsWith('*.')
        ? host.endsWith(pattern.slice(1))
        : host === pattern,
  );
}
