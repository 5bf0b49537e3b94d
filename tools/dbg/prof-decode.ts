import { Engine } from '../../server/src/engine/engine';
import { lazyRandomWeights } from '../../server/src/model/randomWeights';
import { readModelConfig } from '../../server/src/bench/engineBench';
async function main() {
  const config = readModelConfig('/work/shared/configs/' + process.argv[2]);
  const ctx = Number(process.argv[3] ?? 4096);
  const engine = await Engine.fromModel({ config, weights: lazyRandomWeights(config, 1), weightsHash: 'random-seed-1' }, { device: 'cpu', weights: 'int4', cacheDir: '/tmp/profcache', threads: 2 });
  const cache = engine.newCache(ctx + 64);
  const toks = Array.from({ length: 512 }, (_, i) => (i * 7919) % 1000 + 10);
  for (let n = 0; n < ctx; n += 512) await engine.forward(cache, toks, { logits: 'last' });
  for (let r = 0; r < 8; r++) {
    const t0 = performance.now();
    await engine.forward(cache, [r + 5], { logits: 'last' });
    console.log('decode ms', (performance.now() - t0).toFixed(1));
  }
  await engine.dispose();
}
main();
