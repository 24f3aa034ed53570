import {
  CLUSTER_READY_CONDITION,
  TOOLS_READY_CONDITION,
  type ClusterStatus,
  type ConditionType,
  type EnvironmentStatus,
  type Phase,
  type ToolPhase,
  type ToolStatus,
} from '../../common/contract.js';
import type { Composed } from './compose.js';
import type { Environment } from '../input/model.js';

export interface ConditionReport {
  type: ConditionType;
  ready: boolean;
  reason: string;
  message: string;
}

export interface Report {
  status: EnvironmentStatus;
  conditions: ConditionReport[];
  /** What a developer reads on the claim; `warning` for failures. */
  message: { text: string; warning: boolean };
  /** Each a sentence of its own, such as a tool being removed. */
  notes: string[];
}

/** Turns what was composed into the XR's status, its conditions and a one-line summary. */
export function report(environment: Environment, composed: Composed): Report {
  const { cluster, tools } = composed;
  const readyTools = tools.filter((tool) => tool.ready).length;
  const failedTools = tools.filter((tool) => tool.phase === 'Failed');
  const progress = `${readyTools} of ${tools.length} tools ready`;

  let phase: Phase;
  let text: string;
  if (cluster.health.state === 'failed' || failedTools.length > 0) {
    phase = 'Failed';
    const failures = failedTools.map((tool) => `tool ${tool.name}: ${tool.message}`);
    if (cluster.health.state === 'failed') failures.unshift(`cluster: ${cluster.health.message}`);
    text = `failed: ${failures.join('; ')} (${progress})`;
  } else if (cluster.health.state === 'absent') {
    phase = 'Pending';
    text = `creating the ${environment.backend} cluster (${progress})`;
  } else if (cluster.health.state === 'progressing') {
    phase = 'ProvisioningCluster';
    text = `provisioning the ${environment.backend} cluster (${progress})`;
  } else if (readyTools < tools.length) {
    phase = 'InstallingTools';
    const named = (phase: ToolPhase) =>
      tools.filter((tool) => tool.phase === phase).map((tool) => tool.name);
    const installing = named('Installing');
    const starting = named('Starting');
    const doing = [
      ...(installing.length > 0 ? [`installing ${installing.join(', ')}`] : []),
      ...(starting.length > 0 ? [`starting ${starting.join(', ')}`] : []),
    ];
    text = `${doing.join('; ') || 'installing tools'} (${progress})`;
  } else {
    phase = 'Ready';
    text = `environment ready (${progress})`;
  }

  const clusterStatus: ClusterStatus = {
    backend: environment.backend,
    ready: cluster.health.state === 'ready',
    endpoint: cluster.endpoint,
  };
  if (cluster.kubernetesVersion) clusterStatus.kubernetesVersion = cluster.kubernetesVersion;
  if (composed.placement.namespaced) {
    clusterStatus.kubeconfigSecretRef = {
      name: composed.placement.kubeconfigSecret.name,
      key: composed.placement.kubeconfigSecret.key,
    };
  }
  const status: EnvironmentStatus = { phase, cluster: clusterStatus, tools };
  if (environment.expiresAt) status.expiresAt = environment.expiresAt;

  return {
    status,
    conditions: [clusterCondition(composed), toolsCondition(tools, progress)],
    message: { text, warning: phase === 'Failed' },
    notes: composed.removedTools.map((name) => `removing tool ${name}: no longer requested`),
  };
}

function clusterCondition({ cluster }: Composed): ConditionReport {
  switch (cluster.health.state) {
    case 'ready':
      return {
        type: CLUSTER_READY_CONDITION,
        ready: true,
        reason: 'Available',
        message: cluster.endpoint,
      };
    case 'failed':
      return {
        type: CLUSTER_READY_CONDITION,
        ready: false,
        reason: 'Failed',
        message: cluster.health.message,
      };
    case 'absent':
      return {
        type: CLUSTER_READY_CONDITION,
        ready: false,
        reason: 'Creating',
        message: 'not created yet',
      };
    case 'progressing':
      return {
        type: CLUSTER_READY_CONDITION,
        ready: false,
        reason: 'Creating',
        message: cluster.health.message ?? 'provisioning',
      };
  }
}

function toolsCondition(tools: ToolStatus[], progress: string): ConditionReport {
  if (tools.some((tool) => tool.phase === 'Failed')) {
    return { type: TOOLS_READY_CONDITION, ready: false, reason: 'Failed', message: progress };
  }
  if (tools.every((tool) => tool.ready)) {
    return { type: TOOLS_READY_CONDITION, ready: true, reason: 'Available', message: progress };
  }
  // What is under way: a tool installing, else one starting; else the tools not ready all wait.
  const reason = (['Installing', 'Starting'] as const).find((phase) =>
    tools.some((tool) => tool.phase === phase),
  );
  return {
    type: TOOLS_READY_CONDITION,
    ready: false,
    reason: reason ?? 'Waiting',
    message: progress,
  };
}
