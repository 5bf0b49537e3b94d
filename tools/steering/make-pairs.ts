// Contrastive pairs for KV-cache steering (issue 4): small code files + a question, a brief
// reasoning trace and the answer. Deterministic (seeded); writes data/steering/train.jsonl and
// data/steering/heldout.jsonl. The held-out split uses its own seed and disjoint name pools, so no
// prompt of it can appear in the training split.
//
//   node --import tsx tools/steering/make-pairs.ts [--train N] [--heldout M] [--out DIR]
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface PairFile {
  path: string;
  text: string;
}

export interface GeneratedPair {
  id: string;
  kind: ReasoningKind;
  language: Language;
  files: PairFile[];
  question: string;
  trace: string;
  answer: string;
}

type ReasoningKind = 'value-flow' | 'branch' | 'return' | 'failure' | 'multihop';
type Language = 'ts' | 'js' | 'py' | 'go';
type Template = (rng: Rng, names: NamePool) => Omit<GeneratedPair, 'id'>;

/** xorshift32: the same sequence on every platform. */
class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state / 0x100000000;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
}

/** Identifier pools; the split decides which half it draws from. */
interface NamePool {
  nouns: readonly string[];
  modules: readonly string[];
  errors: readonly string[];
}

const NOUNS = ['port', 'timeout', 'retries', 'limit', 'budget', 'depth', 'width', 'margin', 'quota', 'delay', 'batch', 'level', 'offset', 'scale', 'weight', 'count',
  'buffer', 'window', 'chunk', 'ttl', 'rate', 'step', 'ratio', 'radius', 'height', 'score', 'speed', 'threshold', 'capacity', 'interval'];
const MODULES = ['config', 'settings', 'defaults', 'env', 'options', 'limits', 'constants', 'params', 'tuning', 'base', 'shared', 'common', 'core', 'util', 'helpers',
  'server', 'client', 'worker', 'cache', 'store', 'queue', 'router', 'loader', 'parser', 'runner', 'engine', 'session', 'pool', 'index', 'main'];
const ERRORS = ['ConfigError', 'AuthError', 'LimitError', 'ParseError', 'StateError', 'LookupError', 'RangeError', 'TimeoutError', 'ValidationError', 'QuotaError'];

function splitPool(half: 0 | 1): NamePool {
  const take = <T>(xs: readonly T[]) => xs.filter((_, i) => i % 2 === half);
  return { nouns: take(NOUNS), modules: take(MODULES), errors: ERRORS };
}

const camel = (a: string, b: string) => a + b[0].toUpperCase() + b.slice(1);
const upper = (s: string) => s.toUpperCase();
const snake = (a: string, b: string) => `${a}_${b}`;

function twoDistinct<T>(rng: Rng, xs: readonly T[]): [T, T] {
  const a = rng.pick(xs);
  let b = rng.pick(xs);
  while (b === a) b = rng.pick(xs);
  return [a, b];
}

// ── value-flow: follow a value through imports and calls ───────────────────────────────────────

const envFallbackTs: Template = (rng, names) => {
  const noun = rng.pick(names.nouns);
  const [cfg, user] = twoDistinct(rng, names.modules);
  const value = rng.int(2, 90) * 10;
  const constName = `DEFAULT_${upper(noun)}`;
  const fn = camel('load', noun);
  const envVar = `APP_${upper(noun)}`;
  return {
    kind: 'value-flow', language: 'ts',
    files: [
      { path: `src/${cfg}.ts`, text: `export const ${constName} = ${value};\n` },
      { path: `src/${user}.ts`, text: `import { ${constName} } from './${cfg}';\n\nexport function ${fn}(env: Record<string, string | undefined>): number {\n  const raw = env.${envVar};\n  return raw ? Number(raw) : ${constName};\n}\n` },
    ],
    question: `What does \`${fn}\` return when ${envVar} is unset?`,
    trace: `${fn} returns ${constName} when env.${envVar} is unset. src/${cfg}.ts sets ${constName} = ${value}.`,
    answer: String(value),
  };
};

