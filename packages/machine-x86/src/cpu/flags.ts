/**
 * Lazy status flags (CF PF AF ZF SF OF).
 *
 * `state.rflags` always holds the correct value of every NON-status bit (TF IF DF IOPL NT RF VM AC
 * VIF VIP ID, bit 1). The six status flags may be *lazy*: the bits set in `lazy` are not valid in
 * `state.rflags` but are described by the last arithmetic operation recorded here (kind, size,
 * operands and result, 64-bit values as lo/hi halves). They are computed on demand.
 *
 * Rules for code outside the interpreter core (SYSTEM, MACHINE, VMX):
 * - read the full RFLAGS with `p.getRflags()` (materialises and returns it); reading
 *   `state.rflags` directly is fine for non-status bits (IF, DF, TF, VM, IOPL, …);
 * - write the full RFLAGS with `p.setRflags(v)` (drops the lazy state). Writing non-status bits of
 *   `state.rflags` directly is fine.
 */
import { CoreBase } from './fault.js';
import { Flag, STATUS_FLAGS } from './state.js';

/** Lazy flag kinds. */
export const FlagKind = { ADD: 0, SUB: 1, LOGIC: 2 } as const;

/** PARITY[b] = PF for low byte b (1 when the number of set bits is even). */
export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let n = 0;
  for (let b = i; b !== 0; b >>= 1) n += b & 1;
  PARITY[i] = n & 1 ? 0 : Flag.PF;
}

const CF = Flag.CF;
const PF = Flag.PF;
const AF = Flag.AF;
const ZF = Flag.ZF;
const SF = Flag.SF;
const OF = Flag.OF;
const ALL_BUT_CF = STATUS_FLAGS & ~CF;

export class FlagsCore extends CoreBase {
  /** Status flags whose value is described by the lazy record instead of `state.rflags`. */
  lazy = 0;
  fKind = 0;
  fSize = 32;
  /** Carry/borrow input (ADC/SBB). */
  fCin = 0;
  fRes = 0;
  fA = 0;
  fB = 0;
  fResHi = 0;
  fAHi = 0;
  fBHi = 0;

  // ------------------------------------------------------------------ recording

  /** Records ADD/ADC (cin 0/1) of size 8/16/32: a + b + cin = res (raw int32 values, bits above size ignored). */
  flagsAdd(size: number, a: number, b: number, res: number, cin: number): void {
    this.lazy = STATUS_FLAGS;
    this.fKind = FlagKind.ADD;
    this.fSize = size;
    this.fA = a;
    this.fB = b;
    this.fRes = res;
    this.fCin = cin;
  }
  flagsSub(size: number, a: number, b: number, res: number, cin: number): void {
    this.lazy = STATUS_FLAGS;
    this.fKind = FlagKind.SUB;
    this.fSize = size;
    this.fA = a;
    this.fB = b;
    this.fRes = res;
    this.fCin = cin;
  }
  flagsLogic(size: number, res: number): void {
    this.lazy = STATUS_FLAGS;
    this.fKind = FlagKind.LOGIC;
    this.fSize = size;
    this.fRes = res;
  }
  flagsAdd64(a: number, aHi: number, b: number, bHi: number, res: number, resHi: number, cin: number): void {
    this.lazy = STATUS_FLAGS;
    this.fKind = FlagKind.ADD;
    this.fSize = 64;
    this.fA = a;
    this.fAHi = aHi;
    this.fB = b;
    this.fBHi = bHi;
    this.fRes = res;
    this.fResHi = resHi;
    this.fCin = cin;
  }
  flagsSub64(a: number, aHi: number, b: number, bHi: number, res: number, resHi: number, cin: number): void {
    this.lazy = STATUS_FLAGS;
    this.fKind = FlagKind.SUB;
    this.fSize = 64;
    this.fA = a;
    this.fAHi = aHi;
    this.fB = b;
    this.fBHi = bHi;
    this.fRes = res;
    this.fResHi = resHi;
    this.fCin = cin;
  }
  flagsLogic64(res: number, resHi: number): void {
    this.lazy = STATUS_FLAGS;
    this.fKind = FlagKind.LOGIC;
    this.fSize = 64;
    this.fRes = res;
    this.fResHi = resHi;
  }
  /** INC/DEC: like ADD/SUB of 1 but CF is preserved. */
  flagsIncDec(size: number, a: number, res: number, dec: boolean, hiA: number, hiRes: number): void {
    if (this.lazy & CF) {
      // Keep the previous CF: compute it now before the record is overwritten.
      const cf = this.getCF();
      this.state.rflags = (this.state.rflags & ~CF) | cf;
    }
    this.lazy = ALL_BUT_CF;
    this.fKind = dec ? FlagKind.SUB : FlagKind.ADD;
    this.fSize = size;
    this.fA = a;
    this.fB = 1;
    this.fRes = res;
    this.fCin = 0;
    this.fAHi = hiA;
    this.fBHi = 0;
    this.fResHi = hiRes;
  }

