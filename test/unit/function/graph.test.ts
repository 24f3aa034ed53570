import { describe, expect, it } from 'vitest';
import { findCycle } from '../../../function/input/graph.js';

/** A graph as node → edges, and how often the walk asked for a node's edges. */
function graph(edges: Map<number, number[]>) {
  let calls = 0;
  return {
    nodes: [...edges.keys()],
    edgesOf: (node: number) => {
      calls++;
      return edges.get(node)!;
    },
    calls: () => calls,
  };
}

const chain = (length: number) =>
  new Map(Array.from({ length }, (_, i) => [i, i + 1 < length ? [i + 1] : []]));

describe('findCycle', () => {
  it.each([
    ['no edges', new Map([[0, []]]), undefined],
    ['a self-loop', new Map([[0, [0]]]), [0, 0]],
    [
      'a diamond (shared dependencies are no cycle)',
      new Map([
        [0, [1, 2]],
        [1, [3]],
        [2, [3]],
        [3, []],
      ]),
      undefined,
    ],
    [
      'the first cycle met in node order, from where it closes',
      new Map([
        [0, [1]],
        [1, [2]],
        [2, [3]],
        [3, [1]],
        [4, [4]],
      ]),
      [1, 2, 3, 1],
    ],
  ])('%s', (_name, edges, cycle) => {
    const { nodes, edgesOf } = graph(edges);
    expect(findCycle(nodes, edgesOf)).toEqual(cycle);
  });

  // A recursive walk overflows the stack on these, and one that copies its path at every step
  // needs memory quadratic in their length.
  it('walks a 200,000-node chain without recursion', () => {
    const { nodes, edgesOf } = graph(chain(200_000));
    expect(findCycle(nodes, edgesOf)).toBeUndefined();
  });

  it('reports a 200,000-node cycle whole', () => {
    const edges = chain(200_000);
    edges.set(199_999, [0]);
    const { nodes, edgesOf } = graph(edges);
    const cycle = findCycle(nodes, edgesOf)!;
    expect(cycle).toHaveLength(200_001);
    expect(cycle.slice(0, 3)).toEqual([0, 1, 2]);
    expect(cycle.at(-1)).toBe(0);
  });

  it('asks for each node’s edges once per edge it follows and once more, however dense the graph', () => {
    // Every node depends on every later one: n²/2 edges, each followed once.
    const n = 300;
    const edges = new Map(
      Array.from({ length: n }, (_, i) => [
        i,
        Array.from({ length: n - i - 1 }, (_, j) => i + j + 1),
      ]),
    );
    const { nodes, edgesOf, calls } = graph(edges);
    expect(findCycle(nodes, edgesOf)).toBeUndefined();
    const edgeCount = (n * (n - 1)) / 2;
    expect(calls()).toBe(edgeCount + n);
  });
});
