/**
 * Intel-syntax disassembler whose output matches GNU objdump `-M intel` (with whitespace
 * collapsed and objdump's `# 0x...` / `<symbol>` annotations removed): lower-case mnemonics,
 * `DWORD PTR` size keywords, hexadecimal `0x` immediates, objdump's spelling of prefixes,
 * suffixed mnemonics and unused REX prefixes.
 */
import type { DecodedInstruction } from './instruction.js';
import { COND_NAMES, Form, Op, OP_NAMES, Prefix, Status } from './ops.js';
import { dispValue, type MemOperand, type Operand, operandsOf } from './operands.js';
import { gprName, segName } from './registers.js';
import { ESizeRule, OPCODE_TABLE, SizeRule } from './table.js';

export interface DisassembleOptions {
  /** Address of the instruction: branch targets are printed as absolute addresses (default 0). */
  readonly address?: number | bigint;
}

const MASK64 = (1n << 64n) - 1n;
const hex = (v: bigint): string => `0x${v.toString(16)}`;

const SIZE_KEYWORD: Record<number, string> = {
  8: 'BYTE PTR ',
  16: 'WORD PTR ',
  32: 'DWORD PTR ',
  48: 'FWORD PTR ',
  64: 'QWORD PTR ',
  80: 'TBYTE PTR ',
  128: 'OWORD PTR ',
};

const STRING_OPS = new Set<number>([Op.MOVS, Op.STOS, Op.LODS, Op.CMPS, Op.SCAS, Op.INS, Op.OUTS]);
const REPZ_OPS = new Set<number>([Op.CMPS, Op.SCAS]);
const BRANCH_OPS = new Set<number>([Op.JMP, Op.CALL, Op.RET, Op.JCC]);
/** Stack operations whose default operand size is 64 in 64-bit mode. */
const STACK64_OPS = new Set<number>([Op.PUSHF, Op.POPF, Op.PUSH, Op.POP, Op.LEAVE, Op.ENTER, Op.RET, Op.CALL, Op.JMP]);
/** Mnemonics objdump suffixes (w/d/q) when the operand size is not the mode's default. */
const SUFFIXED_OPS = new Set<number>([
  Op.PUSHF, Op.POPF, Op.PUSHA, Op.POPA, Op.IRET, Op.RET, Op.RETF, Op.LEAVE, Op.ENTER,
]);
const NO_SIZE_KEYWORD = new Set<number>([Op.LEA, Op.LGDT, Op.LIDT, Op.SGDT, Op.SIDT, Op.FXSAVE, Op.FXRSTOR]);
/** Ops on which REX.W has no visible effect (objdump prints it as an unused `rex.W`). */
const W_IGNORED_OPS = new Set<number>([
  Op.LGDT, Op.LIDT, Op.SGDT, Op.SIDT, Op.LLDT, Op.LTR, Op.LMSW, Op.VERR, Op.VERW, Op.JMPF, Op.CALLF, Op.INVLPG,
  Op.VMPTRLD, Op.VMPTRST, Op.VMCLEAR, Op.VMXON, Op.PAUSE,
]);
/** Operand-less ops whose mnemonic depends on the operand size (so REX.W is "used"). */
const W_NONE_OPS = new Set<number>([Op.CBW, Op.CWD, Op.IRET, Op.RETF, Op.SYSRET, Op.MOVS, Op.STOS, Op.LODS, Op.CMPS, Op.SCAS]);

/** A DS prefix on an indirect near CALL/JMP is CET's `notrack`. */
function isNotrack(insn: DecodedInstruction): boolean {
  return insn.segOverride === 3 && insn.form === Form.E && (insn.op === Op.CALL || insn.op === Op.JMP);
}

function suffixFor(size: number): string {
  return size === 16 ? 'w' : size === 32 ? 'd' : 'q';
}

function defaultSize(insn: DecodedInstruction): number {
  if (insn.mode === 16) return 16;
  if (insn.mode === 64 && STACK64_OPS.has(insn.op)) return 64;
  return 32;
}

