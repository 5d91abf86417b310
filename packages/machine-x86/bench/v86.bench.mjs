/* global process, console, performance, setTimeout, clearTimeout */
// Side by side: our interpreter vs the v86 npm package (BSD-2-Clause; interpreter with
// `disable_jit: true`, and its x86-to-wasm JIT), on the same multiboot ELF (the 8-instruction loop,
// built with as/ld now). Run `pnpm --filter @latelaunch/machine-x86 build` first:
//   node bench/v86.bench.mjs [iterations=20000000]
//
// v86 boots the multiboot kernel without a BIOS (its loader puts the processor in flat 32-bit
// protected mode directly). Its timing is taken from the kernel's own serial output: 'S' just before
// the loop and 'D' just after it (the v86 listener runs synchronously inside the emulation), so boot
// and setup are excluded. MIPS = architectural instructions between the two OUTs / seconds; v86's
// own instruction counter is printed too (it counts slightly differently).
import { createRequire } from 'node:module';
import { buildBenchKernel, runOurs, LOOP_INSTRUCTIONS } from './machine-kernel.mjs';

const iterations = Number(process.argv[2] ?? 20_000_000);
const loopInstructions = LOOP_INSTRUCTIONS * iterations + 7; // setup (5), loop, 2 before the second OUT
const ours = await runOurs(buildBenchKernel(iterations), { repeat: 3 });
console.log(`latelaunch interpreter: ${ours.mips.toFixed(1)} MIPS wall clock, ${ours.cpuMips.toFixed(1)} MIPS per CPU-second (best of 3)`);

let V86;
try {
  ({ V86 } = await import('v86'));
} catch (e) {
  console.log(`v86: cannot load the v86 package (${e.message}); install devDependencies`);
  process.exit(0);
}
const require = createRequire(import.meta.url);
const wasmPath = require.resolve('v86/build/v86.wasm');
// v86 treats port 0xF4 as its own test-exit port and throws: the v86 kernel skips the debug exit.
const kernel = buildBenchKernel(iterations, { debugExit: false });

function runV86(jit) {
  return new Promise((resolve, reject) => {
    const e = new V86({
      wasm_path: wasmPath,
      memory_size: 64 << 20,
      vga_memory_size: 2 << 20,
      multiboot: { buffer: kernel.buffer.slice(kernel.byteOffset, kernel.byteOffset + kernel.byteLength) },
      autostart: true,
      disable_jit: !jit,
      disable_keyboard: true,
      disable_mouse: true,
      disable_speaker: true,
    });
    let t0 = 0;
    let c0 = 0;
    let u0 = null;
    const timer = setTimeout(() => {
      e.stop();
      reject(new Error(`v86 (${jit ? 'JIT' : 'interpreter'}) did not finish in 120 s`));
    }, 120_000);
    e.add_listener('serial0-output-byte', (b) => {
      const now = performance.now();
      const c = e.get_instruction_counter();
      if (b === 0x53) {
        t0 = now;
        c0 = c;
        u0 = process.cpuUsage();
      } else if (b === 0x44) {
        const u = process.cpuUsage(u0);
        clearTimeout(timer);
        e.stop();
        resolve({ mips: loopInstructions / (now - t0) / 1000, cpuMips: loopInstructions / ((u.user + u.system) / 1000) / 1000, counted: c - c0 });
      }
    });
  });
}

for (const jit of [false, true]) {
  let best = 0;
  let bestCpu = 0;
  let counted = 0;
  try {
    for (let k = 0; k < 3; k++) {
      const r = await runV86(jit);
      best = Math.max(best, r.mips);
      bestCpu = Math.max(bestCpu, r.cpuMips);
      counted = r.counted;
    }
    console.log(`v86 ${jit ? 'JIT' : 'interpreter (disable_jit)'}: ${best.toFixed(1)} MIPS wall clock, ${bestCpu.toFixed(1)} MIPS per CPU-second (best of 3; v86 counted ${counted} instructions for ${loopInstructions})`);
  } catch (e) {
    console.log(`v86 ${jit ? 'JIT' : 'interpreter'}: could not run here: ${e.message}`);
  }
}
process.exit(0);
