/**
 * The per-processor interrupt controller of a machine without a local APIC model (the APIC issue
 * replaces it). A 256-bit request register (IRR) and in-service register (ISR) with APIC-like
 * priority: the highest requested vector is deliverable when its priority class (v >> 4) is above
 * both the TPR class and the class of the highest in-service vector (SDM Vol. 3A 10.8.3.1).
 * `eoi()` retires the highest in-service vector. Vectors 0–15 are refused (as the APIC refuses
 * them: they are exception vectors). TPR is reachable through CR8.
 *
 * Snapshottable: `saveState()` returns an immutable copy.
 */
import { InvalidArgumentError } from '@latelaunch/kernel';
import type { InterruptController } from '../cpu/interrupt-controller.js';
import type { Snapshottable } from '../devices/snapshottable.js';

class StandInState {
  static readonly EMPTY = new StandInState(new Uint8Array(256), new Uint8Array(256), 0);

  constructor(
    readonly irr: Uint8Array,
    readonly isr: Uint8Array,
    readonly tpr: number,
  ) {
    Object.freeze(this);
  }
}

export class InterruptStandIn implements InterruptController, Snapshottable {
  private readonly irr = new Uint8Array(256);
  private readonly isr = new Uint8Array(256);
  private requested = 0;
  private serving = 0;
  /** TPR (bits 7:4 are the priority class). */
  tpr = 0;
  /** Called when a vector is requested, so the processor looks at its next boundary. */
  onRaise: (() => void) | null = null;

  /** Requests `vector` (16..255), like an edge on a local APIC's IRR. */
  raise(vector: number): void {
    if (!Number.isInteger(vector) || vector < 16 || vector > 255) throw new InvalidArgumentError(`interrupt vector ${vector} outside 16..255`);
    if (!this.irr[vector]) {
      this.irr[vector] = 1;
      this.requested++;
    }
    this.onRaise?.();
  }

  private static highest(bits: Uint8Array): number {
    for (let v = 255; v >= 16; v--) if (bits[v]) return v;
    return -1;
  }

  pendingVector(): number {
    if (this.requested === 0) return -1;
    const v = InterruptStandIn.highest(this.irr);
    const isrv = InterruptStandIn.highest(this.isr);
    const ppr = Math.max(this.tpr & 0xf0, isrv < 0 ? 0 : isrv & 0xf0);
    return (v & 0xf0) > ppr ? v : -1;
  }

  acknowledge(): number {
    const v = this.pendingVector();
    if (v < 0) return -1;
    this.irr[v] = 0;
    this.requested--;
    this.isr[v] = 1;
    this.serving++;
    return v;
  }

  /** End of interrupt: retires the highest in-service vector. Returns it, or -1. */
  eoi(): number {
    const v = InterruptStandIn.highest(this.isr);
    if (v >= 0) {
      this.isr[v] = 0;
      this.serving--;
      if (this.requested !== 0) this.onRaise?.();
    }
    return v;
  }

  /** Requested vectors not yet accepted, highest first. */
  requestedVectors(): number[] {
    const out: number[] = [];
    for (let v = 255; v >= 16; v--) if (this.irr[v]) out.push(v);
    return out;
  }

  /** Accepted vectors not yet EOIed, highest first. */
  inService(): number[] {
    const out: number[] = [];
    for (let v = 255; v >= 16; v--) if (this.isr[v]) out.push(v);
    return out;
  }

  readTpr(): number {
    return (this.tpr >>> 4) & 0xf;
  }

  writeTpr(value: number): void {
    this.tpr = (value & 0xf) << 4;
    if (this.requested !== 0) this.onRaise?.();
  }

  reset(): void {
    this.irr.fill(0);
    this.isr.fill(0);
    this.requested = 0;
    this.serving = 0;
    this.tpr = 0;
  }

  saveState(): unknown {
    if (this.requested === 0 && this.serving === 0 && this.tpr === 0) return StandInState.EMPTY;
    return new StandInState(this.irr.slice(), this.isr.slice(), this.tpr);
  }

  loadState(state: unknown): void {
    if (!(state instanceof StandInState)) throw new InvalidArgumentError('InterruptStandIn.loadState: not an interrupt stand-in state');
    this.irr.set(state.irr);
    this.isr.set(state.isr);
    this.tpr = state.tpr;
    let n = 0;
    let m = 0;
    for (let v = 16; v < 256; v++) {
      n += this.irr[v];
      m += this.isr[v];
    }
    this.requested = n;
    this.serving = m;
  }
}
