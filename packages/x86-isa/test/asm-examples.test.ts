/**
 * The README examples (src/asm/examples): they assemble, their bytes equal GNU as's (through the
 * derived GNU as text, and for the SIPI trampoline also through an independent hand-written GNU as
 * source), and the README shows exactly the tested code.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { idtStubs } from '../src/asm/examples/idt-stubs.js';
import { rootOsEntry } from '../src/asm/examples/root-os-entry.js';
import { sipiTrampoline } from '../src/asm/examples/sipi-trampoline.js';
import { nativeServiceBytes } from '../src/index.js';
import { compareWithGas, formatMismatches, gasAssemble } from './corpus/asm-gas.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('examples', () => {
  it('root OS entry: multiboot header, GDT, long-mode switch', () => {
    const p = rootOsEntry().assemble();
    const { mismatches } = compareWithGas(p);
    expect(formatMismatches(mismatches)).toBe('');
    const v = new DataView(p.bytes.buffer, p.bytes.byteOffset);
    expect(v.getUint32(0, true)).toBe(0x1badb002);
    expect((v.getUint32(0, true) + v.getUint32(4, true) + v.getUint32(8, true)) >>> 0).toBe(0);
    expect(v.getUint32(12, true)).toBe(0x100000); // header_addr
    expect(v.getUint32(28, true)).toBe(p.address('entry'));
    expect(p.address('pml4') % 4096).toBe(0);
    expect(p.address('bss_end')).toBe(p.address('pd') + 4096 + 0x4000);
    // the far jump to 64-bit code: EA <long_mode> 08 00
    const jmp = p.listing.find((e) => e.bytes[0] === 0xea)!;
    expect(hex(jmp.bytes)).toBe(`ea${hex(le32(p.address('long_mode')))}0800`);
    const gdtr = p.offsetOf('gdtr');
    expect(v.getUint16(gdtr, true)).toBe(23);
    expect(v.getUint32(gdtr + 2, true)).toBe(p.address('gdt'));
    const code64 = p.offsetOf('gdt') + 8;
    expect(hex(p.bytes.slice(code64, code64 + 8))).toBe('ffff0000009aaf00');
  });

  it('SIPI trampoline: 16 -> 32 -> 64-bit, bytes equal a hand-written GNU as source', () => {
    const p = sipiTrampoline(0x08).assemble();
    expect(p.origin).toBe(0x8000n);
    expect(formatMismatches(compareWithGas(p).mismatches)).toBe('');
    const gas = gasAssemble(SIPI_GAS, 0x8000n);
    expect(hex(p.bytes)).toBe(hex(gas.bytes));
    for (const name of ['pm32', 'lm64', 'gdt', 'gdtr', 'tramp_cr3', 'next_stack', 'ap_entry']) {
      expect(p.symbol(name), name).toBe(gas.symbols.get(name));
    }
    // starts with cli; cld; mov ax, cs; mov ds, ax; o32 lgdt [gdtr - trampoline]
    expect(hex(p.bytes.slice(0, 12))).toBe(`fafc8cc88ed8660f0116${hex(le16(p.address('gdtr') - 0x8000))}`);
  });

  it('IDT stubs: stubs, common handler, gates split from label expressions', () => {
    const p = idtStubs().assemble();
    expect(formatMismatches(compareWithGas(p).mismatches)).toBe('');
    const v = new DataView(p.bytes.buffer, p.bytes.byteOffset);
    for (let i = 0; i < 32; i++) {
      const gate = p.offsetOf('idt') + 16 * i;
      const isr = p.symbol(`isr${i}`);
      const off = BigInt(v.getUint16(gate, true)) | (BigInt(v.getUint16(gate + 6, true)) << 16n) | (BigInt(v.getUint32(gate + 8, true)) << 32n);
      expect(off).toBe(isr);
      expect(v.getUint16(gate + 2, true)).toBe(8);
      expect(p.bytes[gate + 5]).toBe(0x8e);
    }
    // stub 0: push 0; push 0; jmp isr_common (rel32: far from the common handler)
    const s0 = p.offsetOf('isr0');
    expect(hex(p.bytes.slice(s0, s0 + 5))).toBe('6a006a00e9');
    // stub 31 is close to the common handler: short jump
    const s31 = p.offsetOf('isr31');
    expect(hex(p.bytes.slice(s31, s31 + 5))).toBe('6a006a1feb');
    const native = hex(nativeServiceBytes(64, 0x10));
    expect(hex(p.bytes)).toContain(native);
  });

  it('the README shows exactly the tested example code', () => {
    const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
    for (const [file, region] of [
      ['root-os-entry.ts', 'root-os-entry'],
      ['sipi-trampoline.ts', 'sipi-trampoline'],
      ['idt-stubs.ts', 'idt-stubs'],
    ] as const) {
      const src = readFileSync(fileURLToPath(new URL(`../src/asm/examples/${file}`, import.meta.url)), 'utf8');
      const m = new RegExp(`// #region ${region}\\n([\\s\\S]*?)// #endregion ${region}`).exec(src);
      expect(m, file).not.toBeNull();
      expect(readme, `${file} region is not in README.md verbatim`).toContain(m![1]!.trim());
    }
  });
});

function le32(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
}
function le16(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff);
}

/** The SIPI trampoline written by hand for GNU as (independent of the DSL's formatter). */
const SIPI_GAS = `
.intel_syntax noprefix
.code16
trampoline:
  cli
  cld
  mov ax, cs
  mov ds, ax
  lgdt FWORD PTR [gdtr - trampoline]
  mov eax, cr0
  or eax, 1
  mov cr0, eax
  data32 jmp 0x08:pm32
.code32
pm32:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov eax, 0x1000
  lock xadd DWORD PTR [next_stack], eax
  lea esp, [eax + 0x1000]
  mov eax, DWORD PTR [tramp_cr3]
  mov cr3, eax
  mov eax, cr4
  or eax, 1 << 5
  mov cr4, eax
  mov ecx, 0xc0000080
  rdmsr
  or eax, 1 << 8
  wrmsr
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  jmp 0x18:lm64
.code64
lm64:
  jmp QWORD PTR [rip + ap_entry]
  .balign 8, 0
gdt:
  .quad 0
  .quad 0x00cf9a000000ffff
  .quad 0x00cf92000000ffff
  .quad 0x00af9a000000ffff
gdt_end:
gdtr:
  .word gdt_end - gdt - 1
  .long gdt
  .balign 4, 0
tramp_cr3:
  .long 0
next_stack:
  .long 0x90000
ap_entry:
  .quad 0
`;
