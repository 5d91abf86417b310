/**
 * Event delivery: exceptions, external interrupts, NMIs and software interrupts (SDM Vol. 3A
 * ch. 6; Vol. 2 INT n/INTO/INT3 pseudocode).
 *
 * - Real mode: IVT entry (IP, CS) at IDTR.base + 4·vector (limit checked → #GP), push FLAGS, CS,
 *   IP (16-bit, limit-checked → #SS), clear IF, TF, AC. No error codes.
 * - Protected mode (legacy): 8-byte IDT gates. 16/32-bit interrupt and trap gates; task gates are
 *   NOT supported (hardware task switching): delivering through one throws
 *   {@link TaskSwitchNotSupportedError}. Privilege change to a non-conforming inner code segment
 *   switches to SS:ESP for the new CPL from the TSS (32-bit or 16-bit TSS), with the SDM checks
 *   (#TS with the TSS or SS selector, #SS when the new SS is not present or has no room).
 * - IA-32e mode (64-bit and compatibility): 16-byte gates (64-bit interrupt/trap gates only),
 *   target must be 64-bit code, stack from RSPn (privilege change) or ISTn (gate IST ≠ 0, always),
 *   RSP aligned down to 16, SS:RSP always pushed, SS = null selector with RPL = new CPL on a
 *   privilege change.
 * - RFLAGS: TF, NT, RF, VM cleared (and IF for interrupt gates; real mode also clears AC).
 * - Error codes: EXT (bit 0) is set for faults raised while delivering an exception, NMI or
 *   external interrupt (not INT n / INT3 / INTO); IDT (bit 1) when the code names an IDT entry
 *   (`vector·8 + 2 + EXT`). Software INT n/INT3/INTO check the gate DPL against CPL → #GP(vector·8+2).
 * - Faults during delivery: Table 6-5 (`combineExceptions`): contributory-while-contributory and
 *   contributory/#PF-while-#PF give #DF (error code 0); anything while delivering #DF is a triple
 *   fault: the processor enters shutdown (`activity = SHUTDOWN`, trace `cpu.shutdown`). Other
 *   combinations are handled serially. The return address of an exception raised while delivering
 *   INT n/INT3/INTO is the INT instruction itself; for other events it is the original event's.
 * - Delivery is atomic: every check and every stack write happens before any register changes.
 *
 * Virtual-8086 mode is not supported (RFLAGS.VM can never become 1: IRET to VM86 raises #GP).
 */
import { NotImplementedError } from '@latelaunch/kernel';
import type { Processor } from './processor.js';
import { CPU_FAULT } from './fault.js';
import { Activity, AR, Cr0, Efer, Flag, Seg, Vec } from './state.js';
import { decodeGate, SysType, type Gate } from './descriptors.js';
import { combineExceptions, Combine, pushesErrorCode } from './exception-classes.js';
import { checkStackSegment, D, isCanonical, readDescriptor, setAccessed, tableLinear } from './segments.js';
import { sys } from './system-context.js';
import { TaskSwitchSource } from './vmx-hooks.js';

const TWO32 = 4294967296;

/** How an event arose (decides EXT, the gate-DPL check, error codes and the VMX event type). */
export const EventKind = {
  /** A hardware exception (fault, trap or abort) raised by the processor. */
  EXCEPTION: 0,
  /** A maskable external interrupt (INTR, acknowledged from the interrupt controller). */
  EXTERNAL: 1,
  NMI: 2,
  /** INT n. */
  SOFTWARE_INT: 3,
  /** INT3 / INTO (software exceptions: gate DPL checked, no error code, EXT = 0). */
  SOFTWARE_EXC: 4,
} as const;
export type EventKind = (typeof EventKind)[keyof typeof EventKind];

const KIND_NAMES = ['exception', 'external', 'nmi', 'software', 'software-exception'] as const;

declare module '@latelaunch/kernel' {
  interface TraceEventMap {
    /** An exception is being delivered (hardware exceptions and INT3/INTO). `rip` is the saved return address. */
    'cpu.exception': { vector: number; errorCode: number; rip: number; kind: string };
    /** An interrupt is being delivered: external (INTR), NMI or INT n. */
    'cpu.interrupt': { vector: number; source: string; rip: number };
    /** The processor entered shutdown (triple fault). */
    'cpu.shutdown': { reason: string; vector: number; rip: number };
    /** Software used a feature the interpreter does not model; the documented fallback (usually #GP) follows. */
    'cpu.unsupported': { feature: string; detail: string };
  }
}

