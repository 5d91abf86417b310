/**
 * VM-entry checks (SDM Vol. 3C 27.2 "Checks on VMX controls and host-state area", 27.3.1 "Checks on
 * the guest state area"). Each check is a named function; VM entry runs the three families in
 * order and reports the first failing check by name:
 *
 * - **controls** → VMfailValid(7) "VM entry with invalid control field(s)";
 * - **host state** → VMfailValid(8) "VM entry with invalid host-state field(s)";
 * - **guest state** → VM-entry failure: exit reason 33 | 0x80000000, exit qualification 0
 *   (4 for the VMCS link pointer; PDPTE failures are reported by the entry, qualification 2).
 *
 * Like KVM's `CC()` macro, the names identify the SDM bullet; the list is exported so tests and
 * tools can enumerate it. Checks only read the VMCS and the processor state; they change nothing.
 */
import type { Processor } from '../cpu/processor.js';
import { AR, Cr0, Cr4, Efer, Flag } from '../cpu/state.js';
import { pushesErrorCode } from '../cpu/exception-classes.js';
import { controlsValid, CR3_TARGET_COUNT, eptPointerValid, EntryCtl, ExitCtl, MAX_MSR_LIST, Pin, Proc, Proc2, VMCS_REVISION_ID } from './controls.js';
import { F, type VmcsData } from './vmcs.js';
import type { VmxUnit } from './unit.js';
import { IntrType, Intr, SEG_AR, SEG_BASE, SEG_LIMIT, SEG_SEL, secondary } from './exit.js';

/** Everything the checks look at, computed once per entry (reused object: no allocation). */
export class EntryContext {
  u!: VmxUnit;
  v!: VmcsData;
  p!: Processor;
  pin = 0;
  proc = 0;
  proc2 = 0;
  exit = 0;
  entry = 0;
  /** "IA-32e mode guest". */
  ia32e = false;
  unrestricted = false;
  host64 = false;
  maxPhys = 39;
  guestCr0 = 0;
  guestCr4 = 0;
  rflags = 0;
  intrInfo = 0;
  intrValid = false;
  intrType = 0;
  intrVector = 0;
  interruptibility = 0;
  activity = 0;
  /** Qualification of a guest-state failure (4 for the VMCS link pointer). */
  qualification = 0;

  fill(u: VmxUnit, v: VmcsData): this {
    this.u = u;
    this.v = v;
    this.p = u.p;
    this.pin = v.u32(F.PIN_BASED_VM_EXEC_CONTROL);
    this.proc = v.u32(F.CPU_BASED_VM_EXEC_CONTROL);
    this.proc2 = secondary(v);
    this.exit = v.u32(F.VM_EXIT_CONTROLS);
    this.entry = v.u32(F.VM_ENTRY_CONTROLS);
    this.ia32e = (this.entry & EntryCtl.IA32E_MODE_GUEST) !== 0;
    this.unrestricted = (this.proc2 & Proc2.UNRESTRICTED_GUEST) !== 0;
    this.host64 = (this.exit & ExitCtl.HOST_ADDRESS_SPACE_SIZE) !== 0;
    this.maxPhys = u.maxPhys;
    this.guestCr0 = v.u32(F.GUEST_CR0);
    this.guestCr4 = v.u32(F.GUEST_CR4);
    this.rflags = v.u32(F.GUEST_RFLAGS);
    this.intrInfo = v.u32(F.VM_ENTRY_INTR_INFO);
    this.intrValid = (this.intrInfo & 0x80000000) !== 0;
    this.intrType = (this.intrInfo >>> 8) & 7;
    this.intrVector = this.intrInfo & 0xff;
    this.interruptibility = v.u32(F.GUEST_INTERRUPTIBILITY_INFO);
    this.activity = v.u32(F.GUEST_ACTIVITY_STATE);
    this.qualification = 0;
    return this;
  }
}

export type EntryCheck = (c: EntryContext) => boolean;

export interface NamedCheck {
  readonly name: string;
  readonly test: EntryCheck;
}

// ---------------------------------------------------------------------------- helpers

/** Physical address in `slot` is below 2^MAXPHYADDR. */
function physOk(c: EntryContext, slot: number): boolean {
  return c.v.num(slot) < 2 ** c.maxPhys;
}

/** The 64-bit value in `slot` is canonical (bits 63:47 equal). */
function canonical(v: VmcsData, slot: number): boolean {
  const h = v.hi[slot] & 0xffff8000;
  return h === 0 || h >>> 0 === 0xffff8000;
}

function aligned4k(v: VmcsData, slot: number): boolean {
  return (v.lo[slot] & 0xfff) === 0;
}

