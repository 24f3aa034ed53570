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

/**
 * Where no claim's sink may be, whatever an allow-list says: addresses that mean the bridge's own
 * pod or node, or its cloud's metadata service (169.254.169.254), never a consumer. A name that
 * resolves there is the allow-list's business: this check reads the URL, it resolves nothing.
 */
const LINK_LOCAL = 'link-local (169.254.0.0/16, fe80::/10)';
const LOOPBACK = 'loopback (127.0.0.0/8, ::1, localhost)';
/** 0.0.0.0, and the rest of 0.0.0.0/8 ("this network"): never a destination (RFC 1122). */
const UNSPECIFIED = 'unspecified (0.0.0.0/8, ::)';

/** An IPv4 address as a number; the URL parser has already made every IPv4 form dotted. */
function ipv4(host: string): number | undefined {
  const parts = host.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    return undefined;
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/** An IPv6 address as the URL parser writes it (bracketed, hex groups, `::` once) as 8 groups. */
function ipv6(host: string): number[] | undefined {
  if (!host.startsWith('[') || !host.endsWith(']')) return undefined;
  const [head = '', tail] = host.slice(1, -1).split('::');
  const groups = (text: string) => (text === '' ? [] : text.split(':').map((g) => parseInt(g, 16)));
  const before = groups(head);
  const after = tail === undefined ? [] : groups(tail);
  const all = [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after];
  return all.length === 8 && all.every((g) => g >= 0 && g <= 0xffff) ? all : undefined;
}

function forbiddenIpv4(address: number): string | undefined {
  if (address >>> 24 === 127) return LOOPBACK;
  if (address >>> 24 === 0) return UNSPECIFIED;
  if (address >>> 16 === 0xa9fe) return LINK_LOCAL;
  return undefined;
}

function forbiddenIpv6(groups: number[]): string | undefined {
  const zeros = (n: number) => groups.slice(0, n).every((g) => g === 0);
  if (zeros(7) && groups[7] === 1) return LOOPBACK;
  if (zeros(8)) return UNSPECIFIED;
  if ((groups[0]! & 0xffc0) === 0xfe80) return LINK_LOCAL;
  // IPv4-mapped (::ffff:a.b.c.d): the socket connects to the IPv4 address.
  if (zeros(5) && groups[5] === 0xffff) return forbiddenIpv4(groups[6]! * 0x10000 + groups[7]!);
  return undefined;
}

/** Why no sink may be on `url`'s host, if none may: what the host is. */
export function forbiddenHost(url: URL): string | undefined {
  const host = normalHost(url.hostname);
  if (host === 'localhost' || host.endsWith('.localhost')) return LOOPBACK;
  const v4 = ipv4(host);
  if (v4 !== undefined) return forbiddenIpv4(v4);
  const v6 = ipv6(host);
  return v6 && forbiddenIpv6(v6);
}

/**
 * A claim's sink (`spec.events.sink`, or a requested event's `sink`): a valid sink URL, refused
 * when its host is one no sink may be on, whatever the allow-list. K_SINK, the operator's, is not
 * held to this: it may be in the same pod, on loopback.
 */
export function parseClaimSink(text: string): SinkCheck {
  const sink = parseSink(text);
  if (!sink.ok) return sink;
  const forbidden = forbiddenHost(sink.url);
  return forbidden
    ? { ok: false, problem: `host ${sink.url.hostname} is ${forbidden}: no sink may be there` }
    : sink;
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
 * not example.org itself), or an exact host name or IP address. One that could only match hosts
 * no sink may be on (`127.0.0.1`, `*.localhost`) is an error: it would never allow anything.
 */
export function parseHostPatterns(text: string): string[] {
  return text
    .split(',')
    .map((pattern) => normalHost(pattern.trim()))
    .filter((pattern) => pattern !== '')
    .map((pattern) => {
      const host =
        pattern === '*' ? undefined : parseSink(`http://${pattern.replace(/^\*\./, 'x.')}/`);
      if ((!HOST_PATTERN.test(pattern) && !IPV6.test(pattern)) || host?.ok === false) {
        throw new Error(`${JSON.stringify(pattern)} is not a host, *.domain or *`);
      }
      const forbidden = host?.ok && forbiddenHost(host.url);
      if (forbidden) throw new Error(`${pattern} is ${forbidden}: no sink may be there`);
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