const scaleChainPy: Template = (rng, names) => {
  const [a, b] = twoDistinct(rng, names.nouns);
  const mod = rng.pick(names.modules);
  const factor = rng.int(2, 9);
  const input = rng.int(2, 12);
  const constName = upper(snake(a, 'factor'));
  return {
    kind: 'value-flow', language: 'py',
    files: [
      { path: `${mod}.py`, text: `${constName} = ${factor}\n` },
      { path: `${b}.py`, text: `from ${mod} import ${constName}\n\n\ndef scale(x):\n    return x * ${constName}\n\n\ndef run():\n    return scale(${input})\n` },
    ],
    question: `What does \`run()\` in ${b}.py return?`,
    trace: `run calls scale(${input}). scale multiplies by ${constName}, which ${mod}.py sets to ${factor}. ${input} * ${factor} = ${input * factor}.`,
    answer: String(input * factor),
  };
};

const addChainJs: Template = (rng, names) => {
  const noun = rng.pick(names.nouns);
  const mod = rng.pick(names.modules);
  const base = rng.int(1, 40);
  const extra = rng.int(1, 9);
  const fnA = camel('base', noun);
  const fnB = camel('total', noun);
  return {
    kind: 'value-flow', language: 'js',
    files: [
      { path: `lib/${mod}.js`, text: `function ${fnA}() {\n  return ${base};\n}\nmodule.exports = { ${fnA} };\n` },
      { path: `lib/${noun}.js`, text: `const { ${fnA} } = require('./${mod}');\n\nfunction ${fnB}() {\n  return ${fnA}() + ${extra};\n}\nmodule.exports = { ${fnB} };\n` },
    ],
    question: `What does \`${fnB}()\` return?`,
    trace: `${fnB} returns ${fnA}() + ${extra}. lib/${mod}.js: ${fnA} returns ${base}. ${base} + ${extra} = ${base + extra}.`,
    answer: String(base + extra),
  };
};

// ── branch: which branch runs ─────────────────────────────────────────────────────────────────

const thresholdTs: Template = (rng, names) => {
  const noun = rng.pick(names.nouns);
  const mod = rng.pick(names.modules);
  const limit = rng.int(5, 60);
  const input = rng.pick([limit - rng.int(1, 4), limit + rng.int(1, 4)]);
  const [hi, lo] = rng.pick([['fast', 'safe'], ['remote', 'local'], ['batch', 'single'], ['full', 'partial'], ['large', 'small']] as const);
  const constName = `MAX_${upper(noun)}`;
  const fn = camel('pick', noun);
  const takesFirst = input > limit;
  return {
    kind: 'branch', language: 'ts',
    files: [
      { path: `src/${mod}.ts`, text: `export const ${constName} = ${limit};\n` },
      { path: `src/${noun}.ts`, text: `import { ${constName} } from './${mod}';\n\nexport function ${fn}(n: number): string {\n  if (n > ${constName}) {\n    return '${hi}';\n  }\n  return '${lo}';\n}\n` },
    ],
    question: `What does \`${fn}(${input})\` return?`,
    trace: `${constName} is ${limit}. ${input} > ${limit} is ${takesFirst}, so ${takesFirst ? 'the if branch runs' : 'the if branch is skipped'}.`,
    answer: takesFirst ? hi : lo,
  };
};

const flagPy: Template = (rng, names) => {
  const noun = rng.pick(names.nouns);
  const mod = rng.pick(names.modules);
  const enabled = rng.next() < 0.5;
  const flag = upper(snake('use', noun));
  const [on, off] = rng.pick([['cached', 'direct'], ['strict', 'lenient'], ['async', 'sync'], ['gzip', 'plain']] as const);
  return {
    kind: 'branch', language: 'py',
    files: [
      { path: `${mod}.py`, text: `${flag} = ${enabled ? 'True' : 'False'}\n` },
      { path: `${noun}.py`, text: `from ${mod} import ${flag}\n\n\ndef strategy():\n    if ${flag}:\n        return "${on}"\n    return "${off}"\n` },
    ],
    question: `Which strategy does \`strategy()\` in ${noun}.py return?`,
    trace: `${mod}.py sets ${flag} = ${enabled ? 'True' : 'False'}, so ${enabled ? 'the if branch runs' : 'the if branch is skipped'}.`,
    answer: enabled ? on : off,
  };
};

