/**
 * Every example stage of both variants rendered by the real Crossplane CLI against the built
 * function, compared with examples/expected (UPDATE_EXPECTED=1 rewrites them), and everything it
 * renders validated by the real CLI against the XRD and the real provider and Crossplane CRDs.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPOSITION_RESOURCE_NAME_ANNOTATION, toolKey, toolOfKey } from '../../common/contract.js';
import { allValid, functionsFile, render, validate, type Run } from '../support/crank.js';
import { CRD_DIRS } from '../support/crds.js';
import { serveForRender } from '../support/function-binary.js';
import { parseYamlDocuments } from '../support/manifests.js';

type Obj = Record<string, unknown>;

const variants = [
  { variant: 'v1 XEnvironment', examples: 'examples', apis: 'apis/xenvironment' },
  { variant: 'v2 Environment', examples: 'examples/v2', apis: 'apis/xenvironment-v2' },
];

// Each stage of <examples>/observed, and the tools it must compose and the phase it must show.
const stages: { stage: string; tools: string[]; phase: string }[] = [
  { stage: 'new', tools: [], phase: 'Pending' },
  { stage: 'host-namespace-ready', tools: [], phase: 'ProvisioningCluster' },
  { stage: 'cluster-creating', tools: [], phase: 'ProvisioningCluster' },
  { stage: 'cluster-starting', tools: [], phase: 'ProvisioningCluster' },
  {
    stage: 'cluster-ready',
    tools: ['argo-cd', 'cert-manager', 'knative-operator', 'tekton-pipelines'],
    phase: 'InstallingTools',
  },
  {
    stage: 'tools-starting',
    tools: ['argo-cd', 'cert-manager', 'knative-operator', 'tekton-pipelines'],
    phase: 'InstallingTools',
  },
  {
    stage: 'some-tools-ready',
    tools: ['argo-cd', 'cert-manager', 'knative-operator', 'knative-serving', 'tekton-pipelines'],
    phase: 'InstallingTools',
  },
  {
    stage: 'all-ready',
    tools: ['argo-cd', 'cert-manager', 'knative-operator', 'knative-serving', 'tekton-pipelines'],
    phase: 'Ready',
  },
];

const isResult = (doc: Obj) =>
  doc.apiVersion === 'render.crossplane.io/v1beta1' && doc.kind === 'Result';
const extensions = (apis: string) => [
  `${apis}/definition.yaml`,
  CRD_DIRS.providerHelm,
  CRD_DIRS.providerKubernetes,
];

let fn: Awaited<ReturnType<typeof serveForRender>>;
let functions: string;
beforeAll(async () => {
  fn = await serveForRender();
  functions = await functionsFile(fn.address);
});
afterAll(() => fn?.stop());

describe.each(variants)('the $variant examples, rendered by the real CLI', (variant) => {
  const renderStage = (stage: string) => {
    const observed = `${variant.examples}/observed/${stage}.yaml`;
    return render(
      {
        xr: `${variant.examples}/xr.yaml`,
        composition: `${variant.apis}/composition.yaml`,
        xrd: `${variant.apis}/definition.yaml`,
        ...(existsSync(observed) ? { observed } : {}),
      },
      functions,
    );
  };

  const rendered = new Map<string, Run>();
  beforeAll(async () => {
    await Promise.all(
      stages.map(async ({ stage }) => rendered.set(stage, await renderStage(stage))),
    );
  });

  it.each(stages)('$stage', async ({ stage, tools, phase }) => {
    const { code, stdout, stderr } = rendered.get(stage)!;
    expect(code, stderr).toBe(0);
    const documents = parseYamlDocuments(stdout);
    expect((documents[0]!.status as Obj).phase).toBe(phase);
    const composedTools = documents
      .map(
        (d) => (d.metadata as Obj | undefined)?.annotations as Record<string, string> | undefined,
      )
      .map((annotations) => annotations?.[COMPOSITION_RESOURCE_NAME_ANNOTATION])
      .filter((key) => key !== undefined && toolOfKey(key) !== undefined);
    expect(composedTools.sort()).toEqual(tools.map(toolKey));

    const expectedPath = `${variant.examples}/expected/${stage}.yaml`;
    if (process.env.UPDATE_EXPECTED) await writeFile(expectedPath, stdout);
    expect(stdout).toBe(await readFile(expectedPath, 'utf8'));
  });

  // One validation of every stage's output: each run of the CLI costs about half a second of CPU.
  it('renders, at every stage, only what the XRD and the real CRDs accept', async () => {
    const resources = stages
      .flatMap(({ stage }) => parseYamlDocuments(rendered.get(stage)!.stdout))
      .filter((doc) => !isResult(doc));
    const validation = await validate(extensions(variant.apis), resources);
    expect(validation.code, validation.stdout + validation.stderr).toBe(0);
    expect(validation.stdout).toContain(allValid(resources.length));
  });
});

it('an unknown tool: the real CLI shows the Fatal result, naming the field', async () => {
  const { code, stdout, stderr } = await render(
    {
      xr: 'examples/xr-unknown-tool.yaml',
      composition: 'apis/xenvironment/composition.yaml',
      xrd: 'apis/xenvironment/definition.yaml',
    },
    functions,
  );
  expect(code).not.toBe(0);
  expect(stdout).toBe('');
  expect(stderr).toContain(
    'pipeline step "render-environment" returned a fatal result: spec.tools[2].name: "tekon" is not in the catalogue',
  );
});
