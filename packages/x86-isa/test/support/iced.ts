/**
 * iced-x86 as a second decoder: canonical descriptions of iced's and our decoding, so the tests
 * can compare length, operation and operands (kinds, registers, memory base/index/scale/disp,
 * immediates, branch targets, far pointers).
 */
import { Code, Decoder, Instruction, MemorySizeExt, Mnemonic, OpKind, Register } from 'iced-x86';
import {
  type CodeMode, type DecodedInstruction, Form, Op, OP_NAMES, operandsOf, Status, COND_NAMES,
} from '../../src/decode/index.js';

/** iced mnemonic → our operation name, for every mnemonic in the supported subset. */
const MNEMONIC_TO_OP: Record<string, string> = {
  Add: 'ADD', Or: 'OR', Adc: 'ADC', Sbb: 'SBB', And: 'AND', Sub: 'SUB', Xor: 'XOR', Cmp: 'CMP', Test: 'TEST',
  Inc: 'INC', Dec: 'DEC', Neg: 'NEG', Not: 'NOT', Mul: 'MUL', Imul: 'IMUL', Div: 'DIV', Idiv: 'IDIV',
  Rol: 'ROL', Ror: 'ROR', Rcl: 'RCL', Rcr: 'RCR', Shl: 'SHL', Sal: 'SHL', Shr: 'SHR', Sar: 'SAR',
  Shld: 'SHLD', Shrd: 'SHRD', Bt: 'BT', Bts: 'BTS', Btr: 'BTR', Btc: 'BTC', Bsf: 'BSF', Bsr: 'BSR',
  Mov: 'MOV', Movzx: 'MOVZX', Movsx: 'MOVSX', Movsxd: 'MOVSXD', Lea: 'LEA', Xchg: 'XCHG',
  Push: 'PUSH', Pop: 'POP', Pushf: 'PUSHF', Pushfd: 'PUSHF', Pushfq: 'PUSHF', Popf: 'POPF', Popfd: 'POPF', Popfq: 'POPF',
  Pusha: 'PUSHA', Pushad: 'PUSHA', Popa: 'POPA', Popad: 'POPA',
  Cbw: 'CBW', Cwde: 'CBW', Cdqe: 'CBW', Cwd: 'CWD', Cdq: 'CWD', Cqo: 'CWD',
  Jmp: 'JMP', Call: 'CALL', Ret: 'RET', Retf: 'RETF', Loop: 'LOOP', Loope: 'LOOPE', Loopne: 'LOOPNE',
  Jcxz: 'JCXZ', Jecxz: 'JCXZ', Jrcxz: 'JCXZ', Int: 'INT', Int3: 'INT3', Into: 'INTO', Iret: 'IRET', Iretd: 'IRET', Iretq: 'IRET',
  Movsb: 'MOVS', Movsw: 'MOVS', Movsd: 'MOVS', Movsq: 'MOVS', Stosb: 'STOS', Stosw: 'STOS', Stosd: 'STOS', Stosq: 'STOS',
  Lodsb: 'LODS', Lodsw: 'LODS', Lodsd: 'LODS', Lodsq: 'LODS', Cmpsb: 'CMPS', Cmpsw: 'CMPS', Cmpsd: 'CMPS', Cmpsq: 'CMPS',
  Scasb: 'SCAS', Scasw: 'SCAS', Scasd: 'SCAS', Scasq: 'SCAS', Insb: 'INS', Insw: 'INS', Insd: 'INS',
  Outsb: 'OUTS', Outsw: 'OUTS', Outsd: 'OUTS',
  Cld: 'CLD', Std: 'STD', Clc: 'CLC', Stc: 'STC', Cmc: 'CMC', Cli: 'CLI', Sti: 'STI',
  Nop: 'NOP', Pause: 'PAUSE', Hlt: 'HLT', In: 'IN', Out: 'OUT',
  Lgdt: 'LGDT', Lidt: 'LIDT', Sgdt: 'SGDT', Sidt: 'SIDT', Lldt: 'LLDT', Sldt: 'SLDT', Ltr: 'LTR', Str: 'STR',
  Lmsw: 'LMSW', Smsw: 'SMSW', Lar: 'LAR', Lsl: 'LSL', Verr: 'VERR', Verw: 'VERW', Clts: 'CLTS', Swapgs: 'SWAPGS',
  Syscall: 'SYSCALL', Sysret: 'SYSRET', Sysretq: 'SYSRET', Rdmsr: 'RDMSR', Wrmsr: 'WRMSR', Rdtsc: 'RDTSC', Rdtscp: 'RDTSCP',
  Cpuid: 'CPUID', Invlpg: 'INVLPG', Invd: 'INVD', Wbinvd: 'WBINVD',
  Cmpxchg: 'CMPXCHG', Cmpxchg8b: 'CMPXCHG8B', Cmpxchg16b: 'CMPXCHG8B', Xadd: 'XADD',
  Fxsave: 'FXSAVE', Fxsave64: 'FXSAVE', Fxrstor: 'FXRSTOR', Fxrstor64: 'FXRSTOR',
  Ud0: 'UD0', Ud1: 'UD1', Ud2: 'UD2',
  Vmxon: 'VMXON', Vmxoff: 'VMXOFF', Vmclear: 'VMCLEAR', Vmptrld: 'VMPTRLD', Vmptrst: 'VMPTRST', Vmread: 'VMREAD',
  Vmwrite: 'VMWRITE', Vmlaunch: 'VMLAUNCH', Vmresume: 'VMRESUME', Vmcall: 'VMCALL', Invept: 'INVEPT', Invvpid: 'INVVPID',
  Leave: 'LEAVE', Enter: 'ENTER', Bswap: 'BSWAP', Lahf: 'LAHF', Sahf: 'SAHF', Xlatb: 'XLAT',
  Lds: 'LDS', Les: 'LES', Lfs: 'LFS', Lgs: 'LGS', Lss: 'LSS',
  Lfence: 'LFENCE', Mfence: 'MFENCE', Sfence: 'SFENCE',
};
for (const cc of COND_NAMES) {
  MNEMONIC_TO_OP[`J${cc}`] = 'JCC';
  MNEMONIC_TO_OP[`Set${cc}`] = 'SETCC';
  MNEMONIC_TO_OP[`Cmov${cc}`] = 'CMOVCC';
}

