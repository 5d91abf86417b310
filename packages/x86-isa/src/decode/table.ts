/**
 * THE opcode table: the single source from which the decoder's lookup tables are compiled (at
 * module load, see `compiled.ts`) and from which the tests generate encodings.
 *
 * Each row describes one encoding of one operation: where it lives (map + opcode byte, optional
 * ModRM.reg / ModRM.rm / mod restriction, mandatory-prefix class), what it is (operation id and
 * operand shape) and how its operands are sized (operand-size rule, r/m-operand size rule,
 * immediate kind). Rows never overlap; anything not covered decodes as UNSUPPORTED.
 */
import { Form, Op } from './ops.js';

/** Opcode maps. */
export const OpMap = { ONE: 0, X0F: 1, X0F38: 2, X0F3A: 3 } as const;
export type OpMap = (typeof OpMap)[keyof typeof OpMap];

/** Operand-size rules (how `opSize` is derived from the mode and the 66 / REX.W prefixes). */
export const SizeRule = {
  /** 16/32 by mode and 66, 64 with REX.W. */
  V: 0,
  /** Byte operation (opSize 8). */
  B: 1,
  /** Like V, but 64 by default in 64-bit mode (66 selects 16, 32 is not encodable): PUSH/POP. */
  D64: 2,
  /** Like V outside 64-bit mode; always 64 in 64-bit mode (66 ignored, Intel): near branches. */
  F64: 3,
  /** Always 16. */
  W: 4,
  /** Always 32. */
  D: 5,
  /** 32 outside 64-bit mode, 64 in 64-bit mode, prefixes ignored: MOV CR/DR, VMREAD/VMWRITE, INVEPT. */
  Y: 6,
  /** 16/32 by mode and 66; REX.W selects 32 (IN/OUT/INS/OUTS have no 64-bit form). */
  Z: 7,
  /** 32, or 64 with REX.W; 66 ignored (SYSRET has no 16-bit form). */
  DW: 8,
} as const;
export type SizeRule = (typeof SizeRule)[keyof typeof SizeRule];

/** Size rules of the r/m (E) operand, giving `eSize` in bits. */
export const ESizeRule = {
  /** Same as opSize. */
  OP: 0,
  B8: 1,
  W16: 2,
  D32: 3,
  Q64: 4,
  O128: 5,
  /** MOVSXD source: 16 when opSize is 16, else 32. */
  MOVSXD: 6,
  /** Register operand: opSize; memory operand: 16 bits (MOV r/m,Sreg; SLDT; STR; SMSW; LAR; ...). */
  RV_M16: 7,
  /** Pseudo-descriptor (LGDT...): 48 bits, 80 in 64-bit mode. */
  PDESC: 8,
  /** Far pointer m16:16/m16:32/m16:64: 16 + opSize bits. */
  FARPTR: 9,
  /** CMPXCHG8B/16B: 64, or 128 with opSize 64. */
  CX8: 10,
  /** FXSAVE area: 512 bytes (4096 bits). */
  FX: 11,
  /** No data access / size not meaningful (LEA, INVLPG): 0. */
  NONE: 12,
} as const;
export type ESizeRule = (typeof ESizeRule)[keyof typeof ESizeRule];

/** Immediate / trailing-operand kinds. */
export const ImmKind = {
  NONE: 0,
  /** imm8, unsigned (shift counts, ports, INT n, BT bit numbers, byte-operation immediates). */
  B: 1,
  /** imm8 sign-extended to the operand size (83 /x, 6B, 6A). */
  BS: 2,
  /** imm16 (RET/RETF imm16). */
  W: 3,
  /** imm16 or imm32 by operand size; imm32 is sign-extended for 64-bit operations. */
  Z: 4,
  /** imm16 / imm32 / imm64 by operand size (MOV r, imm: B8+r). */
  V: 5,
  /** rel8 */
  JB: 6,
  /** rel16 / rel32 by operand size (rel32 in 64-bit mode). */
  JZ: 7,
  /** Far pointer ptr16:16 / ptr16:32: offset (opSize) then selector. */
  AP: 8,
  /** moffs: address-size offset (2, 4 or 8 bytes). */
  MOFFS: 9,
  /** imm16 then imm8 (ENTER). */
  WB: 10,
} as const;
export type ImmKind = (typeof ImmKind)[keyof typeof ImmKind];

/** Mode bits. */
export const ModeMask = { M16: 1, M32: 2, M64: 4, ALL: 7, NO64: 3, ONLY64: 4 } as const;

/** Mandatory-prefix classes: the last of F2/F3 if any, else 66 if present, else none. */
export const PfxClass = { NONE: 0, P66: 1, PF3: 2, PF2: 3 } as const;

