// Exception and interrupt delivery: frames (32/64-bit, with/without privilege change, IST), error
// codes (EXT, IDT bits), #DF and triple fault, software-interrupt DPL checks, segment-load faults.
import { describe, expect, it } from 'vitest';
import { ax, ds, eax, es, ss, rax, rsp, esp, dword } from '@latelaunch/x86-isa';
import { Activity, AR, Seg, Vec } from '../src/cpu/state.js';
import { encodeDescriptor } from '../src/cpu/descriptors.js';
import { GDT_BASE, SEL, TSS_BASE, enter32, enter64, gate32, gate64, load, makeHarness, runToHalt } from './helpers/system-harness.js';

const CODE = 0x10000;
const H = 0x6000; // handlers, 0x100 apart

function frame64(h: ReturnType<typeof makeHarness>, n: number): bigint[] {
  const r = Number(h.s.getReg64(4));
  return Array.from({ length: n }, (_, k) => h.mem.read64(r + 8 * k));
}

describe('64-bit delivery (SDM 6.14)', () => {
  it('#NP(selector) from MOV DS: 16-byte aligned frame with SS:RSP, error code, RIP of the faulting instruction', () => {
    const h = makeHarness();
    enter64(h);
    gate64(h, Vec.NP, H);
    load(h, 64, H, (a) => a.hlt());
    const prog = load(h, 64, CODE, (a) => {
      a.mov(rsp, 0x80008);
      a.mov(ax, SEL.DATA_NP);
      a.label('fault');
      a.mov(ds, ax);
      a.hlt();
    });
    h.s.rip = CODE;
    const flags = h.p.getRflags();
    runToHalt(h);
    expect(h.s.rip).toBe(H + 1);
    expect(Number(h.s.getReg64(4))).toBe(0x80000 - 48); // aligned down to 16, then 6 slots
    expect(frame64(h, 6)).toEqual([BigInt(SEL.DATA_NP), BigInt(prog.address('fault')), BigInt(SEL.CODE64), BigInt(flags), 0x80008n, BigInt(SEL.DATA)]);
    expect(h.sink.records.map((r) => r.kind)).toEqual(['cpu.exception']);
    expect(h.sink.records[0].data).toMatchObject({ vector: Vec.NP, errorCode: SEL.DATA_NP });
  });

  it('IST stack for #UD (no error code), interrupt gate clears IF, trap gate keeps it', () => {
    for (const type of [0xe, 0xf]) {
      const h = makeHarness();
      enter64(h);
      h.mem.write32(TSS_BASE + 0x24 + 8, 0x70000); // IST2
      gate64(h, Vec.UD, H, { ist: 2, type });
      load(h, 64, H, (a) => a.hlt());
      load(h, 64, CODE, (a) => {
        a.mov(rsp, 0x80000);
        a.sti();
        a.ud2();
      });
      h.s.rip = CODE;
      runToHalt(h);
      expect(Number(h.s.getReg64(4))).toBe(0x70000 - 40);
      const [rip, cs, fl, oldRsp, oldSs] = frame64(h, 5);
      expect(rip).toBe(BigInt(CODE + 8));
      expect(cs).toBe(BigInt(SEL.CODE64));
      expect(fl & 0x200n).toBe(0x200n);
      expect(oldRsp).toBe(0x80000n);
      expect(oldSs).toBe(BigInt(SEL.DATA));
      expect(h.s.rflags & 0x200).toBe(type === 0xe ? 0 : 0x200);
    }
  });

  it('privilege change CPL 3 → 0 through RSP0 (SS = null selector), IRETQ back to CPL 3', () => {
    const h = makeHarness();
    enter64(h, 3);
    h.mem.write32(TSS_BASE + 4, 0x60000); // RSP0
    gate64(h, 0x80, H, { dpl: 3 });
    gate64(h, Vec.GP, H + 0x100);
    load(h, 64, H, (a) => {
      a.mov(rax, 0x42);
      a.iretq();
    });
    load(h, 64, H + 0x100, (a) => a.hlt());
    const prog = load(h, 64, CODE, (a) => {
      a.mov(rsp, 0x80000);
      a.int(0x80);
      a.label('back');
      a.hlt(); // CPL 3: #GP(0)
    });
    h.s.rip = CODE;
    h.p.run(2); // mov rsp; int 0x80 (delivered)
    expect(h.p.cpl).toBe(0);
    expect(h.s.segSel[Seg.SS]).toBe(0);
    expect(h.s.segAr[Seg.SS] & AR.UNUSABLE).toBe(AR.UNUSABLE);
    expect(Number(h.s.getReg64(4))).toBe(0x60000 - 40);
    expect(frame64(h, 5)).toEqual([BigInt(prog.address('back')), BigInt(SEL.CODE64_3 | 3), 0x2n, 0x80000n, BigInt(SEL.DATA3 | 3)]);
    runToHalt(h);
    // Back at CPL 3, then HLT faulted with #GP(0) to the CPL-0 handler.
    expect(h.s.lo[0]).toBe(0x42);
    expect(h.s.rip).toBe(H + 0x101);
    const f = frame64(h, 6);
    expect(f[0]).toBe(0n);
    expect(f[1]).toBe(BigInt(prog.address('back')));
    expect(f[2]).toBe(BigInt(SEL.CODE64_3 | 3));
    expect(f[4]).toBe(0x80000n);
    expect(Number(h.s.getReg64(4))).toBe(0x60000 - 48);
  });

  it('INT n through a gate with DPL < CPL → #GP(vector·8 + 2), EXT = 0, RIP of the INT', () => {
    const h = makeHarness();
    enter64(h, 3);
    h.mem.write32(TSS_BASE + 4, 0x60000);
    gate64(h, 0x81, H, { dpl: 0 });
    gate64(h, Vec.GP, H + 0x100);
    load(h, 64, H + 0x100, (a) => a.hlt());
    const prog = load(h, 64, CODE, (a) => {
      a.mov(rsp, 0x80000);
      a.label('int');
      a.int(0x81);
    });
    h.s.rip = CODE;
    runToHalt(h);
    const f = frame64(h, 2);
    expect(f[0]).toBe(BigInt(0x81 * 8 + 2));
    expect(f[1]).toBe(BigInt(prog.address('int')));
  });

  it('fault while delivering an exception: #NP(gate, IDT+EXT) then contributory+contributory → #DF(0) on IST1', () => {
    const h = makeHarness();
    enter64(h);
    h.mem.write32(TSS_BASE + 0x24, 0x50000); // IST1
    gate64(h, Vec.GP, H, { present: false });
    gate64(h, Vec.DF, H + 0x100, { ist: 1 });
    load(h, 64, H + 0x100, (a) => a.hlt());
    const prog = load(h, 64, CODE, (a) => {
      a.mov(rsp, 0x80000);
      a.mov(ax, 0x98); // beyond the GDT limit → #GP(0x98)
      a.label('fault');
      a.mov(ds, ax);
    });
    h.s.rip = CODE;
    runToHalt(h);
    expect(h.s.rip).toBe(H + 0x101);
    expect(Number(h.s.getReg64(4))).toBe(0x50000 - 48);
    const f = frame64(h, 2);
    expect(f[0]).toBe(0n);
    expect(f[1]).toBe(BigInt(prog.address('fault')));
    expect(h.sink.records.map((r) => (r.data as { vector: number }).vector)).toEqual([Vec.GP, Vec.DF]);
  });

  it('#PF while delivering #PF gives #DF; a benign exception while delivering #PF is serial', () => {
    const h = makeHarness();
    enter64(h);
    gate64(h, Vec.PF, H);
    gate64(h, Vec.DF, H + 0x100, { ist: 1 });
    h.mem.write32(TSS_BASE + 0x24, 0x50000);
    load(h, 64, H + 0x100, (a) => a.hlt());
    load(h, 64, CODE, (a) => {
      a.mov(rsp, 0x80000);
      a.mov(rax, 0x400000);
      a.mov(eax, dword(rax)); // #PF (page 0x400 not present)
    });
    h.mmu.notPresent.add(0x400);
    h.mmu.notPresent.add(0x7f); // the stack page below 0x80000
    h.s.rip = CODE;
    runToHalt(h);
    expect(h.s.rip).toBe(H + 0x101);
    expect(h.sink.records.map((r) => (r.data as { vector: number }).vector)).toEqual([Vec.PF, Vec.DF]);
    expect(h.s.cr2).toBe(0x80000 - 8); // the second #PF (stack push) is the one CR2 reports
  });

  it('IDT limit 0: #UD → #GP(IDT) → #DF → triple fault → shutdown (trace cpu.shutdown)', () => {
    const h = makeHarness();
    enter64(h);
    h.s.idtrLimit = 0;
    load(h, 64, CODE, (a) => {
      a.ud2();
    });
    h.s.rip = CODE;
    runToHalt(h);
    expect(h.s.activity).toBe(Activity.SHUTDOWN);
    const kinds = h.sink.records.map((r) => r.kind);
    expect(kinds).toEqual(['cpu.exception', 'cpu.exception', 'cpu.exception', 'cpu.shutdown']);
    const errs = h.sink.records.slice(0, 3).map((r) => [(r.data as { vector: number }).vector, (r.data as { errorCode: number }).errorCode]);
    expect(errs).toEqual([
      [Vec.UD, -1],
      [Vec.GP, Vec.UD * 8 + 2 + 1],
      [Vec.DF, 0],
    ]);
    // The processor stays in shutdown; other processors are unaffected (run returns 0).
    expect(h.p.run(10)).toBe(0);
  });
});