/** A PAT value: every byte 0, 1, 4, 5, 6 or 7. */
function patValid(v: VmcsData, slot: number): boolean {
  for (const w of [v.lo[slot], v.hi[slot]]) {
    for (let b = 0; b < 4; b++) {
      const t = (w >>> (b * 8)) & 0xff;
      if (t === 2 || t === 3 || t > 7) return false;
    }
  }
  return true;
}

/** MSR list: count ≤ max, 16-byte aligned, whole list below MAXPHYADDR. */
function msrListOk(c: EntryContext, countSlot: number, addrSlot: number): boolean {
  const n = c.v.u32(countSlot);
  if (n === 0) return true;
  if (n > MAX_MSR_LIST) return false;
  const a = c.v.num(addrSlot);
  return (a & 0xf) === 0 && a + n * 16 - 1 < 2 ** c.maxPhys;
}

// IA32_VMX_BASIC[55] = 1: VM entry checks the pin-based, primary, exit and entry controls against the TRUE_ MSRs.

// ---------------------------------------------------------------------------- 27.2.1 VM-execution, exit and entry controls

function pinBasedReserved(c: EntryContext): boolean {
  return controlsValid(c.pin, c.u.caps.truePin);
}
function procBasedReserved(c: EntryContext): boolean {
  return controlsValid(c.proc, c.u.caps.trueProc);
}
function secondaryReserved(c: EntryContext): boolean {
  return (c.proc & Proc.ACTIVATE_SECONDARY_CONTROLS) === 0 || controlsValid(c.v.u32(F.SECONDARY_VM_EXEC_CONTROL), c.u.caps.proc2);
}
function cr3TargetCount(c: EntryContext): boolean {
  return c.v.u32(F.CR3_TARGET_COUNT) <= CR3_TARGET_COUNT;
}
function ioBitmapAddresses(c: EntryContext): boolean {
  if (!(c.proc & Proc.USE_IO_BITMAPS)) return true;
  return aligned4k(c.v, F.IO_BITMAP_A) && aligned4k(c.v, F.IO_BITMAP_B) && physOk(c, F.IO_BITMAP_A) && physOk(c, F.IO_BITMAP_B);
}
function msrBitmapAddress(c: EntryContext): boolean {
  return !(c.proc & Proc.USE_MSR_BITMAPS) || (aligned4k(c.v, F.MSR_BITMAP) && physOk(c, F.MSR_BITMAP));
}
function nmiExitingForVirtualNmis(c: EntryContext): boolean {
  return !(c.pin & Pin.VIRTUAL_NMIS) || (c.pin & Pin.NMI_EXITING) !== 0;
}
function virtualNmisForNmiWindow(c: EntryContext): boolean {
  return !(c.proc & Proc.NMI_WINDOW_EXITING) || (c.pin & Pin.VIRTUAL_NMIS) !== 0;
}
function eptPointer(c: EntryContext): boolean {
  return !(c.proc2 & Proc2.ENABLE_EPT) || eptPointerValid(c.v.num(F.EPT_POINTER), c.maxPhys);
}
function unrestrictedNeedsEpt(c: EntryContext): boolean {
  return !c.unrestricted || (c.proc2 & Proc2.ENABLE_EPT) !== 0;
}
function vpidNonZero(c: EntryContext): boolean {
  return !(c.proc2 & Proc2.ENABLE_VPID) || (c.v.u32(F.VIRTUAL_PROCESSOR_ID) & 0xffff) !== 0;
}
function exitControlsReserved(c: EntryContext): boolean {
  return controlsValid(c.exit, c.u.caps.trueExit);
}
function savePreemptionTimerNeedsTimer(c: EntryContext): boolean {
  return (c.pin & Pin.PREEMPTION_TIMER) !== 0 || !(c.exit & ExitCtl.SAVE_PREEMPTION_TIMER);
}
function exitMsrStoreArea(c: EntryContext): boolean {
  return msrListOk(c, F.VM_EXIT_MSR_STORE_COUNT, F.VM_EXIT_MSR_STORE_ADDR);
}
function exitMsrLoadArea(c: EntryContext): boolean {
  return msrListOk(c, F.VM_EXIT_MSR_LOAD_COUNT, F.VM_EXIT_MSR_LOAD_ADDR);
}
function entryControlsReserved(c: EntryContext): boolean {
  return controlsValid(c.entry, c.u.caps.trueEntry);
}
function entryMsrLoadArea(c: EntryContext): boolean {
  return msrListOk(c, F.VM_ENTRY_MSR_LOAD_COUNT, F.VM_ENTRY_MSR_LOAD_ADDR);
}
/** Event injection (27.2.1.3): type, vector, error-code bit, reserved bits, error code, instruction length. */
function injectionType(c: EntryContext): boolean {
  if (!c.intrValid) return true;
  // 1 is reserved; 7 (other event: pending MTF) needs the monitor trap flag, which this model lacks.
  return c.intrType !== 1 && c.intrType !== IntrType.OTHER;
}
function injectionVector(c: EntryContext): boolean {
  if (!c.intrValid) return true;
  if (c.intrType === IntrType.NMI) return c.intrVector === 2;
  if (c.intrType === IntrType.HW_EXCEPTION) return c.intrVector <= 31;
  return true;
}
function injectionDeliverErrorCode(c: EntryContext): boolean {
  if (!c.intrValid) return true;
  const deliver = (c.intrInfo & 0x800) !== 0;
  const protectedGuest = !c.unrestricted || (c.guestCr0 & Cr0.PE) !== 0;
  const needs = protectedGuest && c.intrType === IntrType.HW_EXCEPTION && pushesErrorCode(c.intrVector);
  return deliver === needs;
}
function injectionReservedBits(c: EntryContext): boolean {
  return !c.intrValid || (c.intrInfo & 0x7ffff000) === 0;
}
function injectionErrorCode(c: EntryContext): boolean {
  return !c.intrValid || !(c.intrInfo & 0x800) || (c.v.u32(F.VM_ENTRY_EXCEPTION_ERROR_CODE) & 0xffff8000) === 0;
}
function injectionInstructionLength(c: EntryContext): boolean {
  if (!c.intrValid) return true;
  if (c.intrType !== IntrType.SW_INTERRUPT && c.intrType !== IntrType.PRIV_SW_EXCEPTION && c.intrType !== IntrType.SW_EXCEPTION) return true;
  const len = c.v.u32(F.VM_ENTRY_INSTRUCTION_LEN);
  return len >= 1 && len <= 15; // IA32_VMX_MISC[30] = 0: length 0 not allowed
}

