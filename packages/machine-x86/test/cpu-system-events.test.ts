// External events at instruction boundaries: NMI blocking and latching, IRET unblocking (even
// when it faults), STI and MOV SS shadows, HLT wake, INIT/SIPI; SYSCALL/SYSRET.
import { describe, expect, it } from 'vitest';
import { ax, bx, cs, cr8, rbx, rcx, rdx, rsi, rdi, rsp, r11, ss, qword, rax } from '@latelaunch/x86-isa';
import { Activity, Seg, Vec, Flag } from '../src/cpu/state.js';
import { checkEvents, raiseInit, raiseNmi, raiseSipi } from '../src/cpu/interrupts.js';
import { configureProcessor } from '../src/cpu/system-context.js';
import { writeMsr, Msr } from '../src/cpu/msr.js';
import { SEL, enter64, gate64, load, makeHarness, runToHalt } from './helpers/system-harness.js';

const CODE = 0x10000;
const H = 0x6000;

function spinProgram(h: ReturnType<typeof makeHarness>): void {
  load(h, 64, CODE, (a) => {
    a.mov(rsp, 0x80000);
    a.label('spin');
    a.jmp('spin');
  });
  h.s.rip = CODE;
}

describe('NMI (SDM 6.7.1)', () => {
  it('a second NMI during the handler is latched and delivered right after IRET; a third one is lost', () => {
    const h = makeHarness();
    enter64(h);
    gate64(h, Vec.NMI, H);
    load(h, 64, H, (a) => {
      a.inc(rbx);
      a.nop();
      a.nop();
      a.iretq();
    });
    spinProgram(h);
    h.p.run(2);
    raiseNmi(h.p);
    h.p.run(1); // NMI delivered, then `inc rbx`
    expect(h.s.lo[3]).toBe(1);
    expect(h.s.nmiBlocked).toBe(true);
    raiseNmi(h.p);
    raiseNmi(h.p); // lost: only one can be latched
    h.p.run(2); // nop, nop: still blocked
    expect(h.s.lo[3]).toBe(1);
    expect(h.s.nmiPending).toBe(true);
    h.p.run(1); // iretq → unblocks
    expect(h.s.nmiBlocked).toBe(false);
    h.p.run(1); // second NMI delivered, inc rbx
    expect(h.s.lo[3]).toBe(2);
    h.p.run(10);
    expect(h.s.lo[3]).toBe(2);
    expect(h.sink.records.filter((r) => r.kind === 'cpu.interrupt').length).toBe(2);
  });

  it('an IRET that faults still unblocks NMIs', () => {
    const h = makeHarness();
    enter64(h);
    gate64(h, Vec.NMI, H);
    gate64(h, Vec.GP, H + 0x100);
    load(h, 64, H, (a) => {
      a.mov(qword(rsp, 8), SEL.DATA_NP); // corrupt the saved CS
      a.iretq(); // #GP(0x68)
    });
    load(h, 64, H + 0x100, (a) => {
      a.inc(rbx);
      a.hlt();
    });
    spinProgram(h);
    h.p.run(2);
    raiseNmi(h.p);
    h.p.run(1);
    raiseNmi(h.p); // latched
    runToHalt(h, 20);
    // IRET faulted (#GP) but unblocked NMIs: the latched NMI is taken before the #GP handler's first
    // instruction; its own IRET faults again; then the #GP handler runs.
    expect(h.sink.records.map((r) => (r.data as { vector: number }).vector)).toEqual([Vec.NMI, Vec.GP, Vec.NMI, Vec.GP]);
    expect(h.s.nmiBlocked).toBe(false);
    expect(h.s.lo[3]).toBe(1);
    expect(h.s.activity).toBe(Activity.HLT);
  });

  it('NMI wakes HLT even with IF = 0; the return address is after the HLT', () => {
    const h = makeHarness();
    enter64(h);
    gate64(h, Vec.NMI, H);
    load(h, 64, H, (a) => a.hlt());
    const prog = load(h, 64, CODE, (a) => {
      a.mov(rsp, 0x80000);
      a.hlt();
      a.label('after');
      a.hlt();
    });
    h.s.rip = CODE;
    runToHalt(h);
    expect(h.s.activity).toBe(Activity.HLT);
    h.ic.raise(0x40); // IF = 0: does not wake
    expect(h.p.run(10)).toBe(0);
    expect(h.s.activity).toBe(Activity.HLT);
    raiseNmi(h.p);
    h.p.run(10);
    expect(h.s.rip).toBe(H + 1);
    expect(h.mem.read64(0x80000 - 40)).toBe(BigInt(prog.address('after')));
  });
});

