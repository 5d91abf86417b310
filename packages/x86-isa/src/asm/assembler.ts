/**
 * The assembler DSL: {@link Assembler} has one method per instruction (Intel operand order,
 * destination first) on top of the directives of {@link AssemblerCore}. Encodings are the ones GNU
 * as chooses by default (no `-O`): sign-extended imm8 forms, accumulator short forms, `mov r, imm`
 * B8+r, INC/DEC 40+r outside 64-bit code, short branches when the target fits (relaxed), and so on.
 *
 * ```ts
 * const a = new Assembler({ bits: 32, org: 0x100000 });
 * a.label('start');
 * a.mov(eax, dword(ebx, esi.scale(4), 8));
 * a.cmp(eax, 5).jne('start');
 * const { bytes, symbols } = a.assemble();
 * ```
 */
import { nativeServiceBytes } from '../decode/index.js';
import { AssemblerCore, Ctx, formatBranchTarget, isGpr, isImm, isMem, isReg, signExtend, type AssemblerOptions, type BranchSize, type EncSpec, type AsmOperand, type ROp, type Range } from './core.js';
import { Expr, type Value } from './expr.js';
import { formatImm, formatMem, formatNumber, type FormatOptions } from './format.js';
import { Mem } from './memory.js';
import { al, cl, cs, dx, Register } from './registers.js';

/** Condition codes (all the Intel aliases). */
export const CONDITIONS = {
  o: 0, no: 1, b: 2, c: 2, nae: 2, ae: 3, nb: 3, nc: 3, e: 4, z: 4, ne: 5, nz: 5, be: 6, na: 6, a: 7, nbe: 7,
  s: 8, ns: 9, p: 10, pe: 10, np: 11, po: 11, l: 12, nge: 12, ge: 13, nl: 13, le: 14, ng: 14, g: 15, nle: 15,
} as const;
export type Condition = keyof typeof CONDITIONS;

/** A branch target: a label name, an expression, or an absolute address. */
export type Target = Value;

/**
 * Options of the string instructions: a segment override for the source (`ds:[esi]` by default)
 * and the address size (which of si/esi/rsi, di/edi/rdi and cx/ecx/rcx are used).
 */
export interface StringOptions {
  seg?: Register;
  addr?: 16 | 32 | 64;
}

const ALU = { add: 0, or: 1, adc: 2, sbb: 3, and: 4, sub: 5, xor: 6, cmp: 7 } as const;
const SHIFT = { rol: 0, ror: 1, rcl: 2, rcr: 3, shl: 4, sal: 4, shr: 5, sar: 7 } as const;

/** Immediate field for an operand size: imm8/16/32, and imm32 sign-extended for 64-bit operands. */
function immField(size: number): { size: 1 | 2 | 4; range: Range } {
  return size === 8 ? { size: 1, range: 'us' } : size === 16 ? { size: 2, range: 'us' } : size === 32 ? { size: 4, range: 'us' } : { size: 4, range: 's' };
}

export class Assembler extends AssemblerCore {
  constructor(options: AssemblerOptions = {}) {
    super(options);
  }

  // ================================================================ helpers

  protected override ctx(mnem: string, ...ops: AsmOperand[]): Ctx {
    const c = super.ctx(mnem, ...ops);
    const regs: (Register | undefined)[] = [];
    for (const o of c.ops) {
      if (o instanceof Register) regs.push(o);
      else if (o instanceof Mem) {
        regs.push(o.base, o.index);
        this.addrSize(c, o);
      }
    }
    this.checkRegs(c, regs);
    return c;
  }

  /** AsmOperand size of reg/mem operands; fails on a mismatch, or when `required` and unknown. */
  private size(c: Ctx, ops: ROp[], required = true): number {
    let size: number | undefined;
    for (const o of ops) {
      const s = o instanceof Register && o.kind === 'gpr' ? o.size : o instanceof Mem ? o.size : undefined;
      if (s === undefined) continue;
      if (size !== undefined && s !== size) c.fail(`operand size mismatch (${size} vs ${s} bits)`);
      size = s;
    }
    if (size === undefined) {
      if (required) c.fail('operand size unknown: use byte(), word(), dword() or qword()');
      return 0;
    }
    if (size !== 8 && size !== 16 && size !== 32 && size !== 64) c.fail(`a ${size}-bit operand is not allowed here`);
    return size;
  }

  /** The constant value of an immediate checked against an operand size, sign-extended (undefined if symbolic). */
  private immConst(c: Ctx, e: Expr, size: number): bigint | undefined {
    if (!e.isConstant) return undefined;
    let v = e.constant();
    if (size === 64 && v >= 1n << 63n && v < 1n << 64n) v -= 1n << 64n;
    const f = immField(size);
    const bytes = size === 64 ? 4 : f.size;
    const half = 1n << BigInt(bytes * 8 - 1);
    const ok = f.range === 's' ? v >= -half && v < half : v >= -half && v < 2n * half;
    if (!ok) c.fail(`immediate ${formatNumber(v)} does not fit ${size === 64 ? 'a sign-extended 32-bit' : `an ${size}-bit`} immediate`, 'out-of-range');
    return size === 64 ? v : signExtend(v, size);
  }

  /** The full-width immediate field for an operand size (64-bit values normalised to imm32s). */
  private immValue(c: Ctx, e: Expr, size: number): { value: Expr; size: 1 | 2 | 4; range: Range } {
    const v = this.immConst(c, e, size);
    return { value: v === undefined || size !== 64 ? e : Expr.of(v), ...immField(size) };
  }

  /** Whether a (constant) immediate fits the sign-extended imm8 form for an operand size. */
  private simm8(c: Ctx, e: Expr, size: number): bigint | undefined {
    const v = this.immConst(c, e, size);
    return v !== undefined && v >= -128n && v <= 127n ? v : undefined;
  }

  private rm(c: Ctx, o: ROp, what = 'operand'): Register | Mem {
    if (isGpr(o) || isMem(o)) return o;
    return c.fail(`${what} must be a general-purpose register or memory`);
  }

  private gpr(c: Ctx, o: ROp, what = 'operand'): Register {
    if (isGpr(o)) return o;
    return c.fail(`${what} must be a general-purpose register`);
  }

  private imm(c: Ctx, o: ROp, what = 'operand'): Expr {
    if (isImm(o)) return o;
    return c.fail(`${what} must be an immediate`);
  }

  private mem(c: Ctx, o: ROp, sizes?: readonly (number | undefined)[]): Mem {
    if (!isMem(o)) c.fail('operand must be memory');
    if (sizes && !sizes.includes(o.size)) c.fail(`memory operand size must be ${sizes.map((s) => (s === undefined ? 'unsized' : `${s}-bit`)).join(' or ')}`);
    return o;
  }

  private zero(c: Ctx, opcode: number[], extra: Partial<EncSpec> = {}): this {
    return this.encode(c, { opcode, ...extra });
  }

  private only64(c: Ctx): void {
    if (this.mode !== 64) c.fail(`only available in 64-bit code`);
  }

  private not64(c: Ctx): void {
    if (this.mode === 64) c.fail(`not available in 64-bit code`);
  }

  /** Default (near) operand size of stack operations and branches in the current mode. */
  private get stackSize(): 16 | 32 | 64 {
    return this.mode;
  }

  // ================================================================ data movement

