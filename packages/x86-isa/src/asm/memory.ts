/**
 * Memory operands. A memory operand is written with a size helper and its address components in
 * Intel order, so `dword(fs, ebx, esi.scale(4), 8)` is `DWORD PTR fs:[ebx+esi*4+8]`:
 *
 *     byte(ebx)                      [ebx]                    (byte)
 *     word(bx, si, 6)                [bx+si+6]                (16-bit addressing)
 *     dword(ebx, esi.scale(4), 8)    [ebx+esi*4+8]
 *     dword(esi.scale(4), 'table')   [esi*4+table]            (no base)
 *     qword(rip, 'gdtr')             [rip+gdtr]               (RIP-relative, 64-bit code)
 *     dword(fs, 0x30)                fs:[0x30]                (absolute, segment override)
 *     mem(eax)                       [eax]                    (unsized: lea, lgdt, invlpg, ...)
 *     dword({ base: ebx, index: esi, scale: 4, disp: 8 })     (object form)
 *
 * Positional arguments: an optional segment register first, then an optional base register, an
 * optional index (a second register, or `reg.scale(n)`), and an optional displacement last (a number,
 * bigint, label name or {@link Expr}). A displacement with a label always takes the full-width
 * (disp32/disp16) encoding; a constant one the shortest (none, disp8, disp32) as GNU as does.
 * With `rip` as base, a constant displacement is the raw rel32 and a label the target address.
 */
import { AsmError } from './errors.js';
import { Expr, type Value } from './expr.js';
import { Register, ScaledIndex, type Scale } from './registers.js';

/** Size of a memory operand in bits (48 = fword m16:32, 80 = tword m16:64 / 10-byte pseudo-descriptor, 128 = oword). */
export type MemSize = 8 | 16 | 32 | 48 | 64 | 80 | 128;

export interface MemSpec {
  base?: Register;
  index?: Register;
  scale?: Scale;
  disp?: Value;
  seg?: Register;
}

export type MemArg = Register | ScaledIndex | Value | null | undefined;

export class Mem {
  readonly size: MemSize | undefined;
  readonly seg: Register | undefined;
  readonly base: Register | undefined;
  readonly index: Register | undefined;
  readonly scale: Scale;
  readonly disp: Expr | undefined;
  /** @internal use the size helpers ({@link dword}, {@link mem}, ...). */
  constructor(size: MemSize | undefined, spec: MemSpec) {
    this.size = size;
    this.seg = spec.seg;
    this.base = spec.base;
    this.index = spec.index;
    this.scale = spec.scale ?? 1;
    this.disp = spec.disp === undefined ? undefined : Expr.of(spec.disp);
    if (this.seg && this.seg.kind !== 'seg') throw new AsmError('invalid-operands', `${this.seg.name} is not a segment register`);
    for (const r of [this.base, this.index]) {
      if (r && !((r.kind === 'gpr' && r.size >= 16) || r.kind === 'rip')) throw new AsmError('invalid-operands', `${r.name} cannot address memory`);
    }
    if (this.index?.kind === 'rip') throw new AsmError('invalid-operands', 'rip cannot be an index register');
    if (this.base?.kind === 'rip' && this.index) throw new AsmError('invalid-operands', 'a RIP-relative operand has no index register');
    if (this.base && this.index && this.base.size !== this.index.size && this.base.kind !== 'rip') {
      throw new AsmError('invalid-operands', `mixed address sizes: base ${this.base.name}, index ${this.index.name}`);
    }
  }
  /** The same address with another operand size. */
  withSize(size: MemSize | undefined): Mem {
    return new Mem(size, { base: this.base, index: this.index, scale: this.scale, disp: this.disp, seg: this.seg });
  }
  /** The same operand with a segment override. */
  withSeg(seg: Register): Mem {
    return new Mem(this.size, { base: this.base, index: this.index, scale: this.scale, disp: this.disp, seg });
  }
  /** The same operand with another displacement expression (label resolution). */
  withDisp(disp: Expr | undefined): Mem {
    return new Mem(this.size, { base: this.base, index: this.index, scale: this.scale, disp, seg: this.seg });
  }
  /** Only a displacement (no base, no index): an absolute address (moffs candidate). */
  get isAbsolute(): boolean {
    return !this.base && !this.index;
  }
}

