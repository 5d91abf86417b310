/**
 * One local APIC (SDM Vol. 3A ch. 11): the register model and the acceptance logic, independent
 * of who delivers its messages and who keeps its time. The machine instantiates one per logical
 * processor with its interrupt fabric and virtual clock; a hypervisor instantiates the same class
 * per virtual processor with its own backends and restores it from the captured state.
 */
import {
  InvalidArgumentError,
  type ApicAccessResult,
  type ApicCpuPort,
  type ApicExternalInterruptSource,
  type ApicInterruptMessage,
  type ApicIpiBus,
  type ApicTimeBackend,
  type LocalApicDevice,
} from '@latelaunch/kernel';
import {
  APIC_BASE_BSP,
  APIC_BASE_EN,
  APIC_BASE_EXTD,
  APIC_DEFAULT_BASE,
  ApicReg,
  DeliveryMode,
  EsrBit,
  ICR_LOW_WRITABLE,
  LVT_LEVEL_TRIGGER,
  LVT_MASKED,
  LVT_NAMES,
  LVT_READ_ONLY,
  LVT_REMOTE_IRR,
  LVT_WRITABLE,
  Lvt,
  SVR_APIC_ENABLED,
  SVR_EOI_BROADCAST_SUPPRESSION,
  SVR_FOCUS_DISABLED,
  Shorthand,
  TimerMode,
  X2ApicMsr,
  timerDivisor,
} from './constants.js';

/** The APIC's operating mode (IA32_APIC_BASE EN/EXTD, SDM 11.12.5). */
export type ApicMode = 'disabled' | 'xapic' | 'x2apic';

/** Model options (what CPUID and the version register advertise). */
export interface LocalApicOptions {
  /** Initial (hardware) APIC ID: the xAPIC ID is its low 8 bits, the x2APIC ID all 32. */
  readonly apicId: number;
  /** IA32_APIC_BASE.BSP. Default false. */
  readonly bsp?: boolean;
  /** x2APIC support (CPUID.1:ECX[21]): IA32_APIC_BASE.EXTD writable. Default true. */
  readonly x2apic?: boolean;
  /** EOI-broadcast suppression (version bit 24, SVR bit 12). Default true. */
  readonly eoiBroadcastSuppression?: boolean;
  /** Version register bits 7:0. Default 0x14 (integrated APIC). */
  readonly version?: number;
  /** Virtual-time ticks per timer input clock, before the divider. Default 10 (a 100 MHz bus clock at 1 ns per tick). */
  readonly ticksPerTimerClock?: number;
  /** MAXPHYADDR for the IA32_APIC_BASE reserved-bit check. Default 46. */
  readonly maxPhysAddrBits?: number;
  /** Initial IA32_APIC_BASE base address. Default 0xFEE00000. */
  readonly baseAddress?: number;
}

export interface LocalApicInit extends LocalApicOptions {
  readonly bus: ApicIpiBus;
  readonly time: ApicTimeBackend;
  readonly cpu: ApicCpuPort;
  readonly extInt?: ApicExternalInterruptSource;
}

/**
 * What the late launch hands over per processor (DESIGN §1: APIC ID, IRR, ISR, TPR, plus LVT, SVR
 * and timer registers so nothing is lost). Plain data (JSON-safe numbers and arrays).
 * `timerCurrent` is the current count at capture; `timerPhase` the virtual-time ticks already
 * spent on that count (0 ≤ phase < ticks per count), so that the restored timer continues exactly.
 */
export interface LocalApicCapturedState {
  readonly format: 'latelaunch.apic.captured/1';
  readonly mode: ApicMode;
  /** IA32_APIC_BASE as a number (base | EN | EXTD | BSP; < 2^53). */
  readonly apicBase: number;
  /** xAPIC: the 8-bit ID; x2APIC: the 32-bit x2APIC ID. */
  readonly apicId: number;
  readonly version: number;
  readonly tpr: number;
  /** Derived (informational): recomputed from TPR and ISR on restore. */
  readonly ppr: number;
  readonly ldr: number;
  readonly dfr: number;
  readonly svr: number;
  readonly isr: readonly number[];
  readonly tmr: readonly number[];
  readonly irr: readonly number[];
  /** The readable ESR (latched by the last ESR write). */
  readonly esr: number;
  /** Errors accumulated since that write (not architecturally readable; carried so nothing is lost). */
  readonly esrPending: number;
  readonly icrLow: number;
  readonly icrHigh: number;
  /** Timer, thermal, perf, LINT0, LINT1, error, CMCI (see `Lvt`). */
  readonly lvt: readonly number[];
  readonly timerInitial: number;
  readonly timerCurrent: number;
  readonly timerDivide: number;
  readonly timerPhase: number;
}

/** Snapshot of everything (machine snapshots): the captured state plus internal latches and absolute times. */
interface SavedState {
  readonly format: 'latelaunch.apic.saved/1';
  readonly hwId: number;
  readonly mode: ApicMode;
  readonly base: number;
  readonly bsp: boolean;
  readonly id: number;
  readonly tpr: number;
  readonly ldr: number;
  readonly dfr: number;
  readonly svr: number;
  readonly isr: readonly number[];
  readonly tmr: readonly number[];
  readonly irr: readonly number[];
  readonly esr: number;
  readonly esrPending: number;
  readonly icrLow: number;
  readonly icrHigh: number;
  readonly lvt: readonly number[];
  readonly timerInitial: number;
  readonly timerDivide: number;
  readonly timerArmed: boolean;
  readonly anchorTime: number;
  readonly anchorCount: number;
  readonly deadline: number;
  readonly lint: readonly boolean[];
  readonly extIntLatched: boolean;
  readonly spuriousCount: number;
}

const OK: ApicAccessResult = Object.freeze({ ok: true as const, value: undefined });
function gp(reason: string): { readonly ok: false; readonly fault: 'gp'; readonly reason: string } {
  return { ok: false, fault: 'gp', reason };
}
function ok64(value: bigint): ApicAccessResult<bigint> {
  return { ok: true, value };
}

function highestBit(bits: Uint32Array): number {
  for (let i = 7; i >= 0; i--) {
    const w = bits[i];
    if (w !== 0) return i * 32 + 31 - Math.clz32(w);
  }
  return -1;
}
function testBit(bits: Uint32Array, v: number): boolean {
  return ((bits[v >>> 5] >>> (v & 31)) & 1) !== 0;
}
function setBit(bits: Uint32Array, v: number): void {
  bits[v >>> 5] |= 1 << (v & 31);
}
function clearBit(bits: Uint32Array, v: number): void {
  bits[v >>> 5] &= ~(1 << (v & 31));
}

