// `repopot selftest [--json]`: the engine's correctness checks (reference parity, cache edits,
// onnxruntime-genai parity, stories260K). Exit code 1 when a check that could run failed.
import { runAllChecks, type CheckResult } from '../selftest/checks';
import { emitJson, parseOptions } from './args';

export async function runSelftest(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, { json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } }, 'selftest');
  if (values.help) {
    process.stdout.write('usage: repopot selftest [--json]\n');
    return 0;
  }
  const print = (r: CheckResult) => {
    if (values.json) emitJson(r);
    else if (r.skipped) process.stdout.write(`SKIP ${r.check}: ${r.skipped}\n`);
    else process.stdout.write(`${r.pass ? 'PASS' : 'FAIL'} ${r.check}  maxAbsDiff=${r.maxAbsDiff.toExponential(2)}${r.detail && !r.pass ? `  ${r.detail}` : ''}\n`);
  };
  const results = await runAllChecks(print);
  return results.some((r) => !r.pass && !r.skipped) ? 1 : 0;
}