function isValue(a: unknown): a is Value {
  return typeof a === 'number' || typeof a === 'bigint' || typeof a === 'string' || a instanceof Expr;
}

function parse(size: MemSize | undefined, args: readonly (MemArg | MemSpec)[]): Mem {
  if (args.length === 1 && args[0] !== null && typeof args[0] === 'object' && !(args[0] instanceof Register) && !(args[0] instanceof ScaledIndex) && !(args[0] instanceof Expr)) {
    return new Mem(size, args[0]);
  }
  const spec: MemSpec = {};
  let stage = 0; // 0: seg allowed, 1: base allowed, 2: index allowed, 3: disp allowed, 4: done
  for (const a of args as readonly MemArg[]) {
    if (a === null || a === undefined) {
      // explicit "no base" / "no index" placeholder
      if (stage <= 1) stage = 2;
      else if (stage === 2) stage = 3;
      continue;
    }
    if (a instanceof Register && a.kind === 'seg') {
      if (stage > 0) throw new AsmError('invalid-operands', `segment register ${a.name} must be the first component of a memory operand`);
      spec.seg = a;
      stage = 1;
    } else if (a instanceof Register) {
      if (stage <= 1) { spec.base = a; stage = 2; }
      else if (stage === 2) { spec.index = a; spec.scale = 1; stage = 3; }
      else throw new AsmError('invalid-operands', `too many registers in memory operand (at ${a.name})`);
    } else if (a instanceof ScaledIndex) {
      if (stage > 2) throw new AsmError('invalid-operands', `index ${a.reg.name} after the displacement`);
      spec.index = a.reg;
      spec.scale = a.scale;
      stage = 3;
    } else if (isValue(a)) {
      if (stage > 3) throw new AsmError('invalid-operands', 'a memory operand has one displacement');
      spec.disp = a;
      stage = 4;
    } else {
      throw new AsmError('invalid-operands', `bad memory operand component ${String(a)}`);
    }
  }
  return new Mem(size, spec);
}

/** An unsized memory operand (for `lea`, `lgdt`, `invlpg`, `fxsave`, ... or where a register gives the size). */
export function mem(...args: (MemArg | MemSpec)[]): Mem { return parse(undefined, args); }
/** A byte memory operand: `BYTE PTR [...]`. */
export function byte(...args: (MemArg | MemSpec)[]): Mem { return parse(8, args); }
/** A word memory operand: `WORD PTR [...]`. */
export function word(...args: (MemArg | MemSpec)[]): Mem { return parse(16, args); }
/** A dword memory operand: `DWORD PTR [...]` (also m16:16 far pointers in 16-bit code). */
export function dword(...args: (MemArg | MemSpec)[]): Mem { return parse(32, args); }
/** A 6-byte memory operand: `FWORD PTR [...]` (m16:32 far pointer, 32-bit pseudo-descriptor). */
export function fword(...args: (MemArg | MemSpec)[]): Mem { return parse(48, args); }
/** A qword memory operand: `QWORD PTR [...]`. */
export function qword(...args: (MemArg | MemSpec)[]): Mem { return parse(64, args); }
/** A 10-byte memory operand: `TBYTE PTR [...]` (m16:64 far pointer, 64-bit pseudo-descriptor). */
export function tword(...args: (MemArg | MemSpec)[]): Mem { return parse(80, args); }
/** A 16-byte memory operand: `XMMWORD PTR [...]` (cmpxchg16b, invept/invvpid descriptors). */
export function oword(...args: (MemArg | MemSpec)[]): Mem { return parse(128, args); }