const LVT_XAPIC_OFFSETS: readonly number[] = [ApicReg.LVT_TIMER, ApicReg.LVT_THERMAL, ApicReg.LVT_PERF, ApicReg.LVT_LINT0, ApicReg.LVT_LINT1, ApicReg.LVT_ERROR, ApicReg.LVT_CMCI];
const LVT_BY_OFFSET = new Map<number, Lvt>(LVT_XAPIC_OFFSETS.map((o, i) => [o, i as Lvt]));
const LVT_BY_MSR = new Map<number, Lvt>(LVT_XAPIC_OFFSETS.map((o, i) => [0x800 + (o >> 4), i as Lvt]));

/**
 * A local APIC. Implements the machine's `InterruptController` structurally (`pendingVector`,
 * `acknowledge`, `readTpr`/`writeTpr` = CR8) and the kernel's `LocalApicDevice`.
 */
export class LocalApic implements LocalApicDevice {
  readonly bus: ApicIpiBus;
  readonly time: ApicTimeBackend;
  readonly cpu: ApicCpuPort;
  readonly extInt: ApicExternalInterruptSource | undefined;
  readonly supportsX2Apic: boolean;
  readonly eoiBroadcastSuppressionSupported: boolean;
  readonly ticksPerTimerClock: number;
  private readonly versionLow: number;
  private readonly maxPhysAddrBits: number;

  private hwId: number;
  private apicMode: ApicMode = 'xapic';
  private base: number;
  private bsp: boolean;
  private id = 0;
  private tpr = 0;
  private ldr = 0;
  private dfr = 0xffffffff;
  private svr = 0xff;
  private readonly isr = new Uint32Array(8);
  private readonly tmr = new Uint32Array(8);
  private readonly irr = new Uint32Array(8);
  private esr = 0;
  private esrPending = 0;
  private icrLow = 0;
  private icrHigh = 0;
  private readonly lvt = new Uint32Array(7);
  private timerInitial = 0;
  private timerDivide = 0;
  private timerArmed = false;
  private anchorTime = 0;
  private anchorCount = 0;
  private deadline = 0;
  private timerHandle = -1;
  private readonly lint = [false, false];
  private extIntLatched = false;
  private inErrorDelivery = false;
  /** How many times `acknowledge()` returned the spurious vector. */
  spuriousCount = 0;
  private readonly timerCallback = (t: number): void => this.timerFired(t);

  constructor(init: LocalApicInit) {
    if (!Number.isInteger(init.apicId) || init.apicId < 0 || init.apicId > 0xfffffffe) {
      throw new InvalidArgumentError(`LocalApic: apicId ${init.apicId} must be an integer in 0..0xFFFFFFFE`);
    }
    const tpc = init.ticksPerTimerClock ?? 10;
    if (!(tpc > 0) || !Number.isFinite(tpc)) throw new InvalidArgumentError(`LocalApic: ticksPerTimerClock ${tpc} must be a positive finite number`);
    this.bus = init.bus;
    this.time = init.time;
    this.cpu = init.cpu;
    this.extInt = init.extInt;
    this.supportsX2Apic = init.x2apic ?? true;
    this.eoiBroadcastSuppressionSupported = init.eoiBroadcastSuppression ?? true;
    this.ticksPerTimerClock = tpc;
    this.versionLow = (init.version ?? 0x14) & 0xff;
    this.maxPhysAddrBits = init.maxPhysAddrBits ?? 46;
    this.hwId = init.apicId >>> 0;
    this.bsp = init.bsp ?? false;
    this.base = init.baseAddress ?? APIC_DEFAULT_BASE;
    if (this.base % 4096 !== 0 || this.base < 0 || this.base >= 2 ** this.maxPhysAddrBits) {
      throw new InvalidArgumentError(`LocalApic: base address 0x${this.base.toString(16)} must be 4 KiB aligned and below MAXPHYADDR`);
    }
    this.resetRegisters(true);
  }

  // ---------------------------------------------------------------- identity and mode

  /** The current APIC ID (xAPIC: 8 bits, software-writable; x2APIC: the 32-bit x2APIC ID). */
  get apicId(): number {
    return this.id;
  }
  get mode(): ApicMode {
    return this.apicMode;
  }
  /** SVR bit 8. */
  get softwareEnabled(): boolean {
    return this.apicMode !== 'disabled' && (this.svr & SVR_APIC_ENABLED) !== 0;
  }
  get mmioBase(): number | null {
    return this.apicMode === 'xapic' ? this.base : null;
  }
  /** Version register: version, max LVT entry (6: seven entries with CMCI), EOI-broadcast suppression. */
  get versionRegister(): number {
    return (this.versionLow | (6 << 16) | (this.eoiBroadcastSuppressionSupported ? 1 << 24 : 0)) >>> 0;
  }

  /** IA32_APIC_BASE. */
  readApicBase(): bigint {
    let v = BigInt(this.base);
    if (this.bsp) v |= APIC_BASE_BSP;
    if (this.apicMode !== 'disabled') v |= APIC_BASE_EN;
    if (this.apicMode === 'x2apic') v |= APIC_BASE_EXTD;
    return v;
  }

  /**
   * WRMSR IA32_APIC_BASE: reserved bits and the illegal transitions of SDM 11.12.5 (x2APIC →
   * xAPIC, disabled → x2APIC, EN = 0 with EXTD = 1) fail with #GP. Disabling resets the APIC;
   * BSP is read-only.
   */
  writeApicBase(value: bigint): ApicAccessResult {
    const baseMask = ((1n << BigInt(this.maxPhysAddrBits)) - 1n) & ~0xfffn;
    const allowed = baseMask | APIC_BASE_EN | APIC_BASE_BSP | (this.supportsX2Apic ? APIC_BASE_EXTD : 0n);
    if (value & ~allowed) return gp('IA32_APIC_BASE: reserved bit set');
    const en = (value & APIC_BASE_EN) !== 0n;
    const extd = (value & APIC_BASE_EXTD) !== 0n;
    const next: ApicMode = !en ? 'disabled' : extd ? 'x2apic' : 'xapic';
    if (!en && extd) return gp('IA32_APIC_BASE: EXTD without EN is an invalid state');
    const cur = this.apicMode;
    if (cur === 'x2apic' && next === 'xapic') return gp('IA32_APIC_BASE: x2APIC → xAPIC is illegal (disable first)');
    if (cur === 'disabled' && next === 'x2apic') return gp('IA32_APIC_BASE: disabled → x2APIC is illegal (enable xAPIC first)');
    this.base = Number(value & baseMask);
    if (next === cur) return OK;
    if (next === 'disabled') {
      this.resetRegisters(true);
      this.apicMode = 'disabled';
    } else if (cur === 'disabled') {
      this.resetRegisters(true);
      this.apicMode = next;
    } else {
      // xAPIC → x2APIC: the ID becomes the 32-bit x2APIC ID, the LDR is derived, DFR goes away.
      this.apicMode = 'x2apic';
      this.id = this.hwId;
      this.ldr = this.x2apicLdr();
      this.icrHigh = 0;
    }
    return OK;
  }

