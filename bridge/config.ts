import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { DNS_LABEL, DNS_SUBDOMAIN } from '../common/contract.js';
import { durationMs } from '../common/duration.js';
import { isObject, type JsonObject } from '../common/objects.js';
import { CLUSTER_LOCAL_HOSTS, parseHostPatterns, parseSink } from '../common/sink.js';
import { parseResourceType, type ResourceType } from './kube/api.js';
import type { Mode } from './delivery/cloudevents.js';
import type { LeaseTiming } from './kube/lease.js';

/** pino's levels; `silent` logs nothing. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface BridgeConfig {
  logLevel: LogLevel;
  defaultSink?: string;
  /** Hosts a claim's spec.events.sink may name. */
  sinkAllow: string[];
  extensions: Record<string, string>;
  ca?: string;
  mode: Mode;
  source: string;
  composites: ResourceType[];
  composed: ResourceType[];
  httpAddress: { host: string; port: number };
  workers: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Retries per second over all environments (a token bucket of 10 s worth). */
  retryRate: number;
  /** Checkpoints per second of records onto quiet environments' XRs (see announce/announcer.ts). */
  settleRate: number;
  /** How long a batch waits for others to share its journal write (announce/journal-shards.ts). */
  journalWindowMs: number;
  sinkTimeoutMs: number;
  lease: { namespace: string; name: string; identity: string } & LeaseTiming;
  /** How long before an environment's expiresAt to warn. */
  expiryWarningMs: number;
  /** The endpoint that takes requested and released events; off without an address. */
  inbound: InboundConfig;
}

export interface InboundConfig {
  address?: { host: string; port: number };
  /** Namespaces whose claims events may create and delete; `*` for any. Default: none. */
  namespaces: string[];
  /** A bearer token senders must present, if set. */
  token?: string;
  /** What a requested event creates: the claim kind, or a namespaced XR kind. */
  resource: ResourceType;
  /**
   * Spec fields only a creation sets: BRIDGE_INBOUND_COMPOSITION, the Composition to select (unset:
   * the XRD's default), as `spec.compositionRef` of a claim or `spec.crossplane.compositionRef` of
   * a namespaced XR (a resource also in BRIDGE_COMPOSITES).
   */
  onCreate: JsonObject;
}

/** CloudEvents extension names: lower-case letters and digits (CloudEvents 1.0). */
const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;

/**
 * Reads one variable: its text, undefined when unset or empty. What it throws is prefixed with the
 * variable's name.
 */
type Parser<T> = (text: string | undefined) => T;

const orElse =
  (fallback: string): Parser<string> =>
  (text) =>
    text ?? fallback;

const optional =
  <T>(parse: (text: string) => T): Parser<T | undefined> =>
  (text) =>
    text === undefined ? undefined : parse(text);

function oneOf<T extends string>(values: readonly T[], fallback: T, named: string): Parser<T> {
  return (text = fallback) => {
    if (!values.includes(text as T)) throw new Error(`${text} is not ${named}`);
    return text as T;
  };
}

