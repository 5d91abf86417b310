/**
 * Data movement: MOV (incl. moffs), MOVZX/MOVSX/MOVSXD, LEA, XCHG, PUSH/POP (incl. PUSH Sreg),
 * PUSHA/POPA, PUSHF/POPF, ENTER/LEAVE, XLAT. POP Sreg and MOV Sreg belong to far.ts (SYSTEM).
 */
import { Form, Op } from '@latelaunch/x86-isa';
import type { CachedInsn, Processor } from './processor.js';
import { Cr4, Flag, Vec } from './state.js';

const TWO32 = 4294967296;

export function mov(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  switch (i.form) {
    case Form.E_G: {
      const v = p.getReg(i.reg, size);
      p.writeE(i, size, v, p.rhi);
      return;
    }
    case Form.G_E: {
      const v = p.readE(i, size);
      p.setReg(i.reg, size, v, p.rhi);
      return;
    }
    default: {
      // E_I (MOV r/m, imm and MOV r, imm incl. imm64)
      const v = i.imm | 0;
      const h = i.immHi | 0;
      p.writeE(i, size, v, h);
    }
  }
}

export function movx(p: Processor, i: CachedInsn): void {
  const es = i.eSize;
  const size = i.opSize;
  let v = p.readE(i, es);
  let h = 0;
  if (i.op === Op.MOVZX) {
    // readE of 8/16 bits is already zero-extended
  } else if (es === 8) {
    v = (v << 24) >> 24;
    h = v >> 31;
  } else if (es === 16) {
    v = (v << 16) >> 16;
    h = v >> 31;
  } else if (es === 32) h = v >> 31; // MOVSXD
  else h = p.rhi;
  p.setReg(i.reg, size, v, h);
}

export function lea(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  if (p.is64) {
    p.ea64(i);
    if (size === 64) p.setReg64(i.reg, p.eaLo, p.eaHi);
    else p.setReg(i.reg, size, p.eaLo, 0);
    return;
  }
  p.setReg(i.reg, size, p.eaOffset(i), 0);
}

export function xchg(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  const b = p.getReg(i.reg, size);
  const bHi = p.rhi;
  if (i.isMem) {
    const lin = p.memLinear(i, size >>> 3, true);
    const a = p.readLin(lin, size);
    const aHi = p.rhi;
    p.writeLin(lin, size, b, bHi);
    p.setReg(i.reg, size, a, aHi);
    return;
  }
  const a = p.getReg(i.rm, size);
  const aHi = p.rhi;
  p.setReg(i.rm, size, b, bHi);
  p.setReg(i.reg, size, a, aHi);
}

// ------------------------------------------------------------------ stack

export function push(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  let v: number;
  let h = 0;
  if (i.form === Form.I) {
    v = i.imm | 0;
    h = i.immHi | 0;
  } else {
    v = p.readE(i, size); // PUSH rSP pushes the value before the decrement
    h = p.rhi;
  }
  p.pushN(size >>> 3, v, h);
}

export function pushSreg(p: Processor, i: CachedInsn): void {
  const n = i.opSize >>> 3;
  const sel = p.state.segSel[i.reg];
  if (n === 2) {
    p.pushN(2, sel, 0);
    return;
  }
  // 32/64-bit operand size: the stack pointer moves by 4/8 but only 16 bits are written (recent Intel processors).
  const sp = p.spAdd(p.getSp(), -n);
  const lin = p.stackLinear(sp, n, true);
  p.lwrite16(lin, sel);
  p.setSp(sp);
}

export function pop(p: Processor, i: CachedInsn): void {
  const size = i.opSize;
  const n = size >>> 3;
  const sp = p.getSp();
  const lin = p.stackLinear(sp, n, false);
  const v = p.readLin(lin, size);
  const h = p.rhi;
  const newSp = p.spAdd(sp, n);
  if (!i.isMem) {
    p.setSp(newSp);
    p.setReg(i.rm, size, v, h); // POP rSP: the popped value wins
    return;
  }
  // POP m: the address is computed with the incremented stack pointer; roll back if the store faults.
  const oldLo = p.lo[4];
  const oldHi = p.hi[4];
  p.setSp(newSp);
  try {
    p.writeLin(p.memLinear(i, n, true), size, v, h);
  } catch (e) {
    p.lo[4] = oldLo;
    p.hi[4] = oldHi;
    throw e;
  }
}

export function pushf(p: Processor, i: CachedInsn): void {
  const s = p.state;
  if (s.rflags & Flag.VM && ((s.rflags & Flag.IOPL) >>> Flag.IOPL_SHIFT) < 3 && (s.cr4 & Cr4.VME) === 0) p.fault(Vec.GP, 0);
  const f = p.getRflags() & ~(Flag.VM | Flag.RF);
  p.pushN(i.opSize >>> 3, f, 0);
}

