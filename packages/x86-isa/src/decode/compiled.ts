/**
 * Compiles {@link OPCODE_TABLE} into flat typed arrays, once, at module load. The decoder's hot
 * path only indexes these arrays.
 *
 * - `ROOT[((map << 8) | opcode) * 4 + pfxClass]`: > 0 → entry + 1 (no group), < 0 → -(group + 1)
 *   (ModRM selects the entry), 0 → unsupported.
 * - `GROUP[group * 128 + (mod == 3 ? 64 : 0) + reg * 8 + rm]`: entry + 1, or 0 → unsupported.
 * - `E_*[entry]`: per-row attributes.
 */
import { Form, Op } from './ops.js';
import { ImmKind, OPCODE_TABLE, type OpcodeSpec, SizeRule } from './table.js';

/** Entry flag bits (E_FLAGS). */
export const EF = {
  LOCK: 1,
  PLUSR: 2,
  CC: 4,
  MODRM: 8,
  FORCEREG: 16,
  NOP90: 32,
  FIXRM: 64,
  FIXREG: 128,
  /** The `reg` operand is a general-purpose register of width opSize (byte-register mapping applies). */
  GPR_G: 256,
  /** Memory-only row reached through a direct slot (mod = 3 is unsupported). */
  MEMONLY: 512,
  /** ModRM.reg names a segment register: REX.R is ignored. */
  SREG: 1024,
  /** Only some ModRM.reg values are valid registers (see E_REGVALID). */
  REGVALID: 2048,
} as const;

const MODRM_FORMS = new Set<number>([
  Form.E, Form.E_G, Form.G_E, Form.E_I, Form.G_E_I, Form.E_G_I, Form.E_G_CL, Form.E_1, Form.E_CL,
  Form.E_S, Form.S_E, Form.R_C, Form.C_R, Form.R_D, Form.D_R,
]);
const GPR_G_FORMS = new Set<number>([Form.E_G, Form.G_E, Form.G_E_I, Form.E_G_I, Form.E_G_CL]);

function needsModrm(s: OpcodeSpec): boolean {
  if (s.reg !== undefined || s.rm !== undefined || s.mod !== undefined) return true;
  if (!MODRM_FORMS.has(s.form)) return false;
  return !s.plusr && s.fixedRm === undefined && s.imm !== ImmKind.MOFFS;
}

const n = OPCODE_TABLE.length;
export const E_OP = new Uint8Array(n);
export const E_FORM = new Uint8Array(n);
export const E_SIZE = new Uint8Array(n);
export const E_ESIZE = new Uint8Array(n);
export const E_IMM = new Uint8Array(n);
export const E_MODES = new Uint8Array(n);
export const E_FLAGS = new Uint16Array(n);
export const E_FIXRM = new Int8Array(n);
export const E_FIXREG = new Int8Array(n);
/** Bit r set ⇔ ModRM.reg value r (REX.R applied) is a valid register for this row. */
export const E_REGVALID = new Uint16Array(n);
/**
 * The same attributes packed for the hot path: op | form << 8 | size rule << 13 |
 * imm kind << 17 | r/m size rule << 21 | modes << 25.
 */
export const E_ATTR = new Int32Array(n);

OPCODE_TABLE.forEach((s, i) => {
  E_OP[i] = s.op;
  E_FORM[i] = s.form;
  E_SIZE[i] = s.size;
  E_ESIZE[i] = s.esize ?? 0;
  E_IMM[i] = s.imm ?? ImmKind.NONE;
  E_MODES[i] = s.modes ?? 7;
  let f = 0;
  if (s.lock) f |= EF.LOCK;
  if (s.plusr) f |= EF.PLUSR;
  if (s.cc) f |= EF.CC;
  if (needsModrm(s)) f |= EF.MODRM;
  if (s.forceReg) f |= EF.FORCEREG;
  if (s.op === Op.NOP && s.map === 0 && s.opcode === 0x90) f |= EF.NOP90;
  if (s.fixedRm !== undefined) f |= EF.FIXRM;
  if (s.fixedReg !== undefined) f |= EF.FIXREG;
  if (GPR_G_FORMS.has(s.form) && s.fixedReg === undefined) f |= EF.GPR_G;
  if (s.mod === 'mem') f |= EF.MEMONLY;
  if (s.form === Form.E_S || s.form === Form.S_E) f |= EF.SREG;
  E_FLAGS[i] = f;
  E_FIXRM[i] = s.fixedRm ?? -1;
  E_FIXREG[i] = s.fixedReg ?? -1;
  let valid = 0xffff;
  if (s.regValid) {
    E_FLAGS[i] |= EF.REGVALID;
    valid = 0;
    for (const r of s.regValid) valid |= 1 << r;
  }
  E_REGVALID[i] = valid;
  E_ATTR[i] = E_OP[i] | (E_FORM[i] << 8) | (E_SIZE[i] << 13) | (E_IMM[i] << 17) | (E_ESIZE[i] << 21) | (E_MODES[i] << 25);
});

