/**
 * VM entry (SDM Vol. 3C ch. 27): after VMLAUNCH/VMRESUME passed their own checks (instructions.ts),
 * run the named checks (entry-checks.ts), load the guest state (27.3.2), load MSRs (27.4), enter
 * VMX non-root operation with the guest's paging context (EPT, VPID, PDPTEs), start the
 * VMX-preemption timer, and inject the event in the VM-entry interruption-information field
 * (27.6). Failures: VMfailValid 7/8 (controls/host), or a VM-entry failure VM exit (33 guest state,
 * 34 MSR loading) that loads the host state (27.8).
 */
import { Activity, Cr0, Cr4, Efer } from '../cpu/state.js';
import { beginShadow } from '../cpu/interrupts.js';
import { deliverEvent, EventKind } from '../cpu/exceptions.js';
import { Msr } from '../cpu/msr.js';
import { EntryCtl, Pin, PREEMPTION_TIMER_RATE, Proc2 } from './controls.js';
import { CONTROL_CHECKS, EntryContext, GUEST_CHECKS, GUEST_HOT_CHECKS, HOST_CHECKS, runChecks } from './entry-checks.js';
import { Intr, IntrType, loadHost, loadMsrList, resetExitInfo, SEG_AR, SEG_BASE, SEG_LIMIT, SEG_SEL } from './exit.js';
import { F, type VmcsData } from './vmcs.js';
import type { VmxUnit } from './unit.js';
import { VMX_ERROR, EXIT_REASON, EXIT_REASON_FAILED_VMENTRY } from './vmcs-fields.js';

const ctx = new EntryContext();

/** Result of {@link vmEntry}: 0 = entered (or failed with a VM-entry failure exit), else the VMfailValid error number. */
export type EntryResult = number;

/** Performs the VM entry with the current VMCS. Returns 0 or a VMfailValid error number (7, 8). */
export function vmEntry(u: VmxUnit, launch: boolean): EntryResult {
  const p = u.p;
  const s = p.state;
  const v = u.current as VmcsData;
  const c = ctx.fill(u, v);
  u.lastFailedCheck = '';
  const lma = s.efer & Efer.LMA ? 1 : 0;
  const cached = !u.alwaysCheck && v.checkedAt === v.writes * 2 + lma;
  if (cached) {
    u.cachedChecks++;
    const hot = runChecks(GUEST_HOT_CHECKS, c);
    if (hot !== null) return entryFailure(u, v, 'guest', hot.name, EXIT_REASON.ENTRY_FAILURE_INVALID_GUEST_STATE, c.qualification);
  } else {
    const ctl = runChecks(CONTROL_CHECKS, c);
    if (ctl !== null) return checkFailed(u, 'controls', ctl.name, VMX_ERROR.ENTRY_INVALID_CONTROL_FIELD);
    const host = runChecks(HOST_CHECKS, c);
    if (host !== null) return checkFailed(u, 'host', host.name, VMX_ERROR.ENTRY_INVALID_HOST_STATE_FIELD);
    const guest = runChecks(GUEST_CHECKS, c);
    if (guest !== null) return entryFailure(u, v, 'guest', guest.name, EXIT_REASON.ENTRY_FAILURE_INVALID_GUEST_STATE, c.qualification);
    v.checkedAt = v.writes * 2 + lma;
  }

  loadGuest(u, v, c);
  p.eptActive = (c.proc2 & Proc2.ENABLE_EPT) !== 0;
  p.syncFromState(); // mode cache and paging control from the guest state
  // PDPTEs of a PAE guest (27.3.2.4 / 27.3.1.6).
  const mmu = u.translator();
  const pae = (s.cr0 & Cr0.PG) !== 0 && (s.cr4 & Cr4.PAE) !== 0 && !c.ia32e;
  if (mmu !== null) {
    const ept = (c.proc2 & Proc2.ENABLE_EPT) !== 0;
    mmu.setVpid(c.proc2 & Proc2.ENABLE_VPID ? v.u32(F.VIRTUAL_PROCESSOR_ID) & 0xffff : 0);
    mmu.setEpt(ept ? v.num(F.EPT_POINTER) : null);
    mmu.reloadControl();
    if (!(c.proc2 & Proc2.ENABLE_VPID)) mmu.invvpid(1, 0, 0);
    if (pae) {
      if (ept) {
        const pd = p.pagingControl.pdpte;
        const slots = [F.GUEST_PDPTE0, F.GUEST_PDPTE1, F.GUEST_PDPTE2, F.GUEST_PDPTE3];
        for (let k = 0; k < 4; k++) {
          pd[k * 2] = v.lo[slots[k]] | 0;
          pd[k * 2 + 1] = v.hi[slots[k]] | 0;
        }
      } else if (!mmu.loadPdptes()) {
        return entryFailure(u, v, 'guest', 'guest.pdptes-load', EXIT_REASON.ENTRY_FAILURE_INVALID_GUEST_STATE, 2);
      }
    }
  } else if (s.cr0 & Cr0.PG && !p.controlRegisterWritten('cr3', s.cr3)) {
    return entryFailure(u, v, 'guest', 'guest.pdptes-load', EXIT_REASON.ENTRY_FAILURE_INVALID_GUEST_STATE, 2);
  }
  p.flushFastTlb();

  // MSR loading (27.4).
  const count = v.u32(F.VM_ENTRY_MSR_LOAD_COUNT);
  if (count > 0) {
    const failed = loadMsrList(u, v.num(F.VM_ENTRY_MSR_LOAD_ADDR), count);
    if (failed !== 0) return entryFailure(u, v, 'msr-load', `msr-load.entry-${failed}`, EXIT_REASON.ENTRY_FAILURE_MSR_LOADING, failed);
  }

  // Now in VMX non-root operation.
  enterNonRoot(u, v, c);
  if (launch) v.launched = true;
  u.entries++;
  const trace = u.trace;
  if (trace !== null && trace.wants('vmx.entry')) trace.emit('vmx.entry', { launch, rip: s.rip }, p.cpuIndex);

  if (c.pin & Pin.PREEMPTION_TIMER) u.armTimer(v.u32(F.VMX_PREEMPTION_TIMER_VALUE), PREEMPTION_TIMER_RATE);
  if (c.intrValid) inject(u, v, c);
  p.eventsPending = true;
  return 0;
}

