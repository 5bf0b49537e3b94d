import fs from 'node:fs';
import path from 'node:path';
import { Engine } from '../../server/src/engine/engine';
import { chunkedPot, streamIntoPot, askPot } from '../../server/src/distill/distiller';
import { makePolicyFromSpec } from '../../server/src/distill/policies/registry';
import { orderFiles } from '../../server/src/distill/order';
async function main() {
  const [repo, model, question, ...rest] = process.argv.slice(2);
  const e = await Engine.load(model, { threads: 1 });
  const files = orderFiles(rest.map((p) => ({ path: p, text: fs.readFileSync(path.join(repo, p), 'utf8'), mtimeMs: 0 })), { order: 'imports' });
  const pot = chunkedPot(e, 1024, 256, makePolicyFromSpec('infinipot', e));
  await streamIntoPot(pot, files, { chunkTokens: 256 });
  console.log(JSON.stringify(e.tokenizer.decode(pot.stats.tokens, { skipSpecial: false })));
  for (const rr of [0, 256]) for (const snap of [false, true]) {
    const a = await askPot(e, pot, question, { maxTokens: 24, maxSources: 0, ...(rr ? { reread: { files, maxTokens: rr } } : {}), ...(snap ? { snapPaths: files.map((f) => f.path) } : {}) });
    console.log('reread', rr, 'snap', snap, '->', a.answer);
  }
}
main();
