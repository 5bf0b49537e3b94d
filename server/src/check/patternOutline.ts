// The definition-pattern fallback for files no grammar fits (Kotlin, Swift, Lua, Scala, Elixir, shell-less
// configs…): line patterns for the keywords most languages define with, assignments, and import-like lines.
import type { Definition, ImportRef } from './types';

const KEYWORD_DEF =
  /^\s*(?:(?:export|public|private|protected|internal|open|final|abstract|static|async|pub(?:\([^)]*\))?|inline|override|data|sealed|local|extern|virtual|unsafe|const)\s+)*(function\*?|func|fun|fn|def|defp|defmodule|sub|proc|class|struct|interface|enum|trait|protocol|object|record|module|type|typealias|val|var|let|const|macro)\s+([A-Za-z_$][\w$.!?]*)/;
const ASSIGNMENT = /^\s*(?:export\s+)?(?:(?:readonly|static|final|const|let|var|val|local)\s+)*([A-Za-z_$][\w$]*)\s*(?::\s*[^=]+?)?\s*:?=(?![=>])\s*(.*)$/;
const DEFINE = /^\s*#\s*define\s+([A-Za-z_]\w*)(?:\(([^)]*)\))?\s*(.*)$/;
const IMPORT_LINE = /^\s*(?:import|from|using|use|require|require_relative|include|#\s*include|load|source|\.)\b\s*(.*)$|\brequire(?:_relative)?\s*\(?\s*['"]([^'"]+)['"]/;

function kindOf(keyword: string): Definition['kind'] {
  if (/^(function\*?|func|fun|fn|def|defp|sub|proc|macro)$/.test(keyword)) return 'function';
  if (/^(class|struct|object|record|module|defmodule)$/.test(keyword)) return 'class';
  if (/^(interface|enum|trait|protocol|type|typealias)$/.test(keyword)) return 'type';
  return 'variable';
}

/** Parameter names from the text after a function's name: the first parenthesised list (types and defaults dropped). */
export function patternParams(after: string): string[] | undefined {
  const open = after.indexOf('(');
  if (open < 0) return undefined;
  let depth = 0;
  let end = -1;
  for (let i = open; i < after.length; i++) {
    if (after[i] === '(') depth++;
    else if (after[i] === ')' && --depth === 0) {
      end = i;
      break;
    }
  }
  if (end < 0) return undefined;
  return splitTopLevel(after.slice(open + 1, end))
    .map((p) => /^\s*((?:\.\.\.|\*\*|\*|&)?)\s*(?:(?:val|var|mut|inout|out|ref|in)\s+)?([A-Za-z_$][\w$]*)/.exec(p))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => m[1] + m[2])
    .filter((n) => n !== 'this');
}

/**
 * `s` split at the commas outside brackets. A blank last piece is dropped unless `keepBlankTail` (a caller that
 * must see "a, " as malformed keeps it).
 */
export function splitTopLevel(s: string, keepBlankTail = false): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if ('([{<'.includes(c)) depth++;
    else if (')]}>'.includes(c)) depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  if (keepBlankTail || s.slice(start).trim()) out.push(s.slice(start));
  return out;
}

/** Definitions and imports by line patterns. */
export function outlineByPatterns(text: string): { definitions: Definition[]; imports: ImportRef[] } {
  const definitions: Definition[] = [];
  const imports: ImportRef[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const lineNo = i + 1;
    const k = KEYWORD_DEF.exec(l);
    if (k) {
      const kind = kindOf(k[1]);
      const rest = l.slice(k.index + k[0].length);
      const value = /^\s*(?::[^=]*)?=\s*(.*)$/.exec(rest)?.[1];
      const params = kind === 'function' ? patternParams(rest + (lines[i + 1] ?? '')) ?? [] : undefined;
      definitions.push({ name: k[2], line: lineNo, kind, params, value, ...(/^\s/.test(l) ? { member: true } : {}) });
      continue;
    }
    const d = DEFINE.exec(l);
    if (d) {
      definitions.push({ name: d[1], line: lineNo, kind: d[2] !== undefined ? 'function' : 'variable', params: d[2]?.split(',').map((p) => p.trim()).filter(Boolean), value: d[3] });
      continue;
    }
    const im = IMPORT_LINE.exec(l);
    if (im) {
      const spec = im[2] ?? (/['"<]([^'">]+)['">]/.exec(im[1] ?? '')?.[1] ?? (im[1] ?? '').trim().split(/[\s;{(]/)[0]);
      if (spec) imports.push({ spec, names: [], line: lineNo });
      continue;
    }
    const a = ASSIGNMENT.exec(l);
    if (a && !/^\s/.test(l)) definitions.push({ name: a[1], line: lineNo, kind: 'variable', value: a[2] });
  }
  return { definitions, imports };
}
