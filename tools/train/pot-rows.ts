// Training rows read from the product's pot (issue 15 follow-up): the model answers well with the whole repository
// in its KV cache but badly after the repository was streamed through the pot (InfiniPot drops tokens/lines; kept
// slots keep their stream positions, with gaps, and are re-packed when positions run out). No training stage had
// shown it that output. This streams each sample of a question file (tools/train/gen-questions.ts, train mode)
// through the pot exactly as `repopot ask` does (product file order, chunkedPot, streamIntoPot, the InfiniPot policy,
// the product's chunk size), then writes one row per sample:
//
//   the pot's kept slot tokens, at their kept positions (pot.stats.tokens, pot.cache.positions())
//   + the sample's questions `<|question|> Q\n<|answer|>[<|trace|> T<|final|>] A<|end|>\n`, at positions continuing
//     after the pot's largest position (askPot appends to a clone of the cache; engine.forward gives appended tokens
//     cache.nextPosition() = largest live position + 1, onwards)
//
// Questions whose answer no longer occurs in the kept text (the pot dropped the answer-bearing line or header) are
// left out and counted. Rows are padded with <|pad|> (7) to --seq; pad positions continue after the last real one
// (capped at the model's max position). Questions that do not fit are cut (counted).
//
//   node --import tsx tools/train/pot-rows.ts --qa .train/qa/cf6-js.jsonl --out .train/data/cf6-pot \
//        [--budget 1024] [--seq 1280] [--limit N] [--policy infinipot] [--chunk N] [--order imports|path]
//        [--model models/repopot-tiny-code] [--threads 1] [--progress 10]
//
// Issue 15 follow-up (cf7): the product asks with a query-aware re-read (reread.ts) after a pot of a whole
// workspace, where other packages' definitions sit among the kept slots. Three options give the rows that shape:
//   --mix-tokens A:B       each sample's stream gains other samples' files (under their package's folder) until
//                          U[A,B] filler tokens, so the pot holds look-alike definitions of other packages;
//   --reread N             each row puts back the re-read lines (rereadLines, up to N tokens) for the names its
//                          questions ask about, after the pot and before the questions, as askPot does; positions
//                          slide down as rereadIntoCache slides them when the context is short;
//   --questions-per-row K  at most K questions per row, --rows-per-sample R rows per sample (same pot).
// A question is kept when its evidence is in the pot's kept text or the row's re-read text.
//
// Issue 11 follow-up (cf8): a real checkout is not only code. The cf7 model, trained on JS-only workspaces, answered
// SECURITY.md (the file streamed last in pump's checkout) for every name. Two options bring the rest of a checkout in:
//   --docs-share P         each package of the workspace (the sample and each filler), with probability P, gains the
//                          non-code files (README, LICENSE, package.json, CHANGELOG, CI configs ...) that the product's
//                          walker keeps in a random training-split package under node_modules/ (capped at --doc-chars);
//   --mtime-share P        with probability P a sample's files get spread modification times, so the product's order
//                          moves the newest ones (docs included) to the end, as in a worked-on checkout.
//
// Output: PREFIX.npy (uint16 tokens [rows, seq], like prepare_data.py), PREFIX.pos.npy (int32 positions, same shape),
// PREFIX.json (the summary).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Engine } from '../../server/src/engine/engine';
import { chunkedPot, resolveDistillSettings, streamIntoPot } from '../../server/src/distill/distiller';
import { makePolicyFromSpec } from '../../server/src/distill/policies/registry';
import { orderFiles, type FileOrder } from '../../server/src/distill/order';
import { questionPrompt } from '../../server/src/distill/prompt';
import { questionNames, rereadLines, slidePositions } from '../../server/src/distill/reread';
import { walkRepository } from '../../server/src/distill/repoWalker';

interface TrainQuestion { question: string; answer: string; type: string; form?: string; trace?: string }
interface TrainRecord { pkg: string; files: { path: string; text: string }[]; questions: TrainQuestion[]; renamed?: boolean }

const PAD = 7;

