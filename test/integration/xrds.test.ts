/**
 * The XRDs and the input CRD, checked by the real Crossplane CLI (`crossplane beta validate`, which
 * validates as the API server does, CEL rules included) with the real Crossplane and provider
 * CRDs. What the function renders is validated in examples.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { PHASES, TOOL_PHASES } from '../../common/contract.js';
import { limits } from '../../function/input/limits.js';
import { allValid, validate } from '../support/crank.js';
import { CRD_DIRS } from '../support/crds.js';
import { pipelineInput, readYamlDocuments } from '../support/manifests.js';
import { shippedCatalog, xEnvironment } from '../support/requests.js';

type Obj = Record<string, unknown>;
const XRDS = ['apis/xenvironment/definition.yaml', 'apis/xenvironment-v2/definition.yaml'];
const INPUT_CRD = 'package/input/xenvironment.fn.crossplane.io_catalogs.yaml';

/** Validation errors by the name of the resource they are about. */
function errorsByName(output: string): Map<string, string[]> {
  const errors = new Map<string, string[]>();
  for (const [, name, error] of output.matchAll(/^\[x\] .*?, Kind=\w+, (\S+) : (.*)$/gm)) {
    errors.set(name!, [...(errors.get(name!) ?? []), error!]);
  }
  return errors;
}

/** The parts of an OpenAPI schema these tests read. */
interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  enum?: string[];
  maxItems?: number;
  maxLength?: number;
  maxProperties?: number;
  [extension: `x-${string}`]: unknown;
}

function openApiSchema(definition: Obj): SchemaNode {
  const [version] = (definition.spec as { versions: { schema: { openAPIV3Schema: SchemaNode } }[] })
    .versions;
  return version!.schema.openAPIV3Schema;
}

describe('the examples', () => {
  it('are valid against the XRDs and the real Crossplane CRDs, so `kubectl apply` takes them', async () => {
    const files = [
      'examples/claim.yaml',
      'examples/xr.yaml',
      'examples/xr-unknown-tool.yaml',
      'examples/v2/xr.yaml',
      'examples/functions.yaml',
      'examples/bridge/deploymentruntimeconfig.yaml',
      'examples/providers/runtime.yaml',
      'examples/providers/host-configs.yaml',
    ];
    // RBAC is Kubernetes' own, which only an API server validates (the e2e applies it to one).
    const resources = (await Promise.all(files.map((file) => readYamlDocuments(file))))
      .flat()
      .filter((resource) => !String(resource.apiVersion).startsWith('rbac.authorization.k8s.io/'));
    const { code, stdout } = await validate(
      [...XRDS, CRD_DIRS.providerHelm, CRD_DIRS.providerKubernetes],
      resources,
    );
    expect(code, stdout).toBe(0);
    expect(stdout).toContain(allValid(resources.length));
  });
});

describe('the schemas reject', () => {
  const bad: [string, Obj, string][] = [
    [
      'a tool name that is not a DNS label',
      xEnvironment({ tools: [{ name: 'Cert_Manager' }] }),
      'spec.tools[0].name',
    ],
    [
      'a tool without a name',
      xEnvironment({ tools: [{ version: '1.0.0' }] }),
      'spec.tools[0].name',
    ],
    ['an unknown backend', xEnvironment({ cluster: { backend: 'kind' } }), 'spec.cluster.backend'],
    [
      'a Kubernetes version that is not minor',
      xEnvironment({ cluster: { kubernetesVersion: 'latest' } }),
      'spec.cluster.kubernetesVersion',
    ],
    ['a ttl in words', xEnvironment({ ttl: '8 hours' }), 'spec.ttl'],
    ['a ttl longer than the function takes', xEnvironment({ ttl: '366d' }), 'spec.ttl'],
    ['a ttl written too long', xEnvironment({ ttl: '1s'.repeat(17) }), 'spec.ttl'],
    [
      'a chart version longer than the function takes',
      xEnvironment({ tools: [{ name: 'a', version: '1'.repeat(65) }] }),
      'spec.tools[0].version',
    ],
    [
      'more tools than the function takes',
      xEnvironment({ tools: Array.from({ length: 201 }, (_, i) => ({ name: `t${i}` })) }),
      'spec.tools',
    ],
    [
      'a sink that is not http',
      xEnvironment({ events: { sink: 'ftp://example.org' } }),
      'spec.events.sink',
    ],
    ['tools that are not a list', xEnvironment({ tools: { name: 'argo-cd' } }), 'spec.tools'],
    [
      'a misspelt field in a provider-helm Release',
      {
        apiVersion: 'helm.crossplane.io/v1beta1',
        kind: 'Release',
        spec: {
          forProvider: {
            chart: { repository: 'https://charts.example.org', name: 'x', version: '1', nmae: 'x' },
            namespace: 'x',
          },
        },
      },
      'spec.forProvider.chart.nmae',
    ],
    ['a misspelt field', xEnvironment({ tool: [] }), 'spec.tool'],
    [
      'a Function package that is not a fully qualified image',
      {
        apiVersion: 'pkg.crossplane.io/v1beta1',
        kind: 'Function',
        spec: { package: 'function-xenvironment' },
      },
      'spec.package',
    ],
  ];

  // One validation run for all cases; each case is its own resource, told apart by name.
  let errors: Map<string, string[]>;
  beforeAll(async () => {
    const resources = bad.map(([, resource], i) => ({
      ...resource,
      metadata: { ...(resource.metadata as Obj | undefined), name: `bad-${i}` },
    }));
    errors = errorsByName((await validate([...XRDS, CRD_DIRS.providerHelm], resources)).stdout);
  });

  it.each(bad.map(([what, , path], index) => [what, index, path] as const))(
    '%s',
    (_what, index, path) => {
      expect(errors.get(`bad-${index}`)?.join('\n')).toContain(`${path}: `);
    },
  );
});