function mnemonic(insn: DecodedInstruction): string {
  const op = insn.op;
  switch (op) {
    case Op.JCC: return `j${COND_NAMES[insn.cc]}`;
    case Op.SETCC: return `set${COND_NAMES[insn.cc]}`;
    case Op.CMOVCC: return `cmov${COND_NAMES[insn.cc]}`;
    case Op.CBW: return insn.opSize === 16 ? 'cbw' : insn.opSize === 32 ? 'cwde' : 'cdqe';
    case Op.CWD: return insn.opSize === 16 ? 'cwd' : insn.opSize === 32 ? 'cdq' : 'cqo';
    case Op.JCXZ: return insn.addrSize === 16 ? 'jcxz' : insn.addrSize === 32 ? 'jecxz' : 'jrcxz';
    case Op.MOV_SREG:
    case Op.MOV_CR:
    case Op.MOV_DR:
      return 'mov';
    case Op.MOV:
      if (insn.opcode >= 0xb8 && insn.opcode <= 0xbf && insn.opSize === 64) return 'movabs';
      if (insn.opcode >= 0xa0 && insn.opcode <= 0xa3 && insn.addrSize === 64) return 'movabs';
      return 'mov';
    case Op.SYSRET: return insn.opSize === 64 ? 'sysretq' : 'sysretd';
    case Op.FXSAVE: return insn.opSize === 64 ? 'fxsave64' : 'fxsave';
    case Op.FXRSTOR: return insn.opSize === 64 ? 'fxrstor64' : 'fxrstor';
    case Op.CMPXCHG8B: return insn.opSize === 64 ? 'cmpxchg16b' : 'cmpxchg8b';
    case Op.NATIVE: return 'native';
    case Op.JMPF: return 'jmp';
    case Op.CALLF: return 'call';
    case Op.INT3: return 'int3';
    case Op.LGDT:
    case Op.LIDT:
    case Op.SGDT:
    case Op.SIDT: {
      const base = OP_NAMES[op].toLowerCase();
      return insn.mode === 64 ? base : base + suffixFor(insn.opSize);
    }
    default: {
      const base = OP_NAMES[op].toLowerCase();
      const suffixed =
        SUFFIXED_OPS.has(op) ||
        ((op === Op.PUSH || op === Op.POP) && (insn.form === Form.I || insn.form === Form.S)) ||
        ((op === Op.CALL || op === Op.JMP) && insn.form === Form.REL && insn.opcode !== 0xeb);
      if (suffixed && insn.opSize !== defaultSize(insn)) {
        // objdump only spells out the non-default size; RET/CALL never get a 'd'/'q' in 32/64-bit code
        return base + suffixFor(insn.opSize);
      }
      return base;
    }
  }
}

function signedHex(v: bigint): string {
  return v < 0n ? `-${hex(-v)}` : `+${hex(v)}`;
}

function memText(insn: DecodedInstruction, o: MemOperand, keyword: string): string {
  const is64 = insn.mode === 64;
  const string = STRING_OPS.has(insn.op) || insn.op === Op.XLAT;
  let seg = '';
  if (string) {
    const dest = o.base !== null && /di$/.test(o.base) && insn.op !== Op.XLAT;
    // in 64-bit mode only FS/GS overrides are shown (ES/CS/SS/DS are ignored by the processor)
    seg = dest ? 'es:' : `${is64 && o.segment !== 'fs' && o.segment !== 'gs' ? 'ds' : o.segment}:`;
  } else if (insn.segOverride >= 0 && (!is64 || insn.segOverride >= 4) && !isNotrack(insn)) {
    seg = `${segName(insn.segOverride)}:`;
  }
  const a = o.addrSize;
  if (insn.ripRel) return `${keyword}${seg}[${o.base}+${hex(dispValue(insn) & MASK64)}]`;
  const hasSib = !string && !o.moffs && insn.modrm >= 0 && insn.mod !== 3 && (insn.modrm & 7) === 4 && a !== 16;
  const ss = insn.scale === 8 ? 3 : insn.scale === 4 ? 2 : insn.scale === 2 ? 1 : 0;
  // objdump prints a pseudo index register (eiz/riz) for some SIB forms without an index
  let pseudoIndex = false;
  if (hasSib && o.index === null) {
    const needIndex = o.base === null && insn.mode !== 16 && (insn.mode !== 64 || a === 32);
    const rawBase = insn.base < 0 ? 5 : insn.base & 7;
    if (o.base === null && !needIndex && ss === 0) {
      // plain absolute address
    } else {
      pseudoIndex = ss !== 0 || needIndex || (o.base !== null && rawBase !== 4);
      if (o.base === null && !pseudoIndex) pseudoIndex = true;
    }
  }
  if (o.base === null && o.index === null && !pseudoIndex) {
    const mask = a === 64 ? MASK64 : (1n << BigInt(a)) - 1n;
    return `${keyword}${seg || 'ds:'}${hex(o.disp & mask)}`;
  }
  let inner = o.base ?? '';
  if (o.index !== null) inner += `${inner ? '+' : ''}${o.index}${a === 16 ? '' : `*${o.scale}`}`;
  else if (pseudoIndex) inner += `${inner ? '+' : ''}${a === 64 ? 'riz' : 'eiz'}*${o.scale}`;
  const hasDisp = !string && (insn.mod === 1 || insn.mod === 2 || o.base === null);
  if (hasDisp) inner += signedHex(BigInt(insn.disp));
  return `${keyword}${seg}[${inner}]`;
}

