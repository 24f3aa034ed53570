import {
  Severity,
  Target,
  to,
  type RunFunctionRequest,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import type { Logger } from 'pino';
import { kindAndName } from '../../common/objects.js';
import type { FieldError } from '../input/untrusted-input.js';

/**
 * Fatal answers. On a Fatal result Crossplane applies and deletes nothing, so each passes the
 * request's desired state through. Input at fault is `InvalidInput`, naming the field, for the
 * claim's owner to fix; anything else is a failure of the function itself, `InternalError`, for
 * the platform team.
 */

const INVALID_INPUT_REASON = 'InvalidInput';
const INTERNAL_ERROR_REASON = 'InternalError';

export function invalidInputResponse(
  req: RunFunctionRequest,
  error: FieldError,
  logger?: Logger,
): RunFunctionResponse {
  logger?.warn(
    { tag: req.meta?.tag, xr: xrOf(req), message: error.message },
    'RunFunction: invalid input',
  );
  return fatalResponse(req, error.message, INVALID_INPUT_REASON, Target.TARGET_COMPOSITE_AND_CLAIM);
}

/** `what` failed with `error`: logged with its stack, and answered `internal error: what: …`. */
export function internalErrorResponse(
  req: RunFunctionRequest,
  what: string,
  error: unknown,
  logger?: Logger,
): RunFunctionResponse {
  const { message, stack } = describeError(error);
  logger?.error({ tag: req.meta?.tag, xr: xrOf(req), error: message, stack }, what);
  return fatalResponse(
    req,
    `internal error: ${what}: ${message}`,
    INTERNAL_ERROR_REASON,
    Target.TARGET_COMPOSITE,
  );
}

function fatalResponse(
  req: RunFunctionRequest,
  message: string,
  reason: string,
  target: Target,
): RunFunctionResponse {
  const rsp = to(req);
  rsp.results = [{ severity: Severity.SEVERITY_FATAL, message, reason, target }];
  return rsp;
}

const xrOf = (req: RunFunctionRequest) => kindAndName(req.observed?.composite?.resource);

/** What was thrown, as text; whatever it is (a getter that throws included), this does not throw. */
export function describeError(error: unknown): { message: string; stack?: string } {
  try {
    if (error instanceof Error) return { message: error.message || error.name, stack: error.stack };
    return { message: `${typeof error} ${String(error)}` };
  } catch {
    return { message: `an unprintable ${typeof error}` };
  }
}
