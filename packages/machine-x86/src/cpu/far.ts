/**
 * Far control transfers, software interrupts, SYSCALL/SYSRET and segment-register loads
 * (SDM Vol. 2: JMP, CALL, RET, IRET/IRETD/IRETQ, INT n/INTO/INT3, SYSCALL, SYSRET, MOV, POP,
 * LDS/LES/LFS/LGS/LSS; Vol. 3A 5.8 privilege-level changes).
 *
 * RIP already points after the instruction; every check (and every stack read) happens before
 * any register is committed.
 *
 * Call gates (legacy 16/32-bit with parameter copy, IA-32e 64-bit) are supported for JMPF/CALLF;
 * RETF returns through them (including to an outer level with a parameter release).
 *
 * Not modelled (each raises a clear, documented outcome, never silent misbehaviour):
 * - TSS descriptors / task gates as targets, and IRET with NT = 1 outside IA-32e mode (task
 *   return) → {@link TaskSwitchNotSupportedError} (in IA-32e mode, where task switching does not
 *   exist, they are #GP(selector) as on hardware);
 * - IRET to virtual-8086 mode (popped EFLAGS.VM = 1 at CPL 0) → #GP(0) and a `cpu.unsupported`
 *   trace event.
 */
import { PageAccess } from '@latelaunch/kernel';
import { Form, Op, type DecodedInstruction } from '@latelaunch/x86-isa';
import type { Processor } from './processor.js';
import { AR, Cr0, Efer, Flag, Seg, Vec } from './state.js';
import { SysType } from './descriptors.js';
import { checkStackSegment, D, isCanonical, loadReal, loadSegment, readDescriptor, setAccessed, tableLinear, validateDataSegments } from './segments.js';
import { deliverEvent, EventKind, TaskSwitchNotSupportedError } from './exceptions.js';
import { TaskSwitchSource } from './vmx-hooks.js';
import { Msr, msrStored, msrAddress } from './msr.js';
import { sys } from './system-context.js';
import { beginShadow } from './interrupts.js';
import { execSystem } from './system.js';

const TWO32 = 4294967296;

/** Emits `cpu.unsupported` (when traced). */
export function traceUnsupported(p: Processor, feature: string, detail: string): void {
  const t = sys(p).trace;
  if (t && t.wants('cpu.unsupported')) t.emit('cpu.unsupported', { feature, detail }, p.cpuIndex);
}

export function execFar(p: Processor, i: DecodedInstruction): void {
  switch (i.op) {
    case Op.JMPF:
    case Op.CALLF:
      farJmpCall(p, i, i.op === Op.CALLF);
      return;
    case Op.RETF:
      retf(p, i.opSize >>> 3, i.form === Form.I ? i.imm & 0xffff : 0);
      return;
    case Op.IRET:
      iret(p, i.opSize >>> 3);
      return;
    case Op.INT:
      deliverEvent(p, i.imm & 0xff, -1, EventKind.SOFTWARE_INT, p.state.rip);
      return;
    case Op.INT3:
      deliverEvent(p, Vec.BP, -1, EventKind.SOFTWARE_EXC, p.state.rip);
      return;
    case Op.INTO:
      if (p.getOF()) deliverEvent(p, Vec.OF, -1, EventKind.SOFTWARE_EXC, p.state.rip);
      return;
    case Op.SYSCALL:
      syscall(p);
      return;
    case Op.SYSRET:
      sysret(p, i.opSize === 64);
      return;
    case Op.MOV_SREG:
      movSreg(p, i);
      return;
    case Op.POP:
      popSreg(p, i);
      return;
    case Op.LDS:
    case Op.LES:
    case Op.LFS:
    case Op.LGS:
    case Op.LSS:
      loadFarPointer(p, i);
      return;
    default:
      execSystem(p, i);
  }
}

// ---------------------------------------------------------------------------- helpers

/** Reads `n` (2/4/8) bytes at linear `lin` as a number (8: sign-extended 64-bit number, exact when canonical). */
function readN(p: Processor, lin: number, n: number): number {
  if (n === 2) return p.lread16(lin);
  if (n === 4) return p.lread32(lin) >>> 0;
  const lo = p.lread64(lin);
  return p.rhi * TWO32 + (lo >>> 0);
}

