import { DNS_LABEL, DNS_SUBDOMAIN } from '../../common/contract.js';
import { deepFreeze, equalJson, type JsonObject } from '../../common/objects.js';
import { parseAllowList, type AllowList } from './allowed-values.js';
import { knownBackends, type BackendRegistry, type ClusterBackend } from '../backends/backend.js';
import { parseChart } from './chart.js';
import { TTL_RULES, readDuration, type Duration, type DurationRules } from './read-duration.js';
import { findCycle } from './graph.js';
import { limits } from './limits.js';
import type { Chart, ReadinessCheck, WorkloadKind } from './model.js';
import { FieldError, describe, fieldPath, quote, read } from './untrusted-input.js';
import { readValues } from './values.js';

const CATALOG_API_VERSION = 'xenvironment.fn.crossplane.io/v1beta1';
const CATALOG_KIND = 'Catalog';
/** provider-helm's own default; long enough for most charts' images to pull and start. */
const DEFAULT_WAIT_TIMEOUT = '5m';
const WAIT_TIMEOUT_RULES: DurationRules = {
  days: false,
  maxLength: limits.ttlLength,
  max: { ms: limits.waitTimeoutSeconds * 1_000, text: `${limits.waitTimeoutSeconds}s` },
  positive: true,
};

export interface CatalogTool {
  name: string;
  chart: Chart;
  namespace: string;
  values: JsonObject;
  dependsOn: string[];
  /** The values a claim may set. */
  allowedValues: AllowList;
  /** How long Helm waits for the release's resources, as provider-helm reads it ("5m"). */
  waitTimeout: string;
  /** Workloads that must serve before the tool counts as Ready. */
  readiness: ReadinessCheck[];
}

/** A cluster backend as the catalogue offers it. */
export interface ClusterOffer {
  backend: ClusterBackend;
  /** As `backend` parsed them. */
  settings: unknown;
  /** The values a claim may set in `spec.cluster.values`. */
  allowedValues: AllowList;
}

export interface Catalog {
  clusterOffers: Map<string, ClusterOffer>;
  /** Where connection secrets of cluster-scoped (legacy) XRs are written. */
  connectionSecretNamespace: string;
  tools: Map<string, CatalogTool>;
  /** Environment lifetimes: for claims without `spec.ttl`, and the longest any may ask for. */
  ttl: { default?: Duration; max?: Duration };
}

/** The workloads a catalogue may name in `readiness`, with the API version each is served at. */
const WORKLOAD_KINDS: Readonly<Record<WorkloadKind, string>> = {
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  Job: 'batch/v1',
};

/** Compositions a function serves at once, give or take: each has its own input. */
const REMEMBERED = 8;

/** The most recent distinct catalogues read, first first; each input deep-frozen. */
const recent: { input: object; backends: BackendRegistry; catalog: Catalog }[] = [];

/**
 * The catalogue in `input`. Crossplane sends a Composition step's input unchanged with every call
 * for every XR, though not as the same bytes (Go writes a Struct's keys in random order): an input
 * equal to one read recently gets that reading, which a walk over it costs much less than. What
 * was read refers to parts of the input, which is frozen so that no response can change it for
 * the next. A catalogue in error is read again each time.
 */
export function parseCatalog(input: unknown, backends: BackendRegistry): Catalog {
  if (typeof input !== 'object' || input === null) return readCatalog(input, backends);
  // The input is often one of them itself (see recentInputs).
  let at = recent.findIndex((entry) => entry.backends === backends && entry.input === input);
  if (at < 0) {
    at = recent.findIndex((entry) => entry.backends === backends && equalJson(entry.input, input));
  }
  if (at >= 0) {
    const [entry] = recent.splice(at, 1);
    recent.unshift(entry!);
    return entry!.catalog;
  }
  const catalog = readCatalog(input, backends);
  recent.unshift({ input: deepFreeze(input), backends, catalog });
  if (recent.length > REMEMBERED) recent.pop();
  return catalog;
}

/**
 * The inputs of the catalogues read lately, most recent first, deep-frozen: the server's decoder
 * gives an input equal to one of them as that very object, without decoding it.
 */
export function recentInputs(): readonly object[] {
  return recent.map((entry) => entry.input);
}

