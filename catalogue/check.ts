/**
 * The catalogue check: every chart of a catalogue rendered by real Helm as the function would
 * have provider-helm install it (release name, namespace, values), and what the catalogue says of
 * it held against what it renders. The catalogue is read by the function's own parser, and the
 * cluster backend's Release by the backend's own render, so both are exactly what the function
 * reads and sends.
 *
 * An error is what cannot work as written: a chart that does not render, a readiness entry the
 * chart makes under another kind or namespace or that is a near miss of a name it makes, a values
 * key or allowedValues path the chart's values.schema.json refuses, a chart that renders its own
 * release namespace (Helm then refuses to install). A warning is what the check cannot decide: a
 * readiness entry the chart does not make at all (an operator may make it at run time, as the
 * Knative operator makes Knative Serving's), a path absent from a chart without a schema (the
 * templates may read it anyway), a local chart of another version than the catalogue names.
 */
import { EXTERNAL_NAME_ANNOTATION } from '../common/contract.js';
import type { JsonObject } from '../common/objects.js';
import { clusterBackends } from '../function/backends/index.js';
import type { VclusterSettings } from '../function/backends/vcluster.js';
import { placementFor } from '../function/compose/placement.js';
import { parseCatalog, type Catalog } from '../function/input/catalog.js';
import type { Chart, CompositeRef, ReadinessCheck } from '../function/input/model.js';
import { FieldError, fieldPath, quote } from '../function/input/untrusted-input.js';
import { mergeValues } from '../function/input/values.js';
import { leafPaths, missingFrom, schemaRefusal } from './chart-values.js';
import { HelmError, type Helm, type LocalChart } from './helm.js';

/** `ok`: a chart that renders all the catalogue says of it; `skipped`: one not had (--offline). */
export type Severity = 'error' | 'warning' | 'skipped' | 'ok';

export interface Finding {
  severity: Severity;
  /** The catalogue field, as the function names it (`input.tools[3].readiness[1]`). */
  field: string;
  /** The tool, or the backend chart and Kubernetes version. */
  subject: string;
  message: string;
}

export interface CheckOptions {
  helm: Helm;
  /** Local charts (folders or .tgz) by chart name; the others are pulled. */
  charts: ReadonlyMap<string, string>;
  /** Pull nothing: a chart without a local source is skipped. */
  offline: boolean;
}

/** One chart as the function has provider-helm install it, and what the catalogue says of it. */
interface Target {
  field: string;
  chartField: string;
  subject: string;
  chart: Chart;
  release: { name: string; namespace: string; values: JsonObject; kubeVersion?: string };
  /** Who makes the release namespace before Helm installs into it. */
  namespaceMaker: string;
  valueLayers: { field: string; values: JsonObject }[];
  allowedValues: { field: string; paths: string[] };
  readiness: { field: string; check: ReadinessCheck }[];
}

/** The XR the backend's Release is rendered for: any fixed one gives the function's values. */
const COMPOSITE: CompositeRef = {
  apiVersion: 'platform.xenvironment.io/v1alpha1',
  kind: 'XEnvironment',
  name: 'catalogue-check',
};
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']);
/** Edits that make a readiness name a near miss of one the chart makes. */
const NEAR_MISS = 2;