/** Reads stack slot `k` (of `n` bytes) above offset `sp` (#SS(0) / canonical checks by the memory layer). */
function stackSlot(p: Processor, sp: number, k: number, n: number): number {
  return readN(p, p.stackLinear(p.spAdd(sp, k * n), n, false), n);
}

/** Writes the stack pointer for a stack whose address size is given explicitly (16/32/64). */
function setSpSized(p: Processor, size: number, sp: number): void {
  if (size === 64) {
    p.lo[4] = sp | 0;
    p.hi[4] = Math.floor(sp / TWO32) | 0;
  } else if (size === 32) {
    p.lo[4] = sp | 0;
    p.hi[4] = 0;
  } else p.lo[4] = (p.lo[4] & ~0xffff) | (sp & 0xffff);
}

/** Loads CS from descriptor fields with CPL = RPL (the cached DPL is the CPL; see CpuState). */
function commitCs(p: Processor, sel: number, base: number, limit: number, ar: number): void {
  const s = p.state;
  s.segSel[Seg.CS] = sel;
  s.segBase[Seg.CS] = base;
  s.segLimit[Seg.CS] = limit;
  s.segAr[Seg.CS] = (ar & ~AR.DPL_MASK) | ((sel & 3) << AR.DPL_SHIFT);
}

/** Checks a new RIP against the target code segment: canonical for 64-bit code, else the limit (#GP(0)). */
function checkTarget(p: Processor, rip: number, target64: boolean, limit: number): void {
  if (target64 ? !isCanonical(rip) : rip > limit) p.fault(Vec.GP, 0);
}

// ---------------------------------------------------------------------------- JMPF / CALLF

function farJmpCall(p: Processor, i: DecodedInstruction, call: boolean): void {
  const s = p.state;
  const n = i.opSize >>> 3;
  let sel: number;
  let off: number;
  if (i.form === Form.FAR) {
    sel = i.sel & 0xffff;
    off = n === 2 ? i.imm & 0xffff : i.imm >>> 0;
  } else {
    const lin = p.memLinear(i, n + 2, false);
    off = readN(p, lin, n);
    const a = p.is64 ? lin + n : (lin + n) >>> 0;
    sel = p.lread16(a);
  }
  if (p.realOrV86) {
    if (off > s.segLimit[Seg.CS]) p.fault(Vec.GP, 0);
    if (call) pushReturn(p, n, s.segSel[Seg.CS], s.rip);
    loadReal(p, Seg.CS, sel);
    s.rip = off;
    p.modeChanged();
    return;
  }
  const err = sel & 0xfffc;
  if (err === 0) p.fault(Vec.GP, 0);
  if (!readDescriptor(p, sel)) p.fault(Vec.GP, err);
  const ar = D.ar;
  const cpl = p.cpl;
  if ((ar & AR.S) === 0) {
    const type = ar & 0xf;
    const lma = (s.efer & Efer.LMA) !== 0;
    if (type === SysType.CALL_GATE || (!lma && type === SysType.CALL_GATE16)) {
      callGate(p, sel, call);
      return;
    }
    const taskTarget = type === SysType.TASK_GATE || type === SysType.TSS_AVAIL || type === SysType.TSS16_AVAIL || type === SysType.TSS_BUSY || type === SysType.TSS16_BUSY;
    if (taskTarget && !lma) {
      // VMX non-root: a task switch is a VM exit (SDM 26.1.2) with the target TSS selector.
      if (p.vmxGuest !== null) p.vmxGuest.taskSwitch(p, type === SysType.TASK_GATE ? D.lo >>> 16 : sel, call ? TaskSwitchSource.CALL : TaskSwitchSource.JMP);
      throw new TaskSwitchNotSupportedError(`${call ? 'CALL' : 'JMP'} FAR to selector ${sel.toString(16)} (system type ${type})`);
    }
    p.fault(Vec.GP, err); // includes TSS/task gates in IA-32e mode (no task switching there)
  }
  if ((ar & AR.CODE) === 0) p.fault(Vec.GP, err);
  const dpl = (ar & AR.DPL_MASK) >>> AR.DPL_SHIFT;
  if (ar & AR.DC) {
    if (dpl > cpl) p.fault(Vec.GP, err);
  } else if ((sel & 3) > cpl || dpl !== cpl) p.fault(Vec.GP, err);
  if ((ar & AR.P) === 0) p.fault(Vec.NP, err);
  const lma = (s.efer & Efer.LMA) !== 0;
  if (lma && (ar & (AR.L | AR.DB)) === (AR.L | AR.DB)) p.fault(Vec.GP, err);
  const target64 = lma && (ar & AR.L) !== 0;
  checkTarget(p, off, target64, D.limit);
  const base = D.base;
  const limit = D.limit;
  setAccessed(p);
  const newAr = D.ar;
  if (call) pushReturn(p, n, s.segSel[Seg.CS], s.rip);
  commitCs(p, err | cpl, base, limit, newAr);
  s.rip = off;
  p.modeChanged();
}