describe('single-step (RFLAGS.TF, SDM 17.3.1.4)', () => {
  it('one #DB trap after each instruction that starts with TF = 1 (not inside the handler), DR6.BS set', () => {
    const h = makeHarness();
    enter64(h);
    gate64(h, Vec.DB, H);
    load(h, 64, H, (a) => {
      a.inc(rcx);
      a.iretq();
    });
    load(h, 64, CODE, (a) => {
      a.mov(rsp, 0x80000);
      a.pushfq();
      a.or(qword(rsp), 0x100);
      a.popfq();
      a.nop();
      a.nop();
      a.nop();
      a.pushfq();
      a.and(qword(rsp), ~0x100);
      a.popfq();
      a.hlt();
    });
    h.s.rip = CODE;
    runToHalt(h, 200);
    expect(h.s.lo[1]).toBe(6);
    expect(h.s.dr[6] & 0x4000).toBe(0x4000);
    expect(h.s.activity).toBe(Activity.HLT);
  });
});

describe('maskable interrupts and shadows (SDM 6.8.3)', () => {
  it('STI: the interrupt is recognised after the next instruction; HLT wakes and returns after HLT', () => {
    const h = makeHarness();
    enter64(h);
    gate64(h, 0x40, H);
    load(h, 64, H, (a) => {
      a.mov(rdx, rbx);
      a.iretq();
    });
    const prog = load(h, 64, CODE, (a) => {
      a.mov(rsp, 0x80000);
      a.sti();
      a.label('first');
      a.inc(rbx);
      a.label('second');
      a.inc(rbx);
      a.hlt();
      a.inc(rbx);
      a.hlt();
    });
    h.s.rip = CODE;
    h.ic.raise(0x40);
    h.p.run(2); // mov rsp, sti
    h.p.run(1); // inc rbx (shadow)
    expect(h.s.lo[3]).toBe(1);
    // The shadow is still reported until the boundary after the protected instruction (a VM exit
    // caused by that instruction would save it in the guest interruptibility state).
    expect(h.s.blockingBySti).toBe(true);
    h.p.run(1); // delivery + mov rdx, rbx
    expect(h.s.lo[2]).toBe(1);
    expect(h.mem.read64(0x80000 - 40)).toBe(BigInt(prog.address('second')));
    runToHalt(h);
    expect(h.s.lo[3]).toBe(2);
    expect(h.s.activity).toBe(Activity.HLT);
    // Wake from HLT with IF = 1.
    h.ic.raise(0x41 + 0x10);
    gate64(h, 0x51, H);
    runToHalt(h);
    expect(h.s.lo[3]).toBe(3);
    expect(h.ic.inService()).toEqual([0x51, 0x40]);
  });

  for (const nmi of [false, true]) {
    it(`MOV SS blocks ${nmi ? 'NMI' : 'INTR'} for exactly one instruction`, () => {
      const h = makeHarness();
      enter64(h);
      gate64(h, nmi ? Vec.NMI : 0x40, H);
      load(h, 64, H, (a) => {
        a.mov(rdx, rbx);
        a.hlt();
      });
      load(h, 64, CODE, (a) => {
        a.mov(rsp, 0x80000);
        a.mov(ax, SEL.DATA);
        a.mov(ss, ax);
        a.inc(rbx);
        a.inc(rbx);
        a.hlt();
      });
      h.s.rip = CODE;
      h.p.setRflags(0x202);
      h.s.lo[2] = -1;
      h.p.run(3); // through MOV SS
      expect(h.s.blockingByMovSs).toBe(true);
      if (nmi) raiseNmi(h.p);
      else h.ic.raise(0x40);
      runToHalt(h);
      expect(h.s.lo[2]).toBe(1); // the handler saw exactly one INC
    });
  }

  it('CR8 writes go to the interrupt controller TPR and mask lower classes', () => {
    const h = makeHarness();
    enter64(h);
    gate64(h, 0x45, H);
    load(h, 64, H, (a) => a.hlt());
    load(h, 64, CODE, (a) => {
      a.mov(rsp, 0x80000);
      a.mov(rax, 5);
      a.mov(cr8, rax);
      a.sti();
      a.nop();
      a.nop();
      a.mov(rax, 3);
      a.mov(cr8, rax);
      a.nop();
      a.hlt();
    });
    h.s.rip = CODE;
    h.ic.raise(0x45);
    h.p.run(6);
    expect(h.ic.tpr).toBe(0x50);
    expect(h.s.rip).not.toBe(H + 1);
    runToHalt(h);
    expect(h.s.rip).toBe(H + 1);
  });
});