/** Codes whose mnemonic is in the subset but which are outside it (SSE homonyms, ...). */
// Lfence_E9 … Sfence_FF: rm != 0 aliases of the fences; the SDM (and objdump) define only E8/F0/F8.
const EXCLUDED_CODE = /xmm|mm_|_mm|Popw_CS|Jmpe|fence_/;

/** Our operation name for an iced instruction, or null when it is outside the supported subset. */
export function icedOpName(instr: Instruction): string | null {
  if (instr.code === Code.INVALID) return null;
  const codeName = Code[instr.code];
  if (EXCLUDED_CODE.test(codeName)) return null;
  const m = MNEMONIC_TO_OP[Mnemonic[instr.mnemonic]];
  if (!m) return null;
  if (m === 'JMP' && (instr.isJmpFar || instr.isJmpFarIndirect)) return 'JMPF';
  if (m === 'CALL' && (instr.isCallFar || instr.isCallFarIndirect)) return 'CALLF';
  if (m === 'MOV') {
    for (let i = 0; i < instr.opCount; i++) {
      if (instr.opKind(i) !== OpKind.Register) continue;
      const r = Register[instr.opRegister(i)];
      if (/^(ES|CS|SS|DS|FS|GS)$/.test(r)) return 'MOV_SREG';
      if (/^CR/.test(r)) return 'MOV_CR';
      if (/^DR/.test(r)) return 'MOV_DR';
    }
  }
  return m;
}