/** CALLF: pushes CS (zero-extended to the operand size) then the return offset, atomically. */
function pushReturn(p: Processor, n: number, cs: number, rip: number): void {
  const sp0 = p.getSp();
  const sp1 = p.spAdd(sp0, -n);
  const l1 = p.stackLinear(sp1, n, true);
  const sp2 = p.spAdd(sp1, -n);
  const l2 = p.stackLinear(sp2, n, true);
  if (n === 8) {
    p.probeWrite(l1, 8);
    p.probeWrite(l2, 8);
    p.lwrite64(l1, cs, 0);
    p.lwrite64(l2, rip | 0, Math.floor(rip / TWO32) | 0);
  } else if (n === 4) {
    p.probeWrite(l1, 4);
    p.probeWrite(l2, 4);
    p.lwrite32(l1, cs);
    p.lwrite32(l2, rip | 0);
  } else {
    p.probeWrite(l1, 2);
    p.probeWrite(l2, 2);
    p.lwrite16(l1, cs);
    p.lwrite16(l2, rip & 0xffff);
  }
  p.setSp(sp2);
}

// ---------------------------------------------------------------------------- call gates

/** Translates (for a supervisor write) every page of `[lin, lin+n)` so nothing is written on a fault. */
function probeSystemWrite(p: Processor, lin: number, n: number): void {
  p.translateSystem(lin, PageAccess.WRITE);
  if ((lin & 0xfff) + n > 4096) p.translateSystem(lin + n - 1, PageAccess.WRITE);
}

/**
 * JMPF/CALLF through a call gate (SDM Vol. 2 CALL/JMP "call gate" paths, Vol. 3A 5.8.3–5.8.6).
 * Legacy mode: 16/32-bit gates, CALL to a more privileged non-conforming segment switches to
 * SS:ESP of the target DPL from the TSS and copies the gate's parameter count of stack slots;
 * IA-32e mode: 16-byte 64-bit gates to 64-bit code only, RSP from the TSS and a null SS with
 * RPL = new CPL on a privilege change, no parameter copy, 8-byte slots. JMP never changes privilege.
 */
