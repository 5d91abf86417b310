/**
 * Recognition of external events at instruction boundaries (SDM Vol. 3A 6.7–6.9, 6.8.3, 8.4/10.4
 * INIT and SIPI, 26.3.1.5 / Table 24-3 interruptibility).
 *
 * The run loop calls {@link checkEvents} at a boundary when `p.eventsPending` is true. Whoever makes
 * something pending sets that flag: {@link raiseNmi}, {@link raiseInit}, {@link raiseSipi},
 * {@link signalInterrupt} (the APIC: a newly requested vector, an EOI or TPR change that unmasks
 * one), STI / MOV SS / POP SS (shadows), IRET (NMI unblocking, IF), HLT, CR8 writes.
 *
 * Priorities (Table 6-2): INIT > single-step trap of the previous instruction > NMI > maskable INTR.
 * - The STI shadow and the MOV SS/POP SS shadow block INTR at exactly the boundary after the
 *   instruction that created them; the MOV SS shadow also blocks NMI and delays a single-step trap.
 *   The `CpuState` flags stay set while the protected instruction executes (a VM exit it causes
 *   reports them) and are cleared at the boundary after it, or by event delivery
 *   ({@link beginShadow} / {@link endShadow}; VM entry loading guest interruptibility must use them).
 * - NMI: delivered when not blocked; delivery sets `nmiBlocked`, which only the next IRET clears
 *   (even one that faults). One NMI is latched (`nmiPending`) while blocked; more are lost.
 * - INTR: needs RFLAGS.IF = 1, no shadow, and `interruptController.pendingVector() >= 0`; the
 *   vector comes from `acknowledge()` (INTA).
 * - HLT: left for a deliverable NMI, a deliverable INTR (IF = 1) or INIT; the event is delivered
 *   with the return address after the HLT.
 * - Shutdown: left by INIT, or by an unblocked NMI (SDM 6.15, interrupt 8).
 * - INIT: APs enter wait-for-SIPI with the INIT reset state (`CpuState.reset('init')`); the BSP
 *   restarts at the reset vector (F000:FFF0), as on hardware. In wait-for-SIPI, only SIPI (and
 *   INIT) are recognised: SIPI starts the processor in real mode at CS = vector << 8 (base
 *   vector << 12), IP = 0. A SIPI outside wait-for-SIPI is discarded.
 *
 * API for the machine and the APIC: `raiseNmi(p)`, `raiseInit(p)`, `raiseSipi(p, vector)`,
 * `signalInterrupt(p)`, and the per-processor `InterruptController` installed with
 * `configureProcessor(p, { interruptController })` (system-context.ts).
 * NOTE(system→core): thin `Processor` methods `raiseNmi()/raiseInit()/raiseSipi(v)` may delegate here.
 * NOTE(system→apic): call `signalInterrupt(p)` whenever a maskable vector may have become
 *   deliverable (new IRR bit, EOI, TPR/PPR lowered through MMIO or x2APIC MSR); deliver NMI, INIT
 *   and SIPI IPIs with the raise functions; INIT also resets the APIC itself (not done here).
 * NOTE(system→vmx): `SystemContext.onInit` / `interceptEvent` / `onTripleFault` are the hooks for
 *   INIT blocking in VMX root operation, VM exits on events, and triple-fault VM exits.
 * Single-step: an instruction that began with RFLAGS.TF = 1 and completed is followed by a #DB
 *   trap (DR6.BS set; priority above NMI/INTR; delayed by the MOV SS shadow; none for an
 *   instruction that raised an exception or INT n). Hardware breakpoints (DR0–3/DR7) are not acted on.
 */
import type { Processor } from './processor.js';
import { Activity, Flag, Seg, Vec } from './state.js';
import { deliverEvent, EventKind } from './exceptions.js';
import { sys } from './system-context.js';

