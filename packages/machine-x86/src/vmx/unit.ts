/**
 * The VMX state of one logical processor (SDM Vol. 3C ch. 24 "Introduction to VMX operation"):
 * VMX operation, VMXON pointer, current-VMCS pointer, the processor's VMCS cache, and what VMX
 * non-root operation needs while a guest runs (preemption timer, physical NMI blocking under
 * virtual NMIs, the pending exit information of the exit being built).
 */
import type { ApicTimeBackend, ExtendedAddressTranslator, TraceBus } from '@latelaunch/kernel';
import type { Processor } from '../cpu/processor.js';
import { sys } from '../cpu/system-context.js';
import type { VmxCapabilities } from './controls.js';
import { F, REGION, SLOT_COUNT, VmcsData } from './vmcs.js';
import { NonRoot } from './non-root.js';
import { secondary } from './exit.js';
import { Proc2 } from './controls.js';

declare module '@latelaunch/kernel' {
  interface TraceEventMap {
    /** A VMX instruction completed with VMfailInvalid / VMfailValid(error). */
    'vmx.fail': { instruction: string; error: number; message: string };
    /** A VM-entry check failed: `kind` controls / host / guest / msr-load; `check` is the check's name. */
    'vmx.entry-check': { kind: string; check: string };
    /** VM entry completed (guest RIP, launch or resume). */
    'vmx.entry': { launch: boolean; rip: number };
    /** VM exit: basic reason (bit 31 for entry failures), qualification, guest RIP. */
    'vmx.exit': { reason: number; qualification: number; rip: number };
    /** VMX abort (SDM 28.7): the processor shut down with the abort indicator written. */
    'vmx.abort': { indicator: number };
  }
}

/** Per-processor VMX state. */
export class VmxUnit {
  /** In VMX operation (after VMXON, until VMXOFF). */
  inVmx = false;
  /** In VMX non-root operation (between a VM entry and the next VM exit). */
  nonRoot = false;
  /** VMXON region physical address. */
  vmxonPointer = 0;
  /** The current VMCS (null: the current-VMCS pointer is invalid). */
  current: VmcsData | null = null;
  /** VMCS data cached in the processor by VMPTRLD, by region address (written back by VMCLEAR). */
  readonly cache = new Map<number, VmcsData>();

  // ---- non-root state
  /** Physical NMI blocking while a guest with "virtual NMIs" runs (the CpuState flag then holds virtual-NMI blocking). */
  physNmiBlocked = false;
  /** The VMX-preemption timer reached zero (a VM exit is due at the next boundary). */
  timerExpired = false;
  /** Virtual time at which the timer expires (NaN: not armed). */
  timerDeadline = NaN;
  private timerHandle = -1;

  // ---- the exit being built (no allocation per exit)
  exitQualification = 0;
  exitInstrLen = 0;
  exitInstrInfo = 0;
  exitIntrInfo = 0;
  exitIntrError = 0;
  /** Guest-linear address to record (NaN: none). */
  exitGuestLinear = NaN;
  /** Guest-physical address to record (NaN: none). */
  exitGuestPhysical = NaN;
  /** The exit was caused by an NMI (NMIs stay blocked in the host). */
  exitByNmi = false;

  /** The non-root hooks installed in the processor while a guest runs. */
  readonly hooks: NonRoot;
  /** The next intercepted event is the event VM entry injects (not subject to the exception bitmap). */
  injecting = false;
  /** Name of the last failing VM-entry check ('' if none), and the last VM-instruction error (0: VMfailInvalid). */
  lastFailedCheck = '';
  lastError = -1;

  /** Run full VM-entry checks every time (false: skip checks whose inputs did not change; see VmcsData.writes). */
  alwaysCheck = false;
  /** Statistics: VM entries, VM exits, entries that reused cached check results. */
  entries = 0;
  exits = 0;
  cachedChecks = 0;

  constructor(
    readonly p: Processor,
    readonly caps: VmxCapabilities,
    /** Virtual time for the VMX-preemption timer (the machine clock); null: the timer is driven by the retired-instruction TSC and checked at boundaries. */
    readonly time: ApicTimeBackend | null,
  ) {
    this.hooks = new NonRoot(this);
  }

