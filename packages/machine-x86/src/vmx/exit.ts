/**
 * VM exits (SDM Vol. 3C ch. 28 "VM Exits"): record the exit information (28.2), save the guest
 * state (28.3), store MSRs (28.4), load the host state (28.5) and load MSRs; a failure while
 * loading host state is a VMX abort (28.7). Also the host-state loading of VM-entry failures that
 * happen after the controls and host state were checked (26.8).
 *
 * Callers fill the exit-information fields of the {@link VmxUnit} (`exitQualification`,
 * `exitInstrLen`, …) and call {@link vmExit} with the basic exit reason and the guest RIP to save.
 */
import { Activity, AR, Cr0, Cr4, Efer, Flag, Seg, type CpuState } from '../cpu/state.js';
import { endShadow } from '../cpu/interrupts.js';
import { Msr, msrStored, readMsr, writeMsr } from '../cpu/msr.js';
import { CPU_FAULT } from '../cpu/fault.js';
import { EventKind } from '../cpu/exceptions.js';
import { EntryCtl, ExitCtl, Pin, PREEMPTION_TIMER_RATE, Proc2 } from './controls.js';
import { F, REGION, type VmcsData } from './vmcs.js';
import type { VmxUnit } from './unit.js';

/** Interruption types of the interruption-information fields (SDM Table 25-17 / 26-?). */
export const IntrType = { EXTERNAL: 0, NMI: 2, HW_EXCEPTION: 3, SW_INTERRUPT: 4, PRIV_SW_EXCEPTION: 5, SW_EXCEPTION: 6, OTHER: 7 } as const;

/** Interruption type of an interpreter event kind. */
export function intrTypeOf(kind: number): number {
  switch (kind) {
    case EventKind.EXTERNAL:
      return IntrType.EXTERNAL;
    case EventKind.NMI:
      return IntrType.NMI;
    case EventKind.SOFTWARE_INT:
      return IntrType.SW_INTERRUPT;
    case EventKind.SOFTWARE_EXC:
      return IntrType.SW_EXCEPTION;
    default:
      return IntrType.HW_EXCEPTION;
  }
}

/** Guest segment field slots in Seg order (ES CS SS DS FS GS LDTR TR). */
export const SEG_SEL = [F.GUEST_ES_SELECTOR, F.GUEST_CS_SELECTOR, F.GUEST_SS_SELECTOR, F.GUEST_DS_SELECTOR, F.GUEST_FS_SELECTOR, F.GUEST_GS_SELECTOR, F.GUEST_LDTR_SELECTOR, F.GUEST_TR_SELECTOR];
export const SEG_BASE = [F.GUEST_ES_BASE, F.GUEST_CS_BASE, F.GUEST_SS_BASE, F.GUEST_DS_BASE, F.GUEST_FS_BASE, F.GUEST_GS_BASE, F.GUEST_LDTR_BASE, F.GUEST_TR_BASE];
export const SEG_LIMIT = [F.GUEST_ES_LIMIT, F.GUEST_CS_LIMIT, F.GUEST_SS_LIMIT, F.GUEST_DS_LIMIT, F.GUEST_FS_LIMIT, F.GUEST_GS_LIMIT, F.GUEST_LDTR_LIMIT, F.GUEST_TR_LIMIT];
export const SEG_AR = [F.GUEST_ES_AR_BYTES, F.GUEST_CS_AR_BYTES, F.GUEST_SS_AR_BYTES, F.GUEST_DS_AR_BYTES, F.GUEST_FS_AR_BYTES, F.GUEST_GS_AR_BYTES, F.GUEST_LDTR_AR_BYTES, F.GUEST_TR_AR_BYTES];
/** Host selector slots (ES CS SS DS FS GS; TR separately). */
export const HOST_SEL = [F.HOST_ES_SELECTOR, F.HOST_CS_SELECTOR, F.HOST_SS_SELECTOR, F.HOST_DS_SELECTOR, F.HOST_FS_SELECTOR, F.HOST_GS_SELECTOR];

