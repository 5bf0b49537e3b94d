// The status-bar cache gauge, rendered by one function from the server's pushed status.
//   $(database) 3.9k/4k · 37× · 61 MB        (plus "· 120/300 files" while ingesting; the words: gauge_text.ts)
import * as vscode from 'vscode';
import type { StatusParams } from '../../server/src/lsp/protocol';
import type { ClientHealth } from './ctx';
import { escapeMarkdown, gaugeRows, gaugeText } from './gauge_text';

export { formatTokens, gaugeText } from './gauge_text';

export function gaugeTooltip(s: StatusParams): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.isTrusted = { enabledCommands: ['repopot.openChat', 'repopot.pause', 'repopot.resume', 'repopot.rebuildCache', 'repopot.chooseModel', 'repopot.openLogs'] };
  md.appendMarkdown(`**RepoPot** — ${s.state}${s.message ? `: ${escapeMarkdown(s.message)}` : ''}\n\n`);
  md.appendMarkdown('| | |\n|---|---|\n');
  for (const [k, v] of gaugeRows(s)) md.appendMarkdown(`| ${k} | ${v} |\n`);
  const pauseOrResume = s.state === 'paused' ? '[Resume](command:repopot.resume)' : '[Pause](command:repopot.pause)';
  md.appendMarkdown(`\n[Open chat](command:repopot.openChat) · ${pauseOrResume} · [Rebuild cache](command:repopot.rebuildCache) · [Choose model](command:repopot.chooseModel) · [Logs](command:repopot.openLogs)`);
  return md;
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