/** Delivery through a task gate, or a far transfer to a TSS/task gate: hardware task switching is not modelled. */
export class TaskSwitchNotSupportedError extends NotImplementedError {
  constructor(detail: string) {
    super('hardware task switching (task gates, TSS descriptors as far-transfer targets)', detail);
  }
}

/**
 * Optional interception of events before delivery (the VMX issue uses it for the exception bitmap,
 * external-interrupt and NMI exiting). Return true when the event was consumed (e.g. a VM exit).
 */
export type EventInterceptor = (p: Processor, vector: number, errorCode: number, kind: EventKind, returnRip: number) => boolean;

/** Optional hook for a triple fault (VMX non-root: VM exit). Return true when handled; otherwise shutdown. */
export type TripleFaultHandler = (p: Processor) => boolean;

/**
 * Called by the run loop after it caught CPU_FAULT (RIP already restored to the faulting
 * instruction): delivers `p.pendingVector` / `p.pendingErrorCode`. Never throws CPU_FAULT.
 */
export function deliverException(p: Processor): void {
  const v = p.pendingVector;
  const e = p.pendingErrorCode;
  p.pendingVector = -1;
  p.pendingErrorCode = -1;
  deliverEvent(p, v, e, EventKind.EXCEPTION, p.state.rip);
}

/** Puts the processor into shutdown (triple fault). */
export function enterShutdown(p: Processor, reason: string, vector: number): void {
  const s = p.state;
  s.activity = Activity.SHUTDOWN;
  const trace = sys(p).trace;
  if (trace && trace.wants('cpu.shutdown')) trace.emit('cpu.shutdown', { reason, vector, rip: s.rip }, p.cpuIndex);
}

/**
 * Delivers one event with the full nesting rules (never throws CPU_FAULT). `returnRip` is the
 * address saved in the frame: the faulting instruction for faults, the next instruction for
 * traps, INT n and interrupts.
 */
export function deliverEvent(p: Processor, vector: number, errorCode: number, kind: EventKind, returnRip: number): void {
  let v = vector;
  let err = errorCode;
  let k: EventKind = kind;
  let rip = returnRip;
  const ctx = sys(p);
  // An instruction that raised an event did not complete: no single-step trap for it. Event
  // delivery also ends an interrupt shadow.
  p.state.pendingSingleStep = false;
  p.state.blockingBySti = false;
  p.state.blockingByMovSs = false;
  ctx.shadowSeen = false;
  p.vectoringValid = false;
  for (;;) {
    const hook = ctx.interceptEvent;
    if (hook !== null && hook(p, v, err, k, rip)) {
      p.vectoringValid = false;
      return;
    }
    traceEvent(p, v, err, k, rip);
    // While this event is being delivered, a VM exit reports it as IDT-vectoring information.
    p.vectoringValid = true;
    p.vectoringVector = v;
    p.vectoringKind = k;
    p.vectoringError = k === EventKind.EXCEPTION && err >= 0 && pushesErrorCode(v) ? err : -1;
    try {
      deliverOnce(p, v, err, k, rip);
      p.vectoringValid = false;
      return;
    } catch (e) {
      if (e !== CPU_FAULT) {
        p.vectoringValid = false;
        throw e;
      }
      const v2 = p.pendingVector;
      const e2 = p.pendingErrorCode;
      p.pendingVector = -1;
      p.pendingErrorCode = -1;
      if (k === EventKind.EXCEPTION && v === Vec.DF) {
        p.vectoringValid = false;
        const tf = ctx.onTripleFault;
        if (tf !== null && tf(p)) return;
        p.state.rip = rip;
        enterShutdown(p, `triple fault: #${v2} while delivering #DF`, v2);
        return;
      }
      const c = k === EventKind.EXCEPTION ? combineExceptions(v, v2) : Combine.SERIAL;
      if (k === EventKind.SOFTWARE_INT || k === EventKind.SOFTWARE_EXC) rip = p.instrStart;
      if (c === Combine.DOUBLE_FAULT) {
        v = Vec.DF;
        err = 0;
      } else {
        v = v2;
        err = e2;
      }
      k = EventKind.EXCEPTION;
    }
  }
}