/** Interruptibility-state bits (SDM Table 25-3). */
export const Intr = { STI: 1, MOV_SS: 2, SMI: 4, NMI: 8 } as const;

/**
 * Performs a VM exit with basic reason `reason`, saving `guestRip` as the guest RIP. The exit
 * information the caller prepared in `u` is recorded. Returns normally (the processor now runs the
 * host); a VMX abort leaves the processor shut down.
 */
export function vmExit(u: VmxUnit, reason: number, guestRip: number): void {
  const p = u.p;
  const v = u.current as VmcsData;
  const s = p.state;
  p.syncToState();

  // 28.2 exit information.
  v.set(F.VM_EXIT_REASON, reason);
  v.setNum(F.EXIT_QUALIFICATION, u.exitQualification);
  v.set(F.VM_EXIT_INTR_INFO, u.exitIntrInfo);
  v.set(F.VM_EXIT_INTR_ERROR_CODE, u.exitIntrError);
  v.set(F.VM_EXIT_INSTRUCTION_LEN, u.exitInstrLen);
  v.set(F.VMX_INSTRUCTION_INFO, u.exitInstrInfo);
  v.setNum(F.GUEST_LINEAR_ADDRESS, Number.isNaN(u.exitGuestLinear) ? 0 : u.exitGuestLinear);
  v.setNum(F.GUEST_PHYSICAL_ADDRESS, Number.isNaN(u.exitGuestPhysical) ? 0 : u.exitGuestPhysical);
  if (p.vectoringValid) {
    const type = intrTypeOf(p.vectoringKind);
    const hasErr = p.vectoringError >= 0;
    v.set(F.IDT_VECTORING_INFO, (0x80000000 | (hasErr ? 0x800 : 0) | (type << 8) | p.vectoringVector) >>> 0);
    v.set(F.IDT_VECTORING_ERROR_CODE, hasErr ? p.vectoringError : 0);
    p.vectoringValid = false;
  } else v.set(F.IDT_VECTORING_INFO, 0);
  // VM exits clear the valid bit of the VM-entry interruption-information field (SDM 25.8.3).
  v.set(F.VM_ENTRY_INTR_INFO, v.u32(F.VM_ENTRY_INTR_INFO) & 0x7fffffff);

  // 28.3 save guest state.
  saveGuest(u, v, s, guestRip);

  // 28.4 MSR store.
  const storeCount = v.u32(F.VM_EXIT_MSR_STORE_COUNT);
  if (storeCount > 0) {
    const base = v.num(F.VM_EXIT_MSR_STORE_ADDR);
    for (let k = 0; k < storeCount; k++) {
      const index = u.readPhys32(base + k * 16);
      let value: bigint;
      try {
        value = storeableMsr(index) ? readMsr(p, index) : -1n;
      } catch (e) {
        if (e !== CPU_FAULT) throw e;
        value = -1n;
      }
      if (value < 0n) return vmxAbort(u, 2); // failure storing an MSR on exit
      u.writePhys64(base + k * 16 + 8, value);
    }
  }

  u.exits++;
  const trace = u.trace;
  if (trace !== null && trace.wants('vmx.exit')) trace.emit('vmx.exit', { reason, qualification: u.exitQualification, rip: guestRip }, p.cpuIndex);
  loadHost(u, v, reason === 0 && u.exitByNmi);
}

/** MSRs that may not appear in an MSR-store list (SDM 28.4): IA32_SMBASE, x2APIC range. */
function storeableMsr(index: number): boolean {
  return index !== 0x9e && !(index >= 0x800 && index <= 0x8ff && index !== 0x808);
}

