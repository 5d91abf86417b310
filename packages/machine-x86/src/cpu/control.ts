/**
 * Near control transfers: JMP, CALL, RET (incl. RET imm16), Jcc, LOOP/LOOPE/LOOPNE, JCXZ/JECXZ/JRCXZ.
 * Targets are truncated to the operand size (16/32), checked against the CS limit outside 64-bit
 * mode, and must be canonical in 64-bit mode (#GP(0) otherwise). Every check precedes every commit.
 */
import { Form, Op } from '@latelaunch/x86-isa';
import type { CachedInsn, Processor } from './processor.js';
import { Vec } from './state.js';

const TWO32 = 4294967296;

/** Checks and truncates a near-branch target for operand size `size`; returns the new RIP. */
export function branchTarget(p: Processor, target: number, size: number): number {
  if (size === 64) {
    if (target < -0x800000000000 || target >= 0x800000000000) p.fault(Vec.GP, 0);
    return target;
  }
  const t = size === 32 ? target >>> 0 : target & 0xffff;
  if (!p.is64 && t > p.codeLimit) p.fault(Vec.GP, 0);
  return t;
}

export function jumpRel(p: Processor, i: CachedInsn): void {
  const s = p.state;
  s.rip = branchTarget(p, s.rip + i.rel, i.opSize);
}

/** Reads an absolute near target from r/m (operand size). */
function absTarget(p: Processor, i: CachedInsn): number {
  const size = i.opSize;
  const v = p.readE(i, size);
  if (size === 64) {
    const h = p.rhi;
    // A value whose high half is not a sign extension cannot be canonical: make it clearly out of range.
    if (h < -0x8000 || h > 0x7fff) return Infinity;
    return h * TWO32 + (v >>> 0);
  }
  return size === 32 ? v >>> 0 : v & 0xffff;
}

export function jmp(p: Processor, i: CachedInsn): void {
  if (i.form === Form.REL) jumpRel(p, i);
  else p.state.rip = branchTarget(p, absTarget(p, i), i.opSize);
}

export function call(p: Processor, i: CachedInsn): void {
  const s = p.state;
  const size = i.opSize;
  const ret = s.rip;
  const t = branchTarget(p, i.form === Form.REL ? ret + i.rel : absTarget(p, i), size);
  if (size === 64) p.pushN(8, ret | 0, Math.floor(ret / TWO32) | 0);
  else p.pushN(size >>> 3, ret, 0);
  s.rip = t;
}

export function ret(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  const n = size >>> 3;
  const sp = p.getSp();
  const lin = p.stackLinear(sp, n, false);
  let target: number;
  if (n === 8) {
    const lo = p.lread64(lin);
    const h = p.rhi;
    target = h < -0x8000 || h > 0x7fff ? Infinity : h * TWO32 + (lo >>> 0);
  } else target = n === 4 ? p.lread32(lin) >>> 0 : p.lread16(lin);
  const t = branchTarget(p, target, size);
  const extra = i.form === Form.I ? i.imm & 0xffff : 0;
  p.setSp(p.spAdd(sp, n + extra));
  p.state.rip = t;
}

/** Count register (by address size) as an unsigned number. */
function getCount(p: Processor, addrSize: number): number {
  if (addrSize === 32) return p.lo[1] >>> 0;
  if (addrSize === 16) return p.lo[1] & 0xffff;
  return p.hi[1] * TWO32 + (p.lo[1] >>> 0);
}

export function loop(p: Processor, i: CachedInsn): void {
  const a = i.addrSize;
  // New count (not yet committed).
  let zero: boolean;
  let newLo: number;
  let newHi = p.hi[1];
  if (a === 64) {
    newLo = (p.lo[1] - 1) | 0;
    if (p.lo[1] === 0) newHi = (newHi - 1) | 0;
    zero = (newLo | newHi) === 0;
  } else if (a === 32) {
    newLo = (p.lo[1] - 1) | 0;
    zero = newLo === 0;
  } else {
    newLo = (p.lo[1] & ~0xffff) | ((p.lo[1] - 1) & 0xffff);
    zero = (newLo & 0xffff) === 0;
  }
  let taken = !zero;
  if (taken && i.op !== Op.LOOP) taken = i.op === Op.LOOPE ? p.getZF() : !p.getZF();
  let t = 0;
  if (taken) t = branchTarget(p, p.state.rip + i.rel, i.opSize);
  if (a === 32) {
    p.lo[1] = newLo;
    if (p.is64) p.hi[1] = 0;
  } else {
    p.lo[1] = newLo;
    if (a === 64) p.hi[1] = newHi;
  }
  if (taken) p.state.rip = t;
}

export function jcxz(p: Processor, i: CachedInsn): void {
  if (getCount(p, i.addrSize) === 0) jumpRel(p, i);
}
