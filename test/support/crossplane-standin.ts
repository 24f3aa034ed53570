/**
 * A stand-in for Crossplane core's XR reconciler, until the end-to-end test runs the real one
 * (built by test/tools/install.sh). It does, against a real API server with the real provider and
 * Usage CRDs (test/support/crds.ts), the parts the bridge depends on: the XR CRD from the XRD, one
 * pass of the function pipeline per call (observed → RunFunction over mTLS → apply desired, delete
 * the rest, write status and the connection secret), Synced=False on a Fatal result. The tests play
 * the providers by patching composed resources' status.
 */
import {
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import {
  Ready,
  RunFunctionRequest,
  Severity,
  Status,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import type { FunctionClient } from './function-server.js';

type Obj = Record<string, unknown>;
const COMPOSITE_LABEL = 'crossplane.io/composite';
const RESOURCE_NAME = 'crossplane.io/composition-resource-name';
const FIELD_MANAGER = 'apiextensions.crossplane.io/composed';
const CROSSPLANE_FINALIZER = 'composite.apiextensions.crossplane.io';

const preserve = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };

/** The CRD Crossplane derives from a v1 XRD: the XRD's schema plus the fields Crossplane owns. */
export function compositeCrd(xrd: Obj): Obj {
  const spec = xrd.spec as {
    group: string;
    names: { kind: string; plural: string };
    versions: { name: string; schema: { openAPIV3Schema: Obj } }[];
  };
  const versions = spec.versions.map((version, index) => {
    const schema = structuredClone(version.schema.openAPIV3Schema) as {
      properties: { spec: { properties: Obj }; status: { properties: Obj } };
    };
    Object.assign(schema.properties.spec.properties, {
      claimRef: preserve,
      compositionRef: preserve,
      compositionSelector: preserve,
      compositionRevisionRef: preserve,
      compositionUpdatePolicy: { type: 'string' },
      writeConnectionSecretToRef: preserve,
      resourceRefs: { type: 'array', items: preserve },
    });
    Object.assign(schema.properties.status.properties, {
      conditions: { type: 'array', items: preserve },
    });
    return {
      name: version.name,
      served: true,
      storage: index === 0,
      subresources: { status: {} },
      schema: { openAPIV3Schema: schema },
    };
  });
  return crd(spec.group, spec.names.kind, spec.names.plural, 'Cluster', versions);
}

function crd(group: string, kind: string, plural: string, scope: string, versions: Obj[]): Obj {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      scope,
      versions,
    },
  };
}

/** Composed kinds the function renders for a cluster-scoped XR. */
const COMPOSED_KINDS = [
  ['helm.crossplane.io/v1beta1', 'Release'],
  ['helm.crossplane.io/v1beta1', 'ProviderConfig'],
  ['kubernetes.crossplane.io/v1alpha1', 'ProviderConfig'],
  ['apiextensions.crossplane.io/v1beta1', 'Usage'],
  ['kubernetes.crossplane.io/v1alpha2', 'Object'],
] as const;

export class CrossplaneStandIn {
  readonly objects: KubernetesObjectApi;
  private readonly custom: CustomObjectsApi;