  private x2apicLdr(): number {
    return (((this.hwId >>> 4) << 16) | (1 << (this.hwId & 0xf))) >>> 0;
  }

  /** Power-up/reset state (SDM 11.4.7.1); `full` also resets the ID. The INIT state keeps the ID and mode. */
  private resetRegisters(full: boolean): void {
    if (full) this.id = this.hwId & 0xff;
    this.tpr = 0;
    this.ldr = this.apicMode === 'x2apic' && !full ? this.x2apicLdr() : 0;
    this.dfr = 0xffffffff;
    this.svr = 0xff;
    this.isr.fill(0);
    this.tmr.fill(0);
    this.irr.fill(0);
    this.esr = 0;
    this.esrPending = 0;
    this.icrLow = 0;
    this.icrHigh = 0;
    this.lvt.fill(LVT_MASKED);
    this.timerInitial = 0;
    this.timerDivide = 0;
    this.stopTimer();
    this.extIntLatched = false;
  }

  /**
   * The processor performed INIT (SDM 11.4.7.3): registers return to their reset values except the
   * APIC ID, the x2APIC mode and IA32_APIC_BASE. Receiving an INIT message only calls `cpu.onInit()`;
   * the machine calls this when the processor actually takes the INIT (it may be latched or blocked in VMX root).
   */
  initReset(): void {
    if (this.apicMode === 'disabled') return;
    const id = this.id;
    this.resetRegisters(false);
    this.id = id;
  }

  // ---------------------------------------------------------------- priorities

  /** TPR register (bits 7:0). */
  get taskPriority(): number {
    return this.tpr;
  }
  /** Processor priority (SDM 11.8.3.1). */
  get ppr(): number {
    const isrv = highestBit(this.isr);
    const isrClass = isrv < 0 ? 0 : isrv & 0xf0;
    return (this.tpr & 0xf0) >= isrClass ? this.tpr : isrClass;
  }
  /** Arbitration priority (SDM 11.6.2.4; xAPIC only). */
  get apr(): number {
    const irrv = highestBit(this.irr);
    const isrv = highestBit(this.isr);
    const t = this.tpr >>> 4;
    const irrC = irrv < 0 ? 0 : irrv >>> 4;
    const isrC = isrv < 0 ? 0 : isrv >>> 4;
    if (t >= irrC && t > isrC) return this.tpr;
    return Math.max(t, irrC, isrC) << 4;
  }

  /** CR8 read: TPR[7:4]. */
  readTpr(): number {
    return this.tpr >>> 4;
  }
  /** CR8 write: TPR = value[3:0] << 4. */
  writeTpr(value: number): void {
    this.setTpr((value & 0xf) << 4);
  }
  private setTpr(v: number): void {
    this.tpr = v & 0xff;
    this.signalIfDeliverable();
  }

  /** Whether vector `v`'s bit is set in IRR / ISR / TMR. */
  irrBit(v: number): boolean {
    return testBit(this.irr, v & 0xff);
  }
  isrBit(v: number): boolean {
    return testBit(this.isr, v & 0xff);
  }
  tmrBit(v: number): boolean {
    return testBit(this.tmr, v & 0xff);
  }

  private extIntActive(): boolean {
    if (this.extIntLatched) return true;
    if (!this.lint[0]) return false;
    if (this.apicMode === 'disabled') return true; // no APIC: LINT0 is the INTR pin
    const l = this.lvt[Lvt.LINT0];
    return (l & LVT_MASKED) === 0 && ((l >>> 8) & 7) === DeliveryMode.EXTINT;
  }

  /** The vector INTR would deliver now, or -1 (no side effects). ExtINT bypasses IRR/ISR and priority. */
  pendingVector(): number {
    if (this.extInt !== undefined && this.extIntActive()) {
      const v = this.extInt.pendingVector();
      if (v >= 0) return v;
    }
    const v = highestBit(this.irr);
    if (v < 0) return -1;
    return (v & 0xf0) > (this.ppr & 0xf0) ? v : -1;
  }

  /**
   * INTA: moves the deliverable vector from IRR to ISR and returns it. When nothing is deliverable
   * any more (the interrupt was withdrawn between `pendingVector()` and the acknowledge — e.g. TPR
   * was raised, or a hypervisor changed the virtual APIC), returns the SVR spurious vector without
   * touching ISR (SDM 11.9), and counts it in `spuriousCount`.
   */
  acknowledge(): number {
    if (this.extInt !== undefined && this.extIntActive() && this.extInt.pendingVector() >= 0) {
      this.extIntLatched = false;
      return this.extInt.acknowledge();
    }
    const v = highestBit(this.irr);
    if (v < 0 || (v & 0xf0) <= (this.ppr & 0xf0)) {
      this.spuriousCount++;
      return this.svr & 0xff;
    }
    clearBit(this.irr, v);
    setBit(this.isr, v);
    return v;
  }

  private signalIfDeliverable(): void {
    if (this.pendingVector() >= 0) this.cpu.onInterrupt();
  }

  /** EOI: retires the highest in-service vector; level-triggered ones are broadcast unless suppressed. */
  eoi(): void {
    const v = highestBit(this.isr);
    if (v >= 0) {
      clearBit(this.isr, v);
      if (testBit(this.tmr, v)) {
        let local = false;
        for (let lv = Lvt.LINT0 as number; lv <= Lvt.LINT1; lv++) {
          const l = this.lvt[lv];
          if ((l & LVT_REMOTE_IRR) !== 0 && (l & 0xff) === v) {
            local = true;
            this.lvt[lv] = l & ~LVT_REMOTE_IRR;
            if (this.lint[lv - Lvt.LINT0]) this.fireLvt(lv as Lvt); // still asserted: re-trigger
          }
        }
        if (!local && (this.svr & SVR_EOI_BROADCAST_SUPPRESSION) === 0) this.bus.eoiBroadcast?.(v, this.id);
      }
    }
    this.signalIfDeliverable();
  }

