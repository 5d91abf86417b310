/**
 * Differential test against iced-x86 on seeded random byte strings (biased toward the subset by
 * generating from the opcode table, plus pure random bytes and prefix soup).
 *
 * Rule: every string iced decodes as an instruction in the supported subset decodes here to the
 * same length, operation and operands; everything else is not OK (UNSUPPORTED, TOO_LONG or
 * INVALID_LOCK) — never a different valid instruction, never a throw.
 */
import { Rng } from '@latelaunch/kernel';
import { describe, expect, it } from 'vitest';
import { type CodeMode, decode, DecodedInstruction, Status, STATUS_NAMES } from '../src/decode/index.js';
import { encodeRow, prefixSoup, randomRow } from './support/gen.js';
import { describeOurs, icedDecodeSlots, intendedUnsupported } from './support/iced.js';

/** Strings per mode; DECODE_FUZZ_COUNT overrides (e.g. 1000000 for a long soak run). */
const PER_MODE = Number(process.env.DECODE_FUZZ_COUNT ?? 100_000);
const SLOT = 16;

function hexBytes(b: Uint8Array, n = SLOT): string {
  return Array.from(b.subarray(0, n), (x) => x.toString(16).padStart(2, '0')).join(' ');
}

function randomIp(rng: Rng, mode: CodeMode): bigint {
  if (mode === 16) return BigInt(rng.int(0, 0xffff));
  if (mode === 32) return BigInt(rng.u32());
  // canonical 64-bit addresses, low or high half
  const hi = rng.float() < 0.5 ? rng.u32() & 0x7fff : 0xffff8000 | (rng.u32() & 0x7fff);
  return (BigInt(hi >>> 0) << 32n) | BigInt(rng.u32());
}

function buildSlots(mode: CodeMode, count: number, seed: string): { data: Uint8Array; ips: bigint[] } {
  const rng = new Rng(seed);
  const data = new Uint8Array(count * SLOT);
  const ips: bigint[] = [];
  for (let k = 0; k < count; k++) {
    const r = rng.float();
    let slot: Uint8Array;
    if (r < 0.6) slot = encodeRow(rng, randomRow(rng), mode, SLOT);
    else if (r < 0.72) {
      slot = rng.fill(new Uint8Array(SLOT));
      slot[0] = 0x0f; // random 0F-map opcode
      if (rng.float() < 0.1) slot[1] = rng.pick([0x38, 0x3a]);
    } else if (r < 0.87) slot = rng.fill(new Uint8Array(SLOT));
    else slot = prefixSoup(rng, mode, SLOT);
    data.set(slot, k * SLOT);
    ips.push(randomIp(rng, mode));
  }
  return { data, ips };
}

describe.each([16, 32, 64] as const)('decoder vs iced-x86, %i-bit', (mode) => {
  it(`agrees on ${PER_MODE} seeded random byte strings`, () => {
    const { data, ips } = buildSlots(mode, PER_MODE, `decode-iced-${mode}`);
    const iced = icedDecodeSlots(mode, data, SLOT, PER_MODE, ips);
    const insn = new DecodedInstruction();
    const failures: string[] = [];
    let compared = 0;
    const seenOps = new Set<string>();
    for (let k = 0; k < PER_MODE; k++) {
      const off = k * SLOT;
      decode(data, off, mode, insn, SLOT);
      const ic = iced[k];
      const bytes = hexBytes(data.subarray(off, off + SLOT));
      if (ic.opName === null) {
        if (insn.status === Status.OK) {
          failures.push(`${bytes}: iced ${ic.codeName}, ours OK ${describeOurs(insn, ips[k])} len=${insn.length}`);
        }
        continue;
      }
      if (intendedUnsupported(mode, ic, insn)) continue;
      compared++;
      seenOps.add(ic.opName);
      const ours = insn.status === Status.OK ? describeOurs(insn, ips[k]) : `<${STATUS_NAMES[insn.status]}>`;
      if (insn.status !== Status.OK || insn.length !== ic.length || ours !== ic.text) {
        failures.push(`${bytes}: iced ${ic.codeName} len=${ic.length} ${ic.text} | ours len=${insn.length} ${ours}`);
      }
    }
    if (failures.length) {
      console.log(`${failures.length} mismatches (${mode}-bit), first 60:\n${failures.slice(0, 60).join('\n')}`);
    }
    expect(failures.length).toBe(0);
    // coverage: the biased generator must reach most of the subset
    expect(compared).toBeGreaterThan(PER_MODE * 0.4);
    expect(seenOps.size).toBeGreaterThan(100);
  });
});
