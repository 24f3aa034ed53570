import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { DNS_LABEL, DNS_SUBDOMAIN } from '../common/contract.js';
import { durationMs } from '../common/duration.js';
import { isObject, type JsonObject } from '../common/objects.js';
import { CLUSTER_LOCAL_HOSTS, parseHostPatterns, parseSink } from '../common/sink.js';
import { parseResourceType, type ResourceType } from './kube.js';
import type { Mode } from './cloudevents.js';
import type { LeaseTiming } from './lease.js';

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
  /** Writes per second that clear delivered outboxes of quiet environments (see reconciler.ts). */
  settleRate: number;
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

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name}: ${raw} is not a whole number ≥ 1`);
  return value;
}

function duration(env: NodeJS.ProcessEnv, name: string, fallback: string): number {
  const text = env[name] || fallback;
  const ms = durationMs(text);
  if (ms === undefined) throw new Error(`${name}: ${text} is not a duration such as 1h or 90s`);
  return ms;
}

const sameType = (a: ResourceType, b: ResourceType) =>
  a.group === b.group && a.version === b.version && a.plural === b.plural;

/** Crossplane v2's namespaced XRs keep Crossplane's own fields under spec.crossplane; claims do not. */
function selecting(composition: string, composite: boolean): JsonObject {
  const ref = { compositionRef: { name: composition } };
  return composite ? { crossplane: ref } : ref;
}

/** Composition names are DNS subdomains. */
function compositionName(name: string): string {
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    throw new Error(
      `BRIDGE_INBOUND_COMPOSITION: ${JSON.stringify(name)} is not a Composition name`,
    );
  }
  return name;
}

function hostPort(address: string, name: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port)) throw new Error(`${name}: ${address} is not host:port`);
  // An IPv6 pod IP comes bare (fd00::1:8080) or bracketed; listen() wants it bare.
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port };
}

/** BRIDGE_INBOUND_NAMESPACES: namespace names, comma-separated, or `*`. */
function namespaces(text: string): string[] {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  for (const name of names) {
    if (name !== '*' && !DNS_LABEL.test(name)) {
      throw new Error(`BRIDGE_INBOUND_NAMESPACES: ${JSON.stringify(name)} is not a namespace name`);
    }
  }
  return names;
}

/**
 * Reads the bridge's settings from the environment: the Knative SinkBinding variables (K_SINK,
 * K_CE_OVERRIDES, K_CA_CERTS), the downward API's POD_NAME and POD_NAMESPACE, and BRIDGE_* for the
 * rest. `serviceAccountNamespace` is the mounted namespace file's content, if any. Errors name the
 * variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv, serviceAccountNamespace?: string): BridgeConfig {
  let defaultSink: string | undefined;
  if (env.K_SINK) {
    const sink = parseSink(env.K_SINK);
    if (!sink.ok) throw new Error(`K_SINK: ${sink.problem}`);
    defaultSink = env.K_SINK;
  }
  let sinkAllow: string[];
  try {
    sinkAllow = env.BRIDGE_SINK_ALLOW
      ? parseHostPatterns(env.BRIDGE_SINK_ALLOW)
      : [...CLUSTER_LOCAL_HOSTS];
  } catch (error) {
    throw new Error(`BRIDGE_SINK_ALLOW: ${(error as Error).message}`);
  }
  // Claims may always name K_SINK's host: the default broker, under another path.
  if (defaultSink) sinkAllow.push(new URL(defaultSink).hostname.toLowerCase());
  const extensions: Record<string, string> = {};
  if (env.K_CE_OVERRIDES) {
    let overrides: unknown;
    try {
      overrides = JSON.parse(env.K_CE_OVERRIDES);
    } catch {
      throw new Error('K_CE_OVERRIDES: not JSON');
    }
    if (!isObject(overrides) || Object.keys(overrides).some((key) => key !== 'extensions')) {
      throw new Error('K_CE_OVERRIDES: may hold only {"extensions": {...}}');
    }
    const given = overrides.extensions ?? {};
    if (!isObject(given)) throw new Error('K_CE_OVERRIDES: extensions must be an object');
    for (const [name, value] of Object.entries(given)) {
      if (!EXTENSION_NAME.test(name))
        throw new Error(
          `K_CE_OVERRIDES: extension ${JSON.stringify(name)} is not a CloudEvents attribute name`,
        );
      extensions[name] = String(value);
    }
  }
  const logLevel = (env.BRIDGE_LOG_LEVEL || 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new Error(`BRIDGE_LOG_LEVEL: ${logLevel} is not one of ${LOG_LEVELS.join(', ')}`);
  }
  const mode = (env.BRIDGE_CE_MODE || 'binary') as Mode;
  if (mode !== 'binary' && mode !== 'structured') {
    throw new Error(`BRIDGE_CE_MODE: ${mode} is not binary or structured`);
  }
  const type = (name: string, text: string) => {
    try {
      return parseResourceType(text.trim());
    } catch (error) {
      throw new Error(`${name}: ${(error as Error).message}`);
    }
  };
  const types = (name: string, fallback: string) =>
    (env[name] || fallback).split(',').map((text) => type(name, text));
  const lease = {
    durationMs: positive(env, 'BRIDGE_LEASE_DURATION_MS', 15_000),
    renewDeadlineMs: positive(env, 'BRIDGE_LEASE_RENEW_DEADLINE_MS', 10_000),
    retryPeriodMs: positive(env, 'BRIDGE_LEASE_RETRY_PERIOD_MS', 2_000),
  };
  if (!(lease.durationMs > lease.renewDeadlineMs && lease.renewDeadlineMs > lease.retryPeriodMs)) {
    throw new Error(
      'BRIDGE_LEASE_*: the lease duration must exceed the renew deadline, and that the retry period',
    );
  }
  const composites = types('BRIDGE_COMPOSITES', 'platform.xenvironment.io/v1alpha1/xenvironments');
  const inboundResource = type(
    'BRIDGE_INBOUND_RESOURCE',
    env.BRIDGE_INBOUND_RESOURCE || 'platform.xenvironment.io/v1alpha1/environments',
  );
  return {
    logLevel,
    ...(defaultSink ? { defaultSink } : {}),
    sinkAllow,
    extensions,
    ...(env.K_CA_CERTS ? { ca: env.K_CA_CERTS } : {}),
    mode,
    source: env.BRIDGE_SOURCE || '/xenvironment-bridge',
    composites,
    composed: types('BRIDGE_COMPOSED', 'helm.crossplane.io/v1beta1/releases'),
    // Loopback unless told: /metrics is unauthenticated. In a pod, the pod IP (see the README).
    httpAddress: hostPort(env.BRIDGE_HTTP_ADDRESS || '127.0.0.1:8080', 'BRIDGE_HTTP_ADDRESS'),
    workers: positive(env, 'BRIDGE_WORKERS', 64),
    retryBaseMs: positive(env, 'BRIDGE_RETRY_BASE_MS', 250),
    retryMaxMs: positive(env, 'BRIDGE_RETRY_MAX_MS', 30_000),
    retryRate: positive(env, 'BRIDGE_RETRY_RATE', 10),
    settleRate: positive(env, 'BRIDGE_SETTLE_RATE', 50),
    sinkTimeoutMs: positive(env, 'BRIDGE_SINK_TIMEOUT_MS', 10_000),
    expiryWarningMs: duration(env, 'BRIDGE_EXPIRY_WARNING', '1h'),
    inbound: {
      ...(env.BRIDGE_INBOUND_ADDRESS
        ? { address: hostPort(env.BRIDGE_INBOUND_ADDRESS, 'BRIDGE_INBOUND_ADDRESS') }
        : {}),
      namespaces: namespaces(env.BRIDGE_INBOUND_NAMESPACES ?? ''),
      ...(env.BRIDGE_INBOUND_TOKEN ? { token: env.BRIDGE_INBOUND_TOKEN } : {}),
      resource: inboundResource,
      onCreate: env.BRIDGE_INBOUND_COMPOSITION
        ? selecting(
            compositionName(env.BRIDGE_INBOUND_COMPOSITION),
            composites.some((t) => sameType(t, inboundResource)),
          )
        : {},
    },
    lease: {
      namespace: env.POD_NAMESPACE || serviceAccountNamespace?.trim() || 'crossplane-system',
      name: 'xenvironment-bridge',
      // A pod's name is unique while it runs, so a restarted container takes its lease back at
      // once; without one, a unique identity per process.
      identity: env.POD_NAME || `${hostname()}_${randomUUID()}`,
      ...lease,
    },
  };
}
