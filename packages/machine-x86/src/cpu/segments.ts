/**
 * Segment-register loads with the checks of the SDM (Vol. 3A 3.4.3–3.4.5, 5.5–5.8; Vol. 2 MOV,
 * POP, LDS/LES/LFS/LGS/LSS, LLDT, LTR pseudocode).
 *
 * - Real mode (and only real mode: virtual-8086 mode is not supported, see far.ts): base =
 *   selector × 16; the cached limit, D/B, G and DPL are kept (so "unreal mode" works as on
 *   hardware); the type becomes a present, accessed read/write data (CS: execute/read code) segment.
 * - Protected mode (legacy and IA-32e): the descriptor is read from the GDT or LDT (implicit
 *   supervisor accesses), checked, its accessed bit is set in memory, and the hidden cache is
 *   loaded. Error codes are `selector & 0xFFFC` (+ EXT when the load is part of event delivery:
 *   see `ext` parameters).
 * - Null selectors: allowed for DS/ES/FS/GS (the register becomes unusable: AR.UNUSABLE, base 0,
 *   limit 0 — Intel behaviour, unlike AMD); for SS only in 64-bit mode at CPL < 3 with RPL = CPL.
 * - LDTR/TR: LLDT/LTR type checks, busy bit on LTR, 16-byte system descriptors in IA-32e mode
 *   (upper type field must be 0, base canonical).
 *
 * Descriptor words are read into the module-level scratch `D` (no allocation).
 */
import type { Processor } from './processor.js';
import { AR, Efer, Seg, Vec } from './state.js';
import { descriptorAr, descriptorBase, descriptorLimit, SysType } from './descriptors.js';

const TWO32 = 4294967296;

/** Scratch result of {@link readDescriptor}: raw words, linear address, decoded fields. */
export const D = {
  lo: 0,
  hi: 0,
  /** Words 2 and 3 of a 16-byte system descriptor (only after `readDescriptor(..., 16)`). */
  w2: 0,
  w3: 0,
  /** Linear address of the descriptor. */
  addr: 0,
  ar: 0,
  base: 0,
  limit: 0,
};

/** True when `v` (a sign-extended number) is a canonical 48-bit address. */
export function isCanonical(v: number): boolean {
  return v >= -0x800000000000 && v < 0x800000000000;
}

/** Linear address of a system-table entry: 64-bit in IA-32e mode, else wrapped to 32 bits. */
export function tableLinear(p: Processor, base: number, offset: number): number {
  return p.state.efer & Efer.LMA ? base + offset : (base + offset) >>> 0;
}

/**
 * Reads the descriptor of `sel` (GDT or LDT per TI) into `D`: 8 bytes, or 16 (`size` 16: system
 * descriptors in IA-32e mode). Returns false when the selector is outside the table limit, or TI
 * = 1 with an unusable LDTR (the caller raises the fault it documents). Memory faults (#PF) are
 * raised directly.
 */
export function readDescriptor(p: Processor, sel: number, size = 8): boolean {
  const s = p.state;
  const idx = sel & 0xfff8;
  let base: number;
  let limit: number;
  if (sel & 4) {
    if (s.segAr[Seg.LDTR] & AR.UNUSABLE || (s.segSel[Seg.LDTR] & 0xfffc) === 0) return false;
    base = s.segBase[Seg.LDTR];
    limit = s.segLimit[Seg.LDTR];
  } else {
    base = s.gdtrBase;
    limit = s.gdtrLimit;
  }
  if (idx + size - 1 > limit) return false;
  const addr = tableLinear(p, base, idx);
  D.addr = addr;
  D.lo = p.readLinear32(addr);
  D.hi = p.readLinear32(tableLinear(p, addr, 4));
  if (size === 16) {
    D.w2 = p.readLinear32(tableLinear(p, addr, 8));
    D.w3 = p.readLinear32(tableLinear(p, addr, 12));
  } else {
    D.w2 = 0;
    D.w3 = 0;
  }
  D.ar = descriptorAr(D.hi);
  D.base = descriptorBase(D.lo, D.hi);
  D.limit = descriptorLimit(D.lo, D.hi);
  return true;
}

/** Sets the accessed bit of the code/data descriptor last read into `D` (in memory and in `D.ar`). */
export function setAccessed(p: Processor): void {
  if (D.ar & AR.ACCESSED) return;
  const a = tableLinear(p, D.addr, 5);
  p.writeLinear8(a, p.readLinear8(a) | 1);
  D.ar |= AR.ACCESSED;
  D.hi |= 0x100;
}

