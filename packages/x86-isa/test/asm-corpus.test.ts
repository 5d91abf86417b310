/**
 * The instruction-form corpus against GNU as: each mode's corpus program (over a thousand
 * instruction forms) is written once in the DSL, rendered to GNU as syntax by the assembler itself
 * (its listing text), assembled by `as` in ONE batch per mode, and compared entry by entry.
 * `as`, `ld`, `objcopy` and `nm` must be installed: without them these tests fail.
 */
import { describe, expect, it } from 'vitest';
import { compareWithGas, formatMismatches } from './corpus/asm-gas.js';
import { buildCorpus, CORPUS_MODES } from './corpus/asm-modes.js';

describe('instruction corpus vs GNU as', () => {
  for (const { bits } of CORPUS_MODES) {
    it(`${bits}-bit corpus matches GNU as byte for byte`, () => {
      const p = buildCorpus(bits);
      const instructions = p.listing.filter((e) => e.kind === 'instruction');
      const { mismatches, entries, gas } = compareWithGas(p);
      expect(formatMismatches(mismatches)).toBe('');
      expect(gas.stderr).toBe('');
      expect(entries).toBeGreaterThanOrEqual(instructions.length);
      expect(instructions.length).toBeGreaterThan(1000);
      expect(new Set(instructions.map((e) => e.text)).size).toBeGreaterThan(1000);
    });
  }
});
