// The end-to-end suites as node:test tests, so `npm test`'s summary counts them: each runs as its own process
// (they drive a real VS Code), and one that reports "skipped: <reason>" (no VS Code executable, no code-server,
// no test model) is counted as skipped with that reason, never as passed.
// Set up with tools/e2e/setup.sh; the Electron suite needs REPOPOT_VSCODE_EXECUTABLE (see README, "Tests").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const project = path.resolve(import.meta.dirname, '..', '..');

function runSuite(t: test.TestContext, script: string, timeoutMs: number): void {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(project, 'test', 'e2e', script)], { cwd: project, encoding: 'utf8', timeout: timeoutMs });
  const out = `${r.stdout}${r.stderr}`;
  const skipped = /tests? skipped: (.*)|e2e skipped: (.*)/.exec(out);
  if (r.status === 0 && skipped) {
    t.skip((skipped[1] ?? skipped[2] ?? '').trim());
    return;
  }
  assert.equal(r.status, 0, `${script} failed:\n${out.slice(-4000)}`);
  t.diagnostic(out.trim().split('\n').slice(-3).join(' | '));
}

test('extension host (Electron VS Code, REPOPOT_VSCODE_EXECUTABLE)', (t) => runSuite(t, 'extension-host.e2e.ts', 15 * 60_000));

test('code-server (browser VS Code, tools/e2e/setup.sh)', (t) => {
  // The browser suite installs the packaged .vsix.
  const pack = spawnSync(process.execPath, [path.join(project, 'tools', 'package.mjs')], { cwd: project, encoding: 'utf8', timeout: 15 * 60_000 });
  assert.equal(pack.status, 0, `npm run package failed:\n${pack.stdout}${pack.stderr}`.slice(-4000));
  runSuite(t, 'code-server.e2e.ts', 20 * 60_000);
});
