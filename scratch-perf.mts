import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { hfConfigToModelConfig } from './server/src/model/hfConfig.js';
import { expectedWeightShapes } from './server/src/model/weightShapes.js';
import { writeSafetensors, readSafetensors } from './server/src/model/safetensors.js';
const dir = '/tmp/repopot-perf-smol2';
await fsp.mkdir(dir, { recursive: true });
const cfg = hfConfigToModelConfig(JSON.parse(await fsp.readFile('/work/shared/configs/smollm2-135m.json', 'utf8')), 'c');
const w = new Map();
for (const [n, s] of expectedWeightShapes(cfg)) { const d = new Float32Array(s.reduce((a,b)=>a*b,1)); w.set(n,{shape:s,data:d}); }
await writeSafetensors(dir + '/model.safetensors', w, 'BF16');
await writeSafetensors(dir + '/f32.safetensors', w, 'F32');
w.clear();
for (const f of ['model','f32']) for (const h of [false,true]) {
let t = Date.now();
await readSafetensors(dir + `/${f}.safetensors`, { hash: h ? createHash('sha256') : undefined });
console.log(f, 'hash', h, 'ms', Date.now()-t);
}
await fsp.rm(dir, { recursive: true });
