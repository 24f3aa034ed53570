/**
 * Charts and a catalogue for the real-stack tests, served by the local chart repository.
 *
 * `test-vcluster` plays the vcluster chart: no virtual cluster starts (no kubelet runs), but its
 * release writes the Secret the vcluster backend reads (`vc-<release>`, key `config`), holding a
 * kubeconfig for a real second API server that the test runs as the environment's cluster. The
 * kubeconfig comes in the values of the test catalogue, not baked into the chart. The values
 * the function adds (the kubeconfig's wiring) are recorded in a ConfigMap.
 *
 * Tools, each a small chart: a CRD, a ConfigMap from values, and a Deployment with a custom
 * resource of that CRD, so that it installs only after the CRD tool (Helm fails on an unknown
 * kind). No pod ever starts: the e2e's kubelet stand-in (controlplane/kubelet.ts) reports them.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeCharts, type Chart } from '../controlplane/chart-repository.js';
import type { Stack } from '../controlplane/stack.js';
import { readYamlDocuments } from './manifests.js';

type Obj = Record<string, unknown>;

const VERSION = '1.0.0';
const UPGRADE_VERSION = '1.1.0';
export const WIDGET_CRD = 'widgets.test.xenvironment.io';

/**
 * provider-helm keeps a chart it pulled by name and version for good (/tmp/charts, across runs),
 * as Helm takes a version to be immutable: so each version carries a hash of its content as
 * build metadata (`1.0.0+1a2b3c4d`), and a chart changed here is a new version.
 */
function stamped(chart: Chart): Chart {
  const hash = createHash('sha256').update(JSON.stringify(chart.files)).digest('hex');
  return { ...chart, version: `${chart.version}+${hash.slice(0, 8)}` };
}

/** Every test chart, as served. */
export function testCharts(): Chart[] {
  return [vclusterChart(), ...toolCharts()].map(stamped);
}

/** The served version of a chart: of `base`, its first version by default. */
export function chartVersion(name: string, base = VERSION): string {
  return testCharts().find((c) => c.name === name && c.version.startsWith(`${base}+`))!.version;
}

/** The second version of `test-configmap`, for an upgrade. */
export const UPGRADE = chartVersion('test-configmap', UPGRADE_VERSION);

function vclusterChart(): Chart {
  return {
    name: 'test-vcluster',
    version: VERSION,
    files: {
      'templates/kubeconfig.yaml': [
        'apiVersion: v1',
        'kind: Secret',
        'metadata:',
        '  name: vc-{{ .Release.Name }}',
        '  namespace: {{ .Release.Namespace }}',
        'type: Opaque',
        'data:',
        '  config: {{ required "kubeconfig: the environment cluster\'s" .Values.kubeconfig | b64enc }}',
        '',
      ].join('\n'),
      'templates/wiring.yaml': [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: {{ .Release.Name }}-wiring',
        '  namespace: {{ .Release.Namespace }}',
        'data:',
        '  server: {{ .Values.exportKubeConfig.server | quote }}',
        '',
      ].join('\n'),
    },
  };
}

function toolCharts(): Chart[] {
  return [
    {
      name: 'test-crd',
      version: VERSION,
      files: {
        // Helm installs crds/ before templates and never deletes them.
        'crds/widgets.yaml': JSON.stringify({
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: WIDGET_CRD },
          spec: {
            group: 'test.xenvironment.io',
            names: { kind: 'Widget', plural: 'widgets', singular: 'widget' },
            scope: 'Namespaced',
            versions: [
              {
                name: 'v1',
                served: true,
                storage: true,
                schema: {
                  openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                },
              },
            ],
          },
        }),
        'templates/marker.yaml':
          'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: widgets-installed\ndata: {}\n',
      },
    },
    ...[VERSION, UPGRADE_VERSION].map((version) => ({
      name: 'test-configmap',
      version,
      files: {
        'values.yaml': 'greeting: hello from the catalogue\n',
        'templates/settings.yaml': [
          'apiVersion: v1',
          'kind: ConfigMap',
          'metadata:',
          '  name: settings',
          'data:',
          '  greeting: {{ .Values.greeting | quote }}',
          '  chart: {{ .Chart.Version | quote }}',
          '',
        ].join('\n'),
      },
    })),
    {
      name: 'test-deployment',
      version: VERSION,
      files: {
        'templates/web.yaml': [
          'apiVersion: apps/v1',
          'kind: Deployment',
          'metadata:',
          '  name: web',
          'spec:',
          '  replicas: 1',
          '  selector: { matchLabels: { app: web } }',
          '  template:',
          '    metadata: { labels: { app: web } }',
          '    spec:',
          '      containers: [{ name: web, image: registry.invalid/web:1 }]',
          '---',
          'apiVersion: test.xenvironment.io/v1',
          'kind: Widget',
          'metadata:',
          '  name: web',
          'spec: { size: 3 }',
          '',
        ].join('\n'),
      },
    },
  ];
}

/**
 * The shipped Composition with a catalogue of the charts above, served from `repository`, named
 * `<shipped name>-test` beside the shipped one (XRs select it by compositionRef); the cluster chart
 * gets `kubeconfig` (the environment cluster's) as a default value.
 */
export async function testComposition(
  compositionPath: string,
  repository: string,
  kubeconfig: string,
) {
  const [composition] = (await readYamlDocuments(compositionPath)) as [Obj];
  const spec = composition.spec as { pipeline: { input: Obj }[] };
  const shipped = spec.pipeline[0]!.input;
  const chart = (name: string) => ({ repository, name, version: chartVersion(name) });
  const cluster = structuredClone(shipped.cluster) as { vcluster: Obj };
  cluster.vcluster.chart = chart('test-vcluster');
  cluster.vcluster.values = { ...(cluster.vcluster.values as Obj), kubeconfig };
  const input = {
    ...shipped,
    cluster,
    tools: [
      { name: 'widgets-crd', chart: chart('test-crd'), namespace: 'widgets' },
      {
        name: 'settings',
        chart: chart('test-configmap'),
        namespace: 'settings',
        allowedValues: ['greeting'],
      },
      {
        name: 'web',
        chart: chart('test-deployment'),
        namespace: 'web',
        dependsOn: ['widgets-crd', 'settings'],
        // Helm waits for it too; this keeps reading it for as long as the environment lives.
        readiness: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }],
      },
    ],
  };
  spec.pipeline[0]!.input = input;
  const metadata = composition.metadata as { name: string };
  metadata.name = `${metadata.name}-test`;
  return composition;
}

/** The charts above in the stack's repository, and a test Composition beside each shipped one. */
export async function offerTestCatalogue(stack: Stack): Promise<void> {
  await writeCharts(stack.charts.dir, testCharts());
  const kubeconfig = await readFile(stack.environment.adminKubeconfig, 'utf8');
  for (const path of [
    'apis/xenvironment/composition.yaml',
    'apis/xenvironment-v2/composition.yaml',
  ]) {
    await stack.kube.apply(await testComposition(path, stack.charts.url, kubeconfig));
  }
}
