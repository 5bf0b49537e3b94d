// What an answer says, in the shape a checker compares: the paths it names, a parameter list, a literal.
// Answers come from a model: surrounding prose, backticks, quotes, bullets and trailing punctuation are tolerated.
import { splitTopLevel } from './patternOutline';

/** The answer's first non-empty line (the built-in model answers on one line; larger models add prose after). */
export function firstLine(answer: string): string {
  return answer.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? '';
}

function cleanToken(t: string): string {
  return t
    .trim()
    .replace(/^[-*•>\s]+/, '')
    .replace(/^[(\[{`'"]+|[)\]}`'":;,.!?]+$/g, '')
    .replace(/^\.\//, '')
    .trim();
}

/** Tokens of the answer that look like file paths (have a dot or a slash), in order. */
export function answerPaths(answer: string): string[] {
  const out: string[] = [];
  for (const raw of answer.split(/[\s,]+/)) {
    const t = cleanToken(raw);
    if (t && /[./]/.test(t) && /[A-Za-z0-9_]/.test(t) && !out.includes(t)) out.push(t);
  }
  return out;
}

/** The files an importers answer lists: comma-, "and"- or line-separated, bulleted or not. */
export function answerList(answer: string): string[] {
  const out: string[] = [];
  for (const raw of answer.split(/,|\n|\band\b|;/)) {
    const t = cleanToken(raw);
    if (t && !out.includes(t)) out.push(t);
  }
  return out;
}

const NO_PARAMETERS = /^(none|nothing|no (parameters|params|arguments|args)|\(\)|it takes no (parameters|arguments)|takes no (parameters|arguments)|\[\])$/i;

/** A parameter list as names (prefixes `...`, `*`, `**` kept; types and defaults dropped); undefined when unreadable. */
export function answerParams(answer: string): string[] | undefined {
  let line = firstLine(answer).replace(/[.;]$/, '').trim();
  line = line.replace(/^`|`$/g, '').trim();
  if (NO_PARAMETERS.test(line)) return [];
  // "f(a, b)" or "(a, b)": the inside of the first parentheses.
  const paren = /^[\w$.]*\s*\((.*)\)\s*(?:(?::|->|=>).*)?$/.exec(line);
  if (paren) line = paren[1];
  if (!line.trim()) return [];
  const names: string[] = [];
  for (const p of splitTopLevel(line, true)) {
    const m = /^\s*[`'"]?((?:\.\.\.|\*\*|\*|&)?)\s*(?:(?:mut|ref|out|in|const)\s+)?([A-Za-z_$][\w$]*)/.exec(p);
    if (!m) return undefined;
    names.push(m[1] + m[2]);
  }
  return names;
}

/** The literal an answer gives (first line; a leading `NAME =` and a trailing `;` dropped). */
export function answerValue(answer: string, symbol: string): string {
  let v = firstLine(answer).replace(/;\s*$/, '').trim();
  const assign = new RegExp(`^(?:const\\s+|let\\s+|var\\s+)?${escapeRegExp(symbol)}\\s*(?::[^=]*)?=\\s*`);
  v = v.replace(assign, '');
  if (/^`[^`]*`$/.test(v) && !/^`.*\$\{/.test(v)) v = v.slice(1, -1).trim();
  return v;
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
