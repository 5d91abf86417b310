/**
 * One logical processor: the fetch / decode / dispatch loop of the interpreter.
 *
 * Class chain: CoreBase (fault.ts: state, fault(), GPR helpers) → FlagsCore (flags.ts: lazy flags)
 * → MemoryCore (memory-access.ts: segmentation, translation, bus, stack) → Processor (here).
 *
 * - **Decoded-instruction cache** keyed by physical page and decode mode: `CodePage` objects hold
 *   4096 slots of decoded instructions (allocated once per decode, reused for every execution).
 *   Pages are marked with `SparseMemory.markCodePage`; the memory's write listener drops the page's
 *   decodings on any write (self-modifying code, DMA, snapshot restore). Instructions that cross a
 *   page boundary, and code fetched from MMIO or outside RAM, are decoded on every execution.
 * - **Fetch window**: the linear page currently executing and its slot array; valid while RIP stays
 *   in the page, the CS limit is not near, and nothing invalidated it (mode change, TLB flush,
 *   code write).
 * - **Mode cache**: `modeChanged()` recomputes code size (16/32/64 = decode mode), stack size,
 *   CPL, paging, CS base/limit; SYSTEM calls it after any change of CS, SS.B, CR0, CR4, EFER, RFLAGS.VM
 *   (and it is safe to call it more often: e.g. after every MOV to CR / WRMSR EFER / task switch).
 * - **Events**: `eventsPending` (boolean) is checked at every instruction boundary; when true the
 *   loop calls `checkEvents(p)` (interrupts.ts). Whoever makes an event pending (NMI, INTR, INIT,
 *   SIPI, STI/MOV SS shadows, TF, HLT) sets it; `checkEvents` clears it when nothing is left.
 *   `run()` also returns early when `stopRequested` is set (by anyone) or the activity state is not
 *   ACTIVE after an instruction/event.
 * - **Faults**: see fault.ts. The loop catches CPU_FAULT, restores RIP to `instrStart` and calls
 *   `deliverException(p)` (exceptions.ts).
 */
import { decode, DecodedInstruction, Form, Op, Prefix, Status, type CodeMode } from '@latelaunch/x86-isa';
import { PageAccess, type AddressTranslator, type PagingControl } from '@latelaunch/kernel';
import type { Bus } from '../bus/bus.js';
import { CPU_FAULT, VM_EXIT } from './fault.js';
import { FAST_SEG_MASK, FAST_SEG_OK, MemoryCore } from './memory-access.js';
import { Activity, AR, Flag, Seg, Vec, type CpuState } from './state.js';
import * as A from './arith.js';
import * as D from './data.js';
import * as C from './control.js';
import * as S from './string.js';
import { execSystem } from './system.js';
import { execFar } from './far.js';
import { deliverException } from './exceptions.js';
import { checkEvents } from './interrupts.js';

/** Native-service dispatch (DESIGN §4). The MACHINE helper provides the registry. */
export interface NativeServiceHost {
  /** Runs service `service` (RIP already points after the instruction). May call `p.fault(...)`. */
  call(p: Processor, service: number): void;
}

/** Default host: no services, the instruction is the #UD it is on real hardware. */
export const NO_NATIVE_SERVICES: NativeServiceHost = {
  call(p: Processor): void {
    p.fault(Vec.UD);
  },
};

/** Handler ids (dense; inlined literals). */
const enum K {
  SYSTEM = 0,
  ADD_RR32, SUB_RR32, CMP_RR32, XOR_RR32, AND_RR32, OR_RR32, TEST_RR32,
  ADD_RI32, SUB_RI32, CMP_RI32, AND_RI32,
  MOV_RR32, MOV_RI32, MOV_LOAD32, MOV_STORE32, MOV_LOAD32A, MOV_STORE32A, LEA32, INC_R32, DEC_R32, JZ, JNZ,
  ALU, INCDEC, NEGNOT, MUL, DIV, SHIFT, SHIFTD, BT, BSCAN, SETCC, CMOVCC, CBW, CWD, XADD, CMPXCHG, CMPXCHG8B,
  BSWAP, LAHF, SAHF, CLC, STC, CMC, CLD, STD,
  MOV, MOVX, LEA, XCHG, PUSH, PUSH_SREG, POP, PUSHF, POPF, PUSHA, POPA, ENTER, LEAVE, XLAT, NOP,
  JCC, JMP, CALL, RET, LOOP, JCXZ,
  MOVS, STOS, LODS, CMPS, SCAS, INS, OUTS,
  FAR, UD, GP, NATIVE,
  ADD_RR64, SUB_RR64, CMP_RR64, XOR_RR64, AND_RR64, OR_RR64, TEST_RR64, ADD_RI64, SUB_RI64, CMP_RI64, AND_RI64,
  MOV_RR64, MOV_RI64, MOV_LOAD64, MOV_STORE64, LEA64, INC_R64, DEC_R64, JCC64,
  JCC32, PUSH_R32, POP_R32, CALL_REL32, RET32,
}

const TWO32 = 4294967296;
const ALL_STATUS = Flag.CF | Flag.PF | Flag.AF | Flag.ZF | Flag.SF | Flag.OF;
const INC_DEC_LAZY = Flag.PF | Flag.AF | Flag.ZF | Flag.SF | Flag.OF;

