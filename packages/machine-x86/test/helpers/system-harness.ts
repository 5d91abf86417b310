// Test harness for the SYSTEM half of the interpreter: a processor on a bus with RAM, descriptor
// tables written from JS, code assembled with the x86-isa assembler, and a run-until-HLT loop.
import { MemorySink, TraceBus, type AddressTranslator, type PageAccess, type TranslationResult } from '@latelaunch/kernel';
import { Assembler } from '@latelaunch/x86-isa';
import { Bus } from '../../src/bus/bus.js';
import { SparseMemory } from '../../src/memory/sparse-memory.js';
import { Processor } from '../../src/cpu/processor.js';
import { AR, Cr0, Cr4, CpuState, Efer, Seg, Activity } from '../../src/cpu/state.js';
import { encodeDescriptor } from '../../src/cpu/descriptors.js';
import { configureProcessor } from '../../src/cpu/system-context.js';
import { InterruptStandIn } from '../../src/machine/interrupt-standin.js';
import { signalInterrupt } from '../../src/cpu/interrupts.js';

/** Identity translation even with CR0.PG = 1 (tests of segmentation and events, not paging). */
export class IdentityPagingTranslator implements AddressTranslator {
  /** Linear pages (4 KiB numbers) reported not present (#PF). */
  readonly notPresent = new Set<number>();
  invalidated: number[] = [];
  cr: string[] = [];
  translate(linear: number, access: PageAccess, _implicitSupervisor: boolean, out: TranslationResult): boolean {
    if (linear < 0 || this.notPresent.has(Math.floor(linear / 4096))) {
      out.fault = 14;
      out.errorCode = access === 1 ? 2 : access === 2 ? 0x10 : 0;
      return false;
    }
    out.physical = linear;
    out.fault = 0;
    out.errorCode = 0;
    return true;
  }
  controlRegisterWritten(which: 'cr0' | 'cr3' | 'cr4' | 'efer'): boolean {
    this.cr.push(which);
    return true;
  }
  invalidatePage(linear: number): void {
    this.invalidated.push(linear);
  }
  flushAll(): void {}
}

// Standard GDT of the tests (at GDT_BASE).
export const GDT_BASE = 0x1000;
export const IDT_BASE = 0x2000;
export const TSS_BASE = 0x3000;
export const LDT_BASE = 0x3800;
export const SEL = {
  CODE32: 0x08,
  DATA: 0x10,
  CODE64: 0x18,
  DATA3: 0x20,
  CODE64_3: 0x28,
  CODE32_3: 0x30,
  CODE16: 0x38,
  DATA16: 0x40,
  TSS: 0x48,
  LDT: 0x58,
  DATA_NP: 0x68,
  CONFORMING: 0x70,
  DATA_RO: 0x78,
  CODE_XO: 0x80,
  CALL_GATE: 0x88,
  DATA_DPL1: 0x90,
} as const;
export const GDT_LIMIT = 0x97;

export interface Harness {
  p: Processor;
  s: CpuState;
  mem: SparseMemory;
  bus: Bus;
  mmu: IdentityPagingTranslator;
  ic: InterruptStandIn;
  trace: TraceBus;
  sink: MemorySink;
}

export function makeHarness(ramBytes = 8 * 1024 * 1024, index = 0): Harness {
  const mem = new SparseMemory({ ranges: [{ base: 0, size: ramBytes }] });
  const bus = new Bus(mem);
  const s = new CpuState();
  s.reset('power-on');
  const mmu = new IdentityPagingTranslator();
  const p = new Processor(s, bus, { mmu, index });
  const ic = new InterruptStandIn();
  ic.onRaise = () => signalInterrupt(p);
  const trace = new TraceBus();
  const sink = new MemorySink();
  trace.attach(sink);
  configureProcessor(p, { interruptController: ic, trace });
  return { p, s, mem, bus, mmu, ic, trace, sink };
}

function put(mem: SparseMemory, addr: number, [lo, hi]: [number, number]): void {
  mem.write32(addr, lo >>> 0);
  mem.write32(addr + 4, hi >>> 0);
}

