// The one definition of every name and default that more than one module (or package.json) uses: devices,
// decoders, cache policies, weight formats, the built-in model's id, chunk sizes and RepoPot's JSON-RPC error
// codes. No imports: the server, the CLI and the extension all read it. test/vocab.test.ts checks package.json's
// enums and defaults against it.

/** Where the model runs (`repopot.device`, `--device`). */
export const DEVICES = ['auto', 'cpu', 'webgpu', 'cuda'] as const;
export type Device = (typeof DEVICES)[number];
/** The extension's default device (the CLI defaults to cpu: reproducible numbers). */
export const DEFAULT_DEVICE: Device = 'auto';
export const DEFAULT_CLI_DEVICE: Device = 'cpu';

/** How answers are decoded (`repopot.decoder`, `--decoder`); server/src/decode/index.ts makes each. */
export const DECODERS = ['sequential', 'parallel', 'confidence', 'auto', 'block-diffusion'] as const;
export type DecoderSetting = (typeof DECODERS)[number];
export const DEFAULT_DECODER: DecoderSetting = 'sequential';

/** Every cache policy (`--policy`); server/src/distill/policies/registry.ts makes each. */
export const POLICY_NAMES = ['infinipot', 'streaming', 'h2o', 'tova', 'random', 'snapkv', 'full'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];
/** The policies offered as the `repopot.cache.policy` setting (the rest are baselines for benchmarks). */
export const SETTING_POLICIES = ['infinipot', 'streaming', 'h2o', 'tova'] as const satisfies readonly PolicyName[];
export type SettingPolicy = (typeof SETTING_POLICIES)[number];
/**
 * InfiniPot: with the query-aware re-read and path snapping on (the defaults) and the session-20 model, held-out
 * lookups through the pot came out right 103 of 112 times with InfiniPot against 97 with StreamingLLM (1k, 4k, 8k and
 * 32k streams: ties at 1k and 32k, +4 at 4k, +2 at 8k; docs/benchmarks.md, "The product's ask at repository sizes").
 * StreamingLLM was the default from session 9 to 19, when the model read InfiniPot's pot no better than a recent
 * window; it compresses without InfiniPot's scoring passes (ingest ~1.1-1.5x faster) and stays one setting away.
 */
export const DEFAULT_POLICY: SettingPolicy = 'infinipot';

/** Weight formats the graph builder emits (`--quant`). */
export const WEIGHT_FORMATS = ['fp32', 'fp16', 'int8', 'int4'] as const;
export type WeightFormatName = (typeof WEIGHT_FORMATS)[number];

/**
 * How the KV cache stores K and V (`repopot.cache.kvDtype`, `--kv-dtype`; engine/kvCache.ts): fp32, or fp16 bit
 * patterns at half the bytes (the graphs then take fp16 past K/V and cast them to fp32 inside). fp32 stays the default
 * until fp16 measures faster with the same answers (docs/benchmarks.md, "Lean decode").
 */
export const KV_DTYPES = ['fp32', 'fp16'] as const;
export type KvDtype = (typeof KV_DTYPES)[number];
export const DEFAULT_KV_DTYPE: KvDtype = 'fp32';

/** RepoPot's own model, shipped in models/ (downloadable ones: server/src/model/pull.ts KNOWN_MODELS). */
export const OWN_MODEL = 'repopot-tiny-code';

/** Tokens fed into the pot at a time (`repopot.cache.chunkSize`, `--chunk`), before the model's cap. */
export const DEFAULT_CHUNK_TOKENS = 256;
/** Tokens the pot may keep (`repopot.cache.budget`, `--budget`): also the ceiling of the model-derived budget. */
export const DEFAULT_BUDGET = 4096;
/**
 * The Fourier tier (`repopot.cache.fourier`, `--fourier`): off by default. On, the budget counts the bytes of that
 * many plain slots (or the memory setting's bytes), which hold about twice the tokens; it needs fourier.json beside
 * the model.
 */
export const DEFAULT_FOURIER = false;
/**
 * The pot's size in memory, in MiB (`repopot.cache.memory`, `--memory`): 0 (the default) leaves the size to the budget
 * in slots. Set, the slots follow from the bytes: as many plain slots as fit, or with the Fourier tier as many tier
 * slots as fit (about twice as many); the model's context still caps them.
 */
export const DEFAULT_MEMORY_MIB = 0;
/**
 * Query-aware re-read (`repopot.answer.reread`, `--reread`; distill/reread.ts): before answering, up to this many
 * tokens of the repository lines that name what the question asks about (its definition first, with file headers)
 * go back after the pot. 0 turns it off. On 32k-token streams it took held-out lookups from 0 to 0.25
 * (docs/benchmarks.md, "Query-aware re-read").
 */
export const DEFAULT_REREAD_TOKENS = 256;
/**
 * Path snapping (`repopot.answer.snapPaths`, `--snap-paths on|off`; engine/pathSnap.ts): an answer that has begun
 * to write a workspace path finishes it as a real path instead of drifting into a file that does not exist; the answer
 * to a where-question is held from its first token among the source files (distiller.ts, answerSnap). On: on held-out
 * lookups through the pot it fixed 2 of 40 at 1k and 3 of 40 at 4k and broke none (docs/benchmarks.md, "Path
 * snapping"); holding where-answers from the start took 48 trial names from 36 to 41 right (session-17 model).
 */
export const DEFAULT_SNAP_PATHS = true;
/**
 * Value snapping (`repopot.answer.snapValues`, `--snap-values on|off`; engine/valueSnap.ts): the answer to "what does
 * X equal?" ("what parameters does X take?") is held from its first token to the values assigned (the parameter lists
 * defined) in the files that name X, and ends only on a whole one, so an answer cannot repeat an unclosed string, stop
 * an expression after its first token or invent a parameter. The model still picks which. On the cf24 model it took
 * the product's where/value cells from 100 to 102 of 112 and parameter lookups from 69 to 75 of 80 (docs/benchmarks.md,
 * "Value snapping").
 */
export const DEFAULT_SNAP_VALUES = true;
/** Bytes in a MiB, the unit of `repopot.cache.memory`. */
export const MIB = 1024 * 1024;
/** The smallest budget and chunk a setting may ask for (package.json's minimums). */
export const MIN_BUDGET = 256;
export const MIN_CHUNK_TOKENS = 16;
/** Tokens per forward pass when Engine.prefill feeds a long prompt. */
export const PREFILL_CHUNK_TOKENS = 512;

/** Longest answer, in tokens: the extension's setting and the CLI's `ask --max-tokens`. */
export const DEFAULT_ANSWER_TOKENS = 256;
export const DEFAULT_CLI_ANSWER_TOKENS = 128;

/** JSON-RPC error codes of RepoPot's requests (RequestCancelled is LSP's). */
export const ERROR_CODES = {
  RequestCancelled: -32800,
  NotReady: -32002,
  Failed: -32603,
} as const;