  // ---------------------------------------------------------------- acceptance

  private recordError(bits: number): void {
    this.esrPending |= bits;
    const l = this.lvt[Lvt.ERROR];
    if (this.inErrorDelivery || (l & LVT_MASKED) !== 0 || !this.softwareEnabled) return;
    this.inErrorDelivery = true;
    try {
      this.acceptFixed(l & 0xff, false);
    } finally {
      this.inErrorDelivery = false;
    }
  }

  /** A fixed/lowest-priority interrupt accepted by this APIC (IRR, TMR). Vectors 0–15 are illegal. */
  private acceptFixed(vector: number, level: boolean): void {
    vector &= 0xff;
    if (vector < 16) {
      this.recordError(EsrBit.RECEIVED_ILLEGAL_VECTOR);
      return;
    }
    if (!this.softwareEnabled) return; // software-disabled APICs do not accept fixed interrupts
    setBit(this.irr, vector);
    if (level) setBit(this.tmr, vector);
    else clearBit(this.tmr, vector);
    this.signalIfDeliverable();
  }

  /** A message the fabric routed to this APIC (IPI or I/O APIC message). A hardware-disabled APIC ignores everything. */
  deliver(m: ApicInterruptMessage): void {
    if (this.apicMode === 'disabled') return;
    switch (m.mode) {
      case DeliveryMode.FIXED:
      case DeliveryMode.LOWEST_PRIORITY:
        this.acceptFixed(m.vector, m.trigger === 'level');
        return;
      case DeliveryMode.SMI:
        this.cpu.onSmi?.();
        return;
      case DeliveryMode.NMI:
        this.cpu.onNmi();
        return;
      case DeliveryMode.INIT:
        if (!m.level && m.trigger === 'level') return; // INIT level de-assert: ignored (P4 and later)
        this.cpu.onInit();
        return;
      case DeliveryMode.STARTUP:
        this.cpu.onSipi(m.vector & 0xff);
        return;
      case DeliveryMode.EXTINT:
        this.extIntLatched = true;
        this.cpu.onExtInt();
        return;
      default:
        return; // reserved encodings
    }
  }

  /** Does a message addressed to `destination` in `destMode` reach this APIC (SDM 11.6.2)? Shorthands are the fabric's job. */
  matchesDestination(destination: number, destMode: 'physical' | 'logical', _x2apic?: boolean): boolean {
    if (this.apicMode === 'disabled') return false;
    if (this.apicMode === 'x2apic') {
      const d = destination >>> 0;
      if (d === 0xffffffff) return true;
      if (destMode === 'physical') return d === this.id;
      return d >>> 16 === this.ldr >>> 16 && (d & this.ldr & 0xffff) !== 0;
    }
    const d = destination & 0xff;
    if (destMode === 'physical') return d === 0xff || d === (this.id & 0xff);
    const ldr = this.ldr >>> 24;
    if (this.dfr >>> 28 === 0xf) return (d & ldr) !== 0; // flat
    const cluster = d >>> 4;
    return (cluster === 0xf || cluster === ldr >>> 4) && (d & ldr & 0xf) !== 0; // cluster
  }

  /** Focus-processor checking (SVR bit 9 = 0) and `vector` already pending or in service here. */
  isFocusFor(vector: number): boolean {
    return (this.svr & SVR_FOCUS_DISABLED) === 0 && (testBit(this.irr, vector & 0xff) || testBit(this.isr, vector & 0xff));
  }

  // ---------------------------------------------------------------- local interrupt sources

  private fireLvt(index: Lvt): void {
    const l = this.lvt[index];
    if ((l & LVT_MASKED) !== 0) return;
    const hasMode = index !== Lvt.TIMER && index !== Lvt.ERROR;
    const mode = hasMode ? (l >>> 8) & 7 : DeliveryMode.FIXED;
    switch (mode) {
      case DeliveryMode.FIXED: {
        const level = (index === Lvt.LINT0 || index === Lvt.LINT1) && (l & LVT_LEVEL_TRIGGER) !== 0;
        if (level) {
          if ((l & LVT_REMOTE_IRR) !== 0) return; // already accepted, waiting for EOI
          if ((l & 0xff) >= 16) this.lvt[index] = l | LVT_REMOTE_IRR;
        }
        this.acceptFixed(l & 0xff, level);
        return;
      }
      case DeliveryMode.SMI:
        this.cpu.onSmi?.();
        return;
      case DeliveryMode.NMI:
        this.cpu.onNmi();
        return;
      case DeliveryMode.INIT:
        this.cpu.onInit();
        return;
      case DeliveryMode.EXTINT:
        this.extIntLatched = index === Lvt.LINT0 ? this.extIntLatched : true;
        this.cpu.onExtInt();
        return;
      default:
        return;
    }
  }

  /**
   * Drives the LINT0/LINT1 input pin (`asserted` is the logical state; the LVT polarity bit is
   * stored but the caller is assumed to pass the already-decoded assertion). Edge-triggered entries
   * fire on the rising edge; level-triggered fixed entries fire while asserted (remote IRR until
   * EOI); ExtINT on LINT0 is level-sensitive (the 8259 INTR line). With the APIC globally disabled,
   * LINT0 is the INTR pin and LINT1 the NMI pin.
   */
  setLint(pin: 0 | 1, asserted: boolean): void {
    const was = this.lint[pin];
    this.lint[pin] = asserted;
    const index = pin === 0 ? Lvt.LINT0 : Lvt.LINT1;
    if (this.apicMode === 'disabled') {
      if (asserted && !was) {
        if (pin === 1) this.cpu.onNmi();
        else this.cpu.onExtInt();
      }
      return;
    }
    const l = this.lvt[index];
    const mode = (l >>> 8) & 7;
    if (pin === 0 && mode === DeliveryMode.EXTINT) {
      if (asserted && (l & LVT_MASKED) === 0) this.cpu.onExtInt();
      return;
    }
    const level = mode === DeliveryMode.FIXED && (l & LVT_LEVEL_TRIGGER) !== 0;
    if (asserted && (level || !was)) this.fireLvt(index);
  }

  /** One edge on the external NMI line (LINT1): an NMI when LVT LINT1 is programmed for NMI delivery and unmasked. */
  raiseNmiLine(): void {
    this.setLint(1, true);
    this.setLint(1, false);
  }

