/**
 * A generic, allocating operand view of a decoded instruction, for tools, the disassembler and
 * the tests. The interpreter reads the {@link DecodedInstruction} fields directly instead.
 */
import type { DecodedInstruction } from './instruction.js';
import { Form, Op } from './ops.js';
import { crName, drName, gprName, segName } from './registers.js';

export interface RegOperand {
  readonly kind: 'reg';
  /** Lower-case register name: eax, r8b, ah, es, cr3, dr7, ... */
  readonly reg: string;
}
export interface MemOperand {
  readonly kind: 'mem';
  /** Width in bits of the accessed data (see `DecodedInstruction.eSize`); 0 when not meaningful. */
  readonly size: number;
  /** Effective segment register name. */
  readonly segment: string;
  /** The segment comes from a prefix (or is the fixed ES of a string destination). */
  readonly segmentExplicit: boolean;
  /** Base register name, `rip`/`eip` for RIP-relative, or null. */
  readonly base: string | null;
  readonly index: string | null;
  readonly scale: number;
  /** Signed 64-bit displacement (for RIP-relative: relative to the next instruction). */
  readonly disp: bigint;
  /** Absolute address for RIP-relative operands and base-less, index-less operands, else null. */
  readonly absolute: bigint | null;
  readonly addrSize: number;
  /** moffs form (MOV A0-A3). */
  readonly moffs: boolean;
}
export interface ImmOperand {
  readonly kind: 'imm';
  /** Value zero-extended from `size` bits (sign extension to the operand size already applied). */
  readonly value: bigint;
  readonly size: number;
}
export interface RelOperand {
  readonly kind: 'rel';
  /** Absolute branch target (next IP + displacement, truncated to the operand size). */
  readonly target: bigint;
  readonly rel: number;
}
export interface FarOperand {
  readonly kind: 'far';
  readonly selector: number;
  readonly offset: number;
}
export type Operand = RegOperand | MemOperand | ImmOperand | RelOperand | FarOperand;

const MASK64 = (1n << 64n) - 1n;

function mask(v: bigint, bits: number): bigint {
  return bits >= 64 ? v & MASK64 : v & ((1n << BigInt(bits)) - 1n);
}

/** `imm`/`immHi` as a bigint of `size` bits. */
export function immValue(insn: DecodedInstruction, size: number): bigint {
  const v = (BigInt(insn.immHi >>> 0) << 32n) | BigInt(insn.imm >>> 0);
  return mask(v, size);
}

/** The 64-bit signed displacement of the memory operand. */
export function dispValue(insn: DecodedInstruction): bigint {
  return (BigInt(insn.dispHi | 0) << 32n) | BigInt(insn.disp >>> 0);
}

/** Absolute target of a REL-form branch at `address`. */
export function branchTarget(insn: DecodedInstruction, address: bigint | number = 0n): bigint {
  const next = BigInt(address) + BigInt(insn.length);
  return mask(next + BigInt(insn.rel), insn.opSize);
}

const BYTE_IMM_OPS = new Set<number>([
  Op.ROL, Op.ROR, Op.RCL, Op.RCR, Op.SHL, Op.SHR, Op.SAR, Op.SHLD, Op.SHRD, Op.BT, Op.BTS, Op.BTR, Op.BTC,
]);

function memOperand(insn: DecodedInstruction, size: number, address: bigint): MemOperand {
  const a = insn.addrSize;
  const disp = dispValue(insn);
  let absolute: bigint | null = null;
  let base: string | null = insn.base >= 0 ? gprName(insn.base, a) : null;
  if (insn.ripRel) {
    base = a === 64 ? 'rip' : 'eip';
    absolute = mask(BigInt(address) + BigInt(insn.length) + disp, a);
  } else if (insn.base < 0 && insn.index < 0) {
    absolute = mask(disp, a);
  }
  const moffs = insn.opcode >= 0xa0 && insn.opcode <= 0xa3;
  return {
    kind: 'mem',
    size,
    segment: segName(insn.segment),
    segmentExplicit: insn.segOverride >= 0,
    base,
    index: insn.index >= 0 ? gprName(insn.index, a) : null,
    scale: insn.scale,
    disp: moffs ? mask(disp, a) : disp,
    absolute,
    addrSize: a,
    moffs,
  };
}