  /** Sets the status flags in `mask` to the bits of `values` eagerly (the others keep their lazy/stored value). */
  setStatus(mask: number, values: number): void {
    this.lazy &= ~mask;
    this.state.rflags = (this.state.rflags & ~mask) | (values & mask);
  }

  // ------------------------------------------------------------------ evaluation

  getCF(): number {
    if ((this.lazy & CF) === 0) return this.state.rflags & CF;
    const kind = this.fKind;
    if (kind === FlagKind.LOGIC) return 0;
    const size = this.fSize;
    if (size === 64) {
      const rh = this.fResHi >>> 0;
      if (kind === FlagKind.ADD) {
        const ah = this.fAHi >>> 0;
        if (rh !== ah) return rh < ah ? 1 : 0;
        const r = this.fRes >>> 0;
        const a = this.fA >>> 0;
        return (this.fCin ? r <= a : r < a) ? 1 : 0;
      }
      const ah = this.fAHi >>> 0;
      const bh = this.fBHi >>> 0;
      if (ah !== bh) return ah < bh ? 1 : 0;
      const a = this.fA >>> 0;
      const b = this.fB >>> 0;
      return (this.fCin ? a <= b : a < b) ? 1 : 0;
    }
    const sh = 32 - size;
    if (kind === FlagKind.ADD) {
      const r = (this.fRes << sh) >>> 0;
      const a = (this.fA << sh) >>> 0;
      return (this.fCin ? r <= a : r < a) ? 1 : 0;
    }
    const a = (this.fA << sh) >>> 0;
    const b = (this.fB << sh) >>> 0;
    return (this.fCin ? a <= b : a < b) ? 1 : 0;
  }

  getZF(): boolean {
    if ((this.lazy & ZF) === 0) return (this.state.rflags & ZF) !== 0;
    if (this.fSize === 64) return (this.fRes | this.fResHi) === 0;
    return this.fRes << (32 - this.fSize) === 0;
  }

  getSF(): boolean {
    if ((this.lazy & SF) === 0) return (this.state.rflags & SF) !== 0;
    if (this.fSize === 64) return this.fResHi < 0;
    return ((this.fRes >>> (this.fSize - 1)) & 1) !== 0;
  }

  getOF(): boolean {
    if ((this.lazy & OF) === 0) return (this.state.rflags & OF) !== 0;
    const kind = this.fKind;
    if (kind === FlagKind.LOGIC) return false;
    let x: number;
    if (this.fSize === 64) {
      const a = this.fAHi;
      const b = this.fBHi;
      const r = this.fResHi;
      x = kind === FlagKind.ADD ? (a ^ r) & (b ^ r) : (a ^ b) & (a ^ r);
      return x < 0;
    }
    const a = this.fA;
    const b = this.fB;
    const r = this.fRes;
    x = kind === FlagKind.ADD ? (a ^ r) & (b ^ r) : (a ^ b) & (a ^ r);
    return ((x >>> (this.fSize - 1)) & 1) !== 0;
  }

  getPF(): boolean {
    if ((this.lazy & PF) === 0) return (this.state.rflags & PF) !== 0;
    return PARITY[this.fRes & 0xff] !== 0;
  }

  getAF(): boolean {
    if ((this.lazy & AF) === 0) return (this.state.rflags & AF) !== 0;
    if (this.fKind === FlagKind.LOGIC) return false;
    return ((this.fA ^ this.fB ^ this.fRes) & 0x10) !== 0;
  }

  /** Writes the lazy flags into `state.rflags` (lazy becomes 0). */
  materializeFlags(): void {
    const lazy = this.lazy;
    if (lazy === 0) return;
    let f = this.state.rflags & ~lazy;
    if (lazy & CF) f |= this.getCF();
    if (lazy & PF && this.getPF()) f |= PF;
    if (lazy & AF && this.getAF()) f |= AF;
    if (lazy & ZF && this.getZF()) f |= ZF;
    if (lazy & SF && this.getSF()) f |= SF;
    if (lazy & OF && this.getOF()) f |= OF;
    this.state.rflags = f;
    this.lazy = 0;
  }

  /** The full RFLAGS (bits 31:0), status flags materialised. */
  getRflags(): number {
    if (this.lazy !== 0) this.materializeFlags();
    return this.state.rflags;
  }

  /** Replaces RFLAGS (the caller keeps bit 1 set and reserved bits clear). */
  setRflags(v: number): void {
    this.lazy = 0;
    this.state.rflags = v;
  }

  /** Condition code 0..15 (Cond): O NO B AE E NE BE A S NS P NP L GE LE G. */
  cond(cc: number): boolean {
    let r: boolean;
    switch (cc >> 1) {
      case 0:
        r = this.getOF();
        break;
      case 1:
        r = this.getCF() !== 0;
        break;
      case 2:
        r = this.getZF();
        break;
      case 3:
        r = this.getCF() !== 0 || this.getZF();
        break;
      case 4:
        r = this.getSF();
        break;
      case 5:
        r = this.getPF();
        break;
      case 6:
        r = this.getSF() !== this.getOF();
        break;
      default:
        r = this.getZF() || this.getSF() !== this.getOF();
        break;
    }
    return (cc & 1) === 0 ? r : !r;
  }
}
