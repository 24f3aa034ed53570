/**
 * A stand-in for `crossplane render` (crank), which cannot be built here: the Go module proxy
 * refuses github.com/crossplane/crossplane. Like crank, it reads a Composition, an XR and observed
 * resources from files, calls the real function over gRPC with the step's input, and prints the
 * XR's new status and the composed resources; unlike crank, it neither adds Crossplane's metadata
 * (owner references, generated names) nor runs more than one pipeline step.
 */
import { readFile } from 'node:fs/promises';
import { parseAllDocuments, stringify } from 'yaml';
import {
  Ready,
  RunFunctionRequest,
  Severity,
  Status,
} from '@crossplane-org/function-sdk-typescript';
import type { RunningFunction } from './function-server.js';

type Obj = Record<string, unknown>;

export async function readYamlDocuments(path: string): Promise<Obj[]> {
  const text = await readFile(path, 'utf8');
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as Obj | null)
    .filter((doc): doc is Obj => doc !== null);
}

export async function pipelineInput(compositionPath: string): Promise<Obj> {
  const [composition] = await readYamlDocuments(compositionPath);
  const spec = composition!.spec as { pipeline: { input: Obj }[] };
  return spec.pipeline[0]!.input;
}

/** The request Crossplane sends for this XR, step input and observed composed resources. */
export function requestFor(xr: Obj, input: Obj, observed: Obj[] = []): RunFunctionRequest {
  const resources: RunFunctionRequest['observed'] = { composite: undefined, resources: {} };
  for (const resource of observed) {
    const annotations = (resource.metadata as { annotations?: Record<string, string> }).annotations;
    const key = annotations?.['crossplane.io/composition-resource-name'];
    if (!key) throw new Error(`observed ${String(resource.kind)} has no composition-resource-name`);
    resources.resources[key] = { resource, connectionDetails: {}, ready: Ready.READY_UNSPECIFIED };
  }
  resources.composite = { resource: xr, connectionDetails: {}, ready: Ready.READY_UNSPECIFIED };
  return RunFunctionRequest.fromPartial({
    meta: { tag: 'render' },
    observed: resources,
    desired: { resources: {} },
    input,
  });
}

/** Renders like crank does and returns the YAML stream it would print. */
export async function render(
  fn: RunningFunction,
  paths: { composition: string; xr: string; observed?: string },
): Promise<string> {
  const [xr] = await readYamlDocuments(paths.xr);
  const observed = paths.observed ? await readYamlDocuments(paths.observed) : [];
  const rsp = await fn.call(requestFor(xr!, await pipelineInput(paths.composition), observed));
  const fatal = rsp.results.find((r) => r.severity === Severity.SEVERITY_FATAL);
  if (fatal) throw new Error(`render: fatal result: ${fatal.message}`);

  const xrMeta = xr!.metadata as Obj;
  const composite = rsp.desired?.composite;
  const documents: Obj[] = [
    {
      apiVersion: xr!.apiVersion,
      kind: xr!.kind,
      metadata: { name: xrMeta.name },
      status: {
        ...(composite?.resource?.status ?? {}),
        conditions: [
          {
            type: 'Ready',
            status: composite?.ready === Ready.READY_TRUE ? 'True' : 'False',
            reason: composite?.ready === Ready.READY_TRUE ? 'Available' : 'Creating',
          },
          ...rsp.conditions.map((c) => ({
            type: c.type,
            status: c.status === Status.STATUS_CONDITION_TRUE ? 'True' : 'False',
            reason: c.reason,
            message: c.message,
          })),
        ],
      },
    },
  ];
  for (const [key, resource] of Object.entries(rsp.desired?.resources ?? {}).sort()) {
    const object = structuredClone(resource.resource ?? {});
    const metadata = (object.metadata ?? {}) as Obj;
    metadata.annotations = {
      ...((metadata.annotations as Obj | undefined) ?? {}),
      'crossplane.io/composition-resource-name': key,
    };
    object.metadata = metadata;
    documents.push(object);
  }
  for (const result of rsp.results) {
    documents.push({
      apiVersion: 'render.crossplane.io/v1beta1',
      kind: 'Result',
      severity: Severity[result.severity],
      message: result.message,
    });
  }
  return documents.map((doc) => `---\n${stringify(doc)}`).join('');
}
