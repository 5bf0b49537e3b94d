// Runs inside VS Code's extension host (loaded by @vscode/test-electron). Plain CommonJS, node:assert only.
'use strict';
const assert = require('node:assert/strict');
const path = require('node:path');
const vscode = require('vscode');

/** Resolves when the extension's health satisfies `pred` (event-driven, bounded by `ms`). */
function waitForHealth(api, pred, ms) {
  return new Promise((resolve, reject) => {
    if (pred(api.health)) return resolve(api.health);
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`timed out; last health ${JSON.stringify(api.health)}`));
    }, ms);
    const sub = api.onDidChangeHealth((h) => {
      if (pred(h)) {
        clearTimeout(timer);
        sub.dispose();
        resolve(h);
      }
    });
  });
}

async function run() {
  const ext = vscode.extensions.getExtension('repopot.repopot');
  assert.ok(ext, 'the extension is installed');
  const api = await ext.activate();
  const commands = await vscode.commands.getCommands(true);
  for (const c of ['repopot.askAboutRepo', 'repopot.askAboutSelection', 'repopot.openChat', 'repopot.pause', 'repopot.resume', 'repopot.rebuildCache', 'repopot.chooseModel']) {
    assert.ok(commands.includes(c), `${c} is registered`);
  }
  const idle = await waitForHealth(api, (h) => h.kind === 'running' && h.status && h.status.state === 'idle', 60000);
  assert.ok(idle.status.filesDone > 0, 'files ingested');

  const root = vscode.workspace.workspaceFolders[0].uri;
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(root, 'src', 'cart.ts'));
  await vscode.window.showTextDocument(doc);
  const line = doc.getText().split('\n').findIndex((l) => l.includes('function checkout'));
  const character = doc.lineAt(line).text.indexOf('checkout') + 2;
  const hovers = await vscode.commands.executeCommand('vscode.executeHoverProvider', doc.uri, new vscode.Position(line, character));
  const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
  assert.match(text, /RepoPot/, 'hover from RepoPot');

  await vscode.commands.executeCommand('repopot.pause');
  await waitForHealth(api, (h) => h.kind === 'running' && h.status && h.status.state === 'paused', 10000);
  await vscode.commands.executeCommand('repopot.resume');
  await waitForHealth(api, (h) => h.kind === 'running' && h.status && h.status.state === 'idle', 10000);
  await vscode.commands.executeCommand('repopot.openChat');
  console.log(`extension tests passed (${path.basename(root.fsPath)})`);
}

module.exports = { run };
