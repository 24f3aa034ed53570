import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { startFunction, type RunningFunction } from './support/function-server.js';
import { render } from './support/render.js';

// Each stage of examples/observed, and the composed resources it must lead to.
const stages: { stage: string; composed: string[]; phase: string }[] = [
  { stage: 'new', composed: [], phase: 'Pending' },
  { stage: 'host-namespace-ready', composed: [], phase: 'ProvisioningCluster' },
  { stage: 'cluster-creating', composed: [], phase: 'ProvisioningCluster' },
  { stage: 'cluster-starting', composed: [], phase: 'ProvisioningCluster' },
  {
    stage: 'cluster-ready',
    composed: ['tool-cert-manager', 'tool-tekton-pipelines', 'tool-knative-operator'],
    phase: 'InstallingTools',
  },
  {
    stage: 'some-tools-ready',
    composed: [
      'tool-cert-manager',
      'tool-tekton-pipelines',
      'tool-knative-operator',
      'tool-argo-cd',
      'tool-knative-serving',
    ],
    phase: 'InstallingTools',
  },
  {
    stage: 'all-ready',
    composed: [
      'tool-cert-manager',
      'tool-tekton-pipelines',
      'tool-knative-operator',
      'tool-argo-cd',
      'tool-knative-serving',
    ],
    phase: 'Ready',
  },
];

describe('examples render to their expected output', () => {
  let fn: RunningFunction;
  beforeAll(async () => {
    fn = await startFunction();
  });
  afterAll(() => fn.stop());

  it.each(stages)('$stage', async ({ stage, composed, phase }) => {
    const observed = `examples/observed/${stage}.yaml`;
    const output = await render(fn, {
      composition: 'apis/xenvironment/composition.yaml',
      xr: 'examples/xr.yaml',
      ...(existsSync(observed) ? { observed } : {}),
    });
    const documents = parseAllDocuments(output).map((d) => d.toJS());
    expect(documents[0].status.phase).toBe(phase);
    const keys = documents
      .map((d) => d.metadata?.annotations?.['crossplane.io/composition-resource-name'])
      .filter((key: string | undefined) => key?.startsWith('tool-'));
    expect(keys.sort()).toEqual([...composed].sort());

    const expectedPath = `examples/expected/${stage}.yaml`;
    if (process.env.UPDATE_EXPECTED) await writeFile(expectedPath, output);
    expect(output).toBe(await readFile(expectedPath, 'utf8'));
  });
});