const SELECTOR16_OPS = new Set(['LLDT', 'LTR', 'LMSW', 'VERR', 'VERW']);
function to16(name: string): string {
  if (/^r\d+[dw]?$/.test(name)) return name.replace(/[dw]?$/, 'w');
  return name.replace(/^[er]/, '');
}

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}
function maskBits(v: bigint, bits: number): bigint {
  return v & ((1n << BigInt(bits)) - 1n);
}
function regName(r: Register): string {
  return Register[r].toLowerCase().replace(/^r(\d+)l$/, 'r$1b');
}

const IMM_BITS: Partial<Record<OpKind, number>> = {
  [OpKind.Immediate8]: 8,
  [OpKind.Immediate8_2nd]: 8,
  [OpKind.Immediate16]: 16,
  [OpKind.Immediate32]: 32,
  [OpKind.Immediate64]: 64,
  [OpKind.Immediate8to16]: 16,
  [OpKind.Immediate8to32]: 32,
  [OpKind.Immediate8to64]: 64,
  [OpKind.Immediate32to64]: 64,
};

function stringMem(base: string, seg: string, size: number): string {
  return `m${size}:${seg}:${base}:-:1:0x0`;
}

/** Canonical description of an iced instruction's operation and operands (ours must equal it). */
export function describeIced(instr: Instruction, opName: string, addrSize: number): string {
  const parts: string[] = [];
  const memSizeBits = MemorySizeExt.size(instr.memorySize) * 8;
  for (let i = 0; i < instr.opCount; i++) {
    const k = instr.opKind(i);
    switch (k) {
      case OpKind.Register: {
        const name = regName(instr.opRegister(i));
        // these read a 16-bit selector / MSW: we (and objdump) name the 16-bit register
        parts.push(`r:${SELECTOR16_OPS.has(opName) ? to16(name) : name}`);
        break;
      }
      case OpKind.Memory: {
        const base = instr.memoryBase === Register.None ? '-' : regName(instr.memoryBase);
        const idx = instr.memoryIndex === Register.None ? '-' : regName(instr.memoryIndex);
        if (opName === 'XLAT') {
          parts.push(`m8:${regName(instr.memorySegment)}:${base}:-:1:0x0`);
          break;
        }
        const d = maskBits(instr.memoryDisplacement, addrSize);
        parts.push(`m${memSizeBits}:${regName(instr.memorySegment)}:${base}:${idx}:${instr.memoryIndexScale}:${hex(d)}`);
        break;
      }
      case OpKind.NearBranch16:
        parts.push(`j:${hex(BigInt(instr.nearBranch16))}`);
        break;
      case OpKind.NearBranch32:
        parts.push(`j:${hex(BigInt(instr.nearBranch32))}`);
        break;
      case OpKind.NearBranch64:
        parts.push(`j:${hex(instr.nearBranch64)}`);
        break;
      case OpKind.FarBranch16:
        parts.push(`f:${instr.farBranchSelector}:${instr.farBranch16}`);
        break;
      case OpKind.FarBranch32:
        parts.push(`f:${instr.farBranchSelector}:${instr.farBranch32}`);
        break;
      case OpKind.MemorySegSI:
      case OpKind.MemorySegESI:
      case OpKind.MemorySegRSI: {
        const b = k === OpKind.MemorySegSI ? 'si' : k === OpKind.MemorySegESI ? 'esi' : 'rsi';
        parts.push(stringMem(b, regName(instr.memorySegment), memSizeBits));
        break;
      }
      case OpKind.MemoryESDI:
      case OpKind.MemoryESEDI:
      case OpKind.MemoryESRDI: {
        const b = k === OpKind.MemoryESDI ? 'di' : k === OpKind.MemoryESEDI ? 'edi' : 'rdi';
        parts.push(stringMem(b, 'es', memSizeBits));
        break;
      }
      default: {
        const bits = IMM_BITS[k];
        if (bits === undefined) {
          parts.push(`?kind${OpKind[k]}`);
          break;
        }
        parts.push(`i${bits}:${hex(maskBits(instr.immediate(i), bits))}`);
      }
    }
  }
  let name = opName;
  if (opName === 'JCC' || opName === 'SETCC' || opName === 'CMOVCC') {
    name += `.${COND_NAMES[condOfMnemonic(Mnemonic[instr.mnemonic])]}`;
  }
  return `${name}${icedSizeTag(instr)} ${parts.join(',')}`;
}