const CODE = AR.P | AR.S | AR.CODE | AR.RW;
const DATA = AR.P | AR.S | AR.RW;

/** Writes the standard GDT; `long` makes the TSS/LDT descriptors 16 bytes. */
export function writeGdt(h: Harness, long: boolean): void {
  const m = h.mem;
  const g = (sel: number, base: number, limit: number, ar: number): void => put(m, GDT_BASE + sel, encodeDescriptor(base, limit, ar));
  m.fill(GDT_BASE, 0x100, 0);
  g(SEL.CODE32, 0, 0xfffff, CODE | AR.DB | AR.G);
  g(SEL.DATA, 0, 0xfffff, DATA | AR.DB | AR.G);
  g(SEL.CODE64, 0, 0xfffff, CODE | AR.L | AR.G);
  g(SEL.DATA3, 0, 0xfffff, DATA | AR.DB | AR.G | (3 << 5));
  g(SEL.CODE64_3, 0, 0xfffff, CODE | AR.L | AR.G | (3 << 5));
  g(SEL.CODE32_3, 0, 0xfffff, CODE | AR.DB | AR.G | (3 << 5));
  g(SEL.CODE16, 0, 0xffff, CODE);
  g(SEL.DATA16, 0, 0xffff, DATA);
  g(SEL.TSS, TSS_BASE, 0x67 + 0x2000 / 8 + 1, AR.P | 0x9);
  g(SEL.LDT, LDT_BASE, 0xff, AR.P | 0x2);
  g(SEL.DATA_NP, 0, 0xfffff, (DATA | AR.DB | AR.G) & ~AR.P);
  g(SEL.CONFORMING, 0, 0xfffff, CODE | AR.DC | AR.DB | AR.G);
  g(SEL.DATA_RO, 0, 0xfffff, (DATA & ~AR.RW) | AR.DB | AR.G);
  g(SEL.CODE_XO, 0, 0xfffff, (CODE & ~AR.RW) | AR.DB | AR.G);
  // Call gate (32-bit, DPL 3) to CODE32:0x5000.
  put(m, GDT_BASE + SEL.CALL_GATE, [(SEL.CODE32 << 16) | 0x5000, 0x0000ec00]);
  g(SEL.DATA_DPL1, 0, 0xfffff, DATA | AR.DB | AR.G | (1 << 5));
  if (!long) {
    // Upper halves of the 16-byte system descriptors are separate (unused) entries in legacy mode.
  }
  h.s.gdtrBase = GDT_BASE;
  h.s.gdtrLimit = GDT_LIMIT;
}

export function setSeg(s: CpuState, seg: number, sel: number, base: number, limit: number, ar: number): void {
  s.segSel[seg] = sel;
  s.segBase[seg] = base;
  s.segLimit[seg] = limit;
  s.segAr[seg] = ar;
}

/** Puts the processor directly in 64-bit mode at CPL `cpl` (GDT, IDT at IDT_BASE with limit 0xFFF, 64-bit TSS loaded). */
export function enter64(h: Harness, cpl = 0): void {
  const s = h.s;
  writeGdt(h, true);
  s.cr0 = Cr0.PE | Cr0.ET | Cr0.PG | Cr0.NE;
  s.cr4 = Cr4.PAE;
  s.efer = Efer.LME | Efer.LMA | Efer.SCE;
  s.idtrBase = IDT_BASE;
  s.idtrLimit = 0xfff;
  const code = cpl === 0 ? SEL.CODE64 : SEL.CODE64_3 | 3;
  const data = cpl === 0 ? SEL.DATA : SEL.DATA3 | 3;
  for (let r = 0; r < 6; r++) {
    if (r === Seg.CS) setSeg(s, r, code, 0, 0xffffffff, CODE | AR.ACCESSED | AR.L | AR.G | (cpl << 5));
    else setSeg(s, r, data, 0, 0xffffffff, DATA | AR.ACCESSED | AR.DB | AR.G | (cpl << 5));
  }
  setSeg(s, Seg.TR, SEL.TSS, TSS_BASE, 0x67 + 0x2000 / 8 + 1, AR.P | 0xb);
  h.p.setRflags(0x2);
  h.p.modeChanged();
}