function callGate(p: Processor, gateSel: number, call: boolean): void {
  const s = p.state;
  const cpl = p.cpl;
  const lma = (s.efer & Efer.LMA) !== 0;
  const gErr = gateSel & 0xfffc;
  if (lma && !readDescriptor(p, gateSel, 16)) p.fault(Vec.GP, gErr);
  if (lma && (D.w3 >>> 8) & 0x1f) p.fault(Vec.GP, gErr);
  const gdpl = (D.ar & AR.DPL_MASK) >>> AR.DPL_SHIFT;
  if (gdpl < cpl || gdpl < (gateSel & 3)) p.fault(Vec.GP, gErr);
  if ((D.ar & AR.P) === 0) p.fault(Vec.NP, gErr);
  const gate16 = (D.ar & 0xf) === SysType.CALL_GATE16;
  const width = lma ? 8 : gate16 ? 2 : 4;
  const csSel = (D.lo >>> 16) & 0xffff;
  const low = ((D.lo & 0xffff) | (D.hi & 0xffff0000)) >>> 0;
  const target = lma ? (D.w2 | 0) * TWO32 + low : gate16 ? low & 0xffff : low;
  const params = lma ? 0 : D.hi & 0x1f;
  // Target code segment.
  const cErr = csSel & 0xfffc;
  if (cErr === 0) p.fault(Vec.GP, 0);
  if (!readDescriptor(p, csSel)) p.fault(Vec.GP, cErr);
  const ar = D.ar;
  const dpl = (ar & AR.DPL_MASK) >>> AR.DPL_SHIFT;
  if ((ar & (AR.S | AR.CODE)) !== (AR.S | AR.CODE) || dpl > cpl) p.fault(Vec.GP, cErr);
  if (lma && (ar & (AR.L | AR.DB)) !== AR.L) p.fault(Vec.GP, cErr);
  const conforming = (ar & AR.DC) !== 0;
  if (!call && (conforming ? dpl > cpl : dpl !== cpl)) p.fault(Vec.GP, cErr);
  if ((ar & AR.P) === 0) p.fault(Vec.NP, cErr);
  checkTarget(p, target, lma, D.limit);
  setAccessed(p);
  const csBase = D.base;
  const csLimit = D.limit;
  const csAr = D.ar;
  if (!call) {
    commitCs(p, cErr | cpl, csBase, csLimit, csAr);
    s.rip = target;
    p.modeChanged();
    return;
  }
  const retRip = s.rip;
  const retCs = s.segSel[Seg.CS];
  if (conforming || dpl === cpl) {
    pushReturn(p, width, retCs, retRip);
    commitCs(p, cErr | cpl, csBase, csLimit, csAr);
    s.rip = target;
    p.modeChanged();
    return;
  }
  // CALL to a more privileged level: new stack from the TSS.
  const trSel = s.segSel[Seg.TR];
  const trErr = trSel & 0xfffc;
  const trType = s.segAr[Seg.TR] & 0xf;
  if (s.segAr[Seg.TR] & AR.UNUSABLE) p.fault(Vec.TS, trErr);
  const oldSs = s.segSel[Seg.SS];
  const oldSp = p.getSp();
  if (lma) {
    const a = dpl * 8 + 4;
    if (a + 7 > s.segLimit[Seg.TR]) p.fault(Vec.TS, trErr);
    const lo = p.readLinear64(tableLinear(p, s.segBase[Seg.TR], a));
    const rsp = p.rhi * TWO32 + (lo >>> 0);
    if (!isCanonical(rsp) || !isCanonical(rsp - 32)) p.fault(Vec.SS, 0);
    const vals = [oldSs, oldSp, retCs, retRip];
    for (let k = 0; k < 4; k++) probeSystemWrite(p, rsp - 8 * (k + 1), 8);
    for (let k = 0; k < 4; k++) p.writeLinear64(rsp - 8 * (k + 1), vals[k] | 0, Math.floor(vals[k] / TWO32) | 0);
    commitCs(p, cErr | dpl, csBase, csLimit, csAr);
    s.segSel[Seg.SS] = dpl;
    s.segBase[Seg.SS] = 0;
    s.segLimit[Seg.SS] = 0;
    s.segAr[Seg.SS] = AR.UNUSABLE | AR.S | AR.RW | AR.ACCESSED | (dpl << AR.DPL_SHIFT);
    setSpSized(p, 64, rsp - 32);
    s.rip = target;
    p.modeChanged();
    return;
  }
  const tss32 = trType === SysType.TSS_AVAIL || trType === SysType.TSS_BUSY;
  let newSs: number;
  let newSp: number;
  if (tss32) {
    const a = dpl * 8 + 4;
    if (a + 5 > s.segLimit[Seg.TR]) p.fault(Vec.TS, trErr);
    newSp = p.readLinear32(tableLinear(p, s.segBase[Seg.TR], a)) >>> 0;
    newSs = p.readLinear16(tableLinear(p, s.segBase[Seg.TR], a + 4));
  } else {
    const a = dpl * 4 + 2;
    if (a + 3 > s.segLimit[Seg.TR]) p.fault(Vec.TS, trErr);
    newSp = p.readLinear16(tableLinear(p, s.segBase[Seg.TR], a));
    newSs = p.readLinear16(tableLinear(p, s.segBase[Seg.TR], a + 2));
  }
  checkStackSegment(p, newSs, dpl, Vec.TS, 0);
  const ssBase = D.base;
  const ssLimit = D.limit;
  const ssAr = D.ar;
  const mask = ssAr & AR.DB ? 0xffffffff : 0xffff;
  if (mask === 0xffff) newSp &= 0xffff;
  // Values to push, top of the new stack first: SS, ESP, parameters (copied in order), CS, EIP.
  const vals: number[] = [oldSs, oldSp];
  for (let k = params - 1; k >= 0; k--) vals.push(stackSlot(p, oldSp, k, width));
  vals.push(retCs, retRip);
  const err = newSs & 0xfffc;
  const offs: number[] = [];
  let off = newSp;
  for (let k = 0; k < vals.length; k++) {
    off = mask === 0xffff ? (off - width) & 0xffff : (off - width) >>> 0;
    const ok = (ssAr & (AR.CODE | AR.DC)) === AR.DC ? off > ssLimit && off + width - 1 <= mask : off + width - 1 <= ssLimit;
    if (!ok) p.fault(Vec.SS, err);
    offs.push(off);
  }
  for (let k = 0; k < vals.length; k++) probeSystemWrite(p, (ssBase + offs[k]) >>> 0, width);
  for (let k = 0; k < vals.length; k++) {
    const lin = (ssBase + offs[k]) >>> 0;
    if (width === 4) p.writeLinear32(lin, vals[k] | 0);
    else p.writeLinear16(lin, vals[k] & 0xffff);
  }
  commitCs(p, cErr | dpl, csBase, csLimit, csAr);
  s.segSel[Seg.SS] = (newSs & 0xfffc) | dpl;
  s.segBase[Seg.SS] = ssBase;
  s.segLimit[Seg.SS] = ssLimit;
  s.segAr[Seg.SS] = ssAr;
  setSpSized(p, mask === 0xffff ? 16 : 32, off);
  s.rip = target;
  p.modeChanged();
}