describe('not-present IDT gates', () => {
  it('#UD → #NP(vector·8+2+EXT) → #NP again → #DF → not present → triple fault', () => {
    const h = makeHarness();
    enter64(h);
    for (let v = 0; v < 32; v++) gate64(h, v, H, { present: false });
    load(h, 64, CODE, (a) => a.ud2());
    h.s.rip = CODE;
    runToHalt(h);
    expect(h.s.activity).toBe(Activity.SHUTDOWN);
    expect(h.sink.records.map((r) => (r.kind === 'cpu.shutdown' ? 'shutdown' : [(r.data as { vector: number }).vector, (r.data as { errorCode: number }).errorCode]))).toEqual([
      [Vec.UD, -1],
      [Vec.NP, Vec.UD * 8 + 3],
      [Vec.DF, 0],
      'shutdown',
    ]);
  });
});

describe('32-bit protected-mode delivery (SDM 6.12)', () => {
  it('same privilege: EFLAGS, CS, EIP, error code on the current stack', () => {
    const h = makeHarness();
    enter32(h);
    gate32(h, Vec.GP, H);
    load(h, 32, H, (a) => a.hlt());
    const prog = load(h, 32, CODE, (a) => {
      a.mov(esp, 0x80000);
      a.mov(ax, SEL.CODE_XO);
      a.label('fault');
      a.mov(es, ax);
    });
    h.s.rip = CODE;
    runToHalt(h);
    expect(h.s.lo[4] >>> 0).toBe(0x80000 - 16);
    const r = 0x80000 - 16;
    expect([h.mem.read32(r), h.mem.read32(r + 4), h.mem.read32(r + 8), h.mem.read32(r + 12)]).toEqual([SEL.CODE_XO, prog.address('fault'), SEL.CODE32, 2]);
  });

  it('privilege change CPL 3 → 0: SS0:ESP0 from the 32-bit TSS, old SS:ESP pushed; IRETD returns', () => {
    const h = makeHarness();
    enter32(h, 3);
    h.mem.write32(TSS_BASE + 4, 0x60000);
    h.mem.write16(TSS_BASE + 8, SEL.DATA);
    gate32(h, 0x80, H, { dpl: 3 });
    load(h, 32, H, (a) => {
      a.mov(eax, 0x77);
      a.iret();
    });
    const prog = load(h, 32, CODE, (a) => {
      a.mov(esp, 0x80000);
      a.int(0x80);
      a.label('back');
      a.jmp('back');
    });
    h.s.rip = CODE;
    h.p.run(2);
    expect(h.p.cpl).toBe(0);
    expect(h.s.segSel[Seg.SS]).toBe(SEL.DATA);
    const r = 0x60000 - 20;
    expect(h.s.lo[4] >>> 0).toBe(r);
    expect([0, 4, 8, 12, 16].map((k) => h.mem.read32(r + k))).toEqual([prog.address('back'), SEL.CODE32_3 | 3, 2, 0x80000, SEL.DATA3 | 3]);
    h.p.run(3);
    expect(h.p.cpl).toBe(3);
    expect(h.s.segSel[Seg.SS]).toBe(SEL.DATA3 | 3);
    expect(h.s.lo[4] >>> 0).toBe(0x80000);
    expect(h.s.lo[0]).toBe(0x77);
  });

  it('invalid SS0 in the TSS → #TS(SS selector + EXT)', () => {
    const h = makeHarness();
    enter32(h, 3);
    h.mem.write32(TSS_BASE + 4, 0x60000);
    h.mem.write16(TSS_BASE + 8, SEL.DATA_RO); // not writable
    gate32(h, Vec.UD, H);
    gate32(h, Vec.TS, H + 0x100);
    load(h, 32, H + 0x100, (a) => a.hlt());
    load(h, 32, CODE, (a) => {
      a.mov(esp, 0x80000);
      a.ud2();
    });
    h.s.rip = CODE;
    runToHalt(h);
    // #TS is contributory, #UD benign: serial. Delivering #TS needs the same TSS stack → #TS again →
    // #DF, whose delivery fails the same way → triple fault.
    expect(h.sink.records.map((r) => (r.kind === 'cpu.shutdown' ? 'shutdown' : [(r.data as { vector: number }).vector, (r.data as { errorCode: number }).errorCode]))).toEqual([
      [Vec.UD, -1],
      [Vec.TS, SEL.DATA_RO | 1],
      [Vec.DF, 0],
      'shutdown',
    ]);
    expect(h.s.activity).toBe(Activity.SHUTDOWN);
  });
});