/** Latches an NMI (one is kept while NMIs are blocked; a second one while one is pending is lost). */
export function raiseNmi(p: Processor): void {
  p.state.nmiPending = true;
  p.eventsPending = true;
}

/** Latches INIT. */
export function raiseInit(p: Processor): void {
  p.state.initPending = true;
  p.eventsPending = true;
}

/** Start-up IPI with `vector` (0..255): recognised only in wait-for-SIPI, discarded otherwise. */
export function raiseSipi(p: Processor, vector: number): void {
  // An INIT latched but not yet recognised (the processor has not reached a boundary since) is
  // recognised first, as hardware processes INIT on receipt: INIT-SIPI sent back to back works.
  if (p.state.initPending && p.state.activity !== Activity.WAIT_FOR_SIPI) takeInit(p);
  if (p.state.activity !== Activity.WAIT_FOR_SIPI) return;
  p.state.sipiVector = vector & 0xff;
  p.eventsPending = true;
}

/** The interrupt controller has (possibly) a new deliverable maskable interrupt. */
export function signalInterrupt(p: Processor): void {
  p.eventsPending = true;
}

/**
 * Starts an interrupt shadow (STI with IF = 0, MOV SS, POP SS — or VM entry loading the guest
 * interruptibility state): the flags stay set while the next instruction executes (so a VM exit
 * it causes reports them) and are cleared at the boundary after it.
 */
export function beginShadow(p: Processor, sti: boolean, movSs: boolean): void {
  const s = p.state;
  if (sti) s.blockingBySti = true;
  if (movSs) s.blockingByMovSs = true;
  sys(p).shadowSeen = false;
  p.eventsPending = true;
}

/** Ends any interrupt shadow (event delivery does). */
export function endShadow(p: Processor): void {
  p.state.blockingBySti = false;
  p.state.blockingByMovSs = false;
  sys(p).shadowSeen = false;
}

/** Handles pending events at an instruction boundary. Never throws CPU_FAULT. */
export function checkEvents(p: Processor): void {
  const s = p.state;
  let stiShadow = false;
  let movSsShadow = false;
  if (s.blockingBySti || s.blockingByMovSs) {
    const ctx = sys(p);
    if (!ctx.shadowSeen) {
      // The boundary right after STI / MOV SS: the shadow blocks here, and lasts while the next
      // instruction executes.
      ctx.shadowSeen = true;
      stiShadow = s.blockingBySti;
      movSsShadow = s.blockingByMovSs;
    } else {
      // The protected instruction completed: the shadow is over.
      s.blockingBySti = false;
      s.blockingByMovSs = false;
      ctx.shadowSeen = false;
    }
  }

  const act = s.activity;
  if (act === Activity.WAIT_FOR_SIPI) {
    const guest = p.vmxGuest;
    if (guest !== null) {
      // VMX non-root in wait-for-SIPI: INIT and SIPI are VM exits (SDM 26.2).
      if ((s.initPending && takeInit(p)) || (s.sipiVector >= 0 && guest.sipi(p, s.sipiVector))) {
        p.eventsPending = true;
        return;
      }
    }
    if (s.initPending) s.initPending = false; // INIT while waiting for SIPI: stays waiting
    if (s.sipiVector >= 0) startFromSipi(p);
    p.eventsPending = s.activity === Activity.ACTIVE;
    return;
  }

  if (s.initPending) {
    const guest = p.vmxGuest;
    if (takeInit(p)) {
      p.eventsPending = s.activity === Activity.ACTIVE && pendingAfter(p);
      return;
    }
    if (guest !== null && p.vmxGuest === null) {
      // INIT caused a VM exit: look at the host's events at the next boundary.
      p.eventsPending = true;
      return;
    }
  }

  // Single-step trap for the instruction that just completed (priority 4, above NMI and INTR).
  // The MOV SS / POP SS shadow delays it to the next boundary (SDM 6.8.3).
  if (p.state.pendingSingleStep && act !== Activity.SHUTDOWN) {
    if (movSsShadow) {
      p.eventsPending = true;
      return;
    }
    p.state.pendingSingleStep = false;
    s.dr[6] = (s.dr[6] | 0x4000) >>> 0; // DR6.BS
    s.activity = Activity.ACTIVE;
    deliverEvent(p, Vec.DB, -1, EventKind.EXCEPTION, s.rip);
    armStep(p);
    p.eventsPending = true;
    return;
  }

  const guest = p.vmxGuest;
  if (guest !== null && guest.beforeNmi(p, stiShadow, movSsShadow)) {
    p.eventsPending = true;
    return;
  }

  if (s.nmiPending && !s.nmiBlocked && !movSsShadow && (guest === null || !guest.nmiExiting)) {
    s.nmiPending = false;
    s.nmiBlocked = true;
    s.activity = Activity.ACTIVE;
    deliverEvent(p, Vec.NMI, -1, EventKind.NMI, s.rip);
    p.eventsPending = true;
    return;
  }

  if (guest !== null && guest.beforeInterrupt(p, stiShadow, movSsShadow)) {
    p.eventsPending = true;
    return;
  }

  if (act !== Activity.SHUTDOWN && !stiShadow && !movSsShadow && s.rflags & Flag.IF && (guest === null || !guest.extIntExiting)) {
    const ic = sys(p).interruptController;
    if (ic.pendingVector() >= 0) {
      const v = ic.acknowledge();
      if (v >= 0) {
        s.activity = Activity.ACTIVE;
        deliverEvent(p, v, -1, EventKind.EXTERNAL, s.rip);
        p.eventsPending = true;
        return;
      }
    }
  }

  // Nothing delivered: stay attentive only while a shadow was consumed here (the blocked event
  // becomes deliverable at the next boundary), something is still deliverable, or TF is set.
  p.eventsPending = stiShadow || movSsShadow || armStep(p) || pendingAfter(p);
}