export async function checkCatalogue(input: unknown, options: CheckOptions): Promise<Finding[]> {
  let catalog: Catalog;
  try {
    catalog = parseCatalog(input, clusterBackends);
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    const message = error.message.slice(error.field.length + 2);
    return [{ severity: 'error', field: error.field, subject: 'catalogue', message }];
  }
  const charts = new Map<string, Promise<Obtained>>();
  const findings: Finding[] = [];
  for (const target of targets(catalog)) {
    const key = JSON.stringify(target.chart);
    if (!charts.has(key)) charts.set(key, chartOf(target, options));
    const { chart, notes } = await charts.get(key)!;
    const { chartField: field, subject } = target;
    findings.push(...notes.map((note) => ({ ...note, field, subject })));
    if (chart) findings.push(...(await checkTarget(target, chart, options.helm)));
  }
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.severity} ${f.field} ${f.message}`;
    return !seen.has(key) && seen.add(key);
  });
}

/** The backend's chart once per Kubernetes version it offers, then every tool. */
function targets(catalog: Catalog): Target[] {
  const list: Target[] = [];
  let toolsKubeVersion: string | undefined;
  for (const [name, offer] of catalog.clusterOffers) {
    const field = fieldPath('input.cluster', name);
    // vcluster is the only backend: its settings hold the chart values per Kubernetes version.
    const settings = offer.settings as VclusterSettings;
    toolsKubeVersion ??= settings.defaultKubernetesVersion;
    const versions = [...settings.kubernetesVersions.keys()];
    for (const version of versions.length > 0 ? versions : [undefined]) {
      const environment = {
        composite: COMPOSITE,
        backend: name,
        ...(version === undefined ? {} : { kubernetesVersion: version }),
        clusterValues: {},
        tools: [],
      };
      const placement = placementFor(COMPOSITE, catalog.connectionSecretNamespace);
      const { resource } = offer.backend.render(environment, offer.settings, placement);
      const metadata = resource.metadata as { name: string; annotations?: JsonObject };
      const forProvider = (resource.spec as { forProvider: JsonObject }).forProvider;
      const versionField = version && fieldPath(`${field}.kubernetesVersions`, version);
      list.push({
        field: versionField || field,
        chartField: `${field}.chart`,
        subject: version ? `${name} ${version}` : name,
        chart: forProvider.chart as Chart,
        release: {
          name: String(metadata.annotations?.[EXTERNAL_NAME_ANNOTATION] ?? metadata.name),
          namespace: String(forProvider.namespace),
          values: forProvider.values as JsonObject,
        },
        namespaceMaker: forProvider.skipCreateNamespace
          ? 'the function makes'
          : 'provider-helm makes',
        valueLayers: [
          { field: `${field}.values`, values: settings.values },
          ...(versionField
            ? [{ field: versionField, values: settings.kubernetesVersions.get(version)! }]
            : []),
        ],
        allowedValues: { field: `${field}.allowedValues`, paths: offer.allowedValues.paths },
        readiness: [],
      });
    }
  }
  [...catalog.tools.values()].forEach((tool, i) => {
    const field = `input.tools[${i}]`;
    list.push({
      field,
      chartField: `${field}.chart`,
      subject: tool.name,
      chart: tool.chart,
      // As compose.ts composes a tool's Release: provider-helm creates its namespace.
      release: {
        name: tool.name,
        namespace: tool.namespace,
        values: tool.values,
        ...(toolsKubeVersion ? { kubeVersion: toolsKubeVersion } : {}),
      },
      namespaceMaker: 'provider-helm makes',
      valueLayers: [{ field: `${field}.values`, values: tool.values }],
      allowedValues: { field: `${field}.allowedValues`, paths: tool.allowedValues.paths },
      readiness: tool.readiness.map((check, n) => ({ field: `${field}.readiness[${n}]`, check })),
    });
  });
  return list;
}

/** A chart, if it could be had, and what there is to say about getting it. */
interface Obtained {
  chart?: LocalChart;
  notes: { severity: Severity; message: string }[];
}

/** The chart of `target`: from its local source, else pulled. */
async function chartOf(target: Target, options: CheckOptions): Promise<Obtained> {
  const { name, version, repository } = target.chart;
  const source = options.charts.get(name);
  const note = (severity: Severity, message: string) => ({ notes: [{ severity, message }] });
  try {
    if (source) {
      const chart = await options.helm.local(source);
      // Helm takes `v1.2.3` for `1.2.3`, as the Knative operator's chart is named.
      const same = chart.version.replace(/^v/, '') === version.replace(/^v/, '');
      const other = `${source} is version ${chart.version}, not ${version}`;
      return { chart, ...(same ? { notes: [] } : note('warning', other)) };
    }
    if (options.offline) {
      return note('skipped', `no local chart ${name} (--chart ${name}=<folder or .tgz>)`);
    }
    return { chart: await options.helm.pull(target.chart), notes: [] };
  } catch (error) {
    // Helm's message, or why a local chart could not be read (a missing folder, bad YAML).
    if (!(error instanceof HelmError) && !(source && error instanceof Error)) throw error;
    const from = source ?? `${repository} (${name} ${version})`;
    return note('error', `cannot read the chart from ${from}: ${error.message}`);
  }
}

async function checkTarget(target: Target, chart: LocalChart, helm: Helm): Promise<Finding[]> {
  const findings: Finding[] = [];
  const add = (severity: Severity, field: string, message: string) =>
    findings.push({ severity, field, subject: target.subject, message });

  for (const layer of target.valueLayers) {
    const seen = new Set<string>();
    for (const path of leafPaths(layer.values)) {
      const lack = lacking(chart, path);
      if (!lack || seen.has(lack.missing.join('\0'))) continue;
      seen.add(lack.missing.join('\0'));
      add(lack.severity, lack.missing.reduce(fieldPath, layer.field), lack.message);
    }
  }
  target.allowedValues.paths.forEach((path, i) => {
    const lack = lacking(chart, path.split('.'));
    if (lack)
      add(lack.severity, `${target.allowedValues.field}[${i}]`, `${quote(path)}: ${lack.message}`);
  });

  const rendered = await helm.template(chart, target.release);
  if ('failure' in rendered) {
    add(
      'error',
      target.field,
      `${chart.name} ${chart.version} does not render: ${rendered.failure}`,
    );
    return findings;
  }
  for (const { field, check } of target.readiness) {
    const problem = readinessProblem(check, rendered.manifests, target.release);
    if (problem) add(problem.severity, field, problem.message);
  }
  if (ownsNamespace(rendered.manifests, target.release.namespace)) {
    const value = await namespaceSwitch(helm, chart, target);
    add(
      'error',
      value ? value.reduce(fieldPath, target.valueLayers[0]!.field) : target.field,
      `${chart.name} ${chart.version} renders its own Namespace ${target.release.namespace}, the ` +
        `release namespace, which ${target.namespaceMaker} before Helm installs: Helm refuses ` +
        `to adopt it ("invalid ownership metadata")` +
        (value ? `; set ${value.join('.')}: false in values` : ''),
    );
  }
  if (findings.length === 0) {
    const objects = rendered.manifests.length;
    add('ok', target.field, `${chart.name} ${chart.version} renders ${objects} objects`);
  }
  return findings;
}

/** Why the chart's values lack `path`, if they do. */
function lacking(chart: LocalChart, path: string[]) {
  const missing = missingFrom(chart.defaults, path);
  if (!missing || path[0] === 'global' || chart.subcharts.includes(path[0]!)) return undefined;
  if (!chart.schema) {
    return {
      missing,
      severity: 'warning' as const,
      message: `not in the chart's values.yaml (${missing.join('.')}), which has no schema`,
    };
  }
  const refusal = schemaRefusal(chart.schema, missing);
  if (!refusal) return undefined;
  return {
    missing,
    severity: 'error' as const,
    message: `not in the chart's values, and its values.schema.json refuses it (${refusal})`,
  };
}

