// In-process A/B of the graph kernels: standard, fused+sdpa and fused+gqa engines on the same lazily generated
// random weights, decode steps alternating between them (order reversed every round), so machine load hits all
// three alike; prints median wall and CPU ms per step and prefill CPU time (docs/benchmarks.md, engine section).
//   node --import tsx tools/bench/kernelsAB.ts CONFIG.json int4|int8|fp32 [CACHE_LENGTHS=1024,4096] [STEPS=16] [THREADS=2]
// CONFIG.json is looked up in ../shared/configs when not a path.
import { existsSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os'; import * as path from 'node:path';
import { Engine } from '../../server/src/engine/engine.js';
import { hfConfigToModelConfig } from '../../server/src/model/hfConfig.js';
import { lazyRandomWeights } from '../../server/src/model/randomWeights.js';
const med = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
(async () => {
  const f = process.argv[2], quant = process.argv[3] as 'int4', lengths = (process.argv[4] ?? '1024,4096').split(',').map(Number), steps = Number(process.argv[5] ?? 16), threads = Number(process.argv[6] ?? 2);
  const config = hfConfigToModelConfig(JSON.parse(readFileSync((existsSync(f) ? f : path.join(__dirname, "..", "..", "..", "shared", "configs", f)), 'utf8')), f);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wt14-ab-'));
  const model = { config, weights: lazyRandomWeights(config, 1), weightsHash: 'ab' };
  const names = ['gqa', 'sdpa', 'standard'] as const;
  const engines = {
    gqa: await Engine.fromModel(model, { cacheDir: dir, weights: quant, kernels: 'fused', attention: 'gqa', threads }),
    sdpa: await Engine.fromModel(model, { cacheDir: dir, weights: quant, kernels: 'fused', attention: 'sdpa', threads }),
    standard: await Engine.fromModel(model, { cacheDir: dir, weights: quant, kernels: 'standard', threads }),
  };
  const caches = Object.fromEntries(names.map((n) => [n, engines[n].newCache(Math.max(...lengths) + 64)])) as Record<string, ReturnType<Engine['newCache']>>;
  const toks = Array.from({ length: 512 }, (_, i) => (i * 7919 + 13) % config.vocabSize);
  const pre: Record<string, number[]> = { gqa: [], sdpa: [], standard: [] };
  for (let r = 0; r < 2; r++) for (const k of r % 2 ? [...names].reverse() : names) { const c = engines[k].newCache(600); const c0 = process.cpuUsage(); await engines[k].forward(c, toks); const c1 = process.cpuUsage(c0); pre[k].push((c1.user + c1.system) / 1000); }
  console.log('prefill 512 cpu ms', Object.fromEntries(names.map((n) => [n, med(pre[n]).toFixed(0)])));
  for (const L of lengths) {
    for (const k of names) while (caches[k].length < L) await engines[k].forward(caches[k], toks.slice(0, Math.min(512, L - caches[k].length)));
    const ms: Record<string, number[]> = { gqa: [], sdpa: [], standard: [] }, cpu: Record<string, number[]> = { gqa: [], sdpa: [], standard: [] };
    const next: Record<string, number> = { gqa: 1, sdpa: 1, standard: 1 };
    for (let i = 0; i < steps + 1; i++) for (const k of i % 2 ? [...names].reverse() : names) {
      const c0 = process.cpuUsage(); const s = performance.now(); const r = await engines[k].forward(caches[k], [next[k]]); const t = performance.now() - s; const c1 = process.cpuUsage(c0);
      if (i > 0) { ms[k].push(t); cpu[k].push((c1.user + c1.system) / 1000); }
      let bi = 0; for (let j = 1; j < r.logits.length; j++) if (r.logits[j] > r.logits[bi]) bi = j; next[k] = bi;
    }
    for (const k of names) caches[k].truncate(L);
    console.log(`cache ${L}: wall ms ${names.map((n) => `${n} ${med(ms[n]).toFixed(1)}`).join(', ')}; cpu ms ${names.map((n) => `${n} ${med(cpu[n]).toFixed(1)}`).join(', ')}; load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  }
  for (const n of names) await engines[n].dispose(); rmSync(dir, { recursive: true, force: true });
})();
