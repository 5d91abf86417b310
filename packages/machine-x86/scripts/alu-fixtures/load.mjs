/* global Buffer */
// Loader for the differential ALU fixtures (packages/machine-x86/fixtures/alu). Dependency-free
// (node:fs, node:zlib); typed by load.d.mts. API documented in packages/machine-x86/FIXTURES.md.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

export const FLAGS = Object.freeze({ CF: 0x1, PF: 0x4, AF: 0x10, ZF: 0x40, SF: 0x80, DF: 0x400, OF: 0x800 });
/** Every bit a `definedFlags` mask can contain (CF PF AF ZF SF OF DF). */
export const DEFINABLE_FLAGS = 0xcd5;
export const FORMAT_VERSION = 1;

/** Full-register names used as keys of `in` / `out`, per mode (RSP/ESP never appears). */
export const REGISTER_NAMES = Object.freeze({
  64: Object.freeze(['rax', 'rcx', 'rdx', 'rbx', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15']),
  32: Object.freeze(['eax', 'ecx', 'edx', 'ebx', 'ebp', 'esi', 'edi']),
});

const defaultDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/alu');

/** Absolute path of the committed fixture directory. */
export function aluFixturesDir() {
  return defaultDir;
}

/** The parsed manifest.json (counts per mode and family, host, toolchain, file hashes). */
export function loadAluManifest(dir = defaultDir) {
  return JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
}

function hexBytes(s) {
  return Uint8Array.from(Buffer.from(s, 'hex'));
}

function bigMap(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj)) out[k] = BigInt(v);
  return out;
}

/** Convert one raw JSON record (a line of alu-<mode>.jsonl.gz) to an AluCase. */
export function parseAluCase(raw) {
  const c = {
    id: raw.id,
    mode: raw.mode,
    family: raw.family,
    size: raw.size,
    asm: raw.asm,
    bytes: hexBytes(raw.bytes),
    in: bigMap(raw.in),
    flagsIn: Number(raw.flagsIn),
    definedFlags: Number(raw.definedFlags),
  };
  if (raw.asmSource !== undefined) c.asmSource = raw.asmSource;
  if (raw.rip !== undefined) c.rip = BigInt(raw.rip);
  if (raw.exception !== undefined) c.exception = raw.exception;
  if (raw.out !== undefined) c.out = bigMap(raw.out);
  if (raw.flagsOut !== undefined) c.flagsOut = Number(raw.flagsOut);
  if (raw.undefinedBits !== undefined) c.undefinedBits = bigMap(raw.undefinedBits);
  return c;
}

/** The raw JSON records of one mode's file, in file order. */
export function readAluRecords(mode, dir = defaultDir) {
  const text = zlib.gunzipSync(fs.readFileSync(path.join(dir, `alu-${mode}.jsonl.gz`))).toString('utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => JSON.parse(l));
}

/**
 * Load fixture cases.
 * @param {{ mode?: 32 | 64, family?: string | string[], dir?: string }} [options]
 */
export function loadAluCases(options = {}) {
  const dir = options.dir ?? defaultDir;
  const modes = options.mode === undefined ? [32, 64] : [options.mode];
  const fams = options.family === undefined ? undefined : new Set([options.family].flat());
  const out = [];
  for (const mode of modes) {
    for (const raw of readAluRecords(mode, dir)) {
      if (fams && !fams.has(raw.family)) continue;
      out.push(parseAluCase(raw));
    }
  }
  return out;
}

function hex(v) {
  return '0x' + v.toString(16);
}

/**
 * Compare an interpreter's result with a fixture case, looking only at architecturally defined
 * state: every register of `c.out` (minus `c.undefinedBits`) and the `c.definedFlags` bits of
 * RFLAGS. Returns a list of human-readable mismatches (empty when the result matches).
 * @param actual `{ regs, flags }` after executing `c.bytes`, or `{ exception: '#DE' }`.
 */
export function compareAluResult(c, actual) {
  const problems = [];
  if (c.exception !== undefined) {
    if (actual.exception !== c.exception) problems.push(`expected exception ${c.exception}, got ${actual.exception ?? 'no exception'}`);
    return problems;
  }
  if (actual.exception !== undefined) return [`unexpected exception ${actual.exception}`];
  const width = c.mode === 64 ? 0xffffffffffffffffn : 0xffffffffn;
  for (const [reg, want] of Object.entries(c.out)) {
    const got = actual.regs[reg];
    if (got === undefined) {
      problems.push(`${reg}: missing`);
      continue;
    }
    const care = width & ~(c.undefinedBits?.[reg] ?? 0n);
    if (((BigInt(got) ^ want) & care) !== 0n) problems.push(`${reg}: expected ${hex(want)}, got ${hex(BigInt(got))}`);
  }
  const diff = (actual.flags ^ c.flagsOut) & c.definedFlags;
  if (diff !== 0) {
    const names = Object.entries(FLAGS)
      .filter(([, b]) => diff & b)
      .map(([n]) => n);
    problems.push(`flags ${names.join(' ')}: expected ${hex(c.flagsOut)}, got ${hex(actual.flags)} (defined ${hex(c.definedFlags)})`);
  }
  return problems;
}
