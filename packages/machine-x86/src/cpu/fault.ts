/**
 * The fault mechanism of the interpreter, and the bottom layer of the {@link Processor} class
 * chain (CoreBase → FlagsCore (flags.ts) → MemoryCore (memory-access.ts) → Processor
 * (processor.ts)).
 *
 * Contract (used by every instruction implementation, here and in the SYSTEM files):
 *
 * - An instruction that must raise an exception calls `p.fault(vector, errorCode)` (errorCode -1 =
 *   none). It records `pendingVector` / `pendingErrorCode` and throws the singleton {@link CPU_FAULT}
 *   (no allocation). For #PF the caller writes CR2 before faulting (the memory path does this).
 * - The run loop (processor.ts) has ONE try/catch around its instruction loop. On CPU_FAULT it sets
 *   RIP back to `instrStart` (the first byte of the faulting instruction, prefixes included) and
 *   calls `deliverException(p)` (exceptions.ts), then re-enters the loop. Anything else propagates.
 * - Instructions commit architectural state only after every access that can fault has succeeded
 *   (PUSH writes memory, then RSP; RMW operations write memory, then flags and registers), so no
 *   other rollback is needed. String instructions under REP commit per iteration, exactly as the
 *   SDM describes an interrupted REP string instruction.
 *
 * General-register helpers live here because every layer needs them. Register numbers follow the
 * decoder: 0..15 = rAX..R15; for byte operands 16..19 = AH, CH, DH, BH.
 */
import { CpuState } from './state.js';

/** Thrown (never allocated anew) to abort the current instruction. Compare with `===`. */
export const CPU_FAULT: { readonly name: 'CPU_FAULT' } = Object.freeze({ name: 'CPU_FAULT' as const });

/**
 * Thrown (never allocated anew) after a VM exit was performed from deep inside an instruction or
 * an event delivery (EPT violation, task switch, triple fault …): the processor already holds the
 * host state, the run loop only continues at the new RIP. Compare with `===`.
 */
export const VM_EXIT: { readonly name: 'VM_EXIT' } = Object.freeze({ name: 'VM_EXIT' as const });

export function isCpuFault(e: unknown): boolean {
  return e === CPU_FAULT;
}

export class CoreBase {
  readonly state: CpuState;
  /** `state.lo` / `state.hi` (aliases, for short hot-path code). */
  readonly lo: Int32Array;
  readonly hi: Int32Array;

  /** Vector of the exception being raised (valid after a CPU_FAULT was thrown), else -1. */
  pendingVector = -1;
  /** Its error code, -1 when the exception has none. */
  pendingErrorCode = -1;
  /** RIP of the first byte of the instruction being executed (where a fault restarts). */
  instrStart = 0;
  /** Scratch: the high half of the last 64-bit value returned by a `...64` reader (avoids allocating pairs). */
  rhi = 0;

  constructor(state: CpuState) {
    this.state = state;
    this.lo = state.lo;
    this.hi = state.hi;
  }

  /**
   * Raises exception `vector` with `errorCode` (-1: none): aborts the current instruction. State
   * already committed by the instruction stays (see the file comment for the commit discipline).
   */
  fault(vector: number, errorCode = -1): never {
    this.pendingVector = vector;
    this.pendingErrorCode = errorCode;
    throw CPU_FAULT;
  }

  // ------------------------------------------------------------------ general registers

  /** 8-bit register (0..15 low bytes, 16..19 AH CH DH BH), zero-extended. */
  getReg8(r: number): number {
    return r < 16 ? this.lo[r] & 0xff : (this.lo[r - 16] >>> 8) & 0xff;
  }
  setReg8(r: number, v: number): void {
    if (r < 16) this.lo[r] = (this.lo[r] & ~0xff) | (v & 0xff);
    else this.lo[r - 16] = (this.lo[r - 16] & ~0xff00) | ((v & 0xff) << 8);
  }
  getReg16(r: number): number {
    return this.lo[r] & 0xffff;
  }
  setReg16(r: number, v: number): void {
    this.lo[r] = (this.lo[r] & ~0xffff) | (v & 0xffff);
  }
  /** Low 32 bits as int32. */
  getReg32(r: number): number {
    return this.lo[r];
  }
  /** 32-bit write: bits 63:32 are zeroed (SDM Vol. 1 3.4.1.1; done in every mode — invisible outside 64-bit mode). */
  setReg32(r: number, v: number): void {
    this.lo[r] = v;
    this.hi[r] = 0;
  }
  /** Returns the low half; the high half is left in `rhi`. */
  getReg64(r: number): number {
    this.rhi = this.hi[r];
    return this.lo[r];
  }
  setReg64(r: number, lo: number, hi: number): void {
    this.lo[r] = lo;
    this.hi[r] = hi;
  }
  /** Register read of `size` bits (8/16/32: zero-extended number except 32 = int32; 64: low half, high in `rhi`). */
  getReg(r: number, size: number): number {
    switch (size) {
      case 8:
        return this.getReg8(r);
      case 16:
        return this.lo[r] & 0xffff;
      case 32:
        return this.lo[r];
      default:
        this.rhi = this.hi[r];
        return this.lo[r];
    }
  }
  /** Register write of `size` bits; for 64 the high half is `hi`. */
  setReg(r: number, size: number, v: number, hi: number): void {
    switch (size) {
      case 8:
        this.setReg8(r, v);
        return;
      case 16:
        this.lo[r] = (this.lo[r] & ~0xffff) | (v & 0xffff);
        return;
      case 32:
        this.lo[r] = v;
        this.hi[r] = 0;
        return;
      default:
        this.lo[r] = v;
        this.hi[r] = hi;
    }
  }
}
