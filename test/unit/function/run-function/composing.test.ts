/**
 * RunFunction, table-driven: each case is a whole request and the behaviour its response must
 * show, from a new environment to all ready, tool readiness included (checkComposing adds what
 * every answer must show).
 */
import { describe, expect, it } from 'vitest';
import { Ready, Severity, Status, Target } from '@crossplane-org/function-sdk-typescript';
import {
  CLUSTER_KEY,
  CLUSTER_READY_CONDITION,
  HELM_PROVIDER_CONFIG_KEY,
  HOST_NAMESPACE_KEY,
  KUBERNETES_PROVIDER_CONFIG_KEY,
  readinessKey,
  toolKey,
  TOOLS_READY_CONDITION,
  usageKey,
} from '../../../../common/contract.js';
import { runFunction } from '../../../../function/run-function.js';
import { observedResource, request, xEnvironment } from '../../../support/requests.js';
import {
  catalog,
  catalogWith,
  checkComposing,
  checkKeys,
  clusterCondition,
  composed,
  composedKeys,
  connectionDetails,
  exists,
  forProvider,
  HOST_NAMESPACE_USAGE_KEY,
  hostNamespace,
  installing,
  kubeconfig,
  missingWorkload,
  nameOf,
  nested,
  plainTool,
  PROGRESSING_TTL,
  providerConfigs,
  ready,
  secretMissing,
  secretMissingRequest,
  serving,
  status,
  toolEntry,
  twoTools,
  upCluster,
  withCertManager,
  withCluster,
  type Case,
  type Obj,
} from '../../../support/run-function.js';

