import { FieldError, read, isObject, type JsonObject } from '../field-error.js';
import { parseChart, type Chart } from '../catalog.js';
import { boundedName } from '../names.js';
import { helmRelease } from '../resources.js';
import { mergeValues } from '../values.js';
import { KUBECONFIG_KEY } from '../placement.js';
import type { ClusterBackend } from './backend.js';

export interface VclusterSettings {
  chart: Chart;
  values: JsonObject;
  hostProviderConfigName: string;
  defaultKubernetesVersion?: string;
  /** Chart values per Kubernetes minor version, e.g. the control-plane image tag. */
  kubernetesVersions: Record<string, JsonObject>;
}

/** The vcluster Helm release name, unique because every environment has its own host namespace. */
const RELEASE_NAME = 'vcluster';

/** A vcluster installed by provider-helm into a host namespace of its own. */
export const vcluster: ClusterBackend<VclusterSettings> = {
  parseSettings(raw, field) {
    const settings = read.object(raw, field);
    const versions = read.optionalObject(
      settings.kubernetesVersions,
      `${field}.kubernetesVersions`,
    );
    const kubernetesVersions: Record<string, JsonObject> = {};
    for (const [version, values] of Object.entries(versions)) {
      kubernetesVersions[version] = read.object(values, `${field}.kubernetesVersions.${version}`);
    }
    const parsed: VclusterSettings = {
      chart: parseChart(settings.chart, `${field}.chart`),
      values: read.optionalObject(settings.values, `${field}.values`),
      hostProviderConfigName:
        read.optionalString(settings.hostProviderConfigName, `${field}.hostProviderConfigName`) ??
        'default',
      kubernetesVersions,
    };
    const defaultVersion = read.optionalString(
      settings.defaultKubernetesVersion,
      `${field}.defaultKubernetesVersion`,
    );
    if (defaultVersion !== undefined) {
      if (!kubernetesVersions[defaultVersion]) {
        throw new FieldError(
          `${field}.defaultKubernetesVersion`,
          `${JSON.stringify(defaultVersion)} is not one of ${field}.kubernetesVersions`,
        );
      }
      parsed.defaultKubernetesVersion = defaultVersion;
    }
    return parsed;
  },

  render(environment, settings, placement) {
    const { composite } = environment;
    const hostNamespace = boundedName(['vcluster', composite.namespace ?? '', composite.name]);
    const service = `${RELEASE_NAME}.${hostNamespace}.svc`;
    const endpoint = `https://${service}:443`;
    const version = environment.kubernetesVersion ?? settings.defaultKubernetesVersion;
    let versionValues: JsonObject = {};
    if (version !== undefined) {
      const offered = settings.kubernetesVersions[version];
      if (!isObject(offered)) {
        throw new FieldError(
          'spec.cluster.kubernetesVersion',
          `${JSON.stringify(version)} is not offered (offered: ${Object.keys(settings.kubernetesVersions).join(', ') || 'none'})`,
        );
      }
      versionValues = offered;
    }
    // Applied last so that user values cannot break how providers reach the cluster.
    const wiring: JsonObject = {
      exportKubeConfig: { server: endpoint },
      controlPlane: { proxy: { extraSANs: [service] } },
    };
    const resource = helmRelease(placement, {
      name: boundedName([placement.prefix, 'cluster']),
      releaseName: RELEASE_NAME,
      chart: settings.chart,
      namespace: hostNamespace,
      values: mergeValues(settings.values, versionValues, environment.clusterValues, wiring),
      providerConfig: { name: settings.hostProviderConfigName, kind: 'ClusterProviderConfig' },
      connectionDetails: [
        {
          apiVersion: 'v1',
          kind: 'Secret',
          name: `vc-${RELEASE_NAME}`,
          namespace: hostNamespace,
          fieldPath: 'data.config',
          toConnectionSecretKey: KUBECONFIG_KEY,
          skipPartOfReleaseCheck: true,
        },
      ],
      writeConnectionSecret: true,
    });
    return version === undefined
      ? { resource, endpoint }
      : { resource, endpoint, kubernetesVersion: version };
  },
};
