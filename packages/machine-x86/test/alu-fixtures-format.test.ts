// Format and sanity test of the committed differential ALU fixtures (fixtures/alu). It does not
// run the generator (which needs an x86-64 host with gcc/as) and does not use the decoder: it
// checks the format invariants, the coverage the fixtures promise, and recomputes the
// architecturally defined results of (almost) every case with an independent BigInt reference.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  aluFixturesDir,
  compareAluResult,
  DEFINABLE_FLAGS,
  FLAGS,
  loadAluCases,
  loadAluManifest,
  REGISTER_NAMES,
  type AluCase,
  type AluManifest,
} from '../scripts/alu-fixtures/load.mjs';

const { CF, PF, AF, ZF, SF, OF, DF } = FLAGS;

const FAMILIES = [
  'add', 'adc', 'sub', 'sbb', 'and', 'or', 'xor', 'cmp', 'test',
  'inc', 'dec', 'neg', 'not',
  'mul', 'imul1', 'imul2', 'imul3', 'div', 'idiv',
  'shl', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr', 'shld', 'shrd',
  'bt', 'bts', 'btr', 'btc', 'bsf', 'bsr',
  'cmpxchg', 'xadd', 'xchg',
  'cbw', 'cwde', 'cdqe', 'cwd', 'cdq', 'cqo',
  'movzx', 'movsx', 'movsxd', 'setcc', 'cmovcc', 'lea',
];
const ONLY_64 = new Set(['cdqe', 'cqo', 'movsxd']);
const SHIFTS = new Set(['shl', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr']);

// ---------------------------------------------------------------------------------------------
// Independent register model (name -> full register, bit offset, width).

interface RegInfo {
  full: number; // slot 0..15
  shift: number;
  width: number;
}
const REGS: Record<string, RegInfo> = {};
{
  const legacy = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
  legacy.forEach((b, i) => {
    REGS['r' + b] = { full: i, shift: 0, width: 64 };
    REGS['e' + b] = { full: i, shift: 0, width: 32 };
    REGS[b] = { full: i, shift: 0, width: 16 };
  });
  for (let i = 8; i < 16; i++) {
    REGS[`r${i}`] = { full: i, shift: 0, width: 64 };
    REGS[`r${i}d`] = { full: i, shift: 0, width: 32 };
    REGS[`r${i}w`] = { full: i, shift: 0, width: 16 };
    REGS[`r${i}b`] = { full: i, shift: 0, width: 8 };
  }
  ['al', 'cl', 'dl', 'bl'].forEach((n, i) => (REGS[n] = { full: i, shift: 0, width: 8 }));
  ['ah', 'ch', 'dh', 'bh'].forEach((n, i) => (REGS[n] = { full: i, shift: 8, width: 8 }));
  ['spl', 'bpl', 'sil', 'dil'].forEach((n, i) => (REGS[n] = { full: i + 4, shift: 0, width: 8 }));
}
const FULL64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const fullName = (mode: number, slot: number) => (mode === 64 ? FULL64[slot] : 'e' + FULL64[slot].slice(1));
const m = (bits: number) => (1n << BigInt(bits)) - 1n;
const bit = (v: bigint, n: number) => Number((v >> BigInt(n)) & 1n);
const sx = (v: bigint, bits: number) => BigInt.asIntN(bits, v);

class Machine {
  regs: Record<string, bigint>;
  constructor(
    readonly mode: 32 | 64,
    input: Record<string, bigint>,
  ) {
    this.regs = { ...input };
  }
  isReg(name: string) {
    return name in REGS;
  }
  get(name: string): bigint {
    const r = REGS[name];
    const full = this.regs[fullName(this.mode, r.full)];
    if (full === undefined) throw new Error(`register ${name} not among the case inputs`);
    return (full >> BigInt(r.shift)) & m(r.width);
  }
  set(name: string, value: bigint) {
    const r = REGS[name];
    const key = fullName(this.mode, r.full);
    const old = this.regs[key];
    if (old === undefined) throw new Error(`register ${name} not among the case inputs`);
    if (r.width === 32 && this.mode === 64) {
      this.regs[key] = value & m(32); // 32-bit writes zero-extend in 64-bit mode
    } else {
      const mask = m(r.width) << BigInt(r.shift);
      this.regs[key] = (old & ~mask) | ((value << BigInt(r.shift)) & mask);
    }
  }
}

function parity(v: bigint) {
  let x = Number(v & 0xffn);
  let p = 1;
  while (x) {
    p ^= x & 1;
    x >>= 1;
  }
  return p;
}

/** Expected flags builder: starts from the input flags, only touched bits change. */
class Flags {
  constructor(public value: number) {}
  put(flag: number, on: number | boolean) {
    this.value = on ? this.value | flag : this.value & ~flag;
  }
  szp(res: bigint, size: number) {
    this.put(SF, bit(res, size - 1));
    this.put(ZF, res === 0n);
    this.put(PF, parity(res));
  }
}

function addFlags(f: Flags, a: bigint, b: bigint, cin: bigint, size: number, withCf = true) {
  const full = a + b + cin;
  const res = full & m(size);
  if (withCf) f.put(CF, full >> BigInt(size) !== 0n);
  f.put(OF, bit((a ^ res) & (b ^ res), size - 1));
  f.put(AF, bit(a ^ b ^ res, 4));
  f.szp(res, size);
  return res;
}

function subFlags(f: Flags, a: bigint, b: bigint, bin: bigint, size: number, withCf = true) {
  const res = (a - b - bin) & m(size);
  if (withCf) f.put(CF, a < b + bin);
  f.put(OF, bit((a ^ b) & (a ^ res), size - 1));
  f.put(AF, bit(a ^ b ^ res, 4));
  f.szp(res, size);
  return res;
}

function logicFlags(f: Flags, res: bigint, size: number) {
  f.put(CF, 0);
  f.put(OF, 0);
  f.szp(res, size);
}

function cond(cc: string, fl: number): boolean {
  const c = !!(fl & CF), z = !!(fl & ZF), s = !!(fl & SF), o = !!(fl & OF), p = !!(fl & PF);
  const table: Record<string, boolean> = {
    o, no: !o, b: c, ae: !c, e: z, ne: !z, be: c || z, a: !c && !z,
    s, ns: !s, p, np: !p, l: s !== o, ge: s === o, le: z || s !== o, g: !z && s === o,
  };
  if (!(cc in table)) throw new Error(`unknown condition ${cc}`);
  return table[cc];
}

function parseImm(text: string): bigint {
  const neg = text.startsWith('-');
  const v = BigInt(neg ? text.slice(1) : text);
  return neg ? -v : v;
}

function operands(asm: string): [string, string[]] {
  const s = asm.replace(/^\{load\}\s*/, '');
  const sp = s.indexOf(' ');
  if (sp < 0) return [s, []];
  return [s.slice(0, sp), s.slice(sp + 1).split(',').map((x) => x.trim())];
}

/** Number of legacy operand/address-size prefix bytes (and, in 64-bit mode, REX) at the start. */
function prefixLength(c: AluCase): number {
  let i = 0;
  while (i < c.bytes.length && (c.bytes[i] === 0x66 || c.bytes[i] === 0x67 || (c.mode === 64 && (c.bytes[i] & 0xf0) === 0x40))) i++;
  return i;
}

const ACC: Record<number, string> = { 8: 'al', 16: 'ax', 32: 'eax', 64: 'rax' };
const DATA: Record<number, string> = { 16: 'dx', 32: 'edx', 64: 'rdx' };

/**
 * Reference execution. Returns the expected registers and flags (flags: input flags with the
 * bits the reference computes; the caller compares only definedFlags), or `exception`.
 */
function reference(c: AluCase): { regs: Record<string, bigint>; flags: number } | { exception: string } {
  const mc = new Machine(c.mode, c.in);
  const f = new Flags(c.flagsIn);
  const [mn, ops] = operands(c.asm);
  const size = c.size;
  const val = (op: string, bits = size) => (mc.isReg(op) ? mc.get(op) : BigInt.asUintN(bits, parseImm(op)));
  const fam = c.family;
  switch (fam) {
    case 'add':
    case 'adc':
    case 'sub':
    case 'sbb':
    case 'cmp': {
      const a = mc.get(ops[0]);
      const b = val(ops[1]);
      const cin = (fam === 'adc' || fam === 'sbb') && c.flagsIn & CF ? 1n : 0n;
      const res = fam === 'add' || fam === 'adc' ? addFlags(f, a, b, cin, size) : subFlags(f, a, b, cin, size);
      if (fam !== 'cmp') mc.set(ops[0], res);
      break;
    }
    case 'and':
    case 'or':
    case 'xor':
    case 'test': {
      const a = mc.get(ops[0]);
      const b = val(ops[1]);
      const res = fam === 'or' ? a | b : fam === 'xor' ? a ^ b : a & b;
      logicFlags(f, res, size);
      if (fam !== 'test') mc.set(ops[0], res);
      break;
    }
    case 'inc':
    case 'dec': {
      const a = mc.get(ops[0]);
      mc.set(ops[0], fam === 'inc' ? addFlags(f, a, 1n, 0n, size, false) : subFlags(f, a, 1n, 0n, size, false));
      break;
    }
    case 'neg': {
      const a = mc.get(ops[0]);
      mc.set(ops[0], subFlags(f, 0n, a, 0n, size));
      break;
    }
    case 'not':
      mc.set(ops[0], ~mc.get(ops[0]) & m(size));
      break;
    case 'mul':
    case 'imul1': {
      const a = mc.get(ACC[size]);
      const b = mc.get(ops[0]);
      const prod = fam === 'mul' ? a * b : sx(a, size) * sx(b, size);
      const lo = BigInt.asUintN(size, prod);
      const hi = BigInt.asUintN(size, prod >> BigInt(size));
      const over = fam === 'mul' ? hi !== 0n : sx(lo, size) !== prod;
      if (size === 8) mc.set('ax', BigInt.asUintN(16, prod));
      else {
        mc.set(ACC[size], lo);
        mc.set(DATA[size], hi);
      }
      f.put(CF, over);
      f.put(OF, over);
      break;
    }
    case 'imul2':
    case 'imul3': {
      const a = sx(mc.get(ops[fam === 'imul2' ? 0 : 1]), size);
      const b = fam === 'imul2' ? sx(mc.get(ops[1]), size) : parseImm(ops[2]);
      const prod = a * b;
      const res = BigInt.asUintN(size, prod);
      mc.set(ops[0], res);
      f.put(CF, sx(res, size) !== prod);
      f.put(OF, sx(res, size) !== prod);
      break;
    }
    case 'div':
    case 'idiv': {
      const divisor = mc.get(ops[0]);
      const dividend = size === 8 ? mc.get('ax') : (mc.get(DATA[size]) << BigInt(size)) | mc.get(ACC[size]);
      if (divisor === 0n) return { exception: '#DE' };
      let q: bigint, r: bigint;
      if (fam === 'div') {
        q = dividend / divisor;
        r = dividend % divisor;
        if (q > m(size)) return { exception: '#DE' };
      } else {
        const n = sx(dividend, 2 * size), d = sx(divisor, size);
        q = n / d; // truncates toward zero, like IDIV
        r = n % d; // sign of the dividend, like IDIV
        if (q > m(size - 1) || q < -(1n << BigInt(size - 1))) return { exception: '#DE' };
      }
      if (size === 8) mc.set('ax', (BigInt.asUintN(8, r) << 8n) | BigInt.asUintN(8, q));
      else {
        mc.set(ACC[size], BigInt.asUintN(size, q));
        mc.set(DATA[size], BigInt.asUintN(size, r));
      }
      break;
    }
    case 'shl':
    case 'shr':
    case 'sar':
    case 'rol':
    case 'ror':
    case 'rcl':
    case 'rcr': {
      const a = mc.get(ops[0]);
      const count = Number(val(ops[1], 8));
      const cnt = count & (size === 64 ? 63 : 31);
      if (cnt === 0) {
        mc.set(ops[0], a);
        break;
      }
      const n = BigInt(size);
      let res: bigint;
      if (fam === 'shl') {
        res = (a << BigInt(cnt)) & m(size);
        f.put(CF, cnt <= size ? bit(a, size - cnt) : 0);
        f.put(OF, bit(res, size - 1) ^ (f.value & CF ? 1 : 0));
        f.szp(res, size);
      } else if (fam === 'shr') {
        res = a >> BigInt(cnt);
        f.put(CF, cnt <= size ? bit(a, cnt - 1) : 0);
        f.put(OF, bit(a, size - 1));
        f.szp(res, size);
      } else if (fam === 'sar') {
        res = BigInt.asUintN(size, sx(a, size) >> BigInt(cnt));
        f.put(CF, cnt >= size ? bit(a, size - 1) : bit(a, cnt - 1));
        f.put(OF, 0);
        f.szp(res, size);
      } else if (fam === 'rol' || fam === 'ror') {
        const t = BigInt(cnt % size);
        res = fam === 'rol' ? ((a << t) | (a >> ((n - t) % n))) & m(size) : ((a >> t) | (a << ((n - t) % n))) & m(size);
        if (fam === 'rol') {
          f.put(CF, bit(res, 0));
          f.put(OF, bit(res, size - 1) ^ bit(res, 0));
        } else {
          f.put(CF, bit(res, size - 1));
          f.put(OF, bit(res, size - 1) ^ bit(res, size - 2));
        }
      } else {
        const w = size + 1;
        const t = BigInt(size === 8 ? cnt % 9 : size === 16 ? cnt % 17 : cnt);
        const cin = c.flagsIn & CF ? 1n : 0n;
        const x = (cin << n) | a;
        const W = BigInt(w);
        const y = fam === 'rcl' ? ((x << t) | (x >> ((W - t) % W))) & m(w) : ((x >> t) | (x << ((W - t) % W))) & m(w);
        res = y & m(size);
        f.put(CF, bit(y, size));
        if (fam === 'rcl') f.put(OF, bit(res, size - 1) ^ bit(y, size));
        else f.put(OF, bit(a, size - 1) ^ Number(cin));
      }
      mc.set(ops[0], res);
      break;
    }
    case 'shld':
    case 'shrd': {
      const a = mc.get(ops[0]);
      const b = mc.get(ops[1]);
      const count = Number(val(ops[2], 8));
      const cnt = count & (size === 64 ? 63 : 31);
      if (cnt === 0) {
        mc.set(ops[0], a);
        break;
      }
      const n = BigInt(size), k = BigInt(cnt);
      let res: bigint;
      if (cnt > size) {
        res = 0n; // destination architecturally undefined (undefinedBits); flags too
      } else if (fam === 'shld') {
        res = (((a << n) | b) << k >> n) & m(size);
        f.put(CF, bit(a, size - cnt));
      } else {
        res = (((b << n) | a) >> k) & m(size);
        f.put(CF, bit(a, cnt - 1));
      }
      f.put(OF, bit(res, size - 1) ^ bit(a, size - 1));
      f.szp(res, size);
      mc.set(ops[0], res);
      break;
    }
    case 'bt':
    case 'bts':
    case 'btr':
    case 'btc': {
      const a = mc.get(ops[0]);
      const off = Number(val(ops[1], 8) & BigInt(size - 1));
      f.put(CF, bit(a, off));
      const b = 1n << BigInt(off);
      if (fam === 'bts') mc.set(ops[0], a | b);
      if (fam === 'btr') mc.set(ops[0], a & ~b);
      if (fam === 'btc') mc.set(ops[0], a ^ b);
      break;
    }
    case 'bsf':
    case 'bsr': {
      const s = mc.get(ops[1]);
      f.put(ZF, s === 0n);
      if (s !== 0n) {
        let i = fam === 'bsf' ? 0 : size - 1;
        while (!bit(s, i)) i += fam === 'bsf' ? 1 : -1;
        mc.set(ops[0], BigInt(i));
      }
      break;
    }
    case 'cmpxchg': {
      const acc = mc.get(ACC[size]);
      const d = mc.get(ops[0]);
      const s = mc.get(ops[1]);
      subFlags(f, acc, d, 0n, size);
      if (acc === d) mc.set(ops[0], s);
      else {
        // The SDM pseudo-code also writes DEST back (DEST <- TEMP), which for a 32-bit register
        // in 64-bit mode would clear its upper half; the hardware leaves a register destination
        // untouched on failure (see FIXTURES.md), so the reference does too.
        mc.set(ACC[size], d);
      }
      break;
    }
    case 'xadd': {
      const d = mc.get(ops[0]);
      const s = mc.get(ops[1]);
      const sum = addFlags(f, d, s, 0n, size);
      mc.set(ops[1], d);
      mc.set(ops[0], sum);
      break;
    }
    case 'xchg': {
      if (Buffer.from(c.bytes).toString('hex') === '90') break; // 90 is NOP (xchg rax, rax)
      const a = mc.get(ops[0]);
      const b = mc.get(ops[1]);
      mc.set(ops[0], b);
      mc.set(ops[1], a);
      break;
    }
    case 'cbw':
      mc.set('ax', BigInt.asUintN(16, sx(mc.get('al'), 8)));
      break;
    case 'cwde':
      mc.set('eax', BigInt.asUintN(32, sx(mc.get('ax'), 16)));
      break;
    case 'cdqe':
      mc.set('rax', BigInt.asUintN(64, sx(mc.get('eax'), 32)));
      break;
    case 'cwd':
      mc.set('dx', bit(mc.get('ax'), 15) ? m(16) : 0n);
      break;
    case 'cdq':
      mc.set('edx', bit(mc.get('eax'), 31) ? m(32) : 0n);
      break;
    case 'cqo':
      mc.set('rdx', bit(mc.get('rax'), 63) ? m(64) : 0n);
      break;
    case 'movzx':
    case 'movsx':
    case 'movsxd': {
      const s = mc.get(ops[1]);
      const sw = REGS[ops[1]].width;
      mc.set(ops[0], fam === 'movzx' ? s : BigInt.asUintN(size, sx(s, sw)));
      break;
    }
    case 'setcc':
      mc.set(ops[0], cond(mn.slice(3), c.flagsIn) ? 1n : 0n);
      break;
    case 'cmovcc': {
      const taken = cond(mn.slice(4), c.flagsIn);
      mc.set(ops[0], taken ? mc.get(ops[1]) : mc.get(ops[0])); // 32-bit: zero-extends even when not taken
      break;
    }
    case 'lea': {
      const inner = ops[1].slice(1, -1);
      const terms = inner.replace(/-/g, '+-').split('+').filter((t) => t !== '');
      let addr = 0n;
      let asize = 0;
      for (const t of terms) {
        const [r, scale] = t.split('*');
        if (r === 'rip') {
          asize = 64;
          addr += c.rip! + BigInt(c.bytes.length);
        } else if (mc.isReg(r)) {
          asize = REGS[r].width;
          addr += mc.get(r) * BigInt(scale ?? 1);
        } else addr += parseImm(t);
      }
      if (asize === 0) asize = [...c.bytes.slice(0, prefixLength(c))].includes(0x67) ? c.mode / 2 : c.mode;
      addr = BigInt.asUintN(asize, addr);
      mc.set(ops[0], addr & m(size));
      break;
    }
    default:
      throw new Error(`no reference for ${fam}`);
  }
  return { regs: mc.regs, flags: f.value };
}

// ---------------------------------------------------------------------------------------------

let manifest: AluManifest;
let cases: AluCase[];
const byMode: Record<32 | 64, AluCase[]> = { 32: [], 64: [] };

beforeAll(() => {
  manifest = loadAluManifest();
  cases = loadAluCases();
  for (const c of cases) byMode[c.mode].push(c);
});

describe('ALU fixtures: files and manifest', () => {
  it('has the files the manifest lists, with matching hashes and a small total size', () => {
    expect(manifest.formatVersion).toBe(1);
    let bytes = 0;
    for (const [name, info] of Object.entries(manifest.files)) {
      const gz = fs.readFileSync(path.join(aluFixturesDir(), name));
      bytes += gz.length;
      const jsonl = zlib.gunzipSync(gz);
      expect(createHash('sha256').update(jsonl).digest('hex'), name).toBe(info.jsonlSha256);
      expect(info.cases).toBe(byMode[info.mode].length);
    }
    expect(Object.keys(manifest.files).sort()).toEqual(['alu-32.jsonl.gz', 'alu-64.jsonl.gz']);
    expect(bytes).toBeLessThan(8 * 1024 * 1024);
    expect(manifest.total).toBe(cases.length);
  });

  it('has at least 20,000 cases and every family in every mode where it exists', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20_000);
    for (const mode of [32, 64] as const) {
      const counts: Record<string, number> = {};
      for (const c of byMode[mode]) counts[c.family] = (counts[c.family] ?? 0) + 1;
      expect(counts).toEqual(manifest.counts[String(mode) as '32' | '64']);
      for (const fam of FAMILIES) {
        if (mode === 32 && ONLY_64.has(fam)) {
          expect(counts[fam], `${fam} must not exist in 32-bit mode`).toBeUndefined();
          continue;
        }
        expect(counts[fam] ?? 0, `${mode}-bit ${fam}`).toBeGreaterThanOrEqual(40);
      }
      expect(Object.keys(counts).sort()).toEqual(FAMILIES.filter((f) => mode === 64 || !ONLY_64.has(f)).sort());
    }
  });
});

