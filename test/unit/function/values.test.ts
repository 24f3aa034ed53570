import { describe, expect, it } from 'vitest';
import { readValues } from '../../../function/input/values.js';

/** `depth` levels below the top: `{ a: { a: … leaf } }`, built without recursion. */
function nested(depth: number, leaf: unknown = 'x', key = 'a'): Record<string, unknown> {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i++) value = { [key]: value };
  return value as Record<string, unknown>;
}
const path = (levels: number, key = 'a') => `values${`.${key}`.repeat(levels)}`;

describe('reading chart values', () => {
  const table: { name: string; input: unknown; want: string }[] = [
    { name: 'nothing is no values', input: undefined, want: 'ok' },
    { name: '64 levels', input: nested(64), want: 'ok' },
    { name: 'empty containers at the 64th level', input: nested(63, { b: {}, c: [] }), want: 'ok' },
    {
      name: '65 levels: the first key past the limit named',
      input: nested(65),
      want: `${path(65)}: nested deeper than 64 levels`,
    },
    {
      name: 'lists count as levels, named by index',
      input: { l: [nested(62, [[1]])] },
      want: `values.l[0]${'.a'.repeat(62)}[0]: nested deeper than 64 levels`,
    },
    {
      name: 'of two branches too deep, the last is named (the walk goes last first)',
      input: { x: nested(64), y: nested(64) },
      want: `values.y${'.a'.repeat(64)}: nested deeper than 64 levels`,
    },
    {
      name: 'keys that are not identifiers quoted',
      input: nested(65, 'x', 'app.kubernetes.io/name'),
      want: `values${'["app.kubernetes.io/name"]'.repeat(65)}: nested deeper than 64 levels`,
    },
    {
      name: 'a million empty objects in a list',
      input: { big: Array.from({ length: 1_000_000 }, () => ({})) },
      want: 'ok',
    },
    { name: 'not an object', input: ['a'], want: 'values: must be an object, got a list' },
  ];
  it.each(table)('$name', ({ input, want }) => {
    let got = 'ok';
    try {
      readValues(input, 'values');
    } catch (error) {
      got = (error as Error).message;
    }
    expect(got).toBe(want);
  });
});
