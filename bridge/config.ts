import { isObject } from '../common/objects.js';
import { parseResourceType, type ResourceType } from './kube.js';
import type { Mode } from './cloudevents.js';

export interface BridgeConfig {
  defaultSink?: string;
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
  sinkTimeoutMs: number;
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

/**
 * Reads the bridge's settings from the environment: the Knative SinkBinding variables (K_SINK,
 * K_CE_OVERRIDES, K_CA_CERTS) and BRIDGE_* for the rest. Errors name the variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv): BridgeConfig {
  let defaultSink: string | undefined;
  if (env.K_SINK) {
    if (!URL.canParse(env.K_SINK)) throw new Error('K_SINK: not an absolute URL');
    defaultSink = env.K_SINK;
  }
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
  const mode = (env.BRIDGE_CE_MODE || 'binary') as Mode;
  if (mode !== 'binary' && mode !== 'structured') {
    throw new Error(`BRIDGE_CE_MODE: ${mode} is not binary or structured`);
  }
  const address = env.BRIDGE_HTTP_ADDRESS || '0.0.0.0:8080';
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port))
    throw new Error(`BRIDGE_HTTP_ADDRESS: ${address} is not host:port`);
  const types = (name: string, fallback: string) =>
    (env[name] || fallback).split(',').map((text) => {
      try {
        return parseResourceType(text.trim());
      } catch (error) {
        throw new Error(`${name}: ${(error as Error).message}`);
      }
    });
  return {
    ...(defaultSink ? { defaultSink } : {}),
    extensions,
    ...(env.K_CA_CERTS ? { ca: env.K_CA_CERTS } : {}),
    mode,
    source: env.BRIDGE_SOURCE || '/xenvironment-bridge',
    composites: types('BRIDGE_COMPOSITES', 'platform.xenvironment.io/v1alpha1/xenvironments'),
    composed: types('BRIDGE_COMPOSED', 'helm.crossplane.io/v1beta1/releases'),
    httpAddress: { host: address.slice(0, colon), port },
    workers: positive(env, 'BRIDGE_WORKERS', 64),
    retryBaseMs: positive(env, 'BRIDGE_RETRY_BASE_MS', 250),
    retryMaxMs: positive(env, 'BRIDGE_RETRY_MAX_MS', 30_000),
    sinkTimeoutMs: positive(env, 'BRIDGE_SINK_TIMEOUT_MS', 10_000),
  };
}
