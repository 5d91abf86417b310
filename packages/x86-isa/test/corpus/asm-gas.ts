/**
 * GNU as oracle for the assembler tests: assembles a {@link Program}'s GNU as rendering with
 * `as` + `ld` (one invocation each per program), and compares it entry by entry with our bytes.
 * Missing binutils make the tests fail (execFileSync throws), never skip.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Program } from '../../src/index.js';

export interface GasResult {
  bytes: Uint8Array;
  symbols: Map<string, bigint>;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${err.stderr || err.stdout || err.message}`);
  }
}

/** Assembles GNU as source text with `as --64`, links it at `origin`, returns the .text bytes and symbols. */
export function gasAssemble(source: string, origin: bigint): GasResult {
  const dir = mkdtempSync(join(tmpdir(), 'x86-isa-asm-'));
  try {
    writeFileSync(join(dir, 'x.s'), source);
    let stderr = '';
    try {
      stderr = execFileSync('as', ['--64', '-o', 'x.o', 'x.s'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      const lines = source.split('\n');
      const msgs = (err.stderr ?? err.message)
        .split('\n')
        .map((l) => {
          const m = /^x\.s:(\d+): (.*)$/.exec(l);
          return m ? `${m[2]}  <<${lines[Number(m[1]) - 1]}>>` : l;
        })
        .filter((l) => l.trim())
        .slice(0, 40);
      throw new Error(`as failed:\n${msgs.join('\n')}`);
    }
    run('ld', ['-m', 'elf_x86_64', '-N', '--no-warn-rwx-segments', '-e', '0', `-Ttext=0x${origin.toString(16)}`, '-o', 'x.elf', 'x.o'], dir);
    run('objcopy', ['-O', 'binary', '-j', '.text', 'x.elf', 'x.bin'], dir);
    const nm = run('nm', ['-n', 'x.elf'], dir);
    const symbols = new Map<string, bigint>();
    for (const line of nm.split('\n')) {
      const m = /^([0-9a-f]+) \w (.+)$/.exec(line.trim());
      if (m) symbols.set(m[2]!, BigInt(`0x${m[1]}`));
    }
    return { bytes: new Uint8Array(readFileSync(join(dir, 'x.bin'))), symbols, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Mismatch {
  index: number;
  text: string;
  bits: number;
  ours: string;
  gas: string;
}

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');

/**
 * Assembles `program` with GNU as and compares every listing entry (instruction, data, align,
 * org) byte for byte. Returns the mismatches (empty when everything agrees) and GNU as's result.
 */
export function compareWithGas(program: Program): { mismatches: Mismatch[]; gas: GasResult; entries: number } {
  const gas = gasAssemble(program.toGas({ markers: true }), program.origin);
  const marks: { index: number; at: bigint }[] = [];
  for (const [k, v] of gas.symbols) {
    const m = /^__asm_l(\d+)$/.exec(k);
    if (m) marks.push({ index: Number(m[1]), at: v });
  }
  marks.sort((a, b) => a.index - b.index);
  const end = gas.symbols.get('__asm_end');
  if (end === undefined) throw new Error('no __asm_end marker in the GNU as output');
  const mismatches: Mismatch[] = [];
  for (let i = 0; i < marks.length; i++) {
    const { index, at } = marks[i]!;
    const stop = i + 1 < marks.length ? marks[i + 1]!.at : end;
    const gasBytes = gas.bytes.slice(Number(at - program.origin), Number(stop - program.origin));
    const e = program.listing[index]!;
    if (hex(gasBytes) !== hex(e.bytes) || at !== e.address) {
      mismatches.push({ index, text: e.text, bits: e.bits, ours: `${e.address.toString(16)}: ${hex(e.bytes)}`, gas: `${at.toString(16)}: ${hex(gasBytes)}` });
    }
  }
  if (gas.bytes.length !== program.bytes.length) {
    mismatches.push({ index: -1, text: '(total size)', bits: 0, ours: String(program.bytes.length), gas: String(gas.bytes.length) });
  }
  return { mismatches, gas, entries: marks.length };
}

export function formatMismatches(ms: readonly Mismatch[], max = 60): string {
  return ms
    .slice(0, max)
    .map((m) => `[${m.bits}] ${m.text}\n    ours ${m.ours}\n    gas  ${m.gas}`)
    .join('\n');
}
