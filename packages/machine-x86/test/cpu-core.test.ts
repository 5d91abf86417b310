// Interpreter core: instruction behaviour (arithmetic, data, control, strings), addressing,
// partial registers, fetch across pages, self-modifying code, faults and their state rollback.
// Code is written with the x86-isa assembler DSL.
import { describe, expect, it } from 'vitest';
import * as X from '@latelaunch/x86-isa';
import { Assembler } from '@latelaunch/x86-isa';
import { Activity, AR, Flag, Seg, Vec } from '../src/cpu/state.js';
import { makeCpu, setSeg, DATA_AR, type TestCpu } from './helpers/cpu.js';

const CODE = 0x10000;

/** Loads `bytes` at `addr`, sets RIP, and steps until RIP reaches the end (or a fault: returns its vector). */
function exec(t: TestCpu, bytes: Uint8Array, addr = CODE, maxSteps = 100000): number {
  t.mem.writeBytes(addr, bytes);
  t.s.rip = addr - t.s.segBase[Seg.CS];
  const end = t.s.rip + bytes.length;
  for (let k = 0; k < maxSteps; k++) {
    if (t.s.rip === end) return -1;
    const v = t.p.tryStep();
    if (v >= 0) return v;
  }
  throw new Error('did not reach the end');
}

/** Assembles `build` for `bits` at `org`. */
function asm(bits: 16 | 32 | 64, build: (a: Assembler) => void, org = CODE): Uint8Array {
  const a = new Assembler({ bits, org });
  build(a);
  return a.assemble().bytes;
}

function run(t: TestCpu, bits: 16 | 32 | 64, build: (a: Assembler) => void, addr = CODE): number {
  return exec(t, asm(bits, build, addr - (bits === 16 ? t.s.segBase[Seg.CS] : 0)), addr);
}

const u32 = (v: number) => v >>> 0;

