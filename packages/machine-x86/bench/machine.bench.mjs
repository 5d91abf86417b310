/* global process, console, performance */
// Machine benchmarks (run `pnpm --filter @latelaunch/machine-x86 build` first):
//   node bench/machine.bench.mjs [iterations=20000000]
// 1. Interpreter throughput through the whole machine (scheduler, devices, clock) on the
//    8-instruction integer loop, as a multiboot ELF built with as/ld now; 1 and 4 processors
//    (the APs wait for SIPI), quantum 1000 and 100.
// 2. Snapshot/restore of a 1 GiB, 4-processor machine after 10 MiB of writes.
import 'reflect-metadata';
import { buildBenchKernel, runOurs } from './machine-kernel.mjs';
import { createMachine } from '../dist/index.js';

const iterations = Number(process.argv[2] ?? 20_000_000);
const kernel = buildBenchKernel(iterations);

for (const [cpus, quantum] of [
  [1, 1000],
  [4, 1000],
  [1, 100],
]) {
  const r = await runOurs(kernel, { cpus, quantum });
  console.log(`machine: 8-instruction loop, multiboot ELF, ${cpus} cpu(s), quantum ${quantum}: ${r.mips.toFixed(1)} MIPS wall clock, ${r.cpuMips.toFixed(1)} MIPS per CPU-second (${r.instructions} instructions, best of 3)`);
}

// ---- snapshots
function lcg(seed) {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0);
}
const m = createMachine({ cpus: 4, memoryMiB: 1024 });
m.bootMultiboot(kernel);
const rnd = lcg(1);
const ramPages = (1024 - 1) * 256; // 1 MiB .. 1 GiB
const page = new Uint8Array(4096).fill(0x5a);
for (let k = 0; k < 2560; k++) m.memory.writeBytes(0x100000 + (rnd() % ramPages) * 4096, page); // 10 MiB
const time = (n, fn) => {
  const t0 = performance.now();
  for (let k = 0; k < n; k++) fn(k);
  return ((performance.now() - t0) * 1000) / n;
};
const N = 20000;
time(1000, () => m.snapshot());
const snapUs = time(N, () => m.snapshot());
const s = m.snapshot();
const restoreUs = time(N, () => m.restore(s));
const forkUs = time(N, () => m.restore(m.snapshot()));
const cowUs = time(2000, () => {
  m.restore(s);
  for (let j = 0; j < 16; j++) m.memory.write32(0x100000 + (rnd() % ramPages) * 4096, j);
});
console.log(`machine snapshot (1 GiB, 4 cpus, 10 MiB written): snapshot ${snapUs.toFixed(2)} µs, restore ${restoreUs.toFixed(2)} µs, fork (snapshot + restore) ${forkUs.toFixed(2)} µs, restore + 16 scattered writes ${cowUs.toFixed(2)} µs`);
