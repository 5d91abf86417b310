/* global process, console, performance */
// Root OS benchmarks (run `pnpm --filter @latelaunch/root-os build` first):
//   node bench/root-os.bench.mjs [instructions=50000000] [repeat=3]
// For each root mode (long, pae, protected):
// 1. Simulated instructions per second of the SMP workload (LAPIC timer ticks, checksum loop) on
//    the default machine (4 processors, 2 NUMA nodes, 1 GiB, `smp: true`), measured over a fixed
//    instruction count (all processors) after `running`, best of `repeat` (after one warm-up run).
// 2. Wall time to boot 64 processors to `running` (`smp-up 64/64`), best of `repeat` (after one
//    warm-up boot), and the virtual time it took.
import 'reflect-metadata';
import { ROOT_OS_MODES, createRootOsMachine, readSmpSummary } from '../dist/index.js';

const instructions = Number(process.argv[2] ?? 50_000_000);
const repeat = Number(process.argv[3] ?? 3);
const COM1 = 0x3f8;

/** Runs until the BSP has printed `running` (stopping at every console line); returns the last result. */
function bootToRunning(os) {
  let r;
  for (let lines = 0; lines < 16 && !os.console().endsWith('running\n'); lines++) {
    r = os.machine.run({ until: { port: COM1, value: 0x0a }, maxInstructions: 100_000_000 });
    if (r.reason !== 'port-write') throw new Error(`bring-up stopped: ${r.reason} ${JSON.stringify(os.console())}`);
  }
  const summary = readSmpSummary(os.machine.memory);
  if (!os.console().endsWith('running\n') || summary.phase !== 'running' || summary.online !== summary.expected) {
    throw new Error(`bring-up failed: ${JSON.stringify(os.console())} ${JSON.stringify(summary)}`);
  }
  return r;
}

for (const mode of ROOT_OS_MODES) {
  // ---- 1. workload throughput, 4 processors
  let best = 0;
  let bestCpu = 0;
  let retired = 0;
  for (let k = 0; k <= repeat; k++) {
    const os = createRootOsMachine({ mode, smp: true });
    bootToRunning(os);
    const before = os.processorStatus();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = os.machine.run({ until: 'budget', maxInstructions: instructions });
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    const after = os.processorStatus();
    if (r.reason !== 'budget-exhausted') throw new Error(`workload stopped: ${r.reason}`);
    if (after.some((p, i) => p.passes <= before[i].passes || p.ticks <= before[i].ticks)) throw new Error(`a processor did not advance: ${JSON.stringify(after)}`);
    retired = r.instructions;
    if (k === 0) continue; // warm-up
    best = Math.max(best, r.instructions / ms / 1000);
    bestCpu = Math.max(bestCpu, r.instructions / ((c.user + c.system) / 1000) / 1000);
  }
  console.log(`root-os ${mode}: SMP workload, 4 cpus after running: ${best.toFixed(1)} MIPS wall clock, ${bestCpu.toFixed(1)} MIPS per CPU-second (${retired} instructions, best of ${repeat})`);

  // ---- 2. bring-up of 64 processors
  let bestMs = Infinity;
  let bestRunMs = Infinity;
  let virtualNs = 0;
  let bootInstructions = 0;
  for (let k = 0; k <= repeat; k++) {
    const t0 = performance.now();
    const os = createRootOsMachine({ mode, smp: true, firmware: { cpus: 64 } });
    const t1 = performance.now();
    const r = bootToRunning(os);
    const t2 = performance.now();
    const ms = t2 - t0;
    if (!os.console().includes('smp-up 64/64\n')) throw new Error(`64-processor bring-up: ${JSON.stringify(os.console())}`);
    virtualNs = r.time;
    bootInstructions = r.totalInstructions;
    if (k === 0) continue; // warm-up
    bestMs = Math.min(bestMs, ms);
    bestRunMs = Math.min(bestRunMs, t2 - t1);
  }
  console.log(`root-os ${mode}: 64 cpus to running (smp-up 64/64): ${bestMs.toFixed(0)} ms wall clock with machine creation, ${bestRunMs.toFixed(0)} ms from power-on (best of ${repeat} each), ${(virtualNs / 1e6).toFixed(3)} ms virtual time, ${bootInstructions} instructions`);
}