describe('ALU fixtures: per-case format invariants', () => {
  it('every case is well formed', () => {
    // Plain checks collected into one assertion: 35k cases x 30 expect() calls would be slow.
    const errors: string[] = [];
    const check = (ok: boolean, c: AluCase, what: string) => {
      if (!ok && errors.length < 30) errors.push(`${c.id} (${c.asm}): ${what}`);
    };
    const ids = new Set<string>();
    const perFamilyIndex: Record<string, number> = {};
    const reg64 = /\b(r(ax|cx|dx|bx|sp|bp|si|di)|r\d+[bwd]?|sil|dil|bpl|spl)\b/;
    for (const c of cases) {
      const key = `${c.mode}/${c.family}`;
      const idx = perFamilyIndex[key] ?? 0;
      perFamilyIndex[key] = idx + 1;
      check(c.id === `${key}/${idx}` && !ids.has(c.id), c, 'id is mode/family/index, unique, in order');
      ids.add(c.id);
      check((c.mode === 64 ? [8, 16, 32, 64] : [8, 16, 32]).includes(c.size), c, 'operand size valid for the mode');
      check(c.bytes.length >= 1 && c.bytes.length <= 15, c, '1..15 instruction bytes');
      check(/^[a-z]/.test(c.asm), c, 'asm text');
      const width = c.mode === 64 ? m(64) : m(32);
      const inKeys = Object.keys(c.in);
      check(inKeys.length > 0, c, 'has input registers');
      for (const k of inKeys) {
        check(REGISTER_NAMES[c.mode].includes(k), c, `register name ${k}`);
        check(c.in[k] >= 0n && c.in[k] <= width, c, `input ${k} fits the mode`);
      }
      check((c.flagsIn & 0x202) === 0x202, c, 'flagsIn has bit 1 and IF');
      check((c.flagsIn & ~(0x202 | DEFINABLE_FLAGS)) === 0, c, 'flagsIn only status flags and DF');
      check((c.definedFlags & ~DEFINABLE_FLAGS) === 0, c, 'definedFlags within 0xcd5');
      check((c.definedFlags & DF) === DF, c, 'DF always defined');
      if (c.exception !== undefined) {
        check(c.exception === '#DE' && (c.family === 'div' || c.family === 'idiv'), c, 'only DIV/IDIV raise #DE');
        check(c.out === undefined && c.flagsOut === undefined, c, 'no outputs with an exception');
      } else {
        check(c.out !== undefined && c.flagsOut !== undefined, c, 'outputs present');
        check(JSON.stringify(Object.keys(c.out ?? {})) === JSON.stringify(inKeys), c, 'out has the keys of in');
        for (const v of Object.values(c.out ?? {})) check(v >= 0n && v <= width, c, 'output fits the mode');
        // bits outside the status flags are untouched; DF is never changed
        check(((c.flagsOut! ^ c.flagsIn) & ~(DEFINABLE_FLAGS & ~DF)) === 0, c, 'only status flags change');
      }
      if (c.undefinedBits) {
        check(['bsf', 'bsr', 'shld', 'shrd'].includes(c.family), c, 'undefinedBits only for BSF/BSR/SHLD/SHRD');
        for (const k of Object.keys(c.undefinedBits)) check(inKeys.includes(k), c, 'undefinedBits names an input register');
      }
      if (c.rip !== undefined) check(c.family === 'lea', c, 'rip only for LEA');
      if (c.asmSource !== undefined) check(c.asmSource !== c.asm, c, 'asmSource differs from asm');
      if (c.mode === 32) check(!reg64.test(operands(c.asm)[1].join(',')), c, 'no 64-bit registers in 32-bit code');
    }
    expect(errors).toEqual([]);
    expect(ids.size).toBe(cases.length);
  });

  it('definedFlags agrees with an independent reading of the SDM "Flags Affected" sections', () => {
    const ALL = CF | PF | AF | ZF | SF | OF | DF;
    const expected = (c: AluCase): number => {
      const f = c.family;
      if (['add', 'adc', 'sub', 'sbb', 'cmp', 'neg', 'inc', 'dec', 'xadd', 'cmpxchg'].includes(f)) return ALL;
      if (['and', 'or', 'xor', 'test'].includes(f)) return ALL & ~AF; // AF undefined
      if (['mul', 'imul1', 'imul2', 'imul3'].includes(f)) return CF | OF | DF; // SF ZF AF PF undefined
      if (f === 'div' || f === 'idiv') return DF; // all six undefined
      if (f.startsWith('bt')) return CF | ZF | DF; // OF SF AF PF undefined, ZF unaffected
      if (f === 'bsf' || f === 'bsr') return ZF | DF; // CF OF SF AF PF undefined
      if (SHIFTS.has(f) || f === 'shld' || f === 'shrd') {
        const [, ops] = operands(c.asm);
        const countOp = ops[ops.length - 1];
        const count = countOp === 'cl' ? Number(c.in[c.mode === 64 ? 'rcx' : 'ecx'] & 0xffn) : Number(parseImm(countOp));
        const n = count & (c.size === 64 ? 0x3f : 0x1f);
        if (n === 0) return ALL; // flags not affected
        if (['rol', 'ror', 'rcl', 'rcr'].includes(f)) return n === 1 ? ALL : ALL & ~OF;
        if ((f === 'shld' || f === 'shrd') && n > c.size) return DF; // flags undefined
        let d = ALL & ~AF;
        if (n > 1) d &= ~OF;
        if ((f === 'shl' || f === 'shr') && n >= c.size) d &= ~CF;
        return d;
      }
      return ALL; // flags not affected
    };
    const bad = cases.filter((c) => c.definedFlags !== expected(c)).map((c) => `${c.id} ${c.asm}: ${c.definedFlags.toString(16)} vs ${expected(c).toString(16)}`);
    expect(bad.slice(0, 20)).toEqual([]);
  });

  it('instructions that do not affect flags leave every status flag as it was', () => {
    const none = new Set(['not', 'xchg', 'cbw', 'cwde', 'cdqe', 'cwd', 'cdq', 'cqo', 'movzx', 'movsx', 'movsxd', 'setcc', 'cmovcc', 'lea']);
    let n = 0;
    for (const c of cases) {
      if (!none.has(c.family)) continue;
      expect(c.definedFlags, c.id).toBe(DEFINABLE_FLAGS);
      expect((c.flagsOut! ^ c.flagsIn) & DEFINABLE_FLAGS, c.id).toBe(0);
      n++;
    }
    expect(n).toBeGreaterThan(2000);
  });
});

