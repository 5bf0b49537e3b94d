// `repopot model pull NAME`: downloads a known model's files from the Hugging Face Hub into DEST/NAME.
//
// Per file: HEAD (redirects not followed) for the LFS sha256 (x-linked-etag) and size, then GET with
// `Range: bytes=N-` when DEST/NAME/FILE.part already holds N bytes; the body streams into the .part file while
// hashing, the sha256 is checked when the Hub gave one, and the .part is renamed into place. An interrupted run
// resumes where it stopped. Without network the first request fails fast with a message pointing at --model DIR.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';

export interface KnownModel {
  /** Hugging Face repository id. */
  repo: string;
  description: string;
  /** Files fetched from the repository's main branch, small ones first. */
  files: readonly string[];
  /** Offered by the extension's "Choose Model…" (and named in package.json's repopot.model description). */
  offered?: boolean;
}

const HF_FILES = ['config.json', 'generation_config.json', 'tokenizer_config.json', 'tokenizer.json', 'model.safetensors'] as const;

export const KNOWN_MODELS: Readonly<Record<string, KnownModel>> = {
  'qwen2.5-coder-0.5b-instruct': {
    repo: 'Qwen/Qwen2.5-Coder-0.5B-Instruct',
    description: 'Qwen2.5-Coder 0.5B Instruct (bf16, ~1 GB)',
    files: HF_FILES,
    offered: true,
  },
  'qwen2.5-coder-1.5b-instruct': {
    repo: 'Qwen/Qwen2.5-Coder-1.5B-Instruct',
    description: 'Qwen2.5-Coder 1.5B Instruct (bf16, ~3.1 GB)',
    files: HF_FILES,
    offered: true,
  },
  'smollm2-135m-instruct': {
    repo: 'HuggingFaceTB/SmolLM2-135M-Instruct',
    description: 'SmolLM2 135M Instruct (bf16, ~270 MB)',
    files: HF_FILES,
  },
};

/** The models the extension offers for download: KNOWN_MODELS marked `offered`. */
export const DOWNLOADABLE_MODELS: readonly string[] = Object.keys(KNOWN_MODELS).filter((name) => KNOWN_MODELS[name]!.offered);

export const DEFAULT_HUB_URL = 'https://huggingface.co';

export interface PullProgress {
  file: string;
  /** Index of `file` in the model's file list, and the list's length. */
  fileIndex: number;
  fileCount: number;
  bytesDone: number;
  /** Unknown when the server sends no length. */
  bytesTotal?: number;
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface PullOptions {
  onProgress?: (progress: PullProgress) => void;
  signal?: AbortSignal;
  /** Injected in tests; default global fetch. */
  fetchImpl?: FetchLike;
  /** Hub base URL; tests point it at a local server. */
  baseUrl?: string;
  /** How long to wait for response headers before calling the Hub unreachable (default 10 s). */
  connectTimeoutMs?: number;
  /** A download that receives nothing for this long is abandoned as interrupted (default 60 s); it resumes next run. */
  idleTimeoutMs?: number;
}

export type PullErrorKind = 'unknown-model' | 'offline' | 'http' | 'interrupted' | 'checksum';

export class ModelPullError extends Error {
  override readonly name = 'ModelPullError';
  readonly kind: PullErrorKind;
  /** The file being fetched, when the problem is about one. */
  readonly file?: string;
  /** HTTP status for kind 'http'. */
  readonly status?: number;

  constructor(kind: PullErrorKind, message: string, file?: string, options?: { cause?: unknown; status?: number }) {
    super(message, options);
    this.kind = kind;
    this.file = file;
    this.status = options?.status;
  }
}

/** Network failures that mean "no route to the Hub" rather than a problem with one file. */
const OFFLINE_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNRESET', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function offlineError(name: string, model: KnownModel, baseUrl: string, reason: string, cause: unknown): ModelPullError {
  return new ModelPullError(
    'offline',
    `cannot reach ${baseUrl} (${reason}). \`repopot model pull\` needs internet access. Without it, download the files of ` +
      `${DEFAULT_HUB_URL}/${model.repo} (${model.files.join(', ')}) on another machine into a folder and pass it with ` +
      `--model DIR instead of pulling "${name}".`,
    undefined,
    { cause },
  );
}

