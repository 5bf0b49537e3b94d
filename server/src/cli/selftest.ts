// `repopot selftest [--json]`: the engine's correctness checks (reference parity, cache edits,
// onnxruntime-genai parity, stories260K). Exit code 1 when a check that could run failed.
import { runAllChecks, type CheckResult } from '../selftest/checks';
import { emitJson, parseCommand, type CommandSpec } from './args';

const selftestFlags = {
  json: { type: 'boolean', default: false, help: 'one JSON line per check' },
} as const;

export const selftestCommand = {
  name: 'selftest',
  summary: 'Correctness checks of the engine: reference parity, cache edits, onnxruntime-genai parity, stories260K. Exit 1 when a check that could run failed.',
  options: selftestFlags,
} as const satisfies CommandSpec<typeof selftestFlags>;

export async function runSelftest(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, selftestCommand);
  if (!parsed) return 0;
  const { values } = parsed;
  const print = (r: CheckResult) => {
    if (values.json) emitJson(r);
    else if (r.skipped) process.stdout.write(`SKIP ${r.check}: ${r.skipped}\n`);
    else process.stdout.write(`${r.pass ? 'PASS' : 'FAIL'} ${r.check}  maxAbsDiff=${r.maxAbsDiff.toExponential(2)}${r.detail && !r.pass ? `  ${r.detail}` : ''}\n`);
  };
  const results = await runAllChecks(print);
  return results.some((r) => !r.pass && !r.skipped) ? 1 : 0;
}