function traceEvent(p: Processor, v: number, err: number, k: EventKind, rip: number): void {
  const trace = sys(p).trace;
  if (trace === null) return;
  if (k === EventKind.EXCEPTION || k === EventKind.SOFTWARE_EXC) {
    if (trace.wants('cpu.exception')) trace.emit('cpu.exception', { vector: v, errorCode: err, rip, kind: KIND_NAMES[k] }, p.cpuIndex);
  } else if (trace.wants('cpu.interrupt')) {
    trace.emit('cpu.interrupt', { vector: v, source: KIND_NAMES[k], rip }, p.cpuIndex);
  }
}

const gate: Gate = { type: 0, dpl: 0, present: false, selector: 0, offset: 0, ist: 0 };

/** One delivery attempt; faults (CPU_FAULT) before committing anything. */
function deliverOnce(p: Processor, v: number, err: number, k: EventKind, rip: number): void {
  const s = p.state;
  if ((s.cr0 & Cr0.PE) === 0) {
    deliverReal(p, v, rip);
    return;
  }
  if (s.rflags & Flag.VM) throw new NotImplementedError('virtual-8086 mode', 'event delivery with RFLAGS.VM = 1');
  const pushErr = k === EventKind.EXCEPTION && err >= 0 && pushesErrorCode(v);
  const ext = k === EventKind.SOFTWARE_INT || k === EventKind.SOFTWARE_EXC ? 0 : 1;
  if (s.efer & Efer.LMA) deliverLong(p, v, pushErr ? err : -1, k, rip, ext);
  else deliverProtected(p, v, pushErr ? err : -1, k, rip, ext);
}

// ---------------------------------------------------------------------------- stack helpers

/** Is a `width`-byte access at stack offset `off` inside segment (ar, limit)? (expand-up / expand-down) */
function stackSlotOk(ar: number, limit: number, off: number, width: number): boolean {
  if ((ar & (AR.CODE | AR.DC)) === AR.DC) {
    const upper = ar & AR.DB ? 0xffffffff : 0xffff;
    return off > limit && off + width - 1 <= upper;
  }
  return off + width - 1 <= limit;
}

/** Writes `width` bytes at a linear stack address with the privilege of the new CPL. */
function stackWrite(p: Processor, lin: number, width: number, lo: number, hi: number, supervisor: boolean): void {
  if (supervisor) {
    if (width === 8) p.writeLinear64(lin, lo, hi);
    else if (width === 4) p.writeLinear32(lin, lo);
    else p.writeLinear16(lin, lo);
  } else if (width === 8) p.lwrite64(lin, lo, hi);
  else if (width === 4) p.lwrite32(lin, lo);
  else p.lwrite16(lin, lo);
}

// Values of the frame being built (lo halves; hi halves for 64-bit frames).
const frameLo = new Int32Array(6);
const frameHi = new Int32Array(6);
const frameOffs = new Float64Array(6);

/**
 * Legacy (non-IA-32e) frame write: `n` slots of `width` bytes below offset `top` in a segment
 * (base, limit, ar); stack-address size from ar.DB. Checks every slot, then writes. Returns the new SP.
 */
function pushFrameLegacy(p: Processor, n: number, width: number, base: number, limit: number, ar: number, top: number, faultVec: number, faultErr: number, supervisor: boolean): number {
  const mask = ar & AR.DB ? 0xffffffff : 0xffff;
  let off = top;
  const offs = frameOffs;
  for (let i = 0; i < n; i++) {
    off = mask === 0xffff ? (off - width) & 0xffff : (off - width) >>> 0;
    if (!stackSlotOk(ar, limit, off, width)) p.fault(faultVec, faultErr);
    offs[i] = off;
  }
  for (let i = 0; i < n; i++) stackWrite(p, (base + offs[i]) >>> 0, width, frameLo[i], 0, supervisor);
  return off;
}

// ---------------------------------------------------------------------------- real mode