/** Combines the caller's signal with a connect timeout that is cleared once headers arrive. */
async function fetchWithTimeout(fetchImpl: FetchLike, url: string, init: RequestInit, options: PullOptions): Promise<Response> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new Error('connect timeout')), options.connectTimeoutMs ?? 10_000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout.signal]) : timeout.signal;
  try {
    return await fetchImpl(url, { ...init, signal });
  } catch (err) {
    if (options.signal?.aborted) throw err;
    if (timeout.signal.aborted) {
      const e = new Error('no response within the connect timeout');
      (e as Error & { code: string }).code = 'ETIMEDOUT';
      throw e;
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

interface RemoteFileInfo {
  /** LFS sha256 (hex) when the Hub reports one. */
  sha256?: string;
  size?: number;
}

/** The Hub sends the LFS object's sha256 as a quoted ETag on the (unfollowed) redirect; git blobs get a sha1 instead. */
export function sha256FromEtag(value: string | null): string | undefined {
  if (!value) return undefined;
  const match = /^(?:W\/)?"?([0-9a-f]{64})"?$/i.exec(value.trim());
  return match ? match[1].toLowerCase() : undefined;
}

async function hashExisting(file: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
}

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await fsp.stat(file)).size;
  } catch {
    return undefined;
  }
}

/** Downloads one file into `dest` (resuming `dest.part`), verifying its sha256 when known. */
async function pullFile(url: string, dest: string, report: (done: number, total?: number) => void, options: PullOptions, fetchImpl: FetchLike): Promise<void> {
  const fileName = path.basename(dest);
  const head = await fetchWithTimeout(fetchImpl, url, { method: 'HEAD', redirect: 'manual' }, options);
  if (head.status === 404 || head.status === 401) {
    throw new ModelPullError('http', `${url}: not found on the Hub (HTTP ${head.status})`, fileName, { status: head.status });
  }
  const info: RemoteFileInfo = {
    sha256: sha256FromEtag(head.headers.get('x-linked-etag')) ?? sha256FromEtag(head.headers.get('etag')),
    // On a redirect, content-length describes the redirect body, not the file.
    size: Number(head.headers.get('x-linked-size') ?? (head.status === 200 ? head.headers.get('content-length') : null) ?? NaN) || undefined,
  };

  const partFile = `${dest}.part`;
  let offset = (await sizeOf(partFile)) ?? 0;
  if (info.size !== undefined && offset > info.size) {
    await fsp.rm(partFile, { force: true });
    offset = 0;
  }
  const hash = createHash('sha256');
  let response: Response | undefined;
  // Aborting `stall` cancels the body stream when the server goes quiet mid-transfer.
  const stall = new AbortController();
  const bodyOptions: PullOptions = { ...options, signal: options.signal ? AbortSignal.any([options.signal, stall.signal]) : stall.signal };
  if (info.size === undefined || offset < info.size) {
    const headers: Record<string, string> = offset > 0 ? { Range: `bytes=${offset}-` } : {};
    response = await fetchWithTimeout(fetchImpl, url, { headers, redirect: 'follow' }, bodyOptions);
    if (response.status === 200 && offset > 0) offset = 0; // server ignored the range: start over
    else if (response.status === 416) response = undefined; // the .part already holds everything
    else if (response.status !== 200 && response.status !== 206) {
      throw new ModelPullError('http', `${url}: HTTP ${response.status} ${response.statusText}`, fileName, { status: response.status });
    }
  }
  if (offset > 0) await hashExisting(partFile, hash);

  if (response?.body) {
    const total = info.size ?? (Number(response.headers.get('content-length')) || 0) + offset;
    const handle = await fsp.open(partFile, offset > 0 ? 'a' : 'w');
    let done = offset;
    const idleMs = options.idleTimeoutMs ?? 60_000;
    let idleTimer = setTimeout(() => stall.abort(new Error(`no data for ${idleMs} ms`)), idleMs);
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => stall.abort(new Error(`no data for ${idleMs} ms`)), idleMs);
        await handle.write(chunk);
        hash.update(chunk);
        done += chunk.length;
        report(done, total || undefined);
      }
    } catch (err) {
      if (options.signal?.aborted) throw err;
      throw new ModelPullError(
        'interrupted',
        `download of ${fileName} was interrupted after ${done} bytes (${stall.signal.aborted ? String(stall.signal.reason) : String(errorCode(err) ?? (err instanceof Error ? err.message : err))}); run the same command again to resume`,
        fileName,
        { cause: err },
      );
    } finally {
      clearTimeout(idleTimer);
      await handle.close();
    }
  }

  if ((await sizeOf(partFile)) === undefined) await fsp.writeFile(partFile, ''); // an empty file has no body to stream
  const size = (await sizeOf(partFile)) ?? 0;
  if (info.size !== undefined && size !== info.size) {
    throw new ModelPullError('interrupted', `download of ${fileName} stopped at ${size} of ${info.size} bytes; run the same command again to resume`, fileName);
  }
  if (info.sha256) {
    const actual = hash.digest('hex');
    if (actual !== info.sha256) {
      await fsp.rm(partFile, { force: true }); // a corrupt partial file must not be resumed
      throw new ModelPullError('checksum', `${fileName}: sha256 ${actual} does not match the Hub's ${info.sha256}; the download was discarded, try again`, fileName);
    }
  }
  await fsp.rename(partFile, dest);
}

