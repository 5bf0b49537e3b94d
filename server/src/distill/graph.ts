// Graph algorithms for the file order: dependencies first, cycles broken the same way every time.

/**
 * Kahn's algorithm over strongly connected components, dependencies first. Ties (and members of one cycle)
 * go in path order, so the result is stable and a cycle is broken the same way every time.
 */
export function topologicalOrder(paths: readonly string[], graph: ReadonlyMap<string, readonly string[]>): string[] {
  const members = new Set(paths);
  const deps = new Map<string, string[]>();
  for (const p of paths) deps.set(p, (graph.get(p) ?? []).filter((d) => d !== p && members.has(d)));
  const components = stronglyConnectedComponents(paths, deps);
  const componentOf = new Map<string, number>();
  components.forEach((c, i) => c.forEach((p) => componentOf.set(p, i)));
  const rank = new Map(paths.map((p, i) => [p, i] as const));
  const compKey = components.map((c) => Math.min(...c.map((p) => rank.get(p)!)));

  // Edges component(dep) → component(dependent); a component is ready once all its dependencies are out.
  const remaining = components.map(() => 0);
  const dependents = components.map(() => new Set<number>());
  for (const [p, ds] of deps) {
    const cp = componentOf.get(p)!;
    for (const d of ds) {
      const cd = componentOf.get(d)!;
      if (cd !== cp && !dependents[cd]!.has(cp)) {
        dependents[cd]!.add(cp);
        remaining[cp]!++;
      }
    }
  }
  const ready = new MinHeap<number>((a, b) => compKey[a]! - compKey[b]!);
  remaining.forEach((n, i) => n === 0 && ready.push(i));
  const out: string[] = [];
  while (ready.size > 0) {
    const c = ready.pop()!;
    out.push(...[...components[c]!].sort((a, b) => rank.get(a)! - rank.get(b)!));
    for (const dependent of dependents[c]!) if (--remaining[dependent]! === 0) ready.push(dependent);
  }
  return out;
}

/** Tarjan's algorithm, iterative (import chains in big repositories are deep enough to overflow recursion). */
function stronglyConnectedComponents(nodes: readonly string[], deps: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const start of nodes) {
    if (index.has(start)) continue;
    const work: Array<{ node: string; next: number }> = [{ node: start, next: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const edges = deps.get(frame.node) ?? [];
      if (frame.next < edges.length) {
        const w = edges[frame.next++]!;
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push({ node: w, next: 0 });
        } else if (onStack.has(w)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(w)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(w);
        } while (w !== frame.node);
        components.push(component);
      }
    }
  }
  return components;
}

class MinHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => number) {}
  get size(): number {
    return this.items.length;
  }
  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.less(a[i]!, a[parent]!) >= 0) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }
  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!) < 0) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}