/** Generic handler id of each Op (SYSTEM = 0 for everything SYSTEM executes). */
const OP_K = new Uint8Array(256);
{
  const m: [number[], K][] = [
    [[Op.ADD, Op.OR, Op.ADC, Op.SBB, Op.AND, Op.SUB, Op.XOR, Op.CMP, Op.TEST], K.ALU],
    [[Op.INC, Op.DEC], K.INCDEC],
    [[Op.NEG, Op.NOT], K.NEGNOT],
    [[Op.MUL, Op.IMUL], K.MUL],
    [[Op.DIV, Op.IDIV], K.DIV],
    [[Op.ROL, Op.ROR, Op.RCL, Op.RCR, Op.SHL, Op.SHR, Op.SAR], K.SHIFT],
    [[Op.SHLD, Op.SHRD], K.SHIFTD],
    [[Op.BT, Op.BTS, Op.BTR, Op.BTC], K.BT],
    [[Op.BSF, Op.BSR], K.BSCAN],
    [[Op.SETCC], K.SETCC],
    [[Op.CMOVCC], K.CMOVCC],
    [[Op.CBW], K.CBW],
    [[Op.CWD], K.CWD],
    [[Op.XADD], K.XADD],
    [[Op.CMPXCHG], K.CMPXCHG],
    [[Op.CMPXCHG8B], K.CMPXCHG8B],
    [[Op.BSWAP], K.BSWAP],
    [[Op.LAHF], K.LAHF],
    [[Op.SAHF], K.SAHF],
    [[Op.CLC], K.CLC],
    [[Op.STC], K.STC],
    [[Op.CMC], K.CMC],
    [[Op.CLD], K.CLD],
    [[Op.STD], K.STD],
    [[Op.MOV], K.MOV],
    [[Op.MOVZX, Op.MOVSX, Op.MOVSXD], K.MOVX],
    [[Op.LEA], K.LEA],
    [[Op.XCHG], K.XCHG],
    [[Op.PUSH], K.PUSH],
    [[Op.POP], K.POP],
    [[Op.PUSHF], K.PUSHF],
    [[Op.POPF], K.POPF],
    [[Op.PUSHA], K.PUSHA],
    [[Op.POPA], K.POPA],
    [[Op.ENTER], K.ENTER],
    [[Op.LEAVE], K.LEAVE],
    [[Op.XLAT], K.XLAT],
    [[Op.NOP, Op.PAUSE], K.NOP],
    [[Op.JCC], K.JCC],
    [[Op.JMP], K.JMP],
    [[Op.CALL], K.CALL],
    [[Op.RET], K.RET],
    [[Op.LOOP, Op.LOOPE, Op.LOOPNE], K.LOOP],
    [[Op.JCXZ], K.JCXZ],
    [[Op.MOVS], K.MOVS],
    [[Op.STOS], K.STOS],
    [[Op.LODS], K.LODS],
    [[Op.CMPS], K.CMPS],
    [[Op.SCAS], K.SCAS],
    [[Op.INS], K.INS],
    [[Op.OUTS], K.OUTS],
    [[Op.JMPF, Op.CALLF, Op.RETF, Op.IRET, Op.INT, Op.INT3, Op.INTO, Op.SYSCALL, Op.SYSRET, Op.MOV_SREG, Op.LDS, Op.LES, Op.LFS, Op.LGS, Op.LSS], K.FAR],
    [[Op.UD0, Op.UD1, Op.UD2, Op.INVALID], K.UD],
    [[Op.NATIVE], K.NATIVE],
  ];
  for (const [ops, k] of m) for (const op of ops) OP_K[op] = k;
}

/** A cached decoded instruction: the decoder's fields plus the dispatch id. */
export class CachedInsn extends DecodedInstruction {
  /** Dispatch id (handler). */
  xop = 0;
  /** Destination / source register of the specialised register forms (-1 when unused). */
  dst = -1;
  src = -1;
}

class CodePage {
  readonly insns: (CachedInsn | undefined)[] = new Array<CachedInsn | undefined>(4096).fill(undefined);
  constructor(
    readonly pfn: number,
    readonly key: number,
  ) {}
}

export interface ProcessorOptions {
  /** Processor index (bus initiator id). Default 0. */
  index?: number;
  mmu?: AddressTranslator;
  pagingControl?: PagingControl;
  nativeServices?: NativeServiceHost;
}

function finishInsn(i: CachedInsn, mode: number): CachedInsn {
  i.dst = -1;
  i.src = -1;
  if (i.status !== Status.OK) {
    i.xop = i.status === Status.TOO_LONG ? K.GP : K.UD; // UNSUPPORTED, INVALID_LOCK
    return i;
  }
  const op = i.op;
  let k = OP_K[op] as K;
  if (op === Op.PUSH && i.form === Form.S) k = K.PUSH_SREG;
  else if (op === Op.POP && i.form === Form.S) k = K.FAR;
  if (i.opSize === 32 && (i.prefixes & ~Prefix.REX) === 0) k = specialize32(i, k, mode);
  else if (i.opSize === 64 && (i.prefixes & ~Prefix.REX) === 0) k = specialize64(i, k);
  i.xop = k;
  return i;
}

/** Specialised handlers of the register-only ALU forms, per operand width. */
const ALU_RR: Record<32 | 64, ReadonlyMap<number, K>> = {
  32: new Map([[Op.ADD, K.ADD_RR32], [Op.SUB, K.SUB_RR32], [Op.CMP, K.CMP_RR32], [Op.XOR, K.XOR_RR32], [Op.AND, K.AND_RR32], [Op.OR, K.OR_RR32], [Op.TEST, K.TEST_RR32]]),
  64: new Map([[Op.ADD, K.ADD_RR64], [Op.SUB, K.SUB_RR64], [Op.CMP, K.CMP_RR64], [Op.XOR, K.XOR_RR64], [Op.AND, K.AND_RR64], [Op.OR, K.OR_RR64], [Op.TEST, K.TEST_RR64]]),
};
const ALU_RI: Record<32 | 64, ReadonlyMap<number, K>> = {
  32: new Map([[Op.ADD, K.ADD_RI32], [Op.SUB, K.SUB_RI32], [Op.CMP, K.CMP_RI32], [Op.AND, K.AND_RI32]]),
  64: new Map([[Op.ADD, K.ADD_RI64], [Op.SUB, K.SUB_RI64], [Op.CMP, K.CMP_RI64], [Op.AND, K.AND_RI64]]),
};

/** Register/immediate ALU forms shared by both widths: fills dst/src and picks the handler. */
function specializeAlu(i: CachedInsn, k: K, width: 32 | 64): K {
  const f = i.form;
  if (i.isMem) return k;
  if (f === Form.E_G || f === Form.G_E) {
    i.dst = f === Form.E_G ? i.rm : i.reg;
    i.src = f === Form.E_G ? i.reg : i.rm;
    return ALU_RR[width].get(i.op) ?? k;
  }
  if (f === Form.E_I) {
    i.dst = i.rm;
    return ALU_RI[width].get(i.op) ?? k;
  }
  return k;
}

/** MOV register, load, store and immediate forms shared by both widths. */
function specializeMov(i: CachedInsn, k: K, rr: K, store: K, load: K, ri: K): K {
  const f = i.form;
  if (f === Form.E_G) {
    i.src = i.reg;
    if (!i.isMem) {
      i.dst = i.rm;
      return rr;
    }
    return store;
  }
  if (f === Form.G_E) {
    i.dst = i.reg;
    if (!i.isMem) {
      i.src = i.rm;
      return rr;
    }
    return load;
  }
  if (f === Form.E_I && !i.isMem) {
    i.dst = i.rm;
    return ri;
  }
  return k;
}

/** Picks a specialised handler for hot 64-bit forms (64-bit mode, no prefixes but REX). */
function specialize64(i: CachedInsn, k: K): K {
  if (k === K.ALU) return specializeAlu(i, k, 64);
  if (k === K.MOV) return specializeMov(i, k, K.MOV_RR64, K.MOV_STORE64, K.MOV_LOAD64, K.MOV_RI64);
  if (k === K.LEA && i.addrSize === 64) {
    i.dst = i.reg;
    return K.LEA64;
  }
  if (k === K.INCDEC && !i.isMem) {
    i.dst = i.rm;
    return i.op === Op.INC ? K.INC_R64 : K.DEC_R64;
  }
  if (k === K.JCC) return K.JCC64;
  return k;
}

