// textDocument/hover: explains the symbol under the cursor from the pot plus the surrounding code,
// within a deadline. Past the deadline it returns what is ready and a "continue in chat" link.
// Results are cached per (document, version, symbol).
import type { Hover, Position } from 'vscode-languageserver-protocol';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { formatVerdict } from '../check/index';
import { continueInChatCommand, type AnswerCheck, type ContinueInChatArgs, type Source } from './protocol';
import { isAbortError } from '../util/abort';
import type { Session } from './session';

const CONTEXT_LINES_BEFORE = 6;
const CONTEXT_LINES_AFTER = 12;
const HOVER_MAX_TOKENS = 64;
const CACHE_LIMIT = 200;

export interface SymbolAt {
  name: string;
  line: number;
  start: number;
  end: number;
}

/** The identifier under `pos`, if any. */
export function symbolAt(doc: TextDocument, pos: Position): SymbolAt | undefined {
  const line = doc.getText({ start: { line: pos.line, character: 0 }, end: { line: pos.line + 1, character: 0 } }).replace(/\r?\n$/, '');
  const re = /[A-Za-z_$][\w$]*/g;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    if (pos.character >= m.index && pos.character <= m.index + m[0].length) {
      if (/^\d/.test(m[0])) return undefined;
      return { name: m[0], line: pos.line, start: m.index, end: m.index + m[0].length };
    }
  }
  return undefined;
}

export class HoverExplainer {
  private readonly cache = new Map<string, Hover>();

  constructor(private readonly session: Session) {}

  async hover(doc: TextDocument, pos: Position, relPath: string, cancel: AbortSignal): Promise<Hover | null> {
    const settings = this.session.currentSettings.hover;
    if (!settings.enabled) return null;
    const sym = symbolAt(doc, pos);
    if (!sym) return null;
    const key = `${doc.uri}@${doc.version}#${sym.name}`;
    const cached = this.cache.get(key);
    if (cached) return cached;

    const code = doc.getText({
      start: { line: Math.max(0, sym.line - CONTEXT_LINES_BEFORE), character: 0 },
      end: { line: sym.line + CONTEXT_LINES_AFTER, character: 0 },
    });
    const question = `Explain \`${sym.name}\` in ${relPath} (line ${sym.line + 1}).`;
    const deadline = AbortSignal.timeout(settings.deadlineMs);
    const signal = AbortSignal.any([cancel, deadline]);
    let text = '';
    let sources: Source[] = [];
    let check: AnswerCheck | undefined;
    let cut = false;
    try {
      const answer = await this.session.answer({
        question,
        selection: { uri: doc.uri, range: { start: { line: sym.line, character: sym.start }, end: { line: sym.line, character: sym.end } }, text: code },
        maxTokens: HOVER_MAX_TOKENS,
        signal,
        onToken: (t) => (text += t),
      });
      text = answer.text;
      sources = answer.sources;
      check = answer.check;
      cut = answer.stopReason === 'cancelled';
    } catch (err) {
      if (!signal.aborted && !isAbortError(err)) throw err;
      cut = true;
      sources = this.session.currentSources();
    }
    if (cancel.aborted) return null;
    const hover = render(sym, text, sources, check, cut, { question, uri: doc.uri, line: sym.line });
    if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, hover);
    return hover;
  }

  clear(): void {
    this.cache.clear();
  }
}

function render(sym: SymbolAt, text: string, sources: Source[], check: AnswerCheck | undefined, cut: boolean, args: ContinueInChatArgs): Hover {
  const parts = [`**RepoPot** · \`${sym.name}\``, ''];
  const body = text.trim();
  parts.push(body ? escapeMarkdown(body) + (cut ? ' …' : '') : cut ? '_The explanation is not ready yet._' : '_No explanation._');
  if (body) parts.push('', verdictMarkdown(check ?? { status: 'unverifiable', kind: 'free', detail: 'the explanation was cut short' }));
  if (sources.length > 0) {
    const links = sources.slice(0, 5).map((s) => `[${s.path}:${s.range.start.line + 1}](${s.uri}#L${s.range.start.line + 1})`);
    parts.push('', `Sources: ${links.join(' · ')}`);
  }
  if (cut) {
    const link = `command:${continueInChatCommand}?${encodeURIComponent(JSON.stringify([args]))}`;
    parts.push('', `[Continue in chat](${link})`);
  }
  return {
    contents: { kind: 'markdown', value: parts.join('\n') },
    range: { start: { line: sym.line, character: sym.start }, end: { line: sym.line, character: sym.end } },
  };
}

/** Model text is shown as text: Markdown/HTML syntax in it must not become links or markup. */
function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-!<>|]/g, '\\$&');
}

/** The verdict line: a check mark with the confirming line, a warning when not found, a plain label otherwise. */
export function verdictMarkdown(check: AnswerCheck): string {
  const icon = check.status === 'checked' ? '✓' : check.status === 'not-found' ? '⚠' : 'ℹ';
  const text = escapeMarkdown(formatVerdict(check));
  return check.status === 'not-found' ? `${icon} **${text}**` : `${icon} _${text}_`;
}