/**
 * Parses and validates the function input, each backend's settings by `backends`; every error
 * names its field under `input`.
 */
function readCatalog(input: unknown, backends: BackendRegistry): Catalog {
  if (input === undefined || input === null) {
    throw new FieldError('input', `is missing: the Composition step must carry a ${CATALOG_KIND}`);
  }
  const root = read.object(input, 'input');
  if (root.apiVersion !== CATALOG_API_VERSION) {
    throw new FieldError(
      'input.apiVersion',
      `must be ${CATALOG_API_VERSION}, got ${describe(root.apiVersion)}`,
    );
  }
  if (root.kind !== CATALOG_KIND) {
    throw new FieldError('input.kind', `must be ${CATALOG_KIND}, got ${describe(root.kind)}`);
  }
  const cluster = read.object(root.cluster, 'input.cluster');
  const clusterOffers = parseClusterOffers(cluster, backends);
  const connectionSecretNamespace =
    cluster.connectionSecretNamespace === undefined
      ? 'crossplane-system'
      : read.matching(
          cluster.connectionSecretNamespace,
          'input.cluster.connectionSecretNamespace',
          DNS_LABEL,
          'a valid namespace name',
        );
  const toolDefaults = read.optionalObject(root.toolDefaults, 'input.toolDefaults');
  const defaultWaitTimeout =
    toolDefaults.waitTimeout === undefined
      ? DEFAULT_WAIT_TIMEOUT
      : readDuration(toolDefaults.waitTimeout, 'input.toolDefaults.waitTimeout', WAIT_TIMEOUT_RULES)
          .text;
  return {
    clusterOffers,
    connectionSecretNamespace,
    tools: parseTools(root.tools, defaultWaitTimeout),
    ttl: parseLifetimes(root.environments),
  };
}

/** `input.cluster`: each backend it offers (every key but connectionSecretNamespace), at least one. */
function parseClusterOffers(
  cluster: JsonObject,
  backends: BackendRegistry,
): Map<string, ClusterOffer> {
  const clusterOffers = new Map<string, ClusterOffer>();
  for (const name of Object.keys(cluster)) {
    if (name === 'connectionSecretNamespace') continue;
    const field = fieldPath('input.cluster', name);
    const backend = backends.get(name);
    if (!backend) {
      throw new FieldError(field, `is not a known cluster backend ${knownBackends(backends)}`);
    }
    const settings = read.object(cluster[name], field);
    clusterOffers.set(name, {
      backend,
      settings: backend.parseSettings(settings, field),
      allowedValues: parseAllowList(settings.allowedValues, `${field}.allowedValues`),
    });
  }
  if (clusterOffers.size === 0) {
    throw new FieldError('input.cluster', `offers no cluster backend ${knownBackends(backends)}`);
  }
  return clusterOffers;
}

/** `input.tools`: each name once, every dependency a tool of the catalogue, and no cycle. */
function parseTools(value: unknown, defaultWaitTimeout: string): Map<string, CatalogTool> {
  const tools = new Map<string, CatalogTool>();
  const listed = read.array(value, 'input.tools', {
    max: limits.catalogTools,
    what: 'tools',
  });
  listed.forEach((raw, index) => {
    const field = `input.tools[${index}]`;
    const tool = parseTool(raw, field, defaultWaitTimeout);
    if (tools.has(tool.name)) {
      throw new FieldError(`${field}.name`, `${quote(tool.name)} is listed twice`);
    }
    tools.set(tool.name, tool);
  });
  checkDependencies(tools);
  return tools;
}

function parseLifetimes(value: unknown): Catalog['ttl'] {
  const environments = read.optionalObject(value, 'input.environments');
  const duration = (key: 'defaultTTL' | 'maxTTL') =>
    environments[key] === undefined
      ? undefined
      : readDuration(environments[key], `input.environments.${key}`, TTL_RULES);
  const ttl = { default: duration('defaultTTL'), max: duration('maxTTL') };
  if (ttl.default && ttl.max && ttl.default.ms > ttl.max.ms) {
    throw new FieldError(
      'input.environments.defaultTTL',
      `${quote(ttl.default.text)} is more than maxTTL ${ttl.max.text}`,
    );
  }
  return {
    ...(ttl.default ? { default: ttl.default } : {}),
    ...(ttl.max ? { max: ttl.max } : {}),
  };
}