  /** MOV in every form: r/m,r · r,r/m · r,imm (B8+r; in 64-bit code C7 /0 for sign-extendable values) · r/m,imm · moffs (16/32-bit code) · Sreg · CRn · DRn. */
  mov(dst: AsmOperand, src: AsmOperand): this {
    const c = this.ctx('mov', dst, src);
    const [d, s] = c.ops as [ROp, ROp];
    if (isReg(d) && d.kind === 'seg') {
      if (d === cs) c.fail('cs cannot be loaded with mov (use a far jump)');
      if (isGpr(s) && s.size !== 8) return this.encode(c, { opcode: [0x8e], reg: d.num, rm: s });
      if (isMem(s) && (s.size === undefined || s.size === 16)) return this.encode(c, { opcode: [0x8e], reg: d.num, rm: s });
      c.fail('a segment register is loaded from a 16/32/64-bit register or a word in memory');
    }
    if (isReg(s) && s.kind === 'seg') {
      if (isGpr(d) && d.size !== 8) return this.encode(c, { opcode: [0x8c], reg: s.num, rm: d, size: d.size === 64 ? undefined : d.size });
      if (isMem(d) && (d.size === undefined || d.size === 16)) return this.encode(c, { opcode: [0x8c], reg: s.num, rm: d });
      c.fail('a segment register is stored to a register or a word in memory');
    }
    const ctl = (r: ROp): r is Register => isReg(r) && (r.kind === 'cr' || r.kind === 'dr');
    if (ctl(d) || ctl(s)) {
      const creg = (ctl(d) ? d : s) as Register;
      const g = ctl(d) ? s : d;
      const want = this.mode === 64 ? 64 : 32;
      if (!isGpr(g) || g.size !== want) c.fail(`${creg.name} moves to/from a ${want}-bit general-purpose register`);
      const op = creg.kind === 'cr' ? (ctl(d) ? 0x22 : 0x20) : ctl(d) ? 0x23 : 0x21;
      return this.encode(c, { opcode: [0x0f, op], reg: creg, rm: g as Register });
    }
    if (isGpr(d) && isGpr(s)) {
      const size = this.size(c, [d, s]);
      return this.encode(c, { opcode: [size === 8 ? 0x88 : 0x89], reg: s, rm: d, size });
    }
    if (isMem(d) && isGpr(s)) {
      const size = this.size(c, [d, s]);
      if (s.num === 0 && d.isAbsolute && this.mode !== 64 && this.addrSize(c, d) === this.mode) {
        return this.encode(c, { opcode: [size === 8 ? 0xa2 : 0xa3], moffs: { mem: d, size: this.mode === 16 ? 2 : 4 }, size, regs: [s] });
      }
      return this.encode(c, { opcode: [size === 8 ? 0x88 : 0x89], reg: s, rm: d, size });
    }
    if (isGpr(d) && isMem(s)) {
      const size = this.size(c, [d, s]);
      if (d.num === 0 && s.isAbsolute && this.mode !== 64 && this.addrSize(c, s) === this.mode) {
        return this.encode(c, { opcode: [size === 8 ? 0xa0 : 0xa1], moffs: { mem: s, size: this.mode === 16 ? 2 : 4 }, size, regs: [d] });
      }
      return this.encode(c, { opcode: [size === 8 ? 0x8a : 0x8b], reg: d, rm: s, size });
    }
    if (isGpr(d) && isImm(s)) {
      const size = d.size;
      if (size === 8) return this.encode(c, { opcode: [0xb0], opreg: d, imms: [{ value: s, ...immField(8) }] });
      if (size === 64) {
        const v = s.isConstant ? BigInt.asIntN(64, s.constant()) : undefined;
        if (v === undefined || (v >= -(1n << 31n) && v < 1n << 31n)) {
          if (s.isConstant && (s.constant() < -(1n << 63n) || s.constant() >= 1n << 64n)) c.fail('immediate does not fit 64 bits', 'out-of-range');
          return this.encode(c, { opcode: [0xc7], reg: 0, rm: d, size, imms: [{ value: v === undefined ? s : Expr.of(v), size: 4, range: 's' }] });
        }
        return this.encode(c, { opcode: [0xb8], opreg: d, size, imms: [{ value: s, size: 8, range: 'us' }] });
      }
      this.immConst(c, s, size);
      return this.encode(c, { opcode: [0xb8], opreg: d, size, imms: [{ value: s, ...immField(size) }] });
    }
    if (isMem(d) && isImm(s)) {
      const size = this.size(c, [d]);
      return this.encode(c, { opcode: [size === 8 ? 0xc6 : 0xc7], reg: 0, rm: d, size, imms: [this.immValue(c, s, size)] });
    }
    return c.fail('invalid operand combination');
  }

  /** MOVABS (64-bit code): `mov r64, imm64` (B8+r io) or the accumulator with a 64-bit absolute address (A0-A3 moffs64). */
  movabs(dst: AsmOperand, src: AsmOperand): this {
    const c = this.ctx('movabs', dst, src);
    this.only64(c);
    const [d, s] = c.ops as [ROp, ROp];
    if (isGpr(d) && isImm(s)) {
      if (d.size !== 64) c.fail('movabs with an immediate needs a 64-bit register');
      return this.encode(c, { opcode: [0xb8], opreg: d, size: 64, imms: [{ value: s, size: 8, range: 'us' }] });
    }
    if (isGpr(d) && isMem(s) && d.num === 0 && s.isAbsolute) {
      const size = this.size(c, [d, s]);
      return this.encode(c, { opcode: [size === 8 ? 0xa0 : 0xa1], moffs: { mem: s, size: 8 }, size, regs: [d] });
    }
    if (isMem(d) && isGpr(s) && s.num === 0 && d.isAbsolute) {
      const size = this.size(c, [d, s]);
      return this.encode(c, { opcode: [size === 8 ? 0xa2 : 0xa3], moffs: { mem: d, size: 8 }, size, regs: [s] });
    }
    return c.fail('movabs takes r64, imm64 or the accumulator and an absolute address');
  }

  private movx(mn: string, op: number, dst: AsmOperand, src: AsmOperand): this {
    const c = this.ctx(mn, dst, src);
    const d = this.gpr(c, c.ops[0]!, 'destination');
    const s = this.rm(c, c.ops[1]!, 'source');
    const ss = s.size;
    if (ss !== 8 && ss !== 16) return c.fail('source must be a byte or word (register or sized memory)');
    if (d.size <= ss) c.fail('destination must be wider than the source');
    return this.encode(c, { opcode: [0x0f, op | (ss === 16 ? 1 : 0)], reg: d, rm: s, size: d.size });
  }
  /** MOVZX r16/32/64, r/m8 · r32/64, r/m16. */
  movzx(dst: AsmOperand, src: AsmOperand): this {
    return this.movx('movzx', 0xb6, dst, src);
  }
  /** MOVSX r16/32/64, r/m8 · r32/64, r/m16. */
  movsx(dst: AsmOperand, src: AsmOperand): this {
    return this.movx('movsx', 0xbe, dst, src);
  }
  /** MOVSXD r64, r/m32 (64-bit code). */
  movsxd(dst: AsmOperand, src: AsmOperand): this {
    const c = this.ctx('movsxd', dst, src);
    this.only64(c);
    const d = this.gpr(c, c.ops[0]!, 'destination');
    const s = this.rm(c, c.ops[1]!, 'source');
    if (d.size !== 64 || s.size !== 32) c.fail('movsxd takes r64, r/m32');
    return this.encode(c, { opcode: [0x63], reg: d, rm: s, size: 64 });
  }
  /** LEA r16/32/64, m. */
  lea(dst: AsmOperand, src: AsmOperand): this {
    const c = this.ctx('lea', dst, src);
    const d = this.gpr(c, c.ops[0]!, 'destination');
    const s = this.mem(c, c.ops[1]!);
    if (d.size === 8) c.fail('lea needs a 16/32/64-bit destination');
    return this.encode(c, { opcode: [0x8d], reg: d, rm: s, size: d.size });
  }
  /** XCHG: 90+r with the accumulator, otherwise 86/87 /r. */
  xchg(a: AsmOperand, b: AsmOperand): this {
    const c = this.ctx('xchg', a, b);
    const [x, y] = c.ops as [ROp, ROp];
    if (isGpr(x) && isGpr(y)) {
      const size = this.size(c, [x, y]);
      if (size === 64 && x.num === 0 && y.num === 0) return this.encode(c, { opcode: [0x90], regs: [x, y] }); // GNU as: plain NOP
      if (size !== 8 && (x.num === 0 || y.num === 0) && !(this.mode === 64 && size === 32 && x.num === 0 && y.num === 0)) {
        const other = x.num === 0 ? y : x;
        return this.encode(c, { opcode: [0x90], opreg: other, size, regs: [x, y] });
      }
      return this.encode(c, { opcode: [size === 8 ? 0x86 : 0x87], reg: y, rm: x, size });
    }
    if (isMem(x) && isGpr(y)) {
      const size = this.size(c, [x, y]);
      return this.encode(c, { opcode: [size === 8 ? 0x86 : 0x87], reg: y, rm: x, size });
    }
    if (isGpr(x) && isMem(y)) {
      const size = this.size(c, [x, y]);
      return this.encode(c, { opcode: [size === 8 ? 0x86 : 0x87], reg: x, rm: y, size });
    }
    return c.fail('xchg takes two registers or a register and memory');
  }

  // ================================================================ stack

  /**
   * PUSH r16/32/64 · Sreg · m · imm (6A ib when the value fits, else 68 iw/id). `size` selects the
   * operand size of an immediate push (default: the mode's stack width).
   */
  push(src: AsmOperand, size?: 16 | 32 | 64): this {
    const c = this.ctx('push', src);
    const s = c.ops[0]!;
    if (isReg(s) && s.kind === 'seg') {
      if (s.name === 'fs' || s.name === 'gs') return this.zero(c, [0x0f, s.name === 'fs' ? 0xa0 : 0xa8]);
      this.not64(c);
      return this.zero(c, [[0x06, 0x0e, 0x16, 0x1e][s.num]!]);
    }
    if (isGpr(s)) {
      this.stackOperand(c, s.size);
      return this.encode(c, { opcode: [0x50], opreg: s, size: s.size, default64: true });
    }
    if (isMem(s)) {
      const sz = this.size(c, [s]);
      this.stackOperand(c, sz);
      return this.encode(c, { opcode: [0xff], reg: 6, rm: s, size: sz, default64: true });
    }
    const sz = size ?? this.stackSize;
    this.stackOperand(c, sz);
    const mn = sz === this.stackSize ? 'push' : sz === 16 ? 'pushw' : sz === 32 ? 'pushd' : 'pushq';
    const text = (o: FormatOptions) => `${mn} ${formatImm(s as Expr, o)}`;
    const v = this.simm8(c, s as Expr, sz);
    if (v !== undefined) return this.encode(c, { opcode: [0x6a], size: sz, default64: true, imms: [{ value: Expr.of(v), size: 1, range: 's' }], text });
    return this.encode(c, { opcode: [0x68], size: sz, default64: true, imms: [this.immValue(c, s as Expr, sz)], text });
  }

