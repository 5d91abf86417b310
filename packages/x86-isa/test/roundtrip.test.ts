/**
 * Round trip: every instruction the assembler emits for its GNU-as-checked corpus (over 3,700
 * forms across the three modes) decodes back to the same instruction — the same length, status
 * OK, and a disassembly equal to objdump's for those bytes (objdump is the independent oracle;
 * one batched run per mode).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, disassemble, DecodedInstruction, Op, Status, STATUS_NAMES } from '../src/index.js';
import { buildCorpus, CORPUS_MODES } from './corpus/asm-modes.js';
import { objdumpRaw } from './support/objdump.js';

describe('assembler → decoder round trip', () => {
  for (const { bits } of CORPUS_MODES) {
    it(`${bits}-bit corpus decodes back to the same instructions`, () => {
      const program = buildCorpus(bits);
      const entries = program.listing.filter((e) => e.kind === 'instruction');
      const dir = mkdtempSync(join(tmpdir(), 'roundtrip-'));
      let oracle: Map<number, { text: string; length: number }>;
      try {
        oracle = objdumpRaw(bits, program.bytes, dir);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const insn = new DecodedInstruction();
      const problems: string[] = [];
      let compared = 0;
      for (const e of entries) {
        decode(program.bytes, e.offset, bits, insn);
        const ours = insn.status === Status.OK ? disassemble(insn, { address: e.offset }) : `<${STATUS_NAMES[insn.status]}>`;
        const theirs = oracle.get(e.offset);
        if (insn.status !== Status.OK || insn.length !== e.bytes.length) {
          problems.push(`${e.text}: decoded ${ours} len ${insn.length}, emitted ${e.bytes.length} bytes`);
        } else if (insn.op === Op.NATIVE) {
          // objdump knows it only as the UD1 it is built from: the length check above is the oracle.
          const reg = bits === 16 ? 'ax,WORD' : 'eax,DWORD';
          if (theirs?.text !== `ud1 ${reg} PTR [${bits === 64 ? 'rax' : 'eax'}+0x${(0x4c4c0000 + insn.imm).toString(16)}]`) problems.push(`${e.text}: objdump sees '${theirs?.text}'`);
        } else if (theirs && theirs.length === e.bytes.length) {
          compared++;
          if (theirs.text !== ours) problems.push(`${e.text}: ours '${ours}' objdump '${theirs.text}'`);
        }
      }
      expect(problems.slice(0, 40).join('\n')).toBe('');
      expect(entries.length).toBeGreaterThan(1000);
      // objdump must have seen (nearly) every entry at its offset, or the comparison is hollow.
      expect(compared).toBeGreaterThan(entries.length * 0.95);
    });
  }
});
