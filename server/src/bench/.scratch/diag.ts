import { Engine } from '../../engine/engine';
import { argmax } from '../../engine/sampling';
import { randomWeights } from '../../model/randomWeights';
import { readModelConfig } from '../engineBench';
import type { WeightFormat } from '../../graph/contract';
import { performance } from 'node:perf_hooks';
async function main(): Promise<void> {
  const [cfg, quant] = process.argv.slice(2);
  const config = readModelConfig(cfg);
  const weights = randomWeights(config, 1);
  const engine = await Engine.fromModel({ config, weights, weightsHash: 'diag-' + cfg }, { weights: quant as WeightFormat, cacheDir: '/tmp/gg/graphs' });
  const cache = engine.newCache(4096);
  let tok = 300;
  const step = async (): Promise<number> => { const t = performance.now(); const r = await engine.forward(cache, [tok], { logits: 'last' }); tok = argmax(r.logits); return performance.now() - t; };
  for (const target of [16, 256, 1024]) {
    while (cache.length < target - 1) { const n = Math.min(512, target - 1 - cache.length); await engine.forward(cache, Array.from({ length: n }, (_, i) => 300 + i)); }
    const ms: number[] = [];
    for (let i = 0; i < 6; i++) ms.push(await step());
    console.log(target, ms.map((m) => m.toFixed(1)).join(' '));
  }
  await engine.dispose();
}
main();
