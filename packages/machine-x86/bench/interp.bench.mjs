/* global process, console */
// Interpreter throughput: the 8-instruction integer loop (add, xor, lea, store, load, sub, dec,
// jnz) in flat 32-bit protected mode (paging off) — the headline figure — and the same loop with
// 64-bit operands in 64-bit mode (identity translation). Plain ESM over ../dist (run `pnpm build`):
//   node bench/interp.bench.mjs [millions-of-instructions=200]
// Prints MIPS (best of 5 runs after a warm-up), by wall clock and per CPU-second of the process
// (the latter is less sensitive to other load on a shared machine).
import 'reflect-metadata';
import { Bus } from '../dist/bus/bus.js';
import { SparseMemory } from '../dist/memory/sparse-memory.js';
import { Processor } from '../dist/cpu/processor.js';
import { IdentityTranslator } from '../dist/cpu/memory-access.js';
import { AR, Cr0, Cr4, CpuState, Efer } from '../dist/cpu/state.js';

const millions = Number(process.argv[2] ?? 200);
const CODE = 0x1000;
const DATA = 0x2000;
// loop: add eax,ebx / xor ecx,eax / lea edx,[eax+ecx*2+4] / mov [esi],edx / mov edi,[esi] / sub ebx,3 / dec ebp / jnz loop
const LOOP32 = [0x01, 0xd8, 0x31, 0xc1, 0x8d, 0x54, 0x48, 0x04, 0x89, 0x16, 0x8b, 0x3e, 0x83, 0xeb, 0x03, 0x4d, 0x75, 0xee];
// the same with REX.W (64-bit operands; dec rbp is 48 FF CD)
const LOOP64 = [0x48, 0x01, 0xd8, 0x48, 0x31, 0xc1, 0x48, 0x8d, 0x54, 0x48, 0x04, 0x48, 0x89, 0x16, 0x48, 0x8b, 0x3e, 0x48, 0x83, 0xeb, 0x03, 0x48, 0xff, 0xcd, 0x75, 0xe6];

function setup(mode) {
  const mem = new SparseMemory({ ranges: [{ base: 0, size: 1 << 20 }] });
  const bus = new Bus(mem);
  const s = new CpuState();
  s.reset('power-on');
  const code = AR.P | AR.S | AR.CODE | AR.RW | AR.ACCESSED | AR.G | (mode === 64 ? AR.L : AR.DB);
  const data = AR.P | AR.S | AR.RW | AR.ACCESSED | AR.DB | AR.G;
  for (let r = 0; r < 6; r++) {
    s.segSel[r] = r === 1 ? 8 : 16;
    s.segBase[r] = 0;
    s.segLimit[r] = 0xffffffff;
    s.segAr[r] = r === 1 ? code : data;
  }
  if (mode === 64) {
    s.cr0 = Cr0.PE | Cr0.ET | Cr0.PG;
    s.cr4 = Cr4.PAE;
    s.efer = Efer.LME | Efer.LMA;
  } else s.cr0 = Cr0.PE | Cr0.ET;
  s.rflags = 2;
  const p = new Processor(s, bus, { mmu: new IdentityTranslator() });
  p.modeChanged();
  mem.writeBytes(CODE, Uint8Array.from(mode === 64 ? LOOP64 : LOOP32));
  return { p, s };
}

function runOnce(mode, total) {
  const { p, s } = setup(mode);
  s.rip = CODE;
  s.lo[5] = 0x7fffffff; // rBP: loop counter (never reaches 0 here)
  s.lo[6] = DATA;
  s.lo[3] = 12345;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let done = 0;
  while (done < total) done += p.run(Math.min(1_000_000, total - done));
  const ns = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(c0);
  return { wall: (done / ns) * 1000, cpu: done / (cpu.user + cpu.system) };
}

for (const mode of [32, 64]) {
  const total = mode === 32 ? millions * 1_000_000 : (millions * 1_000_000) / 4;
  runOnce(mode, total / 10); // warm-up
  let best = 0;
  let bestCpu = 0;
  for (let k = 0; k < 5; k++) {
    const r = runOnce(mode, total / 5);
    best = Math.max(best, r.wall);
    bestCpu = Math.max(bestCpu, r.cpu);
  }
  const what = mode === 32 ? '8-instruction integer loop (32-bit protected mode)' : 'same loop, 64-bit operands (64-bit mode)';
  console.log(`interp ${what}: ${best.toFixed(1)} MIPS (wall clock; ${bestCpu.toFixed(1)} MIPS per CPU-second)`);
}
