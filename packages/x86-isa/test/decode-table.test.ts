/**
 * Tests generated from the opcode table: every row, in every mode, decodes from its canonical
 * encoding to that row (or is UNSUPPORTED where the row is not valid in the mode), iced-x86
 * agrees on the operation and length, and lockable rows accept LOCK only with a memory operand.
 */
import { describe, expect, it } from 'vitest';
import { decode, DecodedInstruction, ModeMask, Op, OP_NAMES, OPCODE_TABLE, Status, STATUS_NAMES } from '../src/decode/index.js';
import { canonicalEncoding } from './support/gen.js';
import { icedDecodeSlots } from './support/iced.js';

const MODES = [16, 32, 64] as const;
const MODE_BIT = { 16: ModeMask.M16, 32: ModeMask.M32, 64: ModeMask.M64 };

function label(i: number, mode: number, bytes: Uint8Array): string {
  const row = OPCODE_TABLE[i];
  const hex = Array.from(bytes.subarray(0, 6), (x) => x.toString(16).padStart(2, '0')).join(' ');
  return `row ${i} ${OP_NAMES[row.op]} ${mode}-bit [${hex}]`;
}

describe('opcode table', () => {
  it('has one row per encoding and covers every operation id', () => {
    const ops = new Set(OPCODE_TABLE.map((r) => r.op));
    for (let op = 1; op < OP_NAMES.length; op++) {
      if (op === Op.NATIVE) continue; // a UD1 form, not a table row
      expect(ops.has(op as Op), OP_NAMES[op]).toBe(true);
    }
  });

  it.each(MODES)('every row decodes from its canonical encoding in %i-bit mode (and iced agrees)', (mode) => {
    const insn = new DecodedInstruction();
    const failures: string[] = [];
    const valid: number[] = [];
    const slots: Uint8Array[] = [];
    OPCODE_TABLE.forEach((row, i) => {
      const bytes = canonicalEncoding(row, mode);
      decode(bytes, 0, mode, insn);
      const rowValid = ((row.modes ?? 7) & MODE_BIT[mode]) !== 0;
      if (!rowValid) {
        // 40-4F are REX prefixes in 64-bit mode, they cannot be tested alone
        if (mode === 64 && row.map === 0 && row.opcode >= 0x40 && row.opcode <= 0x4f) return;
        if (insn.status !== Status.UNSUPPORTED) failures.push(`${label(i, mode, bytes)}: expected UNSUPPORTED, got ${insn}`);
        return;
      }
      if (insn.status !== Status.OK || insn.entry !== i || insn.op !== row.op || insn.form !== row.form) {
        failures.push(`${label(i, mode, bytes)}: got ${STATUS_NAMES[insn.status]} entry ${insn.entry} ${insn}`);
        return;
      }
      valid.push(i);
      slots.push(bytes);
    });
    // iced-x86 must agree on length and operation for every valid row
    const data = new Uint8Array(slots.length * 16);
    slots.forEach((s, k) => data.set(s, k * 16));
    const iced = icedDecodeSlots(mode, data, 16, slots.length, slots.map(() => 0n));
    valid.forEach((i, k) => {
      decode(data, k * 16, mode, insn, 16);
      const name = OP_NAMES[OPCODE_TABLE[i].op];
      if (iced[k].opName !== name || iced[k].length !== insn.length) {
        failures.push(`${label(i, mode, slots[k])}: iced ${iced[k].codeName} len ${iced[k].length}, ours ${name} len ${insn.length}`);
      }
    });
    expect(failures).toEqual([]);
  });

  it.each(MODES)('lockable rows accept LOCK only on a memory operand (%i-bit)', (mode) => {
    const insn = new DecodedInstruction();
    const failures: string[] = [];
    OPCODE_TABLE.forEach((row, i) => {
      if (((row.modes ?? 7) & MODE_BIT[mode]) === 0) return;
      for (const memory of [false, true]) {
        if (row.mod === 'mem' && !memory) continue;
        if ((row.rm !== undefined || row.mod === 'reg') && memory) continue; // the memory form is another instruction
        const enc = canonicalEncoding(row, mode, memory);
        const bytes = new Uint8Array(17);
        bytes[0] = 0xf0;
        bytes.set(enc, 1);
        decode(bytes, 0, mode, insn);
        const lockOk = Boolean(row.lock) && insn.isMem;
        const expected = lockOk ? Status.OK : Status.INVALID_LOCK;
        if (insn.status !== expected) {
          failures.push(`${label(i, mode, bytes)} memory=${memory}: expected ${STATUS_NAMES[expected]}, got ${STATUS_NAMES[insn.status]}`);
        }
      }
    });
    expect(failures).toEqual([]);
  });
});