function deliverReal(p: Processor, v: number, rip: number): void {
  const s = p.state;
  if (v * 4 + 3 > s.idtrLimit) p.fault(Vec.GP, 0);
  const entry = p.readLinear32(tableLinear(p, s.idtrBase, v * 4));
  const flags = p.getRflags();
  frameLo[0] = flags & 0xffff;
  frameLo[1] = s.segSel[Seg.CS];
  frameLo[2] = rip & 0xffff;
  const ssAr = s.segAr[Seg.SS];
  const top = ssAr & AR.DB ? p.lo[4] >>> 0 : p.lo[4] & 0xffff;
  const sp = pushFrameLegacy(p, 3, 2, s.segBase[Seg.SS], s.segLimit[Seg.SS], ssAr, top, Vec.SS, 0, true);
  // Commit.
  if (ssAr & AR.DB) p.lo[4] = sp;
  else p.lo[4] = (p.lo[4] & ~0xffff) | sp;
  const cs = (entry >>> 16) & 0xffff;
  s.segSel[Seg.CS] = cs;
  s.segBase[Seg.CS] = cs * 16;
  s.rip = entry & 0xffff;
  p.setRflags(flags & ~(Flag.IF | Flag.TF | Flag.AC | Flag.RF));
  p.modeChanged();
}

// ---------------------------------------------------------------------------- protected mode (legacy)

function readGate(p: Processor, v: number, long: boolean, ext: number): void {
  const s = p.state;
  const size = long ? 16 : 8;
  const idtErr = v * 8 + 2 + ext;
  if (v * size + size - 1 > s.idtrLimit) p.fault(Vec.GP, idtErr);
  const addr = tableLinear(p, s.idtrBase, v * size);
  const w0 = p.readLinear32(addr);
  const w1 = p.readLinear32(tableLinear(p, addr, 4));
  let w2 = 0;
  let w3 = 0;
  if (long) {
    w2 = p.readLinear32(tableLinear(p, addr, 8));
    w3 = p.readLinear32(tableLinear(p, addr, 12));
  }
  decodeGate(w0, w1, w2, long, gate);
  const isSystem = (w1 & 0x1000) === 0;
  if (long) {
    if (!isSystem || (gate.type !== SysType.INT_GATE && gate.type !== SysType.TRAP_GATE) || ((w3 >>> 8) & 0x1f) !== 0) p.fault(Vec.GP, idtErr);
  } else {
    if (isSystem && gate.type === SysType.TASK_GATE) {
      if (p.vmxGuest !== null) p.vmxGuest.taskSwitch(p, gate.selector, TaskSwitchSource.TASK_GATE);
      throw new TaskSwitchNotSupportedError(`IDT vector ${v} is a task gate`);
    }
    const t = gate.type;
    if (!isSystem || !(t === SysType.INT_GATE || t === SysType.TRAP_GATE || t === SysType.INT_GATE16 || t === SysType.TRAP_GATE16)) p.fault(Vec.GP, idtErr);
  }
}

/** Common gate checks: software-interrupt DPL, present, target code segment (left in D). Returns the new code segment's DPL. */
function checkGateTarget(p: Processor, v: number, k: EventKind, ext: number, long: boolean): number {
  const idtErr = v * 8 + 2 + ext;
  if ((k === EventKind.SOFTWARE_INT || k === EventKind.SOFTWARE_EXC) && gate.dpl < p.cpl) p.fault(Vec.GP, v * 8 + 2);
  if (!gate.present) p.fault(Vec.NP, idtErr);
  const sel = gate.selector;
  if ((sel & 0xfffc) === 0) p.fault(Vec.GP, ext);
  const selErr = (sel & 0xfffc) + ext;
  if (!readDescriptor(p, sel)) p.fault(Vec.GP, selErr);
  const ar = D.ar;
  const dpl = (ar & AR.DPL_MASK) >>> AR.DPL_SHIFT;
  if ((ar & (AR.S | AR.CODE)) !== (AR.S | AR.CODE) || dpl > p.cpl) p.fault(Vec.GP, selErr);
  if (long && (ar & (AR.L | AR.DB)) !== AR.L) p.fault(Vec.GP, selErr);
  if ((ar & AR.P) === 0) p.fault(Vec.NP, selErr);
  return dpl;
}

