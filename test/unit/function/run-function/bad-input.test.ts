/** RunFunction on bad input: a Fatal InvalidInput naming the field, and the desired state unchanged. */
import { describe, expect, it } from 'vitest';
import { Ready, Target, type RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { toolKey } from '../../../../common/contract.js';
import { runFunction } from '../../../../function/run-function.js';
import { request, xEnvironment } from '../../../support/requests.js';
import {
  catalog,
  catalogWith,
  fatalMessage,
  nested,
  plainTool,
  ready,
  toolEntry,
  upCluster,
  type Obj,
} from '../../../support/run-function.js';

const badClaim = (name: string, spec: Obj, message: string | RegExp, metadata: Obj = {}) => ({
  name,
  req: () => request(xEnvironment(spec, metadata), catalog),
  message,
});
const badCatalog = (name: string, edit: Parameters<typeof catalogWith>[0], message: string) => ({
  name,
  req: () => request(xEnvironment({}), catalogWith(edit)),
  message,
});

/** A catalogue whose first tool lists `check` as its one readiness check. */
const badReadiness = (name: string, check: Obj, message: string) =>
  badCatalog(name, ({ tools }) => (tools[0]!.readiness = [check]), message);

/** Bad input: each must be Fatal, name the field, and leave the desired state as it came. */
const badInput: { name: string; req: () => RunFunctionRequest; message: string | RegExp }[] = [
  badClaim(
    'an unknown tool',
    { tools: [{ name: 'cert-manager' }, { name: 'argo-cd' }, { name: 'tekon' }] },
    'spec.tools[2].name: "tekon" is not in the catalogue (offered: cert-manager, knative-operator, knative-serving, knative-eventing, tekton-pipelines, argo-cd)',
  ),
  {
    name: 'an unknown tool, among more tools than a message lists',
    req: () =>
      request(
        xEnvironment({ tools: [{ name: 'tekon' }] }),
        catalogWith(({ root }) => {
          root.tools = Array.from({ length: 30 }, (_, i) => plainTool(`t${i}`));
        }),
      ),
    message:
      'spec.tools[0].name: "tekon" is not in the catalogue (offered: t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15, t16, t17, t18, t19, … (30 in all))',
  },
  badClaim(
    'a tool whose dependency is not requested',
    { tools: [{ name: 'argo-cd' }] },
    'spec.tools[0].name: "argo-cd" depends on "cert-manager"; add it to spec.tools',
  ),
  badClaim(
    'a tool listed twice',
    { tools: [{ name: 'cert-manager' }, { name: 'cert-manager' }] },
    'spec.tools[1].name: "cert-manager" is listed twice',
  ),
  badClaim(
    'a bad tool name',
    { tools: [{ name: 'Cert_Manager' }] },
    'spec.tools[0].name: "Cert_Manager" is not a DNS-1123 label',
  ),
  badClaim(
    'a prototype key as a tool name',
    { tools: [{ name: '__proto__' }] },
    'spec.tools[0].name: "__proto__" is not a DNS-1123 label',
  ),
  badClaim(
    'a tool name that is an Object method',
    { tools: [{ name: 'constructor' }] },
    /^spec\.tools\[0\]\.name: "constructor" is not in the catalogue/,
  ),
  badClaim(
    'more tools than the XRD allows',
    { tools: Array.from({ length: 201 }, (_, i) => ({ name: `t${i}` })) },
    'spec.tools: 201 tools; at most 200',
  ),
  badClaim(
    'a chart version longer than the XRD allows',
    { tools: [{ name: 'cert-manager', version: '1'.repeat(65) }] },
    'spec.tools[0].version: 65 characters; at most 64',
  ),
  badClaim(
    'values of the wrong type',
    { tools: [{ name: 'cert-manager', values: 'replicas=2' }] },
    'spec.tools[0].values: must be an object, got the string "replicas=2"',
  ),
  badClaim(
    'tools that are not a list',
    { tools: { name: 'cert-manager' } },
    'spec.tools: must be a list, got an object with keys "name"',
  ),
  badClaim(
    'claim cluster values the catalogue does not allow (a host-side setting)',
    {
      cluster: { values: { exportKubeConfig: { secret: { namespace: 'kube-system' } } } },
    },
    'spec.cluster.values.exportKubeConfig: may not be set by a claim (the catalogue allows: sync.toHost.ingresses.enabled)',
  ),
  badClaim(
    'claim cluster values beside an allowed path',
    {
      cluster: {
        values: { sync: { toHost: { ingresses: { enabled: false }, secrets: { all: true } } } },
      },
    },
    'spec.cluster.values.sync.toHost.secrets: may not be set by a claim (the catalogue allows: sync.toHost.ingresses.enabled)',
  ),
  badClaim(
    'a scalar where the allow-list leads into an object (it would replace the catalogue subtree)',
    { cluster: { values: { sync: null } } },
    'spec.cluster.values.sync: may not be set by a claim (the catalogue allows: sync.toHost.ingresses.enabled)',
  ),
  {
    name: 'tool values the catalogue does not allow, naming a key that is not an identifier',
    req: () =>
      request(
        xEnvironment({
          tools: [
            {
              name: 'cert-manager',
              values: { webhook: { podLabels: { 'app.kubernetes.io/name': 'x' } } },
            },
          ],
        }),
        catalogWith(({ tools }) => (toolEntry(tools, 'cert-manager').allowedValues = ['*.*.x'])),
      ),
    message:
      'spec.tools[0].values.webhook.podLabels["app.kubernetes.io/name"]: may not be set by a claim (the catalogue allows: *.*.x)',
  },
  badClaim(
    'any values for a tool whose catalogue entry allows none',
    { tools: [{ name: 'knative-operator', values: { replicas: 2 } }] },
    'spec.tools[0].values.replicas: may not be set by a claim (the catalogue allows none)',
  ),
  badClaim(
    'claim values nested deeper than 64 levels',
    {
      tools: [{ name: 'cert-manager', values: { resources: nested(65) } }],
    },
    `spec.tools[0].values.resources${'.a'.repeat(64)}: nested deeper than 64 levels`,
  ),
  badClaim(
    'claim values nested 100,000 levels',
    { cluster: { values: { sync: nested(100_000) } } },
    /^spec\.cluster\.values\.sync(\.a){64}: nested deeper than 64 levels$/,
  ),
  {
    name: 'lists nested deeper than 64 levels count as well',
    req: () => {
      let value: unknown = [];
      for (let i = 0; i < 70; i++) value = [value];
      return request(
        xEnvironment({ tools: [{ name: 'cert-manager', values: { resources: value } }] }),
        catalog,
      );
    },
    message: `spec.tools[0].values.resources${'[0]'.repeat(64)}: nested deeper than 64 levels`,
  },
  badClaim(
    'a Kubernetes version the catalogue does not offer',
    { cluster: { kubernetesVersion: '1.20' } },
    'spec.cluster.kubernetesVersion: "1.20" is not offered (offered: 1.32, 1.33, 1.34)',
  ),
  badClaim(
    'an unknown backend',
    { cluster: { backend: 'kind' } },
    'spec.cluster.backend: "kind" is not a known backend (known: vcluster)',
  ),
  badClaim(
    'an Object method as the backend',
    { cluster: { backend: 'toString' } },
    'spec.cluster.backend: "toString" is not a known backend (known: vcluster)',
  ),
  badClaim(
    'a malformed ttl',
    { ttl: '8 hours' },
    'spec.ttl: "8 hours" is not a duration such as "8h" or "1d12h"',
  ),
  badClaim('a ttl past the limit', { ttl: '365d1s' }, 'spec.ttl: "365d1s" is longer than 365d'),
  badClaim(
    'a ttl of more days than a date holds',
    { ttl: '99999999999999999999d' },
    'spec.ttl: "99999999999999999999d" is longer than 365d',
  ),
  badClaim(
    'a ttl whose expiry would not be an RFC 3339 year',
    { ttl: '10000000d' },
    'spec.ttl: "10000000d" is longer than 365d',
  ),
  badClaim(
    'a ttl longer than the XRD allows',
    { ttl: '1s'.repeat(17) },
    'spec.ttl: 34 characters; at most 32',
  ),
  badClaim(
    'a ttl over the catalogue maximum',
    { ttl: '30d1s' },
    'spec.ttl: "30d1s" is more than this platform allows (maxTTL 30d)',
  ),
  badCatalog(
    'a catalogue default ttl over its maximum',
    ({ root }) => (root.environments = { defaultTTL: '8d', maxTTL: '7d' }),
    'input.environments.defaultTTL: "8d" is more than maxTTL 7d',
  ),
  badCatalog(
    'a catalogue maximum ttl past the limit',
    ({ root }) => (root.environments = { maxTTL: '366d' }),
    'input.environments.maxTTL: "366d" is longer than 365d',
  ),
  badCatalog(
    'a catalogue default ttl that is not a duration',
    ({ root }) => (root.environments = { defaultTTL: 'a day' }),
    'input.environments.defaultTTL: "a day" is not a duration such as "8h" or "1d12h"',
  ),
  badCatalog(
    'a waitTimeout in days, which provider-helm cannot read',
    ({ root }) => (root.toolDefaults = { waitTimeout: '1d' }),
    'input.toolDefaults.waitTimeout: "1d" is not a duration such as "90s", "5m" or "1h30m"',
  ),
  badCatalog(
    'a waitTimeout of no time',
    ({ tools }) => (tools[0]!.waitTimeout = '0m0s'),
    'input.tools[0].waitTimeout: "0m0s" is no time at all',
  ),
  badCatalog(
    'a waitTimeout past the limit',
    ({ tools }) => (tools[0]!.waitTimeout = '1h1s'),
    'input.tools[0].waitTimeout: "1h1s" is longer than 3600s',
  ),
  badReadiness(
    'a readiness check of a kind the function cannot read',
    { apiVersion: 'v1', kind: 'Pod', name: 'x' },
    'input.tools[0].readiness[0].kind: "Pod" is not a workload whose readiness the function reads (known: Deployment, StatefulSet, DaemonSet, Job)',
  ),
  badReadiness(
    'a readiness check whose kind is an Object method',
    { apiVersion: 'apps/v1', kind: 'constructor', name: 'x' },
    'input.tools[0].readiness[0].kind: "constructor" is not a workload whose readiness the function reads (known: Deployment, StatefulSet, DaemonSet, Job)',
  ),
  badReadiness(
    'a readiness check at the wrong API version',
    { apiVersion: 'apps/v1', kind: 'Job', name: 'x' },
    'input.tools[0].readiness[0].apiVersion: must be batch/v1 for a Job, got the string "apps/v1"',
  ),
  badReadiness(
    'a readiness check whose name is not an object name',
    { apiVersion: 'apps/v1', kind: 'Deployment', name: 'Web_Hook' },
    'input.tools[0].readiness[0].name: "Web_Hook" is not a DNS-1123 subdomain',
  ),
  badCatalog(
    'a readiness check in a namespace that is not one',
    ({ tools }) =>
      (tools[0]!.readiness = [
        { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'a.b', name: 'x' },
      ]),
    'input.tools[0].readiness[0].namespace: "a.b" is not a namespace name',
  ),
  badCatalog(
    'more readiness checks than the input CRD allows',
    ({ tools }) =>
      (tools[0]!.readiness = Array.from({ length: 17 }, (_, i) => ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: `d${i}`,
      }))),
    'input.tools[0].readiness: 17 checks; at most 16',
  ),
  badClaim(
    'a creation time that is not RFC 3339',
    { ttl: '1h' },
    'metadata.creationTimestamp: "yesterday" is not an RFC 3339 time',
    { creationTimestamp: 'yesterday' },
  ),
  badClaim(
    'a creation time that leaves no room for the ttl before the year 10000',
    { ttl: '2d' },
    'metadata.creationTimestamp: "9999-12-31T00:00:00Z" plus spec.ttl is past the year 9999',
    { creationTimestamp: '9999-12-31T00:00:00Z' },
  ),
  badClaim(
    'a sink that is not a URI',
    { events: { sink: 'broker' } },
    'spec.events.sink: "broker" is not an absolute URL with a valid host and port',
  ),
  // Both pass the XRD's `^https?://` pattern; the bridge could never send to either.
  badClaim(
    'a sink without a host',
    { events: { sink: 'http://' } },
    'spec.events.sink: "http://" is not an absolute URL with a valid host and port',
  ),
  badClaim(
    'a sink with a port out of range',
    { events: { sink: 'http://x:99999/' } },
    'spec.events.sink: "http://x:99999/" is not an absolute URL with a valid host and port',
  ),
  // What no allow-list lets through: the node or pod itself, or the cloud's metadata service.
  ...[
    ['http://169.254.169.254/latest', '169.254.169.254 is link-local (169.254.0.0/16, fe80::/10)'],
    ['http://[fe80::1]:8080/', '[fe80::1] is link-local (169.254.0.0/16, fe80::/10)'],
    ['http://127.0.0.53/', '127.0.0.53 is loopback (127.0.0.0/8, ::1, localhost)'],
    ['http://2130706433/', '127.0.0.1 is loopback (127.0.0.0/8, ::1, localhost)'],
    ['https://[::1]/hook', '[::1] is loopback (127.0.0.0/8, ::1, localhost)'],
    ['http://LocalHost:8080/', 'localhost is loopback (127.0.0.0/8, ::1, localhost)'],
    [
      'http://[::ffff:169.254.169.254]/',
      '[::ffff:a9fe:a9fe] is link-local (169.254.0.0/16, fe80::/10)',
    ],
    ['http://0.0.0.0/', '0.0.0.0 is unspecified (0.0.0.0/8, ::)'],
    ['http://[::]:80/', '[::] is unspecified (0.0.0.0/8, ::)'],
  ].map(([sink, why]) =>
    badClaim(
      `sink ${sink}`,
      { events: { sink } },
      `spec.events.sink: host ${why}: no sink may be there`,
    ),
  ),
  badClaim(
    'a sink longer than the XRD allows, not echoed whole',
    { events: { sink: `http://${'x'.repeat(2048)}` } },
    'spec.events.sink: 2055 characters; at most 2048',
  ),
  {
    name: 'a missing XR',
    req: () => {
      const req = request(xEnvironment({}), catalog);
      req.observed!.composite = undefined;
      return req;
    },
    message: 'observed.composite.resource: must be an object, got nothing',
  },
  {
    name: 'a missing input',
    req: () => request(xEnvironment({}), undefined),
    message: 'input: is missing: the Composition step must carry a Catalog',
  },
  {
    name: 'an input of the wrong kind',
    req: () => request(xEnvironment({}), { apiVersion: 'example.org/v1', kind: 'Input' }),
    message:
      'input.apiVersion: must be xenvironment.fn.crossplane.io/v1beta1, got the string "example.org/v1"',
  },
  badCatalog(
    'a catalogue dependency that does not exist',
    ({ tools }) => (tools[0]!.dependsOn = ['istio']),
    'input.tools[0].dependsOn[0]: "istio" is not in the catalogue',
  ),
  badCatalog(
    'a catalogue dependency listed twice',
    ({ tools }) => (tools[0]!.dependsOn = ['argo-cd', 'argo-cd']),
    'input.tools[0].dependsOn[1]: "argo-cd" is listed twice',
  ),
  badCatalog(
    'a catalogue dependency cycle',
    ({ tools }) => (tools[0]!.dependsOn = ['argo-cd']),
    'input.tools[0].dependsOn: cycle cert-manager → argo-cd → cert-manager',
  ),
  badCatalog(
    'a catalogue tool that depends on itself',
    ({ tools }) => (tools[2]!.dependsOn = ['knative-serving']),
    'input.tools[2].dependsOn: cycle knative-serving → knative-serving',
  ),
  badCatalog(
    'a catalogue cycle through all the tools it may hold, shown by its ends',
    ({ root }) => {
      root.tools = Array.from({ length: 1024 }, (_, i) =>
        plainTool(`t${i}`, { dependsOn: [`t${(i + 1) % 1024}`] }),
      );
    },
    'input.tools[0].dependsOn: cycle t0 → t1 → t2 → t3 → t4 → … → t1022 → t1023 → t0 (1024 tools)',
  ),
  badCatalog(
    'more catalogue tools than the input CRD allows',
    ({ root }) => {
      root.tools = Array.from({ length: 1025 }, (_, i) => plainTool(`t${i}`));
    },
    'input.tools: 1025 tools; at most 1024',
  ),
  badCatalog(
    'more catalogue dependencies than the input CRD allows',
    ({ tools }) => {
      tools[0]!.dependsOn = Array.from({ length: 33 }, (_, i) => `t${i}`);
    },
    'input.tools[0].dependsOn: 33 dependencies; at most 32',
  ),
  badCatalog(
    'more allowed values than the input CRD allows',
    ({ tools }) => {
      tools[1]!.allowedValues = Array.from({ length: 65 }, (_, i) => `k${i}`);
    },
    'input.tools[1].allowedValues: 65 paths; at most 64',
  ),
  badCatalog(
    'an allowed value that is not a path',
    ({ vcluster }) => (vcluster.allowedValues = ['sync..toHost']),
    'input.cluster.vcluster.allowedValues[0]: "sync..toHost" is not a dot-separated path',
  ),
  badCatalog(
    'a catalogue tool name longer than Helm allows a release name',
    ({ root }) => (root.tools = [plainTool('t'.repeat(54))]),
    'input.tools[0].name: 54 characters; at most 53',
  ),
  badCatalog(
    'catalogue values nested deeper than 64 levels',
    ({ tools }) => (tools[0]!.values = nested(66, 'x')),
    `input.tools[0].values${'.x'.repeat(65)}: nested deeper than 64 levels`,
  ),
  badCatalog(
    'a catalogue that offers no cluster backend',
    ({ root }) => (root.cluster = { connectionSecretNamespace: 'crossplane-system' }),
    'input.cluster: offers no cluster backend (known: vcluster)',
  ),
  badCatalog(
    'a catalogue chart without a version',
    ({ tools }) => delete (tools[1]!.chart as Obj).version,
    'input.tools[1].chart.version: must be a non-empty string, got nothing',
  ),
  badCatalog(
    'a catalogue default Kubernetes version it does not offer',
    ({ vcluster }) => (vcluster.defaultKubernetesVersion = '1.99'),
    'input.cluster.vcluster.defaultKubernetesVersion: "1.99" is not one of input.cluster.vcluster.kubernetesVersions',
  ),
  badCatalog(
    'a prototype key as the catalogue default Kubernetes version',
    ({ vcluster }) => (vcluster.defaultKubernetesVersion = '__proto__'),
    'input.cluster.vcluster.defaultKubernetesVersion: "__proto__" is not one of input.cluster.vcluster.kubernetesVersions',
  ),
  badCatalog(
    'a catalogue Kubernetes version that is not one',
    ({ vcluster }) => {
      vcluster.kubernetesVersions = JSON.parse('{"__proto__": {}}');
    },
    'input.cluster.vcluster.kubernetesVersions.__proto__: is not a Kubernetes minor version such as "1.33"',
  ),
  badCatalog(
    'a prototype key as a catalogue backend',
    ({ root }) => {
      root.cluster = JSON.parse('{"__proto__": {"chart": {}}}');
    },
    'input.cluster.__proto__: is not a known cluster backend (known: vcluster)',
  ),
];

describe('RunFunction on bad input', () => {
  it.each(badInput)(
    'is Fatal on $name, naming the field, and changes nothing',
    async ({ req, message }) => {
      const request = req();
      // A healthy environment edited into a bad state: everything it composed is observed.
      request.observed!.resources = { ...upCluster(), [toolKey('cert-manager')]: ready() };
      // And an earlier pipeline step desired something, which must pass through.
      request.desired!.resources['earlier-step'] = {
        resource: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kept' } },
        connectionDetails: {},
        ready: Ready.READY_TRUE,
      };
      const desiredBefore = structuredClone(request.desired);
      const rsp = await runFunction(request);
      if (typeof message === 'string') expect(fatalMessage(rsp)).toBe(message);
      else expect(fatalMessage(rsp)).toMatch(message);
      expect(rsp.results).toHaveLength(1);
      expect(rsp.results[0]).toMatchObject({
        reason: 'InvalidInput',
        target: Target.TARGET_COMPOSITE_AND_CLAIM,
      });
      expect(rsp.desired).toEqual(desiredBefore);
    },
  );
});
