// Which model folder the server loads: RepoPot's own (bundled) model by default, a downloaded
// Qwen2.5-Coder, or a local folder. Downloads run here with a progress notification; offline is a message.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { KNOWN_MODELS, ModelPullError, pullModel } from '../../server/src/model/pull';
import { DOWNLOADABLE_MODELS, OWN_MODEL, type Config } from './config';
import { formatBytes } from './gauge_text';

export interface ModelProblem {
  message: string;
  /** A downloadable model that is not downloaded yet. */
  download?: string;
}

export function modelsRoot(ext: vscode.ExtensionContext): string {
  return path.join(ext.globalStorageUri.fsPath, 'models');
}

/** Holds weights the engine can load: Hugging Face (config.json + *.safetensors) or llama2.c (*.bin). */
function looksLikeModel(dir: string): boolean {
  try {
    const names = fs.readdirSync(dir);
    return (names.includes('config.json') && names.some((n) => n.endsWith('.safetensors'))) || names.some((n) => n.endsWith('.bin'));
  } catch {
    return false;
  }
}

/** The folder to load, or why there is none. */
export function resolveModel(ext: vscode.ExtensionContext, config: Config): { dir: string; label: string } | { problem: ModelProblem } {
  const choice = config.model;
  if (choice === '') {
    const dir = ext.asAbsolutePath(path.join('models', OWN_MODEL));
    if (looksLikeModel(dir)) return { dir, label: OWN_MODEL };
    return {
      problem: {
        message: `RepoPot's own model (${OWN_MODEL}) is not part of this build yet. Choose a model: download Qwen2.5-Coder or pick a local model folder.`,
      },
    };
  }
  if ((DOWNLOADABLE_MODELS as readonly string[]).includes(choice)) {
    const dir = path.join(modelsRoot(ext), choice);
    if (fs.existsSync(path.join(dir, 'config.json')) && fs.existsSync(path.join(dir, 'model.safetensors'))) return { dir, label: choice };
    return { problem: { message: `${KNOWN_MODELS[choice]?.description ?? choice} is not downloaded yet.`, download: choice } };
  }
  if (!path.isAbsolute(choice)) {
    return { problem: { message: `repopot.model must be empty, one of ${DOWNLOADABLE_MODELS.join(', ')}, or an absolute folder (got "${choice}").` } };
  }
  if (!looksLikeModel(choice)) {
    return { problem: { message: `${choice} is not a model folder (expected config.json with *.safetensors, or a llama2.c *.bin checkpoint).` } };
  }
  return { dir: choice, label: path.basename(choice) };
}

/** Downloads `name` with a cancellable progress notification. Returns false (after saying why) on failure. */
export async function downloadModel(ext: vscode.ExtensionContext, name: string, log: vscode.LogOutputChannel): Promise<boolean> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `RepoPot: downloading ${name}`, cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      const sub = token.onCancellationRequested(() => abort.abort());
      let lastPct = 0;
      try {
        await pullModel(name, modelsRoot(ext), {
          signal: abort.signal,
          onProgress: (p) => {
            const pct = p.bytesTotal ? Math.floor((100 * p.bytesDone) / p.bytesTotal) : 0;
            const inc = p.fileIndex === p.fileCount - 1 ? Math.max(0, pct - lastPct) : 0;
            lastPct = p.fileIndex === p.fileCount - 1 ? pct : lastPct;
            progress.report({ message: `${p.file} (${p.fileIndex + 1}/${p.fileCount}) ${formatBytes(p.bytesDone)}${p.bytesTotal ? ` / ${formatBytes(p.bytesTotal)}` : ''}`, increment: inc });
          },
        });
        return true;
      } catch (err) {
        if (token.isCancellationRequested) return false;
        const offline = err instanceof ModelPullError && err.kind === 'offline';
        const message = offline
          ? `Cannot download ${name}: no connection to huggingface.co. RepoPot keeps working with its current model; to use another one offline, choose "Local folder…" and pick a downloaded model.`
          : `Downloading ${name} failed: ${err instanceof Error ? err.message : String(err)}`;
        log.error(message);
        void vscode.window.showErrorMessage(message, 'Open Logs').then((p) => p && log.show());
        return false;
      } finally {
        sub.dispose();
      }
    },
  );
}

/** The "choose model" quick pick; updates repopot.model (user settings), downloading when needed. */
export async function chooseModel(ext: vscode.ExtensionContext, config: Config, log: vscode.LogOutputChannel): Promise<boolean> {
  type Item = vscode.QuickPickItem & { value: string | 'folder' };
  const current = config.model;
  const items: Item[] = [
    { label: `RepoPot ${OWN_MODEL}`, description: 'built in', detail: "RepoPot's own small code model", value: '' },
    ...DOWNLOADABLE_MODELS.map((m) => ({
      label: m,
      description: fs.existsSync(path.join(modelsRoot(ext), m, 'model.safetensors')) ? 'downloaded' : 'download',
      detail: KNOWN_MODELS[m]?.description,
      value: m,
    })),
    { label: 'Local folder…', detail: 'A Hugging Face model folder (config.json, tokenizer, safetensors) or a llama2.c model', value: 'folder' },
  ];
  for (const i of items) if (i.value === current) i.picked = true;
  const pick = await vscode.window.showQuickPick(items, { title: 'RepoPot: Choose Model', placeHolder: current ? `Current: ${current}` : `Current: ${OWN_MODEL}` });
  if (!pick) return false;
  let value = pick.value;
  if (value === 'folder') {
    const folder = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use this model' });
    if (!folder?.[0]) return false;
    value = folder[0].fsPath;
  } else if (value !== '' && pick.description === 'download') {
    if (!(await downloadModel(ext, value, log))) return false;
  }
  await config.setModel(value);
  return true;
}
