// Case generation for the ALU fixtures: which instructions, which operands, which inputs.
// Pure and deterministic: every family/mode draws from its own seeded Rng stream.
import { Rng } from './rng.mjs';
import { definedFlags, countMask, CF, PF, AF, ZF, SF, OF, DF } from './flags.mjs';

export const SEED = 'latelaunch/machine-x86/alu-fixtures/v1';

// ---------------------------------------------------------------------------------------------
// Registers. Slot numbers follow the hardware encoding (rax=0 ... rdi=7, r8=8 ... r15=15) and
// the harness register block layout.

/** Full-register names per slot, per mode (what the fixtures use as keys). */
export const FULL = {
  64: ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'],
  32: ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'],
};

/** name -> { slot, shift, width } for every GPR name (any size). */
export const REG = (() => {
  const info = {};
  const legacy = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
  for (let i = 0; i < 8; i++) {
    const b = legacy[i];
    info['r' + b] = { slot: i, shift: 0, width: 64 };
    info['e' + b] = { slot: i, shift: 0, width: 32 };
    info[b] = { slot: i, shift: 0, width: 16 };
  }
  for (let i = 8; i < 16; i++) {
    info['r' + i] = { slot: i, shift: 0, width: 64 };
    info['r' + i + 'd'] = { slot: i, shift: 0, width: 32 };
    info['r' + i + 'w'] = { slot: i, shift: 0, width: 16 };
    info['r' + i + 'b'] = { slot: i, shift: 0, width: 8 };
  }
  ['al', 'cl', 'dl', 'bl'].forEach((n, i) => (info[n] = { slot: i, shift: 0, width: 8 }));
  ['ah', 'ch', 'dh', 'bh'].forEach((n, i) => (info[n] = { slot: i, shift: 8, width: 8 }));
  ['spl', 'bpl', 'sil', 'dil'].forEach((n, i) => (info[n] = { slot: i + 4, shift: 0, width: 8 }));
  return info;
})();

const HI8 = ['ah', 'ch', 'dh', 'bh'];
const R8_64 = ['r8b', 'r9b', 'r10b', 'r11b', 'r12b', 'r13b', 'r14b', 'r15b'];
const rn = (suffix) => [8, 9, 10, 11, 12, 13, 14, 15].map((i) => `r${i}${suffix}`);

/**
 * Operand registers per mode and size. RSP/ESP/SP/SPL are never operands (the harness needs the
 * stack pointer), everything else is.
 */
export const GPR = {
  64: {
    8: ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh', 'bpl', 'sil', 'dil', ...R8_64],
    16: ['ax', 'cx', 'dx', 'bx', 'bp', 'si', 'di', ...rn('w')],
    32: ['eax', 'ecx', 'edx', 'ebx', 'ebp', 'esi', 'edi', ...rn('d')],
    64: ['rax', 'rcx', 'rdx', 'rbx', 'rbp', 'rsi', 'rdi', ...rn('')],
  },
  32: {
    8: ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'],
    16: ['ax', 'cx', 'dx', 'bx', 'bp', 'si', 'di'],
    32: ['eax', 'ecx', 'edx', 'ebx', 'ebp', 'esi', 'edi'],
  },
};

export const SIZES = { 64: [8, 16, 32, 64], 32: [8, 16, 32] };
const ACC = { 8: 'al', 16: 'ax', 32: 'eax', 64: 'rax' };
const DATA = { 16: 'dx', 32: 'edx', 64: 'rdx' };

const isHigh = (n) => HI8.includes(n);
const needsRex = (n) => /^r\d/.test(n) || ['spl', 'bpl', 'sil', 'dil'].includes(n) || REG[n].width === 64;
/** AH/CH/DH/BH cannot be encoded in an instruction that has a REX prefix. */
function encodable(names, rexW = false) {
  return !(names.some(isHigh) && (rexW || names.some(needsRex)));
}

export const mask = (bits) => (1n << BigInt(bits)) - 1n;
export const toSigned = (v, bits) => (v >> BigInt(bits - 1)) & 1n ? v - (1n << BigInt(bits)) : v;

