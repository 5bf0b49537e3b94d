// `repopot selftest [--json]`: the engine's correctness checks (reference parity, cache edits,
// onnxruntime-genai parity, stories260K). Exit code 1 when a check that could run failed.
import { runAllChecks, type CheckResult } from '../selftest/checks';
import { command, emitJson, runCommand } from './args';

const selftestFlags = {
  json: { type: 'boolean', default: false, help: 'one JSON line per check' },
} as const;

export const selftestCommand = command('selftest', selftestFlags, {
  summary: 'Correctness checks of the engine: reference parity, cache edits, onnxruntime-genai parity, stories260K. Exit 1 when a check that could run failed.',
});

export function runSelftest(argv: string[]): Promise<number> {
  return runCommand(argv, selftestCommand, async ({ json }) => {
    const results = await runAllChecks((r: CheckResult) => {
      if (json) emitJson(r);
      else if (r.skipped) process.stdout.write(`SKIP ${r.check}: ${r.skipped}\n`);
      else process.stdout.write(`${r.pass ? 'PASS' : 'FAIL'} ${r.check}  maxAbsDiff=${r.maxAbsDiff.toExponential(2)}${r.detail && !r.pass ? `  ${r.detail}` : ''}\n`);
    });
    return results.some((r) => !r.pass && !r.skipped) ? 1 : 0;
  });
}
