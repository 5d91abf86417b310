/**
 * Integer arithmetic and logic (SDM Vol. 2 instruction pages): ADD…CMP/TEST, INC/DEC/NEG/NOT,
 * MUL/IMUL/DIV/IDIV, shifts and rotates, SHLD/SHRD, BT*, BSF/BSR, SETcc/CMOVcc, CBW/CWD families,
 * XADD/CMPXCHG/CMPXCHG8B/16B, BSWAP, LAHF/SAHF.
 *
 * Values of 8/16/32-bit operands are handled as JS int32 (bits above the operand size ignored);
 * 64-bit operands as (lo, hi) int32 halves. Memory destinations are read-modify-write: the linear
 * address is checked for writing first, the result is written, and only then flags/registers are
 * committed (see fault.ts).
 *
 * Undefined-flag choices (documented in the package README): logic ops clear AF; MUL/IMUL set
 * SF/ZF/PF from the low half of the result and clear AF; shifts clear AF and compute OF with the
 * count-1 formulas for every count (SHL: MSB(result) XOR CF; SHR: MSB(result) XOR bit(size-2) of
 * the result; SAR: 0); rotates compute OF with the 1-bit formula for every count; DIV/IDIV leave the
 * flags unchanged; BT* leave OF/SF/AF/PF unchanged; BSF/BSR leave the destination and
 * CF/OF/SF/AF/PF unchanged (ZF=1) for a zero source, and clear CF/OF/SF/AF and set PF from the
 * result otherwise … see README for the exact list.
 */
import { Form, Op } from '@latelaunch/x86-isa';
import type { CachedInsn, Processor } from './processor.js';
import { PARITY } from './flags.js';
import { Flag, STATUS_FLAGS, Vec } from './state.js';

const TWO32 = 4294967296;
const CF = Flag.CF;
const PF = Flag.PF;
const AF = Flag.AF;
const ZF = Flag.ZF;
const SF = Flag.SF;
const OF = Flag.OF;
const SZP = SF | ZF | PF;

/** SF|ZF|PF of `r` at `size` bits (size ≤ 32). */
function szp(r: number, size: number): number {
  let f = PARITY[r & 0xff];
  if (r << (32 - size) === 0) f |= ZF;
  if ((r >>> (size - 1)) & 1) f |= SF;
  return f;
}
function szp64(lo: number, hi: number): number {
  let f = PARITY[lo & 0xff];
  if ((lo | hi) === 0) f |= ZF;
  if (hi < 0) f |= SF;
  return f;
}
function maskOf(size: number): number {
  return size === 8 ? 0xff : size === 16 ? 0xffff : -1;
}

// ====================================================================== ADD … CMP, TEST

export function alu(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  const op = i.op;
  const writes = op !== Op.CMP && op !== Op.TEST;
  let a: number;
  let aHi = 0;
  let b: number;
  let bHi = 0;
  let lin = 0;
  let dst = -1; // register destination, or -1 for memory
  if (i.form === Form.G_E) {
    b = p.readE(i, size);
    bHi = p.rhi;
    a = p.getReg(i.reg, size);
    aHi = p.rhi;
    dst = i.reg;
  } else {
    if (i.form === Form.E_I) {
      b = i.imm | 0;
      bHi = i.immHi | 0;
    } else {
      b = p.getReg(i.reg, size);
      bHi = p.rhi;
    }
    if (i.isMem) {
      lin = p.memLinear(i, size >>> 3, writes);
      a = p.readLin(lin, size);
      aHi = p.rhi;
    } else {
      a = p.getReg(i.rm, size);
      aHi = p.rhi;
      dst = i.rm;
    }
  }
  if (size !== 64) {
    let r: number;
    let cin = 0;
    switch (op) {
      case Op.ADD:
        r = (a + b) | 0;
        break;
      case Op.ADC:
        cin = p.getCF();
        r = (a + b + cin) | 0;
        break;
      case Op.SUB:
      case Op.CMP:
        r = (a - b) | 0;
        break;
      case Op.SBB:
        cin = p.getCF();
        r = (a - b - cin) | 0;
        break;
      case Op.OR:
        r = a | b;
        break;
      case Op.XOR:
        r = a ^ b;
        break;
      default: // AND, TEST
        r = a & b;
        break;
    }
    if (writes) {
      if (dst < 0) p.writeLin(lin, size, r, 0);
      else p.setReg(dst, size, r, 0);
    }
    switch (op) {
      case Op.ADD:
      case Op.ADC:
        p.flagsAdd(size, a, b, r, cin);
        return;
      case Op.SUB:
      case Op.CMP:
      case Op.SBB:
        p.flagsSub(size, a, b, r, cin);
        return;
      default:
        p.flagsLogic(size, r);
        return;
    }
  }
  // 64-bit
  let lo: number;
  let hi: number;
  let cin = 0;
  switch (op) {
    case Op.ADC:
    case Op.ADD: {
      if (op === Op.ADC) cin = p.getCF();
      const l = (a >>> 0) + (b >>> 0) + cin;
      lo = l | 0;
      hi = (aHi + bHi + (l >= TWO32 ? 1 : 0)) | 0;
      break;
    }
    case Op.SBB:
    case Op.SUB:
    case Op.CMP: {
      if (op === Op.SBB) cin = p.getCF();
      const l = (a >>> 0) - (b >>> 0) - cin;
      lo = l | 0;
      hi = (aHi - bHi - (l < 0 ? 1 : 0)) | 0;
      break;
    }
    case Op.OR:
      lo = a | b;
      hi = aHi | bHi;
      break;
    case Op.XOR:
      lo = a ^ b;
      hi = aHi ^ bHi;
      break;
    default:
      lo = a & b;
      hi = aHi & bHi;
      break;
  }
  if (writes) {
    if (dst < 0) p.lwrite64(lin, lo, hi);
    else p.setReg64(dst, lo, hi);
  }
  switch (op) {
    case Op.ADD:
    case Op.ADC:
      p.flagsAdd64(a, aHi, b, bHi, lo, hi, cin);
      return;
    case Op.SUB:
    case Op.CMP:
    case Op.SBB:
      p.flagsSub64(a, aHi, b, bHi, lo, hi, cin);
      return;
    default:
      p.flagsLogic64(lo, hi);
      return;
  }
}

