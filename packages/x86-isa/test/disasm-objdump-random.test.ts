/**
 * Randomized disassembler check against GNU objdump: instructions generated from the opcode
 * table (seeded), decoded by us, laid out in 32-byte slots (padded with NOPs) and disassembled
 * by objdump in one run per mode. Length and text must match, except:
 *
 * - prefix *spelling* (objdump's data16/addr32/duplicate or unused prefix words and their byte
 *   order) is compared only on the corpus test; here leading prefix words are ignored;
 * - documented, deliberate decoder differences (Intel semantics where objdump follows AMD or
 *   rejects encodings iced and the SDM accept) are excluded by `knownDifference`.
 */
import { Rng } from '@latelaunch/kernel';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CodeMode, decode, DecodedInstruction, disassemble, Op, Prefix, Status } from '../src/decode/index.js';
import { encodeRow, randomRow } from './support/gen.js';
import { objdumpRaw } from './support/objdump.js';

const COUNT = 1500; // 1500 * 32 bytes stays below 64 KiB, so 16-bit branch targets do not wrap
const SLOT = 32;
const PREFIX_WORD = /^(data16|data32|addr16|addr32|es|cs|ss|ds|fs|gs|rex(\.\w+)?|lock|rep|repz|repnz|bnd|notrack|xacquire|xrelease)$/;

function stripPrefixWords(t: string): string {
  const words = t.split(' ');
  let i = 0;
  while (i < words.length - 1 && PREFIX_WORD.test(words[i])) i++;
  return words.slice(i).join(' ');
}

function knownDifference(insn: DecodedInstruction, bytes: Uint8Array): boolean {
  const p = insn.prefixes;
  // objdump rejects F2/F3/66 forms the SDM and iced accept (the prefix is ignored)
  if ((insn.op === Op.WBINVD || insn.op === Op.BSF || insn.op === Op.BSR) && p & (Prefix.REP | Prefix.REPNE | Prefix.OPSIZE)) return true;
  if (insn.mode === 64) {
    // a REX prefix followed by another prefix (legacy or REX): objdump prints the REX as its
    // own "instruction"; the processor ignores it (iced agrees with the processor)
    const legacy = [0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];
    for (let i = 0; i < insn.length - 1; i++) {
      const b = bytes[i];
      const isRex = (b & 0xf0) === 0x40;
      if (isRex && (legacy.includes(bytes[i + 1]) || (bytes[i + 1] & 0xf0) === 0x40)) return true;
      if (!isRex && !legacy.includes(b)) break;
    }
    // objdump applies 66 to near branches / far pointers / MOVSXD in 64-bit mode like AMD; Intel ignores it
    if (p & Prefix.OPSIZE && [Op.JMP, Op.CALL, Op.RET, Op.JCC, Op.LOOP, Op.LOOPE, Op.LOOPNE, Op.JCXZ, Op.JMPF, Op.CALLF, Op.LSS, Op.LFS, Op.LGS].includes(insn.op as never)) return true;
    // objdump has no m16:64 far pointer
    if ((insn.op === Op.JMPF || insn.op === Op.CALLF) && insn.rex & 8) return true;
    if (insn.op === Op.NOP && insn.opcode === 0x90 && p & Prefix.OPSIZE) return true;
  }
  // 66-prefixed branches in 16/32-bit code: objdump does not wrap the target to 16 bits
  if (insn.mode !== 64 && p & Prefix.OPSIZE && insn.mode === 32 && insn.form === 11 /* REL */) return true;
  return false;
}

describe.each([16, 32, 64] as const)('disassembler vs objdump on random instructions, %i-bit', (mode: CodeMode) => {
  it(`matches objdump on ${COUNT} seeded random instructions (operands and mnemonic)`, () => {
    const rng = new Rng(`disasm-random-${mode}`);
    const bin = new Uint8Array(COUNT * SLOT).fill(0x90);
    const insn = new DecodedInstruction();
    const texts: (string | null)[] = [];
    const lengths: number[] = [];
    for (let k = 0; k < COUNT; k++) {
      let text: string | null = null;
      for (let t = 0; t < 100 && text === null; t++) {
        const b = encodeRow(rng, randomRow(rng), mode, 16);
        decode(b, 0, mode, insn, 16);
        if (insn.status !== Status.OK || knownDifference(insn, b)) continue;
        bin.set(b.subarray(0, insn.length), k * SLOT);
        text = disassemble(insn, { address: k * SLOT });
        lengths.push(insn.length);
      }
      if (text === null) lengths.push(0);
      texts.push(text);
    }
    const dir = mkdtempSync(join(tmpdir(), 'x86-isa-random-'));
    let dis;
    try {
      dis = objdumpRaw(mode, bin, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const failures: string[] = [];
    let compared = 0;
    for (let k = 0; k < COUNT; k++) {
      const ours = texts[k];
      if (ours === null) continue;
      compared++;
      const d = dis.get(k * SLOT);
      const bytes = Array.from(bin.subarray(k * SLOT, k * SLOT + lengths[k]), (x) => x.toString(16).padStart(2, '0')).join(' ');
      if (!d || d.length !== lengths[k] || stripPrefixWords(d.text) !== stripPrefixWords(ours)) {
        failures.push(`${bytes}: objdump len=${d?.length} '${d?.text}' | ours len=${lengths[k]} '${ours}'`);
      }
    }
    if (failures.length) console.log(`${failures.length} mismatches (${mode}-bit):\n${failures.slice(0, 50).join('\n')}`);
    expect(failures).toEqual([]);
    expect(compared).toBeGreaterThan(COUNT * 0.95);
  });
});