export const ROOT = new Int32Array(4 * 256 * 4);
const groups: Int32Array[] = [];
const groupKeys = new Map<string, number>();

function opcodesOf(s: OpcodeSpec): number[] {
  const count = s.plusr ? (s.count ?? 8) : s.cc ? 16 : 1;
  return Array.from({ length: count }, (_, k) => s.opcode + k);
}

{
  // bucket rows by (map, opcode, pfxClass)
  const buckets = new Map<number, number[]>();
  OPCODE_TABLE.forEach((s, i) => {
    for (const opc of opcodesOf(s)) {
      for (const pc of s.pfx ?? [0, 1, 2, 3]) {
        const key = ((s.map << 8) | opc) * 4 + pc;
        let list = buckets.get(key);
        if (!list) buckets.set(key, (list = []));
        list.push(i);
      }
    }
  });
  for (const [key, list] of buckets) {
    const grouped = list.some((i) => {
      const s = OPCODE_TABLE[i];
      return s.reg !== undefined || s.rm !== undefined;
    });
    if (!grouped) {
      if (list.length !== 1) throw new Error(`opcode table: overlapping rows at slot ${key.toString(16)}`);
      ROOT[key] = list[0] + 1;
      continue;
    }
    const g = new Int32Array(128);
    for (const i of list) {
      const s = OPCODE_TABLE[i];
      for (let cell = 0; cell < 128; cell++) {
        const isReg = cell >= 64;
        const reg = (cell >> 3) & 7;
        const rm = cell & 7;
        if (s.reg !== undefined && s.reg !== reg) continue;
        if (s.rm !== undefined && (!isReg || s.rm !== rm)) continue;
        if (s.mod === 'mem' && isReg) continue;
        if (s.mod === 'reg' && !isReg) continue;
        if (g[cell] !== 0) throw new Error(`opcode table: overlapping rows at slot ${key.toString(16)} cell ${cell}`);
        g[cell] = i + 1;
      }
    }
    const sig = g.join(',');
    let gi = groupKeys.get(sig);
    if (gi === undefined) {
      gi = groups.length;
      groups.push(g);
      groupKeys.set(sig, gi);
    }
    ROOT[key] = -(gi + 1);
  }
}

export const GROUP = new Int32Array(groups.length * 128);
groups.forEach((g, i) => GROUP.set(g, i * 128));

/**
 * Operand size by rule, mode, 66 and REX.W:
 * `OPSIZE[rule * 12 + modeIndex * 4 + has66 * 2 + rexW]`, modeIndex 0/1/2 = 16/32/64-bit.
 */
export const OPSIZE = new Uint8Array(9 * 12);
for (let rule = 0; rule < 9; rule++) {
  for (let mi = 0; mi < 3; mi++) {
    for (let o = 0; o < 2; o++) {
      for (let w = 0; w < 2; w++) {
        const legacy = mi === 0 ? (o ? 32 : 16) : o ? 16 : 32;
        const v = mi === 2 && w ? 64 : legacy;
        let size: number;
        switch (rule) {
          case SizeRule.V: size = v; break;
          case SizeRule.B: size = 8; break;
          case SizeRule.D64: size = mi === 2 ? (o && !w ? 16 : 64) : legacy; break;
          case SizeRule.F64: size = mi === 2 ? 64 : legacy; break;
          case SizeRule.W: size = 16; break;
          case SizeRule.D: size = 32; break;
          case SizeRule.Z: size = mi === 2 && w ? 32 : legacy; break;
          case SizeRule.DW: size = mi === 2 && w ? 64 : 32; break;
          default: size = mi === 2 ? 64 : 32; break; // Y
        }
        OPSIZE[rule * 12 + mi * 4 + o * 2 + w] = size;
      }
    }
  }
}

/** Prefix kinds by byte: 1=66, 2=67, 3=F0, 4=F3, 5=F2, 8+seg = segment override. */
export const PREFIX_KIND = new Uint8Array(256);
PREFIX_KIND[0x66] = 1;
PREFIX_KIND[0x67] = 2;
PREFIX_KIND[0xf0] = 3;
PREFIX_KIND[0xf3] = 4;
PREFIX_KIND[0xf2] = 5;
PREFIX_KIND[0x26] = 8;
PREFIX_KIND[0x2e] = 9;
PREFIX_KIND[0x36] = 10;
PREFIX_KIND[0x3e] = 11;
PREFIX_KIND[0x64] = 12;
PREFIX_KIND[0x65] = 13;

/** 16-bit addressing: base / index register of each ModRM.rm value (-1 = none). */
export const BASE16 = Int8Array.from([3, 3, 5, 5, 6, 7, 5, 3]);
export const INDEX16 = Int8Array.from([6, 7, 6, 7, -1, -1, -1, -1]);