/** Loads the hidden cache of `seg`. */
export function setSegment(p: Processor, seg: number, sel: number, base: number, limit: number, ar: number): void {
  const s = p.state;
  s.segSel[seg] = sel;
  s.segBase[seg] = base;
  s.segLimit[seg] = limit;
  s.segAr[seg] = ar;
}

/** Makes `seg` unusable with selector `sel` (null-selector load; Intel clears base and limit). */
export function loadNull(p: Processor, seg: number, sel: number): void {
  setSegment(p, seg, sel & 0xffff, 0, 0, AR.UNUSABLE);
}

/** Real-mode load of `seg` (base = sel × 16; limit, D/B, G, DPL kept). */
export function loadReal(p: Processor, seg: number, sel: number): void {
  const s = p.state;
  const keep = s.segAr[seg] & (AR.DPL_MASK | AR.G | AR.DB | AR.AVL | AR.L);
  const type = seg === Seg.CS ? AR.CODE | AR.RW | AR.ACCESSED : AR.RW | AR.ACCESSED;
  s.segSel[seg] = sel & 0xffff;
  s.segBase[seg] = (sel & 0xffff) * 16;
  s.segAr[seg] = keep | AR.P | AR.S | type;
}

/**
 * MOV / POP / LxS semantics for ES, SS, DS, FS, GS in the current mode. Faults with the SDM
 * error codes; on success the register is loaded (the caller sets the MOV-SS shadow, and
 * modeChanged() is called here when SS.B changes).
 */
export function loadSegment(p: Processor, seg: number, sel: number): void {
  sel &= 0xffff;
  const s = p.state;
  if (p.realOrV86) {
    loadReal(p, seg, sel);
    return;
  }
  const cpl = p.cpl;
  const rpl = sel & 3;
  const err = sel & 0xfffc;
  if (seg === Seg.SS) {
    if (err === 0) {
      // Null SS: only in 64-bit mode, at CPL < 3, with RPL = CPL (SDM MOV/POP, 64-bit mode).
      if (!p.is64 || cpl === 3 || rpl !== cpl) p.fault(Vec.GP, 0);
      const oldAr = s.segAr[Seg.SS];
      setSegment(p, Seg.SS, sel, 0, 0, AR.UNUSABLE | (rpl << AR.DPL_SHIFT) | AR.S | AR.RW | AR.ACCESSED);
      if ((oldAr ^ s.segAr[Seg.SS]) & AR.DB) p.modeChanged();
      return;
    }
    if (!readDescriptor(p, sel)) p.fault(Vec.GP, err);
    const ar = D.ar;
    if (rpl !== cpl) p.fault(Vec.GP, err);
    // Must be a writable data segment with DPL = CPL.
    if ((ar & (AR.S | AR.CODE | AR.RW)) !== (AR.S | AR.RW)) p.fault(Vec.GP, err);
    if (((ar & AR.DPL_MASK) >>> AR.DPL_SHIFT) !== cpl) p.fault(Vec.GP, err);
    if ((ar & AR.P) === 0) p.fault(Vec.SS, err);
    setAccessed(p);
    const oldAr = s.segAr[Seg.SS];
    setSegment(p, Seg.SS, sel, D.base, D.limit, D.ar);
    if ((oldAr ^ D.ar) & (AR.DB | AR.UNUSABLE)) p.modeChanged();
    return;
  }
  if (err === 0) {
    loadNull(p, seg, sel);
    return;
  }
  if (!readDescriptor(p, sel)) p.fault(Vec.GP, err);
  const ar = D.ar;
  // Data, or readable code.
  if ((ar & AR.S) === 0 || (ar & (AR.CODE | AR.RW)) === AR.CODE) p.fault(Vec.GP, err);
  // Data and non-conforming code: DPL ≥ max(CPL, RPL).
  if ((ar & (AR.CODE | AR.DC)) !== (AR.CODE | AR.DC)) {
    const dpl = (ar & AR.DPL_MASK) >>> AR.DPL_SHIFT;
    if (rpl > dpl || cpl > dpl) p.fault(Vec.GP, err);
  }
  if ((ar & AR.P) === 0) p.fault(Vec.NP, err);
  setAccessed(p);
  setSegment(p, seg, sel, D.base, D.limit, D.ar);
}