/** Picks a specialised handler for hot 32-bit forms (no prefixes). */
function specialize32(i: CachedInsn, k: K, mode: number): K {
  if (k === K.ALU) return specializeAlu(i, k, 32);
  if (k === K.MOV) {
    const a32 = mode !== 64 && i.addrSize === 32;
    return specializeMov(i, k, K.MOV_RR32, a32 ? K.MOV_STORE32A : K.MOV_STORE32, a32 ? K.MOV_LOAD32A : K.MOV_LOAD32, K.MOV_RI32);
  }
  if (k === K.LEA && mode !== 64 && i.addrSize === 32) {
    i.dst = i.reg;
    return K.LEA32;
  }
  if (k === K.INCDEC && !i.isMem) {
    i.dst = i.rm;
    return i.op === Op.INC ? K.INC_R32 : K.DEC_R32;
  }
  if (k === K.JCC && mode !== 64) return i.cc === 4 ? K.JZ : i.cc === 5 ? K.JNZ : K.JCC32;
  if (mode !== 64) {
    if (k === K.PUSH && i.form === Form.E && !i.isMem) {
      i.dst = i.rm;
      return K.PUSH_R32;
    }
    if (k === K.POP && i.form === Form.E && !i.isMem) {
      i.dst = i.rm;
      return K.POP_R32;
    }
    if (k === K.CALL && i.form === Form.REL) return K.CALL_REL32;
    if (k === K.RET && i.form === Form.NONE) return K.RET32;
  }
  return k;
}

export class Processor extends MemoryCore {
  /** Code size / decode mode: 16, 32 or 64. */
  codeSize: CodeMode = 16;
  nativeServices: NativeServiceHost;
  /** An event may need attention at the next instruction boundary (see file comment). */
  eventsPending = false;
  /** Set to make `run()` return at the next boundary. Cleared on `run()` entry. */
  stopRequested = false;
  /**
   * Exception deliveries made by the last {@link run} call. Each one uses up one unit of that
   * call's budget (it is not a retired instruction), so a guest whose handler faults again on its
   * first instruction still returns control to the scheduler and cannot outlive an instruction budget.
   */
  lastRunDeliveries = 0;
  /** tryStep(): faults are captured instead of delivered. */
  private captureFaults = false;
  private capturedVector = -1;
  /** Statistics: decodes performed (cache misses). */
  decodeCount = 0;

  private csBase = 0;
  private csLimit = 0xffff;
  private readonly codeCache = new Map<number, CodePage>();
  /** RIP of the first byte of the current fetch page (NaN: no fetch window). */
  private fetchBase = NaN;
  private fetchInsns: (CachedInsn | undefined)[] = [];
  private fetchPfn = -1;
  private fetchEipMax = -1;
  private readonly scratchInsn = new CachedInsn();
  private readonly crossBuf = new Uint8Array(16);
  private unsubscribeCode: (() => void) | null;

  constructor(state: CpuState, bus: Bus, options: ProcessorOptions = {}) {
    super(state, bus, options.index ?? 0, options.mmu, options.pagingControl);
    this.nativeServices = options.nativeServices ?? NO_NATIVE_SERVICES;
    this.unsubscribeCode = this.mem.onCodePageWrite((pfn) => this.codeWritten(pfn));
    this.modeChanged();
  }

  /** Unregisters from the memory (code-page listener). */
  dispose(): void {
    this.unsubscribeCode?.();
    this.unsubscribeCode = null;
  }

  /** Recomputes every mode-dependent cache. Call after any change of CS, SS, CR0/CR3/CR4, EFER, RFLAGS.VM or CPL. */
  modeChanged(): void {
    this.recomputeMemoryMode();
    const s = this.state;
    const ar = s.segAr[Seg.CS];
    this.codeSize = this.is64 ? 64 : (s.rflags & Flag.VM) === 0 && (ar & AR.DB) !== 0 ? 32 : 16;
    this.csBase = this.is64 ? 0 : s.segBase[Seg.CS];
    this.csLimit = this.is64 ? Infinity : s.segLimit[Seg.CS];
    this.invalidateFetch();
  }

  /**
   * Makes `state` complete: writes the lazy status flags into `state.rflags`. Call before copying
   * or inspecting the CpuState from outside (snapshots, VM exits, capture).
   */
  syncToState(): void {
    this.materializeFlags();
  }

  /**
   * Adopts a CpuState that was written from outside (snapshot restore, VM entry, INIT by the
   * machine): drops the lazy flags (state.rflags is taken as is), the fast TLB and the fetch window,
   * and recomputes the mode cache. (The decoded-instruction cache follows memory by itself.)
   */
  syncFromState(): void {
    this.lazy = 0;
    this.modeChanged();
  }

  /** Drops the fetch window (and the fast TLB). Called on TLB flushes. */
  override flushFastTlb(): void {
    super.flushFastTlb();
    this.fetchBase = NaN;
  }

  private invalidateFetch(): void {
    this.fetchBase = NaN;
    this.fetchEipMax = this.is64 ? Infinity : this.csLimit - 14;
  }

  /** Memory listener: page `pfn` was written; forget its decodings. */
  private codeWritten(pfn: number): void {
    this.codeCache.delete(pfn * 4);
    this.codeCache.delete(pfn * 4 + 1);
    this.codeCache.delete(pfn * 4 + 2);
    if (pfn === this.fetchPfn) {
      this.fetchBase = NaN;
      this.fetchPfn = -1;
    }
  }

  /** Drops all decoded instructions (and unmarks the pages). */
  flushCodeCache(): void {
    for (const page of this.codeCache.values()) this.mem.unmarkCodePage(page.pfn);
    this.codeCache.clear();
    this.fetchBase = NaN;
    this.fetchPfn = -1;
  }

  // ------------------------------------------------------------------ fetch

