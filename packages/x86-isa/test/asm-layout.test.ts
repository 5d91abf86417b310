/**
 * Layout against GNU as: branch relaxation (forward/backward jumps around blocks of many sizes,
 * cascading growth, alignment), label expressions in data and immediates (a GDT/TSS/IDT built from
 * split addresses), data directives, org padding and bits switching.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '@latelaunch/kernel';
import {
  Assembler, type Bits, type Condition, sym, num, mem, dword, qword, word,
  eax, ebx, ecx, ax, rax, rip, esi, cr0, ds, es, ss, esp, CONDITIONS,
} from '../src/index.js';
import { compareWithGas, formatMismatches } from './corpus/asm-gas.js';

const CONDS = Object.keys(CONDITIONS) as Condition[];

function expectGas(a: Assembler) {
  const p = a.assemble();
  const { mismatches, gas } = compareWithGas(p);
  expect(formatMismatches(mismatches)).toBe('');
  for (const [name, value] of p.symbols) {
    if (gas.symbols.has(name)) expect(value, name).toBe(gas.symbols.get(name));
  }
  return p;
}

/** A program of `blocks` labelled blocks with random branches among them and random filler. */
function branchMaze(bits: Bits, seed: string, blocks: number): Assembler {
  const rand = new Rng(seed);
  const rng = { int: (n: number) => rand.int(0, n - 1) };
  const a = new Assembler({ bits, org: bits === 16 ? 0x100 : 0x400000 });
  const fill = bits === 16 ? ax : eax;
  for (let b = 0; b < blocks; b++) {
    a.label(`b${b}`);
    const jumps = 1 + rng.int(3);
    for (let j = 0; j < jumps; j++) {
      // targets mostly nearby (around the rel8 boundary), sometimes far away
      const t = rng.int(4) === 0 ? rng.int(blocks) : Math.max(0, Math.min(blocks - 1, b + rng.int(7) - 3));
      const kind = rng.int(5);
      if (kind === 0) a.jmp(`b${t}`);
      else if (kind === 1) a.call(`b${t}`);
      else a.jcc(CONDS[rng.int(CONDS.length)]!, `b${t}`);
    }
    const filler = rng.int(6);
    if (filler === 0) a.resb(rng.int(140), 0x90);
    else if (filler === 1) a.times(rng.int(30), () => a.mov(fill, rng.int(0x10000)));
    else if (filler === 2) a.align(1 << rng.int(6), 0xcc);
    else if (filler === 3) a.nops(rng.int(20));
    else a.resb(100 + rng.int(60), 0);
  }
  return a;
}

describe('branch relaxation vs GNU as', () => {
  for (const bits of [16, 32, 64] as const) {
    it(`${bits}-bit random branch maze`, () => {
      const p = expectGas(branchMaze(bits, `maze-${bits}`, bits === 16 ? 120 : 250));
      const branches = p.listing.filter((e) => e.kind === 'instruction' && /^j/.test(e.text));
      const short = branches.filter((e) => e.bytes.length === 2).length;
      expect(short).toBeGreaterThan(10);
      expect(branches.length - short).toBeGreaterThan(10);
    });
  }

  it('cascading growth: each relaxation pushes the previous branch out of range', () => {
    const a = new Assembler({ bits: 32 });
    // j0..j49 each reach exactly 126 bytes, except the last (128): it grows, which pushes j48's
    // target out of reach, which grows, ... and the whole chain becomes rel32.
    for (let i = 0; i < 50; i++) a.jmp(`t${i}`);
    a.resb(128 - 100, 0x90);
    for (let i = 0; i < 50; i++) {
      a.label(`t${i}`);
      a.nop().nop();
      if (i === 48) a.nop().nop();
    }
    const p = expectGas(a);
    expect(p.listing.filter((e) => e.bytes[0] === 0xe9).length).toBe(50);

  });

  it('boundaries: rel8 exactly +127 / -128 stay short, +128 / -129 grow', () => {
    const a = new Assembler({ bits: 32 });
    a.label('m128');
    a.resb(126, 0x90);
    a.jmp('m128'); // -128: short
    a.label('m129');
    a.resb(127, 0x90);
    a.jmp('m129'); // -129: near
    a.jmp('p127'); // +127: short
    a.resb(127, 0x90);
    a.label('p127');
    a.jmp('p128'); // +128: near
    a.resb(128, 0x90);
    a.label('p128');
    const p = expectGas(a);
    const jumps = p.listing.filter((e) => e.kind === 'instruction');
    expect(jumps.map((e) => e.bytes.length)).toEqual([2, 5, 2, 5]);
  });

  for (const bits of [16, 32, 64] as const) {
    it(`${bits}-bit forced sizes: 'near' keeps rel16/32 for a close target, 'short' stays rel8`, () => {
      const a = new Assembler({ bits });
      a.label('top');
      a.jmp('top', 'near').jz('top', 'near').jmp('next', 'near').jnc('next', 'short').jmp('next', 'short');
      a.label('next');
      const p = expectGas(a);
      const near = bits === 16 ? [3, 4, 3] : [5, 6, 5];
      expect(p.listing.filter((e) => e.kind === 'instruction').map((e) => e.bytes.length)).toEqual([...near, 2, 2]);
    });
  }
});