describe('16-bit gates and LDT descriptors', () => {
  it('a 16-bit interrupt gate pushes FLAGS, CS, IP and a 16-bit error code', () => {
    const h = makeHarness();
    enter32(h);
    gate32(h, Vec.GP, H, { sel: SEL.CODE16, type: 0x6 });
    load(h, 16, H, (a) => a.hlt());
    const prog = load(h, 32, CODE, (a) => {
      a.mov(esp, 0x80000);
      a.mov(ax, SEL.CODE_XO);
      a.label('fault');
      a.mov(ds, ax);
    });
    h.s.rip = CODE;
    runToHalt(h);
    expect(h.p.codeSize).toBe(16);
    expect(h.s.segSel[Seg.CS]).toBe(SEL.CODE16);
    const r = 0x80000 - 8;
    expect(h.s.lo[4] >>> 0).toBe(r);
    expect([0, 2, 4, 6].map((k) => h.mem.read16(r + k))).toEqual([SEL.CODE_XO, prog.address('fault') & 0xffff, SEL.CODE32, 2]);
  });

  it('TI = 1 selectors use the LDT loaded by LLDT', () => {
    const h = makeHarness();
    enter32(h);
    const [lo, hi] = encodeDescriptor(0x00abc000, 0xfff, AR.P | AR.S | AR.RW | AR.DB);
    h.mem.write32(0x3800 + 8, lo >>> 0);
    h.mem.write32(0x3800 + 12, hi >>> 0);
    load(h, 32, CODE, (a) => {
      a.mov(ax, SEL.LDT);
      a.lldt(ax);
      a.mov(ax, 0x0c);
      a.mov(es, ax);
      a.hlt();
    });
    h.s.rip = CODE;
    runToHalt(h);
    expect(h.s.segSel[Seg.ES]).toBe(0x0c);
    expect(h.s.segBase[Seg.ES]).toBe(0x00abc000);
    expect(h.s.segLimit[Seg.ES]).toBe(0xfff);
    expect((h.mem.read32(0x3800 + 12) >>> 8) & 1).toBe(1);
  });
});

