/**
 * Architectural state of one logical processor (SDM Vol. 3A ch. 2–3, 9 "Processor Management and
 * Initialization"). Everything software can observe lives here, in typed arrays and plain
 * numbers; the interpreter reads and writes it directly. Software observes it only through
 * instructions (DESIGN §4): nothing here is exposed to native services.
 *
 * Representation choices (documented because the interpreter and VMX depend on them):
 * - General registers are split into 32-bit halves: `lo[r]` (bits 31:0) and `hi[r]` (63:32),
 *   r = 0 RAX … 15 R15. 32-bit code touches only `lo`; a 32-bit write in 64-bit mode zeroes `hi`.
 * - Linear addresses (RIP in 64-bit mode, segment bases of FS/GS, CR2, DR0–3, GDTR/IDTR bases)
 *   are JS numbers holding the canonical address *sign-extended*: 0xFFFF_8000_0000_0000 is
 *   stored as -2^47. Every canonical 48-bit address fits a double exactly; non-canonical
 *   values can never be stored (the instruction that would create one faults first).
 * - Segment attributes use the VMX access-rights layout (SDM Vol. 3C 24.4.1): bits 3:0 type,
 *   4 S, 6:5 DPL, 7 P, 12 AVL, 13 L, 14 D/B, 15 G, 16 unusable. Limits are byte-granular
 *   (already scaled by G).
 */

export const Reg = { RAX: 0, RCX: 1, RDX: 2, RBX: 3, RSP: 4, RBP: 5, RSI: 6, RDI: 7, R8: 8, R9: 9, R10: 10, R11: 11, R12: 12, R13: 13, R14: 14, R15: 15 } as const;

/** Segment register indices (ES, CS, SS, DS, FS, GS in encoding order, then LDTR and TR). */
export const Seg = { ES: 0, CS: 1, SS: 2, DS: 3, FS: 4, GS: 5, LDTR: 6, TR: 7 } as const;
export const SEG_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldtr', 'tr'] as const;

/** Access-rights bits (VMX layout). */
export const AR = {
  TYPE_MASK: 0xf,
  /** Type bit 0: accessed (code/data) . */
  ACCESSED: 0x1,
  /** Type bit 1: writable (data) / readable (code). */
  RW: 0x2,
  /** Type bit 2: expand-down (data) / conforming (code). */
  DC: 0x4,
  /** Type bit 3: code. */
  CODE: 0x8,
  S: 0x10,
  DPL_SHIFT: 5,
  DPL_MASK: 0x60,
  P: 0x80,
  AVL: 0x1000,
  L: 0x2000,
  DB: 0x4000,
  G: 0x8000,
  UNUSABLE: 0x10000,
} as const;

export const Flag = {
  CF: 1 << 0,
  /** Bit 1 is reserved and always 1. */
  FIXED1: 1 << 1,
  PF: 1 << 2,
  AF: 1 << 4,
  ZF: 1 << 6,
  SF: 1 << 7,
  TF: 1 << 8,
  IF: 1 << 9,
  DF: 1 << 10,
  OF: 1 << 11,
  IOPL_SHIFT: 12,
  IOPL: 3 << 12,
  NT: 1 << 14,
  RF: 1 << 16,
  VM: 1 << 17,
  AC: 1 << 18,
  VIF: 1 << 19,
  VIP: 1 << 20,
  ID: 1 << 21,
} as const;

/** The status flags (CF PF AF ZF SF OF). */
export const STATUS_FLAGS = Flag.CF | Flag.PF | Flag.AF | Flag.ZF | Flag.SF | Flag.OF;

