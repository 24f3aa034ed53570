/**
 * The first cycle met walking `nodes` in order and following `edgesOf`, as a path that starts and
 * ends with the same node; undefined if there is none. Every edge must lead to one of `nodes`.
 * Depth-first without recursion, each node and edge visited once: linear time and memory, and no
 * input can exhaust the stack.
 */
export function findCycle<Node>(
  nodes: Iterable<Node>,
  edgesOf: (node: Node) => readonly Node[],
): Node[] | undefined {
  const onPath = 1;
  const done = 2;
  const state = new Map<Node, typeof onPath | typeof done>();
  for (const start of nodes) {
    if (state.has(start)) continue;
    // The frames on the stack are the current path, each with the next edge to follow.
    const path: { node: Node; next: number }[] = [{ node: start, next: 0 }];
    state.set(start, onPath);
    while (path.length > 0) {
      const frame = path[path.length - 1]!;
      const edges = edgesOf(frame.node);
      if (frame.next === edges.length) {
        state.set(frame.node, done);
        path.pop();
        continue;
      }
      const next = edges[frame.next++]!;
      const seen = state.get(next);
      if (seen === undefined) {
        state.set(next, onPath);
        path.push({ node: next, next: 0 });
      } else if (seen === onPath) {
        const from = path.findIndex((f) => f.node === next);
        return [...path.slice(from).map((f) => f.node), next];
      }
    }
  }
  return undefined;
}