function positive(fallback: number): Parser<number> {
  return (text) => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${text} is not a whole number ≥ 1`);
    return value;
  };
}

function duration(fallback: string): Parser<number> {
  return (text = fallback) => {
    const ms = durationMs(text);
    if (ms === undefined) throw new Error(`${text} is not a duration such as 1h or 90s`);
    return ms;
  };
}

function hostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port)) throw new Error(`${address} is not host:port`);
  // An IPv6 pod IP comes bare (fd00::1:8080) or bracketed; listen() wants it bare.
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port };
}

const resourceType =
  (fallback: string): Parser<ResourceType> =>
  (text = fallback) =>
    parseResourceType(text.trim());

/** Comma-separated group/version/plural. */
const resourceTypes =
  (fallback: string): Parser<ResourceType[]> =>
  (text = fallback) =>
    text.split(',').map((type) => parseResourceType(type.trim()));

function sink(text: string): string {
  const sink = parseSink(text);
  if (!sink.ok) throw new Error(sink.problem);
  return text;
}

/** K_CE_OVERRIDES: `{"extensions": {...}}`, as a SinkBinding writes it. */
function overrides(text: string): Record<string, string> {
  let overrides: unknown;
  try {
    overrides = JSON.parse(text);
  } catch {
    throw new Error('not JSON');
  }
  if (!isObject(overrides) || Object.keys(overrides).some((key) => key !== 'extensions')) {
    throw new Error('may hold only {"extensions": {...}}');
  }
  const given = overrides.extensions ?? {};
  if (!isObject(given)) throw new Error('extensions must be an object');
  const extensions: Record<string, string> = {};
  for (const [name, value] of Object.entries(given)) {
    if (!EXTENSION_NAME.test(name)) {
      throw new Error(`extension ${JSON.stringify(name)} is not a CloudEvents attribute name`);
    }
    extensions[name] = String(value);
  }
  return extensions;
}

/** Namespace names, comma-separated, or `*`. */
function namespaces(text = ''): string[] {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  for (const name of names) {
    if (name !== '*' && !DNS_LABEL.test(name)) {
      throw new Error(`${JSON.stringify(name)} is not a namespace name`);
    }
  }
  return names;
}

/** Composition names are DNS subdomains. */
function compositionName(name: string): string {
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    throw new Error(`${JSON.stringify(name)} is not a Composition name`);
  }
  return name;
}

/** Every variable the bridge reads, with its parser. */
const VARIABLES = {
  K_SINK: optional(sink),
  BRIDGE_SINK_ALLOW: (text: string | undefined) =>
    text === undefined ? [...CLUSTER_LOCAL_HOSTS] : parseHostPatterns(text),
  K_CE_OVERRIDES: (text: string | undefined) => (text === undefined ? {} : overrides(text)),
  K_CA_CERTS: optional((text) => text),
  BRIDGE_LOG_LEVEL: oneOf(LOG_LEVELS, 'info', `one of ${LOG_LEVELS.join(', ')}`),
  BRIDGE_CE_MODE: oneOf<Mode>(['binary', 'structured'], 'binary', 'binary or structured'),
  BRIDGE_LEASE_DURATION_MS: positive(15_000),
  BRIDGE_LEASE_RENEW_DEADLINE_MS: positive(10_000),
  BRIDGE_LEASE_RETRY_PERIOD_MS: positive(2_000),
  BRIDGE_COMPOSITES: resourceTypes('platform.xenvironment.io/v1alpha1/xenvironments'),
  BRIDGE_INBOUND_RESOURCE: resourceType('platform.xenvironment.io/v1alpha1/environments'),
  BRIDGE_SOURCE: orElse('/xenvironment-bridge'),
  BRIDGE_COMPOSED: resourceTypes('helm.crossplane.io/v1beta1/releases'),
  // Loopback unless told: /metrics is unauthenticated. In a pod, the pod IP (docs/operations.md).
  BRIDGE_HTTP_ADDRESS: (text = '127.0.0.1:8080') => hostPort(text),
  BRIDGE_WORKERS: positive(64),
  BRIDGE_RETRY_BASE_MS: positive(250),
  BRIDGE_RETRY_MAX_MS: positive(30_000),
  BRIDGE_RETRY_RATE: positive(10),
  BRIDGE_SETTLE_RATE: positive(50),
  BRIDGE_JOURNAL_WINDOW_MS: positive(5),
  BRIDGE_SINK_TIMEOUT_MS: positive(10_000),
  BRIDGE_EXPIRY_WARNING: duration('1h'),
  BRIDGE_INBOUND_ADDRESS: optional(hostPort),
  BRIDGE_INBOUND_NAMESPACES: namespaces,
  BRIDGE_INBOUND_TOKEN: optional((text) => text),
  BRIDGE_INBOUND_COMPOSITION: optional(compositionName),
  POD_NAMESPACE: optional((text) => text),
  POD_NAME: optional((text) => text),
} satisfies Record<string, Parser<unknown>>;

type Variables = { [Name in keyof typeof VARIABLES]: ReturnType<(typeof VARIABLES)[Name]> };

/** Every variable read, in the table's order; the first in error throws, naming it. */
function readVariables(env: NodeJS.ProcessEnv): Variables {
  const read: Record<string, unknown> = {};
  for (const [name, parse] of Object.entries(VARIABLES)) {
    const text = env[name];
    try {
      read[name] = parse(text === '' ? undefined : text);
    } catch (error) {
      throw new Error(`${name}: ${(error as Error).message}`);
    }
  }
  return read as Variables;
}

const sameType = (a: ResourceType, b: ResourceType) =>
  a.group === b.group && a.version === b.version && a.plural === b.plural;

/** Crossplane v2's namespaced XRs keep Crossplane's own fields under spec.crossplane; claims do not. */
function selecting(composition: string, composite: boolean): JsonObject {
  const ref = { compositionRef: { name: composition } };
  return composite ? { crossplane: ref } : ref;
}

function leaseOf(v: Variables, serviceAccountNamespace?: string): BridgeConfig['lease'] {
  const timing = {
    durationMs: v.BRIDGE_LEASE_DURATION_MS,
    renewDeadlineMs: v.BRIDGE_LEASE_RENEW_DEADLINE_MS,
    retryPeriodMs: v.BRIDGE_LEASE_RETRY_PERIOD_MS,
  };
  if (!(
    timing.durationMs > timing.renewDeadlineMs && timing.renewDeadlineMs > timing.retryPeriodMs
  )) {
    throw new Error(
      'BRIDGE_LEASE_*: the lease duration must exceed the renew deadline, and that the retry period',
    );
  }
  return {
    namespace: v.POD_NAMESPACE || serviceAccountNamespace?.trim() || 'crossplane-system',
    name: 'xenvironment-bridge',
    // A pod's name is unique while it runs, so a restarted container takes its lease back at
    // once; without one, a unique identity per process.
    identity: v.POD_NAME ?? `${hostname()}_${randomUUID()}`,
    ...timing,
  };
}

function inboundOf(v: Variables): InboundConfig {
  const resource = v.BRIDGE_INBOUND_RESOURCE;
  const composition = v.BRIDGE_INBOUND_COMPOSITION;
  return {
    ...(v.BRIDGE_INBOUND_ADDRESS ? { address: v.BRIDGE_INBOUND_ADDRESS } : {}),
    namespaces: v.BRIDGE_INBOUND_NAMESPACES,
    ...(v.BRIDGE_INBOUND_TOKEN ? { token: v.BRIDGE_INBOUND_TOKEN } : {}),
    resource,
    onCreate: composition
      ? selecting(
          composition,
          v.BRIDGE_COMPOSITES.some((t) => sameType(t, resource)),
        )
      : {},
  };
}

/**
 * Reads the bridge's settings from the environment: the Knative SinkBinding variables (K_SINK,
 * K_CE_OVERRIDES, K_CA_CERTS), the downward API's POD_NAME and POD_NAMESPACE, and BRIDGE_* for the
 * rest. `serviceAccountNamespace` is the mounted namespace file's content, if any. Errors name the
 * variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv, serviceAccountNamespace?: string): BridgeConfig {
  const v = readVariables(env);
  const defaultSink = v.K_SINK;
  // Claims may always name K_SINK's host: the default broker, under another path.
  const sinkAllow = defaultSink
    ? [...v.BRIDGE_SINK_ALLOW, new URL(defaultSink).hostname.toLowerCase()]
    : v.BRIDGE_SINK_ALLOW;
  const lease = leaseOf(v, serviceAccountNamespace);
  return {
    logLevel: v.BRIDGE_LOG_LEVEL,
    ...(defaultSink ? { defaultSink } : {}),
    sinkAllow,
    extensions: v.K_CE_OVERRIDES,
    ...(v.K_CA_CERTS ? { ca: v.K_CA_CERTS } : {}),
    mode: v.BRIDGE_CE_MODE,
    source: v.BRIDGE_SOURCE,
    composites: v.BRIDGE_COMPOSITES,
    composed: v.BRIDGE_COMPOSED,
    httpAddress: v.BRIDGE_HTTP_ADDRESS,
    workers: v.BRIDGE_WORKERS,
    retryBaseMs: v.BRIDGE_RETRY_BASE_MS,
    retryMaxMs: v.BRIDGE_RETRY_MAX_MS,
    retryRate: v.BRIDGE_RETRY_RATE,
    settleRate: v.BRIDGE_SETTLE_RATE,
    journalWindowMs: v.BRIDGE_JOURNAL_WINDOW_MS,
    sinkTimeoutMs: v.BRIDGE_SINK_TIMEOUT_MS,
    expiryWarningMs: v.BRIDGE_EXPIRY_WARNING,
    inbound: inboundOf(v),
    lease,
  };
}
