// The status-bar cache gauge, rendered by one function from the server's pushed status.
//   $(database) 3.9k/4k · 37× · 61 MB        (plus "· 120/300 files" while ingesting)
import * as vscode from 'vscode';
import type { StatusParams } from '../../server/src/lsp/protocol';
import type { ClientHealth } from './ctx';
import { formatBytes } from './models';

export function formatTokens(n: number): string {
  if (n >= 1024 && n % 1024 === 0 && n < 1024 * 1024) return `${n / 1024}k`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(n >= 1e4 ? 0 : 1).replace(/\.0$/, '')}k`;
  return String(n);
}

export function gaugeText(s: StatusParams): string {
  const icon = s.state === 'ingesting' || s.state === 'answering' ? '$(sync~spin)' : s.state === 'paused' ? '$(debug-pause)' : s.state === 'error' ? '$(error)' : '$(database)';
  let text = `${icon} ${formatTokens(s.tokensKept)}/${formatTokens(s.budget)} · ${Math.round(s.compression)}× · ${formatBytes(s.cacheBytes)}`;
  if (s.state === 'ingesting' || (s.state === 'paused' && s.filesDone < s.filesTotal)) text += ` · ${s.filesDone}/${s.filesTotal} files`;
  return text;
}

export function gaugeTooltip(s: StatusParams): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.isTrusted = { enabledCommands: ['repopot.openChat', 'repopot.pause', 'repopot.resume', 'repopot.rebuildCache', 'repopot.chooseModel', 'repopot.openLogs'] };
  md.appendMarkdown(`**RepoPot** — ${s.state}${s.message ? `: ${escape(s.message)}` : ''}\n\n`);
  md.appendMarkdown('| | |\n|---|---|\n');
  const rows: [string, string][] = [
    ['Files', `${s.filesDone} / ${s.filesTotal} (${s.filesSkipped} skipped)`],
    ['Tokens seen', s.tokensSeen.toLocaleString('en-US')],
    ['Tokens kept', `${s.tokensKept.toLocaleString('en-US')} of ${s.budget.toLocaleString('en-US')} budget`],
    ['Compression', `${s.compression.toFixed(1)}×`],
    ['Cache', formatBytes(s.cacheBytes)],
    ['Speed', s.tokensPerSecond > 0 ? `${s.tokensPerSecond.toFixed(1)} tok/s` : '—'],
    ['Model', escape(s.model || '—')],
    ['Device', escape(s.device || '—')],
  ];
  if (s.restored) rows.push(['Cache', 'restored from disk']);
  for (const [k, v] of rows) md.appendMarkdown(`| ${k} | ${v} |\n`);
  const pauseOrResume = s.state === 'paused' ? '[Resume](command:repopot.resume)' : '[Pause](command:repopot.pause)';
  md.appendMarkdown(`\n[Open chat](command:repopot.openChat) · ${pauseOrResume} · [Rebuild cache](command:repopot.rebuildCache) · [Choose model](command:repopot.chooseModel) · [Logs](command:repopot.openLogs)`);
  return md;
}

function escape(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-!<>|]/g, '\\$&');
}

export class Gauge implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('repopot.gauge', vscode.StatusBarAlignment.Right, 100);

  constructor() {
    this.item.name = 'RepoPot cache';
    this.item.command = 'repopot.showMenu';
    this.render({ kind: 'stopped' });
    this.item.show();
  }

  /** The one place the gauge is drawn. */
  render(h: ClientHealth): void {
    this.item.backgroundColor = undefined;
    switch (h.kind) {
      case 'stopped':
        this.item.text = '$(database) RepoPot: stopped';
        this.item.tooltip = 'RepoPot is not running. Click for options.';
        break;
      case 'starting':
        this.item.text = '$(sync~spin) RepoPot';
        this.item.tooltip = 'RepoPot is starting…';
        break;
      case 'problem':
        this.item.text = '$(warning) RepoPot: no model';
        this.item.tooltip = h.problem.message;
        this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
        break;
      case 'running':
        if (!h.status || h.status.state === 'starting') {
          this.item.text = '$(sync~spin) RepoPot: loading model';
          this.item.tooltip = 'RepoPot is loading its model…';
        } else {
          this.item.text = gaugeText(h.status);
          this.item.tooltip = gaugeTooltip(h.status);
          if (h.status.state === 'error') this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
        }
        break;
    }
  }

  dispose(): void {
    this.item.dispose();
  }
}
