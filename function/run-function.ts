import {
  Ready,
  Severity,
  Status,
  Target,
  to,
  type Result,
  type RunFunctionRequest,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import type { Logger } from 'pino';
import type { ObservedResource } from '../common/health.js';
import { isObject } from '../common/objects.js';
import type { BackendRegistry } from './backends/backend.js';
import { clusterBackends } from './backends/index.js';
import { parseCatalog } from './input/catalog.js';
import { compose, type Observed } from './compose/compose.js';
import { parseEnvironment } from './input/environment.js';
import { internalErrorResponse, invalidInputResponse } from './server/fatal.js';
import { KUBECONFIG_KEY } from './compose/placement.js';
import { report } from './compose/status.js';
import { FieldError } from './input/untrusted-input.js';

export interface RunOptions {
  logger?: Logger;
  /** The cluster backends catalogues may offer; the shipped ones by default. */
  backends?: BackendRegistry;
}

/**
 * How soon Crossplane is to call again while the environment is not Ready. Crossplane 2.2 stops
 * polling XRs under realtime compositions, and its watch circuit breaker can drop the event of
 * the last tool becoming Ready: the XR then catches up only when the response's TTL runs out, by
 * default after 60 s. Once the environment is Ready, the default.
 */
const PROGRESSING_TTL = { seconds: 10, nanos: 0 };

/**
 * Reads the catalogue and the XR, composes the environment and answers with the whole desired
 * state. Every check is in reading: input at fault is a Fatal `InvalidInput` naming the field,
 * anything else a Fatal `InternalError`. On a Fatal result Crossplane applies nothing, so a bad
 * request never deletes what was composed before.
 */
export async function runFunction(
  req: RunFunctionRequest,
  { logger, backends = clusterBackends }: RunOptions = {},
): Promise<RunFunctionResponse> {
  try {
    return compositionResponse(req, backends);
  } catch (error) {
    return error instanceof FieldError
      ? invalidInputResponse(req, error, logger)
      : internalErrorResponse(req, 'RunFunction failed', error, logger);
  }
}

function compositionResponse(
  req: RunFunctionRequest,
  backends: BackendRegistry,
): RunFunctionResponse {
  const catalog = parseCatalog(req.input, backends);
  const observedXr = req.observed?.composite?.resource;
  const environment = parseEnvironment(observedXr, catalog, backends);
  const composed = compose(environment, catalog, observedResources(req));
  const summary = report(environment, composed);
  const environmentReady = summary.status.phase === 'Ready';

  const rsp = environmentReady ? to(req) : to(req, PROGRESSING_TTL);
  // Assigned, not merged: the SDK's setters deep-merge and concatenate lists.
  const desired = { ...(req.desired?.resources ?? {}) };
  for (const [key, { resource, ready }] of composed.resources) {
    desired[key] = {
      resource,
      connectionDetails: {},
      ready: ready ? Ready.READY_TRUE : Ready.READY_FALSE,
    };
  }
  const previousComposite = req.desired?.composite;
  const previousStatus = previousComposite?.resource?.status;
  rsp.desired = {
    composite: {
      resource: {
        apiVersion: environment.composite.apiVersion,
        kind: environment.composite.kind,
        status: { ...(isObject(previousStatus) ? previousStatus : {}), ...summary.status },
      },
      connectionDetails: {
        ...(previousComposite?.connectionDetails ?? {}),
        ...(composed.kubeconfig ? { [KUBECONFIG_KEY]: composed.kubeconfig } : {}),
      },
      ready: environmentReady ? Ready.READY_TRUE : Ready.READY_FALSE,
    },
    resources: desired,
  };
  rsp.conditions = summary.conditions.map((condition) => ({
    type: condition.type,
    status: condition.ready ? Status.STATUS_CONDITION_TRUE : Status.STATUS_CONDITION_FALSE,
    reason: condition.reason,
    message: condition.message,
    target: Target.TARGET_COMPOSITE_AND_CLAIM,
  }));
  rsp.results = [
    result(
      summary.message.warning ? Severity.SEVERITY_WARNING : Severity.SEVERITY_NORMAL,
      summary.message.text,
    ),
    ...summary.notes.map((note) => result(Severity.SEVERITY_NORMAL, note)),
  ];
  return rsp;
}

/**
 * Keyed in a Map: a key such as `__proto__` must stay a key. A resource observed without a body
 * still exists, so it is kept as one that says nothing of its health.
 */
function observedResources(req: RunFunctionRequest): Observed {
  const observed = new Map<string, ObservedResource>();
  for (const [key, value] of Object.entries(req.observed?.resources ?? {})) {
    observed.set(key, {
      resource: isObject(value?.resource) ? value.resource : {},
      connectionDetails: value?.connectionDetails ?? {},
    });
  }
  return observed;
}

function result(severity: Severity, message: string): Result {
  return { severity, message, reason: 'Composed', target: Target.TARGET_COMPOSITE_AND_CLAIM };
}