/** Interesting operand values for an operand size (masked and de-duplicated). */
export function edges(size) {
  const raw = [
    0n, 1n, 2n, 3n, 0x0fn, 0x10n, 0x7fn, 0x80n, 0x81n, 0xfen, 0xffn, 0x100n, 0x7fffn, 0x8000n, 0xffffn, 0x10000n,
    0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x7fffffffffffffffn, 0x8000000000000000n,
    0x8000000000000001n, 0xfffffffffffffffen, 0xffffffffffffffffn, 0x5555555555555555n, 0xaaaaaaaaaaaaaaaan,
  ];
  const m = mask(size);
  const out = [];
  for (const v of raw) {
    const x = v & m;
    if (!out.includes(x)) out.push(x);
  }
  // Sign boundaries of this size.
  for (const x of [(1n << BigInt(size - 1)) - 1n, 1n << BigInt(size - 1), m, m - 1n]) if (!out.includes(x)) out.push(x);
  return out;
}

const FLAG_BITS = [CF, PF, AF, ZF, SF, OF, DF];
const COND = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
/** Counts for shifts/rotates/SHLD/SHRD: 0, 1, size-1, size, size+1, masked counts > 31/63. */
const COUNTS = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 18, 24, 31, 32, 33, 34, 47, 63, 64, 65, 96, 127, 128, 200, 255];

function hex(v) {
  return '0x' + v.toString(16);
}
function fmtSigned(v) {
  return v < 0n ? '-0x' + (-v).toString(16) : '0x' + v.toString(16);
}

// ---------------------------------------------------------------------------------------------

class FamilyGen {
  constructor(mode, family) {
    this.mode = mode;
    this.family = family;
    this.rng = new Rng(`${SEED}/${mode}/${family}`);
    this.cases = [];
  }

  /** Random status flags + DF (uniform over the 128 combinations); IF and bit 1 set. */
  flags() {
    const r = this.rng.u32();
    let f = 0x202;
    FLAG_BITS.forEach((b, i) => {
      if ((r >>> i) & 1) f |= b;
    });
    return f;
  }

  /** A random operand value: edge values, small values, near-boundary values, uniform. */
  val(size) {
    const rng = this.rng;
    const p = rng.u32() / 4294967296;
    const m = mask(size);
    if (p < 0.3) return rng.pick(edges(size));
    if (p < 0.4) return BigInt(rng.int(33)) & m;
    if (p < 0.5) {
      const e = rng.pick(edges(size));
      const d = BigInt(rng.int(5) + 1);
      return (rng.chance(0.5) ? e + d : e - d) & m;
    }
    if (p < 0.55) return (1n << BigInt(rng.int(size))) & m; // single bit
    return rng.bits(size);
  }

  regs() {
    return new Map();
  }

  /** Make sure the register's full slot is an input, with random upper bits. */
  touch(regs, name) {
    const { slot } = REG[name];
    if (!regs.has(slot)) regs.set(slot, this.rng.bits(this.mode));
  }

  /** Write `value` into the (sub)register `name` (other bits of the slot keep their value). */
  put(regs, name, value) {
    this.touch(regs, name);
    const { slot, shift, width } = REG[name];
    const m = mask(width) << BigInt(shift);
    regs.set(slot, (regs.get(slot) & ~m) | ((BigInt.asUintN(width, value) << BigInt(shift)) & m));
  }

  get(regs, name) {
    const { slot, shift, width } = REG[name];
    return (regs.get(slot) >> BigInt(shift)) & mask(width);
  }

  pickReg(size, exclude = []) {
    const list = GPR[this.mode][size].filter((n) => !exclude.includes(n));
    return this.rng.pick(list);
  }

  /** Pick registers of the given sizes that can be encoded together. */
  pickRegs(sizes, rexW = false) {
    for (;;) {
      const names = sizes.map((s) => this.pickReg(s));
      if (encodable(names, rexW)) return names;
    }
  }