describe('arithmetic and data (32-bit)', () => {
  it('runs the benchmark loop exactly like a JS model (run() fast paths)', () => {
    const t = makeCpu(32);
    const bytes = asm(32, (a) => {
      a.label('l');
      a.add(X.eax, X.ebx).xor(X.ecx, X.eax).lea(X.edx, X.mem(X.eax, X.ecx.scale(2), 4));
      a.mov(X.dword(X.esi), X.edx).mov(X.edi, X.dword(X.esi)).sub(X.ebx, 3).dec(X.ebp).jnz('l');
    });
    t.mem.writeBytes(CODE, bytes);
    const { s, p } = t;
    s.rip = CODE;
    s.lo[3] = 12345;
    s.lo[5] = 1000;
    s.lo[6] = 0x2000;
    let eax = 0,
      ebx = 12345,
      ecx = 0,
      edx = 0;
    for (let k = 0; k < 1000; k++) {
      eax = (eax + ebx) | 0;
      ecx ^= eax;
      edx = (eax + ecx * 2 + 4) | 0;
      ebx = (ebx - 3) | 0;
    }
    expect(p.run(8000)).toBe(8000);
    expect(s.rip).toBe(CODE + bytes.length);
    expect([s.lo[0], s.lo[3], s.lo[1], s.lo[2], s.lo[7], s.lo[5]]).toEqual([eax, ebx, ecx, edx, edx, 0]);
    expect(p.getRflags() & Flag.ZF).toBe(Flag.ZF);
    expect(s.retired).toBe(8000);
  });

  it('runs recursive code (CALL/RET/PUSH/POP/Jcc fast paths): fib(20) = 6765, stack balanced', () => {
    const t = makeCpu(32);
    const bytes = asm(32, (a) => {
      a.mov(X.esp, 0x80000).push(20).call('fib').add(X.esp, 4).jmp('end');
      a.label('fib'); // int fib(int n) { return n < 2 ? n : fib(n-1) + fib(n-2); }
      a.push(X.ebp).mov(X.ebp, X.esp).push(X.ebx);
      a.mov(X.eax, X.dword(X.ebp, 8)).cmp(X.eax, 2).jl('.done');
      a.lea(X.ecx, X.mem(X.eax, -1)).push(X.ecx).call('fib').add(X.esp, 4).mov(X.ebx, X.eax);
      a.mov(X.eax, X.dword(X.ebp, 8)).sub(X.eax, 2).push(X.eax).call('fib').add(X.esp, 4).add(X.eax, X.ebx);
      a.label('.done');
      a.pop(X.ebx).pop(X.ebp).ret();
      a.label('end');
      a.hlt();
    });
    t.mem.writeBytes(CODE, bytes);
    t.s.rip = CODE;
    let n = 0;
    while (t.s.activity === Activity.ACTIVE && n < 2e6) n += t.p.run(100000);
    expect(t.s.activity).toBe(Activity.HLT);
    expect(t.s.rip).toBe(CODE + bytes.length);
    expect(t.s.lo[0]).toBe(6765);
    expect(t.s.lo[4]).toBe(0x80000);
    expect(t.s.retired).toBe(n);
  });

  it('computes with memory operands, ADC chains, MUL/DIV, shifts and conditional moves', () => {
    const t = makeCpu(32);
    const v = run(t, 32, (a) => {
      a.mov(X.esi, 0x3000);
      a.mov(X.dword(X.esi), 0xffffffff).mov(X.dword(X.esi, 4), 1);
      a.add(X.dword(X.esi), 1).adc(X.dword(X.esi, 4), 0);
      a.mov(X.eax, 1000000).mov(X.ecx, 3000).mul(X.ecx);
      a.mov(X.ebx, 7).div(X.ebx).mov(X.ecx, X.edx);
      a.shl(X.eax, 4).sar(X.eax, 2).cmp(X.eax, 0);
      a.mov(X.edi, 5).cmovg(X.edi, X.ecx).sete(X.bl).movzx(X.ebp, X.bl).neg(X.ebp);
    });
    expect(v).toBe(-1);
    const { s, p } = t;
    expect(p.read32(Seg.DS, 0x3000)).toBe(0);
    expect(p.read32(Seg.DS, 0x3004)).toBe(2);
    const q = Math.floor(3e9 / 7);
    expect(s.lo[1]).toBe(3e9 % 7);
    expect(s.lo[0]).toBe(((q << 4) >> 2) | 0);
    expect(s.lo[7]).toBe(5); // eax < 0 after the shifts: CMOVG not taken
    expect(s.lo[5]).toBe(0);
  });

  it('keeps partial registers: 8/16-bit writes preserve, AH..BH address bits 15:8', () => {
    const t = makeCpu(32);
    t.s.lo[0] = 0x11223344;
    t.s.lo[3] = 0x55667788;
    expect(run(t, 32, (a) => a.mov(X.al, 0xaa).mov(X.bh, 0xbb).mov(X.ax, 0x1234).xchg(X.ah, X.bl))).toBe(-1);
    expect(u32(t.s.lo[0])).toBe(0x11228834);
    expect(u32(t.s.lo[3])).toBe(0x5566bb12);
  });

  it('PUSH/POP, PUSHA/POPA, ENTER/LEAVE, CALL/RET imm16, LOOP, JECXZ, XLAT, XCHG, BSWAP', () => {
    const t = makeCpu(32);
    t.s.lo[4] = 0x8000;
    const v = run(t, 32, (a) => {
      a.mov(X.ebx, 0x4000).mov(X.byte(X.ebx, 5), 0x77).mov(X.al, 5);
      a.db(0xd7); // xlat
      a.movzx(X.edx, X.al).mov(X.ecx, 10).xor(X.esi, X.esi);
      a.label('l1');
      a.add(X.esi, X.ecx).loop('l1').jecxz('z').mov(X.esi, 0);
      a.label('z');
      a.push(0x11).push(0x22).call('f');
      a.pushad().mov(X.eax, 0).mov(X.edi, 0).popad();
      a.enter(16, 0).mov(X.dword(X.ebp, -4), 0x99).leave();
      a.mov(X.ecx, 0x12345678);
      a.db(0x0f, 0xc9); // bswap ecx
      a.jmp('done');
      a.label('f');
      a.mov(X.edi, X.dword(X.esp, 4)).ret(8);
      a.label('done');
      a.nop();
    });
    expect(v).toBe(-1);
    const { s } = t;
    expect(s.lo[2]).toBe(0x77);
    expect(s.lo[6]).toBe(55);
    expect(s.lo[7]).toBe(0x22);
    expect(s.lo[4]).toBe(0x8000);
    expect(u32(s.lo[1])).toBe(0x78563412);
  });

  it('PUSHF/POPF materialise lazy flags; POPF honours CPL/IOPL for IF and IOPL', () => {
    const t = makeCpu(32);
    t.s.lo[4] = 0x8000;
    expect(run(t, 32, (a) => a.mov(X.eax, -1).add(X.eax, 1).pushfd().pop(X.ebx))).toBe(-1);
    expect(t.s.lo[3] & (Flag.CF | Flag.ZF | Flag.PF | Flag.AF)).toBe(Flag.CF | Flag.ZF | Flag.PF | Flag.AF);
    // CPL 3, IOPL 0, IF=1: POPF cannot clear IF nor change IOPL.
    const u = makeCpu(32);
    u.s.segAr[Seg.CS] |= 3 << AR.DPL_SHIFT;
    u.s.segAr[Seg.SS] |= 3 << AR.DPL_SHIFT;
    u.s.rflags = 0x202;
    u.p.modeChanged();
    u.s.lo[4] = 0x8000;
    expect(run(u, 32, (a) => a.push(0x3001).popfd())).toBe(-1);
    expect(u.p.getRflags() & (Flag.IF | Flag.IOPL | Flag.CF)).toBe(Flag.IF | Flag.CF);
  });

  it('CMPXCHG8B, XADD and BT with a memory bit offset outside the operand', () => {
    const t = makeCpu(32);
    const v = run(t, 32, (a) => {
      a.mov(X.esi, 0x3000).mov(X.dword(X.esi), 1).mov(X.dword(X.esi, 4), 2);
      a.mov(X.eax, 1).mov(X.edx, 2).mov(X.ebx, 0xaaaa).mov(X.ecx, 0xbbbb);
      a.cmpxchg8b(X.qword(X.esi)).sete(X.bl);
      a.mov(X.eax, 5).xadd(X.dword(X.esi), X.eax);
      a.mov(X.dword(X.esi, 16), 0).mov(X.ecx, 130).bts(X.dword(X.esi, 8), X.ecx);
    });
    expect(v).toBe(-1);
    expect(t.s.lo[3] & 0xff).toBe(1);
    expect(t.p.read32(Seg.DS, 0x3000)).toBe(0xaaaa + 5);
    expect(t.s.lo[0]).toBe(0xaaaa);
    expect(t.p.read32(Seg.DS, 0x3004)).toBe(0xbbbb);
    expect(t.p.read32(Seg.DS, 0x3000 + 8 + 16)).toBe(4); // bit 130 = dword 4 (byte 16), bit 2
  });
});

