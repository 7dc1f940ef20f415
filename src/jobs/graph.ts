/**
 * The first cycle in a dependency graph, as the path that closes it (`['a', 'b', 'c', 'a']`), or
 * undefined when the graph is acyclic. Iterative, so a long chain cannot overflow the stack.
 */
export function findCycle (graph: Record<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>()
  for (const root of Object.keys(graph).sort()) {
    if (state.has(root)) continue
    const path: string[] = []
    const stack: Array<{ node: string, next: number }> = [{ node: root, next: 0 }]
    state.set(root, 'visiting')
    path.push(root)
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!
      const edges = graph[top.node] ?? []
      if (top.next >= edges.length) {
        state.set(top.node, 'done')
        stack.pop()
        path.pop()
        continue
      }
      const target = edges[top.next++]!
      const seen = state.get(target)
      if (seen === 'visiting') return [...path.slice(path.indexOf(target)), target]
      if (seen === undefined) {
        state.set(target, 'visiting')
        path.push(target)
        stack.push({ node: target, next: 0 })
      }
    }
  }
  return undefined
}

/** How deeply a JSON value nests: 0 for a scalar, 1 for `{ a: 1 }`, 2 for `{ a: { b: 1 } }`. */
export function nestingDepth (value: unknown): number {
  let deepest = 0
  const stack: Array<{ value: unknown, depth: number }> = [{ value, depth: 0 }]
  while (stack.length > 0) {
    const { value: v, depth } = stack.pop()!
    if (v === null || typeof v !== 'object') {
      deepest = Math.max(deepest, depth)
      continue
    }
    const children = Array.isArray(v) ? v : Object.values(v)
    if (children.length === 0) deepest = Math.max(deepest, depth + 1)
    for (const child of children) stack.push({ value: child, depth: depth + 1 })
  }
  return deepest
}