function deliverProtected(p: Processor, v: number, err: number, k: EventKind, rip: number, ext: number): void {
  const s = p.state;
  readGate(p, v, false, ext);
  const gateType = gate.type;
  const gate32 = gateType >= 8;
  const width = gate32 ? 4 : 2;
  const interruptGate = gateType === SysType.INT_GATE || gateType === SysType.INT_GATE16;
  const sel = gate.selector;
  const cpl = p.cpl;
  const dpl = checkGateTarget(p, v, k, ext, false);
  const conforming = (D.ar & AR.DC) !== 0;
  setAccessed(p);
  const csBase = D.base;
  const csLimit = D.limit;
  const csAr = D.ar;
  const offset = gate32 ? gate.offset : gate.offset & 0xffff;
  const flags = p.getRflags();
  const hasErr = err >= 0 ? 1 : 0;

  if (!conforming && dpl < cpl) {
    // Inter-privilege: new stack from the TSS.
    const trSel = s.segSel[Seg.TR];
    const trAr = s.segAr[Seg.TR];
    const trType = trAr & 0xf;
    const tss32 = trType === SysType.TSS_AVAIL || trType === SysType.TSS_BUSY;
    const tssErr = (trSel & 0xfffc) + ext;
    if (trAr & AR.UNUSABLE) p.fault(Vec.TS, tssErr);
    let newSs: number;
    let newSp: number;
    if (tss32) {
      const a = dpl * 8 + 4;
      if (a + 5 > s.segLimit[Seg.TR]) p.fault(Vec.TS, tssErr);
      newSp = p.readLinear32(tableLinear(p, s.segBase[Seg.TR], a)) >>> 0;
      newSs = p.readLinear16(tableLinear(p, s.segBase[Seg.TR], a + 4));
    } else {
      const a = dpl * 4 + 2;
      if (a + 3 > s.segLimit[Seg.TR]) p.fault(Vec.TS, tssErr);
      newSp = p.readLinear16(tableLinear(p, s.segBase[Seg.TR], a));
      newSs = p.readLinear16(tableLinear(p, s.segBase[Seg.TR], a + 2));
    }
    checkStackSegment(p, newSs, dpl, Vec.TS, ext);
    const ssBase = D.base;
    const ssLimit = D.limit;
    const ssAr = D.ar;
    if (!(ssAr & AR.DB)) newSp &= 0xffff;
    if (offset > csLimit) p.fault(Vec.GP, ext);
    const oldSp = p.lo[4];
    let n = 0;
    frameLo[n++] = s.segSel[Seg.SS];
    frameLo[n++] = oldSp;
    frameLo[n++] = flags;
    frameLo[n++] = s.segSel[Seg.CS];
    frameLo[n++] = rip;
    if (hasErr) frameLo[n++] = err;
    if (width === 2) for (let i = 0; i < n; i++) frameLo[i] &= 0xffff;
    const sp = pushFrameLegacy(p, n, width, ssBase, ssLimit, ssAr, newSp, Vec.SS, (newSs & 0xfffc) + ext, dpl < 3);
    // Commit.
    s.segSel[Seg.SS] = (newSs & 0xfffc) | dpl;
    s.segBase[Seg.SS] = ssBase;
    s.segLimit[Seg.SS] = ssLimit;
    s.segAr[Seg.SS] = ssAr;
    if (ssAr & AR.DB) {
      p.lo[4] = sp;
      p.hi[4] = 0;
    } else p.lo[4] = (p.lo[4] & ~0xffff) | sp;
    commitCs(p, (sel & 0xfffc) | dpl, csBase, csLimit, csAr, offset, flags, interruptGate);
    return;
  }
  // Intra-privilege (conforming target, or DPL = CPL): current stack.
  if (offset > csLimit) p.fault(Vec.GP, ext);
  let n = 0;
  frameLo[n++] = flags;
  frameLo[n++] = s.segSel[Seg.CS];
  frameLo[n++] = rip;
  if (hasErr) frameLo[n++] = err;
  if (width === 2) for (let i = 0; i < n; i++) frameLo[i] &= 0xffff;
  const ssAr = s.segAr[Seg.SS];
  if (ssAr & AR.UNUSABLE) p.fault(Vec.SS, ext);
  const top = ssAr & AR.DB ? p.lo[4] >>> 0 : p.lo[4] & 0xffff;
  const sp = pushFrameLegacy(p, n, width, s.segBase[Seg.SS], s.segLimit[Seg.SS], ssAr, top, Vec.SS, ext, cpl < 3);
  if (ssAr & AR.DB) {
    p.lo[4] = sp;
    p.hi[4] = 0;
  } else p.lo[4] = (p.lo[4] & ~0xffff) | sp;
  commitCs(p, (sel & 0xfffc) | cpl, csBase, csLimit, csAr, offset, flags, interruptGate);
}

