/**
 * The bridge's own CDEvents types: one JSON schema each (event-schemas/ beside this file), the one
 * source of truth for what their subject content may hold, applied as they are by a JSON-schema
 * validator to every such event built, recorded or received. Everything else about an event is the
 * official custom schema's, which cdevents.ts checks.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import requested from './event-schemas/environment-requested.json' with { type: 'json' };
import released from './event-schemas/environment-released.json' with { type: 'json' };
import expiring from './event-schemas/environment-expiring.json' with { type: 'json' };

const SCHEMAS = [requested, released, expiring];

const ajv = new Ajv2020({ strict: true });
const validators = new Map(
  SCHEMAS.map((schema) => [schema.properties.context.properties.type.const, ajv.compile(schema)]),
);

/** What is wrong with an event of one of these types, the field named as the CDEvents code names it. */
export interface SchemaProblem {
  path: string;
  detail: string;
}

/** `/subject/content/tools/0/name` → `subject.content.tools[0].name`. */
function fieldPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce(
      (path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part),
      '',
    );
}

/** The first problem of `event` against its type's schema; undefined when valid (or not ours). */
export function schemaProblem(type: string, event: unknown): SchemaProblem | undefined {
  const validate = validators.get(type);
  if (!validate || validate(event)) return undefined;
  const [error] = validate.errors ?? [];
  if (!error) return { path: 'event', detail: 'is invalid' };
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty: string }).additionalProperty;
    return { path: `${fieldPath(error.instancePath)}.${extra}`, detail: 'is not allowed' };
  }
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    const parent = fieldPath(error.instancePath);
    return { path: parent ? `${parent}.${missing}` : missing, detail: 'is required' };
  }
  return { path: fieldPath(error.instancePath) || 'event', detail: error.message ?? 'is invalid' };
}