describe('ALU fixtures: coverage', () => {
  const asmOf = (mode: 32 | 64, fam: string) => byMode[mode].filter((c) => c.family === fam);

  it('covers every operand size, high-byte registers and (64-bit) REX byte registers', () => {
    for (const mode of [32, 64] as const) {
      for (const fam of ['add', 'adc', 'sub', 'sbb', 'and', 'or', 'xor', 'cmp', 'test', 'inc', 'dec', 'neg', 'not', 'mul', 'imul1', 'div', 'idiv', ...SHIFTS, 'cmpxchg', 'xadd', 'xchg']) {
        const sizes = new Set(asmOf(mode, fam).map((c) => c.size));
        expect([...sizes].sort((a, b) => a - b), `${mode} ${fam}`).toEqual(mode === 64 ? [8, 16, 32, 64] : [8, 16, 32]);
      }
      const asm = byMode[mode].map((c) => c.asm).join('\n');
      for (const r of ['ah', 'ch', 'dh', 'bh']) expect(asm, `${mode} ${r}`).toMatch(new RegExp(`\\b${r}\\b`));
      if (mode === 64) for (const r of ['bpl', 'sil', 'dil', 'r8b', 'r15b', 'r9w', 'r10d', 'r15']) expect(asm, r).toMatch(new RegExp(`\\b${r}\\b`));
    }
  });

  it('covers shift counts 0, 1, size-1, size, > size and masked counts, by imm8 and CL', () => {
    for (const mode of [32, 64] as const) {
      for (const fam of SHIFTS) {
        for (const size of mode === 64 ? [8, 16, 32, 64] : [8, 16, 32]) {
          const cs = asmOf(mode, fam).filter((c) => c.size === size);
          for (const form of ['imm', 'cl'] as const) {
            const counts = new Set(
              cs
                .filter((c) => (form === 'cl') === c.asm.endsWith(', cl'))
                .map((c) => (form === 'cl' ? Number(c.in[mode === 64 ? 'rcx' : 'ecx'] & 0xffn) : Number(parseImm(operands(c.asm)[1][1])))),
            );
            for (const want of [0, 1, size - 1, size, size + 1, 32, 33, 63, 64, 255]) expect(counts.has(want), `${mode} ${fam} ${size} ${form} count ${want}`).toBe(true);
          }
          // by 1: both the D0/D1 form and the C0/C1 ib form with an immediate 1
          const by1 = cs.filter((c) => /, 1$/.test(c.asm)).map((c) => c.bytes.slice(prefixLength(c)));
          expect(by1.some((b) => b[0] === 0xd0 || b[0] === 0xd1), `${mode} ${fam} ${size} D1`).toBe(true);
          expect(by1.some((b) => (b[0] === 0xc0 || b[0] === 0xc1) && b[2] === 1), `${mode} ${fam} ${size} C1 ib 1`).toBe(true);
        }
      }
    }
  });

  it('covers CF=0 and CF=1 for ADC/SBB/RCL/RCR, all 16 conditions, #DE, BSF/BSR zero sources', () => {
    for (const mode of [32, 64] as const) {
      for (const fam of ['adc', 'sbb', 'rcl', 'rcr']) {
        const cfs = asmOf(mode, fam).map((c) => c.flagsIn & CF);
        expect(cfs.filter((x) => x).length, `${mode} ${fam}`).toBeGreaterThan(cfs.length / 3);
        expect(cfs.filter((x) => !x).length, `${mode} ${fam}`).toBeGreaterThan(cfs.length / 3);
      }
      for (const fam of ['setcc', 'cmovcc']) {
        const ccs = new Set(asmOf(mode, fam).map((c) => operands(c.asm)[0].slice(fam === 'setcc' ? 3 : 4)));
        expect(ccs.size, `${mode} ${fam}`).toBe(16);
      }
      for (const fam of ['div', 'idiv']) {
        const cs = asmOf(mode, fam);
        expect(cs.filter((c) => c.exception === '#DE').length, `${mode} ${fam}`).toBeGreaterThanOrEqual(10);
        expect(cs.filter((c) => c.exception === undefined).length, `${mode} ${fam}`).toBeGreaterThan(cs.length / 2);
      }
      for (const fam of ['bsf', 'bsr']) expect(asmOf(mode, fam).filter((c) => c.undefinedBits).length).toBeGreaterThanOrEqual(20);
      // 32-bit mode: the one-byte INC/DEC forms 40+r / 48+r really were executed in 32-bit code
      if (mode === 32) {
        expect(asmOf(32, 'inc').some((c) => c.bytes.length === 1 && (c.bytes[0] & 0xf8) === 0x40)).toBe(true);
        expect(asmOf(32, 'dec').some((c) => c.bytes.length === 1 && (c.bytes[0] & 0xf8) === 0x48)).toBe(true);
      }
    }
  });
});