  /** POP r16/32/64 · Sreg (not cs) · m. */
  pop(dst: AsmOperand): this {
    const c = this.ctx('pop', dst);
    const d = c.ops[0]!;
    if (isReg(d) && d.kind === 'seg') {
      if (d === cs) c.fail('cs cannot be popped');
      if (d.name === 'fs' || d.name === 'gs') return this.zero(c, [0x0f, d.name === 'fs' ? 0xa1 : 0xa9]);
      this.not64(c);
      return this.zero(c, [[0x07, 0, 0x17, 0x1f][d.num]!]);
    }
    if (isGpr(d)) {
      this.stackOperand(c, d.size);
      return this.encode(c, { opcode: [0x58], opreg: d, size: d.size, default64: true });
    }
    if (isMem(d)) {
      const sz = this.size(c, [d]);
      this.stackOperand(c, sz);
      return this.encode(c, { opcode: [0x8f], reg: 0, rm: d, size: sz, default64: true });
    }
    return c.fail('pop takes a register, a segment register or memory');
  }

  private stackOperand(c: Ctx, size: number): void {
    const ok = this.mode === 64 ? size === 64 || size === 16 : size === 16 || size === 32;
    if (!ok) c.fail(`a ${size}-bit stack operand is not available in ${this.mode}-bit code`);
  }

  private flagsOp(mn: string, op: number, size: 16 | 32 | 64 | undefined): this {
    const c = this.ctx(mn);
    const sz = size ?? this.stackSize;
    this.stackOperand(c, sz);
    return this.encode(c, { opcode: [op], size: sz, default64: true });
  }
  /** PUSHF with the mode's operand size. */
  pushf(): this { return this.flagsOp('pushf', 0x9c, undefined); }
  pushfw(): this { return this.flagsOp('pushfw', 0x9c, 16); }
  pushfd(): this { return this.flagsOp('pushfd', 0x9c, 32); }
  pushfq(): this { return this.flagsOp('pushfq', 0x9c, 64); }
  /** POPF with the mode's operand size. */
  popf(): this { return this.flagsOp('popf', 0x9d, undefined); }
  popfw(): this { return this.flagsOp('popfw', 0x9d, 16); }
  popfd(): this { return this.flagsOp('popfd', 0x9d, 32); }
  popfq(): this { return this.flagsOp('popfq', 0x9d, 64); }

  private pushaOp(mn: string, op: number, size: 16 | 32 | undefined): this {
    const c = this.ctx(mn);
    this.not64(c);
    return this.encode(c, { opcode: [op], size: size ?? this.mode });
  }
  /** PUSHA/PUSHAD (16/32-bit code). */
  pusha(): this { return this.pushaOp('pusha', 0x60, undefined); }
  pushaw(): this { return this.pushaOp('pushaw', 0x60, 16); }
  pushad(): this { return this.pushaOp('pushad', 0x60, 32); }
  popa(): this { return this.pushaOp('popa', 0x61, undefined); }
  popaw(): this { return this.pushaOp('popaw', 0x61, 16); }
  popad(): this { return this.pushaOp('popad', 0x61, 32); }

  /** ENTER imm16, imm8. */
  enter(size: Value, level: Value = 0): this {
    const c = this.ctx('enter', size, level);
    return this.encode(c, { opcode: [0xc8], imms: [{ value: this.imm(c, c.ops[0]!), size: 2, range: 'u' }, { value: this.imm(c, c.ops[1]!), size: 1, range: 'u' }] });
  }
  /** LEAVE. */
  leave(): this { return this.zero(this.ctx('leave'), [0xc9]); }

  // ================================================================ arithmetic and logic

  private alu(mn: keyof typeof ALU, dst: AsmOperand, src: AsmOperand): this {
    const ext = ALU[mn];
    const c = this.ctx(mn, dst, src);
    const [d, s] = c.ops as [ROp, ROp];
    if (isImm(s)) {
      const rm = this.rm(c, d, 'destination');
      const size = this.size(c, [rm]);
      if (size === 8) {
        this.immConst(c, s, 8);
        if (rm === al) return this.encode(c, { opcode: [(ext << 3) | 4], imms: [{ value: s, size: 1, range: 'us' }], regs: [al] });
        return this.encode(c, { opcode: [0x80], reg: ext, rm, imms: [{ value: s, size: 1, range: 'us' }] });
      }
      const v = this.simm8(c, s, size);
      if (v !== undefined) return this.encode(c, { opcode: [0x83], reg: ext, rm, size, imms: [{ value: Expr.of(v), size: 1, range: 's' }] });
      const full = this.immValue(c, s, size);
      if (isGpr(rm) && rm.num === 0) return this.encode(c, { opcode: [(ext << 3) | 5], size, imms: [full], regs: [rm] });
      return this.encode(c, { opcode: [0x81], reg: ext, rm, size, imms: [full] });
    }
    if (isGpr(s) && (isGpr(d) || isMem(d))) {
      const size = this.size(c, [d, s]);
      return this.encode(c, { opcode: [(ext << 3) | (size === 8 ? 0 : 1)], reg: s, rm: d, size });
    }
    if (isGpr(d) && isMem(s)) {
      const size = this.size(c, [d, s]);
      return this.encode(c, { opcode: [(ext << 3) | (size === 8 ? 2 : 3)], reg: d, rm: s, size });
    }
    return c.fail('invalid operand combination');
  }
  add(dst: AsmOperand, src: AsmOperand): this { return this.alu('add', dst, src); }
  or(dst: AsmOperand, src: AsmOperand): this { return this.alu('or', dst, src); }
  adc(dst: AsmOperand, src: AsmOperand): this { return this.alu('adc', dst, src); }
  sbb(dst: AsmOperand, src: AsmOperand): this { return this.alu('sbb', dst, src); }
  and(dst: AsmOperand, src: AsmOperand): this { return this.alu('and', dst, src); }
  sub(dst: AsmOperand, src: AsmOperand): this { return this.alu('sub', dst, src); }
  xor(dst: AsmOperand, src: AsmOperand): this { return this.alu('xor', dst, src); }
  cmp(dst: AsmOperand, src: AsmOperand): this { return this.alu('cmp', dst, src); }

  /** TEST r/m, r · r, m · r/m, imm (A8/A9 with the accumulator; no sign-extended form). */
  test(dst: AsmOperand, src: AsmOperand): this {
    const c = this.ctx('test', dst, src);
    const [d, s] = c.ops as [ROp, ROp];
    if (isImm(s)) {
      const rm = this.rm(c, d, 'destination');
      const size = this.size(c, [rm]);
      const full = this.immValue(c, s, size);
      if (isGpr(rm) && rm.num === 0) return this.encode(c, { opcode: [size === 8 ? 0xa8 : 0xa9], size, imms: [full], regs: [rm] });
      return this.encode(c, { opcode: [size === 8 ? 0xf6 : 0xf7], reg: 0, rm, size, imms: [full] });
    }
    if (isGpr(s) && (isGpr(d) || isMem(d))) {
      const size = this.size(c, [d, s]);
      return this.encode(c, { opcode: [size === 8 ? 0x84 : 0x85], reg: s, rm: d, size });
    }
    if (isMem(s) && isGpr(d)) {
      const size = this.size(c, [d, s]);
      return this.encode(c, { opcode: [size === 8 ? 0x84 : 0x85], reg: d, rm: s, size });
    }
    return c.fail('invalid operand combination');
  }

  private incdec(mn: 'inc' | 'dec', ext: 0 | 1, o: AsmOperand): this {
    const c = this.ctx(mn, o);
    const rm = this.rm(c, c.ops[0]!);
    const size = this.size(c, [rm]);
    if (isGpr(rm) && size !== 8 && this.mode !== 64) return this.encode(c, { opcode: [0x40 | (ext << 3)], opreg: rm, size });
    return this.encode(c, { opcode: [size === 8 ? 0xfe : 0xff], reg: ext, rm, size });
  }
  /** INC (40+r outside 64-bit code). */
  inc(o: AsmOperand): this { return this.incdec('inc', 0, o); }
  /** DEC (48+r outside 64-bit code). */
  dec(o: AsmOperand): this { return this.incdec('dec', 1, o); }

  private group3(mn: string, ext: number, o: AsmOperand): this {
    const c = this.ctx(mn, o);
    const rm = this.rm(c, c.ops[0]!);
    const size = this.size(c, [rm]);
    return this.encode(c, { opcode: [size === 8 ? 0xf6 : 0xf7], reg: ext, rm, size });
  }
  not(o: AsmOperand): this { return this.group3('not', 2, o); }
  neg(o: AsmOperand): this { return this.group3('neg', 3, o); }
  mul(o: AsmOperand): this { return this.group3('mul', 4, o); }
  div(o: AsmOperand): this { return this.group3('div', 6, o); }
  idiv(o: AsmOperand): this { return this.group3('idiv', 7, o); }

