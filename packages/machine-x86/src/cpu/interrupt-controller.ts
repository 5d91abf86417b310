/**
 * The processor's view of its interrupt controller (the local APIC, SDM Vol. 3A ch. 10/11). The
 * APIC issue implements this per logical processor; the processor only needs three things:
 *
 * - whether a *maskable* interrupt is pending and deliverable at the current processor priority
 *   (the APIC compares the highest IRR priority class with PPR = max(TPR, ISRV) itself, 10.8.3.1);
 * - the INTA cycle: `acknowledge()` moves that vector from IRR to ISR and returns it (10.8.4);
 * - TPR access through CR8 in 64-bit mode (10.8.6.1: CR8[3:0] = TPR[7:4]).
 *
 * NMI, INIT and SIPI are not pulled through this interface: the APIC (or the machine) pushes them
 * with `raiseNmi(p)`, `raiseInit(p)`, `raiseSipi(p, vector)` from interrupts.ts, and signals a newly
 * pending maskable interrupt with `signalInterrupt(p)` so the processor looks at the boundary.
 * EOI is a memory-mapped/MSR write handled by the APIC itself.
 */
export interface InterruptController {
  /**
   * The vector the controller would deliver now (INTR asserted), or -1. Must not change state:
   * the processor calls it at instruction boundaries even when RFLAGS.IF = 0 (to wake from HLT it
   * does not: HLT wakes only for deliverable interrupts, see interrupts.ts).
   */
  pendingVector(): number;
  /** INTA: accepts the pending vector (IRR → ISR) and returns it. Only called after `pendingVector() >= 0`. */
  acknowledge(): number;
  /** CR8 read: TPR[7:4]. */
  readTpr(): number;
  /** CR8 write (value 0..15): TPR = value << 4. */
  writeTpr(value: number): void;
}

/* The queue-based stand-in with APIC-like priority is `InterruptStandIn` (src/machine/interrupt-standin.ts). */

/** The controller of a processor with no APIC composed: nothing is ever pending; CR8 reads back what was written. */
export class NullInterruptController implements InterruptController {
  private tpr = 0;
  pendingVector(): number {
    return -1;
  }
  acknowledge(): number {
    return -1;
  }
  readTpr(): number {
    return this.tpr;
  }
  writeTpr(value: number): void {
    this.tpr = value & 0xf;
  }
}