// ---------------------------------------------------------------------------- 27.2.2–27.2.4 host state

function hostCr0Fixed(c: EntryContext): boolean {
  const v = c.v.u32(F.HOST_CR0);
  return ((v & c.u.caps.cr0Fixed0) >>> 0) === c.u.caps.cr0Fixed0 && (v & ~c.u.caps.cr0Fixed1) === 0 && c.v.hi[F.HOST_CR0] === 0;
}
function hostCr4Fixed(c: EntryContext): boolean {
  const v = c.v.u32(F.HOST_CR4);
  return (v & c.u.caps.cr4Fixed0) === c.u.caps.cr4Fixed0 && (v & ~c.u.caps.cr4Fixed1) === 0 && c.v.hi[F.HOST_CR4] === 0;
}
function hostCr3Width(c: EntryContext): boolean {
  return physOk(c, F.HOST_CR3);
}
function hostSysenterCanonical(c: EntryContext): boolean {
  return canonical(c.v, F.HOST_IA32_SYSENTER_ESP) && canonical(c.v, F.HOST_IA32_SYSENTER_EIP);
}
function hostPat(c: EntryContext): boolean {
  return !(c.exit & ExitCtl.LOAD_PAT) || patValid(c.v, F.HOST_IA32_PAT);
}
function hostEfer(c: EntryContext): boolean {
  if (!(c.exit & ExitCtl.LOAD_EFER)) return true;
  const lo = c.v.lo[F.HOST_IA32_EFER];
  if (c.v.hi[F.HOST_IA32_EFER] !== 0 || lo & ~(Efer.SCE | Efer.LME | Efer.LMA | Efer.NXE)) return false;
  const lma = (lo & Efer.LMA) !== 0;
  const lme = (lo & Efer.LME) !== 0;
  return lma === c.host64 && lme === c.host64;
}
function hostSelectorsRplTi(c: EntryContext): boolean {
  const v = c.v;
  for (const s of [F.HOST_ES_SELECTOR, F.HOST_CS_SELECTOR, F.HOST_SS_SELECTOR, F.HOST_DS_SELECTOR, F.HOST_FS_SELECTOR, F.HOST_GS_SELECTOR, F.HOST_TR_SELECTOR]) {
    if (v.lo[s] & 7) return false;
  }
  return true;
}
function hostCsNotNull(c: EntryContext): boolean {
  return (c.v.lo[F.HOST_CS_SELECTOR] & 0xffff) !== 0;
}
function hostTrNotNull(c: EntryContext): boolean {
  return (c.v.lo[F.HOST_TR_SELECTOR] & 0xffff) !== 0;
}
function hostSsNotNullIn32Bit(c: EntryContext): boolean {
  return c.host64 || (c.v.lo[F.HOST_SS_SELECTOR] & 0xffff) !== 0;
}
function hostBasesCanonical(c: EntryContext): boolean {
  const v = c.v;
  return canonical(v, F.HOST_FS_BASE) && canonical(v, F.HOST_GS_BASE) && canonical(v, F.HOST_GDTR_BASE) && canonical(v, F.HOST_IDTR_BASE) && canonical(v, F.HOST_TR_BASE);
}
function hostAddressSpaceSize(c: EntryContext): boolean {
  const lma = (c.p.state.efer & Efer.LMA) !== 0;
  if (!lma) return !c.host64 && !c.ia32e;
  return c.host64;
}
function hostLegacyCr4AndRip(c: EntryContext): boolean {
  if (c.host64) return true;
  return (c.v.u32(F.HOST_CR4) & Cr4.PCIDE) === 0 && c.v.hi[F.HOST_RIP] === 0;
}
function host64PaeAndRip(c: EntryContext): boolean {
  if (!c.host64) return true;
  return (c.v.u32(F.HOST_CR4) & Cr4.PAE) !== 0 && canonical(c.v, F.HOST_RIP);
}