// ---------------------------------------------------------------------------- RETF

/** Return-CS checks shared by RETF and IRET; leaves the descriptor in D. */
function checkReturnCs(p: Processor, sel: number): void {
  const err = sel & 0xfffc;
  if (err === 0) p.fault(Vec.GP, 0);
  if (!readDescriptor(p, sel)) p.fault(Vec.GP, err);
  const ar = D.ar;
  if ((ar & (AR.S | AR.CODE)) !== (AR.S | AR.CODE)) p.fault(Vec.GP, err);
  const rpl = sel & 3;
  if (rpl < p.cpl) p.fault(Vec.GP, err);
  const dpl = (ar & AR.DPL_MASK) >>> AR.DPL_SHIFT;
  if (ar & AR.DC ? dpl > rpl : dpl !== rpl) p.fault(Vec.GP, err);
  if ((ar & AR.P) === 0) p.fault(Vec.NP, err);
  if (p.state.efer & Efer.LMA && (ar & (AR.L | AR.DB)) === (AR.L | AR.DB)) p.fault(Vec.GP, err);
}

/**
 * Checks the outer-level SS popped by RETF/IRET for a return to `rpl` (D holds its descriptor
 * afterwards, unless it is a permitted null selector: returns false then).
 */
function checkReturnSs(p: Processor, ssSel: number, rpl: number, target64: boolean): boolean {
  if ((ssSel & 0xfffc) === 0 && target64 && rpl !== 3) return false; // null SS: 64-bit mode at CPL < 3
  checkStackSegment(p, ssSel, rpl, Vec.GP, 0);
  return true;
}

function retf(p: Processor, n: number, imm: number): void {
  const s = p.state;
  const sp = p.getSp();
  const off = stackSlot(p, sp, 0, n);
  const sel = stackSlot(p, sp, 1, n) & 0xffff;
  if (p.realOrV86) {
    const ip = n === 2 ? off & 0xffff : off >>> 0;
    if (ip > s.segLimit[Seg.CS]) p.fault(Vec.GP, 0);
    loadReal(p, Seg.CS, sel);
    s.rip = ip;
    p.setSp(p.spAdd(sp, 2 * n + imm));
    p.modeChanged();
    return;
  }
  checkReturnCs(p, sel);
  setAccessed(p);
  const rpl = sel & 3;
  const cpl = p.cpl;
  const target64 = (s.efer & Efer.LMA) !== 0 && (D.ar & AR.L) !== 0;
  const rip = target64 ? off : n === 2 ? off & 0xffff : off >>> 0;
  const csBase = D.base;
  const csLimit = D.limit;
  const csAr = D.ar;
  if (rpl === cpl) {
    checkTarget(p, rip, target64, csLimit);
    commitCs(p, sel, csBase, csLimit, csAr);
    s.rip = rip;
    p.setSp(p.spAdd(sp, 2 * n + imm));
    p.modeChanged();
    return;
  }
  // Return to an outer privilege level: SS:rSP above the (released) parameters.
  const sp2 = p.spAdd(sp, 2 * n + imm);
  const newSp = stackSlot(p, sp2, 0, n);
  const ssSel = stackSlot(p, sp2, 1, n) & 0xffff;
  const ssDesc = checkReturnSs(p, ssSel, rpl, target64);
  const ssBase = D.base;
  const ssLimit = D.limit;
  const ssAr = D.ar;
  checkTarget(p, rip, target64, csLimit);
  commitCs(p, sel, csBase, csLimit, csAr);
  s.rip = rip;
  commitSs(p, ssSel, ssDesc, ssBase, ssLimit, ssAr, rpl);
  const size = target64 ? 64 : ssDesc && ssAr & AR.DB ? 32 : 16;
  setSpSized(p, size, newSp + imm);
  validateDataSegments(p, rpl);
  p.modeChanged();
}