describe('label expressions, data and directives vs GNU as', () => {
  it('a GDT, TSS descriptor and IDT gates whose fields are split label addresses', () => {
    const a = new Assembler({ bits: 32, org: 0x7c00 });
    a.lgdt(mem('gdtr'));
    a.mov(eax, sym('tss').shr(16)); // split addresses in immediates too
    a.mov(ebx, sym('handler').and(0xffff).or(num(0x08).shl(16)));
    a.jmp('start');
    a.align(8);
    a.label('gdt');
    a.dq(0);
    a.gdtEntry(0, 0xfffff, 0x9a, 0xc);
    a.gdtEntry(0, 0xfffff, 0x92, 0xc);
    a.gdtEntry('tss', sym('tss_end').sub('tss').sub(1), 0x89, 0);
    a.dw(sym('tss_end').sub('tss').sub(1), sym('tss').and(0xffff)); // the same descriptor by hand
    a.db(sym('tss').shr(16).and(0xff), 0x89, 0, sym('tss').shr(24));
    a.label('gdt_end');
    a.label('gdtr');
    a.dw(sym('gdt_end').sub('gdt').sub(1));
    a.dd('gdt');
    a.label('idt');
    a.times(4, () => a.idtGate32('handler', 0x08, 0x8e));
    a.label('start');
    a.hlt();
    a.label('handler');
    a.iret();
    a.label('tss');
    a.resb(104);
    a.label('tss_end');
    const p = expectGas(a);
    const tss = p.address('tss');
    const desc = p.offsetOf('gdt') + 24;
    expect([...p.bytes.slice(desc, desc + 8)]).toEqual([103, 0, tss & 0xff, (tss >> 8) & 0xff, (tss >> 16) & 0xff, 0x89, 0, tss >>> 24]);
    expect([...p.bytes.slice(desc + 8, desc + 16)]).toEqual([...p.bytes.slice(desc, desc + 8)]);
  });

  it('data directives: bytes, strings, words, dwords, qwords, labels, expressions, fill, align, org', () => {
    const a = new Assembler({ bits: 32, org: 0x1000 });
    a.label('start');
    a.db(0, 1, 0x7f, 0x80, 0xff, -1, -128);
    a.db('plain', 0, 'quote " backslash \\ tab \t nl \n high \x80\xff', [1, 2, 3], Uint8Array.of(4, 5));
    a.asciz('zero-terminated').ascii('no-terminator');
    a.dw(0, 0xffff, -1, -32768, 'start', sym('end').sub('start'));
    a.dd(0, 0xffffffff, -1, -0x80000000, 'start', sym('start').add(0x10), sym('end').sub('start').mul(2));
    a.dq(0, 0xffffffffffffffffn, -1, -(2n ** 63n), 'start', sym('end').add(1));
    a.align(16, 0xcc).db(1).align(8).db(2).align(4, 0xf4).align(2).align(1);
    a.fill(3, 2, 0xabcd).fill(2, 4, -2).fill(2, 8, 0x1122334455667788n).resb(5, 0xee).resw(2).resd(1).resq(1);
    a.farPtr(0x08, 'start', 32).farPtr(0x10, 'end', 16).farPtr(0x18, 'start', 64);
    a.org(0x1200, 0x55);
    a.db(0xaa);
    a.org(0x1200 + 0x40);
    a.equ('SIZE', sym('end').sub('start'));
    a.dd('SIZE');
    a.label('end');
    const p = expectGas(a);
    expect(p.address('end')).toBe(0x1244);
    expect(p.symbol('SIZE')).toBe(0x244n);
  });

  it('bits switching inside one program: 16 -> 32 -> 64 -> 32 -> 16', () => {
    const a = new Assembler({ bits: 16, org: 0x7000 });
    a.mov(eax, cr0).or(ax, 1).mov(cr0, eax).jmpFar(0x08, 'p32', 32);
    a.bits(32).label('p32');
    a.mov(ax, 0x10).mov(ds, ax).mov(es, ax).mov(ss, ax).mov(esp, 0x9000).push(eax).mov(eax, dword(esi, 4)).jmpFar(0x18, 'p64');
    a.bits(64).label('p64');
    a.mov(rax, qword(rip, 'data')).jmp('p64').jmp('back32');
    a.bits(32).label('back32');
    a.jmpFar(0x20, 'p16', 16);
    a.bits(16).label('p16');
    a.mov(ax, word('data')).push(eax).jmp('p32').hlt();
    a.label('data');
    a.dq(0x1234);
    const p = expectGas(a);
    expect(p.listing.filter((e) => e.kind === 'directive').map((e) => e.text)).toEqual(['.code32', '.code64', '.code32', '.code16']);
  });

  it('local and anonymous labels, here() and equ render to GNU as and agree', () => {
    const a = new Assembler({ bits: 64, org: 0x10000 });
    a.label('f1');
    a.label('.loop');
    a.dec(ecx).jnz('.loop').jmp('@f');
    a.label('@@');
    a.jmp('@b').jmp('@f');
    a.label('@@');
    a.label('f2');
    a.label('.loop');
    a.jmp('.loop').jmp('f1.loop');
    const h = a.here();
    a.nop().jmp(h).dq(h, sym('f2.loop').sub('f1.loop'));
    a.equ('COUNT', 3);
    a.mov(ecx, 'COUNT').dd('COUNT');
    const p = expectGas(a);
    expect([...p.symbols.keys()]).toEqual(expect.arrayContaining(['f1', 'f1.loop', 'f2', 'f2.loop', '__anon_0', '__anon_1', 'COUNT']));
  });
});