/** Puts the processor directly in 32-bit protected mode (no paging) at CPL `cpl`. */
export function enter32(h: Harness, cpl = 0): void {
  const s = h.s;
  writeGdt(h, false);
  s.cr0 = Cr0.PE | Cr0.ET | Cr0.NE;
  s.cr4 = 0;
  s.efer = 0;
  s.idtrBase = IDT_BASE;
  s.idtrLimit = 0x7ff;
  const code = cpl === 0 ? SEL.CODE32 : SEL.CODE32_3 | 3;
  const data = cpl === 0 ? SEL.DATA : SEL.DATA3 | 3;
  for (let r = 0; r < 6; r++) {
    if (r === Seg.CS) setSeg(s, r, code, 0, 0xffffffff, CODE | AR.ACCESSED | AR.DB | AR.G | (cpl << 5));
    else setSeg(s, r, data, 0, 0xffffffff, DATA | AR.ACCESSED | AR.DB | AR.G | (cpl << 5));
  }
  setSeg(s, Seg.TR, SEL.TSS, TSS_BASE, 0x67 + 0x2000 / 8 + 1, AR.P | 0xb);
  h.p.setRflags(0x2);
  h.p.modeChanged();
}

/** 64-bit IDT gate (type 0xE interrupt / 0xF trap). */
export function gate64(h: Harness, vector: number, offset: number, opts: { sel?: number; type?: number; dpl?: number; ist?: number; present?: boolean } = {}): void {
  const sel = opts.sel ?? SEL.CODE64;
  const type = opts.type ?? 0xe;
  const attr = (opts.present === false ? 0 : 0x80) | ((opts.dpl ?? 0) << 5) | type;
  const a = IDT_BASE + vector * 16;
  h.mem.write32(a, ((sel << 16) | (offset & 0xffff)) >>> 0);
  h.mem.write32(a + 4, ((offset & 0xffff0000) | (attr << 8) | (opts.ist ?? 0)) >>> 0);
  h.mem.write32(a + 8, Math.floor(offset / 2 ** 32) >>> 0);
  h.mem.write32(a + 12, 0);
}

/** 32-bit IDT gate. */
export function gate32(h: Harness, vector: number, offset: number, opts: { sel?: number; type?: number; dpl?: number; present?: boolean } = {}): void {
  const sel = opts.sel ?? SEL.CODE32;
  const type = opts.type ?? 0xe;
  const attr = (opts.present === false ? 0 : 0x80) | ((opts.dpl ?? 0) << 5) | type;
  const a = IDT_BASE + vector * 8;
  h.mem.write32(a, ((sel << 16) | (offset & 0xffff)) >>> 0);
  h.mem.write32(a + 4, ((offset & 0xffff0000) | (attr << 8)) >>> 0);
}

/** Assembles `build` at `org` in `bits` mode and copies it to memory; returns the program. */
export function load(h: Harness, bits: 16 | 32 | 64, org: number, build: (a: Assembler) => void) {
  const a = new Assembler({ bits, org });
  build(a);
  const prog = a.assemble();
  h.mem.writeBytes(org, prog.bytes);
  return prog;
}

/** Runs until the processor leaves the ACTIVE state (HLT, shutdown, wait-for-SIPI) or `max` instructions. */
export function runToHalt(h: Harness, max = 100_000): number {
  let n = 0;
  while (n < max) {
    const k = h.p.run(max - n);
    n += k;
    if (h.s.activity !== Activity.ACTIVE) break;
    if (k === 0) break;
  }
  return n;
}

export function read64(h: Harness, addr: number): bigint {
  return h.mem.read64(addr);
}

export function rsp(h: Harness): number {
  return Number(h.s.getReg64(4));
}