  /** IMUL r/m (one operand) · r, r/m · r, imm · r, r/m, imm (6B ib when the value fits, else 69). */
  imul(a: AsmOperand, b?: AsmOperand, imm?: AsmOperand): this {
    if (b === undefined) return this.group3('imul', 5, a);
    const c = imm === undefined ? this.ctx('imul', a, b) : this.ctx('imul', a, b, imm);
    const d = this.gpr(c, c.ops[0]!, 'destination');
    if (d.size === 8) c.fail('two/three-operand imul needs a 16/32/64-bit destination');
    let src: Register | Mem;
    let value: Expr | undefined;
    if (imm === undefined) {
      if (isImm(c.ops[1]!)) {
        src = d;
        value = c.ops[1] as Expr;
      } else {
        src = this.rm(c, c.ops[1]!, 'source');
        const size = this.size(c, [d, src]);
        return this.encode(c, { opcode: [0x0f, 0xaf], reg: d, rm: src, size });
      }
    } else {
      src = this.rm(c, c.ops[1]!, 'source');
      value = this.imm(c, c.ops[2]!, 'third operand');
    }
    const size = this.size(c, [d, src]);
    const v = this.simm8(c, value, size);
    if (v !== undefined) return this.encode(c, { opcode: [0x6b], reg: d, rm: src, size, imms: [{ value: Expr.of(v), size: 1, range: 's' }] });
    return this.encode(c, { opcode: [0x69], reg: d, rm: src, size, imms: [this.immValue(c, value, size)] });
  }

  private shift(mn: keyof typeof SHIFT, dst: AsmOperand, count: AsmOperand): this {
    const ext = SHIFT[mn];
    const c = this.ctx(mn, dst, count);
    const rm = this.rm(c, c.ops[0]!, 'destination');
    const size = this.size(c, [rm]);
    const n = c.ops[1]!;
    const w = size === 8 ? 0 : 1;
    if (n === cl) return this.encode(c, { opcode: [0xd2 | w], reg: ext, rm, size });
    const e = this.imm(c, n, 'count (an immediate or cl)');
    if (e.isConstant && e.constant() === 1n) return this.encode(c, { opcode: [0xd0 | w], reg: ext, rm, size });
    return this.encode(c, { opcode: [0xc0 | w], reg: ext, rm, size, imms: [{ value: e, size: 1, range: 'us' }] });
  }
  rol(dst: AsmOperand, count: AsmOperand): this { return this.shift('rol', dst, count); }
  ror(dst: AsmOperand, count: AsmOperand): this { return this.shift('ror', dst, count); }
  rcl(dst: AsmOperand, count: AsmOperand): this { return this.shift('rcl', dst, count); }
  rcr(dst: AsmOperand, count: AsmOperand): this { return this.shift('rcr', dst, count); }
  shl(dst: AsmOperand, count: AsmOperand): this { return this.shift('shl', dst, count); }
  sal(dst: AsmOperand, count: AsmOperand): this { return this.shift('sal', dst, count); }
  shr(dst: AsmOperand, count: AsmOperand): this { return this.shift('shr', dst, count); }
  sar(dst: AsmOperand, count: AsmOperand): this { return this.shift('sar', dst, count); }

  private dshift(mn: 'shld' | 'shrd', op: number, dst: AsmOperand, src: AsmOperand, count: AsmOperand): this {
    const c = this.ctx(mn, dst, src, count);
    const rm = this.rm(c, c.ops[0]!, 'destination');
    const r = this.gpr(c, c.ops[1]!, 'source');
    const size = this.size(c, [rm, r]);
    if (size === 8) c.fail('needs 16/32/64-bit operands');
    if (c.ops[2] === cl) return this.encode(c, { opcode: [0x0f, op | 1], reg: r, rm, size });
    return this.encode(c, { opcode: [0x0f, op], reg: r, rm, size, imms: [{ value: this.imm(c, c.ops[2]!, 'count'), size: 1, range: 'us' }] });
  }
  /** SHLD r/m, r, imm8|cl. */
  shld(dst: AsmOperand, src: AsmOperand, count: AsmOperand): this { return this.dshift('shld', 0xa4, dst, src, count); }
  /** SHRD r/m, r, imm8|cl. */
  shrd(dst: AsmOperand, src: AsmOperand, count: AsmOperand): this { return this.dshift('shrd', 0xac, dst, src, count); }

  private bitop(mn: string, ext: number, rr: number, dst: AsmOperand, bit: AsmOperand): this {
    const c = this.ctx(mn, dst, bit);
    const rm = this.rm(c, c.ops[0]!, 'destination');
    const b = c.ops[1]!;
    if (isImm(b)) {
      const size = this.size(c, [rm]);
      if (size === 8) c.fail('needs a 16/32/64-bit operand');
      return this.encode(c, { opcode: [0x0f, 0xba], reg: ext, rm, size, imms: [{ value: b, size: 1, range: 'us' }] });
    }
    const r = this.gpr(c, b, 'bit offset');
    const size = this.size(c, [rm, r]);
    if (size === 8) c.fail('needs 16/32/64-bit operands');
    return this.encode(c, { opcode: [0x0f, rr], reg: r, rm, size });
  }
  bt(dst: AsmOperand, bit: AsmOperand): this { return this.bitop('bt', 4, 0xa3, dst, bit); }
  bts(dst: AsmOperand, bit: AsmOperand): this { return this.bitop('bts', 5, 0xab, dst, bit); }
  btr(dst: AsmOperand, bit: AsmOperand): this { return this.bitop('btr', 6, 0xb3, dst, bit); }
  btc(dst: AsmOperand, bit: AsmOperand): this { return this.bitop('btc', 7, 0xbb, dst, bit); }

  private bitscan(mn: string, op: number, dst: AsmOperand, src: AsmOperand): this {
    const c = this.ctx(mn, dst, src);
    const d = this.gpr(c, c.ops[0]!, 'destination');
    const s = this.rm(c, c.ops[1]!, 'source');
    const size = this.size(c, [d, s]);
    if (size === 8) c.fail('needs 16/32/64-bit operands');
    return this.encode(c, { opcode: [0x0f, op], reg: d, rm: s, size });
  }
  bsf(dst: AsmOperand, src: AsmOperand): this { return this.bitscan('bsf', 0xbc, dst, src); }
  bsr(dst: AsmOperand, src: AsmOperand): this { return this.bitscan('bsr', 0xbd, dst, src); }

  /** SETcc r/m8 by condition name. */
  setcc(cond: Condition, dst: AsmOperand): this {
    const cc = this.cond(cond);
    const c = this.ctx(`set${cond}`, dst);
    const rm = this.rm(c, c.ops[0]!);
    if (rm.size !== undefined && rm.size !== 8) c.fail('setcc takes a byte operand');
    return this.encode(c, { opcode: [0x0f, 0x90 | cc], reg: 0, rm });
  }
  /** CMOVcc r, r/m by condition name. */
  cmovcc(cond: Condition, dst: AsmOperand, src: AsmOperand): this {
    const cc = this.cond(cond);
    const c = this.ctx(`cmov${cond}`, dst, src);
    const d = this.gpr(c, c.ops[0]!, 'destination');
    const s = this.rm(c, c.ops[1]!, 'source');
    const size = this.size(c, [d, s]);
    if (size === 8) c.fail('needs 16/32/64-bit operands');
    return this.encode(c, { opcode: [0x0f, 0x40 | cc], reg: d, rm: s, size });
  }

  private cond(cond: Condition): number {
    const cc = (CONDITIONS as Record<string, number>)[cond];
    if (cc === undefined) throw new Ctx(`j${String(cond)}`, []).fail(`unknown condition '${String(cond)}'`);
    return cc;
  }

  private convert(mn: string, op: number, size: 16 | 32 | 64): this {
    return this.encode(this.ctx(mn), { opcode: [op], size });
  }
  cbw(): this { return this.convert('cbw', 0x98, 16); }
  cwde(): this { return this.convert('cwde', 0x98, 32); }
  cdqe(): this { return this.convert('cdqe', 0x98, 64); }
  cwd(): this { return this.convert('cwd', 0x99, 16); }
  cdq(): this { return this.convert('cdq', 0x99, 32); }
  cqo(): this { return this.convert('cqo', 0x99, 64); }

  // ================================================================ control transfer

  /** Jcc by condition name; relaxed (rel8, else rel16/32) unless `size` forces it. */
  jcc(cond: Condition, target: Target, size?: BranchSize): this {
    const cc = this.cond(cond);
    const c = this.ctx(`j${cond}`, target);
    const t = this.imm(c, c.ops[0]!, 'target (a label or an address)');
    return this.branch(c, t, [0x70 | cc], [0x0f, 0x80 | cc], this.mode === 16 ? 2 : 4, size);
  }

  private nearIndirect(c: Ctx, ext: number, o: Register | Mem): this {
    const size = o.size ?? this.stackSize;
    if (this.mode === 64 ? size !== 64 : size !== 16 && (size !== 32 || (this.mode === 16 && isMem(o)))) {
      c.fail(size === 48 || size === 80 || (this.mode === 16 && size === 32) ? `a ${size}-bit memory operand is a far pointer: use ${c.mnem}Far` : `near indirect ${c.mnem} takes a ${this.mode === 64 ? 64 : this.mode}-bit operand`);
    }
    return this.encode(c, { opcode: [0xff], reg: ext, rm: o, size, default64: true });
  }