const switchGo: Template = (rng, names) => {
  const noun = rng.pick(names.nouns);
  const codes = [rng.int(1, 3), rng.int(4, 6), rng.int(7, 9)];
  const labels = rng.pick([['low', 'mid', 'high'], ['red', 'amber', 'green'], ['start', 'run', 'stop'], ['read', 'write', 'admin']] as const);
  const which = rng.int(0, 3);
  const input = which < 3 ? codes[which] : 0;
  const fn = `${noun[0].toUpperCase()}${noun.slice(1)}Label`;
  const answer = which < 3 ? labels[which] : 'unknown';
  return {
    kind: 'branch', language: 'go',
    files: [
      { path: `${noun}/label.go`, text: `package ${noun}\n\nfunc ${fn}(code int) string {\n\tswitch code {\n\tcase ${codes[0]}:\n\t\treturn "${labels[0]}"\n\tcase ${codes[1]}:\n\t\treturn "${labels[1]}"\n\tcase ${codes[2]}:\n\t\treturn "${labels[2]}"\n\t}\n\treturn "unknown"\n}\n` },
    ],
    question: `What does \`${fn}(${input})\` return?`,
    trace: which < 3 ? `code ${input} matches case ${codes[which]}.` : `code ${input} matches no case, so the switch falls through.`,
    answer,
  };
};

// ── return: what a function returns for an input ──────────────────────────────────────────────

const clampGo: Template = (rng, names) => {
  const noun = rng.pick(names.nouns);
  const lo = rng.int(0, 10);
  const hi = lo + rng.int(5, 40);
  const input = rng.pick([lo - rng.int(1, 9), hi + rng.int(1, 9), lo + rng.int(1, hi - lo - 1)]);
  const result = Math.min(hi, Math.max(lo, input));
  const fn = `Clamp${noun[0].toUpperCase()}${noun.slice(1)}`;
  const why = input < lo ? `${input} < ${lo}, so it returns the lower bound` : input > hi ? `${input} > ${hi}, so it returns the upper bound` : `${input} is between ${lo} and ${hi}, so it returns the input`;
  return {
    kind: 'return', language: 'go',
    files: [
      { path: `${noun}/clamp.go`, text: `package ${noun}\n\nconst (\n\tMin = ${lo}\n\tMax = ${hi}\n)\n\nfunc ${fn}(v int) int {\n\tif v < Min {\n\t\treturn Min\n\t}\n\tif v > Max {\n\t\treturn Max\n\t}\n\treturn v\n}\n` },
    ],
    question: `What does \`${fn}(${input})\` return?`,
    trace: `Min is ${lo} and Max is ${hi}. ${why}.`,
    answer: String(result),
  };
};

const defaultsTs: Template = (rng, names) => {
  const [a, b] = twoDistinct(rng, names.nouns);
  const mod = rng.pick(names.modules);
  const da = rng.int(1, 30);
  const db = rng.int(1, 30);
  const given = rng.int(31, 99);
  const fn = camel('make', a);
  const askA = rng.next() < 0.5;
  return {
    kind: 'return', language: 'ts',
    files: [
      { path: `src/${mod}.ts`, text: `export function ${fn}(opts: { ${a}?: number; ${b}?: number } = {}) {\n  return { ${a}: opts.${a} ?? ${da}, ${b}: opts.${b} ?? ${db} };\n}\n` },
    ],
    question: `What is \`${fn}({ ${a}: ${given} }).${askA ? a : b}\`?`,
    trace: askA ? `${a} is given as ${given}, so ?? keeps it.` : `${b} is not given, so ?? falls back to ${db}.`,
    answer: String(askA ? given : db),
  };
};

const lengthPy: Template = (rng, names) => {
  const noun = rng.pick(names.nouns);
  const items = Array.from({ length: rng.int(2, 6) }, (_, i) => `"${noun}${i}"`);
  const dropped = rng.int(1, items.length - 1);
  return {
    kind: 'return', language: 'py',
    files: [
      { path: `${noun}_list.py`, text: `ITEMS = [${items.join(', ')}]\n\n\ndef remaining():\n    return len(ITEMS[${dropped}:])\n` },
    ],
    question: `What does \`remaining()\` return?`,
    trace: `ITEMS has ${items.length} entries. ITEMS[${dropped}:] drops the first ${dropped}, leaving ${items.length - dropped}.`,
    answer: String(items.length - dropped),
  };
};

