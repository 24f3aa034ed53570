import type { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { loadRequest } from './requests.js';

/** Values at the limits: nested far deeper than any recursion could follow, or very long. */

/** `depth` lists, each holding the next; the innermost holds "leaf". */
export function deepList(depth: number): unknown[] {
  let value: unknown[] = ['leaf'];
  for (let i = 1; i < depth; i++) value = [value];
  return value;
}

/** `depth` objects, each holding the next under "a"; the innermost holds "leaf". */
export function deepStruct(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { a: 'leaf' };
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}

/** How many lists and objects deep the first member of each level goes, without recursion. */
export function depthOf(value: unknown): number {
  let depth = 0;
  while (typeof value === 'object' && value !== null) {
    depth++;
    value = Array.isArray(value) ? value[0] : Object.values(value)[0];
  }
  return depth;
}

/** Shapes of a large value, each the worst case of something: objects, numbers, depth… */
export const SHAPES = {
  numbers: (n: number) => Array.from({ length: n }, (_, i) => i + 0.5),
  nulls: (n: number) => Array.from({ length: n }, () => null),
  strings: (n: number) => Array.from({ length: n }, (_, i) => `s${i % 10}`),
  emptyObjects: (n: number) => Array.from({ length: n }, () => ({})),
  emptyLists: (n: number) => Array.from({ length: n }, () => []),
  smallObjects: (n: number) => Array.from({ length: n }, (_, i) => ({ name: `n${i}`, n: i })),
  deepLists: (n: number) => deepList(n),
  deepObjects: (n: number) => deepStruct(n),
  oneString: (n: number) => 'x'.repeat(n),
} satisfies Record<string, (n: number) => unknown>;
export type Shape = keyof typeof SHAPES;

/** `SHAPES[shape](n)` with n chosen so that its encoding, measured by `size`, is just within `bytes`. */
export function fitShape(shape: Shape, bytes: number, size: (value: unknown) => number): unknown {
  let n = 1000;
  // Sizes grow about linearly with n (depth a little faster), so scaling n converges in a few steps.
  for (let step = 0; step < 30; step++) {
    const measured = size(SHAPES[shape](n));
    if (measured <= bytes && measured > bytes * 0.99) return SHAPES[shape](n);
    n = Math.max(1, Math.floor((n * bytes * 0.995) / measured));
  }
  throw new Error(`no ${shape} value fits ${bytes} bytes`);
}

/**
 * A one-tool load request (the cluster observed Ready) whose tool values carry `value`,
 * which the function passes on into the tool's Release, so the response carries it too.
 */
export function requestCarrying(value: unknown): RunFunctionRequest {
  const req = loadRequest(1);
  const spec = req.observed!.composite!.resource!.spec as { tools: { values: object }[] };
  spec.tools[0]!.values = { big: value };
  return req;
}
