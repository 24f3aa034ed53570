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
import { FieldError, isObject } from './field-error.js';
import { parseCatalog } from './catalog.js';
import { parseEnvironment } from './environment.js';
import { compose, type Observed } from './compose.js';
import { report } from './status.js';
import type { ObservedResource } from '../common/health.js';

/**
 * Reads the catalogue and the XR, composes the environment and answers with the whole desired
 * state. Any error becomes a Fatal result, on which Crossplane applies nothing, so a bad request
 * never deletes what was composed before.
 */
export async function runFunction(
  req: RunFunctionRequest,
  logger?: Logger,
): Promise<RunFunctionResponse> {
  try {
    return compositionResponse(req);
  } catch (error) {
    const message =
      error instanceof FieldError
        ? error.message
        : `internal error: ${error instanceof Error ? error.message : String(error)}`;
    logger?.warn({ tag: req.meta?.tag, message }, 'RunFunction failed');
    return fatalResponse(req, message);
  }
}

function compositionResponse(req: RunFunctionRequest): RunFunctionResponse {
  const catalog = parseCatalog(req.input);
  const observedXr = req.observed?.composite?.resource;
  const environment = parseEnvironment(observedXr, catalog);
  const composed = compose(environment, catalog, observedResources(req));
  const summary = report(environment, composed);

  const rsp = to(req);
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
        ...(composed.kubeconfig ? { kubeconfig: composed.kubeconfig } : {}),
      },
      ready: summary.phase === 'Ready' ? Ready.READY_TRUE : Ready.READY_FALSE,
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

/** A Fatal answer that passes the request's desired state through untouched. */
export function fatalResponse(req: RunFunctionRequest, message: string): RunFunctionResponse {
  const rsp = to(req);
  rsp.results = [
    {
      severity: Severity.SEVERITY_FATAL,
      message,
      reason: 'InvalidInput',
      target: Target.TARGET_COMPOSITE_AND_CLAIM,
    },
  ];
  return rsp;
}