// ====================================================================== INC DEC NEG NOT

export function incDec(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  const dec = i.op === Op.DEC;
  const a = p.readEForWrite(i, size);
  const lin = p.eLin;
  const aHi = p.rhi;
  const r = dec ? (a - 1) | 0 : (a + 1) | 0;
  let rHi = 0;
  if (size === 64) rHi = dec ? (a === 0 ? (aHi - 1) | 0 : aHi) : r === 0 ? (aHi + 1) | 0 : aHi;
  if (i.isMem) p.writeLin(lin, size, r, rHi);
  else p.setReg(i.rm, size, r, rHi);
  p.flagsIncDec(size, a, r, dec, size === 64 ? aHi : 0, rHi);
}

export function negNot(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  const a = p.readEForWrite(i, size);
  const lin = p.eLin;
  const aHi = size === 64 ? p.rhi : 0;
  let r: number;
  let rHi = 0;
  if (i.op === Op.NOT) {
    r = ~a;
    rHi = ~aHi;
  } else {
    r = -a | 0;
    if (size === 64) rHi = (-aHi - (a !== 0 ? 1 : 0)) | 0;
  }
  if (i.isMem) p.writeLin(lin, size, r, rHi);
  else p.setReg(i.rm, size, r, rHi);
  if (i.op === Op.NEG) {
    if (size === 64) p.flagsSub64(0, 0, a, aHi, r, rHi, 0);
    else p.flagsSub(size, 0, a, r, 0);
  }
}

// ====================================================================== MUL IMUL

/** Unsigned 32×32 → 64: low half returned (int32), high half in mulHi. */
let mulHi = 0;
function mulu32(a: number, b: number): number {
  a >>>= 0;
  b >>>= 0;
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const ll = al * bl;
  const lh = al * bh;
  const hl = ah * bl;
  const hh = ah * bh;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  mulHi = (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) | 0;
  return ((mid << 16) | (ll & 0xffff)) | 0;
}
/** Signed 32×32 → 64. */
function muls32(a: number, b: number): number {
  const lo = mulu32(a, b);
  let hi = mulHi;
  if (a < 0) hi = (hi - b) | 0;
  if (b < 0) hi = (hi - a) | 0;
  mulHi = hi;
  return lo;
}