function sizeKeyword(insn: DecodedInstruction, o: MemOperand): string {
  const op = insn.op;
  if (NO_SIZE_KEYWORD.has(op) || o.moffs) return '';
  if (op === Op.INVLPG) return SIZE_KEYWORD[8];
  if (op === Op.MOVSXD) return SIZE_KEYWORD[32]; // objdump always names a 32-bit source
  if (op === Op.JMPF || op === Op.CALLF || op === Op.LDS || op === Op.LES || op === Op.LFS || op === Op.LGS || op === Op.LSS) {
    return o.size === 32 ? SIZE_KEYWORD[32] : SIZE_KEYWORD[48];
  }
  return SIZE_KEYWORD[o.size] ?? '';
}

function operandText(insn: DecodedInstruction, o: Operand, index: number): string {
  switch (o.kind) {
    case 'reg':
      if (insn.op === Op.MOVSXD && index === 1) return gprName(insn.rm, 32);
      return o.reg;
    case 'imm':
      if (insn.form === Form.E_1) return '1';
      return hex(o.value);
    case 'rel': return hex(o.target);
    case 'far': return `${hex(BigInt(o.selector))}:${hex(BigInt(o.offset))}`;
    case 'mem': return memText(insn, o, sizeKeyword(insn, o));
  }
}

const REX_NAMES = [
  'rex', 'rex.B', 'rex.X', 'rex.XB', 'rex.R', 'rex.RB', 'rex.RX', 'rex.RXB',
  'rex.W', 'rex.WB', 'rex.WX', 'rex.WXB', 'rex.WR', 'rex.WRB', 'rex.WRX', 'rex.WRXB',
];

/** objdump's notion of which REX bits an instruction used (plus 0x40 when the REX byte itself mattered). */
function rexUsed(insn: DecodedInstruction): number {
  const rex = insn.rex;
  const row = insn.entry >= 0 ? OPCODE_TABLE[insn.entry] : undefined;
  if (!row) return 0;
  let used = 0;
  const f = insn.form;
  const op = insn.op;
  const gForm = f === Form.E_G || f === Form.G_E || f === Form.G_E_I || f === Form.E_G_I || f === Form.E_G_CL;
  // W
  if (rex & 8 && (row.size === SizeRule.V || row.size === SizeRule.DW) && !W_IGNORED_OPS.has(op)) {
    let w: boolean;
    if (f === Form.NONE || f === Form.I) w = W_NONE_OPS.has(op) || (op === Op.NOP && (insn.prefixes & Prefix.OPSIZE) !== 0);
    else if (f === Form.E_S || f === Form.S_E) w = !insn.isMem;
    else if (row.esize === ESizeRule.RV_M16) w = !insn.isMem;
    else w = row.esize !== ESizeRule.Q64 && (row.esize !== ESizeRule.NONE || gForm);
    if (w) used |= 8;
  }
  // R: the ModRM.reg field names a general, control or debug register
  const cdForm = f === Form.R_C || f === Form.C_R || f === Form.R_D || f === Form.D_R;
  if (rex & 4 && insn.modrm >= 0 && row.reg === undefined && (gForm || cdForm)) used |= 4;
  // X / B
  const hasSib = insn.isMem && insn.modrm >= 0 && insn.addrSize !== 16 && (insn.modrm & 7) === 4;
  if (rex & 2 && hasSib) used |= 2;
  if (rex & 1) {
    if (row.plusr || (op === Op.XCHG && insn.opcode === 0x90)) used |= 1;
    else if (insn.modrm >= 0 && (!insn.isMem || hasSib || insn.base >= 0)) used |= 1;
  }
  if (used) used |= 0x40;
  // any byte register operand marks the REX prefix itself as used
  if (insn.opSize === 8 || insn.eSize === 8) {
    const byteReg = (!insn.isMem && insn.rm >= 0 && insn.eSize === 8) || (insn.opSize === 8 && gForm);
    if (byteReg) used |= 0x40;
  }
  return used;
}