  /** Slow fetch: limit/canonical checks, translation, cache fill, page-crossing and MMIO fetches. */
  private fetchSlow(rip: number): CachedInsn {
    const mode = this.codeSize;
    if (!this.is64 && rip > this.csLimit) this.fault(Vec.GP, 0);
    const lin = this.is64 ? rip : (this.csBase + rip) >>> 0;
    if (this.is64 && (lin < -0x800000000000 || lin >= 0x800000000000)) this.fault(Vec.GP, 0);
    const pa = this.translate(lin, PageAccess.EXEC);
    const pfn = Math.floor(pa / 4096);
    const off = lin & 0xfff;
    let bytes: Uint8Array | null = null;
    let page: CodePage | undefined;
    if (!this.bus.isMmioPage(pfn)) {
      bytes = this.mem.getPageForRead(pfn);
      if (bytes !== null) {
        const key = pfn * 4 + (mode === 16 ? 0 : mode === 32 ? 1 : 2);
        page = this.codeCache.get(key);
        if (page === undefined) {
          page = new CodePage(pfn, key);
          this.codeCache.set(key, page);
          this.mem.markCodePage(pfn);
        }
        // Window keyed by RIP (CS base folded in). None when an instruction starting in this page
        // could run past the CS limit (then every fetch checks the limit here), nor across a
        // 4 GiB wrap of CS base + EIP.
        this.fetchBase = !this.is64 && (this.csBase + rip >= 0x100000000 || rip - off + 4095 + 14 > this.csLimit) ? NaN : rip - off;
        this.fetchInsns = page.insns;
        this.fetchPfn = pfn;
        this.fetchEipMax = this.is64 ? Infinity : this.csLimit - 14;
        const cached = page.insns[off];
        if (cached !== undefined && rip <= this.fetchEipMax) return cached;
      }
    }
    let insn: CachedInsn;
    if (bytes !== null && page !== undefined) {
      insn = new CachedInsn();
      decode(bytes, off, mode, insn, 4096 - off);
      this.decodeCount++;
      if (insn.status !== Status.TRUNCATED) {
        finishInsn(insn, mode);
        page.insns[off] = insn;
        this.checkFetchLimit(rip, insn);
        return insn;
      }
    }
    // Page-crossing instruction, MMIO or non-RAM code: gather up to 15 bytes, decode uncached.
    const buf = this.crossBuf;
    const first = Math.min(15, 4096 - off);
    for (let k = 0; k < first; k++) buf[k] = this.bus.read8(pa + k, this.cpuIndex);
    insn = this.scratchInsn;
    decode(buf, 0, mode, insn, first);
    this.decodeCount++;
    if (insn.status === Status.TRUNCATED) {
      // Needs bytes from the next page: translate it for execution (may #PF with CR2 in that page).
      if (!this.is64 && rip + first > this.csLimit) this.fault(Vec.GP, 0);
      const pa2 = this.translate(this.is64 ? lin + first : (lin + first) >>> 0, PageAccess.EXEC);
      for (let k = first; k < 15; k++) buf[k] = this.bus.read8(pa2 + (k - first), this.cpuIndex);
      decode(buf, 0, mode, insn, 15);
    }
    finishInsn(insn, mode);
    this.checkFetchLimit(rip, insn);
    return insn;
  }

  private checkFetchLimit(rip: number, insn: CachedInsn): void {
    if (!this.is64 && rip + insn.length - 1 > this.csLimit) this.fault(Vec.GP, 0);
  }

  // ------------------------------------------------------------------ run loop

  /** Executes one instruction (or handles one event); returns the number of instructions retired (0 or 1). */
  step(): number {
    return this.run(1);
  }

  /**
   * Runs up to `maxInstructions` instructions. Returns the number retired (faulting instructions
   * and event deliveries are not counted; each exception delivery uses up one unit of
   * `maxInstructions`, see {@link lastRunDeliveries}). Returns early when the processor leaves the ACTIVE
   * state (HLT, shutdown, wait-for-SIPI) or `stopRequested` is set.
   */
  run(maxInstructions: number): number {
    const s = this.state;
    this.stopRequested = false;
    this.lastRunDeliveries = 0;
    if (s.activity !== Activity.ACTIVE) {
      if (this.eventsPending) {
        try {
          checkEvents(this);
        } catch (e) {
          if (e !== VM_EXIT) throw e;
        }
      }
      if (!this.isActive()) return 0;
    }
    const n = this.runLoop(maxInstructions);
    s.retired += n;
    return n;
  }

