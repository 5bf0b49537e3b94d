// Child-process entry of the engine benchmark: hosts one target (ours or llama.cpp), so the peak RSS the kernel
// reports for this process belongs to that engine alone. Speaks WorkerCommand/WorkerReply over the fork IPC channel;
// every timing is taken here, around the engine call only.

import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { BenchTarget, WorkerCommand, WorkerReply, WorkerStats } from './benchTarget.js';

/**
 * Peak resident set of this process's own memory. Linux: VmHWM, the high-water mark of the address space exec gave
 * this process. getrusage's maxRSS is not used there: it carries over exec from the forking parent, so a parent
 * that was large when it forked (e.g. while writing the random-weight GGUF) gave both peers its own peak.
 */
function peakRssBytes(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (hwm) return Number(hwm[1]) * 1024;
  } catch {
    // not Linux: fall back to getrusage
  }
  return process.resourceUsage().maxRSS * 1024;
}

function stats(target: BenchTarget | undefined): WorkerStats {
  return {
    maxRssBytes: peakRssBytes(),
    rssBytes: process.memoryUsage.rss(),
    contextLength: target?.contextLength ?? 0,
  };
}

function send(reply: WorkerReply): Promise<void> {
  return new Promise((resolve) => process.send!(reply, () => resolve()));
}

async function createTarget(command: Extract<WorkerCommand, { kind: 'init' }>): Promise<BenchTarget> {
  // Import only the engine this process hosts: loading onnxruntime into the llama.cpp process (or the reverse)
  // would inflate its RSS.
  if (command.init.peer !== 'llama.cpp') {
    const { RepopotTarget } = await import('./repopotTarget.js');
    return new RepopotTarget(command.init);
  }
  const { LlamaCppPeer } = await import('./llamaCppPeer.js');
  return new LlamaCppPeer(command.init);
}

async function handle(command: WorkerCommand, state: { target?: BenchTarget }): Promise<WorkerReply | 'exit'> {
  switch (command.kind) {
    case 'init': {
      state.target = await createTarget(command);
      const info = await state.target.load();
      return { kind: 'ready', info, ...stats(state.target) };
    }
    case 'prefill': {
      const target = requireTarget(state.target);
      await target.reset();
      const started = performance.now();
      const lastToken = await target.evaluate(command.tokens);
      return { kind: 'timings', ms: [performance.now() - started], lastToken, ...stats(target) };
    }
    case 'extend': {
      const target = requireTarget(state.target);
      const ms: number[] = [];
      let lastToken = 0;
      for (let from = 0; from < command.tokens.length; from += command.chunk) {
        const chunk = command.tokens.slice(from, from + command.chunk);
        const started = performance.now();
        lastToken = await target.evaluate(chunk);
        ms.push(performance.now() - started);
      }
      return { kind: 'timings', ms, lastToken, ...stats(target) };
    }
    case 'decode': {
      const target = requireTarget(state.target);
      let token = command.firstToken;
      for (let i = 0; i < command.warmup; i++) token = await target.evaluate([token]);
      const ms: number[] = [];
      for (let i = 0; i < command.steps; i++) {
        const started = performance.now();
        token = await target.evaluate([token]);
        ms.push(performance.now() - started);
      }
      return { kind: 'timings', ms, lastToken: token, ...stats(target) };
    }
    case 'exit':
      await state.target?.dispose();
      return 'exit';
  }
}

function requireTarget(target: BenchTarget | undefined): BenchTarget {
  if (!target) throw new Error('engine bench worker: command before init');
  return target;
}

/** Serves commands until 'exit'. Exported for a bundled entry; runs by itself when this file is the main module. */
export function runEngineBenchWorker(): void {
  if (!process.send) throw new Error('engine bench worker must be started with child_process.fork');
  const state: { target?: BenchTarget } = {};
  let queue = Promise.resolve();
  process.on('message', (command: WorkerCommand) => {
    queue = queue.then(async () => {
      try {
        const reply = await handle(command, state);
        if (reply === 'exit') {
          process.disconnect?.();
          process.exit(0);
        }
        await send(reply);
      } catch (err) {
        await send({ kind: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      }
    });
  });
}

if (require.main === module) runEngineBenchWorker();