  /** JMP label/address (relaxed rel8/rel16/rel32) · JMP r/m (near indirect). */
  jmp(target: Target | Register | Mem, size?: BranchSize): this {
    const c = this.ctx('jmp', target);
    const t = c.ops[0]!;
    if (isGpr(t) || isMem(t)) return this.nearIndirect(c, 4, t);
    return this.branch(c, this.imm(c, t, 'target'), [0xeb], [0xe9], this.mode === 16 ? 2 : 4, size);
  }

  /** CALL label/address (rel16/rel32) · CALL r/m (near indirect). */
  call(target: Target | Register | Mem): this {
    const c = this.ctx('call', target);
    const t = c.ops[0]!;
    if (isGpr(t) || isMem(t)) return this.nearIndirect(c, 2, t);
    const e = this.imm(c, t, 'target');
    return this.encode(c, { opcode: [0xe8], rel: { target: e, size: this.mode === 16 ? 2 : 4 }, text: (o) => `call ${formatBranchTarget(e, o)}` });
  }

  private far(mn: 'jmp' | 'call', direct: number, ext: number, a: Value | Mem, offset: Value | undefined, bits: 16 | 32 | undefined): this {
    if (a instanceof Mem) {
      const c = this.ctx(`${mn}Far`, a);
      const m = c.ops[0] as Mem;
      const far = m.size ?? (this.mode === 16 ? 32 : 48);
      const size = far === 32 ? 16 : far === 48 ? 32 : far === 80 ? 64 : c.fail('a far pointer operand is dword (m16:16), fword (m16:32) or tword (m16:64)');
      const text = (o: FormatOptions) => {
        if (size === 16) return this.mode === 16 ? `${mn} ${formatMem(m, o, 32)}` : `data16 ${mn} ${formatMem(m, o, 48)}`;
        if (size === 32) return `${mn} ${formatMem(m, o, 48)}`;
        return `rex64 ${mn} ${formatMem(m, o, 48)}`;
      };
      return this.encode(c, { opcode: [0xff], reg: ext, rm: m, size, text });
    }
    if (offset === undefined) throw new Ctx(`${mn}Far`, []).fail('takes (selector, offset) or a far pointer in memory');
    const c = this.ctx(`${mn}Far`, a, offset);
    this.not64(c);
    const sel = this.imm(c, c.ops[0]!, 'selector');
    const off = this.imm(c, c.ops[1]!, 'offset');
    const size = bits ?? (this.mode as 16 | 32);
    const pre = size === this.mode ? '' : size === 32 ? 'data32 ' : 'data16 ';
    const text = (o: FormatOptions) => `${pre}${mn} ${formatBranchTarget(sel, o)}:${formatBranchTarget(off, o)}`;
    return this.encode(c, { opcode: [direct], size, imms: [{ value: off, size: size === 16 ? 2 : 4, range: 'us' }, { value: sel, size: 2, range: 'us' }], text });
  }
  /**
   * Far JMP: `jmpFar(selector, offset)` (EA ptr16:16/ptr16:32; `bits` overrides the offset size,
   * e.g. `jmpFar(0x08, 'pm32', 32)` in 16-bit code) or `jmpFar(fword(...))` through memory
   * (dword = m16:16, fword = m16:32, tword = m16:64).
   */
  jmpFar(selectorOrMem: Value | Mem, offset?: Value, bits?: 16 | 32): this {
    return this.far('jmp', 0xea, 5, selectorOrMem, offset, bits);
  }
  /** Far CALL; operands as {@link jmpFar}. */
  callFar(selectorOrMem: Value | Mem, offset?: Value, bits?: 16 | 32): this {
    return this.far('call', 0x9a, 3, selectorOrMem, offset, bits);
  }

  /** RET / RET imm16. */
  ret(popBytes?: Value): this {
    if (popBytes === undefined) return this.zero(this.ctx('ret'), [0xc3]);
    const c = this.ctx('ret', popBytes);
    return this.encode(c, { opcode: [0xc2], imms: [{ value: this.imm(c, c.ops[0]!), size: 2, range: 'u' }] });
  }
  private retfSized(mn: string, size: 16 | 32 | 64, popBytes?: Value): this {
    const c = popBytes === undefined ? this.ctx(mn) : this.ctx(mn, popBytes);
    const gasMn = size === 16 ? 'retfw' : size === 32 ? 'retfd' : 'retfq';
    if (popBytes === undefined) return this.encode(c, { opcode: [0xcb], size, text: () => gasMn });
    const e = this.imm(c, c.ops[0]!);
    return this.encode(c, { opcode: [0xca], size, imms: [{ value: e, size: 2, range: 'u' }], text: (o) => `${gasMn} ${formatImm(e, o)}` });
  }
  /** RETF with the mode's default operand size (16 in 16-bit code, 32 otherwise). */
  retf(popBytes?: Value): this { return this.retfSized('retf', this.mode === 16 ? 16 : 32, popBytes); }
  retfw(popBytes?: Value): this { return this.retfSized('retfw', 16, popBytes); }
  retfd(popBytes?: Value): this { return this.retfSized('retfd', 32, popBytes); }
  /** RETF with REX.W (64-bit code): pops a 64-bit RIP. */
  retfq(popBytes?: Value): this { return this.retfSized('retfq', 64, popBytes); }

  private iretSized(mn: string, size: 16 | 32 | 64): this {
    const gasMn = size === 16 ? 'iretw' : size === 32 ? 'iretd' : 'iretq';
    return this.encode(this.ctx(mn), { opcode: [0xcf], size, text: () => gasMn });
  }
  /** IRET with the mode's default operand size (16 in 16-bit code, 32 otherwise: use iretq in 64-bit code). */
  iret(): this { return this.iretSized('iret', this.mode === 16 ? 16 : 32); }
  iretw(): this { return this.iretSized('iretw', 16); }
  iretd(): this { return this.iretSized('iretd', 32); }
  iretq(): this { return this.iretSized('iretq', 64); }

  private loopOp(mn: string, op: number, target: Target, addr: 16 | 32 | 64 | undefined): this {
    const c = this.ctx(mn, target);
    const t = this.imm(c, c.ops[0]!, 'target');
    let prefix = false;
    if (addr !== undefined) {
      if (addr === 16 && this.mode === 64) c.fail('not available in 64-bit code');
      if (addr === 64 && this.mode !== 64) c.fail('only available in 64-bit code');
      prefix = addr !== this.mode;
    }
    return this.encode(c, { opcode: [op], rel: { target: t, size: 1 }, addrPrefix: prefix, text: (o) => `${mn} ${formatBranchTarget(t, o)}` });
  }
  /** LOOP rel8 (error if the target is out of range). */
  loop(target: Target): this { return this.loopOp('loop', 0xe2, target, undefined); }
  loope(target: Target): this { return this.loopOp('loope', 0xe1, target, undefined); }
  loopz(target: Target): this { return this.loopOp('loopz', 0xe1, target, undefined); }
  loopne(target: Target): this { return this.loopOp('loopne', 0xe0, target, undefined); }
  loopnz(target: Target): this { return this.loopOp('loopnz', 0xe0, target, undefined); }
  /** JCXZ rel8 (16/32-bit code). */
  jcxz(target: Target): this { return this.loopOp('jcxz', 0xe3, target, 16); }
  /** JECXZ rel8. */
  jecxz(target: Target): this { return this.loopOp('jecxz', 0xe3, target, 32); }
  /** JRCXZ rel8 (64-bit code). */
  jrcxz(target: Target): this { return this.loopOp('jrcxz', 0xe3, target, 64); }

  /** INT imm8 (`int(3)` is encoded CC, as GNU as does). */
  int(n: Value): this {
    const c = this.ctx('int', n);
    const v = this.imm(c, c.ops[0]!);
    if (v.isConstant && v.constant() === 3n) return this.encode(c, { opcode: [0xcc] });
    return this.encode(c, { opcode: [0xcd], imms: [{ value: v, size: 1, range: 'u' }] });
  }
  int3(): this { return this.zero(this.ctx('int3'), [0xcc]); }
  into(): this {
    const c = this.ctx('into');
    this.not64(c);
    return this.zero(c, [0xce]);
  }

  // ================================================================ string, flags, misc

