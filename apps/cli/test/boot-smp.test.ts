// `latelaunch boot --cpus 4` on the QEMU-compatible platform profile: a multiboot kernel built with
// binutils (as --32 / ld -m elf_i386; missing tools are a failure, not a skip) reads the CPU count
// from fw_cfg, starts the other processors with INIT/SIPI/SIPI through its local APIC and waits
// until every one of them has checked in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/main.js';

const SMP_S = String.raw`
  .set MAGIC, 0x1BADB002
  .set FLAGS, 0x00000003
  .set COUNTER, 0x7000
  .set APIC, 0xfee00000
  .section .multiboot, "a"
  .align 4
  .long MAGIC, FLAGS, -(MAGIC + FLAGS)

  .section .text
  .code32
  .global _start
_start:
  /* fw_cfg: selector 0x05 (CPU count, u16) */
  mov $0x510, %dx
  mov $0x05, %ax
  out %ax, %dx
  mov $0x511, %dx
  xor %ebx, %ebx
  in %dx, %al
  mov %al, %bl
  in %dx, %al
  mov %al, %bh
  dec %ebx                  /* APs expected */

  /* the real-mode trampoline to 0x8000 (SIPI vector 0x08) */
  mov $tramp_start, %esi
  mov $0x8000, %edi
  mov $(tramp_end - tramp_start), %ecx
  cld
  rep movsb
  movl $0, COUNTER

  movl $0x1ff, APIC + 0xf0          /* SVR: software enable */
  movl $0, APIC + 0x310
  movl $0x000c4500, APIC + 0x300    /* INIT, all excluding self */
  movl $0x000c4608, APIC + 0x300    /* SIPI, vector 0x08 */
  movl $0x000c4608, APIC + 0x300    /* second SIPI */

  mov $10000000, %ecx
1:
  cmp %ebx, COUNTER
  je 2f
  pause
  dec %ecx
  jnz 1b
  mov $0x7e, %al
  out %al, $0xf4
2:
  mov $0x3f8, %dx
  mov $msg, %esi
3:
  lodsb
  test %al, %al
  jz 4f
  out %al, %dx
  jmp 3b
4:
  mov COUNTER, %eax
  add $'0', %al
  out %al, %dx
  mov $'\n', %al
  out %al, %dx
  mov COUNTER, %eax
  out %al, $0xf4
5:
  cli
  hlt
  jmp 5b

msg:
  .asciz "APs started: "

tramp_start:
  .code16
  xor %ax, %ax
  mov %ax, %ds
  lock incl COUNTER
  cli
6:
  hlt
  jmp 6b
tramp_end:
`;

const LINKER_LD = String.raw`
ENTRY(_start)
SECTIONS {
  . = 1M;
  .text : { *(.multiboot) *(.text*) }
  /DISCARD/ : { *(.comment) *(.note*) *(.eh_frame*) }
}
`;

async function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

let dir: string;
let kernelPath: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'll-smp-'));
  writeFileSync(join(dir, 'smp.S'), SMP_S);
  writeFileSync(join(dir, 'linker.ld'), LINKER_LD);
  execFileSync('as', ['--32', 'smp.S', '-o', 'smp.o'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  execFileSync('ld', ['-m', 'elf_i386', '-T', 'linker.ld', '-o', 'smp.elf', 'smp.o'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  kernelPath = join(dir, 'smp.elf');
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('latelaunch boot: QEMU platform profile, SMP start-up', () => {
  it('--cpus 4: the kernel finds the CPU count in fw_cfg and starts the 3 APs with INIT/SIPI', async () => {
    const r = await run('boot', '--kernel', kernelPath, '--cpus', '4', '--json');
    expect(r.err).toBe('');
    const j = JSON.parse(r.out);
    expect(j.serial).toBe('APs started: 3\n');
    expect(j.debugExitValue).toBe(3);
    expect(r.code).toBe((3 << 1) | 1);
    expect(j.processors.map((p: { activity: string; mode: string }) => `${p.activity}/${p.mode}`)).toEqual(['active/protected32', 'hlt/real', 'hlt/real', 'hlt/real']);
  });

  it('--cpus 1: no APs to start', async () => {
    const r = await run('boot', '--kernel', kernelPath, '--cpus', '1');
    expect(r.out).toBe('APs started: 0\n');
    expect(r.code).toBe(1);
  });
});
