import { DNS_LABEL, FieldError, read, type JsonObject } from './field-error.js';
import type { Catalog, CatalogTool, Chart } from './catalog.js';
import { backends } from './backends/index.js';

/** The XR an environment is rendered for; namespace is set only for Crossplane v2 namespaced XRs. */
export interface CompositeRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  creationTimestamp?: string;
}

export interface RequestedTool {
  name: string;
  chart: Chart;
  namespace: string;
  catalogValues: JsonObject;
  /** The claim's values, merged over the catalogue's. */
  values: JsonObject;
  dependsOn: string[];
}

export interface Environment {
  composite: CompositeRef;
  backend: string;
  kubernetesVersion?: string;
  clusterValues: JsonObject;
  /** In the order the claim lists them. */
  tools: RequestedTool[];
  ttl?: { text: string; milliseconds: number };
}

const CHART_VERSION = /^v?[0-9A-Za-z.+-]+$/;
const KUBERNETES_VERSION = /^[0-9]+\.[0-9]+$/;
const DURATION = /^([0-9]+[dhms])+$/;
const DURATION_UNITS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 };

/** Validates the observed XR against the catalogue; every error names the XR field at fault. */
export function parseEnvironment(xr: unknown, catalog: Catalog): Environment {
  const root = read.object(xr, 'the observed composite resource');
  const metadata = read.object(root.metadata, 'metadata');
  const composite: CompositeRef = {
    apiVersion: read.string(root.apiVersion, 'apiVersion'),
    kind: read.string(root.kind, 'kind'),
    name: read.string(metadata.name, 'metadata.name'),
  };
  const namespace = read.optionalString(metadata.namespace, 'metadata.namespace');
  if (namespace) composite.namespace = namespace;
  const created = read.optionalString(metadata.creationTimestamp, 'metadata.creationTimestamp');
  if (created) composite.creationTimestamp = created;

  const spec = read.optionalObject(root.spec, 'spec');
  const cluster = read.optionalObject(spec.cluster, 'spec.cluster');
  const backend = read.optionalString(cluster.backend, 'spec.cluster.backend') ?? 'vcluster';
  if (!backends[backend]) {
    throw new FieldError(
      'spec.cluster.backend',
      `${JSON.stringify(backend)} is not a known backend (known: ${Object.keys(backends).join(', ')})`,
    );
  }
  if (catalog.clusterBackends[backend] === undefined) {
    throw new FieldError(
      'spec.cluster.backend',
      `${JSON.stringify(backend)} is not offered by this Composition's catalogue`,
    );
  }
  const environment: Environment = {
    composite,
    backend,
    clusterValues: read.optionalObject(cluster.values, 'spec.cluster.values'),
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
  if (spec.ttl !== undefined) {
    const text = read.matching(
      spec.ttl,
      'spec.ttl',
      DURATION,
      'a duration such as "8h" or "1d12h"',
    );
    environment.ttl = { text, milliseconds: durationMilliseconds(text) };
  }
  if (spec.events !== undefined) {
    const events = read.object(spec.events, 'spec.events');
    if (events.sink !== undefined) checkUri(events.sink, 'spec.events.sink');
  }
  return environment;
}

function parseTools(value: unknown, catalog: Catalog): RequestedTool[] {
  const seen = new Set<string>();
  const tools = read.optionalArray(value, 'spec.tools').map((raw, index) => {
    const field = `spec.tools[${index}]`;
    const tool = read.object(raw, field);
    const name = read.matching(tool.name, `${field}.name`, DNS_LABEL, 'a DNS-1123 label');
    if (seen.has(name))
      throw new FieldError(`${field}.name`, `${JSON.stringify(name)} is listed twice`);
    seen.add(name);
    const entry: CatalogTool | undefined = catalog.tools.get(name);
    if (!entry) {
      throw new FieldError(
        `${field}.name`,
        `${JSON.stringify(name)} is not in the catalogue (offered: ${[...catalog.tools.keys()].join(', ')})`,
      );
    }
    const version =
      tool.version === undefined
        ? entry.chart.version
        : read.matching(tool.version, `${field}.version`, CHART_VERSION, 'a chart version');
    return {
      name,
      chart: { ...entry.chart, version },
      namespace: entry.namespace,
      catalogValues: entry.values,
      values: read.optionalObject(tool.values, `${field}.values`),
      dependsOn: entry.dependsOn,
    };
  });
  tools.forEach((tool, index) => {
    const missing = tool.dependsOn.filter((dep) => !seen.has(dep));
    if (missing.length > 0) {
      throw new FieldError(
        `spec.tools[${index}].name`,
        `${JSON.stringify(tool.name)} depends on ${missing.map((m) => JSON.stringify(m)).join(', ')}; add ${missing.length > 1 ? 'them' : 'it'} to spec.tools`,
      );
    }
  });
  return tools;
}

function durationMilliseconds(text: string): number {
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/([0-9]+)([dhms])/g)) {
    total += Number(amount) * DURATION_UNITS[unit as string]!;
  }
  return total;
}

function checkUri(value: unknown, field: string): void {
  const text = read.string(value, field);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new FieldError(field, `${JSON.stringify(text)} is not an absolute URI`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FieldError(field, `${JSON.stringify(text)} must use http or https`);
  }
}