// ---------------------------------------------------------------------------- 27.3.1.1 guest control registers, debug registers, MSRs

function guestCr0Fixed(c: EntryContext): boolean {
  let fixed0 = c.u.caps.cr0Fixed0;
  if (c.unrestricted) fixed0 &= ~(Cr0.PE | Cr0.PG);
  return ((c.guestCr0 & fixed0) >>> 0) === fixed0 >>> 0 && (c.guestCr0 & ~c.u.caps.cr0Fixed1) === 0 && c.v.hi[F.GUEST_CR0] === 0;
}
function guestCr0PgNeedsPe(c: EntryContext): boolean {
  return !(c.guestCr0 & Cr0.PG) || (c.guestCr0 & Cr0.PE) !== 0;
}
function guestCr4Fixed(c: EntryContext): boolean {
  return (c.guestCr4 & c.u.caps.cr4Fixed0) === c.u.caps.cr4Fixed0 && (c.guestCr4 & ~c.u.caps.cr4Fixed1) === 0 && c.v.hi[F.GUEST_CR4] === 0;
}
function guestDebugCtl(c: EntryContext): boolean {
  // IA32_DEBUGCTL bits the model accepts: LBR (0), BTF (1); all others reserved.
  return !(c.entry & EntryCtl.LOAD_DEBUG_CONTROLS) || (c.v.hi[F.GUEST_IA32_DEBUGCTL] === 0 && (c.v.lo[F.GUEST_IA32_DEBUGCTL] & ~3) === 0);
}
function guestIa32eNeedsPagingPae(c: EntryContext): boolean {
  return !c.ia32e || ((c.guestCr0 & Cr0.PG) !== 0 && (c.guestCr4 & Cr4.PAE) !== 0);
}
function guestLegacyNoPcide(c: EntryContext): boolean {
  return c.ia32e || (c.guestCr4 & Cr4.PCIDE) === 0;
}
function guestCr3Width(c: EntryContext): boolean {
  return physOk(c, F.GUEST_CR3);
}
function guestDr7High(c: EntryContext): boolean {
  return !(c.entry & EntryCtl.LOAD_DEBUG_CONTROLS) || c.v.hi[F.GUEST_DR7] === 0;
}
function guestSysenterCanonical(c: EntryContext): boolean {
  return canonical(c.v, F.GUEST_SYSENTER_ESP) && canonical(c.v, F.GUEST_SYSENTER_EIP);
}
function guestPat(c: EntryContext): boolean {
  return !(c.entry & EntryCtl.LOAD_PAT) || patValid(c.v, F.GUEST_IA32_PAT);
}
function guestEfer(c: EntryContext): boolean {
  if (!(c.entry & EntryCtl.LOAD_EFER)) return true;
  const lo = c.v.lo[F.GUEST_IA32_EFER];
  if (c.v.hi[F.GUEST_IA32_EFER] !== 0 || lo & ~(Efer.SCE | Efer.LME | Efer.LMA | Efer.NXE)) return false;
  const lma = (lo & Efer.LMA) !== 0;
  if (lma !== c.ia32e) return false;
  return !(c.guestCr0 & Cr0.PG) || ((lo & Efer.LME) !== 0) === lma;
}

// ---------------------------------------------------------------------------- 27.3.1.2 guest segment registers

