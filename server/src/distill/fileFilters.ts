// Heuristics that decide which repository files are worth streaming into a small model's fixed KV budget.
// Path rules run before a file is read (cheap, and they keep node_modules from ever being walked); content rules
// run on the bytes. Each returns the skip reason so the walker can count it.

/** Why a file (or a pruned directory) was not streamed. */
export type SkipReason =
  | 'ignored' // matched .gitignore
  | 'excluded' // matched an exclude glob (user or default, e.g. .git)
  | 'not-included' // include globs were given and none matched
  | 'vendored' // third-party code: node_modules, vendor/, .venv ...
  | 'generated' // build output, lock files, "@generated" / "DO NOT EDIT" files
  | 'minified' // *.min.js or code with very long lines
  | 'data' // a data table or dump, not source: large JSON / CSV / TSV / JSON lines
  | 'binary' // binary extension or NUL bytes
  | 'too-large' // over maxFileBytes
  | 'invalid-utf8'
  | 'unreadable' // permission denied or another I/O error
  | 'symlink-loop' // a symlink to an ancestor directory, or a chain that never resolves
  | 'broken-symlink'
  | 'outside-root' // a symlink leaving the repository
  | 'duplicate' // a symlink to a file or directory already streamed under another path
  | 'not-a-file'; // socket, FIFO, device

export const SKIP_REASONS: readonly SkipReason[] = [
  'ignored',
  'excluded',
  'not-included',
  'vendored',
  'generated',
  'minified',
  'data',
  'binary',
  'too-large',
  'invalid-utf8',
  'unreadable',
  'symlink-loop',
  'broken-symlink',
  'outside-root',
  'duplicate',
  'not-a-file',
];

/**
 * Never streamed: version-control and editor folders, and files that usually hold secrets (a model that cites
 * its sources should not be able to quote a private key).
 */
export const DEFAULT_EXCLUDES: readonly string[] = [
  '.git',
  '.hg',
  '.svn',
  '.idea',
  '.vscode-test',
  '.DS_Store',
  '.env',
  '.env.*',
  '*.pem',
  '*.key',
  '*.p12',
  '*.pfx',
  'id_rsa*',
  'id_ed25519*',
  '.npmrc',
  '.pypirc',
  '.netrc',
];

/** Directory names holding third-party code. */
const VENDORED_DIRS = new Set([
  'node_modules',
  'bower_components',
  'jspm_packages',
  'vendor',
  'third_party',
  'third-party',
  'thirdparty',
  'site-packages',
  '.venv',
  'venv',
  'Pods',
  'Carthage',
]);

/** Directory names holding build output or caches. */
const GENERATED_DIRS = new Set([
  'dist',
  'build',
  'out',
  'target',
  'coverage',
  '.next',
  '.nuxt',
  '.svelte-kit',
  '.turbo',
  '.cache',
  '.parcel-cache',
  '.gradle',
  '.tox',
  '.mypy_cache',
  '.pytest_cache',
  '.ruff_cache',
  '__pycache__',
  '.eggs',
  'obj',
]);

/** The build output folders among them: they hold a package's code when it ships nothing else (repoWalker.ts). */
const BUILD_OUTPUT_DIRS = new Set(['dist', 'build', 'out']);

/** Whether the folder at `relPath` is a build output folder (by its name). */
export function isBuildOutputDir(relPath: string): boolean {
  return BUILD_OUTPUT_DIRS.has(relPath.slice(relPath.lastIndexOf('/') + 1));
}

const LOCK_FILES = new Set([
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'bun.lockb',
  'Cargo.lock',
  'poetry.lock',
  'Pipfile.lock',
  'uv.lock',
  'go.sum',
  'composer.lock',
  'Gemfile.lock',
  'mix.lock',
  'flake.lock',
  'packages.lock.json',
]);

const GENERATED_NAME = /(?:\.pb\.go|_pb2(?:_grpc)?\.pyi?|\.pb\.(?:h|cc)|\.generated\.\w+|\.g\.dart|\.freezed\.dart|\.designer\.cs|\.map|\.tsbuildinfo|\.pyc|\.pyo|\.class|\.o|\.obj|\.d\.ts\.map)$/i;
const MINIFIED_NAME = /[.-]min\.(?:js|mjs|cjs|css)$|\.bundle\.js$/i;

