import { DNS_LABEL, FieldError, read, type JsonObject } from './field-error.js';
import { backends } from './backends/index.js';

export const CATALOG_API_VERSION = 'xenvironment.fn.crossplane.io/v1beta1';
export const CATALOG_KIND = 'Catalog';

export interface Chart {
  repository: string;
  name: string;
  version: string;
}

export interface CatalogTool {
  name: string;
  chart: Chart;
  namespace: string;
  values: JsonObject;
  dependsOn: string[];
}

export interface Catalog {
  /** Per-backend settings, as parsed by the backend that uses them. */
  clusterBackends: Record<string, unknown>;
  /** Where connection secrets of cluster-scoped (legacy) XRs are written. */
  connectionSecretNamespace: string;
  tools: Map<string, CatalogTool>;
}

/** Parses and validates the function input; every error names its field under `input`. */
export function parseCatalog(input: unknown): Catalog {
  if (input === undefined || input === null) {
    throw new FieldError('input', `is missing: the Composition step must carry a ${CATALOG_KIND}`);
  }
  const root = read.object(input, 'input');
  if (root.apiVersion !== CATALOG_API_VERSION || root.kind !== CATALOG_KIND) {
    throw new FieldError(
      'input',
      `must be apiVersion ${CATALOG_API_VERSION}, kind ${CATALOG_KIND}; got ${String(root.apiVersion)}, ${String(root.kind)}`,
    );
  }
  const cluster = read.object(root.cluster, 'input.cluster');
  const clusterBackends: Record<string, unknown> = {};
  for (const [name, settings] of Object.entries(cluster)) {
    if (name === 'connectionSecretNamespace') continue;
    const backend = backends[name];
    if (!backend) {
      throw new FieldError(
        `input.cluster.${name}`,
        `is not a known cluster backend (known: ${Object.keys(backends).join(', ')})`,
      );
    }
    clusterBackends[name] = backend.parseSettings(settings, `input.cluster.${name}`);
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
  read.array(root.tools, 'input.tools').forEach((raw, index) => {
    const field = `input.tools[${index}]`;
    const tool = parseTool(raw, field);
    if (tools.has(tool.name)) {
      throw new FieldError(`${field}.name`, `${JSON.stringify(tool.name)} is listed twice`);
    }
    tools.set(tool.name, tool);
  });
  checkDependencies([...tools.values()]);
  return { clusterBackends, connectionSecretNamespace, tools };
}

export function parseChart(value: unknown, field: string): Chart {
  const chart = read.object(value, field);
  return {
    repository: read.string(chart.repository, `${field}.repository`),
    name: read.string(chart.name, `${field}.name`),
    version: read.string(chart.version, `${field}.version`),
  };
}

function parseTool(value: unknown, field: string): CatalogTool {
  const tool = read.object(value, field);
  return {
    name: read.matching(tool.name, `${field}.name`, DNS_LABEL, 'a DNS-1123 label'),
    chart: parseChart(tool.chart, `${field}.chart`),
    namespace: read.matching(tool.namespace, `${field}.namespace`, DNS_LABEL, 'a namespace name'),
    values: read.optionalObject(tool.values, `${field}.values`),
    dependsOn: read
      .optionalArray(tool.dependsOn, `${field}.dependsOn`)
      .map((dep, i) => read.string(dep, `${field}.dependsOn[${i}]`)),
  };
}

/** Every dependency must be a catalogue tool, and the dependency graph must have no cycle. */
function checkDependencies(tools: CatalogTool[]): void {
  const byName = new Map(tools.map((tool, index) => [tool.name, { tool, index }]));
  for (const [index, tool] of tools.entries()) {
    tool.dependsOn.forEach((dep, i) => {
      if (!byName.has(dep)) {
        throw new FieldError(
          `input.tools[${index}].dependsOn[${i}]`,
          `${JSON.stringify(dep)} is not in the catalogue`,
        );
      }
    });
  }
  const done = new Set<string>();
  const visit = (name: string, path: string[]): void => {
    if (done.has(name)) return;
    const cycleStart = path.indexOf(name);
    if (cycleStart >= 0) {
      const cycle = [...path.slice(cycleStart), name];
      const { index } = byName.get(cycle[0] as string)!;
      throw new FieldError(`input.tools[${index}].dependsOn`, `cycle ${cycle.join(' → ')}`);
    }
    for (const dep of byName.get(name)!.tool.dependsOn) visit(dep, [...path, name]);
    done.add(name);
  };
  for (const tool of tools) visit(tool.name, []);
}