describe('the catalogue', () => {
  let catalog: Obj;
  beforeAll(async () => {
    catalog = await shippedCatalog();
  });

  it('fits the input CRD, and the CRD rejects what the function would', async () => {
    const tool = { name: 'x', namespace: 'x', chart: { repository: 'r', name: 'x', version: '1' } };
    const broken: [string, Obj, string][] = [
      [
        'a chart without a repository',
        { tools: [{ ...tool, chart: { name: 'x', version: '1.0.0' } }] },
        'tools[0].chart.repository',
      ],
      [
        'a waitTimeout in days',
        { toolDefaults: { waitTimeout: '1d' } },
        'toolDefaults.waitTimeout',
      ],
      [
        'a waitTimeout of no time',
        { tools: [{ ...tool, waitTimeout: '0m' }] },
        'tools[0].waitTimeout',
      ],
      [
        'a waitTimeout over an hour',
        { tools: [{ ...tool, waitTimeout: '61m' }] },
        'tools[0].waitTimeout',
      ],
      ['a maxTTL over 365d', { environments: { maxTTL: '366d' } }, 'environments.maxTTL'],
      [
        'a Job at apps/v1',
        { tools: [{ ...tool, readiness: [{ apiVersion: 'apps/v1', kind: 'Job', name: 'x' }] }] },
        'tools[0].readiness[0]',
      ],
      [
        'a Pod',
        { tools: [{ ...tool, readiness: [{ apiVersion: 'v1', kind: 'Pod', name: 'x' }] }] },
        'tools[0].readiness[0].kind',
      ],
    ];
    const { stdout } = await validate(
      [INPUT_CRD],
      [
        { ...catalog, metadata: { name: 'shipped' } },
        ...broken.map(([, edit], i) => ({
          ...catalog,
          ...edit,
          metadata: { name: `broken-${i}` },
        })),
      ],
    );
    const errors = errorsByName(stdout);
    expect(errors.get('shipped')).toBeUndefined();
    broken.forEach(([what, , path], i) => {
      expect(errors.get(`broken-${i}`)?.join('\n'), what).toContain(path);
    });
  });

  it('declares the limits the function enforces, as the XRD does', async () => {
    const [crd] = await readYamlDocuments(INPUT_CRD);
    const root = openApiSchema(crd!);
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
    expect(tool.readiness!.maxItems).toBe(limits.readinessChecks);
    expect(tool.readiness!.items!.properties!.name!.maxLength).toBe(limits.objectNameLength);
    const celRule = (node: SchemaNode) =>
      (node['x-kubernetes-validations'] as { rule: string }[])[0]!.rule;
    const catalogue = root.properties!;
    for (const waitTimeout of [
      tool.waitTimeout!,
      catalogue.toolDefaults!.properties!.waitTimeout!,
    ]) {
      expect(waitTimeout.maxLength).toBe(limits.ttlLength);
      expect(celRule(waitTimeout)).toContain(`<= ${limits.waitTimeoutSeconds}`);
    }
    for (const ttl of Object.values(catalogue.environments!.properties!)) {
      expect(ttl.maxLength).toBe(limits.ttlLength);
      expect(celRule(ttl)).toContain(`<= ${limits.ttlDays * 86_400}`);
    }

    const [xrd] = await readYamlDocuments(XRDS[0]!);
    const spec = openApiSchema(xrd!).properties!.spec!.properties!;
    expect(spec.tools!.maxItems).toBe(limits.claimTools);
    expect(spec.tools!.items!.properties!.version!.maxLength).toBe(limits.chartVersionLength);
    expect(spec.events!.properties!.sink!.maxLength).toBe(limits.sinkLength);
    expect(spec.ttl!.maxLength).toBe(limits.ttlLength);
    // The ttl's CEL rule caps the total at the same number of days, in seconds.
    const [rule] = spec.ttl!['x-kubernetes-validations'] as { rule: string }[];
    expect(rule!.rule).toContain(`<= ${limits.ttlDays * 86_400}`);
  });

  it("offers, in the XRD's status, the phases the function writes", async () => {
    const [xrd] = await readYamlDocuments(XRDS[0]!);
    const status = openApiSchema(xrd!).properties!.status!.properties!;
    expect(status.phase!.enum).toEqual([...PHASES]);
    expect(status.tools!.items!.properties!.phase!.enum).toEqual([...TOOL_PHASES]);
  });

  it('and the schema are the same in the Crossplane v2 variant', async () => {
    const [v1, v2] = await Promise.all(
      XRDS.map(async (path) => (await readYamlDocuments(path))[0]!),
    );
    expect(openApiSchema(v2!)).toEqual(openApiSchema(v1!));
    expect(await pipelineInput('apis/xenvironment-v2/composition.yaml')).toEqual(catalog);
  });
});