describe('INIT and SIPI (SDM 8.4, 10.6.1)', () => {
  it('INIT puts an AP in wait-for-SIPI with the INIT state; SIPI starts it in real mode at vector·4096', () => {
    const h = makeHarness(8 * 1024 * 1024, 1);
    enter64(h);
    configureProcessor(h.p, { bsp: false });
    spinProgram(h);
    h.p.run(3);
    raiseSipi(h.p, 0x08); // discarded: not waiting for SIPI
    raiseInit(h.p);
    h.p.run(1);
    expect(h.s.activity).toBe(Activity.WAIT_FOR_SIPI);
    expect(h.s.cr0 & 1).toBe(0);
    expect(h.s.efer).toBe(0);
    expect(h.s.segSel[Seg.CS]).toBe(0xf000);
    expect(h.p.run(10)).toBe(0);
    load(h, 16, 0x8000, (a) => {
      a.mov(ax, cs);
      a.mov(bx, 0x1234);
      a.hlt();
    });
    raiseSipi(h.p, 0x08);
    runToHalt(h);
    expect(h.s.segSel[Seg.CS]).toBe(0x0800);
    expect(h.s.segBase[Seg.CS]).toBe(0x8000);
    expect(h.s.lo[0] & 0xffff).toBe(0x0800);
    expect(h.s.lo[3] & 0xffff).toBe(0x1234);
    expect(h.p.codeSize).toBe(16);
  });

  it('INIT immediately followed by SIPI (no boundary in between) still starts the AP', () => {
    const h = makeHarness(8 * 1024 * 1024, 2);
    enter64(h);
    configureProcessor(h.p, { bsp: false });
    spinProgram(h);
    h.p.run(2);
    load(h, 16, 0x9000, (a) => a.hlt());
    raiseInit(h.p);
    raiseSipi(h.p, 0x09);
    runToHalt(h);
    expect(h.s.segSel[Seg.CS]).toBe(0x0900);
    expect(h.s.rip).toBe(1);
  });

  it('INIT on the BSP restarts at the reset vector', () => {
    const h = makeHarness();
    enter64(h);
    spinProgram(h);
    h.p.run(2);
    raiseInit(h.p);
    checkEvents(h.p);
    expect(h.s.rip).toBe(0xfff0);
    expect(h.s.segBase[Seg.CS]).toBe(0xffff0000);
    expect(h.s.activity).toBe(Activity.ACTIVE);
  });
});

describe('SYSCALL / SYSRET (SDM Vol. 2)', () => {
  it('round trip CPL 3 → 0 → 3 with STAR/LSTAR/FMASK', () => {
    const h = makeHarness();
    enter64(h, 3);
    writeMsr(h.p, Msr.STAR, (0x18n << 48n) | (0x18n << 32n));
    writeMsr(h.p, Msr.LSTAR, BigInt(H));
    writeMsr(h.p, Msr.FMASK, 0x200n);
    load(h, 64, H, (a) => {
      a.mov(rsi, rcx);
      a.mov(rdi, r11);
      a.sysretq();
    });
    const prog = load(h, 64, CODE, (a) => {
      a.mov(rsp, 0x80000);
      a.sti();
      a.syscall();
      a.label('back');
      a.mov(rdx, 7);
      a.label('spin');
      a.jmp('spin');
    });
    h.s.rip = CODE;
    h.p.setRflags(0x3002); // IOPL 3: STI allowed at CPL 3
    h.p.run(3);
    expect(h.p.cpl).toBe(0);
    expect(h.s.segSel[Seg.CS]).toBe(0x18);
    expect(h.s.segSel[Seg.SS]).toBe(0x20);
    expect(h.s.rflags & Flag.IF).toBe(0);
    expect(Number(h.s.getReg64(1))).toBe(prog.address('back'));
    expect(h.s.lo[11] & Flag.IF).toBe(Flag.IF);
    h.p.run(4);
    expect(h.p.cpl).toBe(3);
    expect(h.s.segSel[Seg.CS]).toBe(0x2b);
    expect(h.s.segSel[Seg.SS]).toBe(0x23);
    expect(h.s.rflags & Flag.IF).toBe(Flag.IF);
    expect(h.s.lo[2]).toBe(7);
    expect(Number(h.s.getReg64(6))).toBe(prog.address('back'));
  });

  it('SYSRET with a non-canonical RCX → #GP(0) at CPL 0; SYSCALL with EFER.SCE = 0 → #UD', () => {
    const h = makeHarness();
    enter64(h);
    gate64(h, Vec.GP, H);
    gate64(h, Vec.UD, H + 0x100);
    load(h, 64, H, (a) => a.hlt());
    load(h, 64, H + 0x100, (a) => a.hlt());
    load(h, 64, CODE, (a) => {
      a.mov(rsp, 0x80000);
      a.mov(rcx, 0x0000800000000000n);
      a.sysretq();
    });
    h.s.rip = CODE;
    runToHalt(h);
    expect(h.s.rip).toBe(H + 1);
    expect(h.p.cpl).toBe(0);
    expect(h.mem.read64(0x80000 - 48)).toBe(0n);
    h.s.efer &= ~1;
    load(h, 64, CODE, (a) => {
      a.mov(rsp, 0x80000);
      a.syscall();
    });
    h.s.rip = CODE;
    h.s.activity = Activity.ACTIVE;
    runToHalt(h);
    expect(h.s.rip).toBe(H + 0x101);
  });
});