export interface OpcodeSpec {
  /** Operation id. */
  readonly op: Op;
  /** Operand shape. */
  readonly form: Form;
  /** Opcode map. */
  readonly map: OpMap;
  /** Opcode byte (for `plusr`/`cc` rows: the first of the 8 / 16 opcodes). */
  readonly opcode: number;
  /** ModRM.reg value (opcode extension /digit), if the row needs one. */
  readonly reg?: number;
  /** ModRM.rm value (implies mod = 3), for rows like 0F 01 C1. */
  readonly rm?: number;
  /** Restriction of ModRM.mod: memory only, register only. */
  readonly mod?: 'mem' | 'reg';
  /** Mandatory-prefix classes the row applies to (default: all four). */
  readonly pfx?: readonly number[];
  readonly size: SizeRule;
  readonly esize?: ESizeRule;
  readonly imm?: ImmKind;
  /** Valid modes (ModeMask bits, default ALL). */
  readonly modes?: number;
  /** LOCK allowed when the r/m operand is memory. */
  readonly lock?: boolean;
  /** Register in the low 3 bits of the opcode (REX.B extends); goes to `rm`. The row covers `count` opcodes (default 8). */
  readonly plusr?: boolean;
  /** Number of consecutive opcodes a `plusr` row covers (default 8). */
  readonly count?: number;
  /** Condition code in the low 4 bits of the opcode (16 opcodes); goes to `cc`. */
  readonly cc?: boolean;
  /** Fixed value of the `rm` register operand (accumulator forms), no ModRM. */
  readonly fixedRm?: number;
  /** Fixed value of the `reg` operand (moffs forms: 0; PUSH/POP Sreg: the segment), no ModRM unless the form needs it. */
  readonly fixedReg?: number;
  /** ModRM.mod is ignored and the r/m operand is always a register (MOV CR/DR). */
  readonly forceReg?: boolean;
  /** Allowed values of ModRM.reg when it names a control/debug/segment register (others: UNSUPPORTED). */
  readonly regValid?: readonly number[];
}

const { ONE, X0F, X0F38 } = OpMap;
const S = SizeRule;
const ES = ESizeRule;
const I = ImmKind;
const F = Form;
const M = ModeMask;
const NONE_ONLY = [PfxClass.NONE];
const NO_F3 = [PfxClass.NONE, PfxClass.P66, PfxClass.PF2];

const rows: OpcodeSpec[] = [];
function row(spec: OpcodeSpec): void {
  rows.push(spec);
}

