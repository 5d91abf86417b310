/**
 * Exception classes and the double-fault rule (SDM Vol. 3A 6.15, "Interrupt 8—Double Fault
 * Exception", Table 6-4 "Interrupt and Exception Classes" and Table 6-5 "Conditions for
 * Generating a Double Fault").
 */
import { Vec } from './state.js';

export const ExceptionClass = { BENIGN: 0, CONTRIBUTORY: 1, PAGE_FAULT: 2, DOUBLE_FAULT: 3 } as const;
export type ExceptionClass = (typeof ExceptionClass)[keyof typeof ExceptionClass];

/** Table 6-4: #DE, #TS, #NP, #SS, #GP are contributory; #PF (and #VE) is the page-fault class; the rest is benign. */
export function exceptionClass(vector: number): ExceptionClass {
  switch (vector) {
    case Vec.DE:
    case Vec.TS:
    case Vec.NP:
    case Vec.SS:
    case Vec.GP:
      return ExceptionClass.CONTRIBUTORY;
    case Vec.PF:
    case Vec.VE:
      return ExceptionClass.PAGE_FAULT;
    case Vec.DF:
      return ExceptionClass.DOUBLE_FAULT;
    default:
      return ExceptionClass.BENIGN;
  }
}

/** What happens when `second` is detected while delivering `first` (Table 6-5 plus the #DF row). */
export const Combine = { SERIAL: 0, DOUBLE_FAULT: 1, TRIPLE_FAULT: 2 } as const;
export type Combine = (typeof Combine)[keyof typeof Combine];

export function combineExceptions(first: number, second: number): Combine {
  const a = exceptionClass(first);
  const b = exceptionClass(second);
  // A fault while delivering #DF shuts the processor down (6.15, "Interrupt 8", Exception Class; triple fault).
  if (a === ExceptionClass.DOUBLE_FAULT) return Combine.TRIPLE_FAULT;
  if (a === ExceptionClass.CONTRIBUTORY && b === ExceptionClass.CONTRIBUTORY) return Combine.DOUBLE_FAULT;
  if (a === ExceptionClass.PAGE_FAULT && (b === ExceptionClass.CONTRIBUTORY || b === ExceptionClass.PAGE_FAULT)) return Combine.DOUBLE_FAULT;
  return Combine.SERIAL;
}

/** Vectors that push an error code when delivered as exceptions (6.13; #AC, #CP too). Never for INT n or external interrupts. */
export function pushesErrorCode(vector: number): boolean {
  return vector === Vec.DF || vector === Vec.TS || vector === Vec.NP || vector === Vec.SS || vector === Vec.GP || vector === Vec.PF || vector === Vec.AC || vector === Vec.CP;
}

/** Faults restart the instruction (RIP of the faulting instruction); traps report the next one. */
export function isTrap(vector: number): boolean {
  return vector === Vec.BP || vector === Vec.OF;
}