  /**
   * The instruction loop (one try/catch around it, re-entered after a fault was delivered).
   *
   * RIP is kept in the local `rip` while hot specialised forms execute inline; `state.rip` and
   * `instrStart` are written before anything that can fault or that looks at them (fetch misses,
   * slow memory paths, exec(), events) and when the loop returns.
   */
  private runLoop(maxInstructions: number): number {
    const s = this.state;
    let n = 0;
    for (;;) {
      let rip = s.rip;
      this.syncEpoch();
      try {
        while (n < maxInstructions) {
          if (this.eventsPending) {
            s.rip = rip;
            checkEvents(this);
            this.syncEpoch();
            rip = s.rip;
            if (this.stopCheck()) return n;
          }
          const d = rip - this.fetchBase;
          let i: CachedInsn | undefined;
          if (d >= 0 && d < 4096) i = this.fetchInsns[d | 0];
          if (i === undefined) {
            this.instrStart = rip;
            s.rip = rip;
            i = this.fetchSlow(rip);
            this.syncEpoch();
          }
          const cs = this.codeSize;
          const next = cs === 32 ? (rip + i.length) >>> 0 : cs === 64 ? rip + i.length : (rip + i.length) & 0xffff;
          // Hot specialised forms (32-bit operand size) execute inline; everything else through exec().
          switch (i.xop as K) {
            case K.ADD_RR32: {
              const lo = this.lo;
              const a = lo[i.dst];
              const b = lo[i.src];
              const r = (a + b) | 0;
              lo[i.dst] = r;
              this.hi[i.dst] = 0;
              this.lazy = ALL_STATUS;
              this.fKind = 0;
              this.fSize = 32;
              this.fA = a;
              this.fB = b;
              this.fRes = r;
              this.fCin = 0;
              break;
            }
            case K.SUB_RR32: {
              const lo = this.lo;
              const a = lo[i.dst];
              const b = lo[i.src];
              const r = (a - b) | 0;
              lo[i.dst] = r;
              this.hi[i.dst] = 0;
              this.lazy = ALL_STATUS;
              this.fKind = 1;
              this.fSize = 32;
              this.fA = a;
              this.fB = b;
              this.fRes = r;
              this.fCin = 0;
              break;
            }
            case K.CMP_RR32: {
              const a = this.lo[i.dst];
              const b = this.lo[i.src];
              this.flagsSub(32, a, b, (a - b) | 0, 0);
              break;
            }
            case K.XOR_RR32: {
              const lo = this.lo;
              const r = lo[i.dst] ^ lo[i.src];
              lo[i.dst] = r;
              this.hi[i.dst] = 0;
              this.lazy = ALL_STATUS;
              this.fKind = 2;
              this.fSize = 32;
              this.fRes = r;
              break;
            }
            case K.AND_RR32: {
              const lo = this.lo;
              const r = lo[i.dst] & lo[i.src];
              lo[i.dst] = r;
              this.hi[i.dst] = 0;
              this.lazy = ALL_STATUS;
              this.fKind = 2;
              this.fSize = 32;
              this.fRes = r;
              break;
            }
            case K.OR_RR32: {
              const lo = this.lo;
              const r = lo[i.dst] | lo[i.src];
              lo[i.dst] = r;
              this.hi[i.dst] = 0;
              this.lazy = ALL_STATUS;
              this.fKind = 2;
              this.fSize = 32;
              this.fRes = r;
              break;
            }
            case K.TEST_RR32:
              this.flagsLogic(32, this.lo[i.dst] & this.lo[i.src]);
              break;
            case K.ADD_RI32: {
              const lo = this.lo;
              const a = lo[i.dst];
              const b = i.imm | 0;
              const r = (a + b) | 0;
              lo[i.dst] = r;
              this.hi[i.dst] = 0;
              this.lazy = ALL_STATUS;
              this.fKind = 0;
              this.fSize = 32;
              this.fA = a;
              this.fB = b;
              this.fRes = r;
              this.fCin = 0;
              break;
            }
            case K.SUB_RI32: {
              const lo = this.lo;
              const a = lo[i.dst];
              const b = i.imm | 0;
              const r = (a - b) | 0;
              lo[i.dst] = r;
              this.hi[i.dst] = 0;
              this.lazy = ALL_STATUS;
              this.fKind = 1;
              this.fSize = 32;
              this.fA = a;
              this.fB = b;
              this.fRes = r;
              this.fCin = 0;
              break;
            }
            case K.CMP_RI32: {
              const a = this.lo[i.dst];
              const b = i.imm | 0;
              this.flagsSub(32, a, b, (a - b) | 0, 0);
              break;
            }
            case K.AND_RI32: {
              const r = this.lo[i.dst] & i.imm;
              this.lo[i.dst] = r;
              this.hi[i.dst] = 0;
              this.lazy = ALL_STATUS;
              this.fKind = 2;
              this.fSize = 32;
              this.fRes = r;
              break;
            }
            case K.MOV_RR32:
              this.lo[i.dst] = this.lo[i.src];
              this.hi[i.dst] = 0;
              break;
            case K.MOV_RI32:
              this.lo[i.dst] = i.imm;
              this.hi[i.dst] = 0;
              break;
            case K.MOV_LOAD32A: {
              const lo = this.lo;
              let a = i.disp;
              if (i.base >= 0) a = (a + lo[i.base]) | 0;
              if (i.index >= 0) a = (a + Math.imul(lo[i.index], i.scale)) | 0;
              const off = a >>> 0;
              const seg = i.segment;
              let v = 0;
              let fast = false;
              if ((s.segAr[seg] & FAST_SEG_MASK) === FAST_SEG_OK && off + 3 <= s.segLimit[seg]) {
                const lin = (s.segBase[seg] + off) >>> 0;
                const po = lin & 0xfff;
                const t = (lin >>> 12) & 0xff;
                if (po <= 0xffc && this.tlbRTag[t] === lin - po) {
                  const pg = this.tlbRPage[t]!;
                  v = pg[po] | (pg[po + 1] << 8) | (pg[po + 2] << 16) | (pg[po + 3] << 24);
                  fast = true;
                }
              }
              if (!fast) {
                this.instrStart = rip;
                s.rip = next;
                v = this.lread32(this.segLinear(seg, off, 4, false));
                this.syncEpoch();
              }
              lo[i.dst] = v;
              this.hi[i.dst] = 0;
              break;
            }
            case K.MOV_STORE32A: {
              const lo = this.lo;
              let a = i.disp;
              if (i.base >= 0) a = (a + lo[i.base]) | 0;
              if (i.index >= 0) a = (a + Math.imul(lo[i.index], i.scale)) | 0;
              const off = a >>> 0;
              const seg = i.segment;
              const v = lo[i.src];
              let fast = false;
              if ((s.segAr[seg] & FAST_SEG_MASK) === FAST_SEG_OK && off + 3 <= s.segLimit[seg]) {
                const lin = (s.segBase[seg] + off) >>> 0;
                const po = lin & 0xfff;
                const t = (lin >>> 12) & 0xff;
                if (po <= 0xffc && this.tlbWTag[t] === lin - po) {
                  const pg = this.tlbWPage[t]!;
                  pg[po] = v;
                  pg[po + 1] = v >>> 8;
                  pg[po + 2] = v >>> 16;
                  pg[po + 3] = v >>> 24;
                  fast = true;
                }
              }
              if (!fast) {
                this.instrStart = rip;
                s.rip = next;
                this.lwrite32(this.segLinear(seg, off, 4, true), v);
                this.syncEpoch();
              }
              break;
            }
            case K.LEA32: {
              const lo = this.lo;
              let a = i.disp;
              if (i.base >= 0) a = (a + lo[i.base]) | 0;
              if (i.index >= 0) a = (a + Math.imul(lo[i.index], i.scale)) | 0;
              lo[i.dst] = a;
              this.hi[i.dst] = 0;
              break;
            }
            case K.INC_R32:
            case K.DEC_R32: {
              const a = this.lo[i.dst];
              const dec = i.xop === K.DEC_R32;
              const r = dec ? (a - 1) | 0 : (a + 1) | 0;
              this.lo[i.dst] = r;
              this.hi[i.dst] = 0;
              if (this.lazy & Flag.CF) {
                // Preserve CF: compute it from the previous record (inline for 32-bit SUB/ADD without carry-in).
                let cf: number;
                if (this.fSize === 32 && this.fCin === 0 && this.fKind !== 2) {
                  cf = this.fKind === 1 ? ((this.fA >>> 0) < (this.fB >>> 0) ? 1 : 0) : (this.fRes >>> 0) < (this.fA >>> 0) ? 1 : 0;
                } else cf = this.getCF();
                s.rflags = (s.rflags & ~Flag.CF) | cf;
              }
              this.lazy = INC_DEC_LAZY;
              this.fKind = dec ? 1 : 0;
              this.fSize = 32;
              this.fA = a;
              this.fB = 1;
              this.fRes = r;
              this.fCin = 0;
              break;
            }
            case K.JZ:
            case K.JNZ: {
              let zf: boolean;
              if (this.lazy & Flag.ZF) zf = this.fSize === 64 ? (this.fRes | this.fResHi) === 0 : this.fRes << (32 - this.fSize) === 0;
              else zf = (s.rflags & Flag.ZF) !== 0;
              if (zf === (i.xop === K.JZ)) {
                const t = (next + i.rel) >>> 0;
                if (t > this.csLimit) {
                  this.instrStart = rip;
                  s.rip = next;
                  C.jumpRel(this, i); // raises #GP(0)
                }
                rip = t;
                n++;
                continue;
              }
              break;
            }
            case K.JCC32:
              if (this.cond(i.cc)) {
                const t = (next + i.rel) >>> 0;
                if (t > this.csLimit) {
                  this.instrStart = rip;
                  s.rip = next;
                  C.jumpRel(this, i); // raises #GP(0)
                }
                rip = t;
                n++;
                continue;
              }
              break;
            case K.PUSH_R32:
            case K.CALL_REL32: {
              // 32-bit push of a register / of the return address, flat-stack fast path.
              const call = i.xop === K.CALL_REL32;
              const t = call ? (next + i.rel) >>> 0 : 0;
              const v = call ? next : this.lo[i.dst];
              const nsp = (this.lo[4] - 4) >>> 0;
              let fast = false;
              if (this.stackSize === 32 && (s.segAr[Seg.SS] & FAST_SEG_MASK) === FAST_SEG_OK && nsp + 3 <= s.segLimit[Seg.SS] && (!call || t <= this.csLimit)) {
                const lin = (s.segBase[Seg.SS] + nsp) >>> 0;
                const po = lin & 0xfff;
                const ti = (lin >>> 12) & 0xff;
                if (po <= 0xffc && this.tlbWTag[ti] === lin - po) {
                  const pg = this.tlbWPage[ti]!;
                  pg[po] = v;
                  pg[po + 1] = v >>> 8;
                  pg[po + 2] = v >>> 16;
                  pg[po + 3] = v >>> 24;
                  this.lo[4] = nsp;
                  this.hi[4] = 0;
                  fast = true;
                }
              }
              if (!fast) {
                this.instrStart = rip;
                s.rip = next;
                if (call) C.call(this, i);
                else D.push(this, i);
                this.syncEpoch();
                rip = s.rip;
                n++;
                continue;
              }
              if (call) {
                rip = t;
                n++;
                continue;
              }
              break;
            }
            case K.POP_R32:
            case K.RET32: {
              const ret = i.xop === K.RET32;
              const sp = this.lo[4] >>> 0;
              let fast = false;
              let v = 0;
              if (this.stackSize === 32 && (s.segAr[Seg.SS] & FAST_SEG_MASK) === FAST_SEG_OK && sp + 3 <= s.segLimit[Seg.SS]) {
                const lin = (s.segBase[Seg.SS] + sp) >>> 0;
                const po = lin & 0xfff;
                const ti = (lin >>> 12) & 0xff;
                if (po <= 0xffc && this.tlbRTag[ti] === lin - po) {
                  const pg = this.tlbRPage[ti]!;
                  v = pg[po] | (pg[po + 1] << 8) | (pg[po + 2] << 16) | (pg[po + 3] << 24);
                  fast = !ret || v >>> 0 <= this.csLimit;
                }
              }
              if (!fast) {
                this.instrStart = rip;
                s.rip = next;
                if (ret) C.ret(this, i);
                else D.pop(this, i);
                this.syncEpoch();
                rip = s.rip;
                n++;
                continue;
              }
              this.lo[4] = (sp + 4) | 0;
              this.hi[4] = 0;
              if (ret) {
                rip = v >>> 0;
                n++;
                continue;
              }
              this.lo[i.dst] = v; // POP ESP: the popped value wins
              this.hi[i.dst] = 0;
              break;
            }
            default:
              this.instrStart = rip;
              s.rip = next;
              if (this.exec(i)) return ++n;
              this.syncEpoch();
              rip = s.rip;
              n++;
              continue;
          }
          rip = next;
          n++;
        }
        s.rip = rip;
        return n;
      } catch (e) {
        if (e === VM_EXIT) {
          // A VM exit from inside an instruction or an event delivery: the host state is loaded.
          n++;
          if (this.stopCheck() || n >= maxInstructions) return n;
          continue;
        }
        if (e !== CPU_FAULT) throw e;
        try {
          this.handleFault();
        } catch (e2) {
          if (e2 !== VM_EXIT) throw e2; // the delivery ended in a VM exit (EPT violation, triple fault …)
        }
        // A delivery consumes one unit of this call's budget (see lastRunDeliveries).
        this.lastRunDeliveries++;
        maxInstructions--;
        if (this.stopCheck() || n >= maxInstructions) return n;
      }
    }
  }

