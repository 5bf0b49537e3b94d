// "Which files import Z?": every listed file is streamed and imports Z (by module specifier, resolved relative
// path, Python dotted module, or an imported name).
import { answerList } from './answerText';
import { resolvedTargets } from './modules';
import { outlineFile } from './outline';
import { resolveAnswerPath } from './repoView';
import type { AnswerCheck, ImportRef, ParsedQuestion, RepoView } from './types';

/** Does this import bring in `z` (a module name, a streamed path, or a name it binds)? */
export function importsName(from: string, imp: ImportRef, z: string, paths: ReadonlySet<string>): boolean {
  const spec = imp.spec;
  const target = z.replace(/^\.\//, '');
  if (spec === z || spec === `node:${z}` || `node:${spec}` === z) return true;
  if (spec.startsWith(z + '/') || spec.startsWith(z + '.') || spec.startsWith(z + '::')) return true;
  if (imp.names.includes(z)) return true;
  if (resolvedTargets(from, spec, paths).includes(target)) return true;
  return false;
}

export async function checkImporters(q: ParsedQuestion, answer: string, repo: RepoView, signal?: AbortSignal): Promise<AnswerCheck> {
  const listed = answerList(answer);
  if (listed.length === 0 || (listed.length === 1 && /^(none|nothing|no files?)$/i.test(listed[0]))) {
    return { status: 'unverifiable', kind: 'importers', detail: 'the answer lists no files' };
  }
  const paths = new Set(repo.paths);
  let confirm: { file: string; line: number } | undefined;
  for (const named of listed) {
    signal?.throwIfAborted();
    const file = resolveAnswerPath(repo, named);
    if (!file) return { status: 'not-found', kind: 'importers', detail: `${named} is not in the repository` };
    const text = await repo.read(file);
    const outline = text === undefined ? undefined : await outlineFile(file, text);
    const imp = outline?.imports.find((i) => importsName(file, i, q.symbol, paths));
    if (!imp) return { status: 'not-found', kind: 'importers', detail: `${file} does not import \`${q.symbol}\`` };
    confirm ??= { file, line: imp.line };
  }
  const { file, line } = confirm!;
  return { status: 'checked', kind: 'importers', file, line, detail: listed.length === 1 ? `${file} imports \`${q.symbol}\`` : `each of the ${listed.length} files imports \`${q.symbol}\`` };
}
