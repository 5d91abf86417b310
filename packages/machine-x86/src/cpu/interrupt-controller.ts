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

/**
 * A test stand-in: a queue of requested vectors with APIC-like priority. `raise(v)` requests a
 * vector; the highest pending vector is delivered if its priority class (v >> 4) is above the TPR
 * class and above the class of the highest in-service vector; `eoi()` retires the highest
 * in-service vector. Good enough for instruction-level tests of delivery, blocking and HLT wake.
 */
export class QueueInterruptController implements InterruptController {
  private readonly irr = new Uint8Array(256);
  private readonly isr = new Uint8Array(256);
  tpr = 0;
  /** Called by `raise` so the processor re-examines events (wire it to `signalInterrupt(p)`). */
  onRaise: (() => void) | null = null;

  raise(vector: number): void {
    if (!(vector >= 16 && vector <= 255)) throw new RangeError(`QueueInterruptController: vector ${vector} outside 16..255`);
    this.irr[vector] = 1;
    this.onRaise?.();
  }

  private highest(bits: Uint8Array): number {
    for (let v = 255; v >= 0; v--) if (bits[v]) return v;
    return -1;
  }

  pendingVector(): number {
    const v = this.highest(this.irr);
    if (v < 0) return -1;
    const isrv = this.highest(this.isr);
    const ppr = Math.max(this.tpr & 0xf0, isrv < 0 ? 0 : isrv & 0xf0);
    return (v & 0xf0) > ppr ? v : -1;
  }

  acknowledge(): number {
    const v = this.pendingVector();
    if (v < 0) return -1;
    this.irr[v] = 0;
    this.isr[v] = 1;
    return v;
  }

  eoi(): void {
    const v = this.highest(this.isr);
    if (v >= 0) this.isr[v] = 0;
  }

  /** Vectors accepted and not yet EOIed (highest first). */
  inService(): number[] {
    const out: number[] = [];
    for (let v = 255; v >= 0; v--) if (this.isr[v]) out.push(v);
    return out;
  }

  readTpr(): number {
    return (this.tpr >>> 4) & 0xf;
  }

  writeTpr(value: number): void {
    this.tpr = (value & 0xf) << 4;
  }
}

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