const S = { ES: 0, CS: 1, SS: 2, DS: 3, FS: 4, GS: 5, LDTR: 6, TR: 7 } as const;

function ar(c: EntryContext, seg: number): number {
  return c.v.u32(SEG_AR[seg]);
}
function usable(c: EntryContext, seg: number): boolean {
  return (ar(c, seg) & AR.UNUSABLE) === 0;
}
function sel(c: EntryContext, seg: number): number {
  return c.v.u32(SEG_SEL[seg]) & 0xffff;
}
function v86(c: EntryContext): boolean {
  return (c.rflags & Flag.VM) !== 0;
}
/** G-bit consistency with the limit (27.3.1.2 last bullets). */
function granularityOk(c: EntryContext, seg: number): boolean {
  const limit = c.v.u32(SEG_LIMIT[seg]);
  const g = (ar(c, seg) & AR.G) !== 0;
  if ((limit & 0xfff) !== 0xfff && g) return false;
  if (limit >>> 20 !== 0 && !g) return false;
  return true;
}
function arReservedClear(c: EntryContext, seg: number): boolean {
  return (ar(c, seg) & 0xfffe0f00) === 0;
}

function guestTrTiClear(c: EntryContext): boolean {
  return (sel(c, S.TR) & 4) === 0;
}
function guestLdtrTiClear(c: EntryContext): boolean {
  return !usable(c, S.LDTR) || (sel(c, S.LDTR) & 4) === 0;
}
function guestSsRplEqualsCsRpl(c: EntryContext): boolean {
  return v86(c) || c.unrestricted || (sel(c, S.SS) & 3) === (sel(c, S.CS) & 3);
}
function guestV86Segments(c: EntryContext): boolean {
  if (!v86(c)) return true;
  for (let k = 0; k < 6; k++) {
    const selector = sel(c, k);
    if (c.v.num(SEG_BASE[k]) !== selector * 16 || c.v.u32(SEG_LIMIT[k]) !== 0xffff || ar(c, k) !== 0xf3) return false;
  }
  return true;
}
function guestBasesCanonical(c: EntryContext): boolean {
  const v = c.v;
  if (!canonical(v, F.GUEST_TR_BASE) || !canonical(v, F.GUEST_FS_BASE) || !canonical(v, F.GUEST_GS_BASE)) return false;
  if (usable(c, S.LDTR) && !canonical(v, F.GUEST_LDTR_BASE)) return false;
  if (v.hi[F.GUEST_CS_BASE] !== 0) return false;
  for (const k of [S.SS, S.DS, S.ES]) if (usable(c, k) && v.hi[SEG_BASE[k]] !== 0) return false;
  return true;
}
function guestCsAccessRights(c: EntryContext): boolean {
  if (v86(c)) return true;
  const a = ar(c, S.CS);
  const type = a & 0xf;
  const okType = type === 9 || type === 11 || type === 13 || type === 15 || (c.unrestricted && type === 3);
  if (!okType || !(a & AR.S) || !(a & AR.P) || !arReservedClear(c, S.CS) || !granularityOk(c, S.CS)) return false;
  const dpl = (a & AR.DPL_MASK) >>> AR.DPL_SHIFT;
  const ssDpl = (ar(c, S.SS) & AR.DPL_MASK) >>> AR.DPL_SHIFT;
  if (type === 3 && dpl !== 0) return false;
  if ((type === 9 || type === 11) && dpl !== ssDpl) return false;
  if ((type === 13 || type === 15) && dpl > ssDpl) return false;
  if (c.ia32e && a & AR.L && a & AR.DB) return false;
  return true;
}
function guestSsAccessRights(c: EntryContext): boolean {
  if (v86(c) || !usable(c, S.SS)) return true;
  const a = ar(c, S.SS);
  const type = a & 0xf;
  if ((type !== 3 && type !== 7) || !(a & AR.S) || !(a & AR.P) || !arReservedClear(c, S.SS) || !granularityOk(c, S.SS)) return false;
  const dpl = (a & AR.DPL_MASK) >>> AR.DPL_SHIFT;
  if (!c.unrestricted && dpl !== (sel(c, S.SS) & 3)) return false;
  if (((ar(c, S.CS) & 0xf) === 3 || !(c.guestCr0 & Cr0.PE)) && dpl !== 0) return false;
  return true;
}
function guestDataSegmentAccessRights(c: EntryContext): boolean {
  if (v86(c)) return true;
  for (const k of [S.DS, S.ES, S.FS, S.GS]) {
    if (!usable(c, k)) continue;
    const a = ar(c, k);
    const type = a & 0xf;
    if (!(type & 1) || (type & 8 && !(type & 2)) || !(a & AR.S) || !(a & AR.P) || !arReservedClear(c, k) || !granularityOk(c, k)) return false;
    const dpl = (a & AR.DPL_MASK) >>> AR.DPL_SHIFT;
    if (!c.unrestricted && type <= 11 && dpl < (sel(c, k) & 3)) return false;
  }
  return true;
}
function guestTrAccessRights(c: EntryContext): boolean {
  const a = ar(c, S.TR);
  const type = a & 0xf;
  if (!(type === 11 || (!c.ia32e && type === 3))) return false;
  return !(a & AR.S) && (a & AR.P) !== 0 && arReservedClear(c, S.TR) && granularityOk(c, S.TR) && (a & AR.UNUSABLE) === 0;
}
function guestLdtrAccessRights(c: EntryContext): boolean {
  if (!usable(c, S.LDTR)) return true;
  const a = ar(c, S.LDTR);
  return (a & 0xf) === 2 && !(a & AR.S) && (a & AR.P) !== 0 && arReservedClear(c, S.LDTR) && granularityOk(c, S.LDTR);
}