function stringMem(insn: DecodedInstruction, dest: boolean): MemOperand {
  const a = insn.addrSize;
  return {
    kind: 'mem',
    size: insn.opSize,
    segment: dest ? 'es' : segName(insn.segment),
    segmentExplicit: true,
    base: gprName(dest ? 7 : 6, a),
    index: null,
    scale: 1,
    disp: 0n,
    absolute: null,
    addrSize: a,
    moffs: false,
  };
}

const reg = (name: string): RegOperand => ({ kind: 'reg', reg: name });
const imm = (value: bigint, size: number): ImmOperand => ({ kind: 'imm', value: mask(value, size), size });

/**
 * The operands of `insn` in Intel order (destination first), including the operands objdump
 * and the SDM spell out for string instructions, shifts by 1/CL and IN/OUT. `address` is the
 * instruction's address, used for branch targets and RIP-relative absolute addresses.
 * Returns [] for an instruction whose status is not OK/INVALID_LOCK.
 */
export function operandsOf(insn: DecodedInstruction, address: bigint | number = 0n): Operand[] {
  if (insn.op === Op.INVALID) return [];
  const addr = BigInt(address);
  const E = (): Operand => (insn.isMem ? memOperand(insn, insn.eSize, addr) : reg(gprName(insn.rm, insn.eSize)));
  const G = (): Operand => reg(gprName(insn.reg, insn.opSize));
  const acc = (): Operand => reg(gprName(0, insn.opSize));
  const I = (): Operand => imm(immValue(insn, 64), BYTE_IMM_OPS.has(insn.op) ? 8 : insn.opSize);
  switch (insn.form) {
    case Form.NONE:
      switch (insn.op) {
        case Op.MOVS: return [stringMem(insn, true), stringMem(insn, false)];
        case Op.CMPS: return [stringMem(insn, false), stringMem(insn, true)];
        case Op.STOS: return [stringMem(insn, true), acc()];
        case Op.LODS: return [acc(), stringMem(insn, false)];
        case Op.SCAS: return [acc(), stringMem(insn, true)];
        case Op.INS: return [stringMem(insn, true), reg('dx')];
        case Op.OUTS: return [reg('dx'), stringMem(insn, false)];
        case Op.XLAT: return [{ ...stringMem(insn, false), base: gprName(3, insn.addrSize), size: 8 }];
        default: return [];
      }
    case Form.E: return [E()];
    case Form.E_G: return [E(), G()];
    case Form.G_E: return [G(), E()];
    case Form.E_I: return [E(), I()];
    case Form.G_E_I: return [G(), E(), I()];
    case Form.E_G_I: return [E(), G(), I()];
    case Form.E_G_CL: return [E(), G(), reg('cl')];
    case Form.E_1: return [E(), imm(1n, 8)];
    case Form.E_CL: return [E(), reg('cl')];
    case Form.I:
      if (insn.op === Op.NATIVE) return [imm(BigInt(insn.imm), 16)];
      if (insn.op === Op.INT) return [imm(BigInt(insn.imm), 8)];
      if (insn.op === Op.RET || insn.op === Op.RETF) return [imm(BigInt(insn.imm), 16)];
      return [imm(immValue(insn, 64), insn.opSize)];
    case Form.REL: return [{ kind: 'rel', target: branchTarget(insn, addr), rel: insn.rel }];
    case Form.FAR: return [{ kind: 'far', selector: insn.sel, offset: insn.imm }];
    case Form.E_S: return [E(), reg(segName(insn.reg))];
    case Form.S_E: return [reg(segName(insn.reg)), E()];
    case Form.S: return [reg(segName(insn.reg))];
    case Form.R_C: return [reg(gprName(insn.rm, insn.opSize)), reg(crName(insn.reg))];
    case Form.C_R: return [reg(crName(insn.reg)), reg(gprName(insn.rm, insn.opSize))];
    case Form.R_D: return [reg(gprName(insn.rm, insn.opSize)), reg(drName(insn.reg))];
    case Form.D_R: return [reg(drName(insn.reg)), reg(gprName(insn.rm, insn.opSize))];
    case Form.A_I: return [acc(), imm(BigInt(insn.imm), 8)];
    case Form.I_A: return [imm(BigInt(insn.imm), 8), acc()];
    case Form.A_DX: return [acc(), reg('dx')];
    case Form.DX_A: return [reg('dx'), acc()];
    case Form.I_I: return [imm(BigInt(insn.imm), 16), imm(BigInt(insn.sel), 8)];
    default: return [];
  }
}
