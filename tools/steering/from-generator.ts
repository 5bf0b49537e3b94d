// Steering pairs from the model issue's question generator (tools/train/gen-questions.ts): its
// multi-hop records in trace form become contrastive pairs (trace + answer vs bare answer) over
// real code from TRAINING packages, in exactly the contrast RepoPot's model was trained on. The
// held-out multi-hop questions that evaluate steering come from held-out packages only.
//
//   node --import tsx tools/train/gen-questions.ts --mode eval --split train --budget 1024 \
//       --types multihop-def,multihop-params --attempts 30000 --per-type 300 --seed 33 --out GEN.jsonl
//   node --import tsx tools/steering/from-generator.ts --in GEN.jsonl --out data/steering/train-generated.jsonl
import fs from 'node:fs';
import { parseArgs } from 'node:util';

interface GeneratorRecord {
  id: string;
  pkg?: string;
  files: { path: string; text: string }[];
  question: string;
  answer: string;
  type: string;
  form?: 'trace' | 'bare';
  trace?: string;
}

const { values } = parseArgs({ options: { in: { type: 'string' }, out: { type: 'string' } } });
if (!values.in || !values.out) throw new Error('usage: from-generator.ts --in GEN.jsonl --out PAIRS.jsonl');
const lines: string[] = [];
for (const [n, line] of fs.readFileSync(values.in, 'utf8').split('\n').entries()) {
  if (!line.trim()) continue;
  const r = JSON.parse(line) as GeneratorRecord;
  if (!Array.isArray(r.files) || typeof r.question !== 'string') throw new Error(`${values.in}:${n + 1}: not a generator record`);
  if (r.form !== 'trace' || !r.trace || !r.type.startsWith('multihop')) continue;
  const language = /\.py$/.test(r.files[0]?.path ?? '') ? 'py' : /\.(ts|tsx|mts|cts)$/.test(r.files[0]?.path ?? '') ? 'ts' : 'js';
  lines.push(JSON.stringify({ id: `gen-${lines.length}`, kind: r.type, language, files: r.files, question: r.question, trace: r.trace, answer: r.answer }));
}
const tmp = `${values.out}.tmp`;
fs.writeFileSync(tmp, lines.join('\n') + '\n');
fs.renameSync(tmp, values.out);
process.stdout.write(`${values.out}: ${lines.length} pairs\n`);