// ---------------------------------------------------------------- one-byte map
// ALU: 00-3F (ADD OR ADC SBB AND SUB XOR CMP) — Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev / AL,Ib / eAX,Iz
const ALU = [Op.ADD, Op.OR, Op.ADC, Op.SBB, Op.AND, Op.SUB, Op.XOR, Op.CMP] as const;
ALU.forEach((op, i) => {
  const base = i * 8;
  const lock = op !== Op.CMP;
  row({ op, form: F.E_G, map: ONE, opcode: base, size: S.B, lock });
  row({ op, form: F.E_G, map: ONE, opcode: base + 1, size: S.V, lock });
  row({ op, form: F.G_E, map: ONE, opcode: base + 2, size: S.B });
  row({ op, form: F.G_E, map: ONE, opcode: base + 3, size: S.V });
  row({ op, form: F.E_I, map: ONE, opcode: base + 4, size: S.B, imm: I.B, fixedRm: 0 });
  row({ op, form: F.E_I, map: ONE, opcode: base + 5, size: S.V, imm: I.Z, fixedRm: 0 });
  // group 1: 80 /i Eb,Ib ; 81 /i Ev,Iz ; 82 /i Eb,Ib (not 64) ; 83 /i Ev,Ib(sign-extended)
  row({ op, form: F.E_I, map: ONE, opcode: 0x80, reg: i, size: S.B, imm: I.B, lock });
  row({ op, form: F.E_I, map: ONE, opcode: 0x81, reg: i, size: S.V, imm: I.Z, lock });
  row({ op, form: F.E_I, map: ONE, opcode: 0x82, reg: i, size: S.B, imm: I.B, lock, modes: M.NO64 });
  row({ op, form: F.E_I, map: ONE, opcode: 0x83, reg: i, size: S.V, imm: I.BS, lock });
});
// PUSH/POP segment registers (06 07 0E 16 17 1E 1F), not in 64-bit mode
for (const [opc, op, seg] of [
  [0x06, Op.PUSH, 0], [0x07, Op.POP, 0], [0x0e, Op.PUSH, 1], [0x16, Op.PUSH, 2], [0x17, Op.POP, 2],
  [0x1e, Op.PUSH, 3], [0x1f, Op.POP, 3],
] as const) {
  row({ op, form: F.S, map: ONE, opcode: opc, size: S.D64, fixedReg: seg, modes: M.NO64 });
}
// INC/DEC r (40-4F; REX prefixes in 64-bit mode)
row({ op: Op.INC, form: F.E, map: ONE, opcode: 0x40, size: S.V, plusr: true, modes: M.NO64 });
row({ op: Op.DEC, form: F.E, map: ONE, opcode: 0x48, size: S.V, plusr: true, modes: M.NO64 });
// PUSH/POP r
row({ op: Op.PUSH, form: F.E, map: ONE, opcode: 0x50, size: S.D64, plusr: true });
row({ op: Op.POP, form: F.E, map: ONE, opcode: 0x58, size: S.D64, plusr: true });
row({ op: Op.PUSHA, form: F.NONE, map: ONE, opcode: 0x60, size: S.V, modes: M.NO64 });
row({ op: Op.POPA, form: F.NONE, map: ONE, opcode: 0x61, size: S.V, modes: M.NO64 });
row({ op: Op.MOVSXD, form: F.G_E, map: ONE, opcode: 0x63, size: S.V, esize: ES.MOVSXD, modes: M.ONLY64 });
row({ op: Op.PUSH, form: F.I, map: ONE, opcode: 0x68, size: S.D64, imm: I.Z });
row({ op: Op.IMUL, form: F.G_E_I, map: ONE, opcode: 0x69, size: S.V, imm: I.Z });
row({ op: Op.PUSH, form: F.I, map: ONE, opcode: 0x6a, size: S.D64, imm: I.BS });
row({ op: Op.IMUL, form: F.G_E_I, map: ONE, opcode: 0x6b, size: S.V, imm: I.BS });
row({ op: Op.INS, form: F.NONE, map: ONE, opcode: 0x6c, size: S.B });
row({ op: Op.INS, form: F.NONE, map: ONE, opcode: 0x6d, size: S.Z });
row({ op: Op.OUTS, form: F.NONE, map: ONE, opcode: 0x6e, size: S.B });
row({ op: Op.OUTS, form: F.NONE, map: ONE, opcode: 0x6f, size: S.Z });
row({ op: Op.JCC, form: F.REL, map: ONE, opcode: 0x70, size: S.F64, imm: I.JB, cc: true });
row({ op: Op.TEST, form: F.E_G, map: ONE, opcode: 0x84, size: S.B });
row({ op: Op.TEST, form: F.E_G, map: ONE, opcode: 0x85, size: S.V });
row({ op: Op.XCHG, form: F.E_G, map: ONE, opcode: 0x86, size: S.B, lock: true });
row({ op: Op.XCHG, form: F.E_G, map: ONE, opcode: 0x87, size: S.V, lock: true });
row({ op: Op.MOV, form: F.E_G, map: ONE, opcode: 0x88, size: S.B });
row({ op: Op.MOV, form: F.E_G, map: ONE, opcode: 0x89, size: S.V });
row({ op: Op.MOV, form: F.G_E, map: ONE, opcode: 0x8a, size: S.B });
row({ op: Op.MOV, form: F.G_E, map: ONE, opcode: 0x8b, size: S.V });
row({ op: Op.MOV_SREG, form: F.E_S, map: ONE, opcode: 0x8c, size: S.V, esize: ES.RV_M16, regValid: [0, 1, 2, 3, 4, 5] });
row({ op: Op.LEA, form: F.G_E, map: ONE, opcode: 0x8d, size: S.V, esize: ES.NONE, mod: 'mem' });
row({ op: Op.MOV_SREG, form: F.S_E, map: ONE, opcode: 0x8e, size: S.V, esize: ES.RV_M16, regValid: [0, 2, 3, 4, 5] });
row({ op: Op.POP, form: F.E, map: ONE, opcode: 0x8f, reg: 0, size: S.D64 });
// 90: NOP / PAUSE (F3 90); with REX.B it is XCHG r8, rAX (handled by the decoder)
row({ op: Op.NOP, form: F.NONE, map: ONE, opcode: 0x90, size: S.V, pfx: NO_F3 });
row({ op: Op.PAUSE, form: F.NONE, map: ONE, opcode: 0x90, size: S.V, pfx: [PfxClass.PF3] });
row({ op: Op.XCHG, form: F.E_G, map: ONE, opcode: 0x91, size: S.V, plusr: true, count: 7, fixedReg: 0 });
row({ op: Op.CBW, form: F.NONE, map: ONE, opcode: 0x98, size: S.V });
row({ op: Op.CWD, form: F.NONE, map: ONE, opcode: 0x99, size: S.V });
row({ op: Op.CALLF, form: F.FAR, map: ONE, opcode: 0x9a, size: S.V, imm: I.AP, modes: M.NO64 });
row({ op: Op.PUSHF, form: F.NONE, map: ONE, opcode: 0x9c, size: S.D64 });
row({ op: Op.POPF, form: F.NONE, map: ONE, opcode: 0x9d, size: S.D64 });
row({ op: Op.SAHF, form: F.NONE, map: ONE, opcode: 0x9e, size: S.V });
row({ op: Op.LAHF, form: F.NONE, map: ONE, opcode: 0x9f, size: S.V });
row({ op: Op.MOV, form: F.G_E, map: ONE, opcode: 0xa0, size: S.B, imm: I.MOFFS, fixedReg: 0 });
row({ op: Op.MOV, form: F.G_E, map: ONE, opcode: 0xa1, size: S.V, imm: I.MOFFS, fixedReg: 0 });
row({ op: Op.MOV, form: F.E_G, map: ONE, opcode: 0xa2, size: S.B, imm: I.MOFFS, fixedReg: 0 });
row({ op: Op.MOV, form: F.E_G, map: ONE, opcode: 0xa3, size: S.V, imm: I.MOFFS, fixedReg: 0 });
row({ op: Op.MOVS, form: F.NONE, map: ONE, opcode: 0xa4, size: S.B });
row({ op: Op.MOVS, form: F.NONE, map: ONE, opcode: 0xa5, size: S.V });
row({ op: Op.CMPS, form: F.NONE, map: ONE, opcode: 0xa6, size: S.B });
row({ op: Op.CMPS, form: F.NONE, map: ONE, opcode: 0xa7, size: S.V });
row({ op: Op.TEST, form: F.E_I, map: ONE, opcode: 0xa8, size: S.B, imm: I.B, fixedRm: 0 });
row({ op: Op.TEST, form: F.E_I, map: ONE, opcode: 0xa9, size: S.V, imm: I.Z, fixedRm: 0 });
row({ op: Op.STOS, form: F.NONE, map: ONE, opcode: 0xaa, size: S.B });
row({ op: Op.STOS, form: F.NONE, map: ONE, opcode: 0xab, size: S.V });
row({ op: Op.LODS, form: F.NONE, map: ONE, opcode: 0xac, size: S.B });
row({ op: Op.LODS, form: F.NONE, map: ONE, opcode: 0xad, size: S.V });
row({ op: Op.SCAS, form: F.NONE, map: ONE, opcode: 0xae, size: S.B });
row({ op: Op.SCAS, form: F.NONE, map: ONE, opcode: 0xaf, size: S.V });
row({ op: Op.MOV, form: F.E_I, map: ONE, opcode: 0xb0, size: S.B, imm: I.B, plusr: true });
row({ op: Op.MOV, form: F.E_I, map: ONE, opcode: 0xb8, size: S.V, imm: I.V, plusr: true });
// group 2: shifts and rotates
const SHIFTS = [Op.ROL, Op.ROR, Op.RCL, Op.RCR, Op.SHL, Op.SHR, Op.SHL, Op.SAR] as const;
SHIFTS.forEach((op, r) => {
  row({ op, form: F.E_I, map: ONE, opcode: 0xc0, reg: r, size: S.B, imm: I.B });
  row({ op, form: F.E_I, map: ONE, opcode: 0xc1, reg: r, size: S.V, imm: I.B });
  row({ op, form: F.E_1, map: ONE, opcode: 0xd0, reg: r, size: S.B });
  row({ op, form: F.E_1, map: ONE, opcode: 0xd1, reg: r, size: S.V });
  row({ op, form: F.E_CL, map: ONE, opcode: 0xd2, reg: r, size: S.B });
  row({ op, form: F.E_CL, map: ONE, opcode: 0xd3, reg: r, size: S.V });
});
row({ op: Op.RET, form: F.I, map: ONE, opcode: 0xc2, size: S.F64, imm: I.W });
row({ op: Op.RET, form: F.NONE, map: ONE, opcode: 0xc3, size: S.F64 });
row({ op: Op.LES, form: F.G_E, map: ONE, opcode: 0xc4, size: S.V, esize: ES.FARPTR, mod: 'mem', modes: M.NO64 });
row({ op: Op.LDS, form: F.G_E, map: ONE, opcode: 0xc5, size: S.V, esize: ES.FARPTR, mod: 'mem', modes: M.NO64 });
row({ op: Op.MOV, form: F.E_I, map: ONE, opcode: 0xc6, reg: 0, size: S.B, imm: I.B });
row({ op: Op.MOV, form: F.E_I, map: ONE, opcode: 0xc7, reg: 0, size: S.V, imm: I.Z });
row({ op: Op.ENTER, form: F.I_I, map: ONE, opcode: 0xc8, size: S.D64, imm: I.WB });
row({ op: Op.LEAVE, form: F.NONE, map: ONE, opcode: 0xc9, size: S.D64 });
row({ op: Op.RETF, form: F.I, map: ONE, opcode: 0xca, size: S.V, imm: I.W });
row({ op: Op.RETF, form: F.NONE, map: ONE, opcode: 0xcb, size: S.V });
row({ op: Op.INT3, form: F.NONE, map: ONE, opcode: 0xcc, size: S.V });
row({ op: Op.INT, form: F.I, map: ONE, opcode: 0xcd, size: S.V, imm: I.B });
row({ op: Op.INTO, form: F.NONE, map: ONE, opcode: 0xce, size: S.V, modes: M.NO64 });
row({ op: Op.IRET, form: F.NONE, map: ONE, opcode: 0xcf, size: S.V });
row({ op: Op.XLAT, form: F.NONE, map: ONE, opcode: 0xd7, size: S.B });
row({ op: Op.LOOPNE, form: F.REL, map: ONE, opcode: 0xe0, size: S.F64, imm: I.JB });
row({ op: Op.LOOPE, form: F.REL, map: ONE, opcode: 0xe1, size: S.F64, imm: I.JB });
row({ op: Op.LOOP, form: F.REL, map: ONE, opcode: 0xe2, size: S.F64, imm: I.JB });
row({ op: Op.JCXZ, form: F.REL, map: ONE, opcode: 0xe3, size: S.F64, imm: I.JB });
row({ op: Op.IN, form: F.A_I, map: ONE, opcode: 0xe4, size: S.B, imm: I.B });
row({ op: Op.IN, form: F.A_I, map: ONE, opcode: 0xe5, size: S.Z, imm: I.B });
row({ op: Op.OUT, form: F.I_A, map: ONE, opcode: 0xe6, size: S.B, imm: I.B });
row({ op: Op.OUT, form: F.I_A, map: ONE, opcode: 0xe7, size: S.Z, imm: I.B });
row({ op: Op.CALL, form: F.REL, map: ONE, opcode: 0xe8, size: S.F64, imm: I.JZ });
row({ op: Op.JMP, form: F.REL, map: ONE, opcode: 0xe9, size: S.F64, imm: I.JZ });
row({ op: Op.JMPF, form: F.FAR, map: ONE, opcode: 0xea, size: S.V, imm: I.AP, modes: M.NO64 });
row({ op: Op.JMP, form: F.REL, map: ONE, opcode: 0xeb, size: S.F64, imm: I.JB });
row({ op: Op.IN, form: F.A_DX, map: ONE, opcode: 0xec, size: S.B });
row({ op: Op.IN, form: F.A_DX, map: ONE, opcode: 0xed, size: S.Z });
row({ op: Op.OUT, form: F.DX_A, map: ONE, opcode: 0xee, size: S.B });
row({ op: Op.OUT, form: F.DX_A, map: ONE, opcode: 0xef, size: S.Z });
row({ op: Op.HLT, form: F.NONE, map: ONE, opcode: 0xf4, size: S.V });
row({ op: Op.CMC, form: F.NONE, map: ONE, opcode: 0xf5, size: S.V });
// group 3
for (const [opc, size, imm] of [[0xf6, S.B, I.B], [0xf7, S.V, I.Z]] as const) {
  row({ op: Op.TEST, form: F.E_I, map: ONE, opcode: opc, reg: 0, size, imm });
  row({ op: Op.TEST, form: F.E_I, map: ONE, opcode: opc, reg: 1, size, imm });
  row({ op: Op.NOT, form: F.E, map: ONE, opcode: opc, reg: 2, size, lock: true });
  row({ op: Op.NEG, form: F.E, map: ONE, opcode: opc, reg: 3, size, lock: true });
  row({ op: Op.MUL, form: F.E, map: ONE, opcode: opc, reg: 4, size });
  row({ op: Op.IMUL, form: F.E, map: ONE, opcode: opc, reg: 5, size });
  row({ op: Op.DIV, form: F.E, map: ONE, opcode: opc, reg: 6, size });
  row({ op: Op.IDIV, form: F.E, map: ONE, opcode: opc, reg: 7, size });
}
row({ op: Op.CLC, form: F.NONE, map: ONE, opcode: 0xf8, size: S.V });
row({ op: Op.STC, form: F.NONE, map: ONE, opcode: 0xf9, size: S.V });
row({ op: Op.CLI, form: F.NONE, map: ONE, opcode: 0xfa, size: S.V });
row({ op: Op.STI, form: F.NONE, map: ONE, opcode: 0xfb, size: S.V });
row({ op: Op.CLD, form: F.NONE, map: ONE, opcode: 0xfc, size: S.V });
row({ op: Op.STD, form: F.NONE, map: ONE, opcode: 0xfd, size: S.V });
// group 4 / 5
row({ op: Op.INC, form: F.E, map: ONE, opcode: 0xfe, reg: 0, size: S.B, lock: true });
row({ op: Op.DEC, form: F.E, map: ONE, opcode: 0xfe, reg: 1, size: S.B, lock: true });
row({ op: Op.INC, form: F.E, map: ONE, opcode: 0xff, reg: 0, size: S.V, lock: true });
row({ op: Op.DEC, form: F.E, map: ONE, opcode: 0xff, reg: 1, size: S.V, lock: true });
row({ op: Op.CALL, form: F.E, map: ONE, opcode: 0xff, reg: 2, size: S.F64 });
row({ op: Op.CALLF, form: F.E, map: ONE, opcode: 0xff, reg: 3, size: S.V, esize: ES.FARPTR, mod: 'mem' });
row({ op: Op.JMP, form: F.E, map: ONE, opcode: 0xff, reg: 4, size: S.F64 });
row({ op: Op.JMPF, form: F.E, map: ONE, opcode: 0xff, reg: 5, size: S.V, esize: ES.FARPTR, mod: 'mem' });
row({ op: Op.PUSH, form: F.E, map: ONE, opcode: 0xff, reg: 6, size: S.D64 });

