export * from './decode/index.js';
export * from './asm/index.js';