function commitSs(p: Processor, sel: number, fromDescriptor: boolean, base: number, limit: number, ar: number, rpl: number): void {
  const s = p.state;
  s.segSel[Seg.SS] = sel;
  if (fromDescriptor) {
    s.segBase[Seg.SS] = base;
    s.segLimit[Seg.SS] = limit;
    s.segAr[Seg.SS] = ar;
  } else {
    s.segBase[Seg.SS] = 0;
    s.segLimit[Seg.SS] = 0;
    s.segAr[Seg.SS] = AR.UNUSABLE | AR.S | AR.RW | AR.ACCESSED | (rpl << AR.DPL_SHIFT);
  }
}

// ---------------------------------------------------------------------------- IRET

/** EFLAGS image written by a protected-mode IRET (SDM IRET pseudocode; `cpl` is the CPL before the return). */
function iretFlags(old: number, temp: number, n: number, cpl: number): number {
  let mask = Flag.CF | Flag.PF | Flag.AF | Flag.ZF | Flag.SF | Flag.TF | Flag.DF | Flag.OF | Flag.NT;
  if (n >= 4) mask |= Flag.RF | Flag.AC | Flag.ID;
  if (cpl <= (old & Flag.IOPL) >>> Flag.IOPL_SHIFT) mask |= Flag.IF;
  if (cpl === 0) {
    mask |= Flag.IOPL;
    if (n >= 4) mask |= Flag.VIF | Flag.VIP;
  }
  if (n === 2) mask &= 0xffff;
  return (old & ~mask) | (temp & mask) | Flag.FIXED1;
}

function setFlagsAfterIret(p: Processor, f: number): void {
  const old = p.state.rflags;
  p.setRflags(f);
  if (f & Flag.IF && !(old & Flag.IF)) p.eventsPending = true;
  if (f & Flag.TF) p.eventsPending = true;
}

