/** A chart's default values and values.schema.json held against a key path, as tables. */
import { describe, expect, it } from 'vitest';
import { leafPaths, missingFrom, schemaRefusal } from '../../../catalogue/chart-values.js';

const defaults = {
  replicaCount: 1,
  resources: {},
  tolerations: [],
  image: { repository: 'r', tag: null },
  webhook: { replicaCount: 1, timeoutSeconds: 10 },
};

describe('missingFrom: where the chart’s default values lack a path', () => {
  it.each([
    { path: 'replicaCount', want: undefined },
    { path: 'webhook.replicaCount', want: undefined },
    { path: 'webhook.replicas', want: 'webhook.replicas' },
    { path: 'webhok.replicaCount', want: 'webhok' },
    { path: 'replicaCount.max', want: 'replicaCount.max' },
    // Below null, {} or a list the chart takes what it is given; `*` matches any key.
    { path: 'resources.limits.cpu', want: undefined },
    { path: 'tolerations.x', want: undefined },
    { path: 'image.tag.digest', want: undefined },
    { path: 'webhook.*.x', want: undefined },
  ])('$path', ({ path, want }) => {
    expect(missingFrom(defaults, path.split('.'))?.join('.')).toBe(want);
  });
});

it('leafPaths: down to each value that is not a non-empty object, in order', () => {
  expect(leafPaths({ a: { b: 1, c: {} }, d: [1], e: { f: { g: null } } })).toEqual([
    ['a', 'b'],
    ['a', 'c'],
    ['d'],
    ['e', 'f', 'g'],
  ]);
});

const schema = {
  $ref: '#/$defs/values',
  $defs: {
    values: {
      type: 'object',
      additionalProperties: false,
      properties: {
        webhook: { $ref: '#/$defs/webhook' },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        extra: { type: 'object' },
        replicaCount: { type: 'integer' },
        sized: { allOf: [{ $ref: '#/$defs/closed' }] },
        either: { anyOf: [{ type: 'null' }, { $ref: '#/$defs/closed' }] },
        patterned: {
          type: 'object',
          additionalProperties: false,
          patternProperties: { '^x-': { type: 'string' } },
        },
        'a/b': { type: 'object', additionalProperties: false, properties: {} },
      },
    },
    webhook: { type: 'object', additionalProperties: false, properties: { replicaCount: {} } },
    closed: { type: 'object', additionalProperties: false, properties: { size: {} } },
  },
};

describe('schemaRefusal: where values.schema.json refuses an object at a path', () => {
  it.each([
    { path: 'webhook.replicaCount', want: undefined },
    { path: 'webhook.replicas', want: '/webhook: no property "replicas"' },
    { path: 'webhok', want: '/: no property "webhok"' },
    { path: 'labels.team', want: undefined },
    { path: 'labels.team.name', want: '/labels/team: of type string, not an object with "name"' },
    { path: 'extra.anything.at.all', want: undefined },
    { path: 'replicaCount.max', want: '/replicaCount: of type integer, not an object with "max"' },
    { path: 'sized.size', want: undefined },
    { path: 'sized.weight', want: '/sized: no property "weight"' },
    { path: 'either.size', want: undefined },
    { path: 'either.weight', want: '/either: of type null, not an object with "weight"' },
    { path: 'patterned.x-team', want: undefined },
    { path: 'patterned.team', want: '/patterned: no property "team"' },
    { path: 'a/b.c', want: '/a~1b: no property "c"' },
  ])('$path', ({ path, want }) => {
    expect(schemaRefusal(schema, path.split('.'))).toBe(want);
  });

  it('a $ref that loops refuses nothing, and ends', () => {
    const loop = {
      $ref: '#/$defs/a',
      $defs: { a: { $ref: '#/$defs/b' }, b: { $ref: '#/$defs/a' } },
    };
    expect(schemaRefusal(loop, ['x'])).toBeUndefined();
  });
});