/**
 * Operand/address size of instructions whose operand list does not show it (PUSHF, IRET, CBW,
 * LOOP's counter, ...), from iced's code name.
 */
function icedSizeTag(instr: Instruction): string {
  const code = Code[instr.code];
  const mnemonic = Mnemonic[instr.mnemonic];
  const SZ: Record<string, string> = { w: '16', d: '32', q: '64' };
  let m = /^(Pushf|Popf|Pusha|Popa|Iret|Retn|Retf|Leave|Enter|Sysret|Nop)([wdq])(_|$)/.exec(code);
  if (m) return `/o${SZ[m[2]]}`;
  m = /^(Push|Pop)([wdq])_(ES|CS|SS|DS|FS|GS)$/.exec(code);
  if (m) return `/o${SZ[m[2]]}`;
  const fixed: Record<string, string> = { Cbw: '16', Cwde: '32', Cdqe: '64', Cwd: '16', Cdq: '32', Cqo: '64' };
  if (fixed[mnemonic]) return `/o${fixed[mnemonic]}`;
  if (mnemonic === 'Jcxz') return '/a16';
  if (mnemonic === 'Jecxz') return '/a32';
  if (mnemonic === 'Jrcxz') return '/a64';
  m = /^Loop\w*_(CX|ECX|RCX)$/.exec(code);
  if (m) return `/a${m[1] === 'CX' ? 16 : m[1] === 'ECX' ? 32 : 64}`;
  if (/^(Fxsave|Fxrstor)64$/.test(mnemonic)) return '/w64';
  if (/^(Lgdt|Lidt|Sgdt|Sidt)_m1632_16$/.test(code)) return '/o16';
  return '';
}

/** Our counterpart of {@link icedSizeTag}. */
function ourSizeTag(insn: DecodedInstruction): string {
  const op = insn.op;
  if ([Op.PUSHF, Op.POPF, Op.PUSHA, Op.POPA, Op.IRET, Op.RET, Op.RETF, Op.LEAVE, Op.ENTER, Op.SYSRET, Op.CBW, Op.CWD].includes(op as never)) {
    return `/o${insn.opSize}`;
  }
  if (op === Op.NOP && insn.form === Form.NONE) return `/o${insn.opSize}`;
  if ((op === Op.PUSH || op === Op.POP) && insn.form === Form.S) return `/o${insn.opSize}`;
  if (op === Op.LOOP || op === Op.LOOPE || op === Op.LOOPNE || op === Op.JCXZ) return `/a${insn.addrSize}`;
  if ((op === Op.FXSAVE || op === Op.FXRSTOR) && insn.opSize === 64) return '/w64';
  if ((op === Op.LGDT || op === Op.LIDT || op === Op.SGDT || op === Op.SIDT) && insn.mode !== 64 && insn.opSize === 16) return '/o16';
  return '';
}

function condOfMnemonic(m: string): number {
  const suffix = m.replace(/^(J|Set|Cmov)/, '');
  return COND_NAMES.indexOf(suffix);
}