  private strOp(mn: string, op: number, size: 8 | 16 | 32 | 64, o: StringOptions = {}): this {
    const c = this.ctx(mn);
    if (o.seg !== undefined && o.seg.kind !== 'seg') c.fail(`${o.seg.name} is not a segment register`);
    if (o.seg !== undefined && this.mode === 64 && o.seg.num < 4) c.fail(`a ${o.seg.name} override has no effect in 64-bit code (only fs and gs)`);
    let addrPrefix = false;
    if (o.addr !== undefined) {
      if (o.addr !== 16 && o.addr !== 32 && o.addr !== 64) c.fail(`address size must be 16, 32 or 64, got ${String(o.addr)}`);
      if (this.mode === 64 ? o.addr === 16 : o.addr === 64) c.fail(`${o.addr}-bit addressing is not available in ${this.mode}-bit code`);
      addrPrefix = o.addr !== this.mode;
    }
    const text = `${addrPrefix ? `addr${o.addr} ` : ''}${o.seg ? `${o.seg.name} ` : ''}${mn}`;
    return this.encode(c, { opcode: [op | (size === 8 ? 0 : 1)], size: size === 8 ? undefined : size, addrPrefix, segPrefix: o.seg, text: () => text });
  }
  movsb(o?: StringOptions): this { return this.strOp('movsb', 0xa4, 8, o); }
  movsw(o?: StringOptions): this { return this.strOp('movsw', 0xa4, 16, o); }
  movsd(o?: StringOptions): this { return this.strOp('movsd', 0xa4, 32, o); }
  movsq(o?: StringOptions): this { return this.strOp('movsq', 0xa4, 64, o); }
  cmpsb(o?: StringOptions): this { return this.strOp('cmpsb', 0xa6, 8, o); }
  cmpsw(o?: StringOptions): this { return this.strOp('cmpsw', 0xa6, 16, o); }
  cmpsd(o?: StringOptions): this { return this.strOp('cmpsd', 0xa6, 32, o); }
  cmpsq(o?: StringOptions): this { return this.strOp('cmpsq', 0xa6, 64, o); }
  stosb(o?: StringOptions): this { return this.strOp('stosb', 0xaa, 8, o); }
  stosw(o?: StringOptions): this { return this.strOp('stosw', 0xaa, 16, o); }
  stosd(o?: StringOptions): this { return this.strOp('stosd', 0xaa, 32, o); }
  stosq(o?: StringOptions): this { return this.strOp('stosq', 0xaa, 64, o); }
  lodsb(o?: StringOptions): this { return this.strOp('lodsb', 0xac, 8, o); }
  lodsw(o?: StringOptions): this { return this.strOp('lodsw', 0xac, 16, o); }
  lodsd(o?: StringOptions): this { return this.strOp('lodsd', 0xac, 32, o); }
  lodsq(o?: StringOptions): this { return this.strOp('lodsq', 0xac, 64, o); }
  scasb(o?: StringOptions): this { return this.strOp('scasb', 0xae, 8, o); }
  scasw(o?: StringOptions): this { return this.strOp('scasw', 0xae, 16, o); }
  scasd(o?: StringOptions): this { return this.strOp('scasd', 0xae, 32, o); }
  scasq(o?: StringOptions): this { return this.strOp('scasq', 0xae, 64, o); }
  insb(o?: StringOptions): this { return this.strOp('insb', 0x6c, 8, o); }
  insw(o?: StringOptions): this { return this.strOp('insw', 0x6c, 16, o); }
  insd(o?: StringOptions): this { return this.strOp('insd', 0x6c, 32, o); }
  outsb(o?: StringOptions): this { return this.strOp('outsb', 0x6e, 8, o); }
  outsw(o?: StringOptions): this { return this.strOp('outsw', 0x6e, 16, o); }
  outsd(o?: StringOptions): this { return this.strOp('outsd', 0x6e, 32, o); }

  cld(): this { return this.zero(this.ctx('cld'), [0xfc]); }
  std(): this { return this.zero(this.ctx('std'), [0xfd]); }
  clc(): this { return this.zero(this.ctx('clc'), [0xf8]); }
  stc(): this { return this.zero(this.ctx('stc'), [0xf9]); }
  cmc(): this { return this.zero(this.ctx('cmc'), [0xf5]); }
  cli(): this { return this.zero(this.ctx('cli'), [0xfa]); }
  sti(): this { return this.zero(this.ctx('sti'), [0xfb]); }
  hlt(): this { return this.zero(this.ctx('hlt'), [0xf4]); }
  lahf(): this { return this.zero(this.ctx('lahf'), [0x9f]); }
  sahf(): this { return this.zero(this.ctx('sahf'), [0x9e]); }
  pause(): this { return this.zero(this.ctx('pause'), [0x90], { mandatory: 0xf3 }); }
  ud2(): this { return this.zero(this.ctx('ud2'), [0x0f, 0x0b]); }
  mfence(): this { return this.zero(this.ctx('mfence'), [0x0f, 0xae, 0xf0]); }
  lfence(): this { return this.zero(this.ctx('lfence'), [0x0f, 0xae, 0xe8]); }
  sfence(): this { return this.zero(this.ctx('sfence'), [0x0f, 0xae, 0xf8]); }

  /** NOP (90), or the NOP r/m form (0F 1F /0) with a 16/32/64-bit register or sized memory operand. */
  nop(o?: AsmOperand): this {
    if (o === undefined) return this.zero(this.ctx('nop'), [0x90]);
    const c = this.ctx('nop', o);
    const rm = this.rm(c, c.ops[0]!);
    const size = this.size(c, [rm]);
    if (size === 8) c.fail('nop r/m takes a 16/32/64-bit operand');
    return this.encode(c, { opcode: [0x0f, 0x1f], reg: 0, rm, size });
  }