function checkFailed(u: VmxUnit, kind: string, name: string, error: number): EntryResult {
  const trace = u.trace;
  if (trace !== null && trace.wants('vmx.entry-check')) trace.emit('vmx.entry-check', { kind, check: name }, u.p.cpuIndex);
  u.lastFailedCheck = name;
  return error;
}

/** VM-entry failure after the controls and host state were checked (27.8): exit information + host state. */
function entryFailure(u: VmxUnit, v: VmcsData, kind: string, name: string, reason: number, qualification: number): EntryResult {
  checkFailed(u, kind, name, 0);
  resetExitInfo(u);
  v.set(F.VM_EXIT_REASON, (reason | EXIT_REASON_FAILED_VMENTRY) >>> 0);
  v.setNum(F.EXIT_QUALIFICATION, qualification);
  v.set(F.VM_EXIT_INTR_INFO, 0);
  v.set(F.IDT_VECTORING_INFO, 0);
  const trace = u.trace;
  if (trace !== null && trace.wants('vmx.exit')) trace.emit('vmx.exit', { reason: (reason | EXIT_REASON_FAILED_VMENTRY) >>> 0, qualification, rip: u.p.state.rip }, u.p.cpuIndex);
  loadHost(u, v, false);
  return 0;
}

/** 27.3.2: loads the guest-state area into the processor. */
function loadGuest(u: VmxUnit, v: VmcsData, c: EntryContext): void {
  const p = u.p;
  const s = p.state;
  s.cr0 = (c.guestCr0 | Cr0.ET) | 0;
  s.cr3 = v.num(F.GUEST_CR3);
  s.cr4 = c.guestCr4 | 0;
  if (c.entry & EntryCtl.LOAD_DEBUG_CONTROLS) {
    s.dr[7] = v.u32(F.GUEST_DR7);
    s.msr.set(0x1d9, v.big(F.GUEST_IA32_DEBUGCTL));
  }
  s.msr.set(Msr.SYSENTER_CS, BigInt(v.u32(F.GUEST_SYSENTER_CS)));
  s.msr.set(Msr.SYSENTER_ESP, v.big(F.GUEST_SYSENTER_ESP));
  s.msr.set(Msr.SYSENTER_EIP, v.big(F.GUEST_SYSENTER_EIP));
  if (c.entry & EntryCtl.LOAD_EFER) s.efer = v.u32(F.GUEST_IA32_EFER);
  else {
    let efer = c.ia32e ? s.efer | Efer.LMA : s.efer & ~Efer.LMA;
    if (c.guestCr0 & Cr0.PG) efer = c.ia32e ? efer | Efer.LME : efer & ~Efer.LME;
    s.efer = efer;
  }
  if (c.entry & EntryCtl.LOAD_PAT) s.msr.set(Msr.PAT, v.big(F.GUEST_IA32_PAT));
  for (let k = 0; k < 8; k++) {
    s.segSel[k] = v.u32(SEG_SEL[k]) & 0xffff;
    s.segBase[k] = k < 4 ? v.u32(SEG_BASE[k]) : v.addr(SEG_BASE[k]); // ES, CS, SS, DS: bits 31:0
    s.segLimit[k] = v.u32(SEG_LIMIT[k]);
    s.segAr[k] = v.u32(SEG_AR[k]) & 0x1f0ff;
  }
  s.gdtrBase = v.addr(F.GUEST_GDTR_BASE);
  s.gdtrLimit = v.u32(F.GUEST_GDTR_LIMIT) & 0xffff;
  s.idtrBase = v.addr(F.GUEST_IDTR_BASE);
  s.idtrLimit = v.u32(F.GUEST_IDTR_LIMIT) & 0xffff;
  const long = c.ia32e && (s.segAr[1] & 0x2000) !== 0;
  s.rip = long ? v.addr(F.GUEST_RIP) : v.u32(F.GUEST_RIP);
  p.lo[4] = v.lo[F.GUEST_RSP] | 0;
  p.hi[4] = v.hi[F.GUEST_RSP] | 0;
  p.setRflags(c.rflags);
  s.activity = c.activity as Activity;
  s.pendingSingleStep = (v.lo[F.GUEST_PENDING_DBG_EXCEPTIONS] & 0x4000) !== 0;
  // Interruptibility (27.6.1): a vectoring entry has no STI / MOV SS blocking.
  const intr = c.interruptibility;
  s.blockingBySti = false;
  s.blockingByMovSs = false;
  if (!c.intrValid && intr & (Intr.STI | Intr.MOV_SS)) beginShadow(p, (intr & Intr.STI) !== 0, (intr & Intr.MOV_SS) !== 0);
  if (c.pin & Pin.VIRTUAL_NMIS) {
    u.physNmiBlocked = s.nmiBlocked;
    s.nmiBlocked = (intr & Intr.NMI) !== 0; // virtual-NMI blocking
  } else s.nmiBlocked = (intr & Intr.NMI) !== 0;
}