// ── failure: why a call fails ─────────────────────────────────────────────────────────────────

const missingKeyPy: Template = (rng, names) => {
  const noun = rng.pick(names.nouns);
  const mod = rng.pick(names.modules);
  const keys = [rng.int(1, 9), rng.int(10, 19), rng.int(20, 29)];
  const missing = rng.int(30, 49);
  const table = upper(snake(noun, 'table'));
  const error = rng.pick(names.errors);
  return {
    kind: 'failure', language: 'py',
    files: [
      { path: `${mod}.py`, text: `${table} = {${keys.map((k) => `${k}: "${noun}${k}"`).join(', ')}}\n` },
      { path: `lookup.py`, text: `from ${mod} import ${table}\n\n\nclass ${error}(Exception):\n    pass\n\n\ndef find(key):\n    if key not in ${table}:\n        raise ${error}(key)\n    return ${table}[key]\n` },
    ],
    question: `Which exception does \`find(${missing})\` raise?`,
    trace: `${table} in ${mod}.py has keys ${keys.join(', ')}. ${missing} is not one of them, so find raises ${error}.`,
    answer: error,
  };
};

const guardTs: Template = (rng, names) => {
  const noun = rng.pick(names.nouns);
  const mod = rng.pick(names.modules);
  const error = rng.pick(names.errors);
  const max = rng.int(3, 20);
  const input = max + rng.int(1, 10);
  const fn = camel('set', noun);
  return {
    kind: 'failure', language: 'ts',
    files: [
      { path: `src/${mod}.ts`, text: `export const ${upper(noun)}_CAP = ${max};\nexport class ${error} extends Error {}\n` },
      { path: `src/${noun}.ts`, text: `import { ${upper(noun)}_CAP, ${error} } from './${mod}';\n\nexport function ${fn}(n: number): number {\n  if (n > ${upper(noun)}_CAP) throw new ${error}('too large');\n  return n;\n}\n` },
    ],
    question: `What error does \`${fn}(${input})\` throw?`,
    trace: `${upper(noun)}_CAP is ${max}. ${input} > ${max}, so ${fn} throws ${error}.`,
    answer: error,
  };
};

const nullJs: Template = (rng, names) => {
  const noun = rng.pick(names.nouns);
  const [mod, other] = twoDistinct(rng, names.modules);
  const fn = camel('get', noun);
  return {
    kind: 'failure', language: 'js',
    files: [
      { path: `lib/${mod}.js`, text: `function ${fn}(registry, name) {\n  return registry[name] || null;\n}\nmodule.exports = { ${fn} };\n` },
      { path: `lib/${other}.js`, text: `const { ${fn} } = require('./${mod}');\n\nfunction size(registry) {\n  return ${fn}(registry, 'missing').length;\n}\nmodule.exports = { size };\n` },
    ],
    question: `What error does \`size({})\` throw?`,
    trace: `size calls ${fn}({}, 'missing'). The name is not in the registry, so ${fn} returns null, and null.length throws.`,
    answer: 'TypeError',
  };
};

// ── multihop: lookups across files ────────────────────────────────────────────────────────────

const reexportTs: Template = (rng, names) => {
  const noun = rng.pick(names.nouns);
  const [a, b] = twoDistinct(rng, names.modules);
  const symbol = camel('create', noun);
  return {
    kind: 'multihop', language: 'ts',
    files: [
      { path: `src/app.ts`, text: `import { ${symbol} } from './${a}';\n\nexport const main = () => ${symbol}();\n` },
      { path: `src/${a}.ts`, text: `export { ${symbol} } from './${b}/impl';\n` },
      { path: `src/${b}/impl.ts`, text: `export function ${symbol}() {\n  return {};\n}\n` },
    ],
    question: `Where is \`${symbol}\`, as imported by src/app.ts, defined?`,
    trace: `src/app.ts imports \`${symbol}\` from './${a}', which is src/${a}.ts. src/${a}.ts re-exports it from './${b}/impl', which is src/${b}/impl.ts. src/${b}/impl.ts defines \`${symbol}\`.`,
    answer: `src/${b}/impl.ts`,
  };
};