export const Cr0 = { PE: 1 << 0, MP: 1 << 1, EM: 1 << 2, TS: 1 << 3, ET: 1 << 4, NE: 1 << 5, WP: 1 << 16, AM: 1 << 18, NW: 1 << 29, CD: 1 << 30, PG: 1 << 31 } as const;
export const Cr4 = {
  VME: 1 << 0, PVI: 1 << 1, TSD: 1 << 2, DE: 1 << 3, PSE: 1 << 4, PAE: 1 << 5, MCE: 1 << 6, PGE: 1 << 7, PCE: 1 << 8,
  OSFXSR: 1 << 9, OSXMMEXCPT: 1 << 10, UMIP: 1 << 11, LA57: 1 << 12, VMXE: 1 << 13, SMXE: 1 << 14, FSGSBASE: 1 << 16,
  PCIDE: 1 << 17, OSXSAVE: 1 << 18, SMEP: 1 << 20, SMAP: 1 << 21, PKE: 1 << 22,
} as const;
export const Efer = { SCE: 1 << 0, LME: 1 << 8, LMA: 1 << 10, NXE: 1 << 11 } as const;

/** Activity states, numbered as the VMCS guest activity-state field (SDM Vol. 3C 24.4.2). */
export const Activity = { ACTIVE: 0, HLT: 1, SHUTDOWN: 2, WAIT_FOR_SIPI: 3 } as const;
export type Activity = (typeof Activity)[keyof typeof Activity];

/** Exception vectors (SDM Vol. 3A Table 6-1). */
export const Vec = {
  DE: 0, DB: 1, NMI: 2, BP: 3, OF: 4, BR: 5, UD: 6, NM: 7, DF: 8, TS: 10, NP: 11, SS: 12, GP: 13, PF: 14, MF: 16, AC: 17, MC: 18, XM: 19, VE: 20, CP: 21,
} as const;

export class CpuState {
  // --- general registers -----------------------------------------------------------------
  readonly lo = new Int32Array(16);
  readonly hi = new Int32Array(16);
  /** Instruction pointer (offset in CS; in 64-bit mode a canonical sign-extended linear address). */
  rip = 0;
  /** RFLAGS (bits 31:0; bits 63:32 are reserved zero). Status flags may be stale while lazy flags are pending: read through the interpreter. */
  rflags = Flag.FIXED1;

  // --- segments --------------------------------------------------------------------------
  readonly segSel = new Uint16Array(8);
  readonly segBase = new Float64Array(8);
  readonly segLimit = new Float64Array(8);
  readonly segAr = new Int32Array(8);
  gdtrBase = 0;
  gdtrLimit = 0xffff;
  idtrBase = 0;
  idtrLimit = 0xffff;

  // --- control, debug, model-specific ---------------------------------------------------
  cr0 = Cr0.ET | Cr0.CD | Cr0.NW;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  /** CR8 (TPR[7:4] in 64-bit mode); kept in sync with the local APIC by the machine. */
  cr8 = 0;
  readonly dr = new Float64Array(8);
  efer = 0;
  /** IA32_TIME_STAMP_COUNTER offset against the machine clock, and the rest of the MSR file. */
  readonly msr = new Map<number, bigint>();
  /** FXSAVE image (512 bytes, SDM Vol. 1 Table 10-2), the x87/MMX/SSE state lives here. */
  readonly fxsave = new Uint8Array(512);

  // --- events and activity ---------------------------------------------------------------
  activity: Activity = Activity.ACTIVE;
  /** NMI blocking: set on NMI delivery, cleared by the next IRET (even one that faults after the pop). */
  nmiBlocked = false;
  /** One NMI can be latched while blocked (SDM 6.7.1). */
  nmiPending = false;
  /** Blocking by STI / by MOV SS or POP SS: for exactly the next instruction boundary. */
  blockingBySti = false;
  blockingByMovSs = false;
  /** INIT latched while in a state that blocks it. */
  initPending = false;
  sipiVector = -1;
  /**
   * A single-step #DB trap is pending for the instruction being executed (RFLAGS.TF was 1 at its
   * start; the VMCS pending-debug-exceptions BS bit). Set/consumed at boundaries by interrupts.ts.
   */
  pendingSingleStep = false;

  /** Retired instructions on this processor. */
  retired = 0;