function commitCs(p: Processor, sel: number, base: number, limit: number, ar: number, rip: number, flags: number, interruptGate: boolean): void {
  const s = p.state;
  s.segSel[Seg.CS] = sel;
  s.segBase[Seg.CS] = base;
  s.segLimit[Seg.CS] = limit;
  // CPL = RPL of the new CS: the cached DPL of a conforming segment becomes the CPL.
  s.segAr[Seg.CS] = (ar & ~AR.DPL_MASK) | ((sel & 3) << AR.DPL_SHIFT);
  s.rip = rip;
  let f = flags & ~(Flag.TF | Flag.NT | Flag.RF | Flag.VM);
  if (interruptGate) f &= ~Flag.IF;
  p.setRflags(f);
  p.modeChanged();
}

// ---------------------------------------------------------------------------- IA-32e mode

function deliverLong(p: Processor, v: number, err: number, k: EventKind, rip: number, ext: number): void {
  const s = p.state;
  readGate(p, v, true, ext);
  const interruptGate = gate.type === SysType.INT_GATE;
  const sel = gate.selector;
  const cpl = p.cpl;
  const dpl = checkGateTarget(p, v, k, ext, true);
  const conforming = (D.ar & AR.DC) !== 0;
  setAccessed(p);
  const csBase = D.base;
  const csLimit = D.limit;
  const csAr = D.ar;
  const target = gate.offset;
  if (!isCanonical(target)) p.fault(Vec.GP, ext);
  const newCpl = !conforming && dpl < cpl ? dpl : cpl;
  let rsp: number;
  if (gate.ist !== 0 || newCpl !== cpl) {
    const trAr = s.segAr[Seg.TR];
    const tssErr = (s.segSel[Seg.TR] & 0xfffc) + ext;
    if (trAr & AR.UNUSABLE) p.fault(Vec.TS, tssErr);
    const a = gate.ist !== 0 ? gate.ist * 8 + 28 : newCpl * 8 + 4;
    if (a + 7 > s.segLimit[Seg.TR]) p.fault(Vec.TS, tssErr);
    const lo = p.readLinear64(tableLinear(p, s.segBase[Seg.TR], a));
    rsp = p.rhi * TWO32 + (lo >>> 0);
    if (!isCanonical(rsp)) p.fault(Vec.SS, ext);
  } else {
    rsp = p.hi[4] * TWO32 + (p.lo[4] >>> 0);
  }
  // Align to 16 bytes (exact on the sign-extended number: the low 4 bits are those of lo).
  rsp -= ((rsp % 16) + 16) % 16;
  const flags = p.getRflags();
  let n = 0;
  const oldRspLo = p.lo[4];
  const oldRspHi = p.hi[4];
  frameLo[n] = s.segSel[Seg.SS];
  frameHi[n++] = 0;
  frameLo[n] = oldRspLo;
  frameHi[n++] = oldRspHi;
  frameLo[n] = flags;
  frameHi[n++] = 0;
  frameLo[n] = s.segSel[Seg.CS];
  frameHi[n++] = 0;
  frameLo[n] = rip | 0;
  frameHi[n++] = Math.floor(rip / TWO32) | 0;
  if (err >= 0) {
    frameLo[n] = err;
    frameHi[n++] = 0;
  }
  const lowest = rsp - 8 * n;
  if (!isCanonical(lowest) || !isCanonical(rsp - 1)) p.fault(Vec.SS, ext);
  const supervisor = newCpl < 3;
  for (let i = 0; i < n; i++) stackWrite(p, rsp - 8 * (i + 1), 8, frameLo[i], frameHi[i], supervisor);
  // Commit.
  if (newCpl !== cpl) {
    s.segSel[Seg.SS] = newCpl;
    s.segBase[Seg.SS] = 0;
    s.segLimit[Seg.SS] = 0;
    s.segAr[Seg.SS] = AR.UNUSABLE | AR.S | AR.RW | AR.ACCESSED | (newCpl << AR.DPL_SHIFT);
  }
  p.lo[4] = lowest | 0;
  p.hi[4] = Math.floor(lowest / TWO32) | 0;
  commitCs(p, (sel & 0xfffc) | newCpl, csBase, csLimit, csAr, target, flags, interruptGate);
}