  // ---------------------------------------------------------------- timer

  private get timerPeriod(): number {
    return this.ticksPerTimerClock * timerDivisor(this.timerDivide);
  }
  private get timerMode(): number {
    return (this.lvt[Lvt.TIMER] >>> 17) & 3;
  }

  private stopTimer(): void {
    if (this.timerHandle >= 0) this.time.cancel(this.timerHandle);
    this.timerHandle = -1;
    this.timerArmed = false;
    this.anchorCount = 0;
  }

  private armTimer(anchorTime: number, count: number): void {
    if (this.timerHandle >= 0) this.time.cancel(this.timerHandle);
    this.timerHandle = -1;
    this.anchorTime = anchorTime;
    this.anchorCount = count;
    this.timerArmed = count > 0;
    if (!this.timerArmed) return;
    this.deadline = anchorTime + count * this.timerPeriod;
    this.timerHandle = this.time.schedule(Math.max(this.deadline, this.time.now()), this.timerCallback);
  }

  /** Current-count register. */
  get timerCurrentCount(): number {
    if (!this.timerArmed) return 0;
    const c = Math.floor((this.time.now() - this.anchorTime) / this.timerPeriod);
    if (c < this.anchorCount) return this.anchorCount - c;
    if (this.timerMode === TimerMode.PERIODIC && this.timerInitial > 0) return this.timerInitial - ((c - this.anchorCount) % this.timerInitial);
    return 0;
  }

  /** Re-anchors the countdown at the last decrement (before a divider or mode change). */
  private rebaseTimer(): void {
    if (!this.timerArmed) return;
    const now = this.time.now();
    if (now >= this.deadline) this.timerFired(now);
    if (!this.timerArmed) return;
    const period = this.timerPeriod;
    const c = Math.floor((now - this.anchorTime) / period);
    this.anchorTime += c * period;
    this.anchorCount -= c;
  }

  /**
   * Timer event. Self-validating: an event is honoured only when the timer is armed and `time`
   * has reached the deadline, so stale or duplicated events (snapshot restore) are harmless.
   */
  private timerFired(time: number): void {
    if (!this.timerArmed || time < this.deadline) return;
    this.timerHandle = -1;
    const deadline = this.deadline;
    if (this.timerMode === TimerMode.PERIODIC && this.timerInitial > 0) this.armTimer(deadline, this.timerInitial);
    else this.timerArmed = false;
    this.fireLvt(Lvt.TIMER); // masked: counts, no interrupt
  }

  private writeInitialCount(v: number): void {
    this.timerInitial = v >>> 0;
    this.armTimer(this.time.now(), this.timerInitial);
  }

  /** A divider change keeps the current count; the partially elapsed count restarts at the new rate. */
  private writeDivide(v: number): void {
    this.rebaseTimer();
    this.timerDivide = v & 0xb;
    if (this.timerArmed) this.armTimer(this.time.now(), this.anchorCount);
  }

  // ---------------------------------------------------------------- LVT / SVR / ESR / ICR writes

  private writeLvt(index: Lvt, v: number): void {
    const old = this.lvt[index];
    let nv = (v & LVT_WRITABLE[index]) | (old & LVT_REMOTE_IRR);
    if (!this.softwareEnabled) nv |= LVT_MASKED;
    if (index === Lvt.TIMER && ((old ^ nv) >>> 17) & 3) {
      this.rebaseTimer();
      this.lvt[index] = nv >>> 0;
      if (this.timerArmed) this.armTimer(this.anchorTime, this.anchorCount);
      return;
    }
    this.lvt[index] = nv >>> 0;
    if (index === Lvt.LINT0 || index === Lvt.LINT1) {
      // A newly unmasked level-sensitive input that is asserted fires now.
      const mode = (nv >>> 8) & 7;
      const pin = index - Lvt.LINT0;
      if (this.lint[pin] && (nv & LVT_MASKED) === 0 && (old & LVT_MASKED) !== 0) {
        if (mode === DeliveryMode.EXTINT && pin === 0) this.cpu.onExtInt();
        else if (mode === DeliveryMode.FIXED && (nv & LVT_LEVEL_TRIGGER) !== 0) this.fireLvt(index);
      }
    }
  }

  private get svrWritable(): number {
    return 0xff | SVR_APIC_ENABLED | SVR_FOCUS_DISABLED | (this.eoiBroadcastSuppressionSupported ? SVR_EOI_BROADCAST_SUPPRESSION : 0);
  }

  private writeSvr(v: number): void {
    this.svr = v & this.svrWritable;
    if ((this.svr & SVR_APIC_ENABLED) === 0) for (let i = 0; i < 7; i++) this.lvt[i] |= LVT_MASKED;
    this.signalIfDeliverable();
  }

  /** ESR write (any value in xAPIC; 0 in x2APIC): latches the accumulated errors and clears the accumulator. */
  private writeEsr(): void {
    this.esr = this.esrPending;
    this.esrPending = 0;
  }

  /**
   * Sends the IPI described by ICR (SDM 11.6.1). Delivery status is idle again when this returns
   * (the fabric delivers synchronously). The self shorthand is delivered locally (all modes,
   * including the self-NMI the IDT-swap strategy needs); INIT level de-assert is not sent;
   * reserved delivery modes (3, 7) are not sent. A fixed/lowest-priority vector 0–15 sets
   * "send illegal vector" here and is still sent (each receiver sets "received illegal vector").
   */
  private sendIcr(low: number, destination: number): void {
    const mode = (low >>> 8) & 7;
    if (mode === 3 || mode === 7) return;
    const vector = low & 0xff;
    const level = (low & (1 << 14)) !== 0;
    const trigger = (low & (1 << 15)) !== 0 ? 'level' : 'edge';
    if (mode === DeliveryMode.INIT && !level && trigger === 'level') return;
    const shorthand = ((low >>> 18) & 3) as Shorthand;
    if ((mode === DeliveryMode.FIXED || mode === DeliveryMode.LOWEST_PRIORITY) && vector < 16) this.recordError(EsrBit.SEND_ILLEGAL_VECTOR);
    const m: ApicInterruptMessage = {
      mode,
      vector,
      destination: destination >>> 0,
      destMode: (low & (1 << 11)) !== 0 ? 'logical' : 'physical',
      shorthand,
      level,
      trigger,
      sourceApicId: this.id,
      x2apic: this.apicMode === 'x2apic',
    };
    if (shorthand === Shorthand.SELF) this.deliver(m);
    else this.bus.sendIpi(m);
  }

