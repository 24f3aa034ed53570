import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { limits } from '../function/limits.js';
import { runFunction } from '../function/run-function.js';
import { compile, errorsOf, loadCrds, versionSchema } from './support/openapi.js';
import { readYamlDocuments, requestFor } from './support/render.js';
import { shippedCatalog, xEnvironment } from './support/requests.js';
import type { ValidateFunction } from 'ajv';

type Obj = Record<string, unknown>;
const PROVIDER_KUBERNETES_CRDS = '.tools/crds/provider-kubernetes';
// Fields Crossplane adds to every XR and claim schema itself.
const CROSSPLANE_SPEC_FIELDS = [
  'claimRef',
  'compositionRef',
  'compositionSelector',
  'compositionRevisionRef',
  'compositionUpdatePolicy',
  'writeConnectionSecretToRef',
  'resourceRefs',
  'crossplane',
];

let xrd: Obj;
let xrdSchema: ValidateFunction;
let catalog: Obj;

beforeAll(async () => {
  [xrd] = (await readYamlDocuments('apis/xenvironment/definition.yaml')) as [Obj];
  xrdSchema = compile(versionSchema(xrd, 'v1alpha1'));
  catalog = await shippedCatalog();
});

/** The parts of an OpenAPI schema these tests read. */
interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  maxItems?: number;
  maxLength?: number;
  maxProperties?: number;
  [extension: `x-${string}`]: unknown;
}

/** Every stage in examples/observed. */
async function observedStages(): Promise<string[]> {
  const files = await readdir('examples/observed');
  return files.filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, ''));
}

function userSpec(resource: Obj): Obj {
  const spec = { ...(resource.spec as Obj) };
  for (const field of CROSSPLANE_SPEC_FIELDS) delete spec[field];
  return spec;
}

describe('the XRD schema', () => {
  it('accepts the example claim and XR', async () => {
    for (const file of ['examples/claim.yaml', 'examples/xr.yaml']) {
      const [resource] = await readYamlDocuments(file);
      expect(errorsOf(xrdSchema, { spec: userSpec(resource!) }), file).toEqual([]);
    }
  });

  it.each([
    [
      'a tool name that is not a DNS label',
      { tools: [{ name: 'Cert_Manager' }] },
      '/spec/tools/0/name',
    ],
    ['a tool without a name', { tools: [{ version: '1.0.0' }] }, '/spec/tools/0'],
    ['an unknown backend', { cluster: { backend: 'kind' } }, '/spec/cluster/backend'],
    [
      'a Kubernetes version that is not minor',
      { cluster: { kubernetesVersion: 'latest' } },
      '/spec/cluster/kubernetesVersion',
    ],
    ['a ttl in words', { ttl: '8 hours' }, '/spec/ttl'],
    ['a ttl longer than the function takes', { ttl: '1s'.repeat(17) }, '/spec/ttl'],
    [
      'a chart version longer than the function takes',
      { tools: [{ name: 'a', version: '1'.repeat(65) }] },
      '/spec/tools/0/version',
    ],
    [
      'more tools than the function takes',
      { tools: Array.from({ length: 201 }, (_, i) => ({ name: `t${i}` })) },
      '/spec/tools',
    ],
    ['a sink that is not http', { events: { sink: 'ftp://example.org' } }, '/spec/events/sink'],
    ['tools that are not a list', { tools: { name: 'argo-cd' } }, '/spec/tools'],
    ['a misspelt field', { tool: [] }, '/spec'],
  ])('rejects %s', (_name, spec, path) => {
    expect(errorsOf(xrdSchema, { spec }).join('\n')).toContain(path);
  });

  it('declares the limits the function enforces', () => {
    const spec = (versionSchema(xrd, 'v1alpha1') as SchemaNode).properties!.spec!.properties!;
    const tools = spec.tools!;
    expect(tools.maxItems).toBe(limits.claimTools);
    expect(tools.items!.properties!.version!.maxLength).toBe(limits.chartVersionLength);
    expect(spec.events!.properties!.sink!.maxLength).toBe(limits.sinkLength);
    expect(spec.ttl!.maxLength).toBe(limits.ttlLength);
    // The ttl's CEL rule caps the total at the same number of days, in seconds.
    const [rule] = spec.ttl!['x-kubernetes-validations'] as { rule: string }[];
    expect(rule!.rule).toContain(`<= ${limits.ttlDays * 86_400}`);
  });

  it('is the same schema in the Crossplane v2 variant', async () => {
    const [v2] = (await readYamlDocuments('apis/xenvironment-v2/definition.yaml')) as [Obj];
    expect(versionSchema(v2, 'v1alpha1')).toEqual(versionSchema(xrd, 'v1alpha1'));
    const [composition] = await readYamlDocuments('apis/xenvironment-v2/composition.yaml');
    const input = (composition!.spec as { pipeline: { input: Obj }[] }).pipeline[0]!.input;
    expect(input).toEqual(catalog);
  });
});

