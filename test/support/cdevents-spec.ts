import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ValidateFunction } from 'ajv';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/** The official CDEvents 0.5.1 release, from ../shared by default; missing fails, never skips. */
const SPEC_DIR = resolve(process.env.CDEVENTS_SPEC_DIR ?? '../shared/cdevents-spec-0.5.1');

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

export interface OfficialSpec {
  /** Validator for an event, chosen by its `context.type` as the spec says. */
  validatorFor(type: string): ValidateFunction;
  /** Every conformance example, by file name. */
  conformance: Record<string, Record<string, unknown>>;
}

export function loadOfficialSpec(): OfficialSpec {
  if (!existsSync(join(SPEC_DIR, 'schemas'))) {
    throw new Error(`CDEvents spec not found at ${SPEC_DIR}: set CDEVENTS_SPEC_DIR`);
  }
  const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
  const byType = new Map<string, string>();
  const schemaFiles = (dir: string) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => join(dir, f));
  for (const file of schemaFiles(join(SPEC_DIR, 'schemas', 'links'))) ajv.addSchema(readJson(file));
  for (const file of schemaFiles(join(SPEC_DIR, 'schemas'))) {
    const schema = readJson(file);
    ajv.addSchema(schema);
    const context = (
      schema.properties as { context: { properties: { type: { enum?: string[] } } } }
    ).context;
    for (const type of context.properties.type.enum ?? []) byType.set(type, schema.$id as string);
  }
  const custom = readJson(join(SPEC_DIR, 'custom', 'schema.json'));
  ajv.addSchema(custom);

  const conformance: Record<string, Record<string, unknown>> = {};
  for (const file of schemaFiles(join(SPEC_DIR, 'conformance'))) {
    conformance[file.split('/').pop()!] = readJson(file);
  }
  conformance['custom/conformance.json'] = readJson(join(SPEC_DIR, 'custom', 'conformance.json'));

  return {
    validatorFor(type) {
      const id = type.startsWith('dev.cdeventsx.') ? (custom.$id as string) : byType.get(type);
      if (!id) throw new Error(`no official schema for ${type}`);
      return ajv.getSchema(id)!;
    },
    conformance,
  };
}
