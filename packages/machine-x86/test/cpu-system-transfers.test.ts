// Far transfers and segment loads across modes: compatibility-mode exceptions with IRETQ back,
// RETF to an outer level with a parameter release, LSS/POP SS/LDS, CR3 rejected by the
// translator, and the x86-isa SIPI trampoline example taking an AP from INIT/SIPI to long mode.
import { describe, expect, it } from 'vitest';
import * as X from '@latelaunch/x86-isa';
import { sipiTrampoline } from '../../x86-isa/src/asm/examples/sipi-trampoline.js';
import { Activity, AR, Seg, Vec } from '../src/cpu/state.js';
import { raiseInit, raiseSipi } from '../src/cpu/interrupts.js';
import { configureProcessor } from '../src/cpu/system-context.js';
import { SEL, enter32, enter64, gate64, load, makeHarness, runToHalt } from './helpers/system-harness.js';

const CODE = 0x10000;
const H = 0x6000;

describe('far transfers', () => {
  it('#UD in compatibility mode goes through the 64-bit IDT; IRETQ returns to compatibility mode', () => {
    const h = makeHarness();
    enter64(h);
    gate64(h, Vec.UD, H);
    load(h, 64, H, (a) => {
      a.add(X.qword(X.rsp, 0), 2); // skip the UD2
      a.iretq();
    });
    load(h, 64, CODE, (a) => {
      a.mov(X.rsp, 0x80000);
      a.jmpFar(X.fword(X.rip, 'ptr'));
      a.label('ptr');
      a.dd('compat');
      a.dw(SEL.CODE32);
      a.bits(32);
      a.label('compat');
      a.mov(X.esp, 0x7fff4); // not 16-byte aligned: the frame is aligned anyway
      a.ud2();
      a.mov(X.ebx, 0x99);
      a.hlt();
    });
    h.s.rip = CODE;
    runToHalt(h);
    expect(h.s.lo[3]).toBe(0x99);
    expect(h.p.is64).toBe(false);
    expect(h.p.codeSize).toBe(32);
    expect(h.s.lo[4] >>> 0).toBe(0x7fff4);
    expect(h.s.segSel[Seg.SS]).toBe(SEL.DATA);
    // frame: RIP, CS, RFLAGS, RSP, SS at 0x7fff0 - 40
    expect(h.mem.read64(0x7fff0 - 40 + 8)).toBe(BigInt(SEL.CODE32));
    expect(h.mem.read64(0x7fff0 - 40 + 24)).toBe(0x7fff4n);
  });

  it('RETF imm16 to an outer privilege level: pops CS:EIP, releases parameters, pops SS:ESP', () => {
    const h = makeHarness();
    enter32(h);
    load(h, 32, CODE, (a) => {
      a.mov(X.esp, 0x80000);
      a.push(SEL.DATA3 | 3); // outer SS
      a.push(0x70010); // outer ESP
      a.push(0x1111); // parameters (released by RETF 8)
      a.push(0x2222);
      a.push(SEL.CODE32_3 | 3);
      a.push('user');
      a.retf(8);
      a.label('user');
      a.jmp('user');
    });
    h.s.rip = CODE;
    h.p.run(8);
    expect(h.p.cpl).toBe(3);
    expect(h.s.segSel[Seg.CS]).toBe(SEL.CODE32_3 | 3);
    expect(h.s.segSel[Seg.SS]).toBe(SEL.DATA3 | 3);
    expect(h.s.lo[4]).toBe(0x70010 + 8);
  });

  it('LSS, POP SS (shadow) and LDS load segment and offset; LDS with a bad selector leaves the register unchanged', () => {
    const h = makeHarness();
    enter32(h);
    gate32h(h);
    h.mem.write32(0x9000, 0x78000);
    h.mem.write16(0x9004, SEL.DATA);
    h.mem.write32(0x9008, 0x55);
    h.mem.write16(0x900c, SEL.DATA_NP);
    load(h, 32, CODE, (a) => {
      a.db(0x0f, 0xb2, 0x25, 0x00, 0x90, 0x00, 0x00); // lss esp, [0x9000]
      a.push(SEL.DATA);
      a.pop(X.ss);
      a.db(0xc5, 0x1d, 0x00, 0x90, 0x00, 0x00); // lds ebx, [0x9000]
      a.mov(X.ecx, 0);
      a.db(0xc5, 0x0d, 0x08, 0x90, 0x00, 0x00); // lds ecx, [0x9008] → #NP(0x68)
    });
    h.s.rip = CODE;
    h.p.run(3);
    expect(h.s.lo[4]).toBe(0x78000);
    expect(h.s.segSel[Seg.SS]).toBe(SEL.DATA);
    expect(h.s.blockingByMovSs).toBe(true);
    h.s.lo[4] = 0x80000;
    runToHalt(h);
    expect(h.s.lo[3]).toBe(0x78000);
    expect(h.s.segSel[Seg.DS]).toBe(SEL.DATA);
    expect(h.s.lo[1]).toBe(0);
    expect(h.mem.read32(0x80000 - 16)).toBe(SEL.DATA_NP);
  });

  it('MOV to CR3 that the translator rejects (invalid PAE PDPTEs) → #GP(0), CR3 unchanged', () => {
    const h = makeHarness();
    enter32(h);
    gate32h(h);
    h.s.cr3 = 0x5000;
    h.mmu.controlRegisterWritten = (which: string) => which !== 'cr3';
    load(h, 32, CODE, (a) => {
      a.mov(X.esp, 0x80000);
      a.mov(X.eax, 0x7000);
      a.mov(X.cr3, X.eax);
    });
    h.s.rip = CODE;
    runToHalt(h);
    expect(h.s.rip).toBe(H + 1);
    expect(h.s.cr3).toBe(0x5000);
    expect(h.p.pagingControl.cr3).toBe(0x5000);
  });
});

/** A 32-bit IDT with every vector 0..31 going to a HLT at H (same privilege). */
function gate32h(h: ReturnType<typeof makeHarness>): void {
  for (let v = 0; v < 32; v++) {
    h.mem.write32(0x2000 + v * 8, (SEL.CODE32 << 16) | H);
    h.mem.write32(0x2000 + v * 8 + 4, 0x00008e00);
  }
  load(h, 32, H, (a) => a.hlt());
}

describe('INIT / SIPI with the x86-isa trampoline example', () => {
  it('an AP goes from wait-for-SIPI through real and protected mode to 64-bit mode', () => {
    const h = makeHarness(8 * 1024 * 1024, 1);
    configureProcessor(h.p, { bsp: false });
    raiseInit(h.p);
    h.p.run(1);
    expect(h.s.activity).toBe(Activity.WAIT_FOR_SIPI);
    const prog = sipiTrampoline(0x08).assemble();
    h.mem.writeBytes(0x8000, prog.bytes);
    // Patch the AP entry: a 64-bit HLT at 0x20000.
    h.mem.write8(0x20000, 0xf4);
    h.mem.write32(prog.address('ap_entry'), 0x20000);
    h.mem.write32(prog.address('tramp_cr3'), 0x100000);
    raiseSipi(h.p, 0x08);
    runToHalt(h, 1000);
    expect(h.s.activity).toBe(Activity.HLT);
    expect(h.s.rip).toBe(0x20001);
    expect(h.p.is64).toBe(true);
    expect(h.s.segSel[Seg.CS]).toBe(0x18);
    expect(h.s.segAr[Seg.CS] & AR.L).toBe(AR.L);
    expect(h.s.lo[4]).toBe(0x90000 + 0x1000);
  });
});

