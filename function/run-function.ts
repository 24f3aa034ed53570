import {
  Ready,
  Severity,
  Status,
  Target,
  to,
  type Resource,
  type Result,
  type RunFunctionRequest,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import type { Logger } from 'pino';
import type { ObservedResource } from '../common/health.js';
import { deepFreeze, isObject, type JsonObject } from '../common/objects.js';
import type { BackendRegistry } from './backends/backend.js';
import { clusterBackends } from './backends/index.js';
import { parseCatalog, recentInputs } from './input/catalog.js';
import { compose, type DesiredResource, type Observed } from './compose/compose.js';
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
 * What a request's input is likely to equal, for the server's decoder: the catalogues read lately.
 * An input equal to one of them is given as that object, which parseCatalog finds at once.
 */
export const knownInputs: () => readonly object[] = recentInputs;

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
  composed.resources.forEach(addDesired, desired);
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

function addDesired(
  this: Record<string, Resource>,
  { resource, ready }: DesiredResource,
  key: string,
): void {
  this[key] = desiredResource(resource, ready);
}

/**
 * The response's entries of kept resources (compose/kept.ts), by resource and readiness: frozen
 * as they are, and made once.
 */
const keptEntries = new WeakMap<object, [Resource | undefined, Resource | undefined]>();

function desiredResource(resource: JsonObject, ready: boolean): Resource {
  if (!Object.isFrozen(resource)) return newEntry(resource, ready);
  let kept = keptEntries.get(resource);
  if (kept === undefined) {
    kept = [undefined, undefined];
    keptEntries.set(resource, kept);
  }
  return (kept[ready ? 1 : 0] ??= deepFreeze(newEntry(resource, ready)));
}

function newEntry(resource: JsonObject, ready: boolean): Resource {
  return { resource, connectionDetails: {}, ready: ready ? Ready.READY_TRUE : Ready.READY_FALSE };
}

/**
 * Keyed in a Map: a key such as `__proto__` must stay a key. A resource observed without a body
 * still exists, so it is kept as one that says nothing of its health.
 */
function observedResources(req: RunFunctionRequest): Observed {
  const observed = new Map<string, ObservedResource>();
  const resources = req.observed?.resources ?? {};
  for (const key in resources) {
    if (!Object.hasOwn(resources, key)) continue;
    const value = resources[key];
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