const BINARY_EXTENSIONS = new Set(
  (
    'png jpg jpeg gif bmp ico icns webp avif tif tiff psd heic svgz ' +
    'mp3 mp4 m4a wav ogg flac webm mov avi mkv ' +
    'zip gz tgz bz2 xz zst 7z rar tar jar war ear whl egg nupkg vsix crx ' +
    'exe dll so dylib a lib o obj pdb wasm node bin dat class pyc pyd ' +
    'pdf doc docx xls xlsx ppt pptx odt ' +
    'ttf otf woff woff2 eot ' +
    'onnx pt pth ckpt safetensors gguf ggml npy npz h5 pb tflite parquet arrow feather ' +
    'sqlite sqlite3 db mdb iso dmg img'
  ).split(' '),
);

/** "@generated" or "DO NOT EDIT" in a comment line (Go's "// Code generated ... DO NOT EDIT." included). */
const GENERATED_MARKER = /^[ \t]*(?:\/\/|\/\*|\*|#|--|;|<!--|%).*(?:@generated\b|\bDO NOT EDIT\b)/m;

/** Extensions where very long lines mean minified/bundled output rather than hand-written code. */
const MINIFIABLE = /\.(?:js|mjs|cjs|jsx|ts|tsx|css|scss|less|json|html?|svg|xml)$/i;

/** Path-only classification of a directory (walked) or file (before reading). Null = keep. */
export function classifyPath(relPath: string, isDirectory: boolean): SkipReason | null {
  const name = relPath.slice(relPath.lastIndexOf('/') + 1);
  if (isDirectory) {
    if (VENDORED_DIRS.has(name)) return 'vendored';
    if (GENERATED_DIRS.has(name)) return 'generated';
    return null;
  }
  if (LOCK_FILES.has(name) || GENERATED_NAME.test(name)) return 'generated';
  if (MINIFIED_NAME.test(name)) return 'minified';
  const dot = name.lastIndexOf('.');
  if (dot > 0 && BINARY_EXTENSIONS.has(name.slice(dot + 1).toLowerCase())) return 'binary';
  return null;
}

/** git's heuristic: a NUL byte in the first 8000 bytes means binary. */
export function looksBinary(bytes: Uint8Array): boolean {
  const end = Math.min(bytes.length, 8000);
  for (let i = 0; i < end; i++) if (bytes[i] === 0) return true;
  return false;
}

/**
 * Content classification of decoded text. Generated-file markers follow the conventions tools actually emit
 * (Go's "Code generated ... DO NOT EDIT.", "@generated"), looked for near the top only.
 */
export function classifyText(relPath: string, text: string): SkipReason | null {
  if (GENERATED_MARKER.test(text.slice(0, 2000))) return 'generated';
  if (MINIFIABLE.test(relPath) && isMinified(text)) return 'minified';
  return null;
}

/** Long average lines or one huge line in a sizeable file: bundler/minifier output. */
function isMinified(text: string): boolean {
  if (text.length < 1024) return false;
  let lines = 0;
  let longest = 0;
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl;
    lines++;
    longest = Math.max(longest, end - start);
    if (nl < 0) break;
    start = nl + 1;
  }
  return text.length / lines > 300 || longest > 5000;
}

/** Data formats: a file of one of these above its size limit is a table or dump, not source worth a KV budget. */
const DATA_LIMITS: readonly [RegExp, number][] = [
  [/\.(?:csv|tsv|psv|jsonl|ndjson)$/i, 8 * 1024],
  [/\.(?:json|geojson|topojson)$/i, 16 * 1024],
];

/** 'data' specifics (e.g. "20480 bytes of JSON > 16 KiB") when `relPath` of `bytes` is a data file, else null. */
export function classifyData(relPath: string, bytes: number): string | null {
  for (const [pattern, limit] of DATA_LIMITS) {
    if (pattern.test(relPath) && bytes > limit) return `${bytes} bytes of ${relPath.slice(relPath.lastIndexOf('.') + 1).toUpperCase()} > ${limit / 1024} KiB`;
  }
  return null;
}