// ---------------------------------------------------------------------------- 27.3.1.3–27.3.1.5

function guestDescriptorTables(c: EntryContext): boolean {
  const v = c.v;
  return canonical(v, F.GUEST_GDTR_BASE) && canonical(v, F.GUEST_IDTR_BASE) && v.u32(F.GUEST_GDTR_LIMIT) >>> 16 === 0 && v.u32(F.GUEST_IDTR_LIMIT) >>> 16 === 0;
}
function guestRip(c: EntryContext): boolean {
  const long = c.ia32e && (ar(c, S.CS) & AR.L) !== 0;
  return long ? canonical(c.v, F.GUEST_RIP) : c.v.hi[F.GUEST_RIP] === 0;
}
function guestRflagsReserved(c: EntryContext): boolean {
  const f = c.rflags;
  return c.v.hi[F.GUEST_RFLAGS] === 0 && (f & 0xffc08028) === 0 && (f & Flag.FIXED1) !== 0;
}
function guestRflagsVm(c: EntryContext): boolean {
  return !(c.rflags & Flag.VM) || (!c.ia32e && (c.guestCr0 & Cr0.PE) !== 0);
}
function guestRflagsIfForExternalInterrupt(c: EntryContext): boolean {
  return !c.intrValid || c.intrType !== IntrType.EXTERNAL || (c.rflags & Flag.IF) !== 0;
}
function guestActivityState(c: EntryContext): boolean {
  return c.activity <= 3; // all four states are supported (IA32_VMX_MISC bits 8:6)
}
function guestActivityHltNeedsDpl0(c: EntryContext): boolean {
  return c.activity !== 1 || (ar(c, S.SS) & AR.DPL_MASK) === 0;
}
function guestActivityBlockingNeedsActive(c: EntryContext): boolean {
  return c.activity === 0 || (c.interruptibility & (Intr.STI | Intr.MOV_SS)) === 0;
}
function guestActivityInjection(c: EntryContext): boolean {
  if (!c.intrValid) return true;
  switch (c.activity) {
    case 1: // HLT: external interrupts, NMIs, #DB, #MC and other events
      return c.intrType === IntrType.EXTERNAL || c.intrType === IntrType.NMI || c.intrType === IntrType.OTHER || (c.intrType === IntrType.HW_EXCEPTION && (c.intrVector === 1 || c.intrVector === 18));
    case 2: // shutdown: NMIs and machine checks
      return c.intrType === IntrType.NMI || (c.intrType === IntrType.HW_EXCEPTION && c.intrVector === 18);
    case 3: // wait-for-SIPI: nothing
      return false;
    default:
      return true;
  }
}
function guestInterruptibilityReserved(c: EntryContext): boolean {
  return (c.interruptibility & ~0xf) === 0 && (c.interruptibility & Intr.SMI) === 0;
}
function guestInterruptibilityStiAndMovSs(c: EntryContext): boolean {
  return (c.interruptibility & (Intr.STI | Intr.MOV_SS)) !== (Intr.STI | Intr.MOV_SS);
}
function guestInterruptibilityStiNeedsIf(c: EntryContext): boolean {
  return (c.rflags & Flag.IF) !== 0 || (c.interruptibility & Intr.STI) === 0;
}
function guestInterruptibilityForExternalInterrupt(c: EntryContext): boolean {
  return !c.intrValid || c.intrType !== IntrType.EXTERNAL || (c.interruptibility & (Intr.STI | Intr.MOV_SS)) === 0;
}
function guestInterruptibilityForNmi(c: EntryContext): boolean {
  if (!c.intrValid || c.intrType !== IntrType.NMI) return true;
  if (c.interruptibility & Intr.MOV_SS) return false;
  return !(c.pin & Pin.VIRTUAL_NMIS) || (c.interruptibility & Intr.NMI) === 0;
}
function guestPendingDebugExceptions(c: EntryContext): boolean {
  const v = c.v;
  const lo = v.lo[F.GUEST_PENDING_DBG_EXCEPTIONS];
  if (v.hi[F.GUEST_PENDING_DBG_EXCEPTIONS] !== 0 || lo & 0xfffeaff0) return false;
  if (c.interruptibility & (Intr.STI | Intr.MOV_SS) || c.activity === 1) {
    const bs = (lo & 0x4000) !== 0;
    const tf = (c.rflags & Flag.TF) !== 0;
    const btf = (c.entry & EntryCtl.LOAD_DEBUG_CONTROLS ? v.lo[F.GUEST_IA32_DEBUGCTL] : 0) & 2;
    if (tf && !btf && !bs) return false;
    if ((!tf || btf) && bs) return false;
  }
  return true;
}
function guestVmcsLinkPointer(c: EntryContext): boolean {
  const v = c.v;
  if (v.lo[F.VMCS_LINK_POINTER] === 0xffffffff && v.hi[F.VMCS_LINK_POINTER] === 0xffffffff) return true;
  c.qualification = 4;
  const a = v.num(F.VMCS_LINK_POINTER);
  if ((a & 0xfff) !== 0 || !physOk(c, F.VMCS_LINK_POINTER)) return false;
  if ((c.u.readPhys32(a) & 0x7fffffff) !== VMCS_REVISION_ID || c.u.readPhys32(a) & 0x80000000) return false;
  c.qualification = 0;
  return true;
}
/** 27.3.1.6: with EPT and PAE paging the PDPTE fields must be valid (without EPT they are loaded from CR3 during entry). */
function guestPdptes(c: EntryContext): boolean {
  if (!(c.proc2 & Proc2.ENABLE_EPT) || !(c.guestCr0 & Cr0.PG) || !(c.guestCr4 & Cr4.PAE) || c.ia32e) return true;
  const hiMask = ~((1 << (c.maxPhys - 32)) - 1); // bits 63:MAXPHYADDR
  for (const slot of [F.GUEST_PDPTE0, F.GUEST_PDPTE1, F.GUEST_PDPTE2, F.GUEST_PDPTE3]) {
    const lo = c.v.lo[slot];
    const hi = c.v.hi[slot];
    if (!(lo & 1)) continue;
    if (lo & 0x1e6 || hi & hiMask) return false;
  }
  return true;
}