/** Switches the processor into non-root operation (hooks, fixed bits, EPT-mode translation). */
function enterNonRoot(u: VmxUnit, v: VmcsData, c: EntryContext): void {
  const p = u.p;
  u.nonRoot = true;
  p.initBlocked = false; // INIT is a VM exit in non-root operation
  u.hooks.configure(v);
  p.vmxGuest = u.hooks;
  p.eptActive = (c.proc2 & Proc2.ENABLE_EPT) !== 0;
  let fixed0 = u.caps.cr0Fixed0;
  if (c.unrestricted) fixed0 &= ~(Cr0.PE | Cr0.PG);
  p.cr0Fixed0 = fixed0 | 0;
  p.syncFromState();
  resetExitInfo(u);
}

/** 27.6: event injection through the guest IDT. */
function inject(u: VmxUnit, v: VmcsData, c: EntryContext): void {
  const p = u.p;
  const s = p.state;
  const vector = c.intrVector;
  const err = c.intrInfo & 0x800 ? v.u32(F.VM_ENTRY_EXCEPTION_ERROR_CODE) : -1;
  const len = v.u32(F.VM_ENTRY_INSTRUCTION_LEN);
  s.activity = Activity.ACTIVE;
  u.injecting = true;
  p.instrStart = s.rip;
  switch (c.intrType) {
    case IntrType.EXTERNAL:
      deliverEvent(p, vector, -1, EventKind.EXTERNAL, s.rip);
      break;
    case IntrType.NMI:
      s.nmiBlocked = true; // (virtual-NMI blocking under "virtual NMIs")
      deliverEvent(p, vector, -1, EventKind.NMI, s.rip);
      break;
    case IntrType.HW_EXCEPTION:
      deliverEvent(p, vector, err, EventKind.EXCEPTION, s.rip);
      break;
    case IntrType.SW_INTERRUPT:
      deliverEvent(p, vector, -1, EventKind.SOFTWARE_INT, advance(u, len));
      break;
    case IntrType.PRIV_SW_EXCEPTION:
      deliverEvent(p, vector, -1, EventKind.EXCEPTION, advance(u, len));
      break;
    default: // software exception (INT3 / INTO)
      deliverEvent(p, vector, -1, EventKind.SOFTWARE_EXC, advance(u, len));
  }
  u.injecting = false;
}

/** RIP + instruction length in the guest's code size. */
function advance(u: VmxUnit, len: number): number {
  const p = u.p;
  const r = p.state.rip + len;
  return p.is64 ? r : p.codeSize === 32 ? r >>> 0 : r & 0xffff;
}
