/**
 * Errors of the assembler DSL. Every problem is an {@link AsmError}: an `InvalidArgumentError`
 * (stable code `LL_INVALID_ARGUMENT`) with a finer, stable {@link AsmErrorKind} and the offending
 * instruction text and label, when there is one.
 */
import { InvalidArgumentError } from '@latelaunch/kernel';

/** What went wrong; stable, meant to be switched on (the message text is not). */
export type AsmErrorKind =
  /** The operand combination cannot be encoded (in this mode). */
  | 'invalid-operands'
  /** A referenced label (or `equ` symbol) is never defined. */
  | 'undefined-label'
  /** A label is defined twice. */
  | 'duplicate-label'
  /** A value (immediate, displacement, branch distance, data item) does not fit its field. */
  | 'out-of-range'
  /** A directive got a bad argument (alignment not a power of two, backwards `org`, ...). */
  | 'invalid-directive'
  /** An expression cannot be evaluated (division by zero, cyclic `equ`). */
  | 'expression';

export class AsmError extends InvalidArgumentError {
  readonly kind: AsmErrorKind;
  /** Intel-syntax text of the instruction or directive concerned, if any. */
  readonly instruction: string | undefined;
  /** The label concerned, if any. */
  readonly label: string | undefined;
  constructor(kind: AsmErrorKind, message: string, details: { instruction?: string; label?: string } = {}) {
    super(message);
    this.kind = kind;
    this.instruction = details.instruction;
    this.label = details.label;
  }
}