function prefixWords(insn: DecodedInstruction, hasMem: boolean): string[] {
  const words: string[] = [];
  const op = insn.op;
  const p = insn.prefixes;
  const is64 = insn.mode === 64;
  const string = STRING_OPS.has(op) || op === Op.XLAT;
  // segment prefixes objdump cannot place in an operand
  if (isNotrack(insn)) words.push('notrack');
  else if (insn.segOverride >= 0 && !string) {
    const inOperand = hasMem && (!is64 || insn.segOverride >= 4);
    if (!inOperand) words.push(segName(insn.segOverride));
  }
  // unused operand-size prefix
  if (p & Prefix.OPSIZE) {
    const row = insn.entry >= 0 ? OPCODE_TABLE[insn.entry] : undefined;
    if ((insn.rex & 8 && row?.size === SizeRule.V && !W_IGNORED_OPS.has(op)) || op === Op.PAUSE) words.push('data16');
  }
  if (p & Prefix.ADDRSIZE && is64 && insn.opcode >= 0xa0 && insn.opcode <= 0xa3) words.push('addr32');
  // HLE hints: F2/F3 with LOCK (or on XCHG / MOV stores to memory)
  const hle =
    (p & Prefix.LOCK && hasMem) ||
    (insn.isMem && (op === Op.XCHG || (op === Op.MOV && (insn.opcode === 0x88 || insn.opcode === 0x89 || insn.opcode === 0xc6 || insn.opcode === 0xc7))));
  if (hle && p & (Prefix.REP | Prefix.REPNE) && (op !== Op.MOV || p & Prefix.REP)) {
    words.push(p & Prefix.REP ? 'xrelease' : 'xacquire');
    if (p & Prefix.LOCK) words.push('lock');
  } else if (p & Prefix.LOCK) words.push('lock');
  if (hle && p & (Prefix.REP | Prefix.REPNE) && (op !== Op.MOV || p & Prefix.REP)) {
    // already printed as xacquire / xrelease
  } else if (p & Prefix.REP) {
    if (STRING_OPS.has(op)) words.push(REPZ_OPS.has(op) ? 'repz' : 'rep');
    else if (op !== Op.PAUSE && op !== Op.VMXON) words.push('repz');
  } else if (p & Prefix.REPNE) {
    if (STRING_OPS.has(op)) words.push('repnz');
    else if (BRANCH_OPS.has(op)) words.push('bnd');
    else words.push('repnz');
  }
  if (insn.rex) {
    const used = rexUsed(insn);
    if ((insn.rex ^ used) & 0x4f) words.push(REX_NAMES[insn.rex & 15]);
  }
  return words;
}

/**
 * Disassembles a decoded instruction in Intel syntax, as GNU objdump `-M intel` prints it
 * (normalized). Instructions that did not decode give `(bad)`; INVALID_LOCK instructions are
 * printed with their `lock` prefix.
 */
export function disassemble(insn: DecodedInstruction, options: DisassembleOptions = {}): string {
  if (insn.status !== Status.OK && insn.status !== Status.INVALID_LOCK) return '(bad)';
  const address = BigInt(options.address ?? 0);
  if (insn.op === Op.NATIVE) return `native ${hex(BigInt(insn.imm))}`;
  const ops = operandsOf(insn, address);
  if (insn.op === Op.NOP && insn.opcode === 0x90 && insn.prefixes & Prefix.OPSIZE) {
    // objdump spells 66 90 as the exchange it is
    const r = gprName(0, insn.opSize);
    const words = prefixWords(insn, false).filter((w) => w !== 'data16' || insn.rex & 8);
    return [...words, `xchg ${r},${r}`].join(' ');
  }
  const hasMem = ops.some((o) => o.kind === 'mem');
  const words = prefixWords(insn, hasMem);
  const m = mnemonic(insn);
  const text = ops.map((o, i) => operandText(insn, o, i)).join(',');
  words.push(text ? `${m} ${text}` : m);
  return words.join(' ');
}
