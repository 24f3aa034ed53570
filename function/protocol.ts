/**
 * What the function needs of run_function.proto as values: its enums, the RPC's path and the
 * SDK's `to`. Defined here, not imported from the SDK, so that the bundle evaluates none of the
 * SDK (and protobufjs under it) at start: the function has its own codec, and takes only the
 * SDK's types. test/codec.test.ts checks these against the SDK.
 */
import type {
  Ready as ReadyEnum,
  RunFunctionRequest,
  RunFunctionResponse,
  Severity as SeverityEnum,
  Status as StatusEnum,
  Target as TargetEnum,
} from '@crossplane-org/function-sdk-typescript';

export const Ready = {
  READY_UNSPECIFIED: 0,
  READY_TRUE: 1,
  READY_FALSE: 2,
} as const satisfies Record<string, ReadyEnum>;

export const Severity = {
  SEVERITY_UNSPECIFIED: 0,
  SEVERITY_FATAL: 1,
  SEVERITY_WARNING: 2,
  SEVERITY_NORMAL: 3,
} as const satisfies Record<string, SeverityEnum>;

export const Target = {
  TARGET_UNSPECIFIED: 0,
  TARGET_COMPOSITE: 1,
  TARGET_COMPOSITE_AND_CLAIM: 2,
} as const satisfies Record<string, TargetEnum>;

export const Status = {
  STATUS_CONDITION_UNSPECIFIED: 0,
  STATUS_CONDITION_UNKNOWN: 1,
  STATUS_CONDITION_TRUE: 2,
  STATUS_CONDITION_FALSE: 3,
} as const satisfies Record<string, StatusEnum>;

export const RUN_FUNCTION_PATH = '/apiextensions.fn.proto.v1.FunctionRunnerService/RunFunction';

export const DEFAULT_TTL = { seconds: 60, nanos: 0 };

/** The SDK's `to`: a response to `req` that keeps its desired state and context. */
export function to(req: RunFunctionRequest, ttl = DEFAULT_TTL): RunFunctionResponse {
  return {
    conditions: [],
    context: req.context,
    desired: req.desired ?? { composite: undefined, resources: {} },
    meta: { tag: req.meta?.tag || '', ttl },
    requirements: undefined,
    results: [],
  };
}