function parseTool(value: unknown, field: string, defaultWaitTimeout: string): CatalogTool {
  const tool = read.object(value, field);
  // The tool's name is its Helm release name.
  const name = read.matching(
    tool.name,
    `${field}.name`,
    DNS_LABEL,
    'a DNS-1123 label',
    limits.toolNameLength,
  );
  const namespace = read.matching(
    tool.namespace,
    `${field}.namespace`,
    DNS_LABEL,
    'a namespace name',
  );
  return {
    name,
    chart: parseChart(tool.chart, `${field}.chart`),
    namespace,
    values: readValues(tool.values, `${field}.values`),
    dependsOn: parseDependsOn(tool.dependsOn, `${field}.dependsOn`),
    allowedValues: parseAllowList(tool.allowedValues, `${field}.allowedValues`),
    waitTimeout:
      tool.waitTimeout === undefined
        ? defaultWaitTimeout
        : readDuration(tool.waitTimeout, `${field}.waitTimeout`, WAIT_TIMEOUT_RULES).text,
    readiness: parseReadiness(tool.readiness, `${field}.readiness`, namespace),
  };
}

/** Readiness checks; an object's namespace defaults to the tool's. */
function parseReadiness(value: unknown, field: string, toolNamespace: string): ReadinessCheck[] {
  const listed = read.optionalArray(value, field, { max: limits.readinessChecks, what: 'checks' });
  return listed.map((raw, i) => {
    const at = `${field}[${i}]`;
    const check = read.object(raw, at);
    const kind = read.string(check.kind, `${at}.kind`);
    if (!Object.hasOwn(WORKLOAD_KINDS, kind)) {
      throw new FieldError(
        `${at}.kind`,
        `${quote(kind)} is not a workload whose readiness the function reads (known: ${Object.keys(WORKLOAD_KINDS).join(', ')})`,
      );
    }
    const apiVersion = WORKLOAD_KINDS[kind as WorkloadKind];
    if (check.apiVersion !== apiVersion) {
      throw new FieldError(
        `${at}.apiVersion`,
        `must be ${apiVersion} for a ${kind}, got ${describe(check.apiVersion)}`,
      );
    }
    return {
      apiVersion,
      kind: kind as WorkloadKind,
      namespace:
        check.namespace === undefined
          ? toolNamespace
          : read.matching(check.namespace, `${at}.namespace`, DNS_LABEL, 'a namespace name'),
      name: read.matching(
        check.name,
        `${at}.name`,
        DNS_SUBDOMAIN,
        'a DNS-1123 subdomain',
        limits.objectNameLength,
      ),
    };
  });
}

function parseDependsOn(value: unknown, field: string): string[] {
  const dependsOn = new Set<string>();
  read
    .optionalArray(value, field, { max: limits.dependsOn, what: 'dependencies' })
    .forEach((raw, i) => {
      const dep = read.string(raw, `${field}[${i}]`);
      if (dependsOn.has(dep))
        throw new FieldError(`${field}[${i}]`, `${quote(dep)} is listed twice`);
      dependsOn.add(dep);
    });
  return [...dependsOn];
}

/** Every dependency must be a catalogue tool, and the dependency graph must have no cycle. */
function checkDependencies(tools: Map<string, CatalogTool>): void {
  const indexOf = new Map([...tools.keys()].map((name, index) => [name, index]));
  for (const [index, tool] of [...tools.values()].entries()) {
    tool.dependsOn.forEach((dep, i) => {
      if (!tools.has(dep)) {
        throw new FieldError(
          `input.tools[${index}].dependsOn[${i}]`,
          `${quote(dep)} is not in the catalogue`,
        );
      }
    });
  }
  const cycle = findCycle(tools.keys(), (name) => tools.get(name)!.dependsOn);
  if (cycle) {
    // A cycle can be as long as the catalogue; the message shows its ends.
    const shown =
      cycle.length <= 10
        ? cycle.join(' → ')
        : `${cycle.slice(0, 5).join(' → ')} → … → ${cycle.slice(-3).join(' → ')} (${cycle.length - 1} tools)`;
    throw new FieldError(`input.tools[${indexOf.get(cycle[0]!)}].dependsOn`, `cycle ${shown}`);
  }
}
