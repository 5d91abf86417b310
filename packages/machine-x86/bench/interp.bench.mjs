// Interpreter throughput: the 8-instruction integer loop (add, xor, lea, store, load, sub, dec,
// jnz) in flat 32-bit protected mode, paging off. Plain ESM over ../dist (run `pnpm build` first):
//   node bench/interp.bench.mjs [millions-of-instructions=200]
// Prints MIPS (best of 5 runs after a warm-up).
import { Bus } from '../dist/bus/bus.js';
import { SparseMemory } from '../dist/memory/sparse-memory.js';
import { Processor } from '../dist/cpu/processor.js';
import { AR, Cr0, CpuState } from '../dist/cpu/state.js';

const millions = Number(process.argv[2] ?? 200);
const CODE = 0x1000;
const DATA = 0x2000;
// loop: add eax,ebx / xor ecx,eax / lea edx,[eax+ecx*2+4] / mov [esi],edx / mov edi,[esi] / sub ebx,3 / dec ebp / jnz loop
const LOOP = [0x01, 0xd8, 0x31, 0xc1, 0x8d, 0x54, 0x48, 0x04, 0x89, 0x16, 0x8b, 0x3e, 0x83, 0xeb, 0x03, 0x4d, 0x75, 0xee];

function setup() {
  const mem = new SparseMemory({ ranges: [{ base: 0, size: 1 << 20 }] });
  const bus = new Bus(mem);
  const s = new CpuState();
  s.reset('power-on');
  s.cr0 = Cr0.PE | Cr0.ET;
  const code = AR.P | AR.S | AR.CODE | AR.RW | AR.ACCESSED | AR.DB | AR.G;
  const data = AR.P | AR.S | AR.RW | AR.ACCESSED | AR.DB | AR.G;
  for (let r = 0; r < 6; r++) {
    s.segSel[r] = r === 1 ? 8 : 16;
    s.segBase[r] = 0;
    s.segLimit[r] = 0xffffffff;
    s.segAr[r] = r === 1 ? code : data;
  }
  s.rflags = 2;
  const p = new Processor(s, bus);
  p.modeChanged();
  mem.writeBytes(CODE, Uint8Array.from(LOOP));
  return { p, s };
}

function runOnce(total) {
  const { p, s } = setup();
  s.rip = CODE;
  s.lo[5] = 0x7fffffff; // ebp: loop counter (never reaches 0 here)
  s.lo[6] = DATA;
  s.lo[3] = 12345;
  const t0 = process.hrtime.bigint();
  let done = 0;
  while (done < total) done += p.run(Math.min(1_000_000, total - done));
  const ns = Number(process.hrtime.bigint() - t0);
  return (done / ns) * 1000; // MIPS
}

runOnce(20_000_000); // warm-up
let best = 0;
for (let k = 0; k < 5; k++) best = Math.max(best, runOnce(millions * 1_000_000 / 5));
console.log(`interp 8-instruction integer loop (32-bit protected mode): ${best.toFixed(1)} MIPS`);