const cases: Case[] = [
  {
    name: 'a new environment composes its host namespace and provider configs; the cluster waits for the namespace; Crossplane is to call again in 10 s',
    req: () => request(xEnvironment(twoTools), catalog),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual([
        HELM_PROVIDER_CONFIG_KEY,
        HOST_NAMESPACE_KEY,
        KUBERNETES_PROVIDER_CONFIG_KEY,
      ]);
      const namespace = composed(rsp, HOST_NAMESPACE_KEY);
      expect(namespace).toMatchObject({
        apiVersion: 'kubernetes.crossplane.io/v1alpha2',
        kind: 'Object',
        spec: {
          providerConfigRef: { name: 'default' },
          forProvider: { manifest: { apiVersion: 'v1', kind: 'Namespace' } },
        },
      });
      const manifest = forProvider(namespace).manifest as { metadata: { name: string } };
      expect(manifest.metadata.name).toMatch(/^vcluster-dev-x7k2p-[a-z2-7]{10}$/);
      expect(status(rsp).phase).toBe('Pending');
      expect(rsp.desired?.composite?.ready).toBe(Ready.READY_FALSE);
      expect(rsp.meta?.ttl).toEqual(PROGRESSING_TTL);
      expect(rsp.results[0]).toMatchObject({
        severity: Severity.SEVERITY_NORMAL,
        message: 'creating the vcluster cluster (0 of 2 tools ready)',
        target: Target.TARGET_COMPOSITE_AND_CLAIM,
      });
      expect(status(rsp).tools).toEqual([
        {
          name: 'cert-manager',
          version: 'v1.19.1',
          ready: false,
          phase: 'Waiting',
          message: 'waiting for the cluster',
        },
        {
          name: 'argo-cd',
          version: '9.1.0',
          dependsOn: ['cert-manager'],
          ready: false,
          phase: 'Waiting',
          message: 'waiting for the cluster, cert-manager',
        },
      ]);
    },
  },
  {
    name: 'a host namespace being created: the cluster is provisioning and waits for it',
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        [HOST_NAMESPACE_KEY]: hostNamespace(false),
        ...providerConfigs(),
      }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).not.toContain(CLUSTER_KEY);
      expect(status(rsp).phase).toBe('ProvisioningCluster');
      const namespace = forProvider(composed(rsp, HOST_NAMESPACE_KEY)).manifest as Obj;
      expect(clusterCondition(rsp)).toMatchObject({
        status: Status.STATUS_CONDITION_FALSE,
        reason: 'Creating',
        message: `waiting for the host namespace ${nameOf(namespace)}`,
      });
    },
  },
  {
    name: 'a ready host namespace lets the cluster Release in, installing into it without creating it, deleted before it',
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        [HOST_NAMESPACE_KEY]: hostNamespace(),
        ...providerConfigs(),
      }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual(withCluster());
      const cluster = composed(rsp, CLUSTER_KEY);
      const namespace = composed(rsp, HOST_NAMESPACE_KEY);
      const namespaceName = nameOf(forProvider(namespace).manifest as Obj);
      expect(forProvider(cluster)).toMatchObject({
        namespace: namespaceName,
        skipCreateNamespace: true,
      });
      expect(composed(rsp, HOST_NAMESPACE_USAGE_KEY)).toMatchObject({
        kind: 'Usage',
        spec: {
          of: { kind: 'Object', resourceRef: { name: nameOf(namespace) } },
          by: { kind: 'Release', resourceRef: { name: nameOf(cluster) } },
          replayDeletion: true,
        },
      });
      expect(rsp.desired!.resources[HOST_NAMESPACE_KEY]!.ready).toBe(Ready.READY_TRUE);
      expect(status(rsp).phase).toBe('ProvisioningCluster');
      expect(status(rsp).cluster).toMatchObject({
        endpoint: `https://vcluster.${namespaceName}.svc:443`,
      });
    },
  },
  {
    name: 'a host namespace that cannot be made fails the environment, naming it',
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        [HOST_NAMESPACE_KEY]: observedResource('Object', {
          ready: false,
          syncedError: 'cannot create object: namespaces is forbidden',
        }),
        ...providerConfigs(),
      }),
    expect: (rsp) => {
      expect(status(rsp).phase).toBe('Failed');
      expect(rsp.results[0]).toMatchObject({ severity: Severity.SEVERITY_WARNING });
      expect(rsp.results[0]!.message).toMatch(
        /^failed: cluster: the host namespace vcluster-dev-x7k2p-\w+: cannot create object: namespaces is forbidden/,
      );
    },
  },
  {
    name: 'a deployed cluster whose kubeconfig Secret is not written yet is provisioning, not failed',
    req: () => secretMissingRequest(connectionDetails),
    expect: (rsp) => {
      expect(status(rsp).phase).toBe('ProvisioningCluster');
      expect(rsp.results[0]).toMatchObject({
        severity: Severity.SEVERITY_NORMAL,
        message: 'provisioning the vcluster cluster (0 of 2 tools ready)',
      });
      expect(clusterCondition(rsp)).toMatchObject({
        reason: 'Creating',
        message: 'waiting for Secret ns/vc-vcluster to be written',
      });
    },
  },
  {
    name: 'a missing Secret the cluster does not name as its connection details is a failure',
    req: () => secretMissingRequest([{ ...connectionDetails[0], name: 'other' }]),
    expect: (rsp) => {
      expect(status(rsp).phase).toBe('Failed');
      expect(clusterCondition(rsp)).toMatchObject({ reason: 'Failed', message: secretMissing });
    },
  },
  {
    name: 'a ready cluster lets the tools without dependencies in, with a Usage on the cluster',
    req: () => request(xEnvironment(twoTools), catalog, upCluster()),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual(
        withCluster(toolKey('cert-manager'), usageKey('cert-manager')),
      );
      expect(status(rsp).phase).toBe('InstallingTools');
      expect(rsp.results[0]!.message).toBe('installing cert-manager (0 of 2 tools ready)');
      const release = composed(rsp, toolKey('cert-manager'));
      expect(composed(rsp, usageKey('cert-manager'))).toMatchObject({
        apiVersion: 'apiextensions.crossplane.io/v1beta1',
        kind: 'Usage',
        spec: {
          of: { kind: 'Release', resourceRef: { name: nameOf(composed(rsp, CLUSTER_KEY)) } },
          by: { kind: 'Release', resourceRef: { name: nameOf(release) } },
          replayDeletion: true,
        },
      });
      expect(release).toMatchObject({
        metadata: { annotations: { 'crossplane.io/external-name': 'cert-manager' } },
        spec: {
          providerConfigRef: { name: nameOf(composed(rsp, HELM_PROVIDER_CONFIG_KEY)) },
          forProvider: { namespace: 'cert-manager' },
        },
      });
      expect(forProvider(release).skipCreateNamespace).toBeUndefined();
    },
  },
  {
    name: 'a serving dependency lets its dependent in, ordered for deletion after it',
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        ...upCluster(),
        ...serving('cert-manager'),
        [usageKey('cert-manager')]: exists('Usage'),
      }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toContain(toolKey('argo-cd'));
      expect(composed(rsp, usageKey('argo-cd', 'cert-manager'))).toMatchObject({
        spec: {
          of: { resourceRef: { name: nameOf(composed(rsp, toolKey('cert-manager'))) } },
          by: { resourceRef: { name: nameOf(composed(rsp, toolKey('argo-cd'))) } },
        },
      });
      expect(rsp.desired!.resources[toolKey('cert-manager')]!.ready).toBe(Ready.READY_TRUE);
      expect(rsp.desired!.resources[toolKey('argo-cd')]!.ready).toBe(Ready.READY_FALSE);
      expect(rsp.results[0]!.message).toBe('installing argo-cd (1 of 2 tools ready)');
    },
  },
  {
    name: 'a composed tool stays when its dependency and the cluster blip',
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        ...upCluster(),
        [CLUSTER_KEY]: installing(),
        [toolKey('cert-manager')]: installing(),
        [toolKey('argo-cd')]: ready(),
      }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual(
        expect.arrayContaining([
          toolKey('cert-manager'),
          toolKey('argo-cd'),
          usageKey('argo-cd', 'cert-manager'),
        ]),
      );
      expect(status(rsp).phase).toBe('ProvisioningCluster');
      expect(rsp.desired?.composite?.ready).toBe(Ready.READY_FALSE);
    },
  },
  {
    name: 'a composed tool whose dependency is gone while the cluster blips stays, without a Usage on it',
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        ...upCluster(),
        [CLUSTER_KEY]: installing(),
        [toolKey('argo-cd')]: ready(),
        [usageKey('argo-cd')]: exists('Usage'),
      }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual(
        withCluster(toolKey('argo-cd'), usageKey('argo-cd'), ...checkKeys('argo-cd')),
      );
      expect(status(rsp).tools).toContainEqual(
        expect.objectContaining({
          name: 'cert-manager',
          phase: 'Waiting',
          message: 'waiting for the cluster',
        }),
      );
    },
  },
  {
    name: 'what was composed stays while it is asked for: a tool whose Usages alone are observed, a cluster whose namespace blips',
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        [HOST_NAMESPACE_KEY]: hostNamespace(false),
        [HOST_NAMESPACE_USAGE_KEY]: exists('Usage'),
        ...providerConfigs(),
        [usageKey('cert-manager')]: exists('Usage'),
        [usageKey('argo-cd', 'cert-manager')]: exists('Usage'),
      }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual(
        withCluster(
          toolKey('argo-cd'),
          toolKey('cert-manager'),
          usageKey('argo-cd'),
          usageKey('argo-cd', 'cert-manager'),
          usageKey('cert-manager'),
        ),
      );
    },
  },
  {
    name: 'a resource observed without a body still counts as composed',
    req: () => {
      const req = request(xEnvironment(twoTools), catalog, {
        ...upCluster(),
        [CLUSTER_KEY]: installing(),
        [toolKey('cert-manager')]: installing(),
      });
      req.observed!.resources[toolKey('cert-manager')]!.resource = undefined;
      return req;
    },
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual(
        withCluster(toolKey('cert-manager'), usageKey('cert-manager')),
      );
    },
  },
  {
    name: "all ready: the XR is ready and carries the kubeconfig bytes unchanged; Crossplane's default TTL",
    req: () =>
      request(xEnvironment({ ...twoTools, ttl: '1d2h' }), catalog, {
        ...upCluster({ connectionDetails: { kubeconfig } }),
        ...serving('cert-manager'),
        ...serving('argo-cd'),
        [usageKey('cert-manager')]: exists('Usage'),
        [usageKey('argo-cd')]: exists('Usage'),
        [usageKey('argo-cd', 'cert-manager')]: exists('Usage'),
      }),
    expect: (rsp) => {
      expect(rsp.desired?.composite?.ready).toBe(Ready.READY_TRUE);
      expect(rsp.meta?.ttl).toEqual({ seconds: 60, nanos: 0 });
      expect(Buffer.from(rsp.desired!.composite!.connectionDetails.kubeconfig!)).toEqual(
        kubeconfig,
      );
      expect(status(rsp)).toMatchObject({
        phase: 'Ready',
        cluster: { ready: true },
        expiresAt: '2026-11-26T11:00:00Z',
      });
      for (const resource of Object.values(rsp.desired!.resources)) {
        expect(resource.ready).toBe(Ready.READY_TRUE);
      }
      expect(rsp.conditions).toEqual([
        expect.objectContaining({
          type: CLUSTER_READY_CONDITION,
          status: Status.STATUS_CONDITION_TRUE,
        }),
        expect.objectContaining({
          type: TOOLS_READY_CONDITION,
          status: Status.STATUS_CONDITION_TRUE,
          message: '2 of 2 tools ready',
          target: Target.TARGET_COMPOSITE_AND_CLAIM,
        }),
      ]);
      expect(rsp.results[0]!.message).toBe('environment ready (2 of 2 tools ready)');
    },
  },
  {
    name: 'a ttl of exactly 365 days expires a year on, where the catalogue sets no maximum',
    req: () =>
      request(
        xEnvironment({ ttl: '365d' }),
        catalogWith(({ root }) => delete root.environments),
      ),
    expect: (rsp) => expect(status(rsp).expiresAt).toBe('2027-11-25T09:00:00Z'),
  },
  {
    name: 'a tool the claim drops is removed, and the claim is told',
    dropped: ['tekton-pipelines'],
    req: () =>
      request(xEnvironment({ tools: [{ name: 'cert-manager' }] }), catalog, {
        ...upCluster(),
        [toolKey('cert-manager')]: ready(),
        [toolKey('tekton-pipelines')]: ready(),
        [usageKey('tekton-pipelines')]: exists('Usage'),
      }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).not.toContain(toolKey('tekton-pipelines'));
      expect(composedKeys(rsp)).not.toContain(usageKey('tekton-pipelines'));
      expect(rsp.results.map((r) => r.message)).toContain(
        'removing tool tekton-pipelines: no longer requested',
      );
    },
  },
  {
    name: 'a version bump changes the chart version, and allowed claim values merge over the catalogue',
    req: () =>
      request(
        xEnvironment({
          tools: [
            {
              name: 'cert-manager',
              version: 'v1.20.0',
              values: { replicaCount: 2, webhook: { resources: { limits: { cpu: '1' } } } },
            },
          ],
        }),
        catalog,
        { ...upCluster(), [toolKey('cert-manager')]: ready() },
      ),
    expect: (rsp) => {
      expect(composed(rsp, toolKey('cert-manager'))).toMatchObject({
        spec: {
          forProvider: {
            chart: { name: 'cert-manager', version: 'v1.20.0' },
            values: {
              crds: { enabled: true },
              replicaCount: 2,
              webhook: { resources: { limits: { cpu: '1' } } },
            },
          },
        },
      });
      expect(status(rsp).tools).toEqual([
        expect.objectContaining({ name: 'cert-manager', version: 'v1.20.0' }),
      ]);
    },
  },
  {
    name: 'cluster values the catalogue allows merge over it, but cannot rewire how providers reach the cluster',
    req: () =>
      request(
        xEnvironment({
          cluster: {
            kubernetesVersion: '1.34',
            values: {
              exportKubeConfig: { server: 'https://elsewhere' },
              sync: { toHost: { ingresses: { enabled: false } } },
            },
          },
        }),
        catalogWith(({ vcluster }) => {
          vcluster.allowedValues = ['sync.toHost.ingresses.enabled', 'exportKubeConfig'];
        }),
        { [HOST_NAMESPACE_KEY]: hostNamespace() },
      ),
    expect: (rsp) => {
      const values = forProvider(composed(rsp, CLUSTER_KEY)).values as Obj;
      expect(values).toMatchObject({
        exportKubeConfig: { server: status(rsp).cluster && (status(rsp).cluster as Obj).endpoint },
        sync: { toHost: { ingresses: { enabled: false } } },
        controlPlane: { distro: { k8s: { image: { tag: 'v1.34.1' } } } },
      });
      expect((values.exportKubeConfig as Obj).server).toMatch(/^https:\/\/vcluster\.vcluster-/);
      expect(status(rsp).cluster).toMatchObject({ kubernetesVersion: '1.34' });
    },
  },
  {
    name: 'the allow-list: `*` matches any one key, a listed path allows its whole subtree, dotted keys pass through their parent',
    req: () =>
      request(
        xEnvironment({
          tools: [
            { name: 'cert-manager' },
            {
              name: 'argo-cd',
              values: {
                configs: { params: { 'server.insecure': false, 'reposerver.parallelism': 2 } },
                server: { resources: { limits: { cpu: '2', memory: '1Gi' } } },
                notifications: { bots: { slack: { enabled: true } } },
              },
            },
          ],
        }),
        catalogWith(({ tools }) => {
          toolEntry(tools, 'argo-cd').allowedValues = [
            'configs.params',
            'server.resources',
            'notifications.*.slack',
          ];
        }),
        { ...upCluster(), ...serving('cert-manager') },
      ),
    expect: (rsp) => {
      expect(forProvider(composed(rsp, toolKey('argo-cd'))).values).toEqual({
        configs: { params: { 'server.insecure': false, 'reposerver.parallelism': 2 } },
        server: { resources: { limits: { cpu: '2', memory: '1Gi' } } },
        notifications: { bots: { slack: { enabled: true } } },
      });
    },
  },
  {
    name: 'keys such as __proto__ and constructor stay plain data in values, and work as tool names',
    req: () =>
      request(
        xEnvironment({
          tools: [{ name: 'constructor', values: JSON.parse('{"__proto__": {"polluted": true}}') }],
        }),
        catalogWith(({ root }) => {
          root.tools = [
            plainTool('constructor', {
              values: JSON.parse('{"__proto__": {"base": 1}, "constructor": {"x": 1}}'),
              allowedValues: ['*'],
            }),
          ];
        }),
        upCluster(),
      ),
    expect: (rsp) => {
      const values = forProvider(composed(rsp, toolKey('constructor'))).values as Obj;
      expect(Object.getPrototypeOf(values)).toBe(Object.prototype);
      expect(Object.keys(values)).toEqual(['__proto__', 'constructor']);
      expect(Object.getOwnPropertyDescriptor(values, '__proto__')!.value).toEqual({
        base: 1,
        polluted: true,
      });
      expect(({} as Obj).polluted).toBeUndefined();
    },
  },
  {
    name: 'values nested exactly 64 levels are taken whole',
    req: () =>
      request(
        xEnvironment({ tools: [{ name: 'cert-manager', values: { resources: nested(64) } }] }),
        catalog,
        upCluster(),
      ),
    expect: (rsp) => {
      const values = forProvider(composed(rsp, toolKey('cert-manager'))).values as Obj;
      let depth = 1; // resources
      for (let at = values.resources as Obj; at.a; at = at.a as Obj) depth++;
      expect(depth).toBe(64);
    },
  },
  {
    name: 'a tool Release is composed with Helm waiting for its workloads, up to the catalogue default or its own waitTimeout',
    req: () =>
      request(
        xEnvironment({ tools: [{ name: 'cert-manager' }, { name: 'knative-operator' }] }),
        catalogWith(({ tools }) => (toolEntry(tools, 'knative-operator').waitTimeout = '7m30s')),
        upCluster(),
      ),
    expect: (rsp) => {
      expect(forProvider(composed(rsp, toolKey('cert-manager')))).toMatchObject({
        wait: true,
        waitTimeout: '5m',
      });
      expect(forProvider(composed(rsp, toolKey('knative-operator')))).toMatchObject({
        wait: true,
        waitTimeout: '7m30s',
      });
      // The cluster's Release is not waited for: its kubeconfig Secret says when it is up.
      expect(forProvider(composed(rsp, CLUSTER_KEY)).wait).toBeUndefined();
    },
  },
  {
    name: 'a tool whose Release is not Ready yet is Installing, with nothing to read its workloads',
    req: () => withCertManager(installing()),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual(
        withCluster(toolKey('cert-manager'), usageKey('cert-manager')),
      );
      expect(status(rsp).tools).toContainEqual(
        expect.objectContaining({ name: 'cert-manager', phase: 'Installing', ready: false }),
      );
    },
  },
  {
    name: "a Ready Release gets its workloads read by Observe-only Objects through the environment's kubernetes provider config; the tool is Starting and its dependents wait",
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        ...upCluster(),
        [toolKey('cert-manager')]: ready(),
        [usageKey('cert-manager')]: exists('Usage'),
      }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual(
        withCluster(
          toolKey('cert-manager'),
          usageKey('cert-manager'),
          ...checkKeys('cert-manager'),
        ),
      );
      expect(checkKeys('cert-manager')).toEqual([
        'readiness-cert-manager-0',
        'readiness-cert-manager-1',
        'readiness-cert-manager-2',
      ]);
      const webhook = composed(rsp, readinessKey('cert-manager', 2));
      expect(webhook).toEqual({
        apiVersion: 'kubernetes.crossplane.io/v1alpha2',
        kind: 'Object',
        metadata: {
          name: expect.stringMatching(/^readiness-dev-x7k2p-cert-manager-2-[a-z2-7]{10}$/),
        },
        spec: {
          managementPolicies: ['Observe'],
          watch: true,
          forProvider: {
            manifest: {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              metadata: { name: 'cert-manager-webhook', namespace: 'cert-manager' },
            },
          },
          providerConfigRef: { name: nameOf(composed(rsp, KUBERNETES_PROVIDER_CONFIG_KEY)) },
        },
      });
      expect(rsp.desired!.resources[readinessKey('cert-manager', 2)]!.ready).toBe(
        Ready.READY_FALSE,
      );
      expect(rsp.desired!.resources[toolKey('cert-manager')]!.ready).toBe(Ready.READY_TRUE);
      expect(status(rsp).tools).toEqual([
        {
          name: 'cert-manager',
          version: 'v1.19.1',
          ready: false,
          phase: 'Starting',
          message: 'waiting for Deployment cert-manager/cert-manager: not read yet (and 2 more)',
        },
        {
          name: 'argo-cd',
          version: '9.1.0',
          dependsOn: ['cert-manager'],
          ready: false,
          phase: 'Waiting',
          message: 'waiting for cert-manager',
        },
      ]);
      expect(status(rsp).phase).toBe('InstallingTools');
      expect(rsp.results[0]!.message).toBe('starting cert-manager (0 of 2 tools ready)');
      expect(rsp.conditions[1]).toMatchObject({
        type: TOOLS_READY_CONDITION,
        status: Status.STATUS_CONDITION_FALSE,
        reason: 'Starting',
      });
      expect(rsp.desired?.composite?.ready).toBe(Ready.READY_FALSE);
    },
  },
  {
    name: 'a tool whose webhook is not available is Starting, naming it; its dependents wait, the rest install',
    req: () =>
      request(xEnvironment({ tools: [...twoTools.tools, { name: 'knative-operator' }] }), catalog, {
        ...upCluster(),
        ...serving('cert-manager', ['cert-manager-webhook']),
        [toolKey('knative-operator')]: installing(),
      }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).not.toContain(toolKey('argo-cd'));
      expect(status(rsp).tools).toEqual([
        expect.objectContaining({
          name: 'cert-manager',
          phase: 'Starting',
          message:
            'waiting for Deployment cert-manager/cert-manager-webhook: 0 of 1 replicas available',
        }),
        expect.objectContaining({
          name: 'argo-cd',
          phase: 'Waiting',
          message: 'waiting for cert-manager',
        }),
        expect.objectContaining({ name: 'knative-operator', phase: 'Installing' }),
      ]);
      expect(rsp.desired!.resources[readinessKey('cert-manager', 0)]!.ready).toBe(Ready.READY_TRUE);
      expect(rsp.desired!.resources[readinessKey('cert-manager', 2)]!.ready).toBe(
        Ready.READY_FALSE,
      );
      expect(rsp.results[0]!.message).toBe(
        'installing knative-operator; starting cert-manager (0 of 3 tools ready)',
      );
      expect(rsp.conditions[1]).toMatchObject({ reason: 'Installing' });
    },
  },
  {
    name: 'a workload that does not exist yet (the Observe-only Object reports an error) is starting, not failed',
    req: () =>
      request(
        xEnvironment({ tools: [{ name: 'knative-operator' }, { name: 'knative-serving' }] }),
        catalog,
        {
          ...upCluster(),
          ...serving('knative-operator'),
          ...serving('knative-serving'),
          [readinessKey('knative-serving', 1)]: missingWorkload(),
        },
      ),
    expect: (rsp) => {
      expect(status(rsp).phase).toBe('InstallingTools');
      expect(status(rsp).tools).toContainEqual({
        name: 'knative-serving',
        version: '2.0.0',
        dependsOn: ['knative-operator'],
        ready: false,
        phase: 'Starting',
        message: 'waiting for Deployment knative-serving/autoscaler: does not exist yet',
      });
      expect(rsp.results[0]).toMatchObject({
        severity: Severity.SEVERITY_NORMAL,
        message: 'starting knative-serving (1 of 2 tools ready)',
      });
    },
  },
  {
    name: 'a readiness Object that cannot read its workload fails the tool and the environment, naming the workload',
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        ...upCluster(),
        ...serving('cert-manager'),
        [readinessKey('cert-manager', 1)]: observedResource('Object', {
          syncedError:
            'observe failed: cannot get object: deployments.apps "cert-manager-cainjector" is forbidden',
        }),
      }),
    expect: (rsp) => {
      expect(status(rsp).phase).toBe('Failed');
      expect(status(rsp).tools).toContainEqual(
        expect.objectContaining({
          name: 'cert-manager',
          phase: 'Failed',
          message:
            'Deployment cert-manager/cert-manager-cainjector: observe failed: cannot get object: deployments.apps "cert-manager-cainjector" is forbidden',
        }),
      );
      expect(rsp.results[0]).toMatchObject({ severity: Severity.SEVERITY_WARNING });
      expect(composedKeys(rsp)).not.toContain(toolKey('argo-cd'));
    },
  },
  {
    name: 'a serving tool is Ready and lets its dependents in; a StatefulSet counts by its ready replicas',
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        ...upCluster(),
        ...serving('cert-manager'),
        ...serving('argo-cd', ['argo-cd-argocd-application-controller']),
      }),
    expect: (rsp) => {
      expect(status(rsp).tools).toEqual([
        { name: 'cert-manager', version: 'v1.19.1', ready: true, phase: 'Ready' },
        {
          name: 'argo-cd',
          version: '9.1.0',
          dependsOn: ['cert-manager'],
          ready: false,
          phase: 'Starting',
          message:
            'waiting for StatefulSet argocd/argo-cd-argocd-application-controller: 0 of 1 replicas ready',
        },
      ]);
      expect(rsp.results[0]!.message).toBe('starting argo-cd (1 of 2 tools ready)');
    },
  },
  {
    name: 'readiness Objects stay while their Release blips, and the tool is Installing again',
    req: () =>
      request(xEnvironment(twoTools), catalog, {
        ...upCluster(),
        ...serving('cert-manager'),
        [toolKey('cert-manager')]: installing(),
        [toolKey('argo-cd')]: ready(),
      }),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toEqual(expect.arrayContaining(checkKeys('cert-manager')));
      expect(status(rsp).tools).toContainEqual(
        expect.objectContaining({ name: 'cert-manager', phase: 'Installing' }),
      );
    },
  },
  {
    name: 'a Release Helm marked failed (its wait timed out) is Failed, though provider-helm calls it only unavailable',
    req: () =>
      withCertManager(
        observedResource('Release', {
          ready: false,
          reason: 'Unavailable',
          atProvider: {
            state: 'failed',
            revision: 1,
            releaseDescription: 'Release "cert-manager" failed: context deadline exceeded',
          },
        }),
      ),
    expect: (rsp) => {
      expect(status(rsp).tools).toContainEqual(
        expect.objectContaining({
          name: 'cert-manager',
          phase: 'Failed',
          message: 'Helm release failed: Release "cert-manager" failed: context deadline exceeded',
        }),
      );
      expect(status(rsp).phase).toBe('Failed');
    },
  },
  {
    name: 'a claim without a ttl expires after the catalogue default',
    req: () => request(xEnvironment({}), catalog),
    expect: (rsp) => expect(status(rsp).expiresAt).toBe('2026-11-26T09:00:00Z'),
  },
  {
    name: 'a claim without a ttl, where the catalogue sets only a maximum, expires after the maximum',
    req: () =>
      request(
        xEnvironment({}),
        catalogWith(({ root }) => (root.environments = { maxTTL: '2d' })),
      ),
    expect: (rsp) => expect(status(rsp).expiresAt).toBe('2026-11-27T09:00:00Z'),
  },
  {
    name: 'a claim without a ttl, where the catalogue sets no lifetimes, never expires',
    req: () =>
      request(
        xEnvironment({}),
        catalogWith(({ root }) => delete root.environments),
      ),
    expect: (rsp) => expect(status(rsp).expiresAt).toBeUndefined(),
  },
  {
    name: 'a ttl of exactly the catalogue maximum is taken',
    req: () => request(xEnvironment({ ttl: '29d24h' }), catalog),
    expect: (rsp) => expect(status(rsp).expiresAt).toBe('2026-12-25T09:00:00Z'),
  },
  {
    name: 'a failing tool fails the environment with a warning that names it',
    req: () =>
      withCertManager(
        observedResource('Release', {
          ready: false,
          syncedError: 'chart "cert-manager" version "v9" not found',
        }),
      ),
    expect: (rsp) => {
      expect(status(rsp).phase).toBe('Failed');
      expect(status(rsp).tools).toContainEqual(
        expect.objectContaining({
          name: 'cert-manager',
          phase: 'Failed',
          message: 'chart "cert-manager" version "v9" not found',
        }),
      );
      expect(rsp.results[0]).toMatchObject({
        severity: Severity.SEVERITY_WARNING,
        message:
          'failed: tool cert-manager: chart "cert-manager" version "v9" not found (0 of 2 tools ready)',
      });
      expect(rsp.conditions[1]).toMatchObject({ type: TOOLS_READY_CONDITION, reason: 'Failed' });
      // A failure may clear by itself: Crossplane is to look again soon.
      expect(rsp.meta?.ttl).toEqual(PROGRESSING_TTL);
    },
  },
  {
    name: 'a namespaced (Crossplane v2) XR gets namespaced managed resources, a kubeconfig Secret beside it, and reads workloads through its own provider config',
    req: () =>
      request(
        {
          ...xEnvironment(
            { tools: [{ name: 'cert-manager' }] },
            { namespace: 'team-a', name: 'dev' },
          ),
          apiVersion: 'v2.platform.xenvironment.io/v1alpha1',
          kind: 'Environment',
        },
        catalog,
        { ...upCluster(), [toolKey('cert-manager')]: ready() },
      ),
    expect: (rsp) => {
      for (const [key, { resource }] of Object.entries(rsp.desired!.resources)) {
        expect((resource!.metadata as Obj).namespace, key).toBe('team-a');
        expect(String(resource!.apiVersion), key).toMatch(
          /\.m\.crossplane\.io\/|^protection\.crossplane\.io\//,
        );
      }
      const cluster = composed(rsp, CLUSTER_KEY);
      const secret = (cluster.spec as { writeConnectionSecretToRef: { name: string } })
        .writeConnectionSecretToRef.name;
      expect(secret).toMatch(/^kubeconfig-team-a-dev-[a-z2-7]{10}$/);
      expect(cluster).toMatchObject({
        spec: {
          providerConfigRef: { kind: 'ClusterProviderConfig', name: 'default' },
          writeConnectionSecretToRef: { name: secret },
          forProvider: { namespace: expect.stringMatching(/^vcluster-team-a-dev-[a-z2-7]{10}$/) },
        },
      });
      expect(composed(rsp, HOST_NAMESPACE_KEY)).toMatchObject({
        apiVersion: 'kubernetes.m.crossplane.io/v1alpha1',
        spec: { providerConfigRef: { kind: 'ClusterProviderConfig', name: 'default' } },
      });
      expect(composed(rsp, toolKey('cert-manager'))).toMatchObject({
        spec: {
          providerConfigRef: {
            kind: 'ProviderConfig',
            name: nameOf(composed(rsp, HELM_PROVIDER_CONFIG_KEY)),
          },
        },
      });
      expect(composed(rsp, HELM_PROVIDER_CONFIG_KEY)).toMatchObject({
        spec: {
          credentials: { secretRef: { name: secret, namespace: 'team-a', key: 'kubeconfig' } },
        },
      });
      expect(status(rsp).cluster).toMatchObject({
        kubeconfigSecretRef: { name: secret, key: 'kubeconfig' },
      });
      expect(composed(rsp, readinessKey('cert-manager', 0))).toMatchObject({
        apiVersion: 'kubernetes.m.crossplane.io/v1alpha1',
        kind: 'Object',
        spec: {
          managementPolicies: ['Observe'],
          providerConfigRef: {
            kind: 'ProviderConfig',
            name: nameOf(composed(rsp, KUBERNETES_PROVIDER_CONFIG_KEY)),
          },
        },
      });
    },
  },
  {
    name: 'resources desired by an earlier pipeline step are kept',
    req: () =>
      request(
        xEnvironment({}),
        catalog,
        {},
        {
          'network-policy': { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } },
        },
      ),
    expect: (rsp) => {
      expect(composedKeys(rsp)).toContain('network-policy');
    },
  },
  {
    name: 'a catalogue chain of as many tools as it may hold renders',
    req: () => {
      const chain = Array.from({ length: 1024 }, (_, i) =>
        plainTool(`t${i}`, i > 0 ? { dependsOn: [`t${i - 1}`] } : {}),
      );
      return request(
        xEnvironment({ tools: chain.slice(0, 200).map(({ name }) => ({ name })) }),
        catalogWith(({ root }) => (root.tools = chain)),
        upCluster(),
      );
    },
    expect: (rsp) => {
      expect(composedKeys(rsp)).toContain(toolKey('t0'));
      expect(composedKeys(rsp)).not.toContain(toolKey('t1'));
    },
  },
];

describe('RunFunction composes', () => {
  it.each(cases)('$name', checkComposing);

  it('moves the expiry when spec.ttl is edited: creation time plus the ttl, on every call', async () => {
    const expiry = async (spec: Obj) =>
      status(await runFunction(request(xEnvironment(spec), catalog))).expiresAt;
    expect(await expiry({ ttl: '8h' })).toBe('2026-11-25T17:00:00Z');
    expect(await expiry({ ttl: '2d' })).toBe('2026-11-27T09:00:00Z');
    expect(await expiry({ ttl: '1h' })).toBe('2026-11-25T10:00:00Z');
    // Dropped: the catalogue's default again.
    expect(await expiry({})).toBe('2026-11-26T09:00:00Z');
  });
});