describe('segment-register loads (SDM 5.5–5.8, MOV/POP/LSS)', () => {
  const cases: [string, number, number, number, number][] = [
    // [name, seg, selector, vector, error code]
    ['not-present data → #NP(sel)', Seg.DS, SEL.DATA_NP, Vec.NP, SEL.DATA_NP],
    ['execute-only code into DS → #GP(sel)', Seg.DS, SEL.CODE_XO, Vec.GP, SEL.CODE_XO],
    ['read-only data into SS → #GP(sel)', Seg.SS, SEL.DATA_RO, Vec.GP, SEL.DATA_RO],
    ['not-present SS → #SS(sel)', Seg.SS, SEL.DATA_NP, Vec.SS, SEL.DATA_NP],
    ['selector beyond the GDT limit → #GP(sel)', Seg.DS, 0x98, Vec.GP, 0x98],
    ['null SS outside 64-bit mode → #GP(0)', Seg.SS, 0, Vec.GP, 0],
    ['TI = 1 with a null LDTR → #GP(sel)', Seg.DS, 0x04, Vec.GP, 0x04],
    ['RPL 3 > DPL 1 → #GP(sel & ~3)', Seg.DS, SEL.DATA_DPL1 | 3, Vec.GP, SEL.DATA_DPL1],
    ['DPL 3 data into SS at CPL 0 → #GP(sel)', Seg.SS, SEL.DATA3, Vec.GP, SEL.DATA3],
    ['system descriptor (TSS) into ES → #GP(sel)', Seg.ES, SEL.TSS, Vec.GP, SEL.TSS],
  ];
  for (const [name, seg, sel, vec, err] of cases) {
    it(name, () => {
      const h = makeHarness();
      enter32(h);
      h.s.segSel[Seg.LDTR] = 0;
      h.s.segAr[Seg.LDTR] = AR.UNUSABLE;
      gate32(h, vec, H);
      load(h, 32, H, (a) => a.hlt());
      load(h, 32, CODE, (a) => {
        a.mov(esp, 0x80000);
        a.mov(ax, sel);
        a.mov(seg === Seg.SS ? ss : seg === Seg.ES ? es : ds, ax);
        a.hlt();
      });
      h.s.rip = CODE;
      runToHalt(h);
      expect(h.s.rip).toBe(H + 1);
      expect(h.mem.read32(0x80000 - 16)).toBe(err);
    });
  }

  it('loads set the accessed bit in memory; a conforming readable code segment loads into ES; null DS faults on use', () => {
    const h = makeHarness();
    enter32(h);
    const [lo, hi] = encodeDescriptor(0x12340000, 0xffff, AR.P | AR.S | AR.RW);
    h.mem.write32(GDT_BASE + 0x98 - 0x98 + SEL.DATA_DPL1, lo >>> 0);
    h.mem.write32(GDT_BASE + SEL.DATA_DPL1 + 4, hi >>> 0);
    gate32(h, Vec.GP, H);
    load(h, 32, H, (a) => a.hlt());
    load(h, 32, CODE, (a) => {
      a.mov(esp, 0x80000);
      a.mov(ax, SEL.DATA_DPL1);
      a.mov(ds, ax);
      a.mov(ax, SEL.CONFORMING);
      a.mov(es, ax);
      a.xor(eax, eax);
      a.mov(ds, ax);
      a.label('use');
      a.mov(eax, dword(0x100));
    });
    h.s.rip = CODE;
    runToHalt(h);
    expect((h.mem.read32(GDT_BASE + SEL.DATA_DPL1 + 4) >>> 8) & 1).toBe(1);
    expect(h.s.segSel[Seg.ES]).toBe(SEL.CONFORMING);
    expect(h.s.segAr[Seg.DS] & AR.UNUSABLE).toBe(AR.UNUSABLE);
    expect(h.mem.read32(0x80000 - 16)).toBe(0);
    expect(h.s.rip).toBe(H + 1);
  });
});