// ---------- .npy (format 1.0) ----------
/** A numpy .npy v1.0 file: magic, header dict padded with spaces so the data starts at a multiple of 64, LE data. */
export function npyBytes(data: Uint16Array | Int32Array, shape: readonly number[]): Buffer {
  const descr = data instanceof Uint16Array ? '<u2' : '<i4';
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${dims}, }`;
  const preamble = 10; // magic (6) + version (2) + header length (2)
  header += ' '.repeat(64 - ((preamble + header.length + 1) % 64 || 64)) + '\n';
  if ((preamble + header.length) % 64 !== 0) throw new Error('npy header misaligned');
  const head = Buffer.alloc(preamble);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.alloc(data.length * data.BYTES_PER_ELEMENT);
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Uint16Array) body.writeUInt16LE(data[i], i * 2);
    else body.writeInt32LE(data[i], i * 4);
  }
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

// ---------- which questions the pot still answers ----------
const backticked = (q: string): string[] => [...q.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

/**
 * Why the kept text can no longer answer `q`, or undefined when it can: every part of the answer (lists such as
 * importers or parameters split at commas; "none" has no part) and every name the question asks about must occur in
 * the kept text. A where-answer is a path: its header must be kept, and the name's definition line with it.
 */
export function missing(q: TrainQuestion, kept: string): 'answer' | 'name' | undefined {
  const list = q.type === 'imports' || q.type === 'params' || q.type === 'multihop-params';
  const parts = (list ? q.answer.split(/,\s*/) : [q.answer]).map((p) => p.trim()).filter((p) => p && p !== 'none');
  if (parts.some((p) => !kept.includes(p))) return 'answer';
  if (backticked(q.question).some((n) => !kept.includes(n))) return 'name';
  return undefined;
}

// ---------- the rest of a checkout ----------
const CODE_FILE = /\.(?:[cm]?[jt]sx?|py)$/;

/** Non-code files of training-split packages, walked on first use as `repopot ask` walks a folder. */
class DocsPool {
  private readonly packages: string[];
  private readonly walked = new Map<string, { path: string; text: string }[]>();
  constructor(corpus: string, private readonly maxChars: number) {
    const train = new Set<string>();
    for (const line of readFileSync(corpus, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const r = JSON.parse(line) as { pkg: string; split: string; lang: string };
      if (r.split === 'train' && r.lang === 'js') train.add(r.pkg);
    }
    this.packages = [...train].sort();
    if (this.packages.length === 0) throw new Error(`${corpus}: no training-split packages`);
  }
  async pick(random: () => number): Promise<{ path: string; text: string }[]> {
    const pkg = this.packages[Math.floor(random() * this.packages.length)];
    if (!this.walked.has(pkg)) {
      let docs: { path: string; text: string }[] = [];
      try {
        const { files } = await walkRepository(path.join('node_modules', pkg), { maxFileBytes: 256 * 1024 });
        docs = files.filter((f) => !CODE_FILE.test(f.path)).map((f) => ({ path: f.path, text: this.cap(f.text) }));
      } catch {
        // a package that is not installed here gives no docs
      }
      this.walked.set(pkg, docs);
    }
    return this.walked.get(pkg)!;
  }
  private cap(text: string): string {
    if (text.length <= this.maxChars) return text;
    const cut = text.lastIndexOf('\n', this.maxChars);
    return text.slice(0, cut > 0 ? cut + 1 : this.maxChars);
  }
}

// ---------- main ----------
async function main(): Promise<void> {
  const args = new Map<string, string>();
  for (let i = 2; i < process.argv.length; i++) {
    const a = process.argv[i];
    if (a === '--help' || a === '-h') {
      console.log(readFileSync(new URL(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n'));
      return;
    }
    args.set(a.replace(/^--/, ''), process.argv[++i] ?? '');
  }
  const qaFile = args.get('qa');
  const out = args.get('out');
  if (!qaFile || !out) throw new Error('usage: pot-rows.ts --qa FILE --out PREFIX [--budget 1024] [--seq 1280] [--limit N] [--policy infinipot]');
  const SEQ = Number(args.get('seq') ?? 1280);
  const LIMIT = Number(args.get('limit') ?? Infinity);
  const SPEC = args.get('policy') ?? 'infinipot';
  const ORDER = (args.get('order') ?? 'imports') as FileOrder;
  const PROGRESS = Number(args.get('progress') ?? 10);

  const engine = await Engine.load(path.resolve(args.get('model') ?? 'models/repopot-tiny-code'), { threads: Number(args.get('threads') ?? 1) });
  const tok = engine.tokenizer;
  const maxPositions = engine.config.maxPositions;
  // The product's settings: defaults and caps as `repopot ask --budget N [--chunk N]` resolves them.
  const { settings, notices } = resolveDistillSettings(maxPositions, {
    budget: Number(args.get('budget') ?? 1024),
    ...(args.has('chunk') ? { chunkSize: Number(args.get('chunk')) } : {}),
  });
  for (const n of notices) console.error(`note: ${n}`);
  const { budget, chunkSize } = settings;
  if (budget >= SEQ) throw new Error(`--seq ${SEQ} leaves no room for questions after a pot of ${budget} slots`);
  const endId = tok.tokenToId('<|end|>');
  if (endId === undefined || tok.tokenToId('<|question|>') === undefined) throw new Error('the model has no <|question|>/<|end|> tokens');
  const newline = tok.encode('\n');

  const records = readFileSync(qaFile, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as TrainRecord);
  const [mixLow, mixHigh] = (args.get('mix-tokens') ?? '0:0').split(':').map(Number);
  const REREAD = Number(args.get('reread') ?? 0);
  const PER_ROW = Number(args.get('questions-per-row') ?? 10);
  const ROWS_PER_SAMPLE = Number(args.get('rows-per-sample') ?? 1);
  const DOCS_SHARE = Number(args.get('docs-share') ?? 0);
  const MTIME_SHARE = Number(args.get('mtime-share') ?? 0);
  const docsPool = DOCS_SHARE > 0 ? new DocsPool(args.get('corpus') ?? '.train/corpus/files.jsonl', Number(args.get('doc-chars') ?? 6000)) : undefined;
  let seed = (Number(args.get('seed') ?? 1) * 2654435761) >>> 0;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const recordTokens = new Map<number, number>();
  const tokensOf = (i: number): number => {
    if (!recordTokens.has(i)) recordTokens.set(i, records[i].files.reduce((n, f) => n + tok.encode(f.text).length, 0));
    return recordTokens.get(i)!;
  };
  const rows: { tokens: number[]; positions: number[] }[] = [];
  const count = { samples: 0, noQuestions: 0, kept: 0, droppedAnswer: 0, droppedName: 0, cutNoRoom: 0, keptTokens: 0, streamTokens: 0, maxPosition: 0, gapped: 0, gaps: 0, rereadTokens: 0, shifted: 0, fromReread: 0, docFiles: 0, spreadMtimes: 0 };
  const byType: Record<string, { kept: number; dropped: number }> = {};
  const started = performance.now();
  for (const [index, r] of records.entries()) {
    if (count.samples >= LIMIT) break;
    count.samples++;
    // Other samples' files as the rest of a workspace, each package under its own folder.
    const mixed = r.files.map((f) => ({ path: f.path, text: f.text, mtimeMs: 0 }));
    const addDocs = async (folder: string): Promise<void> => {
      if (!docsPool || random() >= DOCS_SHARE) return;
      const taken = new Set(mixed.map((f) => f.path));
      for (const d of await docsPool.pick(random)) {
        const p = folder ? `${folder}/${d.path}` : d.path;
        if (!taken.has(p)) mixed.push({ path: p, text: d.text, mtimeMs: 0 });
      }
      count.docFiles += mixed.length - taken.size;
    };
    await addDocs('');
    const target = mixLow + random() * (mixHigh - mixLow);
    for (let filler = 0, tries = 0; filler < target && tries < 50; tries++) {
      const other = Math.floor(random() * records.length);
      if (other === index) continue;
      const folder = records[other].pkg.replace(/[^\w.-]+/g, '_');
      mixed.push(...records[other].files.map((f) => ({ path: `${folder}/${f.path}`, text: f.text, mtimeMs: 0 })));
      await addDocs(folder);
      filler += tokensOf(other);
    }
    // Equal mtimes, as in a fresh checkout, or (--mtime-share) spread over a month, as in a worked-on one.
    if (random() < MTIME_SHARE) {
      for (const f of mixed) f.mtimeMs = 1.7e12 + Math.floor(random() * 30 * 86_400_000);
      count.spreadMtimes++;
    }
    // The product's order (repopot ask walks, then orderFiles).
    const files = orderFiles(mixed, { order: ORDER });
    const pot = chunkedPot(engine, budget, chunkSize, makePolicyFromSpec(SPEC, engine));
    const streamed = await streamIntoPot(pot, files, { chunkTokens: chunkSize });
    const kept = pot.stats.tokens;
    if (kept.length !== pot.cache.length) throw new Error(`${r.pkg}: ${kept.length} slot tokens for ${pot.cache.length} slots`);
    const positions = Array.from(pot.cache.positions());
    for (let i = 1; i < positions.length; i++) if (positions[i] <= positions[i - 1]) throw new Error(`${r.pkg}: slot positions not increasing at ${i}`);
    const gaps = positions.filter((p, i) => i > 0 && p > positions[i - 1] + 1).length;
    count.gaps += gaps;
    if (gaps > 0) count.gapped++;
    const keptText = tok.decode(kept, { skipSpecial: false });
    count.streamTokens += streamed;
    count.keptTokens += kept.length;

    const questions = [...(r.questions ?? [])];
    for (let i = questions.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [questions[i], questions[j]] = [questions[j], questions[i]];
    }
    let sampleQuestions = 0;
    for (let rowIndex = 0; rowIndex < ROWS_PER_SAMPLE; rowIndex++) {
      const group = questions.slice(rowIndex * PER_ROW, (rowIndex + 1) * PER_ROW);
      if (group.length === 0) break;
      const names = [...new Set(group.flatMap((q) => questionNames(q.question)))];
      const reread = REREAD > 0 ? await rereadLines(files, names, tok, REREAD) : { tokens: [] as number[] };
      const evidence = keptText + tok.decode(reread.tokens, { skipSpecial: false });
      const tail = [...reread.tokens];
      let nq = 0;
      for (const q of group) {
        const t = (byType[q.type] ??= { kept: 0, dropped: 0 });
        const why = missing(q, evidence);
        if (why) {
          t.dropped++;
          if (why === 'answer') count.droppedAnswer++;
          else count.droppedName++;
          continue;
        }
        if (missing(q, keptText)) count.fromReread++;
        // askPot's prompt, then what the model should write: [trace] answer <|end|>, and the line break between questions
        const ids = tok.encode(questionPrompt(engine, q.question).text);
        if (q.form === 'trace' && q.trace) ids.push(...tok.encode(`<|trace|> ${q.trace}<|final|>`));
        ids.push(...tok.encode(` ${q.answer}`), endId, ...newline);
        // no room in the row, or the pot would have to shrink (the product asks one question after the pot; a row asks several)
        if (kept.length + tail.length + ids.length > SEQ || kept.length + tail.length + ids.length > maxPositions) { count.cutNoRoom++; continue; }
        tail.push(...ids);
        t.kept++;
        nq++;
      }
      if (nq === 0) continue;
      // rereadIntoCache's slide: the pot's positions end where the re-read and questions still fit the context.
      const limit = maxPositions - tail.length;
      const shift = Math.max(0, pot.cache.nextPosition() - limit);
      if (shift > 0) count.shifted++;
      const pos = slidePositions(positions, shift);
      const from = pos.length ? pos[pos.length - 1] + 1 : 0;
      for (let i = 0; i < tail.length; i++) pos.push(from + i);
      count.maxPosition = Math.max(count.maxPosition, pos[pos.length - 1] ?? 0);
      count.rereadTokens += reread.tokens.length;
      rows.push({ tokens: [...kept, ...tail], positions: pos });
      count.kept += nq;
      sampleQuestions += nq;
    }
    if (sampleQuestions === 0) count.noQuestions++;
    if (count.samples % PROGRESS === 0) {
      const s = (performance.now() - started) / 1000;
      console.error(`${count.samples} samples, ${rows.length} rows, ${count.kept} questions kept, ${count.droppedAnswer + count.droppedName} dropped, ${(s / count.samples).toFixed(1)} s/sample`);
    }
  }

  const tokArr = new Uint16Array(rows.length * SEQ).fill(PAD);
  const posArr = new Int32Array(rows.length * SEQ);
  rows.forEach((row, i) => {
    const base = i * SEQ;
    for (let j = 0; j < row.tokens.length; j++) { tokArr[base + j] = row.tokens[j]; posArr[base + j] = row.positions[j]; }
    const last = row.positions[row.positions.length - 1];
    for (let j = row.tokens.length; j < SEQ; j++) posArr[base + j] = Math.min(last + 1 + j - row.tokens.length, maxPositions - 1);
  });
  mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  writeFileSync(`${out}.npy`, npyBytes(tokArr, [rows.length, SEQ]));
  writeFileSync(`${out}.pos.npy`, npyBytes(posArr, [rows.length, SEQ]));
  const n = Math.max(1, count.samples);
  const summary = {
    qa: qaFile, out, policy: SPEC, budget, chunk: chunkSize, order: ORDER, seq: SEQ,
    samples: count.samples, rows: rows.length, samplesWithoutQuestions: count.noQuestions,
    questionsKept: count.kept, droppedAnswerLost: count.droppedAnswer, droppedNameLost: count.droppedName, cutNoRoom: count.cutNoRoom,
    byType, meanKeptTokens: +(count.keptTokens / n).toFixed(1), meanStreamTokens: +(count.streamTokens / n).toFixed(1),
    samplesWithGaps: count.gapped, meanGaps: +(count.gaps / n).toFixed(1), maxPosition: count.maxPosition,
    mixTokens: `${mixLow}:${mixHigh}`, docsShare: DOCS_SHARE, meanDocFiles: +(count.docFiles / n).toFixed(1),
    mtimeShare: MTIME_SHARE, samplesWithSpreadMtimes: count.spreadMtimes, reread: REREAD, questionsPerRow: PER_ROW, rowsPerSample: ROWS_PER_SAMPLE,
    meanRereadTokens: +(count.rereadTokens / Math.max(1, rows.length)).toFixed(1), rowsShifted: count.shifted, questionsOnlyInReread: count.fromReread,
    fill: +(rows.reduce((s, r) => s + r.tokens.length, 0) / Math.max(1, rows.length * SEQ)).toFixed(3),
    seconds: +((performance.now() - started) / 1000).toFixed(1),
  };
  writeFileSync(`${out}.json`, JSON.stringify(summary, null, 1));
  console.log(JSON.stringify(summary));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