  get trace(): TraceBus | null {
    return sys(this.p).trace;
  }

  /** The processor's translator when it offers the VMX context (paging plugin); null for the identity stand-in. */
  translator(): ExtendedAddressTranslator | null {
    const m = this.p.mmu as unknown as { ensureExtended?: () => ExtendedAddressTranslator | null; setEpt?: unknown };
    if (typeof m.ensureExtended === 'function') return m.ensureExtended();
    if (typeof m.setEpt === 'function') return m as unknown as ExtendedAddressTranslator;
    return null;
  }

  /** MAXPHYADDR of the processor. */
  get maxPhys(): number {
    return sys(this.p).cpuid.config.maxPhysAddrBits;
  }

  /** Is `addr` a valid physical address (below 2^MAXPHYADDR)? */
  physOk(addr: number): boolean {
    return addr >= 0 && addr < 2 ** this.maxPhys;
  }

  // ---- VMCS regions in memory

  readPhys32(addr: number): number {
    return this.p.bus.read32(addr, this.p.cpuIndex) >>> 0;
  }

  writePhys32(addr: number, v: number): void {
    this.p.bus.write32(addr, v >>> 0, this.p.cpuIndex);
  }

  readPhys64(addr: number): bigint {
    return this.p.bus.read64(addr, this.p.cpuIndex);
  }

  writePhys64(addr: number, v: bigint): void {
    this.p.bus.write64(addr, v, this.p.cpuIndex);
  }

  /** VMPTRLD: the cached data for `addr`, or a fresh copy read from the region. */
  load(addr: number): VmcsData {
    let v = this.cache.get(addr);
    if (v !== undefined) return v;
    v = new VmcsData(addr);
    v.launched = this.readPhys32(addr + REGION.LAUNCH_STATE) === 1;
    for (let k = 0; k < SLOT_COUNT; k++) {
      const a = addr + REGION.DATA + k * 8;
      v.lo[k] = this.readPhys32(a);
      v.hi[k] = this.readPhys32(a + 4);
    }
    this.cache.set(addr, v);
    return v;
  }

  /** Writes cached data back to its region (VMCLEAR). */
  flush(v: VmcsData): void {
    this.writePhys32(v.address + REGION.LAUNCH_STATE, v.launched ? 1 : 0);
    for (let k = 0; k < SLOT_COUNT; k++) {
      const a = v.address + REGION.DATA + k * 8;
      this.writePhys32(a, v.lo[k]);
      this.writePhys32(a + 4, v.hi[k]);
    }
  }

  /** Records the VM-instruction error number in the current VMCS. */
  setInstructionError(error: number): void {
    this.current?.set(F.VM_INSTRUCTION_ERROR, error);
  }

  // ---- VMX-preemption timer (SDM 26.5.1): counts down by 1 every 2^rate TSC ticks in non-root operation

  armTimer(value: number, rate: number): void {
    this.disarmTimer();
    this.timerExpired = false;
    const now = this.now();
    // The timer counts down at TSC >> rate boundaries; from `value` to 0 it takes value · 2^rate ticks.
    const ticks = value * 2 ** rate;
    this.timerDeadline = now + ticks;
    if (value === 0) {
      this.timerExpired = true;
      this.p.eventsPending = true;
      return;
    }
    this.scheduleTimer();
  }

  /** Schedules the expiry at `timerDeadline` on the clock backend (none: `pollTimer` at boundaries). */
  private scheduleTimer(): void {
    if (this.time === null) return;
    this.timerHandle = this.time.schedule(this.timerDeadline, () => {
      this.timerHandle = -1;
      this.timerExpired = true;
      this.p.eventsPending = true;
    });
  }

  /** Remaining timer value (for "save VMX-preemption timer value"). */
  timerRemaining(rate: number): number {
    if (Number.isNaN(this.timerDeadline)) return 0;
    if (this.timerExpired) return 0;
    return Math.max(0, Math.ceil((this.timerDeadline - this.now()) / 2 ** rate));
  }

