import { DNS_LABEL } from '../../common/contract.js';
import { parseClaimSink } from '../../common/sink.js';
import { kubernetesTime, RFC3339 } from '../../common/time.js';
import { checkAllowed } from './allowed-values.js';
import { knownBackends, type BackendRegistry } from '../backends/backend.js';
import type { Catalog } from './catalog.js';
import { TTL_RULES, readDuration, type Duration } from './read-duration.js';
import { limits } from './limits.js';
import type { CompositeRef, Environment, RequestedTool } from './model.js';
import { FieldError, KUBERNETES_VERSION, listed, quote, read } from './untrusted-input.js';
import { readValues } from './values.js';

const CHART_VERSION = /^v?[0-9A-Za-z.+-]+$/;

/**
 * Validates the observed XR against the catalogue and its backend (one of `backends`), so that
 * composing it cannot fail; every error names the XR field at fault.
 */
export function parseEnvironment(
  xr: unknown,
  catalog: Catalog,
  backends: BackendRegistry,
): Environment {
  const root = read.object(xr, 'observed.composite.resource');
  const metadata = read.object(root.metadata, 'metadata');
  const composite: CompositeRef = {
    apiVersion: read.string(root.apiVersion, 'apiVersion'),
    kind: read.string(root.kind, 'kind'),
    name: read.string(metadata.name, 'metadata.name'),
  };
  // An empty namespace is Kubernetes' way of saying cluster-scoped.
  const namespace = read.optionalString(
    metadata.namespace === '' ? undefined : metadata.namespace,
    'metadata.namespace',
  );
  if (namespace) composite.namespace = namespace;

  const spec = read.optionalObject(root.spec, 'spec');
  const cluster = read.optionalObject(spec.cluster, 'spec.cluster');
  const backend = read.optionalString(cluster.backend, 'spec.cluster.backend') ?? 'vcluster';
  if (!backends.has(backend)) {
    throw new FieldError(
      'spec.cluster.backend',
      `${quote(backend)} is not a known backend ${knownBackends(backends)}`,
    );
  }
  const offer = catalog.clusterOffers.get(backend);
  if (!offer) {
    throw new FieldError(
      'spec.cluster.backend',
      `${quote(backend)} is not offered by this Composition's catalogue`,
    );
  }
  const clusterValues = readValues(cluster.values, 'spec.cluster.values');
  checkAllowed(clusterValues, offer.allowedValues, 'spec.cluster.values');
  const environment: Environment = {
    composite,
    backend,
    clusterValues,
    tools: parseTools(spec.tools, catalog),
  };
  if (cluster.kubernetesVersion !== undefined) {
    environment.kubernetesVersion = read.matching(
      cluster.kubernetesVersion,
      'spec.cluster.kubernetesVersion',
      KUBERNETES_VERSION,
      'a Kubernetes minor version such as "1.33"',
    );
  }
  const created = read.optionalString(metadata.creationTimestamp, 'metadata.creationTimestamp');
  if (created !== undefined && (!RFC3339.test(created) || Number.isNaN(Date.parse(created)))) {
    throw new FieldError('metadata.creationTimestamp', `${quote(created)} is not an RFC 3339 time`);
  }
  const ttl = lifetime(spec.ttl, catalog.ttl);
  // From the creation time each call, so that editing spec.ttl moves the expiry.
  if (ttl !== undefined && created !== undefined) environment.expiresAt = expiry(created, ttl.ms);
  if (spec.events !== undefined) {
    const events = read.object(spec.events, 'spec.events');
    if (events.sink !== undefined) checkSink(events.sink, 'spec.events.sink');
  }
  offer.backend.validate(environment, offer.settings);
  return environment;
}

/**
 * Each tool is read by a module-level function, not a closure made per request (see ComposeRun in
 * compose/compose.ts).
 */
function parseTools(value: unknown, catalog: Catalog): RequestedTool[] {
  const seen = new Set<string>();
  const listedTools = read.optionalArray(value, 'spec.tools', {
    max: limits.claimTools,
    what: 'tools',
  });
  const tools: RequestedTool[] = [];
  for (let index = 0; index < listedTools.length; index++) {
    tools.push(parseTool(listedTools[index], index, catalog, seen));
  }
  for (let index = 0; index < tools.length; index++) {
    const tool = tools[index]!;
    const missing = tool.dependsOn.filter((dep) => !seen.has(dep));
    if (missing.length > 0) {
      throw new FieldError(
        `spec.tools[${index}].name`,
        `${quote(tool.name)} depends on ${missing.map(quote).join(', ')}; add ${missing.length > 1 ? 'them' : 'it'} to spec.tools`,
      );
    }
  }
  return tools;
}

/** One of `spec.tools`; `seen` collects the names read so far. */
function parseTool(
  raw: unknown,
  index: number,
  catalog: Catalog,
  seen: Set<string>,
): RequestedTool {
  const field = `spec.tools[${index}]`;
  const tool = read.object(raw, field);
  const name = read.matching(tool.name, `${field}.name`, DNS_LABEL, 'a DNS-1123 label');
  if (seen.has(name)) throw new FieldError(`${field}.name`, `${quote(name)} is listed twice`);
  seen.add(name);
  const entry = catalog.tools.get(name);
  if (!entry) {
    throw new FieldError(
      `${field}.name`,
      `${quote(name)} is not in the catalogue (offered: ${listed([...catalog.tools.keys()])})`,
    );
  }
  const version =
    tool.version === undefined
      ? entry.chart.version
      : read.matching(
          tool.version,
          `${field}.version`,
          CHART_VERSION,
          'a chart version',
          limits.chartVersionLength,
        );
  const values = readValues(tool.values, `${field}.values`);
  checkAllowed(values, entry.allowedValues, `${field}.values`);
  return {
    name,
    chart: { ...entry.chart, version },
    namespace: entry.namespace,
    catalogValues: entry.values,
    values,
    dependsOn: entry.dependsOn,
    waitTimeout: entry.waitTimeout,
    readiness: entry.readiness,
  };
}

/**
 * The claim's ttl, at most the catalogue's maximum; without one, the catalogue's default, or its
 * maximum if it sets no default (an environment that never expires would outlive any maximum).
 * Undefined: the environment never expires.
 */
function lifetime(value: unknown, platform: Catalog['ttl']): Duration | undefined {
  if (value === undefined) return platform.default ?? platform.max;
  const ttl = readDuration(value, 'spec.ttl', TTL_RULES);
  if (platform.max && ttl.ms > platform.max.ms) {
    throw new FieldError(
      'spec.ttl',
      `${quote(ttl.text)} is more than this platform allows (maxTTL ${platform.max.text})`,
    );
  }
  return ttl;
}

function expiry(created: string, ttl: number): string {
  const expires = new Date(Date.parse(created) + ttl);
  if (expires.getUTCFullYear() > 9999) {
    throw new FieldError(
      'metadata.creationTimestamp',
      `${quote(created)} plus spec.ttl is past the year 9999`,
    );
  }
  return kubernetesTime(expires);
}

/**
 * The same check the bridge makes before it sends anything to a claim's sink, but for its
 * allow-list (BRIDGE_SINK_ALLOW is the bridge's setting): a URL, on no host a sink may never be on.
 */
function checkSink(value: unknown, field: string): void {
  const checked = parseClaimSink(read.string(value, field, limits.sinkLength));
  if (!checked.ok) throw new FieldError(field, checked.problem);
}
