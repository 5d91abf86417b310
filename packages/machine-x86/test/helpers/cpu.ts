// Test helpers: a processor on a bus with RAM, set up directly in real, 32-bit protected or
// 64-bit mode (flat segments; 64-bit mode uses a test-only identity translator, since IA-32e
// mode requires CR0.PG).
import type { AddressTranslator, PageAccess, TranslationResult } from '@latelaunch/kernel';
import { Bus } from '../../src/bus/bus.js';
import { SparseMemory } from '../../src/memory/sparse-memory.js';
import { Processor } from '../../src/cpu/processor.js';
import { AR, Cr0, Cr4, CpuState, Efer, Seg } from '../../src/cpu/state.js';

/** Identity-maps every canonical address below 2^47 (higher-half addresses fault as #PF not-present). */
export class IdentityTestTranslator implements AddressTranslator {
  calls = 0;
  translate(linear: number, access: PageAccess, _implicitSupervisor: boolean, out: TranslationResult): boolean {
    this.calls++;
    if (linear < 0) {
      out.fault = 14;
      out.errorCode = access === 1 ? 2 : access === 2 ? 0x10 : 0;
      return false;
    }
    out.physical = linear;
    out.fault = 0;
    out.errorCode = 0;
    return true;
  }
  controlRegisterWritten(): boolean {
    return true;
  }
  invalidatePage(): void {}
  flushAll(): void {}
}

export interface TestCpu {
  p: Processor;
  s: CpuState;
  mem: SparseMemory;
  bus: Bus;
}

export const CODE_AR = AR.P | AR.S | AR.CODE | AR.RW | AR.ACCESSED;
export const DATA_AR = AR.P | AR.S | AR.RW | AR.ACCESSED;

export function setSeg(s: CpuState, seg: number, sel: number, base: number, limit: number, ar: number): void {
  s.segSel[seg] = sel;
  s.segBase[seg] = base;
  s.segLimit[seg] = limit;
  s.segAr[seg] = ar;
}

export function makeCpu(mode: 16 | 32 | 64, ramBytes = 16 * 1024 * 1024): TestCpu {
  const mem = new SparseMemory({ ranges: [{ base: 0, size: ramBytes }] });
  const bus = new Bus(mem);
  const s = new CpuState();
  s.reset('power-on');
  const p = new Processor(s, bus, { mmu: new IdentityTestTranslator() });
  if (mode === 16) {
    for (let r = 0; r < 6; r++) setSeg(s, r, 0, 0, 0xffff, r === Seg.CS ? CODE_AR : DATA_AR);
    s.cr0 = Cr0.ET;
  } else if (mode === 32) {
    s.cr0 = Cr0.PE | Cr0.ET;
    for (let r = 0; r < 6; r++) setSeg(s, r, r === Seg.CS ? 8 : 16, 0, 0xffffffff, (r === Seg.CS ? CODE_AR : DATA_AR) | AR.DB | AR.G);
  } else {
    s.cr0 = Cr0.PE | Cr0.ET | Cr0.PG;
    s.cr4 = Cr4.PAE;
    s.efer = Efer.LME | Efer.LMA;
    for (let r = 0; r < 6; r++) setSeg(s, r, r === Seg.CS ? 8 : 16, 0, 0xffffffff, r === Seg.CS ? CODE_AR | AR.L | AR.G : DATA_AR | AR.DB | AR.G);
  }
  s.rflags = 0x2;
  s.lo[4] = 0x80000; // a stack in RAM
  p.modeChanged();
  return { p, s, mem, bus };
}