  /** `length` bytes of no-operation instructions (Intel's recommended multi-byte NOPs, at most 9 bytes each). */
  nops(length: number): this {
    if (!Number.isInteger(length) || length < 0) throw new Ctx('nops', []).fail(`length must be a non-negative integer, got ${String(length)}`);
    const seq32: number[][] = [
      [0x90], [0x66, 0x90], [0x0f, 0x1f, 0x00], [0x0f, 0x1f, 0x40, 0x00], [0x0f, 0x1f, 0x44, 0x00, 0x00],
      [0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00], [0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00],
      [0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00], [0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
    ];
    // 16-bit code: ModRM forms of 16-bit addressing ([bx+si], [bx+si+d8], [bx+si+d16]).
    const seq16: number[][] = [[0x90], [0x66, 0x90], [0x0f, 0x1f, 0x00], [0x0f, 0x1f, 0x40, 0x00], [0x0f, 0x1f, 0x80, 0x00, 0x00], [0x66, 0x0f, 0x1f, 0x80, 0x00, 0x00]];
    const seq = this.mode === 16 ? seq16 : seq32;
    let left = length;
    while (left > 0) {
      const n = Math.min(left, seq.length);
      const bytes = seq[n - 1]!;
      this.rawInsn(bytes, `.byte ${bytes.map((b) => `0x${b.toString(16)}`).join(', ')} # nop`);
      left -= n;
    }
    return this;
  }

  // ================================================================ I/O

  /** IN al/ax/eax, imm8|dx. */
  in(dst: AsmOperand, port: AsmOperand): this {
    const c = this.ctx('in', dst, port);
    const d = this.gpr(c, c.ops[0]!, 'destination');
    if (d.num !== 0 || d.size === 64) c.fail('destination must be al, ax or eax');
    const p = c.ops[1]!;
    const w = d.size === 8 ? 0 : 1;
    if (p === dx) return this.encode(c, { opcode: [0xec | w], size: d.size === 8 ? undefined : d.size, regs: [d] });
    return this.encode(c, { opcode: [0xe4 | w], size: d.size === 8 ? undefined : d.size, imms: [{ value: this.imm(c, p, 'port (imm8 or dx)'), size: 1, range: 'u' }], regs: [d] });
  }
  /** OUT imm8|dx, al/ax/eax. */
  out(port: AsmOperand, src: AsmOperand): this {
    const c = this.ctx('out', port, src);
    const s = this.gpr(c, c.ops[1]!, 'source');
    if (s.num !== 0 || s.size === 64) c.fail('source must be al, ax or eax');
    const p = c.ops[0]!;
    const w = s.size === 8 ? 0 : 1;
    if (p === dx) return this.encode(c, { opcode: [0xee | w], size: s.size === 8 ? undefined : s.size, regs: [s] });
    return this.encode(c, { opcode: [0xe6 | w], size: s.size === 8 ? undefined : s.size, imms: [{ value: this.imm(c, p, 'port (imm8 or dx)'), size: 1, range: 'u' }], regs: [s] });
  }

  // ================================================================ system

  private dtr(mn: string, ext: number, m: AsmOperand): this {
    const c = this.ctx(mn, m);
    const x = this.mem(c, c.ops[0]!);
    if (x.size !== undefined && x.size !== 48 && x.size !== 80) c.fail('operand is a pseudo-descriptor: unsized, fword or tword memory');
    if (x.size === 80 && this.mode !== 64) c.fail('a 10-byte pseudo-descriptor is only used in 64-bit code');
    // In 16-bit code an fword operand selects the 32-bit base form (o32 lgdt).
    return this.encode(c, { opcode: [0x0f, 0x01], reg: ext, rm: x, size: this.mode === 16 && x.size === 48 ? 32 : undefined });
  }
  /** LGDT m (in 16-bit code, `fword(...)` selects the 66h form loading a 32-bit base). */
  lgdt(m: AsmOperand): this { return this.dtr('lgdt', 2, m); }
  lidt(m: AsmOperand): this { return this.dtr('lidt', 3, m); }
  sgdt(m: AsmOperand): this { return this.dtr('sgdt', 0, m); }
  sidt(m: AsmOperand): this { return this.dtr('sidt', 1, m); }

  private sel16(mn: string, op: number[], ext: number, o: AsmOperand): this {
    const c = this.ctx(mn, o);
    const rm = this.rm(c, c.ops[0]!);
    if (rm.size !== undefined && rm.size !== 16) c.fail('takes a 16-bit register or word memory');
    return this.encode(c, { opcode: op, reg: ext, rm });
  }
  lldt(o: AsmOperand): this { return this.sel16('lldt', [0x0f, 0x00], 2, o); }
  ltr(o: AsmOperand): this { return this.sel16('ltr', [0x0f, 0x00], 3, o); }
  verr(o: AsmOperand): this { return this.sel16('verr', [0x0f, 0x00], 4, o); }
  verw(o: AsmOperand): this { return this.sel16('verw', [0x0f, 0x00], 5, o); }
  lmsw(o: AsmOperand): this { return this.sel16('lmsw', [0x0f, 0x01], 6, o); }

  private store16(mn: string, op: number[], ext: number, o: AsmOperand, rexWfor64: boolean): this {
    const c = this.ctx(mn, o);
    const rm = this.rm(c, c.ops[0]!);
    if (isMem(rm)) {
      if (rm.size !== undefined && rm.size !== 16) c.fail('stores a word to memory');
      return this.encode(c, { opcode: op, reg: ext, rm });
    }
    if (rm.size === 8) c.fail('needs a 16/32/64-bit register');
    return this.encode(c, { opcode: op, reg: ext, rm, size: rm.size === 64 && !rexWfor64 ? undefined : rm.size });
  }
  sldt(o: AsmOperand): this { return this.store16('sldt', [0x0f, 0x00], 0, o, false); }
  str(o: AsmOperand): this { return this.store16('str', [0x0f, 0x00], 1, o, false); }
  smsw(o: AsmOperand): this { return this.store16('smsw', [0x0f, 0x01], 4, o, true); }

  private larlsl(mn: string, op: number, dst: AsmOperand, src: AsmOperand): this {
    const c = this.ctx(mn, dst, src);
    const d = this.gpr(c, c.ops[0]!, 'destination');
    const s = this.rm(c, c.ops[1]!, 'source');
    if (d.size === 8) c.fail('needs a 16/32/64-bit destination');
    if (isGpr(s) && s.size === 8) c.fail('source is a 16/32/64-bit register or word memory');
    if (isMem(s) && s.size !== undefined && s.size !== 16) c.fail('source is a 16/32/64-bit register or word memory');
    return this.encode(c, { opcode: [0x0f, op], reg: d, rm: s, size: d.size });
  }
  lar(dst: AsmOperand, src: AsmOperand): this { return this.larlsl('lar', 0x02, dst, src); }
  lsl(dst: AsmOperand, src: AsmOperand): this { return this.larlsl('lsl', 0x03, dst, src); }

  clts(): this { return this.zero(this.ctx('clts'), [0x0f, 0x06]); }
  invd(): this { return this.zero(this.ctx('invd'), [0x0f, 0x08]); }
  wbinvd(): this { return this.zero(this.ctx('wbinvd'), [0x0f, 0x09]); }
  /** INVLPG m. */
  invlpg(m: AsmOperand): this {
    const c = this.ctx('invlpg', m);
    return this.encode(c, { opcode: [0x0f, 0x01], reg: 7, rm: this.mem(c, c.ops[0]!) });
  }
  swapgs(): this {
    const c = this.ctx('swapgs');
    this.only64(c);
    return this.zero(c, [0x0f, 0x01, 0xf8]);
  }
  /** SYSCALL: 64-bit code only (Intel raises #UD for it outside 64-bit mode, and so does our decoder). */
  syscall(): this {
    const c = this.ctx('syscall');
    this.only64(c);
    return this.zero(c, [0x0f, 0x05]);
  }
  /** SYSRET returning to 32-bit (compatibility-mode) code; 64-bit code only (Intel: #UD elsewhere). */
  sysret(): this {
    const c = this.ctx('sysret');
    this.only64(c);
    return this.encode(c, { opcode: [0x0f, 0x07], text: () => 'sysretd' });
  }
  /** SYSRET with REX.W, returning to 64-bit code. */
  sysretq(): this {
    const c = this.ctx('sysretq');
    return this.zero(c, [0x0f, 0x07], { rexW: true });
  }
  rdmsr(): this { return this.zero(this.ctx('rdmsr'), [0x0f, 0x32]); }
  wrmsr(): this { return this.zero(this.ctx('wrmsr'), [0x0f, 0x30]); }
  rdtsc(): this { return this.zero(this.ctx('rdtsc'), [0x0f, 0x31]); }
  rdtscp(): this { return this.zero(this.ctx('rdtscp'), [0x0f, 0x01, 0xf9]); }
  cpuid(): this { return this.zero(this.ctx('cpuid'), [0x0f, 0xa2]); }

  /** CMPXCHG r/m, r (use `lock()` before it for the atomic form). */
  cmpxchg(dst: AsmOperand, src: AsmOperand): this { return this.rmReg('cmpxchg', 0xb0, dst, src); }
  /** XADD r/m, r. */
  xadd(dst: AsmOperand, src: AsmOperand): this { return this.rmReg('xadd', 0xc0, dst, src); }
  private rmReg(mn: string, op: number, dst: AsmOperand, src: AsmOperand): this {
    const c = this.ctx(mn, dst, src);
    const rm = this.rm(c, c.ops[0]!, 'destination');
    const r = this.gpr(c, c.ops[1]!, 'source');
    const size = this.size(c, [rm, r]);
    return this.encode(c, { opcode: [0x0f, op | (size === 8 ? 0 : 1)], reg: r, rm, size });
  }
  /** CMPXCHG8B m64. */
  cmpxchg8b(m: AsmOperand): this {
    const c = this.ctx('cmpxchg8b', m);
    return this.encode(c, { opcode: [0x0f, 0xc7], reg: 1, rm: this.mem(c, c.ops[0]!, [undefined, 64]) });
  }
  /** CMPXCHG16B m128 (64-bit code). */
  cmpxchg16b(m: AsmOperand): this {
    const c = this.ctx('cmpxchg16b', m);
    return this.encode(c, { opcode: [0x0f, 0xc7], reg: 1, rm: this.mem(c, c.ops[0]!, [undefined, 128]), rexW: true });
  }

  private fx(mn: string, ext: number, m: AsmOperand, w: boolean): this {
    const c = this.ctx(mn, m);
    return this.encode(c, { opcode: [0x0f, 0xae], reg: ext, rm: this.mem(c, c.ops[0]!), rexW: w });
  }
  fxsave(m: AsmOperand): this { return this.fx('fxsave', 0, m, false); }
  fxrstor(m: AsmOperand): this { return this.fx('fxrstor', 1, m, false); }
  fxsave64(m: AsmOperand): this { return this.fx('fxsave64', 0, m, true); }
  fxrstor64(m: AsmOperand): this { return this.fx('fxrstor64', 1, m, true); }

  // ================================================================ VMX

  private vmm64(mn: string, ext: number, m: AsmOperand, mandatory?: number): this {
    const c = this.ctx(mn, m);
    return this.encode(c, { opcode: [0x0f, 0xc7], reg: ext, rm: this.mem(c, c.ops[0]!, [undefined, 64]), mandatory });
  }
  vmxon(m: AsmOperand): this { return this.vmm64('vmxon', 6, m, 0xf3); }
  vmclear(m: AsmOperand): this { return this.vmm64('vmclear', 6, m, 0x66); }
  vmptrld(m: AsmOperand): this { return this.vmm64('vmptrld', 6, m); }
  vmptrst(m: AsmOperand): this { return this.vmm64('vmptrst', 7, m); }
  vmxoff(): this { return this.zero(this.ctx('vmxoff'), [0x0f, 0x01, 0xc4]); }
  vmlaunch(): this { return this.zero(this.ctx('vmlaunch'), [0x0f, 0x01, 0xc2]); }
  vmresume(): this { return this.zero(this.ctx('vmresume'), [0x0f, 0x01, 0xc3]); }
  vmcall(): this { return this.zero(this.ctx('vmcall'), [0x0f, 0x01, 0xc1]); }

  private vmSize(c: Ctx, ops: (Register | Mem)[]): void {
    const want = this.mode === 64 ? 64 : 32;
    for (const o of ops) if (o.size !== undefined && o.size !== want) c.fail(`operands are ${want}-bit in ${this.mode}-bit code`);
  }
  /** VMREAD r/m, r (field encoding in the register source). */
  vmread(dst: AsmOperand, field: AsmOperand): this {
    const c = this.ctx('vmread', dst, field);
    const rm = this.rm(c, c.ops[0]!, 'destination');
    const r = this.gpr(c, c.ops[1]!, 'field');
    this.vmSize(c, [rm, r]);
    return this.encode(c, { opcode: [0x0f, 0x78], reg: r, rm });
  }
  /** VMWRITE r, r/m (field encoding in the register destination). */
  vmwrite(field: AsmOperand, src: AsmOperand): this {
    const c = this.ctx('vmwrite', field, src);
    const r = this.gpr(c, c.ops[0]!, 'field');
    const rm = this.rm(c, c.ops[1]!, 'source');
    this.vmSize(c, [rm, r]);
    return this.encode(c, { opcode: [0x0f, 0x79], reg: r, rm });
  }
  private inv(mn: string, op: number, type: AsmOperand, desc: AsmOperand): this {
    const c = this.ctx(mn, type, desc);
    const r = this.gpr(c, c.ops[0]!, 'type');
    const m = this.mem(c, c.ops[1]!, [undefined, 128]);
    this.vmSize(c, [r]);
    return this.encode(c, { opcode: [0x0f, 0x38, op], reg: r, rm: m, mandatory: 0x66 });
  }
  /** INVEPT r64/r32, m128. */
  invept(type: AsmOperand, desc: AsmOperand): this { return this.inv('invept', 0x80, type, desc); }
  /** INVVPID r64/r32, m128. */
  invvpid(type: AsmOperand, desc: AsmOperand): this { return this.inv('invvpid', 0x81, type, desc); }

  // ================================================================ native services

  /**
   * The native-service instruction (a #UD-raising UD1 form): `0F B9 80 <disp32>` in 32/64-bit code,
   * `67 0F B9 80 <disp32>` in 16-bit code, disp32 = 0x4C4C0000 | service.
   */
  native(service: number): this {
    const bytes = [...nativeServiceBytes(this.mode, service)];
    const disp = `0x${(0x4c4c0000 | service).toString(16)}`;
    const text = this.mode === 16 ? `ud1 ax, [eax+${disp}]` : this.mode === 32 ? `ud1 eax, [eax+${disp}]` : `ud1 eax, [rax+${disp}]`;
    return this.rawInsn(bytes, `${text} # native service ${formatNumber(BigInt(service))}`);
  }

  // ================================================================ descriptor helpers

  /**
   * An 8-byte GDT/LDT segment descriptor. `base` and `limit` may be label expressions; `access` is
   * the access byte (P, DPL, S, type), `flags` the high nibble (G, D/B, L, AVL).
   */
  gdtEntry(base: Value, limit: Value, access: number, flags: number): this {
    const b = this.resolveExpr(Expr.of(base));
    const l = this.resolveExpr(Expr.of(limit));
    this.dw(l.and(0xffff), b.and(0xffff));
    return this.db(b.shr(16).and(0xff), access, l.shr(16).and(0xf).or((flags & 0xf) << 4), b.shr(24).and(0xff));
  }
  /** A 16-byte 64-bit IDT gate for the handler at `offset` (a label expression). */
  idtGate64(offset: Value, selector: Value, typeAttr: number, ist = 0): this {
    const o = this.resolveExpr(Expr.of(offset));
    this.dw(o.and(0xffff), selector);
    this.db(ist, typeAttr);
    this.dw(o.shr(16).and(0xffff));
    return this.dd(o.shr(32).and(0xffffffff), 0);
  }
  /** An 8-byte 32-bit IDT gate. */
  idtGate32(offset: Value, selector: Value, typeAttr: number): this {
    const o = this.resolveExpr(Expr.of(offset));
    this.dw(o.and(0xffff), selector);
    this.db(0, typeAttr);
    return this.dw(o.shr(16).and(0xffff));
  }

  // ================================================================ condition-code families

  jo(t: Target, s?: BranchSize): this { return this.jcc('o', t, s); }
  jno(t: Target, s?: BranchSize): this { return this.jcc('no', t, s); }
  jb(t: Target, s?: BranchSize): this { return this.jcc('b', t, s); }
  jc(t: Target, s?: BranchSize): this { return this.jcc('c', t, s); }
  jnae(t: Target, s?: BranchSize): this { return this.jcc('nae', t, s); }
  jae(t: Target, s?: BranchSize): this { return this.jcc('ae', t, s); }
  jnb(t: Target, s?: BranchSize): this { return this.jcc('nb', t, s); }
  jnc(t: Target, s?: BranchSize): this { return this.jcc('nc', t, s); }
  je(t: Target, s?: BranchSize): this { return this.jcc('e', t, s); }
  jz(t: Target, s?: BranchSize): this { return this.jcc('z', t, s); }
  jne(t: Target, s?: BranchSize): this { return this.jcc('ne', t, s); }
  jnz(t: Target, s?: BranchSize): this { return this.jcc('nz', t, s); }
  jbe(t: Target, s?: BranchSize): this { return this.jcc('be', t, s); }
  jna(t: Target, s?: BranchSize): this { return this.jcc('na', t, s); }
  ja(t: Target, s?: BranchSize): this { return this.jcc('a', t, s); }
  jnbe(t: Target, s?: BranchSize): this { return this.jcc('nbe', t, s); }
  js(t: Target, s?: BranchSize): this { return this.jcc('s', t, s); }
  jns(t: Target, s?: BranchSize): this { return this.jcc('ns', t, s); }
  jp(t: Target, s?: BranchSize): this { return this.jcc('p', t, s); }
  jpe(t: Target, s?: BranchSize): this { return this.jcc('pe', t, s); }
  jnp(t: Target, s?: BranchSize): this { return this.jcc('np', t, s); }
  jpo(t: Target, s?: BranchSize): this { return this.jcc('po', t, s); }
  jl(t: Target, s?: BranchSize): this { return this.jcc('l', t, s); }
  jnge(t: Target, s?: BranchSize): this { return this.jcc('nge', t, s); }
  jge(t: Target, s?: BranchSize): this { return this.jcc('ge', t, s); }
  jnl(t: Target, s?: BranchSize): this { return this.jcc('nl', t, s); }
  jle(t: Target, s?: BranchSize): this { return this.jcc('le', t, s); }
  jng(t: Target, s?: BranchSize): this { return this.jcc('ng', t, s); }
  jg(t: Target, s?: BranchSize): this { return this.jcc('g', t, s); }
  jnle(t: Target, s?: BranchSize): this { return this.jcc('nle', t, s); }

  seto(d: AsmOperand): this { return this.setcc('o', d); }
  setno(d: AsmOperand): this { return this.setcc('no', d); }
  setb(d: AsmOperand): this { return this.setcc('b', d); }
  setc(d: AsmOperand): this { return this.setcc('c', d); }
  setnae(d: AsmOperand): this { return this.setcc('nae', d); }
  setae(d: AsmOperand): this { return this.setcc('ae', d); }
  setnb(d: AsmOperand): this { return this.setcc('nb', d); }
  setnc(d: AsmOperand): this { return this.setcc('nc', d); }
  sete(d: AsmOperand): this { return this.setcc('e', d); }
  setz(d: AsmOperand): this { return this.setcc('z', d); }
  setne(d: AsmOperand): this { return this.setcc('ne', d); }
  setnz(d: AsmOperand): this { return this.setcc('nz', d); }
  setbe(d: AsmOperand): this { return this.setcc('be', d); }
  setna(d: AsmOperand): this { return this.setcc('na', d); }
  seta(d: AsmOperand): this { return this.setcc('a', d); }
  setnbe(d: AsmOperand): this { return this.setcc('nbe', d); }
  sets(d: AsmOperand): this { return this.setcc('s', d); }
  setns(d: AsmOperand): this { return this.setcc('ns', d); }
  setp(d: AsmOperand): this { return this.setcc('p', d); }
  setpe(d: AsmOperand): this { return this.setcc('pe', d); }
  setnp(d: AsmOperand): this { return this.setcc('np', d); }
  setpo(d: AsmOperand): this { return this.setcc('po', d); }
  setl(d: AsmOperand): this { return this.setcc('l', d); }
  setnge(d: AsmOperand): this { return this.setcc('nge', d); }
  setge(d: AsmOperand): this { return this.setcc('ge', d); }
  setnl(d: AsmOperand): this { return this.setcc('nl', d); }
  setle(d: AsmOperand): this { return this.setcc('le', d); }
  setng(d: AsmOperand): this { return this.setcc('ng', d); }
  setg(d: AsmOperand): this { return this.setcc('g', d); }
  setnle(d: AsmOperand): this { return this.setcc('nle', d); }

  cmovo(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('o', d, s); }
  cmovno(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('no', d, s); }
  cmovb(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('b', d, s); }
  cmovc(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('c', d, s); }
  cmovnae(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('nae', d, s); }
  cmovae(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('ae', d, s); }
  cmovnb(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('nb', d, s); }
  cmovnc(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('nc', d, s); }
  cmove(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('e', d, s); }
  cmovz(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('z', d, s); }
  cmovne(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('ne', d, s); }
  cmovnz(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('nz', d, s); }
  cmovbe(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('be', d, s); }
  cmovna(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('na', d, s); }
  cmova(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('a', d, s); }
  cmovnbe(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('nbe', d, s); }
  cmovs(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('s', d, s); }
  cmovns(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('ns', d, s); }
  cmovp(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('p', d, s); }
  cmovpe(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('pe', d, s); }
  cmovnp(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('np', d, s); }
  cmovpo(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('po', d, s); }
  cmovl(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('l', d, s); }
  cmovnge(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('nge', d, s); }
  cmovge(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('ge', d, s); }
  cmovnl(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('nl', d, s); }
  cmovle(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('le', d, s); }
  cmovng(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('ng', d, s); }
  cmovg(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('g', d, s); }
  cmovnle(d: AsmOperand, s: AsmOperand): this { return this.cmovcc('nle', d, s); }
}