/** POPF/POPFD/POPFQ with the SDM rules for CPL, IOPL and virtual-8086 mode (VME not modelled: #GP when IOPL < 3). */
export function popf(p: Processor, i: CachedInsn): void {
  const s = p.state;
  const old = p.getRflags();
  const iopl = (old & Flag.IOPL) >>> Flag.IOPL_SHIFT;
  const vm = (old & Flag.VM) !== 0;
  if (vm && iopl < 3) p.fault(Vec.GP, 0);
  const n = i.opSize >>> 3;
  const v = n === 2 ? p.popN(2) : p.popN(n);
  // Modifiable bits: status, TF, IF, DF, IOPL, NT, AC, ID (RF is cleared; VM, VIF, VIP unaffected).
  let mask = Flag.CF | Flag.PF | Flag.AF | Flag.ZF | Flag.SF | Flag.TF | Flag.IF | Flag.DF | Flag.OF | Flag.IOPL | Flag.NT | Flag.AC | Flag.ID;
  const cpl = p.cpl;
  if (vm) mask &= ~Flag.IOPL;
  else if (cpl > 0) {
    mask &= ~Flag.IOPL;
    if (cpl > iopl) mask &= ~Flag.IF;
  }
  if (n === 2) mask &= 0xffff;
  const nf = ((old & ~mask) | (v & mask) | Flag.FIXED1) & ~Flag.RF;
  p.setRflags(nf);
  if ((nf ^ old) & (Flag.IF | Flag.TF)) p.eventsPending = true;
  if ((nf ^ old) & Flag.AC) {
    p.syncPagingControl();
    if (s.cr4 & Cr4.SMAP) p.flushFastTlb();
  }
}

export function pusha(p: Processor, i: CachedInsn): void {
  const n = i.opSize >>> 3; // 2 or 4
  const lo = p.lo;
  const sp0 = p.getSp();
  let sp = sp0;
  for (let r = 0; r < 8; r++) {
    sp = p.spAdd(sp, -n);
    const lin = p.stackLinear(sp, n, true);
    const v = r === 4 ? sp0 : lo[r];
    if (n === 4) p.lwrite32(lin, v);
    else p.lwrite16(lin, v);
  }
  p.setSp(sp);
}

export function popa(p: Processor, i: CachedInsn): void {
  const n = i.opSize >>> 3;
  const vals = popaScratch;
  let sp = p.getSp();
  for (let r = 7; r >= 0; r--) {
    const lin = p.stackLinear(sp, n, false);
    vals[r] = n === 4 ? p.lread32(lin) : p.lread16(lin);
    sp = p.spAdd(sp, n);
  }
  for (let r = 0; r < 8; r++) {
    if (r === 4) continue;
    if (n === 4) p.setReg32(r, vals[r]);
    else p.setReg16(r, vals[r]);
  }
  p.setSp(sp);
}
const popaScratch = new Int32Array(8);

export function enter(p: Processor, i: CachedInsn): void {
  const n = i.opSize >>> 3;
  const alloc = i.imm & 0xffff;
  const level = i.sel & 0x1f;
  // rBP value (operand-size wide) and its use as a stack offset.
  let sp = p.getSp();
  const bpLo = p.lo[5];
  const bpHi = p.hi[5];
  sp = p.spAdd(sp, -n);
  writeStack(p, sp, n, bpLo, bpHi);
  const frameTemp = sp;
  if (level > 0) {
    let bp = stackOffsetOfBp(p);
    for (let k = 1; k < level; k++) {
      bp = p.spAdd(bp, -n);
      const lin = p.stackLinear(bp, n, false);
      const v = p.readLin(lin, n * 8);
      const vh = p.rhi;
      sp = p.spAdd(sp, -n);
      writeStack(p, sp, n, v, vh);
    }
    sp = p.spAdd(sp, -n);
    writeStack(p, sp, n, frameTemp | 0, Math.floor(frameTemp / TWO32) | 0);
  }
  const finalSp = p.spAdd(sp, -alloc);
  // Commit: rBP = FrameTemp (operand size), rSP = final.
  if (n === 2) p.setReg16(5, frameTemp);
  else if (n === 4) p.setReg32(5, frameTemp);
  else p.setReg64(5, frameTemp | 0, Math.floor(frameTemp / TWO32) | 0);
  p.setSp(finalSp);
}

function writeStack(p: Processor, sp: number, n: number, v: number, h: number): void {
  const lin = p.stackLinear(sp, n, true);
  if (n === 2) p.lwrite16(lin, v);
  else if (n === 4) p.lwrite32(lin, v);
  else p.lwrite64(lin, v, h);
}

/** rBP as an offset of the stack-address size. */
function stackOffsetOfBp(p: Processor): number {
  if (p.stackSize === 32) return p.lo[5] >>> 0;
  if (p.stackSize === 16) return p.lo[5] & 0xffff;
  return p.hi[5] * TWO32 + (p.lo[5] >>> 0);
}

export function leave(p: Processor, i: CachedInsn): void {
  const n = i.opSize >>> 3;
  const bp = stackOffsetOfBp(p);
  const lin = p.stackLinear(bp, n, false);
  const v = p.readLin(lin, n * 8);
  const h = p.rhi;
  p.setSp(p.spAdd(bp, n));
  p.setReg(5, n * 8, v, h);
}

export function xlat(p: Processor, i: CachedInsn): void {
  const al = p.lo[0] & 0xff;
  let lin: number;
  if (p.is64) {
    if (i.addrSize === 64) lin = p.linear64(i.segment, p.hi[3] * TWO32 + (p.lo[3] >>> 0) + al);
    else lin = p.linear64(i.segment, (p.lo[3] + al) >>> 0);
  } else {
    const off = i.addrSize === 16 ? (p.lo[3] + al) & 0xffff : (p.lo[3] + al) >>> 0;
    lin = p.segLinear(i.segment, off, 1, false);
  }
  p.setReg8(0, p.lread8(lin));
}