  /** Drops the fast TLB if the memory's page arrays may have changed. */
  private syncEpoch(): void {
    if (this.memEpoch !== this.mem.epoch) this.flushFastTlb();
  }

  private handleFault(): void {
    this.state.rip = this.instrStart;
    if (this.captureFaults) {
      this.capturedVector = this.pendingVector;
      this.stopRequested = true;
      return;
    }
    deliverException(this);
  }

  /**
   * Executes exactly one instruction WITHOUT delivering a fault and without looking at events:
   * returns -1 when it retired, else the exception vector (RIP restored to the instruction,
   * `pendingVector`/`pendingErrorCode` set, nothing delivered). For tests, tools and intercepts.
   */
  tryStep(): number {
    const events = this.eventsPending;
    this.eventsPending = false;
    this.captureFaults = true;
    this.capturedVector = -1;
    try {
      const n = this.runLoop(1);
      this.state.retired += n;
    } finally {
      this.captureFaults = false;
      this.eventsPending = this.eventsPending || events;
    }
    return this.capturedVector;
  }

  /**
   * Executes one decoded instruction (RIP already points to the next one). Returns true when the
   * run loop must stop after it (activity change, stop request). `i.xop` is a dense handler id
   * (const enum K, inlined as literals so the switch compiles to a jump table).
   */
  exec(i: CachedInsn): boolean {
    switch (i.xop as K) {
      // ---- specialised hot forms (32-bit operand size)
      case K.ADD_RR32: {
        const lo = this.lo;
        const a = lo[i.dst];
        const b = lo[i.src];
        const r = (a + b) | 0;
        lo[i.dst] = r;
        this.hi[i.dst] = 0;
        this.flagsAdd(32, a, b, r, 0);
        return false;
      }
      case K.SUB_RR32: {
        const lo = this.lo;
        const a = lo[i.dst];
        const b = lo[i.src];
        const r = (a - b) | 0;
        lo[i.dst] = r;
        this.hi[i.dst] = 0;
        this.flagsSub(32, a, b, r, 0);
        return false;
      }
      case K.CMP_RR32: {
        const a = this.lo[i.dst];
        const b = this.lo[i.src];
        this.flagsSub(32, a, b, (a - b) | 0, 0);
        return false;
      }
      case K.XOR_RR32: {
        const lo = this.lo;
        const r = lo[i.dst] ^ lo[i.src];
        lo[i.dst] = r;
        this.hi[i.dst] = 0;
        this.flagsLogic(32, r);
        return false;
      }
      case K.AND_RR32: {
        const lo = this.lo;
        const r = lo[i.dst] & lo[i.src];
        lo[i.dst] = r;
        this.hi[i.dst] = 0;
        this.flagsLogic(32, r);
        return false;
      }
      case K.OR_RR32: {
        const lo = this.lo;
        const r = lo[i.dst] | lo[i.src];
        lo[i.dst] = r;
        this.hi[i.dst] = 0;
        this.flagsLogic(32, r);
        return false;
      }
      case K.TEST_RR32:
        this.flagsLogic(32, this.lo[i.dst] & this.lo[i.src]);
        return false;
      case K.ADD_RI32: {
        const lo = this.lo;
        const a = lo[i.dst];
        const b = i.imm | 0;
        const r = (a + b) | 0;
        lo[i.dst] = r;
        this.hi[i.dst] = 0;
        this.flagsAdd(32, a, b, r, 0);
        return false;
      }
      case K.SUB_RI32: {
        const lo = this.lo;
        const a = lo[i.dst];
        const b = i.imm | 0;
        const r = (a - b) | 0;
        lo[i.dst] = r;
        this.hi[i.dst] = 0;
        this.flagsSub(32, a, b, r, 0);
        return false;
      }
      case K.CMP_RI32: {
        const a = this.lo[i.dst];
        const b = i.imm | 0;
        this.flagsSub(32, a, b, (a - b) | 0, 0);
        return false;
      }
      case K.AND_RI32: {
        const r = this.lo[i.dst] & i.imm;
        this.lo[i.dst] = r;
        this.hi[i.dst] = 0;
        this.flagsLogic(32, r);
        return false;
      }
      case K.MOV_RR32:
        this.lo[i.dst] = this.lo[i.src];
        this.hi[i.dst] = 0;
        return false;
      case K.MOV_RI32:
        this.lo[i.dst] = i.imm;
        this.hi[i.dst] = 0;
        return false;
      case K.MOV_LOAD32:
      case K.MOV_LOAD32A: {
        const v = this.lread32(this.memLinear(i, 4, false));
        this.lo[i.dst] = v;
        this.hi[i.dst] = 0;
        return false;
      }
      case K.MOV_STORE32:
      case K.MOV_STORE32A:
        this.lwrite32(this.memLinear(i, 4, true), this.lo[i.src]);
        return false;
      case K.LEA32:
        this.lo[i.dst] = this.eaOffset(i);
        this.hi[i.dst] = 0;
        return false;
      case K.INC_R32: {
        const a = this.lo[i.dst];
        const r = (a + 1) | 0;
        this.lo[i.dst] = r;
        this.hi[i.dst] = 0;
        this.flagsIncDec(32, a, r, false, 0, 0);
        return false;
      }
      case K.DEC_R32: {
        const a = this.lo[i.dst];
        const r = (a - 1) | 0;
        this.lo[i.dst] = r;
        this.hi[i.dst] = 0;
        this.flagsIncDec(32, a, r, true, 0, 0);
        return false;
      }
      case K.JZ:
        if (this.getZF()) C.jumpRel(this, i);
        return false;
      case K.JNZ:
        if (!this.getZF()) C.jumpRel(this, i);
        return false;

      // ---- specialised 64-bit forms
      case K.ADD_RR64:
      case K.SUB_RR64:
      case K.CMP_RR64:
      case K.ADD_RI64:
      case K.SUB_RI64:
      case K.CMP_RI64: {
        const lo = this.lo;
        const hi = this.hi;
        const d = i.dst;
        const a = lo[d];
        const ah = hi[d];
        const x = i.xop;
        const ri = x === K.ADD_RI64 || x === K.SUB_RI64 || x === K.CMP_RI64;
        const b = ri ? i.imm | 0 : lo[i.src];
        const bh = ri ? i.immHi | 0 : hi[i.src];
        if (x === K.ADD_RR64 || x === K.ADD_RI64) {
          const l = (a >>> 0) + (b >>> 0);
          const r = l | 0;
          const rh = (ah + bh + (l >= TWO32 ? 1 : 0)) | 0;
          lo[d] = r;
          hi[d] = rh;
          this.flagsAdd64(a, ah, b, bh, r, rh, 0);
        } else {
          const l = (a >>> 0) - (b >>> 0);
          const r = l | 0;
          const rh = (ah - bh - (l < 0 ? 1 : 0)) | 0;
          if (x !== K.CMP_RR64 && x !== K.CMP_RI64) {
            lo[d] = r;
            hi[d] = rh;
          }
          this.flagsSub64(a, ah, b, bh, r, rh, 0);
        }
        return false;
      }
      case K.XOR_RR64:
      case K.AND_RR64:
      case K.OR_RR64:
      case K.TEST_RR64:
      case K.AND_RI64: {
        const lo = this.lo;
        const hi = this.hi;
        const d = i.dst;
        const x = i.xop;
        const b = x === K.AND_RI64 ? i.imm | 0 : lo[i.src];
        const bh = x === K.AND_RI64 ? i.immHi | 0 : hi[i.src];
        let r: number;
        let rh: number;
        if (x === K.XOR_RR64) {
          r = lo[d] ^ b;
          rh = hi[d] ^ bh;
        } else if (x === K.OR_RR64) {
          r = lo[d] | b;
          rh = hi[d] | bh;
        } else {
          r = lo[d] & b;
          rh = hi[d] & bh;
        }
        if (x !== K.TEST_RR64) {
          lo[d] = r;
          hi[d] = rh;
        }
        this.flagsLogic64(r, rh);
        return false;
      }
      case K.MOV_RR64:
        this.lo[i.dst] = this.lo[i.src];
        this.hi[i.dst] = this.hi[i.src];
        return false;
      case K.MOV_RI64:
        this.lo[i.dst] = i.imm | 0;
        this.hi[i.dst] = i.immHi | 0;
        return false;
      case K.MOV_LOAD64: {
        const v = this.lread64(this.memLinear(i, 8, false));
        this.lo[i.dst] = v;
        this.hi[i.dst] = this.rhi;
        return false;
      }
      case K.MOV_STORE64:
        this.lwrite64(this.memLinear(i, 8, true), this.lo[i.src], this.hi[i.src]);
        return false;
      case K.LEA64:
        this.ea64(i);
        this.lo[i.dst] = this.eaLo;
        this.hi[i.dst] = this.eaHi;
        return false;
      case K.INC_R64:
      case K.DEC_R64: {
        const d = i.dst;
        const a = this.lo[d];
        const ah = this.hi[d];
        const dec = i.xop === K.DEC_R64;
        const r = dec ? (a - 1) | 0 : (a + 1) | 0;
        const rh = dec ? (a === 0 ? (ah - 1) | 0 : ah) : r === 0 ? (ah + 1) | 0 : ah;
        this.lo[d] = r;
        this.hi[d] = rh;
        this.flagsIncDec(64, a, r, dec, ah, rh);
        return false;
      }
      case K.JCC32:
        if (this.cond(i.cc)) C.jumpRel(this, i);
        return false;
      case K.PUSH_R32:
        D.push(this, i);
        return false;
      case K.POP_R32:
        D.pop(this, i);
        return false;
      case K.CALL_REL32:
        C.call(this, i);
        return false;
      case K.RET32:
        C.ret(this, i);
        return false;
      case K.JCC64:
        if (this.cond(i.cc)) {
          const t = this.state.rip + i.rel;
          if (t < -0x800000000000 || t >= 0x800000000000) this.fault(Vec.GP, 0);
          this.state.rip = t;
        }
        return false;

      // ---- arithmetic / logic
      case K.ALU:
        A.alu(this, i);
        return false;
      case K.INCDEC:
        A.incDec(this, i);
        return false;
      case K.NEGNOT:
        A.negNot(this, i);
        return false;
      case K.MUL:
        A.mul(this, i);
        return false;
      case K.DIV:
        A.div(this, i);
        return false;
      case K.SHIFT:
        A.shift(this, i);
        return false;
      case K.SHIFTD:
        A.shiftDouble(this, i);
        return false;
      case K.BT:
        A.bitTest(this, i);
        return false;
      case K.BSCAN:
        A.bitScan(this, i);
        return false;
      case K.SETCC:
        A.setcc(this, i);
        return false;
      case K.CMOVCC:
        A.cmovcc(this, i);
        return false;
      case K.CBW:
        A.cbw(this, i);
        return false;
      case K.CWD:
        A.cwd(this, i);
        return false;
      case K.XADD:
        A.xadd(this, i);
        return false;
      case K.CMPXCHG:
        A.cmpxchg(this, i);
        return false;
      case K.CMPXCHG8B:
        A.cmpxchg8b(this, i);
        return false;
      case K.BSWAP:
        A.bswap(this, i);
        return false;
      case K.LAHF:
        A.lahf(this);
        return false;
      case K.SAHF:
        A.sahf(this);
        return false;
      case K.CLC:
        this.setStatus(Flag.CF, 0);
        return false;
      case K.STC:
        this.setStatus(Flag.CF, Flag.CF);
        return false;
      case K.CMC:
        this.setStatus(Flag.CF, this.getCF() ^ 1);
        return false;
      case K.CLD:
        this.state.rflags &= ~Flag.DF;
        return false;
      case K.STD:
        this.state.rflags |= Flag.DF;
        return false;

      // ---- data movement
      case K.MOV:
        D.mov(this, i);
        return false;
      case K.MOVX:
        D.movx(this, i);
        return false;
      case K.LEA:
        D.lea(this, i);
        return false;
      case K.XCHG:
        D.xchg(this, i);
        return false;
      case K.PUSH:
        D.push(this, i);
        return false;
      case K.PUSH_SREG:
        D.pushSreg(this, i);
        return false;
      case K.POP:
        D.pop(this, i);
        return false;
      case K.PUSHF:
        D.pushf(this, i);
        return false;
      case K.POPF:
        D.popf(this, i);
        return this.stopCheck();
      case K.PUSHA:
        D.pusha(this, i);
        return false;
      case K.POPA:
        D.popa(this, i);
        return false;
      case K.ENTER:
        D.enter(this, i);
        return false;
      case K.LEAVE:
        D.leave(this, i);
        return false;
      case K.XLAT:
        D.xlat(this, i);
        return false;
      case K.NOP:
        return false;

      // ---- near control transfer
      case K.JCC:
        if (this.cond(i.cc)) C.jumpRel(this, i);
        return false;
      case K.JMP:
        C.jmp(this, i);
        return false;
      case K.CALL:
        C.call(this, i);
        return false;
      case K.RET:
        C.ret(this, i);
        return false;
      case K.LOOP:
        C.loop(this, i);
        return false;
      case K.JCXZ:
        C.jcxz(this, i);
        return false;

      // ---- strings
      case K.MOVS:
        S.movs(this, i);
        return false;
      case K.STOS:
        S.stos(this, i);
        return false;
      case K.LODS:
        S.lods(this, i);
        return false;
      case K.CMPS:
        S.cmps(this, i);
        return false;
      case K.SCAS:
        S.scas(this, i);
        return false;
      case K.INS:
        S.ins(this, i);
        return this.stopCheck();
      case K.OUTS:
        S.outs(this, i);
        return this.stopCheck();

      // ---- far transfers, segment loads, software interrupts, POP Sreg, MOV Sreg (SYSTEM)
      case K.FAR:
        execFar(this, i);
        return this.stopCheck();

      case K.UD:
        return this.fault(Vec.UD);
      case K.GP:
        return this.fault(Vec.GP, 0);
      case K.NATIVE:
        this.nativeServices.call(this, i.imm);
        return this.stopCheck();

      default:
        // System instructions (descriptor tables, CR/DR/MSR, CPUID, TSC, HLT, CLI/STI, IN/OUT,
        // caches, FXSAVE/FXRSTOR, SWAPGS) and VMX: SYSTEM (which forwards VMX to its owner).
        execSystem(this, i);
        return this.stopCheck();
    }
  }

