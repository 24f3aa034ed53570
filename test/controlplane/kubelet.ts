/**
 * A stand-in for the kubelet of the environment's cluster: no node can run pods here, so what a
 * kubelet (through the deployment controller) reports of a Deployment whose pods run is written
 * into its status instead: observed at its generation, every replica updated, ready and
 * available, `Available` and `Progressing` as the controller sets them. Helm's wait (kstatus) and
 * the function's readiness checks read exactly that. A Deployment can be told to stop serving (its
 * pods crash), and to serve again.
 */
import { AppsV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Kube, Resource } from '../support/kube.js';

const POLL_MS = 250;

const key = (namespace: string, name: string) => `${namespace}/${name}`;

interface DeploymentStatus {
  observedGeneration?: number;
  availableReplicas?: number;
  conditions?: { type: string; status: string }[];
}

function desiredReplicas(deployment: Resource): number {
  return (deployment.spec as { replicas?: number }).replicas ?? 1;
}

function reported(deployment: Resource, serving: boolean): boolean {
  const status = (deployment.status ?? {}) as DeploymentStatus;
  const available = status.conditions?.find((c) => c.type === 'Available')?.status;
  if (status.observedGeneration !== deployment.metadata?.generation) return false;
  return serving
    ? available === 'True' && status.availableReplicas === desiredReplicas(deployment)
    : available === 'False';
}

function statusOf(deployment: Resource, serving: boolean): Record<string, unknown> {
  const replicas = desiredReplicas(deployment);
  const now = new Date().toISOString();
  const condition = (type: string, status: string, reason: string) => ({
    type,
    status,
    reason,
    message: `played by the e2e's kubelet stand-in`,
    lastUpdateTime: now,
    lastTransitionTime: now,
  });
  return {
    observedGeneration: deployment.metadata!.generation,
    replicas,
    updatedReplicas: replicas,
    readyReplicas: serving ? replicas : 0,
    availableReplicas: serving ? replicas : 0,
    unavailableReplicas: serving ? 0 : replicas,
    conditions: [
      serving
        ? condition('Available', 'True', 'MinimumReplicasAvailable')
        : condition('Available', 'False', 'MinimumReplicasUnavailable'),
      condition('Progressing', 'True', 'NewReplicaSetAvailable'),
    ],
  };
}

export class KubeletStandIn {
  /** When each Deployment (`namespace/name`) was first reported available. */
  readonly firstAvailable = new Map<string, number>();
  private readonly stopped = new Set<string>();
  private readonly apps: AppsV1Api;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(private readonly kube: Kube) {
    this.apps = kube.config.makeApiClient(AppsV1Api);
  }

  start(): void {
    this.timer = setInterval(() => {
      // A failed poll (an API server blip) is simply tried again at the next tick.
      this.polling ??= this.poll()
        .catch(() => undefined)
        .finally(() => (this.polling = undefined));
    }, POLL_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.polling;
  }

  /** Its pods stop being ready, until `serve`. */
  stopServing(namespace: string, name: string): void {
    this.stopped.add(key(namespace, name));
  }

  serve(namespace: string, name: string): void {
    this.stopped.delete(key(namespace, name));
  }

  private async poll(): Promise<void> {
    for (const deployment of await this.kube.list('apps/v1', 'Deployment')) {
      const { namespace, name } = deployment.metadata as { namespace: string; name: string };
      const serving = !this.stopped.has(key(namespace, name));
      if (reported(deployment, serving)) continue;
      await this.apps.patchNamespacedDeploymentStatus(
        { name, namespace, body: { status: statusOf(deployment, serving) } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      if (serving && !this.firstAvailable.has(key(namespace, name))) {
        this.firstAvailable.set(key(namespace, name), Date.now());
      }
    }
  }
}