/** Canonical description of our decoding in the same format as {@link describeIced}. */
export function describeOurs(insn: DecodedInstruction, ip: bigint): string {
  const parts: string[] = [];
  for (const o of operandsOf(insn, ip)) {
    switch (o.kind) {
      case 'reg':
        parts.push(`r:${o.reg}`);
        break;
      case 'mem': {
        if (insn.op === Op.XLAT) {
          parts.push(`m8:${o.segment}:${o.base}:-:1:0x0`);
          break;
        }
        if (o.base && /^(di|edi|rdi|si|esi|rsi)$/.test(o.base) && isString(insn.op)) {
          parts.push(`m${o.size}:${o.segment}:${o.base}:-:1:0x0`);
          break;
        }
        const d = maskBits(insn.ripRel && o.absolute !== null ? o.absolute : o.disp, o.addrSize);
        parts.push(`m${o.size}:${o.segment}:${o.base ?? '-'}:${o.index ?? '-'}:${o.scale}:${hex(d)}`);
        break;
      }
      case 'imm':
        parts.push(`i${o.size}:${hex(o.value)}`);
        break;
      case 'rel':
        parts.push(`j:${hex(o.target)}`);
        break;
      case 'far':
        parts.push(`f:${o.selector}:${o.offset}`);
        break;
    }
  }
  let name = OP_NAMES[insn.op];
  if (insn.cc >= 0) name += `.${COND_NAMES[insn.cc]}`;
  return `${name}${ourSizeTag(insn)} ${parts.join(',')}`;
}

function isString(op: number): boolean {
  return op === Op.MOVS || op === Op.CMPS || op === Op.STOS || op === Op.LODS || op === Op.SCAS || op === Op.INS || op === Op.OUTS;
}

/** Address size of the instruction at `data[at]`: the mode's, toggled by a 0x67 prefix. */
export function addrSizeOf(mode: CodeMode, data: Uint8Array, at: number): number {
  let has67 = false;
  for (let i = at; i < at + 15 && i < data.length; i++) {
    const b = data[i];
    if (b === 0x67) has67 = true;
    else if ([0x66, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65].includes(b)) continue;
    else if (mode === 64 && (b & 0xf0) === 0x40) continue;
    else break;
  }
  if (mode === 64) return has67 ? 32 : 64;
  if (mode === 32) return has67 ? 16 : 32;
  return has67 ? 32 : 16;
}

export interface IcedResult {
  /** null when iced reports an invalid / truncated instruction. */
  readonly length: number | null;
  readonly opName: string | null;
  readonly text: string | null;
  readonly codeName: string;
}

/**
 * Decodes `count` slots of `slotSize` bytes from `data` with iced in `mode`, slot k at IP
 * `ips[k]`.
 */
export function icedDecodeSlots(mode: CodeMode, data: Uint8Array, slotSize: number, count: number, ips: readonly bigint[]): IcedResult[] {
  const decoder = new Decoder(mode, data, 0);
  const instr = new Instruction();
  const results: IcedResult[] = [];
  try {
    for (let k = 0; k < count; k++) {
      decoder.position = k * slotSize;
      decoder.ip = ips[k];
      decoder.decodeOut(instr);
      const codeName = Code[instr.code];
      if (instr.code === Code.INVALID) {
        results.push({ length: null, opName: null, text: null, codeName });
        continue;
      }
      const opName = icedOpName(instr);
      results.push({
        length: instr.length,
        opName,
        text: opName ? describeIced(instr, opName, addrSizeOf(mode, data, k * slotSize)) : null,
        codeName,
      });
    }
  } finally {
    instr.free();
    decoder.free();
  }
  return results;
}

/**
 * Documented, deliberate differences from iced (which decodes the union of Intel and AMD):
 * returns true when `ours` being UNSUPPORTED for an iced-valid instruction is intended.
 */
export function intendedUnsupported(mode: CodeMode, iced: IcedResult, ours: DecodedInstruction): boolean {
  if (ours.status !== Status.UNSUPPORTED) return false;
  // SYSCALL / SYSRET are #UD outside 64-bit mode on Intel processors (iced follows AMD here).
  if (mode !== 64 && (iced.opName === 'SYSCALL' || iced.opName === 'SYSRET')) return true;
  return false;
}