function named(name: string, test: EntryCheck): NamedCheck {
  return Object.freeze({ name, test });
}

/** 27.2.1: checks on VM-execution, VM-exit and VM-entry control fields (VMfailValid 7). */
export const CONTROL_CHECKS: readonly NamedCheck[] = Object.freeze([
  named('controls.pin-based-reserved-bits', pinBasedReserved),
  named('controls.processor-based-reserved-bits', procBasedReserved),
  named('controls.secondary-reserved-bits', secondaryReserved),
  named('controls.cr3-target-count', cr3TargetCount),
  named('controls.io-bitmap-addresses', ioBitmapAddresses),
  named('controls.msr-bitmap-address', msrBitmapAddress),
  named('controls.virtual-nmis-need-nmi-exiting', nmiExitingForVirtualNmis),
  named('controls.nmi-window-needs-virtual-nmis', virtualNmisForNmiWindow),
  named('controls.ept-pointer', eptPointer),
  named('controls.unrestricted-guest-needs-ept', unrestrictedNeedsEpt),
  named('controls.vpid-nonzero', vpidNonZero),
  named('controls.exit-reserved-bits', exitControlsReserved),
  named('controls.save-preemption-timer-needs-timer', savePreemptionTimerNeedsTimer),
  named('controls.exit-msr-store-area', exitMsrStoreArea),
  named('controls.exit-msr-load-area', exitMsrLoadArea),
  named('controls.entry-reserved-bits', entryControlsReserved),
  named('controls.entry-msr-load-area', entryMsrLoadArea),
  named('controls.injection-type', injectionType),
  named('controls.injection-vector', injectionVector),
  named('controls.injection-deliver-error-code', injectionDeliverErrorCode),
  named('controls.injection-reserved-bits', injectionReservedBits),
  named('controls.injection-error-code', injectionErrorCode),
  named('controls.injection-instruction-length', injectionInstructionLength),
]);