const constChainPy: Template = (rng, names) => {
  const noun = rng.pick(names.nouns);
  const [a, b] = twoDistinct(rng, names.modules);
  const base = rng.int(2, 50);
  const mult = rng.int(2, 5);
  const baseName = upper(snake('base', noun));
  const derived = upper(noun);
  return {
    kind: 'multihop', language: 'py',
    files: [
      { path: `${a}.py`, text: `${baseName} = ${base}\n` },
      { path: `${b}.py`, text: `from ${a} import ${baseName}\n\n${derived} = ${baseName} * ${mult}\n` },
      { path: `app.py`, text: `from ${b} import ${derived}\n\n\ndef current():\n    return ${derived}\n` },
    ],
    question: `What does \`current()\` in app.py return?`,
    trace: `current returns ${derived} from ${b}.py. ${b}.py sets ${derived} = ${baseName} * ${mult}. ${a}.py sets ${baseName} = ${base}. ${base} * ${mult} = ${base * mult}.`,
    answer: String(base * mult),
  };
};

const callerJs: Template = (rng, names) => {
  const noun = rng.pick(names.nouns);
  const [a, b] = twoDistinct(rng, names.modules);
  const helper = camel('format', noun);
  const unit = rng.pick(['ms', 'kb', 'px', 'mb', 'pct']);
  const value = rng.int(1, 500);
  return {
    kind: 'multihop', language: 'js',
    files: [
      { path: `lib/${a}.js`, text: `exports.${helper} = (n) => n + '${unit}';\n` },
      { path: `lib/${b}.js`, text: `const { ${helper} } = require('./${a}');\n\nexports.label = () => ${helper}(${value});\n` },
    ],
    question: `What string does \`label()\` in lib/${b}.js return?`,
    trace: `label calls ${helper}(${value}) from lib/${a}.js. ${helper} appends '${unit}'.`,
    answer: `${value}${unit}`,
  };
};

const TEMPLATES: readonly Template[] = [envFallbackTs, scaleChainPy, addChainJs, thresholdTs, flagPy, switchGo, clampGo, defaultsTs, lengthPy, missingKeyPy, guardTs, nullJs, reexportTs, constChainPy, callerJs];

export function generatePairs(count: number, seed: number, pool: NamePool, prefix: string, exclude: ReadonlySet<string> = new Set()): GeneratedPair[] {
  const rng = new Rng(seed);
  const seen = new Set(exclude);
  const out: GeneratedPair[] = [];
  let attempts = 0;
  while (out.length < count) {
    if (++attempts > count * 50) throw new Error(`could only make ${out.length} distinct pairs of ${count}`);
    // Round-robin over templates keeps every kind and language represented evenly.
    const template = TEMPLATES[out.length % TEMPLATES.length];
    const pair = template(rng, pool);
    const key = promptKey(pair);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ id: `${prefix}-${String(out.length).padStart(3, '0')}`, ...pair });
  }
  return out;
}

function promptKey(pair: Pick<GeneratedPair, 'files' | 'question'>): string {
  return JSON.stringify([pair.files, pair.question]);
}

function main(): void {
  const { values } = parseArgs({ options: { train: { type: 'string', default: '180' }, heldout: { type: 'string', default: '60' }, out: { type: 'string', default: 'data/steering' } } });
  const train = generatePairs(Number(values.train), 20260401, splitPool(0), 'train');
  const heldout = generatePairs(Number(values.heldout), 20260402, splitPool(1), 'heldout', new Set(train.map(promptKey)));
  fs.mkdirSync(values.out!, { recursive: true });
  for (const [name, pairs] of [['train', train], ['heldout', heldout]] as const) {
    const file = path.join(values.out!, `${name}.jsonl`);
    fs.writeFileSync(file, pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
    const kinds = new Map<string, number>();
    for (const p of pairs) kinds.set(p.kind, (kinds.get(p.kind) ?? 0) + 1);
    process.stdout.write(`${file}: ${pairs.length} pairs (${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')})\n`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(__filename)) main();