function saveGuest(u: VmxUnit, v: VmcsData, s: CpuState, rip: number): void {
  const p = u.p;
  const exitCtl = v.u32(F.VM_EXIT_CONTROLS);
  v.setNum(F.GUEST_CR0, s.cr0 >>> 0);
  v.setNum(F.GUEST_CR3, s.cr3);
  v.setNum(F.GUEST_CR4, s.cr4 >>> 0);
  if (exitCtl & ExitCtl.SAVE_DEBUG_CONTROLS) {
    v.setNum(F.GUEST_DR7, s.dr[7]);
    v.setBig(F.GUEST_IA32_DEBUGCTL, msrStored(p, 0x1d9));
  }
  v.set(F.GUEST_RSP, p.lo[4], p.hi[4]);
  v.setNum(F.GUEST_RIP, rip);
  v.set(F.GUEST_RFLAGS, s.rflags >>> 0, 0);
  for (let k = 0; k < 8; k++) {
    v.set(SEG_SEL[k], s.segSel[k]);
    v.setNum(SEG_BASE[k], s.segBase[k]);
    v.set(SEG_LIMIT[k], s.segLimit[k] >>> 0);
    v.set(SEG_AR[k], s.segAr[k] & 0x1f0ff);
  }
  v.setNum(F.GUEST_GDTR_BASE, s.gdtrBase);
  v.set(F.GUEST_GDTR_LIMIT, s.gdtrLimit);
  v.setNum(F.GUEST_IDTR_BASE, s.idtrBase);
  v.set(F.GUEST_IDTR_LIMIT, s.idtrLimit);
  v.set(F.GUEST_SYSENTER_CS, Number(msrStored(p, Msr.SYSENTER_CS) & 0xffffffffn));
  v.setBig(F.GUEST_SYSENTER_ESP, msrStored(p, Msr.SYSENTER_ESP));
  v.setBig(F.GUEST_SYSENTER_EIP, msrStored(p, Msr.SYSENTER_EIP));
  if (exitCtl & ExitCtl.SAVE_EFER) v.set(F.GUEST_IA32_EFER, s.efer);
  if (exitCtl & ExitCtl.SAVE_PAT) v.setBig(F.GUEST_IA32_PAT, readMsr(p, Msr.PAT));
  // "IA-32e mode guest" follows EFER.LMA (IA32_VMX_MISC bit 5).
  const entry = v.u32(F.VM_ENTRY_CONTROLS);
  v.set(F.VM_ENTRY_CONTROLS, s.efer & Efer.LMA ? entry | EntryCtl.IA32E_MODE_GUEST : entry & ~EntryCtl.IA32E_MODE_GUEST);
  // PDPTEs: with EPT and PAE paging the processor saves the PDPTE registers.
  const proc2 = secondary(v);
  if (proc2 & Proc2.ENABLE_EPT && s.cr0 & Cr0.PG && s.cr4 & Cr4.PAE && !(s.efer & Efer.LMA)) {
    const pd = p.pagingControl.pdpte;
    v.set(F.GUEST_PDPTE0, pd[0], pd[1]);
    v.set(F.GUEST_PDPTE1, pd[2], pd[3]);
    v.set(F.GUEST_PDPTE2, pd[4], pd[5]);
    v.set(F.GUEST_PDPTE3, pd[6], pd[7]);
  }
  // Activity and interruptibility.
  v.set(F.GUEST_ACTIVITY_STATE, s.activity);
  const vnmi = (v.u32(F.PIN_BASED_VM_EXEC_CONTROL) & Pin.VIRTUAL_NMIS) !== 0;
  v.set(F.GUEST_INTERRUPTIBILITY_INFO, (s.blockingBySti ? Intr.STI : 0) | (s.blockingByMovSs ? Intr.MOV_SS : 0) | (s.nmiBlocked ? Intr.NMI : 0));
  // Pending debug exceptions: a single-step trap due on the instruction boundary (BS).
  v.setNum(F.GUEST_PENDING_DBG_EXCEPTIONS, s.pendingSingleStep ? 0x4000 : 0);
  if (v.u32(F.PIN_BASED_VM_EXEC_CONTROL) & Pin.PREEMPTION_TIMER && exitCtl & ExitCtl.SAVE_PREEMPTION_TIMER) {
    v.set(F.VMX_PREEMPTION_TIMER_VALUE, u.timerRemaining(PREEMPTION_TIMER_RATE));
  }
  // Physical NMI blocking comes back from the unit (virtual-NMI blocking was in the CpuState).
  if (vnmi) s.nmiBlocked = u.physNmiBlocked;
}

