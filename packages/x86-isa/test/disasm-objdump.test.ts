/**
 * The corpus oracle: every corpus line is assembled by GNU as (one batched run per mode) and
 * disassembled by GNU objdump; our decoder must find the same length and our disassembler must
 * print objdump's (normalized) text. Fails — does not skip — when binutils is missing.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decode, DecodedInstruction, disassemble, Status, STATUS_NAMES } from '../src/decode/index.js';
import { DECODE_CORPUS } from './corpus/decode-corpus.js';
import { AS, assembleCorpus, NM, OBJCOPY, OBJDUMP } from './support/objdump.js';

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

describe('GNU binutils oracle', () => {
  it('is installed (as, objdump, objcopy, nm)', () => {
    for (const tool of [AS, OBJDUMP, OBJCOPY, NM]) expect(existsSync(tool), `${tool} is required`).toBe(true);
  });

  it('the corpus has at least 600 instruction forms', () => {
    const total = DECODE_CORPUS[16].length + DECODE_CORPUS[32].length + DECODE_CORPUS[64].length;
    expect(total).toBeGreaterThanOrEqual(600);
  });
});

describe.each([16, 32, 64] as const)('decoder + disassembler vs GNU as/objdump, %i-bit corpus', (mode) => {
  it(`decodes and disassembles all ${DECODE_CORPUS[mode].length} lines like objdump`, () => {
    const lines = assembleCorpus(mode, DECODE_CORPUS[mode]);
    const insn = new DecodedInstruction();
    const failures: string[] = [];
    for (const l of lines) {
      const buf = new Uint8Array(l.bytes.length + 16);
      buf.set(l.bytes);
      if (l.objdumpLength !== l.bytes.length) {
        failures.push(`${l.source} [${hex(l.bytes)}]: objdump length ${l.objdumpLength} (corpus line is not one instruction)`);
        continue;
      }
      decode(buf, 0, mode, insn, l.bytes.length);
      const text = disassemble(insn, { address: l.offset });
      if (insn.status !== Status.OK || insn.length !== l.bytes.length || text !== l.objdump) {
        failures.push(
          `${l.source} [${hex(l.bytes)}]: objdump '${l.objdump}' | ours ${STATUS_NAMES[insn.status]} len=${insn.length} '${text}'`,
        );
      }
    }
    if (failures.length) console.log(`${failures.length} corpus mismatches (${mode}-bit):\n${failures.join('\n')}`);
    expect(failures).toEqual([]);
  });
});
