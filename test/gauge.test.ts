// The status-bar gauge's words (extension/src/gauge_text.ts, no vscode needed): sized in slots it shows the pot's
// bytes on their own; sized by repopot.cache.memory it shows the bytes used of that size, in the setting's MiB, and
// the tooltip gives both the slots and the bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMiB, gaugeRows, gaugeText } from '../extension/src/gauge_text';
import type { StatusParams } from '../server/src/lsp/protocol';
import { MIB } from '../server/src/vocab';

const idle: StatusParams = {
  seq: 1, state: 'idle', filesDone: 120, filesTotal: 120, filesSkipped: 3, tokensSeen: 49_152, tokensKept: 4000, budget: 4096,
  compression: 12.3, cacheBytes: 61_000_000, memoryBytes: 0, tokensPerSecond: 0, model: 'repopot-tiny-code', device: 'cpu', restored: false,
};

test('the gauge in slots: kept/budget, compression and the bytes', () => {
  assert.equal(gaugeText(idle), '$(database) 4k/4k · 12× · 61 MB');
  const rows = new Map(gaugeRows(idle));
  assert.equal(rows.get('Tokens kept'), '4,000 of 4,096 budget');
  assert.equal(rows.get('Cache'), '61 MB');
});

test('the gauge with repopot.cache.memory: the bytes used of the memory budget, in MiB; the tooltip gives slots and bytes', () => {
  const s = { ...idle, cacheBytes: Math.round(3.1 * MIB), memoryBytes: 4 * MIB };
  assert.equal(gaugeText(s), '$(database) 4k/4k · 12× · 3.1 MiB of 4 MiB');
  assert.equal(gaugeText({ ...s, state: 'ingesting', filesDone: 30 }), '$(sync~spin) 4k/4k · 12× · 3.1 MiB of 4 MiB · 30/120 files');
  const rows = new Map(gaugeRows(s));
  assert.equal(rows.get('Tokens kept'), '4,000 of 4,096 slots');
  assert.equal(rows.get('Cache'), '3.1 MiB of 4 MiB (repopot.cache.memory: 4,096 slots)');
  assert.deepEqual([formatMiB(512), formatMiB(300 * 1024), formatMiB(61 * MIB), formatMiB(1.5 * 1024 * MIB)], ['512 B', '300 KiB', '61 MiB', '1.5 GiB']);
});