/**
 * After a return to an outer privilege level (RETF, IRET): ES, DS, FS, GS that hold a data or
 * non-conforming code segment with DPL < new CPL are made null (selector 0, unusable; base and
 * limit kept). SDM RET/IRET pseudocode.
 */
export function validateDataSegments(p: Processor, newCpl: number): void {
  const s = p.state;
  for (const seg of [Seg.ES, Seg.DS, Seg.FS, Seg.GS]) {
    const ar = s.segAr[seg];
    if (ar & AR.UNUSABLE) continue;
    const conformingCode = (ar & (AR.CODE | AR.DC)) === (AR.CODE | AR.DC);
    if (!conformingCode && ((ar & AR.DPL_MASK) >>> AR.DPL_SHIFT) < newCpl) {
      s.segSel[seg] = 0;
      s.segAr[seg] = AR.UNUSABLE;
    }
  }
}

/**
 * Checks a new stack segment for a privilege change (inner-level stack from the TSS, or the
 * outer-level SS popped by RETF/IRET) and leaves its descriptor in `D` with the accessed bit set.
 * `vec`/`notPresentVec`: the faults to raise (#TS / #SS for delivery, #GP / #SS for returns);
 * `ext` is added to the error codes.
 */
export function checkStackSegment(p: Processor, sel: number, dpl: number, vec: number, ext: number): void {
  const err = (sel & 0xfffc) | ext;
  if ((sel & 0xfffc) === 0) p.fault(vec, ext);
  if (!readDescriptor(p, sel)) p.fault(vec, err);
  const ar = D.ar;
  if ((sel & 3) !== dpl) p.fault(vec, err);
  if (((ar & AR.DPL_MASK) >>> AR.DPL_SHIFT) !== dpl) p.fault(vec, err);
  if ((ar & (AR.S | AR.CODE | AR.RW)) !== (AR.S | AR.RW)) p.fault(vec, err);
  if ((ar & AR.P) === 0) p.fault(Vec.SS, err);
  setAccessed(p);
}

/** Reads a 16-byte system descriptor's 64-bit base (IA-32e) from `D`; faults #GP(err) if the upper type field is not 0 or the base is not canonical. */
function longSystemBase(p: Processor, err: number): number {
  if ((D.w3 >>> 8) & 0x1f) p.fault(Vec.GP, err);
  const base = (D.w2 | 0) * TWO32 + D.base;
  if (!isCanonical(base)) p.fault(Vec.GP, err);
  return base;
}

/** LLDT (the instruction's CPL-0 and mode checks are done by the caller). */
export function loadLdtr(p: Processor, sel: number): void {
  sel &= 0xffff;
  const err = sel & 0xfffc;
  if (err === 0) {
    loadNull(p, Seg.LDTR, sel);
    return;
  }
  if (sel & 4) p.fault(Vec.GP, err);
  const long = (p.state.efer & Efer.LMA) !== 0;
  if (!readDescriptor(p, sel, long ? 16 : 8)) p.fault(Vec.GP, err);
  if ((D.ar & (AR.S | AR.TYPE_MASK)) !== SysType.LDT) p.fault(Vec.GP, err);
  if ((D.ar & AR.P) === 0) p.fault(Vec.NP, err);
  const base = long ? longSystemBase(p, err) : D.base;
  setSegment(p, Seg.LDTR, sel, base, D.limit, D.ar);
}

/** LTR (the instruction's CPL-0 and mode checks are done by the caller). Marks the TSS busy in memory. */
export function loadTr(p: Processor, sel: number): void {
  sel &= 0xffff;
  const err = sel & 0xfffc;
  if (err === 0) p.fault(Vec.GP, 0);
  if (sel & 4) p.fault(Vec.GP, err);
  const long = (p.state.efer & Efer.LMA) !== 0;
  if (!readDescriptor(p, sel, long ? 16 : 8)) p.fault(Vec.GP, err);
  const type = D.ar & (AR.S | AR.TYPE_MASK);
  // Available TSS: 32/64-bit (9), or 16-bit (1) outside IA-32e mode.
  if (!(type === SysType.TSS_AVAIL || (!long && type === SysType.TSS16_AVAIL))) p.fault(Vec.GP, err);
  if ((D.ar & AR.P) === 0) p.fault(Vec.NP, err);
  const base = long ? longSystemBase(p, err) : D.base;
  const a = tableLinear(p, D.addr, 5);
  p.writeLinear8(a, p.readLinear8(a) | 2);
  setSegment(p, Seg.TR, sel, base, D.limit, D.ar | 2);
}