  constructor(
    kubeConfig: KubeConfig,
    private readonly fn: FunctionClient,
    private readonly input: Obj,
    private readonly xrType = {
      group: 'platform.xenvironment.io',
      version: 'v1alpha1',
      plural: 'xenvironments',
    },
  ) {
    this.objects = KubernetesObjectApi.makeApiClient(kubeConfig);
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async composed(xrName: string): Promise<KubernetesObject[]> {
    const lists = await Promise.all(
      COMPOSED_KINDS.map(([apiVersion, kind]) =>
        this.objects.list(
          apiVersion,
          kind,
          undefined,
          undefined,
          undefined,
          undefined,
          undefined,
          `${COMPOSITE_LABEL}=${xrName}`,
        ),
      ),
    );
    return lists.flatMap((list) => list.items);
  }

  async readXr(name: string): Promise<Obj> {
    return (await this.custom.getClusterCustomObject({ ...this.xrType, name })) as Obj;
  }

  /** One reconcile of the XR, as Crossplane would run it; returns the function's response. */
  async reconcile(name: string): Promise<RunFunctionResponse | undefined> {
    const xr = await this.readXr(name);
    const metadata = xr.metadata as { deletionTimestamp?: string; finalizers?: string[] };
    const composed = await this.composed(name);
    if (metadata.deletionTimestamp) {
      // Crossplane deletes what it composed, then lets the XR go (the bridge's finalizer may hold it).
      await Promise.all(
        composed.map((object) => this.objects.delete(object).catch(() => undefined)),
      );
      await this.setFinalizer(name, false);
      return undefined;
    }
    await this.setFinalizer(name, true);

    const observed: Record<
      string,
      { resource: Obj; connectionDetails: Record<string, Buffer>; ready: Ready }
    > = {};
    for (const object of composed) {
      const key = object.metadata?.annotations?.[RESOURCE_NAME];
      if (!key) continue;
      observed[key] = {
        resource: object as unknown as Obj,
        connectionDetails: await this.connectionDetails(object as unknown as Obj),
        ready: Ready.READY_UNSPECIFIED,
      };
    }
    const rsp = await this.fn.call(
      RunFunctionRequest.fromPartial({
        meta: { tag: `${name}/${String((xr.metadata as Obj).resourceVersion)}` },
        observed: {
          composite: { resource: xr, connectionDetails: {}, ready: Ready.READY_UNSPECIFIED },
          resources: observed,
        },
        desired: { resources: {} },
        input: this.input,
      }),
    );
    const fatal = rsp.results.find((result) => result.severity === Severity.SEVERITY_FATAL);
    if (fatal) {
      await this.patchStatus(name, {
        conditions: [
          condition('Synced', false, 'ReconcileError', {
            message: `cannot compose resources: pipeline step "render-environment" returned a fatal result: ${fatal.message}`,
          }),
        ],
      });
      return rsp;
    }

    const desired = rsp.desired?.resources ?? {};
    for (const [key, { resource }] of Object.entries(desired)) {
      const object = structuredClone(resource) as unknown as KubernetesObject;
      object.metadata = {
        ...object.metadata,
        labels: { ...object.metadata?.labels, [COMPOSITE_LABEL]: name },
        annotations: { ...object.metadata?.annotations, [RESOURCE_NAME]: key },
      };
      await this.objects.patch(
        object,
        undefined,
        undefined,
        FIELD_MANAGER,
        true,
        PatchStrategy.ServerSideApply,
      );
    }
    for (const object of composed) {
      const key = object.metadata?.annotations?.[RESOURCE_NAME];
      if (key && !desired[key]) await this.objects.delete(object).catch(() => undefined);
    }

    const composite = rsp.desired?.composite;
    const secretRef = (
      xr.spec as { writeConnectionSecretToRef?: { name: string; namespace: string } }
    ).writeConnectionSecretToRef;
    const details = composite?.connectionDetails ?? {};
    if (secretRef && Object.keys(details).length > 0) {
      await this.objects.patch(
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: secretRef.name, namespace: secretRef.namespace },
          data: Object.fromEntries(
            Object.entries(details).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
          ),
        } as KubernetesObject,
        undefined,
        undefined,
        FIELD_MANAGER,
        true,
        PatchStrategy.ServerSideApply,
      );
    }
    const ready = composite?.ready === Ready.READY_TRUE;
    await this.patchStatus(name, {
      ...((composite?.resource?.status as Obj | undefined) ?? {}),
      conditions: [
        condition('Synced', true, 'ReconcileSuccess'),
        condition('Ready', ready, ready ? 'Available' : 'Creating'),
        ...rsp.conditions.map((c) =>
          condition(c.type, c.status === Status.STATUS_CONDITION_TRUE, c.reason, {
            ...(c.message ? { message: c.message } : {}),
          }),
        ),
      ],
    });
    return rsp;
  }

  /** What the Release's connection secret holds, as Crossplane passes it to functions. */
  private async connectionDetails(object: Obj): Promise<Record<string, Buffer>> {
    const ref = (
      object.spec as
        { writeConnectionSecretToRef?: { name: string; namespace: string } } | undefined
    )?.writeConnectionSecretToRef;
    if (!ref) return {};
    try {
      const secret = (await this.objects.read({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: ref.name, namespace: ref.namespace },
      })) as KubernetesObject & { data?: Record<string, string> };
      return Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
      );
    } catch {
      return {};
    }
  }

  /** Crossplane's own finalizer, held while it has composed resources to delete. */
  private async setFinalizer(name: string, present: boolean): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const xr = await this.readXr(name);
      const metadata = xr.metadata as { finalizers?: string[]; resourceVersion: string };
      const finalizers = metadata.finalizers ?? [];
      if (finalizers.includes(CROSSPLANE_FINALIZER) === present) return;
      const wanted = present
        ? [...finalizers, CROSSPLANE_FINALIZER]
        : finalizers.filter((f) => f !== CROSSPLANE_FINALIZER);
      try {
        // Guarded by resourceVersion, as the bridge changes finalizers too.
        await this.custom.patchClusterCustomObject(
          {
            ...this.xrType,
            name,
            body: { metadata: { finalizers: wanted, resourceVersion: metadata.resourceVersion } },
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        return;
      } catch (error) {
        if ((error as { code?: number }).code !== 409 || attempt >= 5) throw error;
      }
    }
  }

  async patchStatus(name: string, status: Obj): Promise<void> {
    await this.custom.patchClusterCustomObjectStatus(
      { ...this.xrType, name, body: { status } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }
}

/** A Crossplane status condition, stamped now; `observedGeneration` as providers set it. */
export function condition(
  type: string,
  ok: boolean,
  reason: string,
  extra: { message?: string; observedGeneration?: number } = {},
): Obj {
  return {
    type,
    status: ok ? 'True' : 'False',
    reason,
    lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...(extra.message ? { message: extra.message } : {}),
    ...(extra.observedGeneration !== undefined
      ? { observedGeneration: extra.observedGeneration }
      : {}),
  };
}
