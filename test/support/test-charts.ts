/**
 * Charts and a catalogue for the real-stack tests, served by the local chart repository.
 *
 * The environment's cluster is a real vcluster: the chart from the vcluster module at the release
 * the shipped catalogue pins, with the values this machine needs (images from the local registry,
 * the OSS syncer, no volume claim since no storage provisioner runs here, no telemetry).
 *
 * Tools, each a small chart: a CRD, a ConfigMap from values, and a Deployment with a custom
 * resource of that CRD, so that it installs only after the CRD tool (Helm fails on an unknown
 * kind). The Deployment runs a real web server (busybox httpd) behind a readiness probe.
 */
import { createHash } from 'node:crypto';
import { writeCharts, type Chart } from '../controlplane/chart-repository.js';
import { vclusterChart, VCLUSTER_VERSION } from './chart-sources.js';
import { RECIPES } from '../controlplane/images.js';
import { VERSIONS } from '../controlplane/tools.js';
import { mergeValues } from '../../function/input/values.js';
import type { Stack } from '../controlplane/stack.js';
import { readYamlDocuments } from './manifests.js';

type Obj = Record<string, unknown>;

const VERSION = '1.0.0';
const UPGRADE_VERSION = '1.1.0';
const WIDGET_CRD = 'widgets.test.xenvironment.io';
/** The port the test workload serves on, and its readiness probe asks. */
const WEB_PORT = 8080;

/**
 * provider-helm keeps a chart it pulled by name and version for good (/tmp/charts, across runs),
 * as Helm takes a version to be immutable: so each version carries a hash of its content as
 * build metadata (`1.0.0+1a2b3c4d`), and a chart changed here is a new version.
 */
function stamped(chart: Chart): Chart {
  const hash = createHash('sha256').update(JSON.stringify(chart.files)).digest('hex');
  return { ...chart, version: `${chart.version}+${hash.slice(0, 8)}` };
}

/** The vcluster chart, as the shipped catalogue pins it. */
export const VCLUSTER_CHART = { name: 'vcluster', version: VCLUSTER_VERSION };

/** Every test chart, as served: the tools' (stamped) and vcluster's. */
export async function testCharts(): Promise<Chart[]> {
  return [...toolCharts().map(stamped), await vclusterChart()];
}

/** The served version of a tool chart: of `base`, its first version by default. */
export function chartVersion(name: string, base = VERSION): string {
  return toolCharts()
    .map(stamped)
    .find((c) => c.name === name && c.version.startsWith(`${base}+`))!.version;
}

/** The second version of `test-configmap`, for an upgrade. */
export const UPGRADE = chartVersion('test-configmap', UPGRADE_VERSION);

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
          '      containers:',
          '        - name: web',
          '          image: {{ required "the workload image" .Values.image | quote }}',
          // It serves what /srv holds; a step takes index.html away to make it stop serving.
          `          command: [sh, -c, "echo ok > /srv/index.html && exec httpd -f -p ${WEB_PORT} -h /srv"]`,
          `          readinessProbe: { httpGet: { path: /index.html, port: ${WEB_PORT} }, periodSeconds: 2 }`,
          '          volumeMounts: [{ name: srv, mountPath: /srv }]',
          '      volumes: [{ name: srv, emptyDir: {} }]',
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

/** What running vcluster on this machine needs, over the shipped catalogue's values. */
export function vclusterValues(registry: string): Obj {
  return {
    controlPlane: {
      // Every image vcluster runs from the local registry, as an air-gapped install does.
      advanced: { defaultImageRegistry: registry },
      statefulSet: {
        // The open-source syncer, the one that builds from vcluster's public source.
        image: { repository: 'loft-sh/vcluster-oss', tag: VCLUSTER_CHART.version },
        // No storage provisioner runs here: the backing store lives in an emptyDir.
        persistence: { volumeClaim: { enabled: false } },
      },
      coredns: { deployment: { image: RECIPES.coredns.reference } },
    },
    sync: {
      toHost: {
        pods: {
          rewriteHosts: {
            initContainer: {
              image: {
                repository: RECIPES.busybox.reference.split(':')[0],
                tag: RECIPES.busybox.reference.split(':')[1],
              },
            },
          },
        },
      },
    },
    telemetry: { enabled: false },
  };
}

/** The Kubernetes version the test catalogue offers: the node's own binaries. */
export const KUBERNETES_VERSION = VERSIONS.kubernetes.replace(/^v(\d+\.\d+)\..*$/, '$1');

/**
 * The shipped Composition with a catalogue of the charts above, served from `repository`, named
 * `<shipped name>-test` beside the shipped one (XRs select it by compositionRef); vcluster gets
 * the values this machine needs, and the workload its image from `registry`.
 */
export async function testComposition(
  compositionPath: string,
  repository: string,
  registry: string,
) {
  const [composition] = (await readYamlDocuments(compositionPath)) as [Obj];
  const spec = composition.spec as { pipeline: { input: Obj }[] };
  const shipped = spec.pipeline[0]!.input;
  const chart = (name: string) => ({ repository, name, version: chartVersion(name) });
  const cluster = structuredClone(shipped.cluster) as { vcluster: Obj };
  cluster.vcluster.chart = { repository, ...VCLUSTER_CHART };
  cluster.vcluster.values = mergeValues(cluster.vcluster.values as Obj, vclusterValues(registry));
  cluster.vcluster.defaultKubernetesVersion = KUBERNETES_VERSION;
  cluster.vcluster.kubernetesVersions = {
    [KUBERNETES_VERSION]: {
      controlPlane: { distro: { k8s: { enabled: true, image: { tag: VERSIONS.kubernetes } } } },
    },
  };
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
        values: { image: `${registry}/${RECIPES.busybox.reference}` },
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
  await writeCharts(stack.charts.dir, await testCharts());
  for (const path of [
    'apis/xenvironment/composition.yaml',
    'apis/xenvironment-v2/composition.yaml',
  ]) {
    await stack.kube.apply(await testComposition(path, stack.charts.url, stack.registry.host));
  }
}
