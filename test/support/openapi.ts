import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { readYamlDocuments } from './render.js';

type Schema = Record<string, unknown>;
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/**
 * A Kubernetes structural schema as JSON Schema. Objects that declare properties and do not
 * preserve unknown fields reject unknown ones: the API server would silently prune them, which
 * is how a misspelt field goes unnoticed, so tests treat them as errors (as `crank beta validate` does).
 */
export function strictSchema(schema: Schema): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-kubernetes-')) continue;
    if (key === 'properties' && value && typeof value === 'object') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, Schema>).map(([k, v]) => [k, strictSchema(v)]),
      );
    } else if ((key === 'items' || key === 'additionalProperties') && typeof value === 'object') {
      out[key] = strictSchema(value as Schema);
    } else {
      out[key] = value;
    }
  }
  if (
    out.properties &&
    !schema['x-kubernetes-preserve-unknown-fields'] &&
    out.additionalProperties === undefined
  ) {
    out.additionalProperties = false;
  }
  return out;
}

const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));

export function compile(schema: Schema): ValidateFunction {
  return ajv.compile(strictSchema(schema));
}

export function errorsOf(validate: ValidateFunction, value: unknown): string[] {
  return validate(value)
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
}

/** openAPIV3Schema of a CRD or XRD version. */
export function versionSchema(definition: Schema, version: string): Schema {
  const versions = (
    definition.spec as { versions: { name: string; schema: { openAPIV3Schema: Schema } }[] }
  ).versions;
  const found = versions.find((v) => v.name === version);
  if (!found) throw new Error(`no version ${version}`);
  return found.schema.openAPIV3Schema;
}

/** CRDs from a folder, by `apiVersion/Kind` of their served versions. */
export async function loadCrds(folder: string): Promise<Map<string, ValidateFunction>> {
  const crds = new Map<string, ValidateFunction>();
  for (const file of (await readdir(folder)).filter((f) => f.endsWith('.yaml'))) {
    for (const crd of await readYamlDocuments(join(folder, file))) {
      const spec = crd.spec as {
        group: string;
        names: { kind: string };
        versions: { name: string }[];
      };
      for (const { name } of spec.versions) {
        crds.set(`${spec.group}/${name}/${spec.names.kind}`, compile(versionSchema(crd, name)));
      }
    }
  }
  return crds;
}