  // ---------------------------------------------------------------- xAPIC MMIO

  /** Reads one 32-bit register at a 16-byte aligned offset; undefined for reserved/write-only offsets. */
  private readRegister(offset: number): number | undefined {
    switch (offset) {
      case ApicReg.ID:
        return (this.id & 0xff) << 24 >>> 0;
      case ApicReg.VERSION:
        return this.versionRegister;
      case ApicReg.TPR:
        return this.tpr;
      case ApicReg.APR:
        return this.apr;
      case ApicReg.PPR:
        return this.ppr;
      case ApicReg.RRD:
        return 0; // remote read is not supported (P4 and later)
      case ApicReg.LDR:
        return this.ldr & 0xff000000;
      case ApicReg.DFR:
        return (this.dfr | 0x0fffffff) >>> 0;
      case ApicReg.SVR:
        return this.svr;
      case ApicReg.ESR:
        return this.esr;
      case ApicReg.ICR_LOW:
        return this.icrLow; // delivery status (bit 12) is always idle here
      case ApicReg.ICR_HIGH:
        return this.icrHigh & 0xff000000;
      case ApicReg.TIMER_INITIAL:
        return this.timerInitial;
      case ApicReg.TIMER_CURRENT:
        return this.timerCurrentCount;
      case ApicReg.TIMER_DIVIDE:
        return this.timerDivide;
      case ApicReg.EOI:
        return 0; // write-only: reads 0
    }
    if (offset >= ApicReg.ISR0 && offset < ApicReg.ISR0 + 0x80) return this.isr[(offset - ApicReg.ISR0) >> 4];
    if (offset >= ApicReg.TMR0 && offset < ApicReg.TMR0 + 0x80) return this.tmr[(offset - ApicReg.TMR0) >> 4];
    if (offset >= ApicReg.IRR0 && offset < ApicReg.IRR0 + 0x80) return this.irr[(offset - ApicReg.IRR0) >> 4];
    const lvt = LVT_BY_OFFSET.get(offset);
    if (lvt !== undefined) return this.lvt[lvt];
    return undefined;
  }

  /**
   * MMIO read of `size` bytes at `offset` (0..4095) of the xAPIC page. Registers occupy bytes 0–3
   * of their 16-byte slot; bytes 4–15 and reserved slots read 0, and touching a reserved slot sets
   * ESR "illegal register address". Sub-dword reads extract bytes of the register. The caller only
   * routes here in xAPIC mode (`mmioBase` non-null); otherwise everything reads 0.
   */
  mmioRead(offset: number, size: number): number {
    if (this.apicMode !== 'xapic') return 0;
    offset &= 0xfff;
    let out = 0;
    let illegal = false;
    for (let i = size - 1; i >= 0; i--) {
      const o = (offset + i) & 0xfff;
      const reg = this.readRegister(o & ~0xf);
      if (reg === undefined) illegal = true;
      const byte = (o & 0xf) < 4 && reg !== undefined ? (reg >>> ((o & 3) * 8)) & 0xff : 0;
      out = out * 256 + byte;
    }
    if (illegal) this.recordError(EsrBit.ILLEGAL_REGISTER_ADDRESS);
    return out;
  }

  /**
   * MMIO write. Only aligned 32-bit writes to bytes 0–3 of a register slot take effect (the SDM
   * requires 128-bit aligned 32-bit accesses; other sizes are undefined on hardware and ignored
   * here). Read-only registers ignore writes; reserved slots set ESR "illegal register address".
   */
  mmioWrite(offset: number, value: number, size: number): void {
    if (this.apicMode !== 'xapic') return;
    offset &= 0xfff;
    if (size !== 4 || (offset & 0xf) !== 0) return;
    const v = value >>> 0;
    switch (offset) {
      case ApicReg.ID:
        this.id = v >>> 24;
        return;
      case ApicReg.TPR:
        this.setTpr(v & 0xff);
        return;
      case ApicReg.EOI:
        this.eoi();
        return;
      case ApicReg.LDR:
        this.ldr = v & 0xff000000;
        return;
      case ApicReg.DFR:
        this.dfr = (v | 0x0fffffff) >>> 0;
        return;
      case ApicReg.SVR:
        this.writeSvr(v);
        return;
      case ApicReg.ESR:
        this.writeEsr();
        return;
      case ApicReg.ICR_LOW:
        this.icrLow = v & ICR_LOW_WRITABLE;
        this.sendIcr(this.icrLow, this.icrHigh >>> 24);
        return;
      case ApicReg.ICR_HIGH:
        this.icrHigh = v & 0xff000000;
        return;
      case ApicReg.TIMER_INITIAL:
        this.writeInitialCount(v);
        return;
      case ApicReg.TIMER_DIVIDE:
        this.writeDivide(v);
        return;
    }
    const lvt = LVT_BY_OFFSET.get(offset);
    if (lvt !== undefined) {
      this.writeLvt(lvt, v);
      return;
    }
    if (this.readRegister(offset) === undefined) this.recordError(EsrBit.ILLEGAL_REGISTER_ADDRESS);
    // else: a read-only register (version, APR, PPR, RRD, ISR/TMR/IRR, current count): ignored
  }

  // ---------------------------------------------------------------- MSRs (IA32_APIC_BASE and x2APIC)

