/**
 * Register numbering used by the decoded form.
 *
 * - General-purpose registers: 0..15 = rAX, rCX, rDX, rBX, rSP, rBP, rSI, rDI, r8..r15 (the
 *   hardware numbering, REX bits already applied). The width comes from the instruction
 *   (`opSize`, or `eSize` for the r/m operand).
 * - Byte registers (8-bit operands): 0..15 are the low bytes (AL, CL, DL, BL, SPL, BPL, SIL, DIL,
 *   R8B..R15B) and 16..19 are AH, CH, DH, BH. The decoder resolves the REX rule (register 4..7
 *   without any REX prefix means AH..BH), so the interpreter never looks at REX for this.
 * - Segment registers: 0..5 = ES, CS, SS, DS, FS, GS (hardware numbering).
 * - Control registers: 0..15 = CR0..CR15; debug registers: 0..15 = DR0..DR15 (REX.R applied;
 *   the decoder does not reject reserved numbers, the interpreter raises #UD for them).
 */

/** Register number meaning "no register" (memory operand without base or without index). */
export const NO_REG = -1;

export const Reg = {
  RAX: 0, RCX: 1, RDX: 2, RBX: 3, RSP: 4, RBP: 5, RSI: 6, RDI: 7,
  R8: 8, R9: 9, R10: 10, R11: 11, R12: 12, R13: 13, R14: 14, R15: 15,
  /** Byte-operand numbers of the legacy high-byte registers. */
  AH: 16, CH: 17, DH: 18, BH: 19,
} as const;

export const Seg = { ES: 0, CS: 1, SS: 2, DS: 3, FS: 4, GS: 5 } as const;
export type Seg = (typeof Seg)[keyof typeof Seg];

const GPR64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const GPR32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'r8d', 'r9d', 'r10d', 'r11d', 'r12d', 'r13d', 'r14d', 'r15d'];
const GPR16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di', 'r8w', 'r9w', 'r10w', 'r11w', 'r12w', 'r13w', 'r14w', 'r15w'];
const GPR8 = [
  'al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil', 'r8b', 'r9b', 'r10b', 'r11b', 'r12b', 'r13b', 'r14b', 'r15b',
  'ah', 'ch', 'dh', 'bh',
];
const SEG_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];

/** Lower-case name of general-purpose register `reg` at `size` bits (8, 16, 32 or 64), as objdump prints it. */
export function gprName(reg: number, size: number): string {
  const table = size === 64 ? GPR64 : size === 32 ? GPR32 : size === 16 ? GPR16 : GPR8;
  return table[reg] ?? `?r${reg}`;
}

/** Lower-case name of segment register `seg` (0..5). */
export function segName(seg: number): string {
  return SEG_NAMES[seg] ?? `?s${seg}`;
}

/** `cr0`..`cr15`. */
export function crName(n: number): string {
  return `cr${n}`;
}

/** `dr0`..`dr15` (objdump's Intel-syntax spelling). */
export function drName(n: number): string {
  return `dr${n}`;
}
