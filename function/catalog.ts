import { DNS_LABEL } from '../common/contract.js';
import type { JsonObject } from '../common/objects.js';
import { parseAllowList, type AllowList } from './allowed-values.js';
import type { BackendRegistry, ClusterBackend } from './backends/backend.js';
import { parseChart } from './chart.js';
import { findCycle } from './graph.js';
import { limits } from './limits.js';
import type { Chart } from './model.js';
import { FieldError, describe, fieldPath, quote, read } from './untrusted-input.js';
import { readValues } from './values.js';

const CATALOG_API_VERSION = 'xenvironment.fn.crossplane.io/v1beta1';
const CATALOG_KIND = 'Catalog';

export interface CatalogTool {
  name: string;
  chart: Chart;
  namespace: string;
  values: JsonObject;
  dependsOn: string[];
  /** The values a claim may set. */
  allowedValues: AllowList;
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
}

/**
 * Parses and validates the function input, each backend's settings by `backends`; every error
 * names its field under `input`.
 */
export function parseCatalog(input: unknown, backends: BackendRegistry): Catalog {
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
  const clusterOffers = new Map<string, ClusterOffer>();
  for (const name of Object.keys(cluster)) {
    if (name === 'connectionSecretNamespace') continue;
    const field = fieldPath('input.cluster', name);
    const backend = backends.get(name);
    if (!backend) {
      throw new FieldError(
        field,
        `is not a known cluster backend (known: ${[...backends.keys()].join(', ')})`,
      );
    }
    const settings = read.object(cluster[name], field);
    clusterOffers.set(name, {
      backend,
      settings: backend.parseSettings(settings, field),
      allowedValues: parseAllowList(settings.allowedValues, `${field}.allowedValues`),
    });
  }
  if (clusterOffers.size === 0) {
    throw new FieldError(
      'input.cluster',
      `offers no cluster backend (known: ${[...backends.keys()].join(', ')})`,
    );
  }
  const connectionSecretNamespace =
    cluster.connectionSecretNamespace === undefined
      ? 'crossplane-system'
      : read.matching(
          cluster.connectionSecretNamespace,
          'input.cluster.connectionSecretNamespace',
          DNS_LABEL,
          'a valid namespace name',
        );

  const tools = new Map<string, CatalogTool>();
  const listed = read.array(root.tools, 'input.tools', {
    max: limits.catalogTools,
    what: 'tools',
  });
  listed.forEach((raw, index) => {
    const field = `input.tools[${index}]`;
    const tool = parseTool(raw, field);
    if (tools.has(tool.name)) {
      throw new FieldError(`${field}.name`, `${quote(tool.name)} is listed twice`);
    }
    tools.set(tool.name, tool);
  });
  checkDependencies(tools);
  return { clusterOffers, connectionSecretNamespace, tools };
}

function parseTool(value: unknown, field: string): CatalogTool {
  const tool = read.object(value, field);
  return {
    // The tool's name is its Helm release name.
    name: read.matching(
      tool.name,
      `${field}.name`,
      DNS_LABEL,
      'a DNS-1123 label',
      limits.toolNameLength,
    ),
    chart: parseChart(tool.chart, `${field}.chart`),
    namespace: read.matching(tool.namespace, `${field}.namespace`, DNS_LABEL, 'a namespace name'),
    values: readValues(tool.values, `${field}.values`),
    dependsOn: parseDependsOn(tool.dependsOn, `${field}.dependsOn`),
    allowedValues: parseAllowList(tool.allowedValues, `${field}.allowedValues`),
  };
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