function big64(lo: number, hi: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo >>> 0);
}
function bigU64(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
function lo32(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}
function hi32(v: bigint): number {
  return Number(BigInt.asIntN(32, v >> 32n));
}

/** Flags of MUL/IMUL: CF=OF=overflow; SF/ZF/PF from the low-half result (size bits); AF=0. */
function mulFlags(p: Processor, overflow: boolean, r: number, rHi: number, size: number): void {
  let f = size === 64 ? szp64(r, rHi) : szp(r, size);
  if (overflow) f |= CF | OF;
  p.setStatus(STATUS_FLAGS, f);
}

export function mul(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  const signed = i.op === Op.IMUL;
  if (i.form !== Form.E) {
    // IMUL r, r/m [, imm]: truncated signed product.
    const b = p.readE(i, size);
    const bHi = p.rhi;
    let a: number;
    let aHi = 0;
    if (i.form === Form.G_E_I) {
      a = i.imm | 0;
      aHi = i.immHi | 0;
    } else {
      a = p.getReg(i.reg, size);
      aHi = p.rhi;
    }
    if (size === 64) {
      const prod = big64(a, aHi) * big64(b, bHi);
      const t = BigInt.asIntN(64, prod);
      const lo = lo32(t);
      const hi = hi32(t);
      p.setReg64(i.reg, lo, hi);
      mulFlags(p, t !== prod, lo, hi, 64);
      return;
    }
    if (size === 32) {
      const lo = muls32(a, b);
      const hi = mulHi;
      p.setReg32(i.reg, lo);
      mulFlags(p, hi !== lo >> 31, lo, 0, 32);
      return;
    }
    const sa = size === 16 ? (a << 16) >> 16 : (a << 24) >> 24;
    const sb = size === 16 ? (b << 16) >> 16 : (b << 24) >> 24;
    const prod = sa * sb;
    const r = (prod << 16) >> 16;
    p.setReg16(i.reg, r);
    mulFlags(p, r !== prod, r, 0, 16);
    return;
  }
  // One-operand forms: rDX:rAX = rAX * r/m
  const src = p.readE(i, size);
  const srcHi = p.rhi;
  switch (size) {
    case 8: {
      const al = p.lo[0] & 0xff;
      const prod = signed ? ((al << 24) >> 24) * ((src << 24) >> 24) : al * (src & 0xff);
      p.setReg16(0, prod);
      const ov = signed ? prod !== (prod << 24) >> 24 : (prod & 0xff00) !== 0;
      mulFlags(p, ov, prod, 0, 8);
      return;
    }
    case 16: {
      const ax = p.lo[0] & 0xffff;
      const prod = signed ? ((ax << 16) >> 16) * ((src << 16) >> 16) : ax * (src & 0xffff);
      p.setReg16(0, prod);
      p.setReg16(2, prod >> 16);
      const ov = signed ? prod !== (prod << 16) >> 16 : (prod & 0xffff0000) !== 0;
      mulFlags(p, ov, prod, 0, 16);
      return;
    }
    case 32: {
      const lo = signed ? muls32(p.lo[0], src) : mulu32(p.lo[0], src);
      const hi = mulHi;
      p.setReg32(0, lo);
      p.setReg32(2, hi);
      mulFlags(p, signed ? hi !== lo >> 31 : hi !== 0, lo, 0, 32);
      return;
    }
    default: {
      const a = signed ? big64(p.lo[0], p.hi[0]) : bigU64(p.lo[0], p.hi[0]);
      const b = signed ? big64(src, srcHi) : bigU64(src, srcHi);
      const prod = a * b;
      const lo = lo32(prod);
      const hi = hi32(prod);
      const up = BigInt.asIntN(64, prod >> 64n);
      p.setReg64(0, lo, hi);
      p.setReg64(2, lo32(up), hi32(up));
      const ov = signed ? BigInt.asIntN(64, prod) !== prod : prod >> 64n !== 0n;
      mulFlags(p, ov, lo, hi, 64);
      return;
    }
  }
}

// ====================================================================== DIV IDIV

export function div(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  const signed = i.op === Op.IDIV;
  const src = p.readE(i, size);
  const srcHi = p.rhi;
  switch (size) {
    case 8: {
      const d = signed ? (src << 24) >> 24 : src & 0xff;
      if (d === 0) p.fault(Vec.DE);
      const n = signed ? (p.lo[0] << 16) >> 16 : p.lo[0] & 0xffff;
      const q = Math.trunc(n / d);
      const r = n - q * d;
      if (signed ? q > 127 || q < -128 : q > 0xff) p.fault(Vec.DE);
      p.setReg16(0, (q & 0xff) | ((r & 0xff) << 8));
      return;
    }
    case 16: {
      const d = signed ? (src << 16) >> 16 : src & 0xffff;
      if (d === 0) p.fault(Vec.DE);
      const n = signed ? ((p.lo[2] << 16) | (p.lo[0] & 0xffff)) : ((p.lo[2] & 0xffff) * 65536 + (p.lo[0] & 0xffff));
      const q = Math.trunc(n / d);
      const r = n - q * d;
      if (signed ? q > 32767 || q < -32768 : q > 0xffff) p.fault(Vec.DE);
      p.setReg16(0, q);
      p.setReg16(2, r);
      return;
    }
    case 32: {
      if (src === 0) p.fault(Vec.DE);
      const edx = p.lo[2];
      const eax = p.lo[0];
      if (!signed) {
        if (edx === 0) {
          const n = eax >>> 0;
          const d = src >>> 0;
          const q = Math.floor(n / d);
          p.setReg32(0, q | 0);
          p.setReg32(2, (n - q * d) | 0);
          return;
        }
        const n = bigU64(eax, edx);
        const d = BigInt(src >>> 0);
        const q = n / d;
        if (q > 0xffffffffn) p.fault(Vec.DE);
        p.setReg32(0, Number(q) | 0);
        p.setReg32(2, Number(n % d) | 0);
        return;
      }
      if (edx === eax >> 31) {
        // Dividend fits in 32 bits: exact in doubles.
        const q = Math.trunc(eax / src);
        if (q > 0x7fffffff) p.fault(Vec.DE); // -2^31 / -1
        p.setReg32(0, q | 0);
        p.setReg32(2, (eax - q * src) | 0);
        return;
      }
      const n = big64(eax, edx);
      const d = BigInt(src);
      const q = n / d;
      if (q > 0x7fffffffn || q < -0x80000000n) p.fault(Vec.DE);
      p.setReg32(0, Number(q) | 0);
      p.setReg32(2, Number(n % d) | 0);
      return;
    }
    default: {
      if ((src | srcHi) === 0) p.fault(Vec.DE);
      let n: bigint;
      let d: bigint;
      if (signed) {
        n = (big64(p.lo[2], p.hi[2]) << 64n) | bigU64(p.lo[0], p.hi[0]);
        d = big64(src, srcHi);
      } else {
        n = (bigU64(p.lo[2], p.hi[2]) << 64n) | bigU64(p.lo[0], p.hi[0]);
        d = bigU64(src, srcHi);
      }
      const q = n / d;
      const r = n % d;
      if (signed ? q > 0x7fffffffffffffffn || q < -0x8000000000000000n : q > 0xffffffffffffffffn) p.fault(Vec.DE);
      p.setReg64(0, lo32(q), hi32(q));
      p.setReg64(2, lo32(r), hi32(r));
      return;
    }
  }
}

// ====================================================================== shifts and rotates

/** 64-bit shift helpers on halves: results in s64lo / s64hi. */
let s64lo = 0;
let s64hi = 0;
function shl64(lo: number, hi: number, c: number): void {
  if (c === 0) {
    s64lo = lo;
    s64hi = hi;
  } else if (c < 32) {
    s64hi = (hi << c) | (lo >>> (32 - c));
    s64lo = lo << c;
  } else {
    s64hi = c === 32 ? lo : lo << (c - 32);
    s64lo = 0;
    if (c >= 64) s64hi = 0;
  }
}
function shr64(lo: number, hi: number, c: number): void {
  if (c === 0) {
    s64lo = lo;
    s64hi = hi;
  } else if (c < 32) {
    s64lo = (lo >>> c) | (hi << (32 - c));
    s64hi = hi >>> c;
  } else {
    s64lo = c === 32 ? hi : hi >>> (c - 32);
    s64hi = 0;
    if (c >= 64) s64lo = 0;
  }
  s64lo |= 0;
  s64hi |= 0;
}
function sar64(lo: number, hi: number, c: number): void {
  if (c === 0) {
    s64lo = lo;
    s64hi = hi;
  } else if (c < 32) {
    s64lo = (lo >>> c) | (hi << (32 - c));
    s64hi = hi >> c;
  } else {
    s64lo = hi >> (c >= 63 ? 31 : c - 32);
    s64hi = hi >> 31;
  }
}
/** Bit `n` (0..63) of a 64-bit value. */
function bit64(lo: number, hi: number, n: number): number {
  return n < 32 ? (lo >>> n) & 1 : (hi >>> (n - 32)) & 1;
}

function shiftCount(p: Processor, i: CachedInsn): number {
  const raw = i.form === Form.E_1 ? 1 : i.form === Form.E_CL ? p.lo[1] & 0xff : i.imm;
  return raw & (i.opSize === 64 ? 0x3f : 0x1f);
}

export function shift(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  const c = shiftCount(p, i);
  const a = p.readEForWrite(i, size);
  const lin = p.eLin;
  const aHi = size === 64 ? p.rhi : 0;
  if (c === 0) {
    // No flags and no change, but a 32-bit register destination is still written (bits 63:32 cleared).
    if (size === 32 && !i.isMem) p.hi[i.rm] = 0;
    return;
  }
  let r = 0;
  let rHi = 0;
  let f: number; // new status flags
  let mask: number; // which status flags are written
  const op = i.op;
  if (size === 64) {
    switch (op) {
      case Op.SHL: {
        shl64(a, aHi, c);
        r = s64lo;
        rHi = s64hi;
        const cf = bit64(a, aHi, 64 - c);
        f = szp64(r, rHi) | cf | ((rHi >>> 31) ^ cf ? OF : 0);
        mask = STATUS_FLAGS;
        break;
      }
      case Op.SHR: {
        shr64(a, aHi, c);
        r = s64lo;
        rHi = s64hi;
        const cf = bit64(a, aHi, c - 1);
        f = szp64(r, rHi) | cf | (((rHi >>> 31) ^ ((rHi >>> 30) & 1)) !== 0 ? OF : 0);
        mask = STATUS_FLAGS;
        break;
      }
      case Op.SAR: {
        sar64(a, aHi, c);
        r = s64lo;
        rHi = s64hi;
        f = szp64(r, rHi) | bit64(a, aHi, c - 1);
        mask = STATUS_FLAGS;
        break;
      }
      case Op.ROL:
      case Op.ROR: {
        const k = op === Op.ROL ? c : 64 - c;
        shl64(a, aHi, k);
        const l1 = s64lo;
        const h1 = s64hi;
        shr64(a, aHi, 64 - k);
        r = l1 | s64lo;
        rHi = h1 | s64hi;
        if (op === Op.ROL) {
          const cf = r & 1;
          f = cf | ((rHi >>> 31) ^ cf ? OF : 0);
        } else {
          const cf = rHi >>> 31;
          f = cf | ((rHi >>> 31) ^ ((rHi >>> 30) & 1) ? OF : 0);
        }
        mask = CF | OF;
        break;
      }
      default: {
        // RCL / RCR through CF, one bit at a time.
        let cf = p.getCF();
        r = a;
        rHi = aHi;
        for (let k = 0; k < c; k++) {
          if (op === Op.RCL) {
            const out = rHi >>> 31;
            rHi = (rHi << 1) | (r >>> 31);
            r = (r << 1) | cf;
            cf = out;
          } else {
            const out = r & 1;
            r = (r >>> 1) | (rHi << 31);
            rHi = (rHi >>> 1) | (cf << 31);
            cf = out;
          }
        }
        if (op === Op.RCL) f = cf | ((rHi >>> 31) ^ cf ? OF : 0);
        else f = cf | ((rHi >>> 31) ^ ((rHi >>> 30) & 1) ? OF : 0);
        mask = CF | OF;
        break;
      }
    }
  } else {
    const m = maskOf(size);
    const ua = a & m;
    const msb = size - 1;
    switch (op) {
      case Op.SHL: {
        r = c >= size ? 0 : (ua << c) & m;
        const cf = c <= size ? (ua >>> (size - c)) & 1 : 0;
        f = szp(r, size) | cf | (((r >>> msb) & 1) ^ cf ? OF : 0);
        mask = STATUS_FLAGS;
        break;
      }
      case Op.SHR: {
        r = c >= size ? 0 : ua >>> c;
        const cf = c <= size ? (ua >>> (c - 1)) & 1 : 0;
        f = szp(r, size) | cf | ((((r >>> msb) ^ (r >>> (msb - 1))) & 1) !== 0 ? OF : 0);
        mask = STATUS_FLAGS;
        break;
      }
      case Op.SAR: {
        const sa = (ua << (32 - size)) >> (32 - size);
        r = (sa >> (c >= size ? size - 1 : c)) & m;
        const cf = (sa >> (c > size ? size - 1 : c - 1)) & 1;
        f = szp(r, size) | cf;
        mask = STATUS_FLAGS;
        break;
      }
      case Op.ROL:
      case Op.ROR: {
        const k = c & (size - 1);
        if (op === Op.ROL) {
          r = k === 0 ? ua : ((ua << k) | (ua >>> (size - k))) & m;
          const cf = r & 1;
          f = cf | (((r >>> msb) & 1) ^ cf ? OF : 0);
        } else {
          r = k === 0 ? ua : ((ua >>> k) | (ua << (size - k))) & m;
          const cf = (r >>> msb) & 1;
          f = cf | ((((r >>> msb) ^ (r >>> (msb - 1))) & 1) !== 0 ? OF : 0);
        }
        mask = CF | OF;
        break;
      }
      default: {
        // RCL / RCR: rotate through CF over size+1 bits.
        const k = size === 32 ? c : c % (size + 1);
        let cf = p.getCF();
        r = ua;
        for (let j = 0; j < k; j++) {
          if (op === Op.RCL) {
            const out = (r >>> msb) & 1;
            r = ((r << 1) | cf) & m;
            cf = out;
          } else {
            const out = r & 1;
            r = (r >>> 1) | (cf << msb);
            cf = out;
          }
        }
        if (op === Op.RCL) f = cf | (((r >>> msb) & 1) ^ cf ? OF : 0);
        else f = cf | ((((r >>> msb) ^ (r >>> (msb - 1))) & 1) !== 0 ? OF : 0);
        mask = CF | OF;
        break;
      }
    }
  }
  if (i.isMem) p.writeLin(lin, size, r, rHi);
  else p.setReg(i.rm, size, r, rHi);
  p.setStatus(mask, f);
}

export function shiftDouble(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  const c = (i.form === Form.E_G_CL ? p.lo[1] : i.imm) & (size === 64 ? 0x3f : 0x1f);
  const a = p.readEForWrite(i, size);
  const lin = p.eLin;
  const aHi = size === 64 ? p.rhi : 0;
  const b = p.getReg(i.reg, size);
  const bHi = size === 64 ? p.rhi : 0;
  if (c === 0) {
    if (size === 32 && !i.isMem) p.hi[i.rm] = 0;
    return;
  }
  const left = i.op === Op.SHLD;
  let r: number;
  let rHi = 0;
  let cf: number;
  let f: number;
  if (size === 64) {
    if (left) {
      shl64(a, aHi, c);
      const l1 = s64lo;
      const h1 = s64hi;
      shr64(b, bHi, 64 - c);
      r = l1 | s64lo;
      rHi = h1 | s64hi;
      cf = bit64(a, aHi, 64 - c);
    } else {
      shr64(a, aHi, c);
      const l1 = s64lo;
      const h1 = s64hi;
      shl64(b, bHi, 64 - c);
      r = l1 | s64lo;
      rHi = h1 | s64hi;
      cf = bit64(a, aHi, c - 1);
    }
    f = szp64(r, rHi) | cf | ((rHi ^ aHi) < 0 ? OF : 0);
  } else if (size === 32) {
    if (left) {
      r = (a << c) | (b >>> (32 - c));
      cf = (a >>> (32 - c)) & 1;
    } else {
      r = (a >>> c) | (b << (32 - c));
      cf = (a >>> (c - 1)) & 1;
    }
    f = szp(r, 32) | cf | ((r ^ a) < 0 ? OF : 0);
  } else {
    // 16-bit: counts 17..31 shift through the 48-bit pattern dest:src:dest (Intel; result undefined by the SDM).
    const ua = a & 0xffff;
    const ub = b & 0xffff;
    if (left) {
      const w = ua * TWO32 + ub * 65536 + ua; // bits 47..0
      r = Math.floor(w / 2 ** (32 - c)) & 0xffff;
      cf = Math.floor(w / 2 ** (48 - c)) & 1;
    } else {
      const w = ua * TWO32 + ub * 65536 + ua; // dest in bits 15..0, src 31..16, dest 47..32
      r = Math.floor(w / 2 ** c) & 0xffff;
      cf = Math.floor(w / 2 ** (c - 1)) & 1;
    }
    f = szp(r, 16) | cf | (((r ^ ua) & 0x8000) !== 0 ? OF : 0);
  }
  if (i.isMem) p.writeLin(lin, size, r, rHi);
  else p.setReg(i.rm, size, r, rHi);
  p.setStatus(STATUS_FLAGS, f);
}

// ====================================================================== BT BTS BTR BTC, BSF BSR

export function bitTest(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  const op = i.op;
  let bitoff: number;
  let lin = 0;
  let a: number;
  let aHi = 0;
  if (i.form === Form.E_I) bitoff = i.imm & (size - 1);
  else {
    // Register bit offset: signed, may address memory outside the operand.
    const r = p.getReg(i.reg, size);
    const rHi = p.rhi;
    bitoff = r & (size - 1);
    if (i.isMem) {
      let disp: number; // byte displacement = (offset >> log2(size)) * (size / 8)
      if (size === 16) disp = ((r << 16) >> 16 >> 4) * 2;
      else if (size === 32) disp = (r >> 5) * 4;
      else disp = Math.floor((rHi * TWO32 + (r >>> 0)) / 64) * 8;
      lin = bitLinear(p, i, size, op !== Op.BT, disp);
    }
  }
  if (i.isMem) {
    if (i.form === Form.E_I) lin = p.memLinear(i, size >>> 3, op !== Op.BT);
    a = p.readLin(lin, size);
    aHi = p.rhi;
  } else {
    a = p.getReg(i.rm, size);
    aHi = p.rhi;
  }
  const cf = size === 64 ? bit64(a, aHi, bitoff) : (a >>> bitoff) & 1;
  if (op !== Op.BT) {
    let r = a;
    let rHi = aHi;
    const m = bitoff < 32 ? 1 << bitoff : 0;
    const mh = bitoff >= 32 ? 1 << (bitoff - 32) : 0;
    if (op === Op.BTS) {
      r |= m;
      rHi |= mh;
    } else if (op === Op.BTR) {
      r &= ~m;
      rHi &= ~mh;
    } else {
      r ^= m;
      rHi ^= mh;
    }
    if (i.isMem) p.writeLin(lin, size, r, rHi);
    else p.setReg(i.rm, size, r, rHi);
  }
  p.setStatus(CF, cf);
}

/** Linear address of a BT* memory operand displaced by `disp` bytes (register bit offset). */
function bitLinear(p: Processor, i: CachedInsn, size: number, write: boolean, disp: number): number {
  if (p.is64) {
    const base = i.addrSize === 64 ? p.ea64(i) : p.ea64(i);
    return p.linear64(i.segment, base + disp);
  }
  const off = p.eaOffset(i) + disp;
  const wrapped = i.addrSize === 16 ? off & 0xffff : off >>> 0;
  return p.segLinear(i.segment, wrapped, size >>> 3, write);
}

export function bitScan(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  const v = p.readE(i, size);
  const vHi = size === 64 ? p.rhi : 0;
  const m = maskOf(size);
  const lo = size === 64 ? v : v & m;
  if ((lo | vHi) === 0) {
    p.setStatus(ZF, ZF);
    return;
  }
  let idx: number;
  if (i.op === Op.BSF) {
    if (lo !== 0) idx = 31 - Math.clz32(lo & -lo);
    else idx = 32 + 31 - Math.clz32(vHi & -vHi);
  } else if (vHi !== 0) idx = 32 + 31 - Math.clz32(vHi);
  else idx = 31 - Math.clz32(lo);
  p.setReg(i.reg, size, idx, 0);
  p.setStatus(STATUS_FLAGS, PARITY[idx]);
}

// ====================================================================== SETcc CMOVcc

export function setcc(p: Processor, i: CachedInsn): void {
  const v = p.cond(i.cc) ? 1 : 0;
  if (i.isMem) p.lwrite8(p.memLinear(i, 1, true), v);
  else p.setReg8(i.rm, v);
}

export function cmovcc(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  const v = p.readE(i, size); // the source is read (and may fault) whatever the condition
  const vHi = p.rhi;
  if (p.cond(i.cc)) p.setReg(i.reg, size, v, vHi);
  else if (size === 32) p.hi[i.reg] = 0; // 32-bit CMOV clears bits 63:32 even when false (64-bit mode)
}

// ====================================================================== CBW family, CWD family

export function cbw(p: Processor, i: CachedInsn): void {
  const lo = p.lo;
  if (i.opSize === 16) p.setReg16(0, (lo[0] << 24) >> 24);
  else if (i.opSize === 32) p.setReg32(0, (lo[0] << 16) >> 16);
  else p.setReg64(0, lo[0], lo[0] >> 31);
}

export function cwd(p: Processor, i: CachedInsn): void {
  const lo = p.lo;
  if (i.opSize === 16) p.setReg16(2, (lo[0] << 16) >> 31);
  else if (i.opSize === 32) p.setReg32(2, lo[0] >> 31);
  else {
    const s = p.hi[0] >> 31;
    p.setReg64(2, s, s);
  }
}

// ====================================================================== XADD CMPXCHG CMPXCHG8B/16B

export function xadd(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  const a = p.readEForWrite(i, size);
  const lin = p.eLin;
  const aHi = p.rhi;
  const b = p.getReg(i.reg, size);
  const bHi = p.rhi;
  if (size === 64) {
    const l = (a >>> 0) + (b >>> 0);
    const lo = l | 0;
    const hi = (aHi + bHi + (l >= TWO32 ? 1 : 0)) | 0;
    if (i.isMem) p.lwrite64(lin, lo, hi);
    p.setReg64(i.reg, a, aHi);
    if (!i.isMem) p.setReg64(i.rm, lo, hi);
    p.flagsAdd64(a, aHi, b, bHi, lo, hi, 0);
    return;
  }
  const r = (a + b) | 0;
  if (i.isMem) p.writeLin(lin, size, r, 0);
  p.setReg(i.reg, size, a, 0);
  if (!i.isMem) p.setReg(i.rm, size, r, 0);
  p.flagsAdd(size, a, b, r, 0);
}

export function cmpxchg(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  const d = p.readEForWrite(i, size);
  const lin = p.eLin;
  const dHi = size === 64 ? p.rhi : 0;
  const acc = p.getReg(0, size);
  const accHi = size === 64 ? p.rhi : 0;
  let equal: boolean;
  if (size === 64) equal = acc === d && accHi === dHi;
  else {
    const m = maskOf(size);
    equal = (acc & m) === (d & m);
  }
  if (equal) {
    const s = p.getReg(i.reg, size);
    const sHi = p.rhi;
    if (i.isMem) p.writeLin(lin, size, s, sHi);
    else p.setReg(i.rm, size, s, sHi);
  } else {
    if (i.isMem) p.writeLin(lin, size, d, dHi); // the destination is always written back
    p.setReg(0, size, d, dHi);
  }
  if (size === 64) {
    const l = (acc >>> 0) - (d >>> 0);
    p.flagsSub64(acc, accHi, d, dHi, l | 0, (accHi - dHi - (l < 0 ? 1 : 0)) | 0, 0);
  } else p.flagsSub(size, acc, d, (acc - d) | 0, 0);
}

export function cmpxchg8b(p: Processor, i: CachedInsn): void {
  if (!i.isMem) p.fault(Vec.UD);
  const lo = p.lo;
  const hi = p.hi;
  if (i.opSize === 64) {
    // CMPXCHG16B: 16-byte aligned operand, RDX:RAX vs m128.
    const lin = p.memLinear(i, 16, true);
    if ((lin & 15) !== 0) p.fault(Vec.GP, 0);
    p.probeWrite(lin, 16);
    const m0 = p.lread32(lin);
    const m1 = p.lread32(lin + 4);
    const m2 = p.lread32(lin + 8);
    const m3 = p.lread32(lin + 12);
    if (m0 === lo[0] && m1 === hi[0] && m2 === lo[2] && m3 === hi[2]) {
      p.lwrite64(lin, lo[3], hi[3]);
      p.lwrite64(lin + 8, lo[1], hi[1]);
      p.setStatus(ZF, ZF);
    } else {
      p.lwrite64(lin, m0, m1);
      p.lwrite64(lin + 8, m2, m3);
      p.setReg64(0, m0, m1);
      p.setReg64(2, m2, m3);
      p.setStatus(ZF, 0);
    }
    return;
  }
  const lin = p.memLinear(i, 8, true);
  p.probeWrite(lin, 8);
  const m0 = p.lread32(lin);
  const m1 = p.lread32(lin + 4);
  if (m0 === lo[0] && m1 === lo[2]) {
    p.lwrite64(lin, lo[3], lo[1]);
    p.setStatus(ZF, ZF);
  } else {
    p.lwrite64(lin, m0, m1);
    p.setReg32(0, m0);
    p.setReg32(2, m1);
    p.setStatus(ZF, 0);
  }
}

// ====================================================================== BSWAP LAHF SAHF

function bswap32(v: number): number {
  return ((v >>> 24) | ((v >>> 8) & 0xff00) | ((v & 0xff00) << 8) | (v << 24)) | 0;
}

export function bswap(p: Processor, i: CachedInsn): void {
  const r = i.rm;
  if (i.opSize === 64) p.setReg64(r, bswap32(p.hi[r]), bswap32(p.lo[r]));
  else if (i.opSize === 32) p.setReg32(r, bswap32(p.lo[r]));
  else p.setReg16(r, 0); // 16-bit BSWAP: undefined by the SDM; Intel hardware clears the low word
}

export function lahf(p: Processor): void {
  const f = p.getRflags();
  p.setReg8(16, (f & (SF | ZF | AF | PF | CF)) | Flag.FIXED1);
}

export function sahf(p: Processor): void {
  const ah = (p.lo[0] >>> 8) & 0xff;
  p.setStatus(SF | ZF | AF | PF | CF, ah);
}

export const SZP_FLAGS = SZP;
