// `npm run package [-- --target linux-x64]`: builds, then packs a platform-specific .vsix with @vscode/vsce.
// The .vsix holds the bundles (dist/), the webview assets (media/), the bundled model when present
// (models/repopot-tiny-code) and onnxruntime-node with the native binaries of the target platform only.
// `--no-build` packs the existing dist/. Targets: linux-x64 (default), linux-arm64, darwin-arm64, win32-x64, win32-arm64 (each onnxruntime-node ships).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const targetArg = args.indexOf('--target');
const target = targetArg >= 0 ? args[targetArg + 1] : process.env.REPOPOT_TARGET ?? 'linux-x64';
const [platform, arch] = target.split('-');
const binDir = `node_modules/onnxruntime-node/bin/napi-v6/${platform}/${arch}`;
if (!existsSync(path.join(root, binDir))) {
  console.error(`package: no onnxruntime-node binaries for ${target} (${binDir}); targets: linux-x64, linux-arm64, darwin-arm64, win32-x64, win32-arm64`);
  process.exit(1);
}

const run = (cmd, argv) => execFileSync(cmd, argv, { cwd: root, stdio: 'inherit' });
if (!args.includes('--no-build')) run(process.execPath, ['tools/build.mjs']);
for (const f of ['dist/extension.js', 'dist/server.js', 'dist/webview/chat.js']) {
  if (!existsSync(path.join(root, f))) {
    console.error(`package: ${f} was not built`);
    process.exit(1);
  }
}
if (!existsSync(path.join(root, 'models', 'repopot-tiny-code'))) {
  console.warn('package: models/repopot-tiny-code is not there yet; the .vsix will ask the user to choose a model.');
}

// The per-target ignore file: .vscodeignore plus this platform's native binaries.
const work = path.join(root, 'out', 'package');
mkdirSync(work, { recursive: true });
const ignoreFile = path.join(work, `.vscodeignore-${target}`);
writeFileSync(ignoreFile, readFileSync(path.join(root, '.vscodeignore'), 'utf8') + `\n!${binDir}/**\n`);
const version = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version;
const out = path.join(root, `repopot-${target}-${version}.vsix`);
rmSync(out, { force: true });
const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
run(process.execPath, [vsce, 'package', '--target', target, '--ignoreFile', ignoreFile, '--out', out, '--skip-license', '--allow-missing-repository', '--allow-star-activation', '--no-rewrite-relative-links']);
console.log(`package: ${path.relative(root, out)}`);