/** The secondary controls in effect (0 unless "activate secondary controls"). */
export function secondary(v: VmcsData): number {
  return v.u32(F.CPU_BASED_VM_EXEC_CONTROL) & 0x80000000 ? v.u32(F.SECONDARY_VM_EXEC_CONTROL) : 0;
}

/**
 * Loads the host state (SDM 28.5) and leaves VMX non-root operation. `nmiExit`: the exit was
 * caused by an NMI (NMIs are blocked after it).
 */
export function loadHost(u: VmxUnit, v: VmcsData, nmiExit: boolean): void {
  const p = u.p;
  const s = p.state;
  const exitCtl = v.u32(F.VM_EXIT_CONTROLS);
  const host64 = (exitCtl & ExitCtl.HOST_ADDRESS_SPACE_SIZE) !== 0;
  leaveNonRoot(u);

  s.cr0 = (v.u32(F.HOST_CR0) | Cr0.ET) | 0;
  s.cr3 = v.num(F.HOST_CR3);
  s.cr4 = v.u32(F.HOST_CR4) | 0;
  s.dr[7] = 0x400;
  s.msr.set(0x1d9, 0n); // IA32_DEBUGCTL cleared
  s.msr.set(Msr.SYSENTER_CS, BigInt(v.u32(F.HOST_IA32_SYSENTER_CS)));
  s.msr.set(Msr.SYSENTER_ESP, v.big(F.HOST_IA32_SYSENTER_ESP));
  s.msr.set(Msr.SYSENTER_EIP, v.big(F.HOST_IA32_SYSENTER_EIP));
  let efer = exitCtl & ExitCtl.LOAD_EFER ? v.u32(F.HOST_IA32_EFER) : s.efer;
  efer = host64 ? efer | Efer.LMA | Efer.LME : efer & ~(Efer.LMA | Efer.LME);
  s.efer = efer;
  if (exitCtl & ExitCtl.LOAD_PAT) s.msr.set(Msr.PAT, v.big(F.HOST_IA32_PAT));

  // Segments (28.5.2).
  const dataAr = AR.P | AR.S | 3 | AR.DB | AR.G;
  for (let k = 0; k < 6; k++) {
    const sel = v.u32(HOST_SEL[k]) & 0xffff;
    s.segSel[k] = sel;
    if (k === Seg.CS) {
      s.segBase[k] = 0;
      s.segLimit[k] = 0xffffffff;
      s.segAr[k] = AR.P | AR.S | 0xb | AR.G | (host64 ? AR.L : AR.DB);
      continue;
    }
    s.segBase[k] = k === Seg.FS ? v.addr(F.HOST_FS_BASE) : k === Seg.GS ? v.addr(F.HOST_GS_BASE) : 0;
    s.segLimit[k] = 0xffffffff;
    s.segAr[k] = sel === 0 ? AR.UNUSABLE | (k === Seg.SS ? 0 : dataAr) : dataAr;
  }
  s.segSel[Seg.TR] = v.u32(F.HOST_TR_SELECTOR) & 0xffff;
  s.segBase[Seg.TR] = v.addr(F.HOST_TR_BASE);
  s.segLimit[Seg.TR] = 0x67;
  s.segAr[Seg.TR] = AR.P | 0xb;
  s.segSel[Seg.LDTR] = 0;
  s.segBase[Seg.LDTR] = 0;
  s.segLimit[Seg.LDTR] = 0;
  s.segAr[Seg.LDTR] = AR.UNUSABLE;
  s.gdtrBase = v.addr(F.HOST_GDTR_BASE);
  s.gdtrLimit = 0xffff;
  s.idtrBase = v.addr(F.HOST_IDTR_BASE);
  s.idtrLimit = 0xffff;

  // RIP, RSP, RFLAGS (28.5.3).
  s.rip = host64 ? v.addr(F.HOST_RIP) : v.u32(F.HOST_RIP);
  p.lo[4] = v.lo[F.HOST_RSP] | 0;
  p.hi[4] = host64 ? v.hi[F.HOST_RSP] | 0 : 0;
  p.setRflags(Flag.FIXED1);
  s.activity = Activity.ACTIVE;
  endShadow(p);
  s.pendingSingleStep = false;
  if (nmiExit) s.nmiBlocked = true;

  // Root-mode fixed bits, paging context.
  p.cr0Fixed0 = u.caps.cr0Fixed0 | 0;
  p.cr0Fixed1 = u.caps.cr0Fixed1 | 0;
  p.cr4Fixed0 = u.caps.cr4Fixed0 | 0;
  p.cr4Fixed1 = u.caps.cr4Fixed1 | 0;
  p.syncFromState();
  const mmu = u.translator();
  if (mmu !== null) {
    mmu.setVpid(0);
    mmu.setEpt(null);
    mmu.reloadControl();
    if (!(secondary(v) & Proc2.ENABLE_VPID)) mmu.invvpid(1, 0, 0);
    if (s.cr0 & Cr0.PG && s.cr4 & Cr4.PAE && !host64 && !mmu.loadPdptes()) return vmxAbort(u, 3); // failure loading PDPTRs
  } else p.controlRegisterWritten('cr3', s.cr3);
  p.flushFastTlb();
  p.eventsPending = true;

  // MSR load (28.6).
  const count = v.u32(F.VM_EXIT_MSR_LOAD_COUNT);
  if (count > 0 && loadMsrList(u, v.num(F.VM_EXIT_MSR_LOAD_ADDR), count) !== 0) return vmxAbort(u, 4); // failure loading MSRs
}