describe('ALU fixtures: independent reference computation', () => {
  it('matches a BigInt reference for the defined outputs of every case', () => {
    const checked: Record<string, number> = {};
    const failures: string[] = [];
    for (const c of cases) {
      const ref = reference(c);
      const problems = compareAluResult(c, ref);
      if (problems.length && failures.length < 20) failures.push(`${c.id} ${c.asm}: ${problems.join('; ')}`);
      checked[c.family] = (checked[c.family] ?? 0) + 1;
    }
    expect(failures).toEqual([]);
    expect(Object.values(checked).reduce((a, b) => a + b, 0)).toBe(cases.length);
  });

  it('compareAluResult reports wrong defined state and ignores undefined state', () => {
    const c = cases.find((x) => x.family === 'mul' && x.exception === undefined)!;
    const ok = { regs: { ...c.out! }, flags: c.flagsOut! ^ (SF | ZF | AF | PF) }; // undefined after MUL
    expect(compareAluResult(c, ok)).toEqual([]);
    expect(compareAluResult(c, { regs: { ...c.out! }, flags: c.flagsOut! ^ CF })).toHaveLength(1);
    const reg = Object.keys(c.out!)[0];
    expect(compareAluResult(c, { regs: { ...c.out!, [reg]: c.out![reg] ^ 1n }, flags: c.flagsOut! })).toHaveLength(1);
    const z = cases.find((x) => x.family === 'bsf' && x.undefinedBits)!;
    const [ur, ub] = Object.entries(z.undefinedBits!)[0];
    expect(compareAluResult(z, { regs: { ...z.out!, [ur]: z.out![ur] ^ ub }, flags: z.flagsOut! })).toEqual([]);
    const de = cases.find((x) => x.exception === '#DE')!;
    expect(compareAluResult(de, { exception: '#DE' })).toEqual([]);
    expect(compareAluResult(de, { regs: {}, flags: 0 })).toHaveLength(1);
  });
});
