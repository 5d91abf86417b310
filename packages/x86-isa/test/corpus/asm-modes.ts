/** The three corpus programs (one per mode), built with the DSL. */
import { Assembler, type Bits, type Program } from '../../src/index.js';
import { corpus16, ORIGIN16 } from './asm-16.js';
import { corpus32, ORIGIN32 } from './asm-32.js';
import { corpus64, ORIGIN64 } from './asm-64.js';

export const CORPUS_MODES: readonly { bits: Bits; origin: bigint; body: (a: Assembler) => void }[] = [
  { bits: 16, origin: ORIGIN16, body: corpus16 },
  { bits: 32, origin: ORIGIN32, body: corpus32 },
  { bits: 64, origin: ORIGIN64, body: corpus64 },
];

export function buildCorpus(bits: Bits): Program {
  const m = CORPUS_MODES.find((x) => x.bits === bits)!;
  const a = new Assembler({ bits, org: m.origin });
  m.body(a);
  return a.assemble();
}
