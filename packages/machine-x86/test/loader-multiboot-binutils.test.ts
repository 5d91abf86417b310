/**
 * Multiboot loading of REAL ELF32 kernels built here with GNU binutils (`as --32`, `ld -m elf_i386`).
 * If binutils is missing these tests fail (execFileSync throws): they are never skipped.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MULTIBOOT_BOOTLOADER_MAGIC, SparseMemory, buildPcMemoryLayout, loadMultiboot, parseElf } from '../src/index.js';

const ASM = `
  .set MB_MAGIC, 0x1BADB002
  .set MB_FLAGS, 0x00000003
  .section .multiboot, "a"
  .align 4
  .long MB_MAGIC
  .long MB_FLAGS
  .long -(MB_MAGIC + MB_FLAGS)

  .section .text
  .global _start
_start:
  mov $stack_top, %esp
  mov $0x3f8, %dx
  mov $msg, %esi
1: lodsb
  test %al, %al
  jz 2f
  out %al, %dx
  jmp 1b
2: mov $0x10, %al
  out %al, $0xf4
  cli
3: hlt
  jmp 3b

  .section .data
msg: .asciz "hello from a real kernel\\n"
counter: .long 0x11223344

  .section .bss
  .align 16
stack_bottom: .skip 16384
stack_top:
`;

/** Identity-mapped at 1 MiB. */
const LD_LOW = `
ENTRY(_start)
SECTIONS {
  . = 0x100000;
  .text : ALIGN(4K) { *(.multiboot) *(.text) }
  .data : ALIGN(4K) { *(.data) }
  .bss  : ALIGN(4K) { *(COMMON) *(.bss) }
}
`;

/** Higher half: linked at 0xC0100000, loaded (AT) at 1 MiB. */
const LD_HIGH = `
ENTRY(_start)
SECTIONS {
  . = 0xC0100000;
  .text : AT(ADDR(.text) - 0xC0000000) ALIGN(4K) { *(.multiboot) *(.text) }
  .data : AT(ADDR(.data) - 0xC0000000) ALIGN(4K) { *(.data) }
  .bss  : AT(ADDR(.bss) - 0xC0000000) ALIGN(4K) { *(COMMON) *(.bss) }
}
`;

let dir: string;
const built: Record<'low' | 'high', { elf: Uint8Array; symbols: Map<string, number>; readelf: string }> = {} as never;

function build(name: 'low' | 'high', script: string) {
  const asm = join(dir, 'kernel.s');
  const obj = join(dir, `${name}.o`);
  const ld = join(dir, `${name}.ld`);
  const out = join(dir, `${name}.elf`);
  writeFileSync(asm, ASM);
  writeFileSync(ld, script);
  execFileSync('as', ['--32', '-o', obj, asm]);
  execFileSync('ld', ['-m', 'elf_i386', '-T', ld, '-o', out, obj]);
  const symbols = new Map<string, number>();
  for (const line of execFileSync('nm', [out], { encoding: 'utf8' }).split('\n')) {
    const [addr, , sym] = line.trim().split(/\s+/);
    if (sym) symbols.set(sym, parseInt(addr, 16));
  }
  built[name] = { elf: new Uint8Array(readFileSync(out)), symbols, readelf: execFileSync('readelf', ['-lW', out], { encoding: 'utf8' }) };
}

/** PT_LOAD rows of `readelf -lW`: offset, vaddr, paddr, filesz, memsz. */
function readelfLoads(text: string): number[][] {
  return text
    .split('\n')
    .filter((l) => /^\s*LOAD\s/.test(l))
    .map((l) => l.trim().split(/\s+/).slice(1, 6).map((h) => parseInt(h, 16)));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'latelaunch-mb-'));
  try {
    build('low', LD_LOW);
    build('high', LD_HIGH);
  } catch (e) {
    throw new Error(`GNU binutils (as --32, ld -m elf_i386, nm, readelf) is required by this test and failed: ${(e as Error).message}`);
  }
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('multiboot with kernels built by binutils', () => {
  it('parseElf agrees with readelf on every PT_LOAD segment', () => {
    for (const k of Object.values(built)) {
      const elf = parseElf(k.elf);
      expect(elf.elfClass).toBe(32);
      expect(elf.machine).toBe(3);
      const ours = elf.programHeaders.filter((p) => p.type === 1).map((p) => [p.offset, p.vaddr, p.paddr, p.filesz, p.memsz]);
      expect(ours).toEqual(readelfLoads(k.readelf));
      expect(ours.length).toBeGreaterThanOrEqual(2);
    }
  });

  it('identity-linked kernel: segments land at their physical addresses, bss is zero, entry is _start', () => {
    const layout = buildPcMemoryLayout(64);
    const m = new SparseMemory({ ranges: layout.ranges });
    m.fill(0x100000, 0x10000, 0xcc); // garbage where the kernel and its bss go
    const { elf, symbols } = built.low;
    const r = loadMultiboot(m, elf, { layout, cmdline: 'quiet' });
    expect(r.format).toBe('elf');
    expect(r.entry).toBe(symbols.get('_start'));
    expect(r.state.eip).toBe(symbols.get('_start'));
    expect(r.state.eax).toBe(MULTIBOOT_BOOTLOADER_MAGIC);
    expect(r.state.ebx).toBe(r.info.address);
    // The header is the first thing in .text, at 1 MiB.
    expect(m.read32(0x100000)).toBe(0x1badb002);
    // Every PT_LOAD: file bytes at paddr, then zeros to memsz.
    for (const p of parseElf(elf).loadSegments) {
      expect(m.readBytes(p.paddr, p.filesz)).toEqual(elf.subarray(p.offset, p.offset + p.filesz));
      expect(m.readBytes(p.paddr + p.filesz, p.memsz - p.filesz).every((b) => b === 0)).toBe(true);
    }
    const msg = symbols.get('msg')!;
    expect(new TextDecoder().decode(m.readBytes(msg, 24))).toBe('hello from a real kernel');
    expect(m.read32(symbols.get('counter')!)).toBe(0x11223344);
    expect(m.read32(symbols.get('stack_bottom')!)).toBe(0); // bss zeroed over the garbage
    expect(m.read32(symbols.get('stack_top')! - 4)).toBe(0);
    expect(r.kernelEnd).toBe(symbols.get('stack_top'));
    // Boot information does not collide with the kernel.
    expect(r.info.address + r.info.size <= r.kernelStart || r.info.address >= r.kernelEnd).toBe(true);
    expect(new TextDecoder().decode(m.readBytes(r.info.cmdlineAddress, 5))).toBe('quiet');
  });

  it('higher-half kernel: loaded at p_paddr, entry translated from the virtual _start', () => {
    const layout = buildPcMemoryLayout(64);
    const m = new SparseMemory({ ranges: layout.ranges });
    const { elf, symbols } = built.high;
    const start = symbols.get('_start')!;
    expect(start).toBeGreaterThanOrEqual(0xc0100000);
    const r = loadMultiboot(m, elf, { layout });
    expect(r.entry).toBe(start - 0xc0000000);
    expect(r.kernelStart).toBe(0x100000);
    expect(m.read32(0x100000)).toBe(0x1badb002);
    expect(new TextDecoder().decode(m.readBytes(symbols.get('msg')! - 0xc0000000, 5))).toBe('hello');
  });
});
