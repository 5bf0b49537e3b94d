// The workspace's top-level definitions (tree-sitter outlines of the streamed files), for completing the symbol of
// a question form. Built once per RepoView (one ingest), in the background of the first request.
import { outlineFile } from './outline';
import type { RepoView, WorkspaceSymbol } from './types';

const MAX_FILES = 4000;
const MAX_FILE_CHARS = 256 * 1024;
const built = new WeakMap<RepoView, Promise<WorkspaceSymbol[]>>();

async function build(repo: RepoView, signal?: AbortSignal): Promise<WorkspaceSymbol[]> {
  const out: WorkspaceSymbol[] = [];
  const seen = new Set<string>();
  for (const file of repo.paths.slice(0, MAX_FILES)) {
    signal?.throwIfAborted();
    const text = await repo.read(file);
    if (text === undefined || text.length > MAX_FILE_CHARS) continue;
    for (const d of (await outlineFile(file, text)).definitions) {
      if (d.member || d.name.length < 2 || seen.has(`${d.name}\0${file}`)) continue;
      seen.add(`${d.name}\0${file}`);
      out.push({ name: d.name, kind: d.kind, path: file, line: d.line });
    }
    // Let other requests in between files.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return out.sort((a, b) => a.name.localeCompare(b.name) || a.path.localeCompare(b.path));
}

/** Symbols starting with `prefix` (case-insensitive), at most `limit`. */
export async function workspaceSymbols(repo: RepoView, options: { prefix?: string; limit?: number; signal?: AbortSignal } = {}): Promise<WorkspaceSymbol[]> {
  let all = built.get(repo);
  if (!all) {
    // Not tied to one request's signal: the index is shared by every later request for this ingest.
    all = build(repo);
    built.set(repo, all);
    all.catch(() => built.delete(repo));
  }
  const symbols = await abortable(all, options.signal);
  const prefix = (options.prefix ?? '').toLowerCase();
  const matching = prefix ? symbols.filter((s) => s.name.toLowerCase().startsWith(prefix)) : symbols;
  return matching.slice(0, options.limit ?? 500);
}

function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