/**
 * Downloads model NAME (a key of KNOWN_MODELS) into `destRoot/NAME` and returns that folder.
 * Files already present are kept; partial downloads resume.
 */
export async function pullModel(name: string, destRoot: string, options: PullOptions = {}): Promise<string> {
  const model = KNOWN_MODELS[name];
  if (!model) {
    throw new ModelPullError('unknown-model', `unknown model "${name}"; known models: ${Object.keys(KNOWN_MODELS).join(', ')}`);
  }
  const fetchImpl: FetchLike = options.fetchImpl ?? ((input, init) => fetch(input, init));
  const baseUrl = (options.baseUrl ?? DEFAULT_HUB_URL).replace(/\/+$/, '');
  const dir = path.join(destRoot, name);
  await fsp.mkdir(dir, { recursive: true });
  const files = [...model.files];
  for (let fileIndex = 0; fileIndex < files.length; fileIndex++) {
    const file = files[fileIndex];
    const dest = path.join(dir, file);
    if ((await sizeOf(dest)) !== undefined) continue;
    const url = `${baseUrl}/${model.repo}/resolve/main/${file}`;
    const report = (bytesDone: number, bytesTotal?: number): void =>
      options.onProgress?.({ file, fileIndex, fileCount: files.length, bytesDone, bytesTotal });
    try {
      await pullFile(url, dest, report, options, fetchImpl);
    } catch (err) {
      // Larger checkpoints are sharded: fall back to the index and queue the shards it names.
      if (err instanceof ModelPullError && err.status === 404 && file === SINGLE_WEIGHTS_FILE) {
        files.splice(fileIndex + 1, 0, SHARD_INDEX);
        continue;
      }
      if (err instanceof ModelPullError || options.signal?.aborted) throw err;
      const code = errorCode(err);
      if (code && OFFLINE_CODES.has(code)) throw offlineError(name, model, baseUrl, code, err);
      if (err instanceof TypeError && /fetch failed/i.test(err.message)) throw offlineError(name, model, baseUrl, err.message, err);
      throw err;
    }
    if (file === SHARD_INDEX) files.splice(fileIndex + 1, 0, ...(await shardsNamedBy(dest)));
  }
  return dir;
}

const SINGLE_WEIGHTS_FILE = 'model.safetensors';
const SHARD_INDEX = 'model.safetensors.index.json';

/** The shard file names in a downloaded model.safetensors.index.json (plain names only: no paths). */
async function shardsNamedBy(indexFile: string): Promise<string[]> {
  let index: unknown;
  try {
    index = JSON.parse(await fsp.readFile(indexFile, 'utf8'));
  } catch (err) {
    throw new ModelPullError('http', `${SHARD_INDEX} is not valid JSON (${err instanceof Error ? err.message : String(err)})`, SHARD_INDEX);
  }
  const map = typeof index === 'object' && index !== null ? (index as { weight_map?: unknown }).weight_map : undefined;
  if (typeof map !== 'object' || map === null) throw new ModelPullError('http', `${SHARD_INDEX} has no weight_map`, SHARD_INDEX);
  const shards = [...new Set(Object.values(map))];
  if (!shards.every((s): s is string => typeof s === 'string' && /^[\w.-]+\.safetensors$/.test(s))) {
    throw new ModelPullError('http', `${SHARD_INDEX} names shard files that are not plain *.safetensors names`, SHARD_INDEX);
  }
  return shards.sort();
}