/** 27.2.2–27.2.4: checks on host control registers, MSRs, segment and descriptor-table registers, address-space size (VMfailValid 8). */
export const HOST_CHECKS: readonly NamedCheck[] = Object.freeze([
  named('host.cr0-fixed-bits', hostCr0Fixed),
  named('host.cr4-fixed-bits', hostCr4Fixed),
  named('host.cr3-width', hostCr3Width),
  named('host.sysenter-canonical', hostSysenterCanonical),
  named('host.pat', hostPat),
  named('host.efer', hostEfer),
  named('host.selector-rpl-ti', hostSelectorsRplTi),
  named('host.cs-not-null', hostCsNotNull),
  named('host.tr-not-null', hostTrNotNull),
  named('host.ss-not-null-32bit', hostSsNotNullIn32Bit),
  named('host.bases-canonical', hostBasesCanonical),
  named('host.address-space-size', hostAddressSpaceSize),
  named('host.32bit-cr4-pcide-and-rip', hostLegacyCr4AndRip),
  named('host.64bit-pae-and-rip', host64PaeAndRip),
]);

/** 27.3.1: checks on the guest-state area (VM-entry failure, exit reason 33). */
export const GUEST_CHECKS: readonly NamedCheck[] = Object.freeze([
  named('guest.cr0-fixed-bits', guestCr0Fixed),
  named('guest.cr0-pg-needs-pe', guestCr0PgNeedsPe),
  named('guest.cr4-fixed-bits', guestCr4Fixed),
  named('guest.debugctl', guestDebugCtl),
  named('guest.ia32e-needs-pg-pae', guestIa32eNeedsPagingPae),
  named('guest.legacy-no-pcide', guestLegacyNoPcide),
  named('guest.cr3-width', guestCr3Width),
  named('guest.dr7-high', guestDr7High),
  named('guest.sysenter-canonical', guestSysenterCanonical),
  named('guest.pat', guestPat),
  named('guest.efer', guestEfer),
  named('guest.tr-ti', guestTrTiClear),
  named('guest.ldtr-ti', guestLdtrTiClear),
  named('guest.ss-rpl-equals-cs-rpl', guestSsRplEqualsCsRpl),
  named('guest.v86-segments', guestV86Segments),
  named('guest.bases', guestBasesCanonical),
  named('guest.cs-access-rights', guestCsAccessRights),
  named('guest.ss-access-rights', guestSsAccessRights),
  named('guest.data-segment-access-rights', guestDataSegmentAccessRights),
  named('guest.tr-access-rights', guestTrAccessRights),
  named('guest.ldtr-access-rights', guestLdtrAccessRights),
  named('guest.gdtr-idtr', guestDescriptorTables),
  named('guest.rip', guestRip),
  named('guest.rflags-reserved', guestRflagsReserved),
  named('guest.rflags-vm', guestRflagsVm),
  named('guest.rflags-if-for-external-interrupt', guestRflagsIfForExternalInterrupt),
  named('guest.activity-state', guestActivityState),
  named('guest.activity-hlt-needs-ss-dpl0', guestActivityHltNeedsDpl0),
  named('guest.activity-blocking-needs-active', guestActivityBlockingNeedsActive),
  named('guest.activity-injection', guestActivityInjection),
  named('guest.interruptibility-reserved', guestInterruptibilityReserved),
  named('guest.interruptibility-sti-and-mov-ss', guestInterruptibilityStiAndMovSs),
  named('guest.interruptibility-sti-needs-if', guestInterruptibilityStiNeedsIf),
  named('guest.interruptibility-external-interrupt', guestInterruptibilityForExternalInterrupt),
  named('guest.interruptibility-nmi', guestInterruptibilityForNmi),
  named('guest.pending-debug-exceptions', guestPendingDebugExceptions),
  named('guest.vmcs-link-pointer', guestVmcsLinkPointer),
  named('guest.pdptes', guestPdptes),
]);

/** Guest checks that read fields a hypervisor typically rewrites on every exit (RIP, RFLAGS): re-run even when the rest is cached. */
export const GUEST_HOT_CHECKS: readonly NamedCheck[] = Object.freeze(
  GUEST_CHECKS.filter((c) => c.name.startsWith('guest.rip') || c.name.startsWith('guest.rflags') || c.name.startsWith('guest.interruptibility-sti-needs-if')),
);

/** Runs a family; returns the first failing check or null. */
export function runChecks(list: readonly NamedCheck[], c: EntryContext): NamedCheck | null {
  for (let k = 0; k < list.length; k++) if (!list[k].test(c)) return list[k];
  return null;
}
