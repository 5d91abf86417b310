/**
 * Encodings generated from the opcode table (the single source), biased toward the supported
 * subset: a row, its mandatory prefix, optional legacy/REX prefixes, the opcode, a ModRM that
 * satisfies the row, then random bytes (SIB, displacement, immediates, trailing garbage).
 */
import { Rng } from '@latelaunch/kernel';
import { type CodeMode, OPCODE_TABLE, type OpcodeSpec, OpMap, PfxClass } from '../../src/decode/index.js';

const LEGACY = [0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];
const SEGS = [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];

function mapBytes(map: number): number[] {
  return map === OpMap.X0F ? [0x0f] : map === OpMap.X0F38 ? [0x0f, 0x38] : map === OpMap.X0F3A ? [0x0f, 0x3a] : [];
}

/** One encoding of `row` (valid or deliberately perturbed), padded with random bytes to `size`. */
export function encodeRow(rng: Rng, row: OpcodeSpec, mode: CodeMode, size = 16): Uint8Array {
  const bytes: number[] = [];
  // legacy prefixes
  const nLegacy = rng.float() < 0.55 ? 0 : rng.int(1, rng.float() < 0.9 ? 2 : 5);
  for (let i = 0; i < nLegacy; i++) {
    const r = rng.float();
    if (r < 0.3) bytes.push(0x66);
    else if (r < 0.5) bytes.push(0x67);
    else if (r < 0.75) bytes.push(rng.pick(SEGS));
    else if (r < 0.85) bytes.push(0xf0);
    else bytes.push(rng.pick(LEGACY));
  }
  if (row.lock && rng.float() < 0.3) bytes.push(0xf0);
  // mandatory prefix
  if (row.pfx && rng.float() < 0.95) {
    const pc = rng.pick(row.pfx);
    if (pc === PfxClass.P66) bytes.push(0x66);
    else if (pc === PfxClass.PF3) bytes.push(0xf3);
    else if (pc === PfxClass.PF2) bytes.push(0xf2);
  }
  // REX
  if (mode === 64 && rng.float() < 0.45) bytes.push(0x40 | rng.int(0, 15));
  if (mode === 64 && rng.float() < 0.03) bytes.push(rng.pick(LEGACY));
  // opcode
  bytes.push(...mapBytes(row.map));
  const count = row.plusr ? 8 : row.cc ? 16 : 1;
  bytes.push(row.opcode + rng.int(0, count - 1));
  // ModRM (when the row has constraints, or usually)
  const constrained = row.reg !== undefined || row.rm !== undefined || row.mod !== undefined;
  if (constrained || rng.float() < 0.7) {
    let mod = rng.int(0, 3);
    if (row.rm !== undefined || row.mod === 'reg') mod = 3;
    else if (row.mod === 'mem') mod = rng.int(0, 2);
    const reg = row.reg ?? rng.int(0, 7);
    const rm = row.rm ?? rng.int(0, 7);
    if (rng.float() < 0.97) bytes.push((mod << 6) | (reg << 3) | rm);
  }
  const out = new Uint8Array(size);
  rng.fill(out);
  out.set(bytes.slice(0, size));
  return out;
}

/** A random row of the opcode table. */
export function randomRow(rng: Rng): OpcodeSpec {
  return rng.pick(OPCODE_TABLE);
}

/** Random bytes with a random run of prefixes in front (prefix soup). */
export function prefixSoup(rng: Rng, mode: CodeMode, size = 16): Uint8Array {
  const out = new Uint8Array(size);
  rng.fill(out);
  const n = rng.int(0, 16);
  for (let i = 0; i < n && i < size; i++) {
    out[i] = mode === 64 && rng.float() < 0.3 ? 0x40 | rng.int(0, 15) : rng.pick(LEGACY);
  }
  return out;
}

/**
 * The canonical encoding of a table row in `mode`: its mandatory prefix, opcode, a ModRM that
 * satisfies the row (register form unless the row is memory-only, or `memory` is set), padded
 * with 0x11 bytes (immediates / displacements) to 16 bytes.
 */
export function canonicalEncoding(row: OpcodeSpec, mode: CodeMode, memory = false): Uint8Array {
  const bytes: number[] = [];
  const pc = row.pfx?.[0];
  if (pc === PfxClass.P66) bytes.push(0x66);
  else if (pc === PfxClass.PF3) bytes.push(0xf3);
  else if (pc === PfxClass.PF2) bytes.push(0xf2);
  bytes.push(...mapBytes(row.map));
  bytes.push(row.opcode + (row.plusr ? 1 : row.cc ? 5 : 0));
  const hasModrm =
    row.reg !== undefined || row.rm !== undefined || row.mod !== undefined || [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14, 16, 17, 18, 19].includes(row.form);
  const noModrm = row.plusr || row.fixedRm !== undefined || row.imm === 9 /* MOFFS */;
  if (hasModrm && !noModrm) {
    const reg = row.reg ?? row.regValid?.[0] ?? 1;
    let mod = memory || row.mod === 'mem' ? 0 : 3;
    let rm = mode === 16 ? 7 : 3; // [bx] / [ebx] / [rbx], or bx/ebx/rbx
    if (row.rm !== undefined) {
      mod = 3;
      rm = row.rm;
    }
    bytes.push((mod << 6) | (reg << 3) | rm);
  }
  const out = new Uint8Array(16).fill(0x11);
  out.set(bytes);
  return out;
}
