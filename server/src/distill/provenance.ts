// Where each cached token came from, and how answers cite it.

/** The tag every pot slot carries: the file and 1-based line of the token (0 = the file's header). */
export interface SlotSource {
  file: string;
  line: number;
  /** The line defines or imports a name (streamer.ts, outlineLines.ts); absent otherwise. */
  outline?: true;
}

export interface Citation {
  file: string;
  startLine: number;
  endLine: number;
  /** Share of the answer's attention mass on this range (0..1). */
  weight: number;
}

/** A citation spans at most this many lines on either side of its file's most attended line. */
export const CITATION_RADIUS = 3;

/**
 * The tight range around a file's most attended line: the strong lines (at least 10% of the peak, so one stray
 * token does not count) within CITATION_RADIUS lines of the peak.
 */
export function tightRange(lines: ReadonlyMap<number, number>): { startLine: number; endLine: number } {
  let peakLine = 0;
  let peak = 0;
  for (const [line, v] of lines) {
    if (v > peak || (v === peak && line < peakLine)) {
      peak = v;
      peakLine = line;
    }
  }
  if (peakLine === 0) return { startLine: 1, endLine: 1 };
  let startLine = peakLine;
  let endLine = peakLine;
  for (const [line, v] of lines) {
    if (v < 0.1 * peak || Math.abs(line - peakLine) > CITATION_RADIUS) continue;
    startLine = Math.min(startLine, line);
    endLine = Math.max(endLine, line);
  }
  return { startLine, endLine };
}

/**
 * Ranks sources by the attention mass the answer put on their slots: mass is summed per file, and each file's
 * range is the few lines around its most attended line (tightRange), not everything the file had in the pot.
 */
export function citeSources(tags: readonly (SlotSource | undefined)[], mass: ArrayLike<number>, maxSources = 5): Citation[] {
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
    const { startLine, endLine } = tightRange(lines);
    citations.push({ file, startLine, endLine, weight: total / grand });
  }
  citations.sort((a, b) => b.weight - a.weight);
  return citations.slice(0, maxSources);
}

/** The citations with the line that confirms the answer first (a citation already covering it moves up, as that line). */
export function leadWithConfirmation(citations: readonly Citation[], confirm: { file?: string; line?: number }): Citation[] {
  const { file, line } = confirm;
  if (!file || !line) return [...citations];
  const same = citations.find((c) => c.file === file && c.startLine <= line && line <= c.endLine);
  return [{ file, startLine: line, endLine: line, weight: same?.weight ?? 0 }, ...citations.filter((c) => c !== same)];
}

/**
 * Files by their share of the pot's slots, each spanning the lines it holds: the citations of an answer cut
 * short before its attention could rank the sources.
 */
export function shareSources(tags: readonly (SlotSource | undefined)[], maxSources = 5): Citation[] {
  // Per file: its share of the slots, and the few lines around the line holding most of them.
  const perFile = new Map<string, { n: number; lines: Map<number, number> }>();
  for (const t of tags) {
    if (!t) continue;
    const e = perFile.get(t.file) ?? { n: 0, lines: new Map<number, number>() };
    e.n++;
    if (t.line > 0) e.lines.set(t.line, (e.lines.get(t.line) ?? 0) + 1);
    perFile.set(t.file, e);
  }
  const total = tags.length || 1;
  return [...perFile]
    .map(([file, e]) => ({ file, ...tightRange(e.lines), weight: e.n / total }))
    .sort((a, b) => b.weight - a.weight)
    .slice(0, maxSources);
}