  /** Current privilege level (CS.DPL except in real mode, where it is 0). */
  get cpl(): number {
    return (this.segAr[Seg.CS] & AR.DPL_MASK) >>> AR.DPL_SHIFT;
  }

  /** Reset state of SDM Vol. 3A Table 10-1 (power-up / RESET / INIT); `signature` is the model's CPUID.1:EAX. */
  reset(kind: 'power-on' | 'init' = 'power-on', signature = 0): void {
    this.lo.fill(0);
    this.hi.fill(0);
    this.lo[Reg.RDX] = signature | 0; // EDX = CPUID.1:EAX (family/model/stepping) after RESET and INIT
    this.rip = 0xfff0;
    this.rflags = Flag.FIXED1;
    for (let s = 0; s < 6; s++) {
      this.segSel[s] = 0;
      this.segBase[s] = 0;
      this.segLimit[s] = 0xffff;
      this.segAr[s] = AR.P | AR.S | AR.RW | AR.ACCESSED; // read/write data, accessed, present
    }
    this.segSel[Seg.CS] = 0xf000;
    this.segBase[Seg.CS] = 0xffff0000;
    this.segAr[Seg.CS] = AR.P | AR.S | AR.CODE | AR.RW | AR.ACCESSED;
    this.segSel[Seg.LDTR] = 0;
    this.segBase[Seg.LDTR] = 0;
    this.segLimit[Seg.LDTR] = 0xffff;
    this.segAr[Seg.LDTR] = AR.P | 0x2; // present, LDT
    this.segSel[Seg.TR] = 0;
    this.segBase[Seg.TR] = 0;
    this.segLimit[Seg.TR] = 0xffff;
    this.segAr[Seg.TR] = AR.P | 0xb; // present, busy 32-bit TSS (Table 10-1 says "present, R/W")
    this.gdtrBase = 0;
    this.gdtrLimit = 0xffff;
    this.idtrBase = 0;
    this.idtrLimit = 0xffff;
    // INIT leaves CD/NW as they were (Table 10-1 note); power-on sets them.
    this.cr0 = kind === 'init' ? (this.cr0 & (Cr0.CD | Cr0.NW)) | Cr0.ET : Cr0.ET | Cr0.CD | Cr0.NW;
    this.cr2 = 0;
    this.cr3 = 0;
    this.cr4 = 0;
    this.cr8 = 0;
    this.dr.fill(0);
    this.dr[6] = 0xffff0ff0;
    this.dr[7] = 0x400;
    this.efer = 0;
    if (kind === 'power-on') {
      this.msr.clear();
      this.fxsave.fill(0);
      this.fxsave[0] = 0x7f; // FCW = 0x037F
      this.fxsave[1] = 0x03;
      this.fxsave[24] = 0x80; // MXCSR = 0x1F80
      this.fxsave[25] = 0x1f;
    }
    this.activity = Activity.ACTIVE;
    this.nmiBlocked = false;
    this.nmiPending = false;
    this.blockingBySti = false;
    this.blockingByMovSs = false;
    this.initPending = false;
    this.sipiVector = -1;
    this.pendingSingleStep = false;
  }

  /** Full 64-bit value of a GPR (for tools, capture and tests — not the hot path). */
  getReg64(r: number): bigint {
    return (BigInt(this.hi[r] >>> 0) << 32n) | BigInt(this.lo[r] >>> 0);
  }

  setReg64(r: number, v: bigint): void {
    this.lo[r] = Number(v & 0xffffffffn) | 0;
    this.hi[r] = Number((v >> 32n) & 0xffffffffn) | 0;
  }

  /** True in IA-32e mode with CS.L = 1 (64-bit mode). */
  get is64(): boolean {
    return (this.efer & Efer.LMA) !== 0 && (this.segAr[Seg.CS] & AR.L) !== 0;
  }

  get protectedMode(): boolean {
    return (this.cr0 & Cr0.PE) !== 0;
  }
}
