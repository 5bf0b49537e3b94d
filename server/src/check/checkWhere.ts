// "Where is X defined?": the answer names a streamed file, and that file defines X.
import { answerPaths } from './answerText';
import { definitionsIn, definitionsOf, namesViaImport } from './definitions';
import { resolvedTargets } from './modules';
import { isDeclarationFile, outlineFile } from './outline';
import { resolveAnswerPath } from './repoView';
import type { AnswerCheck, ParsedQuestion, RepoView } from './types';

export async function checkWhere(q: ParsedQuestion, answer: string, repo: RepoView, signal?: AbortSignal): Promise<AnswerCheck> {
  const named = answerPaths(answer);
  if (named.length === 0) return { status: 'not-found', kind: 'where', detail: 'the answer names no file' };
  const names = await namesViaImport(repo, q.symbol, q.via);
  const name = names[names.length - 1];
  const from = await importedFrom(repo, q);
  let notDefining: string | undefined;
  for (const path of named) {
    signal?.throwIfAborted();
    const file = resolveAnswerPath(repo, path);
    if (!file) continue;
    if (from && from !== file) {
      notDefining ??= file;
      continue;
    }
    for (const n of names) {
      const defs = await definitionsIn(repo, file, n);
      const top = defs.find((d) => !d.member);
      if (top) return { status: 'checked', kind: 'where', file, line: top.line, detail: `${file} defines \`${n}\`` };
      // Only a member of that name here (a method, a field of an interface): it counts when nothing defines the
      // name at the top of a file.
      if (defs.length > 0 && !(await definitionsOf(repo, n, signal)).some((d) => !d.member)) {
        return { status: 'checked', kind: 'where', file, line: defs[0].line, detail: `${file} defines \`${n}\` (a member)` };
      }
    }
    notDefining ??= file;
  }
  if (notDefining && from && from !== notDefining) {
    return { status: 'not-found', kind: 'where', detail: `${q.via} imports \`${q.symbol}\` from ${from}, not ${notDefining}` };
  }
  if (notDefining) return { status: 'not-found', kind: 'where', detail: `${notDefining} does not define \`${name}\`${await whereInstead(repo, name, signal)}` };
  return { status: 'not-found', kind: 'where', detail: `${named[0]} is not in the repository` };
}

/** Multi-hop: the streamed file the `via` file imports the symbol from (undefined when that is unknown). */
async function importedFrom(repo: RepoView, q: ParsedQuestion): Promise<string | undefined> {
  if (!q.via) return undefined;
  const via = resolveAnswerPath(repo, q.via);
  const text = via ? await repo.read(via) : undefined;
  if (!via || text === undefined) return undefined;
  const paths = new Set(repo.paths);
  const imp = (await outlineFile(via, text)).imports.find((i) => i.names.includes(q.symbol) || i.aliases?.[q.symbol] !== undefined);
  // The file the import resolves to, in the order bundlers and Python try (x.js before x.d.ts).
  return imp ? resolvedTargets(via, imp.spec, paths)[0] : undefined;
}

/** Files parsed at most to point a wrong answer on: a verdict must not wait on a parse of a whole large workspace. */
const WHERE_INSTEAD_MAX_FILES = 40;

/**
 * "; lib/a.js:12 does": where the parser finds the name at the top of a streamed file, so a wrong answer points on.
 * Only files whose text has the name where a definition would put it (after a defining keyword, or before `=`/`:`)
 * are parsed, at most WHERE_INSTEAD_MAX_FILES: files that merely use the name are skipped unparsed. Implementations
 * are named before declaration files.
 */
async function whereInstead(repo: RepoView, name: string, signal?: AbortSignal): Promise<string> {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const defining = new RegExp(`(?:\\b(?:function|class|def|const|let|var|interface|type|enum|struct|trait|fn|func|module|namespace)\\s+\\*?\\s*${escaped}\\b|(?<![\\w$])${escaped}\\s*[=:](?!=))`);
  const firstPerFile = new Map<string, number>();
  let parsed = 0;
  // Implementations before their declaration files (index.js before index.d.ts).
  for (const file of [...repo.paths.filter((f) => !isDeclarationFile(f)), ...repo.paths.filter(isDeclarationFile)]) {
    signal?.throwIfAborted();
    if (parsed >= WHERE_INSTEAD_MAX_FILES) break;
    const text = await repo.read(file);
    if (text === undefined || !defining.test(text)) continue;
    parsed++;
    // The text is in hand: outline it directly rather than through definitionsIn, which would read the file again.
    const top = (await outlineFile(file, text)).definitions.find((d) => d.name === name && !d.member);
    if (top) firstPerFile.set(file, top.line);
  }
  const [first, ...others] = [...firstPerFile].map(([file, line]) => `${file}:${line}`);
  if (!first) return '';
  return `; ${first} does${others.length ? ` (also ${others.slice(0, 2).join(', ')}${others.length > 2 ? ', …' : ''})` : ''}`;
}