describe('rendered resources', () => {
  let providerKubernetes: Map<string, ValidateFunction>;
  beforeAll(async () => {
    // Installed by test/tools/install.sh; a missing folder fails, it does not skip.
    expect(
      existsSync(PROVIDER_KUBERNETES_CRDS),
      `${PROVIDER_KUBERNETES_CRDS} (run npm test, which installs it)`,
    ).toBe(true);
    providerKubernetes = await loadCrds(PROVIDER_KUBERNETES_CRDS);
  });

  it('have a status that fits the XRD, at every example stage', async () => {
    const [xr] = await readYamlDocuments('examples/xr.yaml');
    for (const stage of await observedStages()) {
      const observed = await readYamlDocuments(`examples/observed/${stage}.yaml`);
      const rsp = await runFunction(requestFor(xr!, catalog, observed));
      const status = rsp.desired!.composite!.resource!.status;
      expect(errorsOf(xrdSchema, { spec: userSpec(xr!), status }), stage).toEqual([]);
    }
  });

  it('include provider-kubernetes ProviderConfigs and Objects valid against its CRDs, cluster-scoped and namespaced', async () => {
    const legacy = xEnvironment({ tools: [] });
    const namespaced = {
      ...xEnvironment({ tools: [] }, { name: 'dev', namespace: 'team-a' }),
      kind: 'Environment',
    };
    for (const xr of [legacy, namespaced]) {
      const rsp = await runFunction(requestFor(xr, catalog));
      for (const key of ['kubernetes-providerconfig', 'host-namespace']) {
        const resource = rsp.desired!.resources[key]!.resource as Obj;
        const validate = providerKubernetes.get(
          `${String(resource.apiVersion)}/${String(resource.kind)}`,
        );
        expect(validate, `${key}: ${String(resource.apiVersion)}`).toBeDefined();
        expect(errorsOf(validate!, resource), key).toEqual([]);
      }
    }
  });

  it('are driven by a catalogue that fits the input CRD', async () => {
    const [crd] = (await readYamlDocuments(
      'package/input/xenvironment.fn.crossplane.io_catalogs.yaml',
    )) as [Obj];
    const validate = compile(versionSchema(crd, 'v1beta1'));
    expect(errorsOf(validate, catalog)).toEqual([]);
    expect(
      errorsOf(validate, { ...catalog, tools: [{ name: 'x', chart: { name: 'x' } }] }).join('\n'),
    ).toContain('/tools/0/chart');
    expect(
      errorsOf(validate, { ...catalog, tools: [{ allowedValues: 'a.b' }] }).join('\n'),
    ).toContain('/tools/0/allowedValues');
  });

  it('are driven by an input CRD that declares the limits the function enforces', async () => {
    const [crd] = (await readYamlDocuments(
      'package/input/xenvironment.fn.crossplane.io_catalogs.yaml',
    )) as [Obj];
    const root = versionSchema(crd, 'v1beta1') as SchemaNode;
    const tools = root.properties!.tools!;
    const tool = tools.items!.properties!;
    const vcluster = root.properties!.cluster!.properties!.vcluster!.properties!;
    expect(tools.maxItems).toBe(limits.catalogTools);
    expect(tool.name!.maxLength).toBe(limits.toolNameLength);
    expect(tool.dependsOn!.maxItems).toBe(limits.dependsOn);
    for (const allowedValues of [tool.allowedValues!, vcluster.allowedValues!]) {
      expect(allowedValues.maxItems).toBe(limits.allowedValues);
      expect(allowedValues.items!.maxLength).toBe(limits.allowedValueLength);
    }
    expect(vcluster.kubernetesVersions!.maxProperties).toBe(limits.kubernetesVersions);
  });
});
