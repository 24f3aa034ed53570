/**
 * The catalogue check (`npm run catalogue:check`), run as platform engineers run it, with real
 * Helm (.tools/bin/helm), on every chart that can be had here: the real vcluster chart with the
 * values the function renders for each Kubernetes version the shipped catalogue offers,
 * cert-manager from its Go module, and the e2e's test charts with the test catalogue; and a broken
 * catalogue, each fault named by its field.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { writeChartFolder, writeCharts } from '../controlplane/chart-repository.js';
import { certManagerChart, vclusterChart } from '../support/chart-sources.js';
import { pipelineInput } from '../support/manifests.js';
import { testCharts, testComposition } from '../support/test-charts.js';

type Obj = Record<string, unknown>;

const SHIPPED = 'apis/xenvironment/composition.yaml';
const TIMEOUT = 180_000;

let dir: string;
/** Local charts by chart name, as --chart takes them. */
const charts: Record<string, string> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'catalogue-check-test-'));
  charts.vcluster = await writeChartFolder(await vclusterChart(), join(dir, 'vcluster'));
  charts['cert-manager'] = await writeChartFolder(
    await certManagerChart(),
    join(dir, 'cert-manager'),
  );
  // Packed as the e2e's chart repository serves them; a chart's first version is the catalogue's.
  const packed = [...(await testCharts()), ownNamespaceChart];
  await writeCharts(dir, packed);
  for (const chart of packed)
    charts[chart.name] ??= join(dir, `${chart.name}-${chart.version}.tgz`);
}, TIMEOUT);
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A chart that renders its own namespace unless told not to, as tekton-pipeline 1.4.0 does. */
const ownNamespaceChart = {
  name: 'own-namespace',
  version: '1.0.0',
  files: {
    'values.yaml': 'namespace:\n  name: widgets\n  create: true\n',
    'templates/namespace.yaml': [
      '{{- if .Values.namespace.create }}',
      'apiVersion: v1',
      'kind: Namespace',
      'metadata:',
      '  name: {{ .Values.namespace.name }}',
      '{{- end }}',
      '',
    ].join('\n'),
    'templates/controller.yaml': [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: {{ .Release.Name }}-controller',
      'spec:',
      '  selector: { matchLabels: { app: controller } }',
      '  template:',
      '    metadata: { labels: { app: controller } }',
      '    spec: { containers: [{ name: controller, image: registry.invalid/controller:1 }] }',
      '',
    ].join('\n'),
  },
};

interface Run {
  code: number;
  lines: string[];
}

/** The check on a Composition (a path, or an object written to a file), offline, given `names`' charts. */
async function check(composition: string | Obj, names: string[]): Promise<Run> {
  let file = composition as string;
  if (typeof composition !== 'string') {
    file = join(await mkdtemp(join(dir, 'composition-')), 'composition.yaml');
    await writeFile(file, stringify(composition));
  }
  const args = ['--import', 'tsx', 'catalogue/main.ts', file, '--offline'];
  for (const name of names) args.push('--chart', `${name}=${charts[name]}`);
  return new Promise((resolve, reject) =>
    execFile(process.execPath, args, (error, stdout, stderr) => {
      const code = error ? error.code : 0;
      if (typeof code !== 'number' || stderr !== '') reject(error ?? new Error(stderr));
      else resolve({ code, lines: stdout.trimEnd().split('\n') });
    }),
  );
}

const withSeverity = (run: Run, severity: string) =>
  run.lines.filter((line) => line.startsWith(`${severity} `));

/** The shipped Composition, its catalogue edited. */
async function shippedWith(edit: (catalogue: { tools: Obj[]; vcluster: Obj }) => void) {
  const catalogue = structuredClone(await pipelineInput(SHIPPED));
  edit({ tools: catalogue.tools as Obj[], vcluster: (catalogue.cluster as Obj).vcluster as Obj });
  return { kind: 'Composition', spec: { pipeline: [{ step: 'render', input: catalogue }] } };
}