  /** Polls a timer without a clock backend (retired-instruction TSC). */
  pollTimer(): boolean {
    if (this.timerExpired) return true;
    if (this.time === null && !Number.isNaN(this.timerDeadline) && this.now() >= this.timerDeadline) this.timerExpired = true;
    return this.timerExpired;
  }

  disarmTimer(): void {
    if (this.timerHandle >= 0 && this.time !== null) this.time.cancel(this.timerHandle);
    this.timerHandle = -1;
    this.timerDeadline = NaN;
    this.timerExpired = false;
  }

  /** Snapshot of the VMX state (machine snapshots): VMCS cache contents, pointers, non-root state. */
  saveState(): unknown {
    const p = this.p;
    return {
      inVmx: this.inVmx,
      nonRoot: this.nonRoot,
      vmxonPointer: this.vmxonPointer,
      current: this.current?.address ?? -1,
      cache: [...this.cache.values()].map((v) => ({ address: v.address, lo: v.lo.slice(), hi: v.hi.slice(), launched: v.launched, afterVmxoff: v.afterVmxoff })),
      physNmiBlocked: this.physNmiBlocked,
      timerExpired: this.timerExpired,
      timerDeadline: this.timerDeadline,
      fixed: [p.cr0Fixed0, p.cr0Fixed1, p.cr4Fixed0, p.cr4Fixed1],
      eptActive: p.eptActive,
    };
  }

  /** Restores {@link saveState} (the processor state and memory are restored by the machine). */
  loadState(state: unknown): void {
    const st = state as {
      inVmx: boolean; nonRoot: boolean; vmxonPointer: number; current: number; physNmiBlocked: boolean; timerExpired: boolean; timerDeadline: number;
      cache: { address: number; lo: Uint32Array; hi: Uint32Array; launched: boolean; afterVmxoff: boolean }[]; fixed: number[]; eptActive: boolean;
    };
    const p = this.p;
    this.disarmTimer();
    this.inVmx = st.inVmx;
    this.nonRoot = st.nonRoot;
    this.vmxonPointer = st.vmxonPointer;
    this.cache.clear();
    for (const c of st.cache) {
      const v = new VmcsData(c.address);
      v.lo.set(c.lo);
      v.hi.set(c.hi);
      v.launched = c.launched;
      v.afterVmxoff = c.afterVmxoff;
      this.cache.set(c.address, v);
    }
    this.current = st.current >= 0 ? (this.cache.get(st.current) ?? null) : null;
    this.physNmiBlocked = st.physNmiBlocked;
    [p.cr0Fixed0, p.cr0Fixed1, p.cr4Fixed0, p.cr4Fixed1] = st.fixed;
    p.eptActive = st.eptActive;
    p.vmxGuest = null;
    p.initBlocked = this.inVmx && !this.nonRoot;
    const mmu = this.translator();
    if (mmu !== null) {
      const v = this.nonRoot ? this.current : null;
      const proc2 = v !== null ? secondary(v) : 0;
      mmu.setVpid(v !== null && proc2 & Proc2.ENABLE_VPID ? v.u32(F.VIRTUAL_PROCESSOR_ID) & 0xffff : 0);
      mmu.setEpt(v !== null && proc2 & Proc2.ENABLE_EPT ? v.num(F.EPT_POINTER) : null);
    }
    if (this.nonRoot && this.current !== null) {
      this.hooks.configure(this.current);
      p.vmxGuest = this.hooks;
      const remaining = st.timerDeadline - this.now();
      this.timerDeadline = st.timerDeadline;
      if (!Number.isNaN(st.timerDeadline) && !st.timerExpired && remaining > 0 && this.time !== null) this.scheduleTimer();
      else this.timerExpired = st.timerExpired || (!Number.isNaN(st.timerDeadline) && remaining <= 0);
    }
  }

  now(): number {
    return this.time !== null ? this.time.now() : sys(this.p).tsc();
  }
}
