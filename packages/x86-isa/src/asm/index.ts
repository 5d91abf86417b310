/** Assembler DSL for 16-, 32- and 64-bit x86 (see the package README, "Assembler"). */
export { Assembler, CONDITIONS } from './assembler.js';
export type { Condition, StringOptions, Target } from './assembler.js';
export type { AssemblerOptions, Bits, BranchSize, AsmOperand } from './core.js';
export { AsmError } from './errors.js';
export type { AsmErrorKind } from './errors.js';
export { Expr, sym, num } from './expr.js';
export type { Value, BinaryOp, UnaryOp, ExprNode } from './expr.js';
export { Mem, mem, byte, word, dword, fword, qword, tword, oword } from './memory.js';
export type { MemSize, MemSpec, MemArg } from './memory.js';
export { Program } from './program.js';
export type { ListingEntry } from './program.js';
export { formatExpr, formatMem, formatOperand } from './format.js';
export * from './registers.js';
