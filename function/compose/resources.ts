import { EXTERNAL_NAME_ANNOTATION } from '../../common/contract.js';
import type { JsonObject } from '../../common/objects.js';
import type { Chart, Placement } from '../input/model.js';

/** A provider config reference; `kind` matters only to namespaced (`.m.`) managed resources. */
export interface ProviderConfigRef {
  name: string;
  kind: 'ProviderConfig' | 'ClusterProviderConfig';
}

export interface ReleaseOptions {
  name: string;
  /** The Helm release name; defaults to the object's name. */
  releaseName?: string;
  chart: Chart;
  namespace: string;
  values: JsonObject;
  providerConfig: ProviderConfigRef;
  /** Values copied from objects the chart creates into the release's connection secret. */
  connectionDetails?: JsonObject[];
  writeConnectionSecret?: boolean;
  /** The namespace is composed on its own, so Helm must not create it. */
  skipCreateNamespace?: boolean;
  /**
   * Helm waits, up to this long ("5m"), for the release's resources to be ready before it reports
   * the release deployed, and so before provider-helm marks the Release Ready.
   */
  waitTimeout?: string;
}

function metadata(placement: Placement, name: string, annotations?: Record<string, string>) {
  return {
    name,
    ...(placement.namespace ? { namespace: placement.namespace } : {}),
    ...(annotations ? { annotations } : {}),
  };
}

function providerConfigRef(placement: Placement, ref: ProviderConfigRef): JsonObject {
  return placement.namespaced ? { kind: ref.kind, name: ref.name } : { name: ref.name };
}

/** A provider-helm Release. */
export function helmRelease(placement: Placement, options: ReleaseOptions): JsonObject {
  const forProvider: JsonObject = {
    chart: { ...options.chart },
    namespace: options.namespace,
    values: options.values,
  };
  if (options.skipCreateNamespace) forProvider.skipCreateNamespace = true;
  if (options.waitTimeout !== undefined) {
    forProvider.wait = true;
    forProvider.waitTimeout = options.waitTimeout;
  }
  const spec: JsonObject = {
    forProvider,
    providerConfigRef: providerConfigRef(placement, options.providerConfig),
  };
  if (options.connectionDetails) spec.connectionDetails = options.connectionDetails;
  if (options.writeConnectionSecret) {
    const secret = placement.kubeconfigSecret;
    spec.writeConnectionSecretToRef = placement.namespaced
      ? { name: secret.name }
      : { name: secret.name, namespace: secret.namespace };
  }
  return {
    apiVersion: placement.helmApiVersion,
    kind: 'Release',
    metadata: metadata(
      placement,
      options.name,
      options.releaseName ? { [EXTERNAL_NAME_ANNOTATION]: options.releaseName } : undefined,
    ),
    spec,
  };
}

/** A provider config that reaches the new cluster through its kubeconfig Secret. */
export function providerConfig(placement: Placement, apiVersion: string, name: string): JsonObject {
  return {
    apiVersion,
    kind: 'ProviderConfig',
    metadata: metadata(placement, name),
    spec: {
      credentials: { source: 'Secret', secretRef: { ...placement.kubeconfigSecret } },
    },
  };
}

/**
 * A provider-kubernetes Object: `manifest` applied through `providerConfig`; or, `observeOnly`,
 * the object of that name read into `status.atProvider.manifest`, never created, changed or
 * deleted.
 */
export function kubernetesObject(
  placement: Placement,
  name: string,
  manifest: JsonObject,
  providerConfig: ProviderConfigRef,
  { observeOnly = false } = {},
): JsonObject {
  const spec: JsonObject = {
    forProvider: { manifest },
    providerConfigRef: providerConfigRef(placement, providerConfig),
  };
  if (observeOnly) {
    spec.managementPolicies = ['Observe'];
    // Read again whenever the object changes, where provider-kubernetes runs with
    // --enable-watches; otherwise at its poll interval.
    spec.watch = true;
  }
  return {
    apiVersion: placement.kubernetesObjectApiVersion,
    kind: 'Object',
    metadata: metadata(placement, name),
    spec,
  };
}

export interface Ref {
  apiVersion: string;
  kind: string;
  name: string;
}

/** A Usage that keeps `of` from being deleted while `by` exists: tools go before their cluster. */
export function usage(placement: Placement, name: string, of: Ref, by: Ref): JsonObject {
  const ref = (r: Ref) => ({
    apiVersion: r.apiVersion,
    kind: r.kind,
    resourceRef: { name: r.name },
  });
  return {
    apiVersion: placement.usageApiVersion,
    kind: 'Usage',
    metadata: metadata(placement, name),
    spec: { of: ref(of), by: ref(by), replayDeletion: true },
  };
}

export function refTo(resource: JsonObject): Ref {
  const meta = resource.metadata as { name: string };
  return { apiVersion: String(resource.apiVersion), kind: String(resource.kind), name: meta.name };
}