  /** Activity state is ACTIVE (a method so TypeScript does not narrow across calls that change it). */
  isActive(): boolean {
    return this.state.activity === Activity.ACTIVE;
  }

  /** After an instruction that may change activity or request a stop. */
  private stopCheck(): boolean {
    return this.state.activity !== Activity.ACTIVE || this.stopRequested;
  }

  // ------------------------------------------------------------------ operand helpers (used by arith/data/control/string)

  /** Reads the r/m operand (`eSize`-independent: `size` bits). 64-bit: low half, high in `rhi`. */
  readE(i: CachedInsn, size: number): number {
    if (!i.isMem) return this.getReg(i.rm, size);
    return this.readLin(this.memLinear(i, size >>> 3, false), size);
  }

  /** Linear address of the memory operand found by the last {@link readEForWrite} (0 for a register operand). */
  eLin = 0;

  /**
   * Reads the r/m operand of a read-modify-write instruction: a memory operand is translated for
   * writing first (so a read-only page faults before anything changes) and its linear address is
   * left in {@link eLin} for the write-back. 64-bit: low half, high in `rhi`.
   */
  readEForWrite(i: CachedInsn, size: number): number {
    if (!i.isMem) {
      this.eLin = 0;
      return this.getReg(i.rm, size);
    }
    this.eLin = this.memLinear(i, size >>> 3, true);
    return this.readLin(this.eLin, size);
  }

  /** Writes the r/m operand. */
  writeE(i: CachedInsn, size: number, v: number, hi: number): void {
    if (!i.isMem) this.setReg(i.rm, size, v, hi);
    else this.writeLin(this.memLinear(i, size >>> 3, true), size, v, hi);
  }

  readLin(lin: number, size: number): number {
    switch (size) {
      case 8:
        return this.lread8(lin);
      case 16:
        return this.lread16(lin);
      case 32:
        return this.lread32(lin);
      default:
        return this.lread64(lin);
    }
  }

  writeLin(lin: number, size: number, v: number, hi: number): void {
    switch (size) {
      case 8:
        this.lwrite8(lin, v);
        return;
      case 16:
        this.lwrite16(lin, v);
        return;
      case 32:
        this.lwrite32(lin, v);
        return;
      default:
        this.lwrite64(lin, v, hi);
    }
  }

  /** Current CS limit (for near-branch target checks). */
  get codeLimit(): number {
    return this.csLimit;
  }
}