describe('string instructions', () => {
  it('REP with count 0 does nothing; REP MOVSB/STOSD forward and with DF=1', () => {
    const t = makeCpu(32);
    const { s, p, mem } = t;
    mem.writeBytes(0x3000, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(run(t, 32, (a) => a.mov(X.esi, 0x3000).mov(X.edi, 0x4000).xor(X.ecx, X.ecx).rep().movsb())).toBe(-1);
    expect([s.lo[6], s.lo[7], s.lo[1]]).toEqual([0x3000, 0x4000, 0]);
    expect(p.read8(Seg.DS, 0x4000)).toBe(0);
    expect(run(t, 32, (a) => a.mov(X.esi, 0x3000).mov(X.edi, 0x4000).mov(X.ecx, 8).rep().movsb())).toBe(-1);
    expect([s.lo[6], s.lo[7], s.lo[1]]).toEqual([0x3008, 0x4008, 0]);
    expect(Array.from(mem.readBytes(0x4000, 8))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(run(t, 32, (a) => a.std().mov(X.edi, 0x500c).mov(X.eax, 0xdeadbeef).mov(X.ecx, 4).rep().stosd().cld())).toBe(-1);
    expect(s.lo[7]).toBe(0x5000 - 4);
    for (let k = 0; k < 4; k++) expect(u32(p.read32(Seg.DS, 0x5000 + 4 * k))).toBe(0xdeadbeef);
    expect(p.read32(Seg.DS, 0x5010)).toBe(0);
  });

  it('REPE CMPSB stops at the first difference, REPNE SCASB finds a byte, LODSW loads', () => {
    const t = makeCpu(32);
    const { s, mem } = t;
    mem.writeBytes(0x3000, new TextEncoder().encode('hello world'));
    mem.writeBytes(0x4000, new TextEncoder().encode('hello there'));
    expect(run(t, 32, (a) => a.mov(X.esi, 0x3000).mov(X.edi, 0x4000).mov(X.ecx, 11).repe().cmpsb())).toBe(-1);
    expect([s.lo[6], s.lo[1]]).toEqual([0x3007, 4]); // stopped after comparing 'w' with 't'
    expect(t.p.getRflags() & Flag.ZF).toBe(0);
    expect(run(t, 32, (a) => a.mov(X.edi, 0x3000).mov(X.al, 0x77).mov(X.ecx, 100).repne().scasb().mov(X.esi, 0x3000).lodsw())).toBe(-1);
    expect(s.lo[7]).toBe(0x3007);
    expect(s.lo[1]).toBe(100 - 7);
    expect(s.lo[0] & 0xffff).toBe(0x6568);
  });

  it('honours a segment override on the source and always uses ES for the destination', () => {
    const t = makeCpu(32);
    const { s, mem } = t;
    setSeg(s, Seg.FS, 0x30, 0x100000, 0xffff, DATA_AR | AR.DB);
    setSeg(s, Seg.ES, 0x38, 0x200000, 0xffff, DATA_AR | AR.DB);
    mem.writeBytes(0x100010, Uint8Array.from([9, 8, 7]));
    expect(run(t, 32, (a) => a.mov(X.esi, 0x10).mov(X.edi, 0x20).mov(X.ecx, 3).rep().movsb({ seg: X.fs }))).toBe(-1);
    expect(Array.from(mem.readBytes(0x200020, 3))).toEqual([9, 8, 7]);
  });
});

describe('addressing', () => {
  it('16-bit addressing forms (bx+si, bp+di uses SS, wrap at 64 KiB) in real mode', () => {
    const t = makeCpu(16);
    const { s, mem, p } = t;
    setSeg(s, Seg.DS, 0x100, 0x1000, 0xffff, DATA_AR);
    setSeg(s, Seg.SS, 0x200, 0x2000, 0xffff, DATA_AR);
    setSeg(s, Seg.CS, 0x1000, 0x10000, 0xffff, AR.P | AR.S | AR.CODE | AR.RW | AR.ACCESSED);
    p.modeChanged();
    mem.writeBytes(0x1000 + 0x0014, Uint8Array.from([0x34, 0x12]));
    mem.writeBytes(0x2000 + 0x0030, Uint8Array.from([0x78, 0x56]));
    mem.writeBytes(0x1000 + 0x0005, Uint8Array.from([0xcd, 0xab]));
    const v = run(t, 16, (a) => {
      a.mov(X.bx, 0x10).mov(X.si, 4).mov(X.ax, X.word(X.bx, X.si));
      a.mov(X.bp, 0x20).mov(X.di, 0x10).mov(X.cx, X.word(X.bp, X.di));
      a.mov(X.bx, 0xfff0).mov(X.dx, X.word(X.bx, 0x15));
    });
    expect(v).toBe(-1);
    expect(s.lo[0] & 0xffff).toBe(0x1234);
    expect(s.lo[1] & 0xffff).toBe(0x5678);
    expect(s.lo[2] & 0xffff).toBe(0xabcd);
  });

  it('64-bit: RIP-relative operands, 32-bit writes zero-extend, 8/16-bit writes preserve, REX byte registers', () => {
    const t = makeCpu(64);
    const { s } = t;
    const asmb = new Assembler({ bits: 64, org: CODE });
    ((a: Assembler) => {
      a.mov(X.rax, 0x1122334455667788n).mov(X.rbx, X.rax).mov(X.rcx, X.rax).mov(X.rdx, X.rax);
      a.mov(X.eax, 1).mov(X.bx, 2).mov(X.cl, 3).mov(X.dh, 4).mov(X.sil, 5);
      a.mov(X.r9, X.qword(X.rip, 'data')).lea(X.r10, X.mem(X.rip, 'data'));
      a.add(X.qword(X.rip, 'data'), 1).mov(X.r11, X.qword(X.rip, 'data'));
      a.jmp('over');
      a.label('data');
      a.dq(0x8000000000000001n);
      a.label('over');
      a.nop();
    })(asmb);
    const prog = asmb.assemble();
    const v = exec(t, prog.bytes);
    expect(v).toBe(-1);
    expect(s.getReg64(0)).toBe(1n);
    expect(s.getReg64(3)).toBe(0x1122334455660002n);
    expect(s.getReg64(1)).toBe(0x1122334455667703n);
    expect(s.getReg64(2)).toBe(0x1122334455660488n);
    expect(s.getReg64(6) & 0xffn).toBe(5n);
    expect(s.getReg64(9)).toBe(0x8000000000000001n);
    expect(s.getReg64(11)).toBe(0x8000000000000002n);
    expect(Number(s.getReg64(10))).toBe(prog.address('data'));
  });

  it('64-bit PUSH/POP/CALL/RET use 64-bit stack slots; LEA computes exact 64-bit sums', () => {
    const t = makeCpu(64);
    const { s } = t;
    s.lo[4] = 0x8000;
    const v = run(t, 64, (a) => {
      a.mov(X.rax, -2).push(X.rax).call('f').pop(X.rbx);
      a.mov(X.rcx, 0x7fffffffffffffffn).lea(X.rdx, X.mem(X.rcx, X.rcx.scale(2), 5)).jmp('e');
      a.label('f');
      a.ret();
      a.label('e');
      a.nop();
    });
    expect(v).toBe(-1);
    expect(s.getReg64(3)).toBe(0xfffffffffffffffen);
    expect(s.getReg64(4)).toBe(0x8000n);
    expect(s.getReg64(2)).toBe(BigInt.asUintN(64, 0x7fffffffffffffffn * 3n + 5n));
  });
});

describe('instruction fetch and the decoded-instruction cache', () => {
  it('fetches an instruction that crosses a page boundary (also through a non-contiguous mapping)', () => {
    const t = makeCpu(32);
    const bytes = asm(32, (a) => a.mov(X.eax, 0x12345678).mov(X.ebx, X.eax), 0x1ffe);
    expect(exec(t, bytes, 0x1ffe)).toBe(-1);
    expect(u32(t.s.lo[3])).toBe(0x12345678);
  });

  it('translates fetches and data through the MMU page by page; the fast TLB is flushed by INVLPG / CR writes', () => {
    const t = makeCpu(32);
    const map = new Map<number, number>([[0x10, 0x10], [0x11, 0x40], [0x30, 0x50]]);
    let calls = 0;
    t.p.mmu = {
      translate(lin, access, _sup, out) {
        calls++;
        const ppn = map.get(Math.floor(lin / 4096));
        if (ppn === undefined) {
          out.fault = 14;
          out.errorCode = access === 1 ? 2 : access === 2 ? 0x10 : 0;
          return false;
        }
        out.physical = ppn * 4096 + (lin & 0xfff);
        out.fault = 0;
        return true;
      },
      controlRegisterWritten: () => true,
      invalidatePage() {},
      flushAll() {},
    };
    t.s.cr0 |= 0x80000000;
    t.p.modeChanged();
    // mov eax, 0x12345678 at linear 0x10ffe: bytes 0..1 on physical page 0x10, 2..4 on page 0x40.
    const ins = asm(32, (a) => a.mov(X.eax, 0x12345678).mov(X.ebx, X.dword(0x30010)), 0x10ffe);
    t.mem.writeBytes(0x10ffe, ins.subarray(0, 2));
    t.mem.writeBytes(0x40000, ins.subarray(2));
    t.mem.writeBytes(0x50010, Uint8Array.from([1, 0, 0, 0]));
    t.s.rip = 0x10ffe;
    expect(t.p.tryStep()).toBe(-1);
    expect(t.s.lo[0]).toBe(0x12345678);
    expect(t.p.tryStep()).toBe(-1);
    expect(t.s.lo[3]).toBe(1);
    // Remap linear page 0x30 and INVLPG it: the next access uses the new mapping.
    map.set(0x30, 0x51);
    t.mem.writeBytes(0x51010, Uint8Array.from([2, 0, 0, 0]));
    t.p.invalidatePage(0x30000);
    t.s.rip = 0x11003;
    expect(t.p.tryStep()).toBe(-1);
    expect(t.s.lo[3]).toBe(2);
    expect(calls).toBeGreaterThan(0);
    // An instruction whose second page is not mapped: #PF with CR2 in the second page, RIP unchanged.
    map.delete(0x11);
    t.p.controlRegisterWritten('cr3', 0);
    t.s.rip = 0x10ffe;
    expect(t.p.tryStep()).toBe(Vec.PF);
    expect(t.s.cr2).toBe(0x11000);
    expect(t.p.pendingErrorCode).toBe(0x10);
    expect(t.s.rip).toBe(0x10ffe);
  });

  it('self-modifying code: a write to a decoded page is seen by the next execution', () => {
    const t = makeCpu(32);
    // The loop body's "mov eax, imm32" is patched by the loop itself: eax takes 0, then 1, then 2.
    const v = run(t, 32, (a) => {
      a.call('base');
      a.label('base');
      a.pop(X.ebx).mov(X.ecx, 3).xor(X.edx, X.edx);
      a.label('again');
      a.mov(X.eax, 0x100).sub(X.eax, 0x100); // the imm32 of "mov eax" is patched below
      a.add(X.edx, X.eax);
      a.inc(X.dword(X.ebx, X.sym('again').sub('base').add(1)));
      a.loop('again');
    });
    expect(v).toBe(-1);
    expect(t.s.lo[2]).toBe(0 + 1 + 2);
    // A code page written from outside (DMA/loader) is invalidated too.
    const w = makeCpu(32);
    expect(exec(w, asm(32, (a) => a.mov(X.eax, 7)))).toBe(-1);
    expect(w.s.lo[0]).toBe(7);
    expect(exec(w, asm(32, (a) => a.mov(X.eax, 9)))).toBe(-1);
    expect(w.s.lo[0]).toBe(9);
  });
});

describe('faults restore state', () => {
  it('#DE from DIV leaves registers, flags and RIP unchanged', () => {
    const t = makeCpu(32);
    t.s.lo[0] = 100;
    t.s.lo[2] = 0;
    t.s.lo[1] = 0;
    const bytes = asm(32, (a) => a.div(X.ecx));
    t.mem.writeBytes(CODE, bytes);
    t.s.rip = CODE;
    expect(t.p.tryStep()).toBe(Vec.DE);
    expect(t.s.rip).toBe(CODE);
    expect(t.s.lo[0]).toBe(100);
  });

  it('#GP(0) on a segment-limit violation, #SS(0) on a stack overflow with RSP unchanged', () => {
    const t = makeCpu(32);
    setSeg(t.s, Seg.DS, 0x10, 0, 0xfff, DATA_AR | AR.DB);
    expect(run(t, 32, (a) => a.mov(X.eax, X.dword(0xffd)))).toBe(Vec.GP);
    expect(t.p.pendingErrorCode).toBe(0);
    expect(run(t, 32, (a) => a.mov(X.eax, X.dword(0xffc)))).toBe(-1);
    setSeg(t.s, Seg.SS, 0x18, 0, 0xffff, DATA_AR | AR.DB);
    t.s.lo[4] = 0x10002;
    expect(run(t, 32, (a) => a.push(X.eax))).toBe(Vec.SS);
    expect(t.s.lo[4]).toBe(0x10002);
    // Expand-down stack segment: offsets at or below the limit fault.
    setSeg(t.s, Seg.SS, 0x18, 0, 0x7fff, DATA_AR | AR.DB | AR.DC);
    t.s.lo[4] = 0x8002;
    expect(run(t, 32, (a) => a.push(X.eax))).toBe(Vec.SS);
    t.s.lo[4] = 0x9000;
    expect(run(t, 32, (a) => a.push(X.eax))).toBe(-1);
    expect(t.s.lo[4]).toBe(0x8ffc);
    // Writes through a read-only data segment and reads through an unusable one are #GP(0).
    setSeg(t.s, Seg.ES, 0x20, 0, 0xffff, AR.P | AR.S | AR.ACCESSED);
    expect(run(t, 32, (a) => a.mov(X.dword(X.es, 0x100), X.eax))).toBe(Vec.GP);
    setSeg(t.s, Seg.GS, 0, 0, 0, AR.UNUSABLE);
    expect(run(t, 32, (a) => a.mov(X.eax, X.dword(X.gs, 0x100)))).toBe(Vec.GP);
  });

  it('#UD for unsupported bytes, UD2 and LOCK misuse; #GP(0) for an instruction longer than 15 bytes', () => {
    const t = makeCpu(32);
    expect(exec(t, Uint8Array.from([0x0f, 0x0b]))).toBe(Vec.UD); // ud2
    expect(exec(t, Uint8Array.from([0xd6]))).toBe(Vec.UD); // SALC: not supported
    expect(exec(t, Uint8Array.from([0xf0, 0x89, 0xd8]))).toBe(Vec.UD); // lock mov eax, ebx
    expect(exec(t, Uint8Array.from([0xf0, 0x01, 0xd8]))).toBe(Vec.UD); // lock add eax, ebx (register destination)
    expect(exec(t, Uint8Array.from([0xf0, 0x01, 0x18]))).toBe(-1); // lock add [eax], ebx is fine
    const long = new Uint8Array(16).fill(0x66);
    long[15] = 0x90;
    expect(exec(t, long)).toBe(Vec.GP);
    expect(t.s.rip).toBe(CODE);
    expect(exec(t, Uint8Array.from([0x0f, 0xb9, 0x80, 0x01, 0x00, 0x4c, 0x4c]))).toBe(Vec.UD); // native service, no host
  });

  it('64-bit: non-canonical addresses give #GP(0) (#SS(0) on the stack), translation failures #PF with CR2', () => {
    const t = makeCpu(64);
    t.s.setReg64(3, 0x0000800000000000n);
    expect(run(t, 64, (a) => a.mov(X.rax, X.qword(X.rbx)))).toBe(Vec.GP);
    t.s.setReg64(5, 0x0000800000000000n);
    expect(run(t, 64, (a) => a.mov(X.rax, X.qword(X.rbp)))).toBe(Vec.SS);
    t.s.setReg64(3, 0xffff800000001000n);
    expect(run(t, 64, (a) => a.mov(X.rax, X.qword(X.rbx)))).toBe(Vec.PF);
    expect(t.s.cr2).toBe(-(2 ** 47) + 0x1000);
    expect(t.p.pendingErrorCode).toBe(0);
    // A jump to a non-canonical target faults before RIP changes.
    t.s.setReg64(0, 0x0000800000000000n);
    expect(run(t, 64, (a) => a.jmp(X.rax))).toBe(Vec.GP);
    expect(t.s.rip).toBe(CODE);
  });

  it('a faulting store after a successful read leaves memory and flags unchanged (RMW)', () => {
    const t = makeCpu(32);
    setSeg(t.s, Seg.DS, 0x10, 0, 0xffff, DATA_AR | AR.DB);
    t.p.setRflags(0x2);
    expect(run(t, 32, (a) => a.add(X.dword(0xfffe), 1))).toBe(Vec.GP);
    expect(t.p.getRflags()).toBe(0x2);
  });
});

describe('run loop', () => {
  it('native-service instruction calls the host with the service number, RIP past the instruction', () => {
    const t = makeCpu(32);
    const calls: [number, number][] = [];
    t.p.nativeServices = {
      call(p, service) {
        calls.push([service, p.state.rip]);
        p.setReg32(0, p.getReg32(0) + 1);
        if (service === 0x42) p.fault(Vec.GP, 0);
      },
    };
    const bytes = asm(32, (a) => a.mov(X.eax, 10).native(0x1234).native(7));
    expect(exec(t, bytes)).toBe(-1);
    expect(calls).toEqual([
      [0x1234, CODE + 5 + 7],
      [7, CODE + 5 + 14],
    ]);
    expect(t.s.lo[0]).toBe(12);
    // A service that faults leaves RIP on the instruction.
    expect(exec(t, asm(32, (a) => a.native(0x42)))).toBe(Vec.GP);
    expect(t.s.rip).toBe(CODE);
  });

  it('a long REP STOSB runs in chunks (RIP stays on it until the count is exhausted)', () => {
    const t = makeCpu(32);
    const bytes = asm(32, (a) => a.mov(X.edi, 0x100000).mov(X.ecx, 10000).mov(X.al, 0x5a).rep().stosb().nop());
    t.mem.writeBytes(CODE, bytes);
    t.s.rip = CODE;
    expect(t.p.run(3)).toBe(3);
    const repAt = t.s.rip;
    expect(t.p.run(1)).toBe(1);
    expect(t.s.rip).toBe(repAt);
    expect(t.s.lo[1]).toBe(10000 - 4096);
    expect(t.p.run(2)).toBe(2);
    expect(t.s.lo[1]).toBe(0);
    expect(t.s.rip).toBe(repAt + 2);
    expect(t.mem.readBytes(0x100000 + 9999, 2)).toEqual(Uint8Array.from([0x5a, 0]));
  });

  it('real mode: near CALL/RET, LOOP with CX, JCXZ, PUSH/POP 16-bit and a 66h-prefixed 32-bit operation', () => {
    const t = makeCpu(16);
    const { s, p } = t;
    setSeg(s, Seg.CS, 0x1000, 0x10000, 0xffff, AR.P | AR.S | AR.CODE | AR.RW | AR.ACCESSED);
    setSeg(s, Seg.SS, 0x2000, 0x20000, 0xffff, DATA_AR);
    s.lo[4] = 0x1000;
    p.modeChanged();
    const v = run(t, 16, (a) => {
      a.mov(X.cx, 5).xor(X.ax, X.ax);
      a.label('l');
      a.call('f').loop('l');
      a.jcxz('z').mov(X.ax, 0xdead);
      a.label('z');
      a.push(X.ax).pop(X.bx);
      a.mov(X.edx, 0x12345678).add(X.edx, 1);
      a.jmp('e');
      a.label('f');
      a.add(X.ax, 3).ret();
      a.label('e');
      a.nop();
    });
    expect(v).toBe(-1);
    expect(s.lo[0] & 0xffff).toBe(15);
    expect(s.lo[3] & 0xffff).toBe(15);
    expect(s.lo[2]).toBe(0x12345679);
    expect(s.lo[4] & 0xffff).toBe(0x1000);
    expect(p.read16(Seg.SS, 0x0ffe)).toBe(15); // the pushed AX, via SS base 0x20000
  });
});
