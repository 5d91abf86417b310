// Mode transitions as software performs them: real → protected → IA-32e (compatibility, 64-bit)
// → back to compatibility mode, with real-mode interrupts, far transfers, LGDT, MOV CR, WRMSR EFER.
import { describe, expect, it } from 'vitest';
import { ax, bx, cr0, cr3, cr4, ds, eax, ebx, ecx, es, esp, rax, rbx, rsp, ss, sp, word, fword, rip } from '@latelaunch/x86-isa';
import { Activity, AR, Cr0, Efer, Seg } from '../src/cpu/state.js';
import { GDT_BASE, GDT_LIMIT, SEL, enter64, gate64, load, makeHarness, runToHalt, writeGdt } from './helpers/system-harness.js';

function realModeStart(h: ReturnType<typeof makeHarness>, ip: number): void {
  const s = h.s;
  s.segSel[Seg.CS] = 0;
  s.segBase[Seg.CS] = 0;
  s.rip = ip;
  h.p.modeChanged();
}

describe('mode switches (SDM 9.9)', () => {
  it('real → protected → IA-32e compatibility → 64-bit → compatibility mode', () => {
    const h = makeHarness();
    writeGdt(h, true);
    h.s.gdtrBase = 0;
    h.s.gdtrLimit = 0xffff;
    load(h, 16, 0x7c00, (a) => {
      a.cli();
      a.xor(ax, ax);
      a.mov(ds, ax);
      a.mov(ss, ax);
      a.mov(sp, 0x7000);
      a.mov(word(0x40 * 4), 'handler16');
      a.mov(word(0x40 * 4 + 2), 0);
      a.int(0x40);
      a.lgdt(fword('gdtr'));
      a.mov(eax, cr0);
      a.or(eax, 1);
      a.mov(cr0, eax);
      a.jmpFar(SEL.CODE32, 'pm32', 32);
      a.label('handler16');
      a.mov(bx, 0x1234);
      a.iret();
      a.label('gdtr');
      a.dw(GDT_LIMIT);
      a.dd(GDT_BASE);

      a.bits(32);
      a.label('pm32');
      a.mov(ax, SEL.DATA);
      a.mov(ds, ax);
      a.mov(es, ax);
      a.mov(ss, ax);
      a.mov(esp, 0x90000);
      a.mov(eax, cr4);
      a.or(eax, 0x20);
      a.mov(cr4, eax);
      a.mov(eax, 0x100000);
      a.mov(cr3, eax);
      a.mov(ecx, 0xc0000080);
      a.rdmsr();
      a.or(eax, 0x101);
      a.wrmsr();
      a.mov(eax, cr0);
      a.or(eax, 0x80000000);
      a.mov(cr0, eax);
      a.label('compat1');
      a.jmpFar(SEL.CODE64, 'lm64');

      a.bits(64);
      a.label('lm64');
      a.mov(rax, 0x1122334455667788n);
      a.mov(rbx, rax);
      a.jmpFar(fword(rip, 'farptr'));
      a.label('farptr');
      a.dd('compat2');
      a.dw(SEL.CODE32);

      a.bits(32);
      a.label('compat2');
      a.hlt();
    });
    realModeStart(h, 0x7c00);
    expect(h.p.codeSize).toBe(16);
    runToHalt(h);
    const s = h.s;
    expect(s.activity).toBe(Activity.HLT);
    expect(s.lo[3] & 0xffff).not.toBe(0x1234); // overwritten by mov rbx, rax
    expect(s.getReg64(3)).toBe(0x1122334455667788n); // upper half survives in compatibility mode
    expect(s.cr0 & Cr0.PG).toBe(Cr0.PG);
    expect(s.efer & (Efer.LME | Efer.LMA | Efer.SCE)).toBe(Efer.LME | Efer.LMA | Efer.SCE);
    expect(s.segSel[Seg.CS]).toBe(SEL.CODE32);
    expect(h.p.is64).toBe(false);
    expect(h.p.codeSize).toBe(32);
    expect(h.mmu.cr).toContain('cr0');
    // The accessed bit of the code descriptors was set in memory.
    expect((h.mem.read32(GDT_BASE + SEL.CODE64 + 4) >>> 8) & 1).toBe(1);
  });

  it('real-mode INT/IRET use the IVT and push FLAGS, CS, IP; IF/TF/AC cleared', () => {
    const h = makeHarness();
    load(h, 16, 0x7c00, (a) => {
      a.xor(ax, ax);
      a.mov(ds, ax);
      a.mov(ss, ax);
      a.mov(sp, 0x7000);
      a.mov(word(0x21 * 4), 'handler');
      a.mov(word(0x21 * 4 + 2), 0);
      a.sti();
      a.int(0x21);
      a.label('after');
      a.hlt();
      a.label('handler');
      // Copy the frame words into BX/CX/DX-free memory for inspection.
      a.hlt();
    });
    realModeStart(h, 0x7c00);
    runToHalt(h);
    const s = h.s;
    expect(s.lo[4] & 0xffff).toBe(0x7000 - 6);
    const ip = h.mem.read16(0x7000 - 6);
    const cs = h.mem.read16(0x7000 - 4);
    const fl = h.mem.read16(0x7000 - 2);
    expect(cs).toBe(0);
    expect(fl & 0x200).toBe(0x200);
    expect(s.rflags & 0x200).toBe(0);
    expect(ip).toBeGreaterThan(0x7c00);
    // Resume: IRET back, then HLT at 'after'.
    s.activity = Activity.ACTIVE;
    h.mem.write8(s.rip, 0xcf); // replace nothing: put an IRET after the handler's HLT
    runToHalt(h);
    expect(s.rip).toBe(ip + 1);
    expect(s.rflags & 0x200).toBe(0x200);
  });

  it('MOV to CR0 rejects PG without PE, NW without CD, and PG+LME without PAE (#GP(0))', () => {
    const h = makeHarness();
    writeGdt(h, false);
    for (const bad of [0x80000010, 0x20000010]) {
      h.s.cr0 = 0x10; // real mode, caches enabled
      load(h, 16, 0x7c00, (a) => {
        a.mov(word(13 * 4), 'gp');
        a.mov(word(13 * 4 + 2), 0);
        a.mov(eax, bad);
        a.mov(cr0, eax);
        a.hlt();
        a.label('gp');
        a.mov(bx, 0xdead);
        a.hlt();
      });
      h.s.lo[3] = 0;
      h.s.segBase[Seg.DS] = 0;
      h.s.segBase[Seg.SS] = 0;
      h.s.lo[4] = 0x7000;
      realModeStart(h, 0x7c00);
      h.s.activity = Activity.ACTIVE;
      runToHalt(h);
      expect(h.s.lo[3] & 0xffff).toBe(0xdead);
      expect(h.s.cr0 >>> 0).toBe(0x10);
    }
  });

  it('enabling paging with LME but without PAE, clearing PAE while LMA, and CR4 reserved bits → #GP(0)', () => {
    const h = makeHarness();
    writeGdt(h, false);
    const s = h.s;
    s.cr0 = 0x11;
    s.efer = Efer.LME;
    // 32-bit protected mode, flat.
    s.segSel[Seg.CS] = SEL.CODE32;
    s.segAr[Seg.CS] = AR.P | AR.S | AR.CODE | AR.RW | AR.DB | AR.G | AR.ACCESSED;
    s.segLimit[Seg.CS] = 0xffffffff;
    s.segBase[Seg.CS] = 0;
    s.segAr[Seg.SS] = AR.P | AR.S | AR.RW | AR.DB | AR.G | AR.ACCESSED;
    s.segLimit[Seg.SS] = 0xffffffff;
    s.segAr[Seg.DS] = s.segAr[Seg.SS];
    s.segLimit[Seg.DS] = 0xffffffff;
    s.idtrBase = 0x2000;
    s.idtrLimit = 0x7ff;
    // #GP handler at 0x6000: record and halt.
    h.mem.write32(0x2000 + 13 * 8, (SEL.CODE32 << 16) | 0x6000);
    h.mem.write32(0x2000 + 13 * 8 + 4, 0x00008e00);
    load(h, 32, 0x6000, (a) => {
      a.mov(ebx, 0xdead);
      a.hlt();
    });
    load(h, 32, 0x7000, (a) => {
      a.mov(esp, 0x9000);
      a.mov(eax, cr0);
      a.or(eax, 0x80000000);
      a.mov(cr0, eax); // PG with LME, no PAE
      a.hlt();
    });
    s.rip = 0x7000;
    h.p.modeChanged();
    runToHalt(h);
    expect(s.lo[3]).toBe(0xdead);
    expect(h.mem.read32(0x9000 - 16)).toBe(0); // error code 0
    expect(h.mem.read32(0x9000 - 8)).toBe(SEL.CODE32);
    expect(s.cr0 & Cr0.PG).toBe(0);
    // CR4 reserved bit (bit 12, LA57 unsupported).
    s.lo[3] = 0;
    load(h, 32, 0x7000, (a) => {
      a.mov(esp, 0x9000);
      a.mov(eax, 1 << 12);
      a.mov(cr4, eax);
      a.hlt();
    });
    s.rip = 0x7000;
    s.activity = Activity.ACTIVE;
    runToHalt(h);
    expect(s.lo[3]).toBe(0xdead);
    expect(s.cr4).toBe(0);
  });

  it('in 64-bit mode: clearing CR4.PAE or CR0.PG → #GP(0); from compatibility mode clearing PG leaves IA-32e mode', () => {
    for (const which of ['pae', 'pg'] as const) {
      const h = makeHarness();
      enter64(h);
      gate64(h, 13, 0x6000);
      load(h, 64, 0x6000, (a) => a.hlt());
      load(h, 64, 0x10000, (a) => {
        a.mov(rsp, 0x80000);
        if (which === 'pae') {
          a.mov(rax, cr4);
          a.and(rax, ~0x20);
          a.mov(cr4, rax);
        } else {
          a.mov(rax, cr0);
          a.btr(rax, 31);
          a.mov(cr0, rax);
        }
        a.hlt();
      });
      h.s.rip = 0x10000;
      runToHalt(h);
      expect(h.s.rip).toBe(0x6001);
      expect(h.s.efer & Efer.LMA).toBe(Efer.LMA);
    }
    const h = makeHarness();
    enter64(h);
    load(h, 64, 0x10000, (a) => {
      a.mov(rsp, 0x80000);
      a.jmpFar(fword(rip, 'p'));
      a.label('p');
      a.dd('c');
      a.dw(SEL.CODE32);
      a.bits(32);
      a.label('c');
      a.mov(eax, cr0);
      a.and(eax, 0x7fffffff);
      a.mov(cr0, eax);
      a.hlt();
    });
    h.s.rip = 0x10000;
    runToHalt(h);
    expect(h.s.activity).toBe(Activity.HLT);
    expect(h.s.efer & (Efer.LMA | Efer.LME)).toBe(Efer.LME);
    expect(h.p.codeSize).toBe(32);
  });
});

