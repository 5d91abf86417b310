export * from './native.js';
export * from './ops.js';
export * from './registers.js';
export * from './table.js';
export * from './instruction.js';
export * from './decoder.js';
export * from './operands.js';
export * from './disasm.js';