/** RFLAGS.TF at an instruction boundary: the next instruction to complete raises a single-step #DB. */
function armStep(p: Processor): boolean {
  if ((p.state.rflags & Flag.TF) === 0 || p.state.activity !== Activity.ACTIVE) return false;
  p.state.pendingSingleStep = true;
  return true;
}

/** Is an event deliverable at the next boundary (ignoring shadows, which are consumed)? */
function pendingAfter(p: Processor): boolean {
  const s = p.state;
  if (s.initPending && !p.initBlocked) return true;
  if (p.vmxGuest !== null && p.vmxGuest.pending(p)) return true;
  if (s.nmiPending && !s.nmiBlocked) return true;
  if (s.activity === Activity.SHUTDOWN) return false;
  return (s.rflags & Flag.IF) !== 0 && sys(p).interruptController.pendingVector() >= 0;
}

/** Applies a latched INIT unless the VMX hook takes it; true when the INIT reset happened. */
function takeInit(p: Processor): boolean {
  const hook = sys(p).onInit;
  if (hook !== null && hook(p)) return false;
  doInit(p);
  return true;
}

/** INIT: reset state; APs wait for SIPI, the BSP restarts at the reset vector. */
export function doInit(p: Processor): void {
  const s = p.state;
  const oldCr0 = s.cr0;
  const c = sys(p);
  s.reset('init', c.cpuid.signature);
  p.setRflags(s.rflags);
  if (!c.bsp) s.activity = Activity.WAIT_FOR_SIPI;
  p.modeChanged();
  p.controlRegisterWritten('cr0', oldCr0);
  p.flushTranslations(true);
}

/** SIPI in wait-for-SIPI: real mode at vector × 4096. */
function startFromSipi(p: Processor): void {
  const s = p.state;
  const v = s.sipiVector;
  s.sipiVector = -1;
  s.segSel[Seg.CS] = v << 8;
  s.segBase[Seg.CS] = v << 12;
  s.rip = 0;
  s.activity = Activity.ACTIVE;
  p.modeChanged();
}