/** Leaves non-root operation: hooks off, timer off. */
export function leaveNonRoot(u: VmxUnit): void {
  const p = u.p;
  u.nonRoot = false;
  p.initBlocked = u.inVmx; // back in VMX root operation: INIT blocked again
  if (p.state.initPending) p.eventsPending = true;
  p.vmxGuest = null;
  p.eptActive = false;
  u.disarmTimer();
  u.exitByNmi = false;
}

/**
 * Loads an MSR list (VM-entry MSR-load or VM-exit MSR-load area): 16-byte entries (index, reserved,
 * value). Returns 0 on success or the 1-based number of the failing entry (SDM 26.4, 28.6).
 */
export function loadMsrList(u: VmxUnit, base: number, count: number): number {
  const p = u.p;
  for (let k = 0; k < count; k++) {
    const a = base + k * 16;
    const index = u.readPhys32(a);
    const reserved = u.readPhys32(a + 4);
    const value = u.readPhys64(a + 8);
    // Not allowed in MSR-load lists: FS/GS base, IA32_SMM_MONITOR_CTL, x2APIC MSRs, microcode update.
    if (reserved !== 0 || index === Msr.FS_BASE || index === Msr.GS_BASE || index === 0x9b || index === 0x79 || (index >>> 8) === 8) return k + 1;
    try {
      writeMsr(p, index, value);
    } catch (e) {
      if (e !== CPU_FAULT) throw e;
      p.pendingVector = -1;
      p.pendingErrorCode = -1;
      return k + 1;
    }
  }
  return 0;
}

/** VMX abort (SDM 28.7): writes the indicator into the VMCS region and shuts the processor down. */
export function vmxAbort(u: VmxUnit, indicator: number): void {
  const p = u.p;
  const v = u.current;
  if (v !== null) u.writePhys32(v.address + REGION.ABORT, indicator);
  leaveNonRoot(u);
  p.state.activity = Activity.SHUTDOWN;
  const trace = u.trace;
  if (trace !== null && trace.wants('vmx.abort')) trace.emit('vmx.abort', { indicator }, p.cpuIndex);
  p.stopRequested = true;
}

/** Clears the per-exit information before a new exit is built. */
export function resetExitInfo(u: VmxUnit): void {
  u.exitQualification = 0;
  u.exitInstrLen = 0;
  u.exitInstrInfo = 0;
  u.exitIntrInfo = 0;
  u.exitIntrError = 0;
  u.exitGuestLinear = NaN;
  u.exitGuestPhysical = NaN;
  u.exitByNmi = false;
}