  /** RDMSR of IA32_APIC_BASE (0x1B) or an x2APIC register (0x800–0x8FF). `ok: false` = #GP(0). */
  readMsr(index: number): ApicAccessResult<bigint> {
    index >>>= 0;
    if (index === X2ApicMsr.APIC_BASE) return ok64(this.readApicBase());
    if (index < 0x800 || index > 0x8ff) return gp(`MSR 0x${index.toString(16)} is not an APIC MSR`);
    if (this.apicMode !== 'x2apic') return gp('x2APIC MSR access outside x2APIC mode');
    switch (index) {
      case X2ApicMsr.ID:
        return ok64(BigInt(this.id));
      case X2ApicMsr.VERSION:
        return ok64(BigInt(this.versionRegister));
      case X2ApicMsr.TPR:
        return ok64(BigInt(this.tpr));
      case X2ApicMsr.PPR:
        return ok64(BigInt(this.ppr));
      case X2ApicMsr.LDR:
        return ok64(BigInt(this.ldr));
      case X2ApicMsr.SVR:
        return ok64(BigInt(this.svr));
      case X2ApicMsr.ESR:
        return ok64(BigInt(this.esr));
      case X2ApicMsr.ICR:
        return ok64((BigInt(this.icrHigh) << 32n) | BigInt(this.icrLow));
      case X2ApicMsr.TIMER_INITIAL:
        return ok64(BigInt(this.timerInitial));
      case X2ApicMsr.TIMER_CURRENT:
        return ok64(BigInt(this.timerCurrentCount));
      case X2ApicMsr.TIMER_DIVIDE:
        return ok64(BigInt(this.timerDivide));
      case X2ApicMsr.EOI:
      case X2ApicMsr.SELF_IPI:
        return gp(`x2APIC MSR 0x${index.toString(16)} is write-only`);
    }
    if (index >= X2ApicMsr.ISR0 && index < X2ApicMsr.ISR0 + 8) return ok64(BigInt(this.isr[index - X2ApicMsr.ISR0]));
    if (index >= X2ApicMsr.TMR0 && index < X2ApicMsr.TMR0 + 8) return ok64(BigInt(this.tmr[index - X2ApicMsr.TMR0]));
    if (index >= X2ApicMsr.IRR0 && index < X2ApicMsr.IRR0 + 8) return ok64(BigInt(this.irr[index - X2ApicMsr.IRR0]));
    const lvt = LVT_BY_MSR.get(index);
    if (lvt !== undefined) return ok64(BigInt(this.lvt[lvt]));
    return gp(`x2APIC MSR 0x${index.toString(16)} does not exist`);
  }

  /**
   * WRMSR of IA32_APIC_BASE or an x2APIC register. #GP(0) (`ok: false`) for: x2APIC MSRs outside
   * x2APIC mode, non-existent ones (APR, DFR, RRD, ICR high…), read-only ones (ID, version, PPR,
   * LDR, ISR/TMR/IRR, current count), bits 63:32 set (except ICR), reserved bits set (SDM
   * 11.12.1.3), a non-zero EOI or ESR write.
   */
  writeMsr(index: number, value: bigint): ApicAccessResult {
    index >>>= 0;
    value = BigInt.asUintN(64, value);
    if (index === X2ApicMsr.APIC_BASE) return this.writeApicBase(value);
    if (index < 0x800 || index > 0x8ff) return gp(`MSR 0x${index.toString(16)} is not an APIC MSR`);
    if (this.apicMode !== 'x2apic') return gp('x2APIC MSR access outside x2APIC mode');
    const name = `x2APIC MSR 0x${index.toString(16)}`;
    if (index === X2ApicMsr.ICR) {
      const low = Number(value & 0xffffffffn);
      if (low & ~ICR_LOW_WRITABLE) return gp(`${name}: reserved bit set`);
      this.icrLow = low;
      this.icrHigh = Number(value >> 32n);
      this.sendIcr(low, this.icrHigh);
      return OK;
    }
    if (value >> 32n) return gp(`${name}: bits 63:32 are reserved`);
    const v = Number(value);
    const rsvd = (mask: number): boolean => (v & ~mask) !== 0;
    switch (index) {
      case X2ApicMsr.TPR:
        if (rsvd(0xff)) return gp(`${name}: reserved bit set`);
        this.setTpr(v);
        return OK;
      case X2ApicMsr.EOI:
        if (v !== 0) return gp(`${name}: EOI write must be 0`);
        this.eoi();
        return OK;
      case X2ApicMsr.SVR:
        if (rsvd(this.svrWritable)) return gp(`${name}: reserved bit set`);
        this.writeSvr(v);
        return OK;
      case X2ApicMsr.ESR:
        if (v !== 0) return gp(`${name}: ESR write must be 0`);
        this.writeEsr();
        return OK;
      case X2ApicMsr.TIMER_INITIAL:
        this.writeInitialCount(v);
        return OK;
      case X2ApicMsr.TIMER_DIVIDE:
        if (rsvd(0xb)) return gp(`${name}: reserved bit set`);
        this.writeDivide(v);
        return OK;
      case X2ApicMsr.SELF_IPI:
        if (rsvd(0xff)) return gp(`${name}: reserved bit set`);
        if (v < 16) this.recordError(EsrBit.SEND_ILLEGAL_VECTOR);
        this.deliver({ mode: DeliveryMode.FIXED, vector: v, destination: this.id, destMode: 'physical', shorthand: Shorthand.SELF, level: true, trigger: 'edge', sourceApicId: this.id, x2apic: true });
        return OK;
    }
    const lvt = LVT_BY_MSR.get(index);
    if (lvt !== undefined) {
      if (rsvd(LVT_WRITABLE[lvt] | LVT_READ_ONLY)) return gp(`${name}: reserved bit set`);
      this.writeLvt(lvt, v);
      return OK;
    }
    if (this.readMsr(index).ok) return gp(`${name} is read-only`);
    return gp(`${name} does not exist`);
  }

  // ---------------------------------------------------------------- late-launch capture / restore

  /** The state the late launch hands to the hypervisor (see {@link LocalApicCapturedState}). */
  captureState(): LocalApicCapturedState {
    // An expiry due now whose clock event has not run yet is taken first, so it is not lost.
    if (this.timerArmed && this.time.now() >= this.deadline) this.timerFired(this.time.now());
    let phase = 0;
    const current = this.timerCurrentCount;
    if (this.timerArmed && current > 0) {
      const period = this.timerPeriod;
      phase = (this.time.now() - this.anchorTime) % period;
    }
    return {
      format: 'latelaunch.apic.captured/1',
      mode: this.apicMode,
      apicBase: Number(this.readApicBase()),
      apicId: this.id,
      version: this.versionRegister,
      tpr: this.tpr,
      ppr: this.ppr,
      ldr: this.ldr,
      dfr: this.dfr,
      svr: this.svr,
      isr: Array.from(this.isr),
      tmr: Array.from(this.tmr),
      irr: Array.from(this.irr),
      esr: this.esr,
      esrPending: this.esrPending,
      icrLow: this.icrLow,
      icrHigh: this.icrHigh,
      lvt: Array.from(this.lvt),
      timerInitial: this.timerInitial,
      timerCurrent: current,
      timerDivide: this.timerDivide,
      timerPhase: phase,
    };
  }