describe('the catalogue check', () => {
  it(
    'passes the shipped catalogue wherever its charts can be had: vcluster with the values of every Kubernetes version offered, and cert-manager',
    async () => {
      const run = await check(SHIPPED, ['vcluster', 'cert-manager']);
      expect(run.code, run.lines.join('\n')).toBe(0);
      const catalogue = await pipelineInput(SHIPPED);
      const offered = ((catalogue.cluster as Obj).vcluster as Obj).kubernetesVersions as Obj;
      expect(Object.keys(offered)).toEqual(['1.32', '1.33', '1.34']);
      expect(withSeverity(run, 'ok')).toEqual([
        ...Object.keys(offered).map((version) =>
          expect.stringMatching(
            new RegExp(
              `^ok +input\\.cluster\\.vcluster\\.kubernetesVersions\\["${version}"\\] \\(vcluster ${version}\\): vcluster 0\\.30\\.0 renders \\d+ objects$`,
            ),
          ),
        ),
        expect.stringMatching(
          /^ok +input\.tools\[0\] \(cert-manager\): cert-manager v1\.19\.1 renders \d+ objects$/,
        ),
      ]);
      // The others cannot be had here: no network, and no Go module carries their charts.
      expect(withSeverity(run, 'skipped')).toHaveLength(5);
      expect(run.lines.at(-1)).toBe('0 errors, 0 warnings, 5 skipped');
    },
    TIMEOUT,
  );

  it(
    "passes the e2e's test catalogue on its test charts",
    async () => {
      const composition = await testComposition(
        SHIPPED,
        'http://charts.invalid',
        'registry.invalid:5000',
      );
      const input = (composition.spec as { pipeline: { input: Obj }[] }).pipeline[0]!.input;
      const vcluster = (input.cluster as Obj).vcluster as {
        chart: { name: string };
        kubernetesVersions: Obj;
      };
      const tools = (input.tools as { chart: { name: string } }[]).map((t) => t.chart.name);
      const run = await check(composition, [vcluster.chart.name, ...tools]);
      expect(run.code, run.lines.join('\n')).toBe(0);
      // vcluster once per Kubernetes version, each tool once.
      const versions = Object.keys(vcluster.kubernetesVersions).length;
      expect(withSeverity(run, 'ok')).toHaveLength(versions + tools.length);
      expect(run.lines.at(-1)).toBe('0 errors, 0 warnings');
    },
    TIMEOUT,
  );

  it(
    'names each broken entry by its field: errors fail it, warnings do not',
    async () => {
      const broken = await shippedWith(({ tools, vcluster }) => {
        const certManager = tools[0]!;
        // A typo in a readiness name, and a path cert-manager's values.schema.json refuses.
        (certManager.readiness as Obj[])[2]!.name = 'cert-manager-webhok';
        (certManager.allowedValues as string[]).push('webhook.replicas');
        // A values key vcluster's schema refuses, in one Kubernetes version's values.
        const versions = vcluster.kubernetesVersions as Record<string, Obj>;
        versions['1.34'] = { controlPlane: { distro: { k8s: { imageTag: 'v1.34.1' } } } };
        tools.splice(1, tools.length - 1, {
          name: 'widgets',
          chart: { repository: 'https://charts.invalid', name: 'own-namespace', version: '1.0.0' },
          namespace: 'widgets',
          allowedValues: ['replicas'],
          readiness: [
            { apiVersion: 'apps/v1', kind: 'Deployment', name: 'widgets-controller' },
            { apiVersion: 'apps/v1', kind: 'Deployment', name: 'widgets-operand' },
          ],
        });
      });
      const run = await check(broken, ['vcluster', 'cert-manager', 'own-namespace']);
      expect(run.code).toBe(1);
      expect(run.lines.filter((line) => !line.startsWith('ok '))).toEqual([
        'error   input.cluster.vcluster.kubernetesVersions["1.34"].controlPlane.distro.k8s.imageTag (vcluster 1.34): not in the chart\'s values, and its values.schema.json refuses it (/controlPlane/distro/k8s: no property "imageTag")',
        expect.stringMatching(
          /^error {3}input\.cluster\.vcluster\.kubernetesVersions\["1\.34"\] \(vcluster 1\.34\): vcluster 0\.30\.0 does not render: values don't meet the specifications of the schema\(s\).*imageTag.*$/,
        ),
        'error   input.tools[0].allowedValues[4] (cert-manager): "webhook.replicas": not in the chart\'s values, and its values.schema.json refuses it (/webhook: no property "replicas")',
        "error   input.tools[0].readiness[2] (cert-manager): Deployment cert-manager/cert-manager-webhok is not in the chart's manifests: it makes Deployment cert-manager/cert-manager-webhook (a typo?)",
        'warning input.tools[1].allowedValues[0] (widgets): "replicas": not in the chart\'s values.yaml (replicas), which has no schema',
        "warning input.tools[1].readiness[1] (widgets): Deployment widgets/widgets-operand: not in the chart's manifests (made by something else at run time?)",
        'error   input.tools[1].values.namespace.create (widgets): own-namespace 1.0.0 renders its own Namespace widgets, the release namespace, which provider-helm makes before Helm installs: Helm refuses to adopt it ("invalid ownership metadata"); set namespace.create: false in values',
        '5 errors, 2 warnings',
      ]);
    },
    TIMEOUT,
  );
});
