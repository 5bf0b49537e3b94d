// In-process A/B of the standard graph's past layouts: token-major (Concat + Transpose of the cache per layer per step)
// against head-major 'headT' (the cache read in place, graph/headMajorAttention.ts), on the same lazily generated
// random weights, decode steps alternating between the two engines (order reversed every round) so that machine load
// hits both alike; prints median wall and CPU ms per step, the head-major ÷ token-major ratio, and the CPU time of a
// 512-token prefill from empty and of a 256-token chunk onto each cache.
//   node --import tsx tools/bench/pastLayoutAB.ts CONFIG.json int4|int8|fp32 [CACHE_LENGTHS=1024,4096] [STEPS=16] [THREADS=2] [KV_DTYPE=fp32]
// CONFIG.json is looked up in ../shared/configs when not a path. REPOPOT_ORT_PROFILE=/tmp/prof/p writes onnxruntime profiles.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../../server/src/engine/engine.js';
import type { KvCache } from '../../server/src/engine/kvCache.js';
import type { PastLayout, WeightFormat } from '../../server/src/graph/contract.js';
import { hfConfigToModelConfig } from '../../server/src/model/hfConfig.js';
import { lazyRandomWeights } from '../../server/src/model/randomWeights.js';
import type { KvDtype } from '../../server/src/vocab.js';

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const layouts: readonly PastLayout[] = ['token', 'headT'];

async function main(): Promise<void> {
  const [file, quant, lengthList = '1024,4096', stepArg = '16', threadArg = '2', kvArg = 'fp32'] = process.argv.slice(2);
  const lengths = lengthList.split(',').map(Number);
  const steps = Number(stepArg);
  const threads = Number(threadArg);
  const configPath = existsSync(file) ? file : path.join(__dirname, '..', '..', '..', 'shared', 'configs', file);
  const config = hfConfigToModelConfig(JSON.parse(readFileSync(configPath, 'utf8')), file);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'past-layout-ab-'));
  const model = { config, weights: lazyRandomWeights(config, 1), weightsHash: 'past-layout-ab' };
  const engines = new Map<PastLayout, Engine>();
  for (const pastLayout of layouts) {
    engines.set(pastLayout, await Engine.fromModel(model, { cacheDir: dir, weights: quant as WeightFormat, kernels: 'standard', pastLayout, threads, kvDtype: kvArg as KvDtype }));
  }
  const engine = (l: PastLayout) => engines.get(l)!;
  const order = (round: number) => (round % 2 ? [...layouts].reverse() : layouts);
  const tokens = Array.from({ length: 512 }, (_, i) => (i * 7919 + 13) % config.vocabSize);

  const prefill = new Map<PastLayout, number[]>(layouts.map((l) => [l, []]));
  for (let r = 0; r < 4; r++) {
    for (const l of order(r)) {
      const c0 = process.cpuUsage();
      await engine(l).forward(engine(l).newCache(), tokens);
      const c1 = process.cpuUsage(c0);
      prefill.get(l)!.push((c1.user + c1.system) / 1000);
    }
  }
  console.log(`prefill 512 cpu ms: ${layouts.map((l) => `${l} ${median(prefill.get(l)!).toFixed(0)}`).join(', ')}`);

  const caches = new Map<PastLayout, KvCache>(layouts.map((l) => [l, engine(l).newCache()]));
  for (const length of lengths) {
    for (const l of layouts) {
      const cache = caches.get(l)!;
      while (cache.length < length) await engine(l).forward(cache, tokens.slice(0, Math.min(512, length - cache.length)));
    }
    const wall = new Map<PastLayout, number[]>(layouts.map((l) => [l, []]));
    const cpu = new Map<PastLayout, number[]>(layouts.map((l) => [l, []]));
    const next = new Map<PastLayout, number>(layouts.map((l) => [l, 1]));
    for (let i = 0; i < steps + 1; i++) {
      for (const l of order(i)) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const r = await engine(l).forward(caches.get(l)!, [next.get(l)!]);
        const t = performance.now() - t0;
        const c1 = process.cpuUsage(c0);
        if (i > 0) {
          wall.get(l)!.push(t);
          cpu.get(l)!.push((c1.user + c1.system) / 1000);
        }
        let best = 0;
        for (let j = 1; j < r.logits.length; j++) if (r.logits[j] > r.logits[best]) best = j;
        next.set(l, best);
      }
    }
    // An ingestion-sized chunk onto this cache (not appended): the head-major graph joins and splits its larger
    // score tensors, which costs in proportion to q × cache rather than cache alone.
    const chunk = new Map<PastLayout, number[]>(layouts.map((l) => [l, []]));
    for (let r = 0; r < 2; r++) {
      for (const l of order(r)) {
        const c0 = process.cpuUsage();
        await engine(l).forward(caches.get(l)!, tokens.slice(0, 256), { append: false });
        const c1 = process.cpuUsage(c0);
        chunk.get(l)!.push((c1.user + c1.system) / 1000);
      }
    }
    console.log(`chunk of 256 onto ${length} cpu ms: ${layouts.map((l) => `${l} ${median(chunk.get(l)!).toFixed(0)}`).join(', ')}`);
    // Back to `length`, so the next length's fill and every round measure the same cache.
    for (const l of layouts) caches.get(l)!.truncate(length);
    const w = (l: PastLayout) => median(wall.get(l)!);
    const c = (l: PastLayout) => median(cpu.get(l)!);
    console.log(
      `cache ${length}: wall ms ${layouts.map((l) => `${l} ${w(l).toFixed(1)}`).join(', ')} (headT/token ${(w('headT') / w('token')).toFixed(3)}); ` +
        `cpu ms ${layouts.map((l) => `${l} ${c(l).toFixed(1)}`).join(', ')} (headT/token ${(c('headT') / c('token')).toFixed(3)}); ` +
        `capacity ${caches.get('headT')!.capacity}; load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`,
    );
  }
  for (const e of engines.values()) await e.dispose();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
