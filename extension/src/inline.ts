// Inline answers: "Ask About Selection" opens a comment-thread widget at the selection and streams the
// answer into it, with sources; the thread's title bar has a dismiss (and stop) action.
import * as vscode from 'vscode';
import { ResponseError } from 'vscode-languageclient/node';
import { formatVerdict, STOPPED_CHECK } from '../../server/src/check/verdict';
import { errorCodes, type AnswerCheck, type Source } from '../../server/src/lsp/protocol';
import type { Ctx } from './ctx';

const RENDER_INTERVAL_MS = 60;

class InlineAnswer {
  readonly cts = new vscode.CancellationTokenSource();
  text = '';
  sources: Source[] = [];
  check: AnswerCheck | undefined;
  note: string | undefined;
  status: 'streaming' | 'done' | 'stopped' | 'failed' = 'streaming';
  error = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly thread: vscode.CommentThread,
    readonly question: string,
  ) {}

  scheduleRender(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.render();
    }, RENDER_INTERVAL_MS);
  }

  render(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const md = new vscode.MarkdownString(undefined, true);
    md.isTrusted = false;
    md.appendMarkdown(`**Q:** ${escapeMarkdown(this.question)}\n\n`);
    md.appendText(this.text || (this.status === 'streaming' ? '…' : ''));
    if (this.status === 'streaming') md.appendMarkdown(' $(loading~spin)');
    if (this.status === 'stopped') md.appendMarkdown('\n\n_Stopped._');
    if (this.status === 'failed') md.appendMarkdown(`\n\n$(error) ${escapeMarkdown(this.error)}`);
    if (this.check) {
      // Checked: a pass mark; not found: a warning, in bold; unverifiable: a plain label.
      const icon = this.check.status === 'checked' ? '$(pass)' : this.check.status === 'not-found' ? '$(warning)' : '$(info)';
      const text = escapeMarkdown(formatVerdict(this.check));
      md.appendMarkdown(`\n\n${icon} ${this.check.status === 'not-found' ? `**${text}**` : `_${text}_`}`);
    }
    if (this.note) md.appendMarkdown(`\n\n_${escapeMarkdown(this.note)}_`);
    if (this.sources.length > 0) {
      md.appendMarkdown('\n\n**Sources:** ');
      md.appendMarkdown(this.sources.map((s) => `[${escapeMarkdown(s.path)}:${s.range.start.line + 1}](${s.uri}#L${s.range.start.line + 1})`).join(' · '));
    }
    this.thread.comments = [
      { body: md, mode: vscode.CommentMode.Preview, author: { name: 'RepoPot' }, contextValue: this.status === 'streaming' ? 'streaming' : 'done' },
    ];
    this.thread.contextValue = this.status === 'streaming' ? 'repopot.streaming' : 'repopot.done';
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.cts.cancel();
    this.cts.dispose();
    this.thread.dispose();
  }
}

function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-!<>|]/g, '\\$&');
}

export class InlineAnswers implements vscode.Disposable {
  private readonly controller = vscode.comments.createCommentController('repopot.inline', 'RepoPot');
  private readonly answers = new Map<vscode.CommentThread, InlineAnswer>();

  constructor(private readonly ctx: Ctx) {
    this.controller.options = { prompt: 'RepoPot answers appear here', placeHolder: '' };
  }

  async askAboutSelection(editor: vscode.TextEditor): Promise<void> {
    let selection: vscode.Range = editor.selection.isEmpty ? editor.document.lineAt(editor.selection.active.line).range : editor.selection;
    // A selection ending at the start of a line ends, for the widget, on the line before.
    if (selection.end.character === 0 && selection.end.line > selection.start.line) {
      selection = new vscode.Range(selection.start, editor.document.lineAt(selection.end.line - 1).range.end);
    }
    const code = editor.document.getText(selection);
    if (!code.trim()) {
      void vscode.window.showInformationMessage('RepoPot: select some code to ask about.');
      return;
    }
    const question = await vscode.window.showInputBox({
      title: 'RepoPot: Ask About Selection',
      value: 'Explain this code.',
      prompt: `About ${vscode.workspace.asRelativePath(editor.document.uri)}:${selection.start.line + 1}-${selection.end.line + 1}`,
    });
    if (!question) return;
    const thread = this.controller.createCommentThread(editor.document.uri, new vscode.Range(selection.start, selection.end), []);
    thread.canReply = false;
    thread.label = 'RepoPot';
    thread.collapsibleState = vscode.CommentThreadCollapsibleState.Expanded;
    const answer = new InlineAnswer(thread, question);
    this.answers.set(thread, answer);
    answer.render();
    editor.revealRange(new vscode.Range(selection.end, selection.end), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    try {
      const result = await this.ctx.ask(
        { question, selection: { uri: editor.document.uri.toString(), range: toRange(selection), text: code } },
        (p) => {
          if (p.kind === 'token') answer.text += p.text;
          else answer.sources = p.sources;
          answer.scheduleRender();
        },
        answer.cts.token,
      );
      answer.text = result.text;
      answer.sources = result.sources;
      answer.check = result.check;
      answer.note = result.note;
      answer.status = result.stopReason === 'cancelled' ? 'stopped' : 'done';
    } catch (err) {
      if (answer.cts.token.isCancellationRequested || (err instanceof ResponseError && err.code === errorCodes.RequestCancelled)) {
        answer.status = 'stopped';
        answer.check = STOPPED_CHECK;
      } else {
        answer.status = 'failed';
        answer.error = err instanceof Error ? err.message : String(err);
        this.ctx.output.error(`inline answer failed: ${answer.error}`);
      }
    }
    if (this.answers.has(thread)) answer.render();
  }

  stop(thread: vscode.CommentThread | undefined): void {
    if (thread) this.answers.get(thread)?.cts.cancel();
  }

  dismiss(thread: vscode.CommentThread | undefined): void {
    const targets = thread ? [thread] : [...this.answers.keys()];
    for (const t of targets) {
      this.answers.get(t)?.dispose();
      this.answers.delete(t);
    }
  }

  dispose(): void {
    this.dismiss(undefined);
    this.controller.dispose();
  }
}

function toRange(r: vscode.Range): { start: { line: number; character: number }; end: { line: number; character: number } } {
  return { start: { line: r.start.line, character: r.start.character }, end: { line: r.end.line, character: r.end.character } };
}
