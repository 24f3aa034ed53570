import { HOST_NAMESPACE_KEY } from '../../common/contract.js';
import type { JsonObject } from '../../common/objects.js';
import { parseChart } from '../input/chart.js';
import { limits } from '../input/limits.js';
import type { Chart } from '../input/model.js';
import { KUBECONFIG_KEY } from '../compose/placement.js';
import { helmRelease, kubernetesObject } from '../compose/resources.js';
import {
  FieldError,
  KUBERNETES_VERSION,
  fieldPath,
  quote,
  read,
} from '../input/untrusted-input.js';
import { mergeValues, readValues } from '../input/values.js';
import type { ClusterBackend } from './backend.js';

export interface VclusterSettings {
  chart: Chart;
  values: JsonObject;
  /** provider-helm config of the host cluster. */
  hostProviderConfigName: string;
  /** provider-kubernetes config of the host cluster, which makes the host namespace. */
  hostKubernetesProviderConfigName: string;
  defaultKubernetesVersion?: string;
  /** Chart values per Kubernetes minor version, e.g. the control-plane image tag. */
  kubernetesVersions: Map<string, JsonObject>;
}

/** The vcluster Helm release name, unique because every environment has its own host namespace. */
const RELEASE_NAME = 'vcluster';

/**
 * A vcluster installed by provider-helm into a host namespace of its own, which provider-kubernetes
 * makes first: provider-helm would create it too, but never delete it.
 */
export const vcluster: ClusterBackend<VclusterSettings> = {
  parseSettings(raw, field) {
    const settings = read.object(raw, field);
    const versionsField = `${field}.kubernetesVersions`;
    const versions = read.optionalObject(settings.kubernetesVersions, versionsField);
    const offered = Object.keys(versions);
    if (offered.length > limits.kubernetesVersions) {
      throw new FieldError(
        versionsField,
        `${offered.length} versions; at most ${limits.kubernetesVersions}`,
      );
    }
    const kubernetesVersions = new Map<string, JsonObject>();
    for (const version of offered) {
      const versionField = fieldPath(versionsField, version);
      if (!KUBERNETES_VERSION.test(version)) {
        throw new FieldError(versionField, 'is not a Kubernetes minor version such as "1.33"');
      }
      kubernetesVersions.set(version, readValues(versions[version], versionField));
    }
    const providerConfigName = (key: string) =>
      read.optionalString(settings[key], `${field}.${key}`) ?? 'default';
    const parsed: VclusterSettings = {
      chart: parseChart(settings.chart, `${field}.chart`),
      values: readValues(settings.values, `${field}.values`),
      hostProviderConfigName: providerConfigName('hostProviderConfigName'),
      hostKubernetesProviderConfigName: providerConfigName('hostKubernetesProviderConfigName'),
      kubernetesVersions,
    };
    const defaultVersion = read.optionalString(
      settings.defaultKubernetesVersion,
      `${field}.defaultKubernetesVersion`,
    );
    if (defaultVersion !== undefined) {
      if (!kubernetesVersions.has(defaultVersion)) {
        throw new FieldError(
          `${field}.defaultKubernetesVersion`,
          `${quote(defaultVersion)} is not one of ${versionsField}`,
        );
      }
      parsed.defaultKubernetesVersion = defaultVersion;
    }
    return parsed;
  },

  validate(environment, settings) {
    const version = environment.kubernetesVersion;
    if (version !== undefined && !settings.kubernetesVersions.has(version)) {
      throw new FieldError(
        'spec.cluster.kubernetesVersion',
        `${quote(version)} is not offered (offered: ${[...settings.kubernetesVersions.keys()].join(', ') || 'none'})`,
      );
    }
  },

  render(environment, settings, placement) {
    const hostNamespace = placement.name('vcluster');
    const service = `${RELEASE_NAME}.${hostNamespace}.svc`;
    const endpoint = `https://${service}:443`;
    // Offered: `validate` checked the claim's, and parsing the catalogue its default.
    const version = environment.kubernetesVersion ?? settings.defaultKubernetesVersion;
    const versionValues =
      version === undefined ? undefined : settings.kubernetesVersions.get(version);
    // Applied last so that user values cannot break how providers reach the cluster.
    const wiring: JsonObject = {
      exportKubeConfig: { server: endpoint },
      controlPlane: { proxy: { extraSANs: [service] } },
    };
    const resource = helmRelease(placement, {
      name: placement.name('cluster'),
      releaseName: RELEASE_NAME,
      chart: settings.chart,
      namespace: hostNamespace,
      skipCreateNamespace: true,
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
    const namespace = kubernetesObject(
      placement,
      hostNamespace,
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: hostNamespace } },
      { name: settings.hostKubernetesProviderConfigName, kind: 'ClusterProviderConfig' },
    );
    return {
      resource,
      endpoint,
      ...(version === undefined ? {} : { kubernetesVersion: version }),
      prerequisite: {
        key: HOST_NAMESPACE_KEY,
        description: `the host namespace ${hostNamespace}`,
        resource: namespace,
      },
    };
  },
};