  /**
   * Record a case.
   * spec: { size, asm, asmSource?, regs, flags, count?, undefinedBits?: Map<slot, bigint>,
   *         res?: name of the (sub)register holding the result (host-flag statistics only),
   *         ripRelative?: true, expectDE?: boolean }
   */
  emit(spec) {
    this.cases.push({
      mode: this.mode,
      index: 0,
      definedFlags: definedFlags(this.family, spec.size, spec.count ?? 0),
      ...spec,
      family: this.family,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Encoders for a few forms `as` does not pick by itself (long forms of INC/DEC in 32-bit mode,
// C0/C1 ib shifts with a count of 1). Register operands only.

function regNum(name) {
  const { slot, shift } = REG[name];
  if (shift === 8) return slot + 4; // AH..BH encode as 4..7 without REX
  return slot;
}

function encodeGroup(mode, size, opcode8, opcode, ext, name, imm) {
  const bytes = [];
  if (size === 16) bytes.push(0x66);
  const num = regNum(name);
  const rexNeeded = size === 64 || num >= 8 || (size === 8 && ['spl', 'bpl', 'sil', 'dil'].includes(name));
  if (rexNeeded) {
    if (mode !== 64) throw new Error('REX in 32-bit mode');
    bytes.push(0x40 | (size === 64 ? 8 : 0) | (num >= 8 ? 1 : 0));
  }
  bytes.push(size === 8 ? opcode8 : opcode, 0xc0 | (ext << 3) | (num & 7));
  if (imm !== undefined) bytes.push(imm);
  return '.byte ' + bytes.map((b) => '0x' + b.toString(16).padStart(2, '0')).join(', ');
}

// ---------------------------------------------------------------------------------------------
// Families.

const N = {
  binEdge: 60,
  binRand: 70,
  binImm: 45,
  unary: 70,
  mul: 90,
  imul23: 90,
  div: 100,
  shiftBy1: 24,
  shiftRand: 30,
  shld: 60,
  bt: 70,
  bsf: 70,
  cmpxchg: 70,
  xadd: 60,
  xchg: 50,
  convert: 50,
  movx: 40,
  lea: 500,
};

function binaryAlu(mode, op) {
  const F = new FamilyGen(mode, op);
  for (const size of SIZES[mode]) {
    const E = edges(size);
    const total = N.binEdge + N.binRand + N.binImm;
    for (let i = 0; i < total; i++) {
      const regs = F.regs();
      let flags = F.flags();
      if (op === 'adc' || op === 'sbb') flags = (flags & ~CF) | (i & 1);
      const rexW = size === 64;
      if (i < N.binEdge + N.binRand) {
        let [dst, src] = F.pickRegs([size, size], rexW);
        if (F.rng.chance(0.06)) src = dst;
        const edge = i < N.binEdge;
        F.put(regs, dst, edge ? F.rng.pick(E) : F.val(size));
        if (src !== dst) F.put(regs, src, edge ? F.rng.pick(E) : F.val(size));
        const asm = `${op} ${dst}, ${src}`;
        // {load} makes `as` use the "r, r/m" opcode (03/13/2B/1B/23/0B/33/3B) instead of "r/m, r".
        const load = op !== 'test' && F.rng.chance(0.3);
        F.emit({ size, asm, asmSource: load ? `{load} ${asm}` : undefined, regs, flags, res: op === 'cmp' || op === 'test' ? undefined : dst });
      } else {
        const dst = F.rng.chance(0.3) ? ACC[size] : F.pickReg(size);
        F.put(regs, dst, F.val(size));
        let immText;
        if (size === 64) {
          // imm32 / imm8, sign-extended to 64 bits
          const v = F.rng.chance(0.5) ? BigInt(F.rng.int(256)) - 128n : toSigned(F.val(32), 32);
          immText = fmtSigned(v);
        } else if (size > 8 && F.rng.chance(0.4)) {
          // a value that fits a sign-extended imm8
          const v = BigInt(F.rng.int(256)) - 128n;
          immText = hex(BigInt.asUintN(size, v));
        } else {
          immText = hex(F.val(size));
        }
        F.emit({ size, asm: `${op} ${dst}, ${immText}`, regs, flags, res: op === 'cmp' || op === 'test' ? undefined : dst });
      }
    }
  }
  return F.cases;
}

function unary(mode, op) {
  const F = new FamilyGen(mode, op);
  const ext = { inc: 0, dec: 1 }[op];
  for (const size of SIZES[mode]) {
    const E = edges(size);
    for (let i = 0; i < N.unary; i++) {
      const regs = F.regs();
      const dst = F.pickReg(size);
      F.put(regs, dst, i < E.length ? E[i] : F.val(size));
      const asm = `${op} ${dst}`;
      let asmSource;
      // In 32-bit mode `as` emits the one-byte 40+r / 48+r forms for 16/32-bit INC/DEC; use the
      // FF /0, FF /1 forms for some cases too.
      if (mode === 32 && ext !== undefined && size !== 8 && F.rng.chance(0.3)) asmSource = encodeGroup(mode, size, 0xfe, 0xff, ext, dst);
      F.emit({ size, asm, asmSource, regs, flags: F.flags(), res: dst });
    }
  }
  return F.cases;
}

function mulFamily(mode, op) {
  const F = new FamilyGen(mode, op === 'mul' ? 'mul' : 'imul1');
  for (const size of SIZES[mode]) {
    for (let i = 0; i < N.mul; i++) {
      const regs = F.regs();
      const src = F.pickReg(size);
      F.put(regs, ACC[size], F.val(size));
      if (size > 8) F.touch(regs, DATA[size]);
      F.put(regs, src, F.val(size));
      F.emit({ size, asm: `${op} ${src}`, regs, flags: F.flags(), res: ACC[size] });
    }
  }
  return F.cases;
}

function imul23(mode, form) {
  const F = new FamilyGen(mode, form === 2 ? 'imul2' : 'imul3');
  for (const size of SIZES[mode].filter((s) => s >= 16)) {
    for (let i = 0; i < N.imul23; i++) {
      const regs = F.regs();
      const [dst, src] = F.pickRegs([size, size], size === 64);
      F.touch(regs, dst);
      F.put(regs, src, F.val(size));
      if (form === 2) {
        if (dst !== src) F.put(regs, dst, F.val(size));
        F.emit({ size, asm: `imul ${dst}, ${src}`, regs, flags: F.flags(), res: dst });
      } else {
        const k = Math.min(size, 32);
        const v = F.rng.chance(0.5) ? BigInt(F.rng.int(256)) - 128n : toSigned(F.val(k), k);
        F.emit({ size, asm: `imul ${dst}, ${src}, ${fmtSigned(v)}`, regs, flags: F.flags(), res: dst });
      }
    }
  }
  return F.cases;
}

/** Expected #DE for DIV/IDIV (computed from the register inputs). */
export function divFaults(op, size, regs, mode, srcName) {
  const get = (n) => {
    const { slot, shift, width } = REG[n];
    return (regs.get(slot) >> BigInt(shift)) & mask(width);
  };
  let dividend;
  if (size === 8) dividend = get('ax');
  else dividend = (get(DATA[size]) << BigInt(size)) | get(ACC[size]);
  const divisor = get(srcName);
  if (divisor === 0n) return true;
  if (op === 'div') return dividend / divisor > mask(size);
  const q = toSigned(dividend, 2 * size) / toSigned(divisor, size); // BigInt division truncates
  return q > (1n << BigInt(size - 1)) - 1n || q < -(1n << BigInt(size - 1));
}

function divFamily(mode, op) {
  const F = new FamilyGen(mode, op);
  for (const size of SIZES[mode]) {
    const n = BigInt(size);
    for (let i = 0; i < N.div; i++) {
      const regs = F.regs();
      const src = F.pickReg(size);
      F.touch(regs, ACC[size]);
      if (size > 8) F.touch(regs, DATA[size]);
      const kind = i < 8 ? 'zero' : i < 16 ? 'overflow' : 'valid';
      let dividend, divisor;
      if (kind === 'zero') {
        dividend = F.rng.bits(2 * size);
        divisor = 0n;
      } else if (kind === 'overflow') {
        divisor = op === 'idiv' && i % 2 ? mask(size) /* -1 */ : BigInt(F.rng.int(4) + 1);
        dividend = op === 'idiv' && i % 2 ? (mask(2 * size) << (n - 1n)) & mask(2 * size) /* INT_MIN */ : F.rng.bits(2 * size) | (1n << (2n * n - 2n));
      } else if (op === 'div') {
        divisor = F.val(size) || 1n;
        const q = F.val(size);
        const r = F.rng.bits(size) % divisor;
        dividend = q * divisor + r;
      } else {
        divisor = toSigned(F.val(size), size) || -1n;
        let q = toSigned(F.val(size), size);
        const ad = divisor < 0n ? -divisor : divisor;
        let r = F.rng.bits(size) % ad;
        if (q * divisor < 0n || (q === 0n && F.rng.chance(0.5))) r = -r;
        dividend = BigInt.asUintN(2 * size, q * divisor + r);
      }
      if (size === 8) F.put(regs, 'ax', dividend);
      else {
        F.put(regs, ACC[size], dividend & mask(size));
        F.put(regs, DATA[size], dividend >> n);
      }
      F.put(regs, src, divisor); // may overlap the dividend (div ah, div edx, ...)
      const expectDE = divFaults(op, size, regs, mode, src);
      F.emit({ size, asm: `${op} ${src}`, regs, flags: F.flags(), expectDE, res: ACC[size] });
    }
  }
  return F.cases;
}

const SHIFT_EXT = { rol: 0, ror: 1, rcl: 2, rcr: 3, shl: 4, shr: 5, sar: 7 };

function shiftFamily(mode, op) {
  const F = new FamilyGen(mode, op);
  const carryIn = (i, flags) => (op === 'rcl' || op === 'rcr' ? (flags & ~CF) | (i & 1) : flags);
  for (const size of SIZES[mode]) {
    const clName = { 8: 'cl', 16: 'cx', 32: 'ecx', 64: 'rcx' };
    let i = 0;
    // by 1 (D0/D1; some in the C0/C1 ib form with an immediate 1)
    for (let k = 0; k < N.shiftBy1; k++, i++) {
      const regs = F.regs();
      const dst = F.pickReg(size);
      F.put(regs, dst, F.val(size));
      const asmSource = F.rng.chance(0.3) ? encodeGroup(mode, size, 0xc0, 0xc1, SHIFT_EXT[op], dst, 1) : undefined;
      F.emit({ size, asm: `${op} ${dst}, 1`, asmSource, regs, flags: carryIn(i, F.flags()), count: 1, res: dst });
    }
    // imm8 counts: every interesting count, then random ones
    const imms = [...COUNTS];
    for (let k = 0; k < N.shiftRand; k++) imms.push(F.rng.int(256));
    for (const c of imms) {
      const regs = F.regs();
      const dst = F.pickReg(size);
      F.put(regs, dst, F.val(size));
      F.emit({ size, asm: `${op} ${dst}, ${c}`, regs, flags: carryIn(i++, F.flags()), count: c, res: dst });
    }
    // CL counts (upper bits of RCX random); the shifted register may be CL/CH/CX/ECX itself
    const cls = [...COUNTS, ...COUNTS];
    for (let k = 0; k < N.shiftRand; k++) cls.push(F.rng.int(256));
    for (const c of cls) {
      const regs = F.regs();
      const dst = F.rng.chance(0.08) ? (size === 8 && F.rng.chance(0.5) ? 'ch' : clName[size]) : F.pickReg(size);
      F.put(regs, dst, F.val(size));
      F.put(regs, 'cl', BigInt(c));
      const count = Number(F.get(regs, 'cl'));
      F.emit({ size, asm: `${op} ${dst}, cl`, regs, flags: carryIn(i++, F.flags()), count, res: dst });
    }
  }
  return F.cases;
}

function shldFamily(mode, op) {
  const F = new FamilyGen(mode, op);
  for (const size of SIZES[mode].filter((s) => s >= 16)) {
    const counts = [...COUNTS, ...COUNTS];
    for (let k = 0; k < N.shld; k++) counts.push(F.rng.int(256));
    counts.forEach((c, i) => {
      const regs = F.regs();
      const byCl = i % 2 === 1;
      let [dst, src] = F.pickRegs([size, size], size === 64);
      if (F.rng.chance(0.05)) src = dst;
      F.put(regs, dst, F.val(size));
      if (src !== dst) F.put(regs, src, F.val(size));
      let count = c;
      if (byCl) {
        F.put(regs, 'cl', BigInt(c)); // may overwrite part of dst/src when they are rcx
        count = Number(F.get(regs, 'cl'));
      }
      const cm = count & countMask(size);
      const undefinedBits = cm > size ? new Map([[REG[dst].slot, mask(size)]]) : undefined;
      F.emit({ size, asm: `${op} ${dst}, ${src}, ${byCl ? 'cl' : c}`, regs, flags: F.flags(), count, undefinedBits, res: dst });
    });
  }
  return F.cases;
}

function btFamily(mode, op) {
  const F = new FamilyGen(mode, op);
  for (const size of SIZES[mode].filter((s) => s >= 16)) {
    for (let i = 0; i < N.bt; i++) {
      const regs = F.regs();
      if (i % 3 === 2) {
        const dst = F.pickReg(size);
        F.put(regs, dst, F.val(size));
        const c = i < 30 ? [0, 1, size - 1, size, size + 1, 255, 63, 31, 15, 16][i % 10] : F.rng.int(256);
        F.emit({ size, asm: `${op} ${dst}, ${c}`, regs, flags: F.flags() });
      } else {
        let [dst, src] = F.pickRegs([size, size], size === 64);
        if (F.rng.chance(0.05)) src = dst;
        F.put(regs, dst, F.val(size));
        if (src !== dst) F.put(regs, src, F.rng.chance(0.5) ? BigInt(F.rng.int(size)) : F.val(size));
        F.emit({ size, asm: `${op} ${dst}, ${src}`, regs, flags: F.flags() });
      }
    }
  }
  return F.cases;
}

function bsfFamily(mode, op) {
  const F = new FamilyGen(mode, op);
  for (const size of SIZES[mode].filter((s) => s >= 16)) {
    for (let i = 0; i < N.bsf; i++) {
      const regs = F.regs();
      let [dst, src] = F.pickRegs([size, size], size === 64);
      if (F.rng.chance(0.05)) src = dst;
      F.touch(regs, dst);
      const p = F.rng.u32() / 4294967296;
      const v = i % 5 === 0 ? 0n : p < 0.3 ? 1n << BigInt(F.rng.int(size)) : F.val(size);
      F.put(regs, src, v);
      let undefinedBits;
      if (F.get(regs, src) === 0n) {
        // Destination undefined when the source is 0. In 64-bit mode a 32-bit destination may or
        // may not be zero-extended (AMD: unchanged; Intel: upper half cleared), so all 64 bits.
        const bits = mode === 64 && size === 32 ? mask(64) : mask(size);
        undefinedBits = new Map([[REG[dst].slot, bits]]);
      }
      F.emit({ size, asm: `${op} ${dst}, ${src}`, regs, flags: F.flags(), undefinedBits, res: dst });
    }
  }
  return F.cases;
}

function cmpxchgFamily(mode) {
  const F = new FamilyGen(mode, 'cmpxchg');
  for (const size of SIZES[mode]) {
    for (let i = 0; i < N.cmpxchg; i++) {
      const regs = F.regs();
      const [dst, src] = F.pickRegs([size, size], size === 64);
      const d = F.val(size);
      F.put(regs, ACC[size], i % 2 ? d : F.val(size));
      F.put(regs, src, F.val(size));
      F.put(regs, dst, d);
      F.emit({ size, asm: `cmpxchg ${dst}, ${src}`, regs, flags: F.flags() });
    }
  }
  return F.cases;
}

function xaddFamily(mode) {
  const F = new FamilyGen(mode, 'xadd');
  for (const size of SIZES[mode]) {
    for (let i = 0; i < N.xadd; i++) {
      const regs = F.regs();
      let [dst, src] = F.pickRegs([size, size], size === 64);
      if (F.rng.chance(0.07)) src = dst;
      F.put(regs, dst, F.val(size));
      if (src !== dst) F.put(regs, src, F.val(size));
      F.emit({ size, asm: `xadd ${dst}, ${src}`, regs, flags: F.flags(), res: dst });
    }
  }
  return F.cases;
}

function xchgFamily(mode) {
  const F = new FamilyGen(mode, 'xchg');
  for (const size of SIZES[mode]) {
    for (let i = 0; i < N.xchg; i++) {
      const regs = F.regs();
      let [a, b] = F.pickRegs([size, size], size === 64);
      if (i % 4 === 0) a = ACC[size]; // 90+r short forms (16/32/64)
      if (i % 10 === 5) b = a; // xchg eax, eax: 87 C0 in 64-bit mode (zero-extends), unlike 90
      if (!encodable([a, b], size === 64)) b = ACC[size];
      F.put(regs, a, F.val(size));
      if (b !== a) F.put(regs, b, F.val(size));
      F.emit({ size, asm: `xchg ${a}, ${b}`, regs, flags: F.flags() });
    }
  }
  // The NOP encodings: 90 (xchg eax, eax in 32-bit code, xchg rax, rax in 64-bit code, which does
  // not zero-extend EAX) and 66 90 (xchg ax, ax).
  const nops = mode === 64 ? [[64, 'xchg rax, rax'], [16, 'xchg ax, ax']] : [[32, 'xchg eax, eax'], [16, 'xchg ax, ax']];
  for (const [size, asm] of nops) {
    for (let k = 0; k < 3; k++) {
      const regs = F.regs();
      F.put(regs, ACC[size], F.val(size));
      F.emit({ size, asm, regs, flags: F.flags() });
    }
  }
  return F.cases;
}

function convertFamily(mode, op) {
  const spec = { cbw: [8, 16], cwde: [16, 32], cdqe: [32, 64], cwd: [16, 16], cdq: [32, 32], cqo: [64, 64] }[op];
  const [srcSize, size] = spec;
  const F = new FamilyGen(mode, op);
  const E = edges(srcSize);
  for (let i = 0; i < N.convert; i++) {
    const regs = F.regs();
    F.put(regs, ACC[srcSize], i < E.length ? E[i] : F.val(srcSize));
    if (op === 'cwd' || op === 'cdq' || op === 'cqo') F.touch(regs, DATA[size]);
    F.emit({ size, asm: op, regs, flags: F.flags() });
  }
  return F.cases;
}

function movxFamily(mode, op) {
  const pairs =
    op === 'movsxd'
      ? [[64, 32]]
      : mode === 64
        ? [[16, 8], [32, 8], [64, 8], [32, 16], [64, 16]]
        : [[16, 8], [32, 8], [32, 16]];
  const F = new FamilyGen(mode, op);
  for (const [dsize, ssize] of pairs) {
    const E = edges(ssize);
    for (let i = 0; i < N.movx; i++) {
      const regs = F.regs();
      const [dst, src] = F.pickRegs([dsize, ssize], dsize === 64);
      F.touch(regs, dst);
      F.put(regs, src, i < E.length ? E[i] : F.val(ssize));
      F.emit({ size: dsize, asm: `${op} ${dst}, ${src}`, regs, flags: F.flags() });
    }
  }
  return F.cases;
}

/** Flags for the 32 combinations of CF PF ZF SF OF (AF and DF random). */
function comboFlags(F, combo) {
  let f = 0x202;
  [CF, PF, ZF, SF, OF].forEach((b, k) => {
    if ((combo >> k) & 1) f |= b;
  });
  if (F.rng.chance(0.5)) f |= AF;
  if (F.rng.chance(0.5)) f |= DF;
  return f;
}

function setccFamily(mode) {
  const F = new FamilyGen(mode, 'setcc');
  for (const cc of COND) {
    for (let combo = 0; combo < 32; combo++) {
      const regs = F.regs();
      const dst = F.pickReg(8);
      F.touch(regs, dst);
      F.emit({ size: 8, asm: `set${cc} ${dst}`, regs, flags: comboFlags(F, combo) });
    }
  }
  return F.cases;
}

function cmovFamily(mode) {
  const F = new FamilyGen(mode, 'cmovcc');
  for (const size of SIZES[mode].filter((s) => s >= 16)) {
    for (const cc of COND) {
      for (let combo = 0; combo < 32; combo++) {
        const regs = F.regs();
        let [dst, src] = F.pickRegs([size, size], size === 64);
        if (F.rng.chance(0.04)) src = dst;
        F.put(regs, dst, F.val(size));
        if (src !== dst) F.put(regs, src, F.val(size));
        F.emit({ size, asm: `cmov${cc} ${dst}, ${src}`, regs, flags: comboFlags(F, combo) });
      }
    }
  }
  return F.cases;
}

function leaFamily(mode) {
  const F = new FamilyGen(mode, 'lea');
  const dispVal = () => {
    const p = F.rng.int(6);
    if (p === 0) return 0n;
    if (p === 1) return BigInt(F.rng.int(256)) - 128n; // disp8
    if (p === 2) return F.rng.pick([0x7fn, -0x80n, 0x80n, -0x81n, 0x7fffffffn, -0x80000000n]);
    return toSigned(F.rng.bits(32), 32); // disp32
  };
  const fmtDisp = (d) => (d < 0n ? `-0x${(-d).toString(16)}` : `+0x${d.toString(16)}`);
  const dsizes = mode === 64 ? [16, 32, 64] : [16, 32];
  for (let i = 0; i < N.lea; i++) {
    const regs = F.regs();
    const size = dsizes[i % dsizes.length];
    const dst = F.pickReg(size);
    F.touch(regs, dst);
    const r = F.rng.int(20);
    let asize = mode === 64 ? (r < 4 ? 32 : 64) : r < 5 ? 16 : 32;
    let addr;
    let ripRelative = false;
    if (mode === 64 && r >= 18) {
      // RIP-relative; the fixture records the instruction's address (rip).
      ripRelative = true;
      asize = 64;
      addr = `[rip${fmtDisp(dispVal())}]`;
    } else if (asize === 16) {
      const forms = [['bx', 'si'], ['bx', 'di'], ['bp', 'si'], ['bp', 'di'], ['si'], ['di'], ['bp'], ['bx'], []];
      const regsUsed = F.rng.pick(forms);
      for (const n of regsUsed) F.put(regs, n, F.val(16));
      let d = regsUsed.length === 0 ? BigInt(F.rng.int(65536)) : F.rng.chance(0.5) ? BigInt(F.rng.int(256)) - 128n : BigInt(F.rng.int(65536)) - 32768n;
      const parts = regsUsed.join('+');
      addr = regsUsed.length === 0 ? `[0x${d.toString(16)}]` : `[${parts}${d === 0n && F.rng.chance(0.5) ? '' : fmtDisp(d)}]`;
    } else {
      const list = GPR[mode][asize];
      const base = F.rng.chance(0.85) ? F.rng.pick(list) : undefined;
      const index = F.rng.chance(0.6) ? F.rng.pick(list) : undefined;
      const scale = F.rng.pick([1, 2, 4, 8]);
      let d = dispVal();
      if (!base && !index) d = toSigned(F.rng.bits(32), 32);
      if (base) F.put(regs, base, F.val(asize));
      if (index && index !== base) F.put(regs, index, F.val(asize));
      const terms = [];
      if (base) terms.push(base);
      if (index) terms.push(scale === 1 && F.rng.chance(0.5) ? index : `${index}*${scale}`);
      let text = terms.join('+');
      if (d !== 0n || terms.length === 0 || F.rng.chance(0.3)) text += terms.length === 0 ? (d < 0n ? `-0x${(-d).toString(16)}` : `0x${d.toString(16)}`) : fmtDisp(d);
      addr = `[${text}]`;
    }
    F.emit({ size, asm: `lea ${dst}, ${addr}`, regs, flags: F.flags(), ripRelative, res: dst });
  }
  return F.cases;
}

// ---------------------------------------------------------------------------------------------

/** Families in fixture order, with the modes they exist in. */
export const FAMILIES = [
  ...['add', 'adc', 'sub', 'sbb', 'and', 'or', 'xor', 'cmp', 'test'].map((op) => ({ name: op, build: (m) => binaryAlu(m, op) })),
  ...['inc', 'dec', 'neg', 'not'].map((op) => ({ name: op, build: (m) => unary(m, op) })),
  { name: 'mul', build: (m) => mulFamily(m, 'mul') },
  { name: 'imul1', build: (m) => mulFamily(m, 'imul') },
  { name: 'imul2', build: (m) => imul23(m, 2) },
  { name: 'imul3', build: (m) => imul23(m, 3) },
  { name: 'div', build: (m) => divFamily(m, 'div') },
  { name: 'idiv', build: (m) => divFamily(m, 'idiv') },
  ...['shl', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr'].map((op) => ({ name: op, build: (m) => shiftFamily(m, op) })),
  { name: 'shld', build: (m) => shldFamily(m, 'shld') },
  { name: 'shrd', build: (m) => shldFamily(m, 'shrd') },
  ...['bt', 'bts', 'btr', 'btc'].map((op) => ({ name: op, build: (m) => btFamily(m, op) })),
  { name: 'bsf', build: (m) => bsfFamily(m, 'bsf') },
  { name: 'bsr', build: (m) => bsfFamily(m, 'bsr') },
  { name: 'cmpxchg', build: (m) => cmpxchgFamily(m) },
  { name: 'xadd', build: (m) => xaddFamily(m) },
  { name: 'xchg', build: (m) => xchgFamily(m) },
  { name: 'cbw', build: (m) => convertFamily(m, 'cbw') },
  { name: 'cwde', build: (m) => convertFamily(m, 'cwde') },
  { name: 'cdqe', modes: [64], build: (m) => convertFamily(m, 'cdqe') },
  { name: 'cwd', build: (m) => convertFamily(m, 'cwd') },
  { name: 'cdq', build: (m) => convertFamily(m, 'cdq') },
  { name: 'cqo', modes: [64], build: (m) => convertFamily(m, 'cqo') },
  { name: 'movzx', build: (m) => movxFamily(m, 'movzx') },
  { name: 'movsx', build: (m) => movxFamily(m, 'movsx') },
  { name: 'movsxd', modes: [64], build: (m) => movxFamily(m, 'movsxd') },
  { name: 'setcc', build: (m) => setccFamily(m) },
  { name: 'cmovcc', build: (m) => cmovFamily(m) },
  { name: 'lea', build: (m) => leaFamily(m) },
];

/** All case specs for one mode, in fixture order, with per-family indices. */
export function buildCases(mode) {
  const out = [];
  for (const fam of FAMILIES) {
    if (fam.modes && !fam.modes.includes(mode)) continue;
    const cases = fam.build(mode);
    cases.forEach((c, i) => {
      c.index = i;
      out.push(c);
    });
  }
  return out;
}
