// Where each cached token came from, and how answers cite it.

/** The tag every pot slot carries: the file and 1-based line of the token (0 = the file's header). */
export interface SlotSource {
  file: string;
  line: number;
}

export interface Citation {
  file: string;
  startLine: number;
  endLine: number;
  /** Share of the answer's attention mass on this range (0..1). */
  weight: number;
}

/**
 * Ranks sources by the attention mass the answer put on their slots: mass is summed per file,
 * and each file's range spans the lines holding most of its mass (we drop lines below 10% of
 * the file's peak so one stray token does not stretch the range).
 */
export function citeSources(tags: readonly (SlotSource | undefined)[], mass: Float32Array, maxSources = 5): Citation[] {
  const perFile = new Map<string, { total: number; lines: Map<number, number> }>();
  let grand = 0;
  for (let s = 0; s < tags.length; s++) {
    const tag = tags[s];
    const m = mass[s];
    if (!tag || !(m > 0)) continue;
    grand += m;
    let entry = perFile.get(tag.file);
    if (!entry) perFile.set(tag.file, (entry = { total: 0, lines: new Map() }));
    entry.total += m;
    if (tag.line > 0) entry.lines.set(tag.line, (entry.lines.get(tag.line) ?? 0) + m);
  }
  if (grand === 0) return [];
  const citations: Citation[] = [];
  for (const [file, { total, lines }] of perFile) {
    let peak = 0;
    for (const v of lines.values()) peak = Math.max(peak, v);
    const strong = [...lines].filter(([, v]) => v >= 0.1 * peak).map(([line]) => line);
    const startLine = strong.length ? Math.min(...strong) : 1;
    const endLine = strong.length ? Math.max(...strong) : 1;
    citations.push({ file, startLine, endLine, weight: total / grand });
  }
  citations.sort((a, b) => b.weight - a.weight);
  return citations.slice(0, maxSources);
}

/**
 * Files by their share of the pot's slots, each spanning the lines it holds: the citations of an answer cut
 * short before its attention could rank the sources.
 */
export function shareSources(tags: readonly (SlotSource | undefined)[], maxSources = 5): Citation[] {
  const perFile = new Map<string, { n: number; min: number; max: number }>();
  for (const t of tags) {
    if (!t) continue;
    const e = perFile.get(t.file) ?? { n: 0, min: Infinity, max: 0 };
    e.n++;
    if (t.line > 0) {
      e.min = Math.min(e.min, t.line);
      e.max = Math.max(e.max, t.line);
    }
    perFile.set(t.file, e);
  }
  const total = tags.length || 1;
  return [...perFile]
    .map(([file, e]) => ({ file, startLine: Number.isFinite(e.min) ? e.min : 1, endLine: Math.max(e.max, 1), weight: e.n / total }))
    .sort((a, b) => b.weight - a.weight)
    .slice(0, maxSources);
}
