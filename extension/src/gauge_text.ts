// The words of the status-bar gauge and its tooltip, without vscode (so node tests can check them):
//   $(database) 3.9k/4k · 37× · 61 MB                 (sized in slots: repopot.cache.budget)
//   $(database) 3.9k/4k · 37× · 3.1 MiB of 4 MiB      (sized in bytes: repopot.cache.memory, MiB like the setting)
import type { StatusParams } from '../../server/src/lsp/protocol';
import { MIB } from '../../server/src/vocab';

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${Math.round(n / 1e6)} MB`;
  if (n >= 1e3) return `${Math.round(n / 1e3)} kB`;
  return `${n} B`;
}

/** Bytes in the binary units of `repopot.cache.memory`: "3.1 MiB", "4 MiB", "61 MiB", "1.5 GiB", "512 KiB". */
export function formatMiB(n: number): string {
  const short = (x: number) => (x < 10 ? x.toFixed(1).replace(/\.0$/, '') : String(Math.round(x)));
  if (n >= 1024 * MIB) return `${short(n / (1024 * MIB))} GiB`;
  if (n >= MIB) return `${short(n / MIB)} MiB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KiB`;
  return `${n} B`;
}

export function formatTokens(n: number): string {
  if (n >= 1024 && n % 1024 === 0 && n < 1024 * 1024) return `${n / 1024}k`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(n >= 1e4 ? 0 : 1).replace(/\.0$/, '')}k`;
  return String(n);
}

/** The pot's bytes: against the memory setting when it sizes the pot, else on their own. */
function cacheText(s: StatusParams): string {
  return s.memoryBytes > 0 ? `${formatMiB(s.cacheBytes)} of ${formatMiB(s.memoryBytes)}` : formatBytes(s.cacheBytes);
}

export function gaugeText(s: StatusParams): string {
  const icon = s.state === 'ingesting' || s.state === 'answering' ? '$(sync~spin)' : s.state === 'paused' ? '$(debug-pause)' : s.state === 'error' ? '$(error)' : '$(database)';
  let text = `${icon} ${formatTokens(s.tokensKept)}/${formatTokens(s.budget)} · ${Math.round(s.compression)}× · ${cacheText(s)}`;
  if (s.state === 'ingesting' || (s.state === 'paused' && s.filesDone < s.filesTotal)) text += ` · ${s.filesDone}/${s.filesTotal} files`;
  return text;
}

/** The tooltip's table: label → value (Markdown-escaped where it holds names). */
export function gaugeRows(s: StatusParams): [string, string][] {
  const memory = s.memoryBytes > 0;
  const rows: [string, string][] = [
    ['Files', `${s.filesDone} / ${s.filesTotal} (${s.filesSkipped} skipped)`],
    ['Tokens seen', s.tokensSeen.toLocaleString('en-US')],
    ['Tokens kept', `${s.tokensKept.toLocaleString('en-US')} of ${s.budget.toLocaleString('en-US')} ${memory ? 'slots' : 'budget'}`],
    ['Compression', `${s.compression.toFixed(1)}×`],
    ['Cache', memory ? `${cacheText(s)} (repopot.cache.memory: ${s.budget.toLocaleString('en-US')} slots)` : formatBytes(s.cacheBytes)],
    ['Speed', s.tokensPerSecond > 0 ? `${s.tokensPerSecond.toFixed(1)} tok/s` : '—'],
    ['Model', escapeMarkdown(s.model || '—')],
    ['Device', escapeMarkdown(s.device || '—')],
  ];
  if (s.restored) rows.push(['Cache', 'restored from disk']);
  return rows;
}

export function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-!<>|]/g, '\\$&');
}
