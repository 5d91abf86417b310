/* global process, performance */
// The benchmark kernel: a multiboot v1 ELF (built with `as --32` / `ld -m elf_i386` at bench time)
// running the 8-instruction integer loop (add, xor, lea, store, load, sub, dec, jnz) ITERATIONS
// times in 32-bit flat protected mode. It writes 'S' to COM1 before the loop and 'D' after it (so
// an emulator's instruction counter can be sampled exactly around the loop), then writes 0 to the
// debug-exit port 0xF4 (unless `debugExit: false`: v86 treats a write to 0xF4 as its own test-exit
// port and throws) and halts with interrupts off.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const LOOP_INSTRUCTIONS = 8;

export function kernelSource(iterations, { debugExit = true } = {}) {
  return `
  .set MAGIC, 0x1BADB002
  .set FLAGS, 0x00000003
  .section .multiboot, "a"
  .align 4
  .long MAGIC, FLAGS, -(MAGIC + FLAGS)

  .text
  .global _start
_start:
  cli
  mov $0x3f8, %dx
  mov $'S', %al
  out %al, %dx
  mov $${iterations}, %ebp
  mov $0x200000, %esi
  xor %eax, %eax
  mov $1, %ebx
  xor %ecx, %ecx
  .align 16
loop:
  add %ebx, %eax
  xor %eax, %ecx
  lea 4(%eax,%ecx,2), %edx
  mov %edx, (%esi)
  mov (%esi), %edi
  sub $3, %ebx
  dec %ebp
  jnz loop
  mov $0x3f8, %dx
  mov $'D', %al
  out %al, %dx
${debugExit ? '  xor %eax, %eax\n  out %al, $0xf4' : ''}
1:
  hlt
  jmp 1b
`;
}

const LINKER = `
ENTRY(_start)
SECTIONS {
  . = 1M;
  .text : { *(.multiboot) *(.text*) }
  /DISCARD/ : { *(.note*) *(.comment) }
}
`;

/** Assembles and links the kernel; returns the ELF bytes. Throws if binutils are missing. */
export function buildBenchKernel(iterations, options = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'll-bench-'));
  try {
    writeFileSync(join(dir, 'k.S'), kernelSource(iterations, options));
    writeFileSync(join(dir, 'k.ld'), LINKER);
    execFileSync('as', ['--32', 'k.S', '-o', 'k.o'], { cwd: dir, stdio: 'pipe' });
    execFileSync('ld', ['-m', 'elf_i386', '-T', 'k.ld', '-o', 'k.elf', 'k.o'], { cwd: dir, stdio: 'pipe' });
    return new Uint8Array(readFileSync(join(dir, 'k.elf')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs the kernel on our machine (1 processor unless `cpus`), `repeat` times after a warm-up;
 * returns the best MIPS (architectural instructions retired by the run / wall-clock seconds) and
 * the best MIPS per CPU-second of this process (less sensitive to other load on the host).
 */
export async function runOurs(kernel, { cpus = 1, quantum = 1000, repeat = 3, memoryMiB = 128 } = {}) {
  await import('reflect-metadata');
  const { createMachine } = await import('../dist/index.js');
  let best = 0;
  let bestCpu = 0;
  let instructions = 0;
  for (let k = 0; k <= repeat; k++) {
    const m = createMachine({ cpus, quantum, memoryMiB });
    m.bootMultiboot(kernel);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = m.run();
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    if (r.reason !== 'debug-exit' || m.uart.text !== 'SD') throw new Error(`benchmark kernel did not finish: ${r.reason} ${JSON.stringify(m.uart.text)}`);
    instructions = r.instructions;
    if (k === 0) continue; // warm-up
    best = Math.max(best, r.instructions / ms / 1000);
    bestCpu = Math.max(bestCpu, r.instructions / ((c.user + c.system) / 1000) / 1000);
  }
  return { mips: best, cpuMips: bestCpu, instructions };
}
