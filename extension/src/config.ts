// Typed getters over `repopot.*`. In an untrusted workspace the model path and every executable setting
// are read from user (global) settings and defaults only, never from the workspace.
import * as vscode from 'vscode';
import { DEFAULT_FOURIER, DEFAULT_MEMORY_MIB } from '../../server/src/vocab';
import { defaultSettings, type DecoderSetting, type Device, type SettingPolicy, type ServerSettings } from '../../server/src/lsp/protocol';
import type { KvDtype } from '../../server/src/vocab';

const d = defaultSettings;

export const SECTION = 'repopot';

/** Settings that change what the server loads or ingests: changing one restarts the server. */
export const RESTART_SETTINGS = [
  'model',
  'device',
  'decoder',
  'steering.vectors',
  'cache.budget',
  'cache.fourier',
  'cache.memory',
  'cache.chunkSize',
  'cache.policy',
  'cache.kvDtype',
  'files.include',
  'files.exclude',
] as const;

/** Never taken from workspace settings in an untrusted workspace (also declared in package.json). */
export const TRUST_RESTRICTED = ['model', 'device', 'steering.vectors'] as const;

export { DOWNLOADABLE_MODELS } from '../../server/src/model/pull';
export { OWN_MODEL } from '../../server/src/vocab';

export class Config {
  private get cfg(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION);
  }

  /** A value; restricted keys skip workspace values when the workspace is not trusted. */
  private get<T>(key: string, fallback: T): T {
    if ((TRUST_RESTRICTED as readonly string[]).includes(key) && !vscode.workspace.isTrusted) {
      const i = this.cfg.inspect<T>(key);
      return i?.globalValue ?? i?.defaultValue ?? fallback;
    }
    return this.cfg.get<T>(key, fallback);
  }

  /** '' (RepoPot's own model), a downloadable model name, or an absolute folder. */
  get model(): string {
    return this.get<string>('model', '').trim();
  }

  get device(): Device {
    return this.get<Device>('device', d.device);
  }

  get hoverEnabled(): boolean {
    return this.get<boolean>('hover.enabled', d.hover.enabled);
  }

  /** Everything the server needs except the resolved model folder and cache folder. */
  serverSettings(): Omit<ServerSettings, 'modelPath' | 'modelLabel' | 'cacheDir'> {
    return {
      device: this.device,
      cache: {
        budget: this.get<number>('cache.budget', d.cache.budget),
        chunkSize: this.get<number>('cache.chunkSize', d.cache.chunkSize),
        policy: this.get<SettingPolicy>('cache.policy', d.cache.policy as SettingPolicy),
        fourier: this.get<boolean>('cache.fourier', d.cache.fourier ?? DEFAULT_FOURIER),
        memory: this.get<number>('cache.memory', d.cache.memory ?? DEFAULT_MEMORY_MIB),
      },
      kvDtype: this.get<KvDtype>('cache.kvDtype', d.kvDtype),
      include: this.get<string[]>('files.include', d.include),
      exclude: this.get<string[]>('files.exclude', d.exclude),
      hover: { enabled: this.hoverEnabled, deadlineMs: this.get<number>('hover.deadlineMs', d.hover.deadlineMs) },
      steering: {
        enabled: this.get<boolean>('steering.enabled', d.steering.enabled),
        strength: this.get<number | null>('steering.strength', d.steering.strength),
        vectorsPath: this.get<string>('steering.vectors', d.steering.vectorsPath).trim(),
      },
      decoder: this.get<DecoderSetting>('decoder', d.decoder),
      temperature: this.get<number>('answer.temperature', d.temperature),
      maxAnswerTokens: this.get<number>('answer.maxTokens', d.maxAnswerTokens),
      rereadTokens: this.get<number>('answer.reread', d.rereadTokens),
      snapPaths: this.get<boolean>('answer.snapPaths', d.snapPaths),
      snapValues: this.get<boolean>('answer.snapValues', d.snapValues),
    };
  }

  async setModel(value: string): Promise<void> {
    await this.cfg.update('model', value, vscode.ConfigurationTarget.Global);
  }

  needsRestart(e: vscode.ConfigurationChangeEvent): boolean {
    return RESTART_SETTINGS.some((k) => e.affectsConfiguration(`${SECTION}.${k}`));
  }
}