export function iret(p: Processor, n: number): void {
  const s = p.state;
  // SDM 6.7.1: IRET unblocks NMIs even when it faults (a VM exit caused by that fault reports it: `iretUnblockedNmi`).
  p.iretUnblockedNmi = false;
  if (s.nmiBlocked) {
    s.nmiBlocked = false;
    p.iretUnblockedNmi = true;
    p.iretAddress = p.instrStart;
    if (s.nmiPending) p.eventsPending = true;
  }
  const sp = p.getSp();
  if ((s.cr0 & Cr0.PE) === 0) {
    const ip = stackSlot(p, sp, 0, n);
    const cs = stackSlot(p, sp, 1, n) & 0xffff;
    const fl = stackSlot(p, sp, 2, n);
    const rip = n === 2 ? ip & 0xffff : ip >>> 0;
    if (rip > s.segLimit[Seg.CS]) p.fault(Vec.GP, 0);
    const old = p.getRflags();
    const f = n === 2 ? (old & ~0xffff) | (fl & 0x7fd5) | Flag.FIXED1 : (fl & 0x257fd5) | (old & 0x1a0000) | Flag.FIXED1;
    loadReal(p, Seg.CS, cs);
    s.rip = rip;
    p.setSp(p.spAdd(sp, 3 * n));
    setFlagsAfterIret(p, f);
    p.modeChanged();
    return;
  }
  const lma = (s.efer & Efer.LMA) !== 0;
  if (s.rflags & Flag.NT) {
    if (lma) p.fault(Vec.GP, 0);
    if (p.vmxGuest !== null) p.vmxGuest.taskSwitch(p, p.readLinear16(tableLinear(p, s.segBase[Seg.TR], 0)), TaskSwitchSource.IRET);
    throw new TaskSwitchNotSupportedError('IRET with RFLAGS.NT = 1 (return from a nested task)');
  }
  const tempIp = stackSlot(p, sp, 0, n);
  const sel = stackSlot(p, sp, 1, n) & 0xffff;
  const tempFlags = stackSlot(p, sp, 2, n);
  const cpl = p.cpl;
  if (!lma && tempFlags & Flag.VM && cpl === 0 && n === 4) {
    traceUnsupported(p, 'virtual-8086 mode', 'IRET to virtual-8086 mode: raising #GP(0)');
    p.fault(Vec.GP, 0);
  }
  checkReturnCs(p, sel);
  setAccessed(p);
  const rpl = sel & 3;
  const target64 = lma && (D.ar & AR.L) !== 0;
  const rip = target64 ? tempIp : n === 2 ? tempIp & 0xffff : tempIp >>> 0;
  const csBase = D.base;
  const csLimit = D.limit;
  const csAr = D.ar;
  const popSs = rpl > cpl || (lma && p.is64);
  let ssSel = 0;
  let newSp = 0;
  let ssDesc = false;
  let ssBase = 0;
  let ssLimit = 0;
  let ssAr = 0;
  if (popSs) {
    newSp = stackSlot(p, sp, 3, n);
    ssSel = stackSlot(p, sp, 4, n) & 0xffff;
    if (lma) {
      if ((ssSel & 0xfffc) === 0) {
        if (!target64 || rpl === 3) p.fault(Vec.GP, 0);
      } else {
        checkStackSegment(p, ssSel, rpl, Vec.GP, 0);
        ssDesc = true;
      }
    } else {
      checkStackSegment(p, ssSel, rpl, Vec.GP, 0);
      ssDesc = true;
    }
    ssBase = D.base;
    ssLimit = D.limit;
    ssAr = D.ar;
  }
  checkTarget(p, rip, target64, csLimit);
  // Commit.
  const f = iretFlags(p.getRflags(), tempFlags, n, cpl);
  commitCs(p, sel, csBase, csLimit, csAr);
  s.rip = rip;
  if (popSs) {
    commitSs(p, ssSel, ssDesc, ssBase, ssLimit, ssAr, rpl);
    const size = target64 ? 64 : ssDesc && ssAr & AR.DB ? 32 : 16;
    setSpSized(p, size, size === 64 ? newSp : size === 32 ? newSp >>> 0 : newSp & 0xffff);
  } else {
    p.setSp(p.spAdd(sp, 3 * n));
  }
  if (rpl > cpl) validateDataSegments(p, rpl);
  setFlagsAfterIret(p, f);
  p.modeChanged();
}

// ---------------------------------------------------------------------------- SYSCALL / SYSRET

function syscall(p: Processor): void {
  const s = p.state;
  // The decoder only accepts SYSCALL in 64-bit mode (Intel: #UD in compatibility/legacy mode).
  if ((s.efer & Efer.SCE) === 0) p.fault(Vec.UD);
  const star = msrStored(p, Msr.STAR);
  const rip = s.rip;
  const flags = p.getRflags();
  p.lo[1] = rip | 0;
  p.hi[1] = Math.floor(rip / TWO32) | 0;
  p.lo[11] = flags;
  p.hi[11] = 0;
  const fmask = Number(msrStored(p, Msr.FMASK) & 0xffffffffn);
  p.setRflags((flags & ~fmask & ~Flag.RF) | Flag.FIXED1);
  const csSel = Number((star >> 32n) & 0xffffn);
  s.segSel[Seg.CS] = csSel & 0xfffc;
  s.segBase[Seg.CS] = 0;
  s.segLimit[Seg.CS] = 0xffffffff;
  s.segAr[Seg.CS] = AR.G | AR.L | AR.P | AR.S | AR.CODE | AR.RW | AR.ACCESSED;
  s.segSel[Seg.SS] = (csSel + 8) & 0xffff;
  s.segBase[Seg.SS] = 0;
  s.segLimit[Seg.SS] = 0xffffffff;
  s.segAr[Seg.SS] = AR.G | AR.DB | AR.P | AR.S | AR.RW | AR.ACCESSED;
  s.rip = msrAddress(p, Msr.LSTAR);
  p.modeChanged();
}

