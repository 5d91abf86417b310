/**
 * Numeric enumerations of the decoded form: operation ids, operand shapes, decode status,
 * prefix flags and condition codes. All are plain `as const` objects of small integers so an
 * interpreter can `switch` on them and store them in typed arrays.
 */

/**
 * Operation id: one id per operation semantics (ADD, not "ADD r/m32, imm8"). The operand
 * shape is in {@link Form}, the operand size in `opSize`, the condition in `cc`.
 */
export const Op = {
  INVALID: 0,
  // integer arithmetic and logic
  ADD: 1, OR: 2, ADC: 3, SBB: 4, AND: 5, SUB: 6, XOR: 7, CMP: 8, TEST: 9,
  INC: 10, DEC: 11, NEG: 12, NOT: 13, MUL: 14, IMUL: 15, DIV: 16, IDIV: 17,
  ROL: 18, ROR: 19, RCL: 20, RCR: 21, SHL: 22, SHR: 23, SAR: 24, SHLD: 25, SHRD: 26,
  BT: 27, BTS: 28, BTR: 29, BTC: 30, BSF: 31, BSR: 32,
  SETCC: 33, CMOVCC: 34,
  // data movement
  MOV: 35, MOVZX: 36, MOVSX: 37, MOVSXD: 38, LEA: 39, XCHG: 40,
  PUSH: 41, POP: 42, PUSHF: 43, POPF: 44, PUSHA: 45, POPA: 46,
  /** CBW / CWDE / CDQE (by opSize 16/32/64). */
  CBW: 47,
  /** CWD / CDQ / CQO (by opSize 16/32/64). */
  CWD: 48,
  MOV_SREG: 49, MOV_CR: 50, MOV_DR: 51,
  // control transfer
  JCC: 52, JMP: 53, CALL: 54, RET: 55, JMPF: 56, CALLF: 57, RETF: 58,
  LOOP: 59, LOOPE: 60, LOOPNE: 61,
  /** JCXZ / JECXZ / JRCXZ (by addrSize 16/32/64). */
  JCXZ: 62,
  INT: 63, INT3: 64, INTO: 65,
  /** IRET / IRETD / IRETQ (by opSize 16/32/64). */
  IRET: 66,
  // string instructions (rep prefixes in `prefixes`)
  MOVS: 67, STOS: 68, LODS: 69, CMPS: 70, SCAS: 71, INS: 72, OUTS: 73,
  // flags
  CLD: 74, STD: 75, CLC: 76, STC: 77, CMC: 78, CLI: 79, STI: 80,
  // misc
  NOP: 81, PAUSE: 82, HLT: 83, IN: 84, OUT: 85,
  // system
  LGDT: 86, LIDT: 87, SGDT: 88, SIDT: 89, LLDT: 90, SLDT: 91, LTR: 92, STR: 93,
  LMSW: 94, SMSW: 95, LAR: 96, LSL: 97, VERR: 98, VERW: 99, CLTS: 100, SWAPGS: 101,
  SYSCALL: 102, SYSRET: 103, RDMSR: 104, WRMSR: 105, RDTSC: 106, RDTSCP: 107, CPUID: 108,
  INVLPG: 109, INVD: 110, WBINVD: 111,
  CMPXCHG: 112,
  /** CMPXCHG8B (opSize 16/32) / CMPXCHG16B (opSize 64, REX.W). */
  CMPXCHG8B: 113,
  XADD: 114,
  /** FXSAVE / FXSAVE64 (opSize 64, REX.W). */
  FXSAVE: 115,
  /** FXRSTOR / FXRSTOR64 (opSize 64, REX.W). */
  FXRSTOR: 116,
  UD0: 117, UD1: 118, UD2: 119,
  /** The native-service instruction (a reserved UD1 form); service number in `imm`. */
  NATIVE: 120,
  // VMX
  VMXON: 121, VMXOFF: 122, VMCLEAR: 123, VMPTRLD: 124, VMPTRST: 125, VMREAD: 126, VMWRITE: 127,
  VMLAUNCH: 128, VMRESUME: 129, VMCALL: 130, INVEPT: 131, INVVPID: 132,
  // small extras beyond the list (common in system code)
  LEAVE: 133, ENTER: 134, BSWAP: 135, LAHF: 136, SAHF: 137, XLAT: 138,
  LDS: 139, LES: 140, LFS: 141, LGS: 142, LSS: 143,
  /** Memory fences: 0F AE E8 / F0 / F8 (the SDM encodings; the rm != 0 aliases are unsupported). */
  LFENCE: 144, MFENCE: 145, SFENCE: 146,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

/** Number of operation ids (valid ids are 0 .. OP_COUNT-1). */
export const OP_COUNT = 147;

/** Upper-case name of each operation id (index = id). */
export const OP_NAMES: readonly string[] = (() => {
  const names: string[] = [];
  for (const [k, v] of Object.entries(Op)) names[v] = k;
  return names;
})();

/**
 * Operand shape. Letters follow the SDM/v86 convention:
 * E = the ModRM r/m operand (register `rm` when `isMem` is false, else the memory operand),
 * G = the ModRM reg operand (`reg`), I = immediate (`imm`/`immHi`), S = segment register
 * (`reg`), C / D = control / debug register (`reg`) with R = general register `rm`.
 * Operand order is Intel order (destination first).
 */
export const Form = {
  /** No explicit operands (or only implicit ones: string instructions, CBW, PUSHF, ...). */
  NONE: 0,
  /** One r/m operand (INC, NEG, PUSH r/m, PUSH r (rm = register), SETcc, LGDT m, JMP r/m, ...). */
  E: 1,
  /** r/m, reg (ADD r/m, r; MOV r/m, r; moffs stores have a base-less memory operand and reg=0). */
  E_G: 2,
  /** reg, r/m (ADD r, r/m; MOV r, r/m; MOVZX; LEA; CMOVcc; ...). */
  G_E: 3,
  /** r/m, imm (ADD r/m, imm; accumulator forms have rm=0; MOV r, imm has rm = register). */
  E_I: 4,
  /** reg, r/m, imm (3-operand IMUL). */
  G_E_I: 5,
  /** r/m, reg, imm8 (SHLD/SHRD). */
  E_G_I: 6,
  /** r/m, reg, CL (SHLD/SHRD). */
  E_G_CL: 7,
  /** r/m, 1 (shift/rotate by one). */
  E_1: 8,
  /** r/m, CL (shift/rotate by CL). */
  E_CL: 9,
  /** imm (PUSH imm, INT n, RET imm16, RETF imm16). */
  I: 10,
  /** Relative branch: target = next IP + `rel`, truncated to opSize. */
  REL: 11,
  /** Far pointer ptr16:16/ptr16:32: selector in `sel`, offset in `imm`. */
  FAR: 12,
  /** r/m, segment register (MOV r/m, Sreg): segment in `reg`. */
  E_S: 13,
  /** segment register, r/m (MOV Sreg, r/m): segment in `reg`. */
  S_E: 14,
  /** Segment register only (PUSH/POP Sreg): segment in `reg`. */
  S: 15,
  /** general register `rm`, control register `reg` (MOV r, CRn). */
  R_C: 16,
  /** control register `reg`, general register `rm` (MOV CRn, r). */
  C_R: 17,
  /** general register `rm`, debug register `reg` (MOV r, DRn). */
  R_D: 18,
  /** debug register `reg`, general register `rm` (MOV DRn, r). */
  D_R: 19,
  /** accumulator, imm8 port (IN AL/AX/EAX, imm8). */
  A_I: 20,
  /** imm8 port, accumulator (OUT imm8, AL/AX/EAX). */
  I_A: 21,
  /** accumulator, DX (IN AL/AX/EAX, DX). */
  A_DX: 22,
  /** DX, accumulator (OUT DX, AL/AX/EAX). */
  DX_A: 23,
  /** imm16, imm8 (ENTER): `imm` = frame size, `sel` = nesting level. */
  I_I: 24,
} as const;
export type Form = (typeof Form)[keyof typeof Form];

export const FORM_NAMES: readonly string[] = (() => {
  const names: string[] = [];
  for (const [k, v] of Object.entries(Form)) names[v] = k;
  return names;
})();

/** Outcome of a decode. Everything but OK makes the interpreter raise the fault noted. */
export const Status = {
  /** A supported instruction was decoded. */
  OK: 0,
  /** Not in the supported subset, or invalid on hardware in this mode (#UD). */
  UNSUPPORTED: 1,
  /** Fewer bytes were available than the instruction needs (refetch across the page boundary). */
  TRUNCATED: 2,
  /** The instruction would be longer than 15 bytes (#GP(0)). */
  TOO_LONG: 3,
  /** A LOCK prefix on an instruction or operand form that is not lockable (#UD). */
  INVALID_LOCK: 4,
} as const;
export type Status = (typeof Status)[keyof typeof Status];

export const STATUS_NAMES: readonly string[] = ['OK', 'UNSUPPORTED', 'TRUNCATED', 'TOO_LONG', 'INVALID_LOCK'];

/** Bits of `DecodedInstruction.prefixes`. */
export const Prefix = {
  /** F0 */
  LOCK: 1,
  /** F3 (REP / REPE / REPZ) — the last of F2/F3 wins, only one of REP/REPNE is set. */
  REP: 2,
  /** F2 (REPNE / REPNZ) */
  REPNE: 4,
  /** 66 (operand-size override) present. */
  OPSIZE: 8,
  /** 67 (address-size override) present. */
  ADDRSIZE: 16,
  /** A segment-override prefix is present (see `segOverride`). */
  SEG: 32,
  /** A REX prefix immediately precedes the opcode (see `rex`). */
  REX: 64,
} as const;

/** Condition codes (low nibble of Jcc/SETcc/CMOVcc opcodes). */
export const Cond = {
  O: 0, NO: 1, B: 2, AE: 3, E: 4, NE: 5, BE: 6, A: 7,
  S: 8, NS: 9, P: 10, NP: 11, L: 12, GE: 13, LE: 14, G: 15,
} as const;

/** objdump's suffix spelling of each condition code (jb, jae, je, jne, jbe, ja, js, jns, jp, jnp, jl, jge, jle, jg). */
export const COND_NAMES: readonly string[] = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
