// Extension tests in a real VS Code (Electron) with @vscode/test-electron.
// Needs a VS Code build named by REPOPOT_VSCODE_EXECUTABLE (nothing is downloaded); says "skipped" otherwise.
// Run: npm run build && REPOPOT_VSCODE_EXECUTABLE=/path/to/code node --import tsx test/e2e/extension-host.e2e.ts
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';

const project = path.resolve(import.meta.dirname, '..', '..');
const executable = process.env.REPOPOT_VSCODE_EXECUTABLE;
const modelDir = process.env.REPOPOT_TEST_MODEL ?? (existsSync(path.join(project, 'models', 'repopot-tiny-code', 'model.safetensors')) ? path.join(project, 'models', 'repopot-tiny-code') : path.resolve(project, '..', 'shared', 'models', 'stories260K'));

async function main(): Promise<void> {
  if (!executable || !existsSync(executable)) {
    console.log('extension tests skipped: set REPOPOT_VSCODE_EXECUTABLE to a VS Code executable to run them');
    return;
  }
  if (!existsSync(modelDir)) {
    console.log(`extension tests skipped: no test model at ${modelDir}`);
    return;
  }
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'repopot-vscode-'));
  const workspace = path.join(tmp, 'tiny-shop');
  await fs.cp(path.join(project, 'test', 'fixtures', 'repo'), workspace, { recursive: true });
  const userData = path.join(tmp, 'user-data');
  await fs.mkdir(path.join(userData, 'User'), { recursive: true });
  await fs.writeFile(path.join(userData, 'User', 'settings.json'), JSON.stringify({ 'repopot.model': modelDir, 'security.workspace.trust.enabled': false }));
  try {
    await runTests({
      vscodeExecutablePath: executable,
      extensionDevelopmentPath: project,
      extensionTestsPath: path.join(project, 'test', 'e2e', 'electron', 'suite.cjs'),
      launchArgs: [workspace, '--disable-extensions', '--user-data-dir', userData, '--disable-workspace-trust'],
    });
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