function sysret(p: Processor, to64: boolean): void {
  const s = p.state;
  if ((s.efer & Efer.SCE) === 0) p.fault(Vec.UD);
  if (p.cpl !== 0) p.fault(Vec.GP, 0);
  let rip: number;
  if (to64) {
    rip = p.hi[1] * TWO32 + (p.lo[1] >>> 0);
    // Intel checks RCX before leaving ring 0 (the #GP is delivered at CPL 0).
    if (!isCanonical(rip)) p.fault(Vec.GP, 0);
  } else rip = p.lo[1] >>> 0;
  const star = msrStored(p, Msr.STAR);
  const base = Number((star >> 48n) & 0xffffn);
  s.segSel[Seg.CS] = ((to64 ? base + 16 : base) | 3) & 0xffff;
  s.segBase[Seg.CS] = 0;
  s.segLimit[Seg.CS] = 0xffffffff;
  s.segAr[Seg.CS] = AR.G | (to64 ? AR.L : AR.DB) | AR.P | AR.S | AR.CODE | AR.RW | AR.ACCESSED | (3 << AR.DPL_SHIFT);
  s.segSel[Seg.SS] = ((base + 8) | 3) & 0xffff;
  s.segBase[Seg.SS] = 0;
  s.segLimit[Seg.SS] = 0xffffffff;
  s.segAr[Seg.SS] = AR.G | AR.DB | AR.P | AR.S | AR.RW | AR.ACCESSED | (3 << AR.DPL_SHIFT);
  s.rip = rip;
  const old = s.rflags;
  const f = (p.lo[11] & 0x3c7fd7) | Flag.FIXED1;
  p.setRflags(f);
  if ((f & Flag.IF && !(old & Flag.IF)) || f & Flag.TF) p.eventsPending = true;
  p.modeChanged();
}

// ---------------------------------------------------------------------------- segment-register loads

function movSreg(p: Processor, i: DecodedInstruction): void {
  const s = p.state;
  if (i.form === Form.S_E) {
    const sel = i.isMem ? p.lread16(p.memLinear(i, 2, false)) : p.lo[i.rm] & 0xffff;
    loadSegment(p, i.reg, sel);
    if (i.reg === Seg.SS) beginShadow(p, false, true);
    return;
  }
  // MOV r/m, Sreg: registers get the zero-extended selector; memory gets 16 bits.
  const v = s.segSel[i.reg];
  if (i.isMem) p.lwrite16(p.memLinear(i, 2, true), v);
  else if (i.opSize === 16) p.setReg16(i.rm, v);
  else if (i.opSize === 32) p.setReg32(i.rm, v);
  else p.setReg64(i.rm, v, 0);
}

function popSreg(p: Processor, i: DecodedInstruction): void {
  const n = i.opSize >>> 3;
  const size = p.stackSize;
  const sp = p.getSp();
  const sel = readN(p, p.stackLinear(sp, n, false), n) & 0xffff;
  loadSegment(p, i.reg, sel);
  // The pop uses the stack-address size in effect before the load.
  const next = size === 64 ? sp + n : size === 32 ? (sp + n) >>> 0 : (sp + n) & 0xffff;
  setSpSized(p, size, next);
  if (i.reg === Seg.SS) beginShadow(p, false, true);
}

function loadFarPointer(p: Processor, i: DecodedInstruction): void {
  const n = i.opSize >>> 3;
  const lin = p.memLinear(i, n + 2, false);
  const off = n === 8 ? p.lread64(lin) : n === 4 ? p.lread32(lin) : p.lread16(lin);
  const offHi = n === 8 ? p.rhi : 0;
  const sel = p.lread16(p.is64 ? lin + n : (lin + n) >>> 0);
  const seg = i.op === Op.LDS ? Seg.DS : i.op === Op.LES ? Seg.ES : i.op === Op.LFS ? Seg.FS : i.op === Op.LGS ? Seg.GS : Seg.SS;
  loadSegment(p, seg, sel);
  p.setReg(i.reg, i.opSize, off, offHi);
}