interface Workload {
  kind: string;
  namespace: string;
  name: string;
}

const shown = (w: Workload) => `${w.kind} ${w.namespace}/${w.name}`;

function readinessProblem(
  check: ReadinessCheck,
  manifests: JsonObject[],
  release: Target['release'],
): { severity: Severity; message: string } | undefined {
  const workloads: Workload[] = manifests
    .filter((m) => WORKLOADS.has(String(m.kind)))
    .map((m) => {
      const metadata = (m.metadata ?? {}) as { name?: string; namespace?: string };
      const namespace = metadata.namespace ?? release.namespace;
      return { kind: String(m.kind), namespace, name: String(metadata.name) };
    });
  const at = (w: Workload) => w.name === check.name && w.namespace === check.namespace;
  if (workloads.some((w) => at(w) && w.kind === check.kind)) return undefined;
  const error = (what: string) => ({
    severity: 'error' as const,
    message: `${shown(check)} is not in the chart's manifests: ${what}`,
  });
  const otherKind = workloads.find(at);
  if (otherKind) return error(`it makes ${shown(otherKind)}`);
  const elsewhere = workloads.find((w) => w.kind === check.kind && w.name === check.name);
  if (elsewhere) return error(`it makes ${shown(elsewhere)}`);
  // A near miss: a typo, or the right part after the release name with another prefix (charts
  // name workloads `<release>-<part>`, or `<release>-<chart>-<part>`).
  const part = check.name.startsWith(`${release.name}-`) && check.name.slice(release.name.length);
  const near = workloads
    .filter(
      (w) =>
        w.kind === check.kind &&
        (distance(w.name, check.name) <= NEAR_MISS || (part && w.name.endsWith(part))),
    )
    .sort((a, b) => distance(a.name, check.name) - distance(b.name, check.name));
  if (near.length > 0) return error(`it makes ${near.map(shown).join(', ')} (a typo?)`);
  return {
    severity: 'warning',
    message: `${shown(check)}: not in the chart's manifests (made by something else at run time?)`,
  };
}

function ownsNamespace(manifests: JsonObject[], namespace: string): boolean {
  return manifests.some(
    (m) => m.kind === 'Namespace' && (m.metadata as { name?: string })?.name === namespace,
  );
}

/**
 * The chart value that makes it render the release namespace, if one is found: a default `true`
 * whose path mentions a namespace, such that rendering with it false leaves the Namespace out.
 */
async function namespaceSwitch(
  helm: Helm,
  chart: LocalChart,
  target: Target,
): Promise<string[] | undefined> {
  const candidates = leafPaths(chart.defaults).filter(
    (path) => valueAt(chart.defaults, path) === true && /namespace/i.test(path.join('.')),
  );
  for (const path of candidates.slice(0, 4)) {
    const off = path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), false);
    const values = mergeValues(target.release.values, off as JsonObject);
    const rendered = await helm.template(chart, { ...target.release, values });
    if ('manifests' in rendered && !ownsNamespace(rendered.manifests, target.release.namespace)) {
      return path;
    }
  }
  return undefined;
}

function valueAt(values: JsonObject, path: string[]): unknown {
  return path.reduce<unknown>((at, key) => (at as JsonObject | undefined)?.[key], values);
}

/** Levenshtein distance: the fewest one-character edits from `a` to `b`. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