  /**
   * Initialises this APIC from a captured state (the virtual APIC of the root OS's VM). The ID
   * becomes the captured one (also the hardware ID for later x2APIC transitions); the timer
   * continues from `timerCurrent` with `timerPhase` ticks of the current count already elapsed,
   * in this APIC's time backend. PPR is recomputed. Does not signal the processor.
   */
  restoreState(s: LocalApicCapturedState): void {
    checkCaptured(s);
    if (this.timerHandle >= 0) this.time.cancel(this.timerHandle);
    this.timerHandle = -1;
    this.apicMode = s.mode;
    this.hwId = s.apicId >>> 0;
    this.id = s.apicId >>> 0;
    this.base = Math.floor(s.apicBase / 4096) * 4096 % 2 ** this.maxPhysAddrBits;
    this.bsp = (s.apicBase & 0x100) !== 0;
    this.tpr = s.tpr & 0xff;
    this.ldr = s.ldr >>> 0;
    this.dfr = (s.dfr | 0x0fffffff) >>> 0;
    this.svr = s.svr & this.svrWritable;
    this.isr.set(s.isr);
    this.tmr.set(s.tmr);
    this.irr.set(s.irr);
    this.esr = s.esr >>> 0;
    this.esrPending = s.esrPending >>> 0;
    this.icrLow = s.icrLow & ICR_LOW_WRITABLE;
    this.icrHigh = s.icrHigh >>> 0;
    for (let i = 0; i < 7; i++) this.lvt[i] = s.lvt[i] >>> 0;
    this.timerInitial = s.timerInitial >>> 0;
    this.timerDivide = s.timerDivide & 0xb;
    this.extIntLatched = false;
    this.timerArmed = false;
    if (s.timerCurrent > 0) this.armTimer(this.time.now() - s.timerPhase, s.timerCurrent >>> 0);
  }

  // ---------------------------------------------------------------- machine snapshots

  /** Complete state as frozen plain data (pair it with the time backend's own snapshot). */
  saveState(): unknown {
    const s: SavedState = {
      format: 'latelaunch.apic.saved/1',
      hwId: this.hwId,
      mode: this.apicMode,
      base: this.base,
      bsp: this.bsp,
      id: this.id,
      tpr: this.tpr,
      ldr: this.ldr,
      dfr: this.dfr,
      svr: this.svr,
      isr: Object.freeze(Array.from(this.isr)),
      tmr: Object.freeze(Array.from(this.tmr)),
      irr: Object.freeze(Array.from(this.irr)),
      esr: this.esr,
      esrPending: this.esrPending,
      icrLow: this.icrLow,
      icrHigh: this.icrHigh,
      lvt: Object.freeze(Array.from(this.lvt)),
      timerInitial: this.timerInitial,
      timerDivide: this.timerDivide,
      timerArmed: this.timerArmed,
      anchorTime: this.anchorTime,
      anchorCount: this.anchorCount,
      deadline: this.deadline,
      lint: Object.freeze([...this.lint]),
      extIntLatched: this.extIntLatched,
      spuriousCount: this.spuriousCount,
    };
    return Object.freeze(s);
  }

  /**
   * Restores a `saveState()` value. The timer event is re-scheduled at the saved deadline (an
   * event already restored by the clock's own snapshot is harmless: timer events are
   * self-validating). The saved deadline must not lie before the backend's `now()`.
   */
  loadState(state: unknown): void {
    const s = state as SavedState;
    if (typeof state !== 'object' || state === null || s.format !== 'latelaunch.apic.saved/1') {
      throw new InvalidArgumentError('LocalApic.loadState: not a LocalApic saveState() value');
    }
    if (this.timerHandle >= 0) this.time.cancel(this.timerHandle);
    this.timerHandle = -1;
    this.hwId = s.hwId;
    this.apicMode = s.mode;
    this.base = s.base;
    this.bsp = s.bsp;
    this.id = s.id;
    this.tpr = s.tpr;
    this.ldr = s.ldr;
    this.dfr = s.dfr;
    this.svr = s.svr;
    this.isr.set(s.isr);
    this.tmr.set(s.tmr);
    this.irr.set(s.irr);
    this.esr = s.esr;
    this.esrPending = s.esrPending;
    this.icrLow = s.icrLow;
    this.icrHigh = s.icrHigh;
    this.lvt.set(s.lvt);
    this.timerInitial = s.timerInitial;
    this.timerDivide = s.timerDivide;
    this.timerArmed = s.timerArmed;
    this.anchorTime = s.anchorTime;
    this.anchorCount = s.anchorCount;
    this.deadline = s.deadline;
    this.lint[0] = s.lint[0];
    this.lint[1] = s.lint[1];
    this.extIntLatched = s.extIntLatched;
    this.spuriousCount = s.spuriousCount;
    if (this.timerArmed) this.timerHandle = this.time.schedule(Math.max(this.deadline, this.time.now()), this.timerCallback);
  }

  /** A readable summary of the registers (for traces and debugging). */
  describe(): Record<string, number | string> {
    const out: Record<string, number | string> = { mode: this.apicMode, id: this.id, tpr: this.tpr, ppr: this.ppr, svr: this.svr, esr: this.esr };
    LVT_NAMES.forEach((n, i) => (out[`lvt_${n}`] = this.lvt[i]));
    out.timerInitial = this.timerInitial;
    out.timerCurrent = this.timerCurrentCount;
    out.irrHighest = highestBit(this.irr);
    out.isrHighest = highestBit(this.isr);
    return out;
  }
}

function checkCaptured(s: LocalApicCapturedState): void {
  const bad = (what: string): never => {
    throw new InvalidArgumentError(`LocalApic.restoreState: ${what}`);
  };
  if (typeof s !== 'object' || s === null || s.format !== 'latelaunch.apic.captured/1') bad('not a captured APIC state (format latelaunch.apic.captured/1)');
  if (s.mode !== 'disabled' && s.mode !== 'xapic' && s.mode !== 'x2apic') bad(`unknown mode ${String(s.mode)}`);
  for (const k of ['isr', 'tmr', 'irr'] as const) if (!Array.isArray(s[k]) || s[k].length !== 8) bad(`${k} must hold 8 words`);
  if (!Array.isArray(s.lvt) || s.lvt.length !== 7) bad('lvt must hold 7 entries (timer, thermal, perf, LINT0, LINT1, error, CMCI)');
  for (const k of ['apicBase', 'apicId', 'tpr', 'ldr', 'dfr', 'svr', 'esr', 'esrPending', 'icrLow', 'icrHigh', 'timerInitial', 'timerCurrent', 'timerDivide', 'timerPhase'] as const) {
    if (!Number.isInteger(s[k]) || s[k] < 0) bad(`${k} must be a non-negative integer`);
  }
}