// ---------------------------------------------------------------- 0F map
// group 6
row({ op: Op.SLDT, form: F.E, map: X0F, opcode: 0x00, reg: 0, size: S.V, esize: ES.RV_M16 });
row({ op: Op.STR, form: F.E, map: X0F, opcode: 0x00, reg: 1, size: S.V, esize: ES.RV_M16 });
row({ op: Op.LLDT, form: F.E, map: X0F, opcode: 0x00, reg: 2, size: S.V, esize: ES.W16 });
row({ op: Op.LTR, form: F.E, map: X0F, opcode: 0x00, reg: 3, size: S.V, esize: ES.W16 });
row({ op: Op.VERR, form: F.E, map: X0F, opcode: 0x00, reg: 4, size: S.V, esize: ES.W16 });
row({ op: Op.VERW, form: F.E, map: X0F, opcode: 0x00, reg: 5, size: S.V, esize: ES.W16 });
// group 7
row({ op: Op.SGDT, form: F.E, map: X0F, opcode: 0x01, reg: 0, mod: 'mem', size: S.V, esize: ES.PDESC });
row({ op: Op.VMCALL, form: F.NONE, map: X0F, opcode: 0x01, reg: 0, rm: 1, size: S.V, pfx: NONE_ONLY });
row({ op: Op.VMLAUNCH, form: F.NONE, map: X0F, opcode: 0x01, reg: 0, rm: 2, size: S.V, pfx: NONE_ONLY });
row({ op: Op.VMRESUME, form: F.NONE, map: X0F, opcode: 0x01, reg: 0, rm: 3, size: S.V, pfx: NONE_ONLY });
row({ op: Op.VMXOFF, form: F.NONE, map: X0F, opcode: 0x01, reg: 0, rm: 4, size: S.V, pfx: NONE_ONLY });
row({ op: Op.SIDT, form: F.E, map: X0F, opcode: 0x01, reg: 1, mod: 'mem', size: S.V, esize: ES.PDESC });
row({ op: Op.LGDT, form: F.E, map: X0F, opcode: 0x01, reg: 2, mod: 'mem', size: S.V, esize: ES.PDESC });
row({ op: Op.LIDT, form: F.E, map: X0F, opcode: 0x01, reg: 3, mod: 'mem', size: S.V, esize: ES.PDESC });
row({ op: Op.SMSW, form: F.E, map: X0F, opcode: 0x01, reg: 4, size: S.V, esize: ES.RV_M16 });
row({ op: Op.LMSW, form: F.E, map: X0F, opcode: 0x01, reg: 6, size: S.V, esize: ES.W16 });
row({ op: Op.INVLPG, form: F.E, map: X0F, opcode: 0x01, reg: 7, mod: 'mem', size: S.V, esize: ES.NONE });
row({ op: Op.SWAPGS, form: F.NONE, map: X0F, opcode: 0x01, reg: 7, rm: 0, size: S.V, modes: M.ONLY64 });
row({ op: Op.RDTSCP, form: F.NONE, map: X0F, opcode: 0x01, reg: 7, rm: 1, size: S.V });
row({ op: Op.LAR, form: F.G_E, map: X0F, opcode: 0x02, size: S.V, esize: ES.RV_M16 });
row({ op: Op.LSL, form: F.G_E, map: X0F, opcode: 0x03, size: S.V, esize: ES.RV_M16 });
row({ op: Op.SYSCALL, form: F.NONE, map: X0F, opcode: 0x05, size: S.V, modes: M.ONLY64 });
row({ op: Op.CLTS, form: F.NONE, map: X0F, opcode: 0x06, size: S.V });
row({ op: Op.SYSRET, form: F.NONE, map: X0F, opcode: 0x07, size: S.DW, modes: M.ONLY64 });
row({ op: Op.INVD, form: F.NONE, map: X0F, opcode: 0x08, size: S.V });
row({ op: Op.WBINVD, form: F.NONE, map: X0F, opcode: 0x09, size: S.V, pfx: NO_F3 });
row({ op: Op.UD2, form: F.NONE, map: X0F, opcode: 0x0b, size: S.V });
row({ op: Op.NOP, form: F.E, map: X0F, opcode: 0x1f, reg: 0, size: S.V });
row({ op: Op.MOV_CR, form: F.R_C, map: X0F, opcode: 0x20, size: S.Y, forceReg: true, regValid: [0, 2, 3, 4, 8] });
row({ op: Op.MOV_DR, form: F.R_D, map: X0F, opcode: 0x21, size: S.Y, forceReg: true, regValid: [0, 1, 2, 3, 4, 5, 6, 7] });
row({ op: Op.MOV_CR, form: F.C_R, map: X0F, opcode: 0x22, size: S.Y, forceReg: true, regValid: [0, 2, 3, 4, 8] });
row({ op: Op.MOV_DR, form: F.D_R, map: X0F, opcode: 0x23, size: S.Y, forceReg: true, regValid: [0, 1, 2, 3, 4, 5, 6, 7] });
row({ op: Op.WRMSR, form: F.NONE, map: X0F, opcode: 0x30, size: S.V });
row({ op: Op.RDTSC, form: F.NONE, map: X0F, opcode: 0x31, size: S.V });
row({ op: Op.RDMSR, form: F.NONE, map: X0F, opcode: 0x32, size: S.V });
row({ op: Op.CMOVCC, form: F.G_E, map: X0F, opcode: 0x40, size: S.V, cc: true });
row({ op: Op.VMREAD, form: F.E_G, map: X0F, opcode: 0x78, size: S.Y, pfx: NONE_ONLY });
row({ op: Op.VMWRITE, form: F.G_E, map: X0F, opcode: 0x79, size: S.Y, pfx: NONE_ONLY });
row({ op: Op.JCC, form: F.REL, map: X0F, opcode: 0x80, size: S.F64, imm: I.JZ, cc: true });
row({ op: Op.SETCC, form: F.E, map: X0F, opcode: 0x90, size: S.B, cc: true });
row({ op: Op.PUSH, form: F.S, map: X0F, opcode: 0xa0, size: S.D64, fixedReg: 4 });
row({ op: Op.POP, form: F.S, map: X0F, opcode: 0xa1, size: S.D64, fixedReg: 4 });
row({ op: Op.CPUID, form: F.NONE, map: X0F, opcode: 0xa2, size: S.V });
row({ op: Op.BT, form: F.E_G, map: X0F, opcode: 0xa3, size: S.V });
row({ op: Op.SHLD, form: F.E_G_I, map: X0F, opcode: 0xa4, size: S.V, imm: I.B });
row({ op: Op.SHLD, form: F.E_G_CL, map: X0F, opcode: 0xa5, size: S.V });
row({ op: Op.PUSH, form: F.S, map: X0F, opcode: 0xa8, size: S.D64, fixedReg: 5 });
row({ op: Op.POP, form: F.S, map: X0F, opcode: 0xa9, size: S.D64, fixedReg: 5 });
row({ op: Op.BTS, form: F.E_G, map: X0F, opcode: 0xab, size: S.V, lock: true });
row({ op: Op.SHRD, form: F.E_G_I, map: X0F, opcode: 0xac, size: S.V, imm: I.B });
row({ op: Op.SHRD, form: F.E_G_CL, map: X0F, opcode: 0xad, size: S.V });
row({ op: Op.FXSAVE, form: F.E, map: X0F, opcode: 0xae, reg: 0, mod: 'mem', size: S.V, esize: ES.FX, pfx: NONE_ONLY });
row({ op: Op.FXRSTOR, form: F.E, map: X0F, opcode: 0xae, reg: 1, mod: 'mem', size: S.V, esize: ES.FX, pfx: NONE_ONLY });
row({ op: Op.LFENCE, form: F.NONE, map: X0F, opcode: 0xae, reg: 5, mod: 'reg', rm: 0, size: S.V, pfx: NONE_ONLY });
row({ op: Op.MFENCE, form: F.NONE, map: X0F, opcode: 0xae, reg: 6, mod: 'reg', rm: 0, size: S.V, pfx: NONE_ONLY });
row({ op: Op.SFENCE, form: F.NONE, map: X0F, opcode: 0xae, reg: 7, mod: 'reg', rm: 0, size: S.V, pfx: NONE_ONLY });
row({ op: Op.IMUL, form: F.G_E, map: X0F, opcode: 0xaf, size: S.V });
row({ op: Op.CMPXCHG, form: F.E_G, map: X0F, opcode: 0xb0, size: S.B, lock: true });
row({ op: Op.CMPXCHG, form: F.E_G, map: X0F, opcode: 0xb1, size: S.V, lock: true });
row({ op: Op.LSS, form: F.G_E, map: X0F, opcode: 0xb2, size: S.V, esize: ES.FARPTR, mod: 'mem' });
row({ op: Op.BTR, form: F.E_G, map: X0F, opcode: 0xb3, size: S.V, lock: true });
row({ op: Op.LFS, form: F.G_E, map: X0F, opcode: 0xb4, size: S.V, esize: ES.FARPTR, mod: 'mem' });
row({ op: Op.LGS, form: F.G_E, map: X0F, opcode: 0xb5, size: S.V, esize: ES.FARPTR, mod: 'mem' });
row({ op: Op.MOVZX, form: F.G_E, map: X0F, opcode: 0xb6, size: S.V, esize: ES.B8 });
row({ op: Op.MOVZX, form: F.G_E, map: X0F, opcode: 0xb7, size: S.V, esize: ES.W16 });
row({ op: Op.UD1, form: F.G_E, map: X0F, opcode: 0xb9, size: S.V });
row({ op: Op.BT, form: F.E_I, map: X0F, opcode: 0xba, reg: 4, size: S.V, imm: I.B });
row({ op: Op.BTS, form: F.E_I, map: X0F, opcode: 0xba, reg: 5, size: S.V, imm: I.B, lock: true });
row({ op: Op.BTR, form: F.E_I, map: X0F, opcode: 0xba, reg: 6, size: S.V, imm: I.B, lock: true });
row({ op: Op.BTC, form: F.E_I, map: X0F, opcode: 0xba, reg: 7, size: S.V, imm: I.B, lock: true });
row({ op: Op.BTC, form: F.E_G, map: X0F, opcode: 0xbb, size: S.V, lock: true });
row({ op: Op.BSF, form: F.G_E, map: X0F, opcode: 0xbc, size: S.V, pfx: NO_F3 });
row({ op: Op.BSR, form: F.G_E, map: X0F, opcode: 0xbd, size: S.V, pfx: NO_F3 });
row({ op: Op.MOVSX, form: F.G_E, map: X0F, opcode: 0xbe, size: S.V, esize: ES.B8 });
row({ op: Op.MOVSX, form: F.G_E, map: X0F, opcode: 0xbf, size: S.V, esize: ES.W16 });
row({ op: Op.XADD, form: F.E_G, map: X0F, opcode: 0xc0, size: S.B, lock: true });
row({ op: Op.XADD, form: F.E_G, map: X0F, opcode: 0xc1, size: S.V, lock: true });
// group 9
row({ op: Op.CMPXCHG8B, form: F.E, map: X0F, opcode: 0xc7, reg: 1, mod: 'mem', size: S.V, esize: ES.CX8, lock: true });
row({ op: Op.VMPTRLD, form: F.E, map: X0F, opcode: 0xc7, reg: 6, mod: 'mem', size: S.V, esize: ES.Q64, pfx: [PfxClass.NONE] });
row({ op: Op.VMCLEAR, form: F.E, map: X0F, opcode: 0xc7, reg: 6, mod: 'mem', size: S.V, esize: ES.Q64, pfx: [PfxClass.P66] });
row({ op: Op.VMXON, form: F.E, map: X0F, opcode: 0xc7, reg: 6, mod: 'mem', size: S.V, esize: ES.Q64, pfx: [PfxClass.PF3] });
row({ op: Op.VMPTRST, form: F.E, map: X0F, opcode: 0xc7, reg: 7, mod: 'mem', size: S.V, esize: ES.Q64, pfx: [PfxClass.NONE] });
row({ op: Op.BSWAP, form: F.E, map: X0F, opcode: 0xc8, size: S.V, plusr: true });
row({ op: Op.UD0, form: F.G_E, map: X0F, opcode: 0xff, size: S.V });

// ---------------------------------------------------------------- 0F 38 map
row({ op: Op.INVEPT, form: F.G_E, map: X0F38, opcode: 0x80, mod: 'mem', size: S.Y, esize: ES.O128, pfx: [PfxClass.P66] });
row({ op: Op.INVVPID, form: F.G_E, map: X0F38, opcode: 0x81, mod: 'mem', size: S.Y, esize: ES.O128, pfx: [PfxClass.P66] });

/** The opcode table (read-only). One row per encoding of an operation; see {@link OpcodeSpec}. */
export const OPCODE_TABLE: readonly OpcodeSpec[] = rows;
