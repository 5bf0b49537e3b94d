// Verify tokenizer.json loads in @huggingface/tokenizers and matches the Python encoder.
// usage: node tools/train/verify-tokenizer.mjs <dir-with-tokenizer.json> [expected-ids.json]
import { Tokenizer } from '@huggingface/tokenizers';
import { readFileSync } from 'node:fs';
const dir = process.argv[2];
const tj = JSON.parse(readFileSync(`${dir}/tokenizer.json`, 'utf8'));
const tc = JSON.parse(readFileSync(`${dir}/tokenizer_config.json`, 'utf8'));
const tok = new Tokenizer(tj, tc);
let fail = 0;
const samples = [
  "export function add(a: number, b: number): number {\n    return a + b;\n}\n",
  "<|file|> src/x.ts\nconst MAX_SIZE = 1024; // ünïcödé ✓\n\tif (x) {}\r\n<|question|> where is add defined?\n<|answer|> src/x.ts<|end|>\n",
  "def f(x, *args, **kw):\n    return {'a': [1, 2.5e-3]}  # comment\n\n\n",
];
if (process.argv[3]) {
  const exp = JSON.parse(readFileSync(process.argv[3], 'utf8'));
  for (const { text, ids } of exp) {
    const got = tok.encode(text).ids;
    if (JSON.stringify(got) !== JSON.stringify(ids)) { fail++; if (fail < 4) console.log('MISMATCH', JSON.stringify(text.slice(0, 80)), got.slice(0, 20), ids.slice(0, 20)); }
    if (tok.decode(got, { skip_special_tokens: false }) !== text) { fail++; console.log('ROUNDTRIP FAIL', JSON.stringify(text.slice(0, 80))); }
  }
  console.log(`python-vs-js: ${exp.length} texts, ${fail} failures`);
}
for (const s of samples) {
  const e = tok.encode(s);
  const d = tok.decode(e.ids, { skip_special_tokens: false });
  console.log(e.ids.length, 'tokens', d === s ? 'roundtrip OK' : 'ROUNDTRIP FAIL', JSON.stringify(e.tokens.slice(0, 12)));
  if (d !== s) fail++;
}
process.exit(fail ? 1 : 0);
