/**
 * GNU binutils as an oracle: assemble a corpus of `.intel_syntax noprefix` lines in one `as`
 * run per mode, find each line's bytes through a label placed before it, and disassemble the
 * raw bytes with `objdump -M intel` (one run per mode).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface AssembledLine {
  readonly source: string;
  readonly offset: number;
  readonly bytes: Uint8Array;
  /** objdump's normalized text of the instruction at `offset`, or null when objdump has none there. */
  readonly objdump: string | null;
  /** Length objdump decoded at `offset` (null: none). */
  readonly objdumpLength: number | null;
}

export const AS = '/usr/bin/as';
export const OBJDUMP = '/usr/bin/objdump';
export const OBJCOPY = '/usr/bin/objcopy';
export const NM = '/usr/bin/nm';

/** objdump text normalized: whitespace collapsed, `# comment` and `<symbol>` annotations removed. */
export function normalizeObjdump(text: string): string {
  return text
    .replace(/\s+#.*$/, '')
    .replace(/\s*<[^>]*>/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

const MACHINE: Record<16 | 32 | 64, string> = { 16: 'i8086', 32: 'i386', 64: 'i386:x86-64' };

/** Runs `objdump -D -b binary` over raw bytes; returns address → { text, length }. */
export function objdumpRaw(mode: 16 | 32 | 64, bin: Uint8Array, dir: string, name = 'raw.bin'): Map<number, { text: string; length: number }> {
  const path = join(dir, name);
  writeFileSync(path, bin);
  const out = execFileSync(
    OBJDUMP,
    ['-D', '-b', 'binary', '-m', MACHINE[mode], '-M', 'intel', '--insn-width=16', '-w', path],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  const result = new Map<number, { text: string; length: number }>();
  for (const line of out.split('\n')) {
    const m = /^\s*([0-9a-f]+):\t((?:[0-9a-f]{2} )*[0-9a-f]{2})\s*\t(.*)$/.exec(line);
    if (!m) {
      const m2 = /^\s*([0-9a-f]+):\t((?:[0-9a-f]{2} ?)+)\s*$/.exec(line);
      if (m2) result.set(parseInt(m2[1], 16), { text: '', length: m2[2].trim().split(' ').length });
      continue;
    }
    result.set(parseInt(m[1], 16), { text: normalizeObjdump(m[3]), length: m[2].trim().split(' ').length });
  }
  return result;
}

/** Assembles `lines` in `mode` (one batched `as` run) and disassembles them with objdump. */
export function assembleCorpus(mode: 16 | 32 | 64, lines: readonly string[]): AssembledLine[] {
  const dir = mkdtempSync(join(tmpdir(), 'x86-isa-corpus-'));
  try {
    const src = [`.intel_syntax noprefix`, `.code${mode}`, `.text`];
    lines.forEach((l, i) => src.push(`__c${i}:`, `\t${l}`));
    src.push(`__c${lines.length}:`);
    const s = join(dir, 'corpus.s');
    const o = join(dir, 'corpus.o');
    const bin = join(dir, 'corpus.bin');
    writeFileSync(s, `${src.join('\n')}\n`);
    execFileSync(AS, ['--64', '-o', o, s], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    execFileSync(OBJCOPY, ['-O', 'binary', '-j', '.text', o, bin]);
    const nm = execFileSync(NM, [o], { encoding: 'utf8' });
    const addr = new Map<number, number>();
    for (const line of nm.split('\n')) {
      const m = /^([0-9a-f]+) \w __c(\d+)$/.exec(line.trim());
      if (m) addr.set(Number(m[2]), parseInt(m[1], 16));
    }
    const code = new Uint8Array(readFileSync(bin));
    const dis = objdumpRaw(mode, code, dir);
    return lines.map((source, i) => {
      const start = addr.get(i);
      const end = addr.get(i + 1);
      if (start === undefined || end === undefined) throw new Error(`no label for corpus line ${i}: ${source}`);
      const d = dis.get(start);
      return {
        source,
        offset: start,
        bytes: code.slice(start, end),
        objdump: d ? d.text : null,
        objdumpLength: d ? d.length : null,
      };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
