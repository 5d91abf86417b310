/**
 * The table-driven x86 decoder: bytes + offset + mode → {@link DecodedInstruction}.
 *
 * Hot path: no allocation, no exceptions for bad bytes, only typed-array lookups into the
 * tables compiled from the opcode table at module load.
 */
import { InvalidArgumentError } from '@latelaunch/kernel';
import { BASE16, E_ATTR, E_FIXREG, E_FIXRM, E_FLAGS, E_REGVALID, EF, GROUP, INDEX16, OPSIZE, PREFIX_KIND, ROOT } from './compiled.js';
import { DecodedInstruction } from './instruction.js';
import { NATIVE_SERVICE_MAGIC, NATIVE_SERVICE_MODRM } from './native.js';
import { Form, Op, Prefix, Status } from './ops.js';
import { ESizeRule, ImmKind } from './table.js';

/** Processor mode of the code being decoded: 16-bit, 32-bit or 64-bit code segment. */
export type CodeMode = 16 | 32 | 64;

// Numeric copies of the enum values used on the hot path (plain constants fold in every JIT tier).
const P_LOCK = Prefix.LOCK;
const P_REP = Prefix.REP;
const P_REPNE = Prefix.REPNE;
const P_OPSIZE = Prefix.OPSIZE;
const P_ADDRSIZE = Prefix.ADDRSIZE;
const P_SEG = Prefix.SEG;
const P_REX = Prefix.REX;
const F_LOCK = EF.LOCK;
const F_PLUSR = EF.PLUSR;
const F_CC = EF.CC;
const F_MODRM = EF.MODRM;
const F_FORCEREG = EF.FORCEREG;
const F_NOP90 = EF.NOP90;
const F_FIXRM = EF.FIXRM;
const F_FIXREG = EF.FIXREG;
const F_GPR_G = EF.GPR_G;
const F_MEMONLY = EF.MEMONLY;
const F_SREG = EF.SREG;
const F_REGVALID = EF.REGVALID;
const IK_NONE = ImmKind.NONE;
const IK_B = ImmKind.B;
const IK_BS = ImmKind.BS;
const IK_W = ImmKind.W;
const IK_Z = ImmKind.Z;
const IK_V = ImmKind.V;
const IK_JB = ImmKind.JB;
const IK_JZ = ImmKind.JZ;
const IK_AP = ImmKind.AP;
const IK_MOFFS = ImmKind.MOFFS;
const ES_OP = ESizeRule.OP;
const S_OK = Status.OK;
const S_UNSUPPORTED = Status.UNSUPPORTED;
const S_TRUNCATED = Status.TRUNCATED;
const S_TOO_LONG = Status.TOO_LONG;
const S_INVALID_LOCK = Status.INVALID_LOCK;
const OP_XCHG = Op.XCHG;
const OP_UD1 = Op.UD1;
const OP_NATIVE = Op.NATIVE;
const FORM_E_G = Form.E_G;
const FORM_I = Form.I;

/** Architectural maximum instruction length. */
export const MAX_INSTRUCTION_LENGTH = 15;

function badArgs(mode: unknown, offset: unknown, len: number): never {
  if (mode !== 16 && mode !== 32 && mode !== 64) {
    throw new InvalidArgumentError(`x86 mode must be 16, 32 or 64, got ${String(mode)}`);
  }
  throw new InvalidArgumentError(`decode offset must be an integer in 0..${len}, got ${String(offset)}`);
}

function finishFail(out: DecodedInstruction, status: Status, length: number, mode: CodeMode): number {
  out.status = status;
  out.length = length;
  out.mode = mode;
  out.entry = -1;
  out.op = Op.INVALID;
  out.form = Form.NONE;
  out.opcode = -1;
  out.opSize = 32;
  out.addrSize = 32;
  out.prefixes = 0;
  out.rex = 0;
  out.segment = 3;
  out.segOverride = -1;
  out.modrm = -1;
  out.mod = -1;
  out.reg = -1;
  out.rm = -1;
  out.isMem = false;
  out.base = -1;
  out.index = -1;
  out.scale = 1;
  out.disp = 0;
  out.dispHi = 0;
  out.ripRel = false;
  out.eSize = 0;
  out.imm = 0;
  out.immHi = 0;
  out.rel = 0;
  out.sel = 0;
  out.cc = -1;
  return length;
}

/**
 * Decodes one instruction at `buf[offset]` in `mode` into `out` and returns `out.length`.
 *
 * `available` (default: to the end of `buf`) limits how many bytes may be read; if the
 * instruction needs more, the status is TRUNCATED (refetch with more bytes, e.g. across a page
 * boundary). Bad bytes never throw: they give UNSUPPORTED / TOO_LONG / INVALID_LOCK. Throws
 * `InvalidArgumentError` only for a bad `mode` or `offset`.
 */
export function decode(
  buf: Uint8Array,
  offset: number,
  mode: CodeMode,
  out: DecodedInstruction,
  available?: number,
): number {
  let avail = buf.length - offset;
  if ((mode !== 64 && mode !== 32 && mode !== 16) || offset >>> 0 !== offset || avail < 0) {
    badArgs(mode, offset, buf.length);
  }
  if (available !== undefined && available < avail) avail = available > 0 ? available : 0;
  const overflow = avail < MAX_INSTRUCTION_LENGTH ? S_TRUNCATED : S_TOO_LONG;
  const overflowLen = avail < MAX_INSTRUCTION_LENGTH ? avail : MAX_INSTRUCTION_LENGTH;
  const end = offset + overflowLen;
  const is64 = mode === 64;

  // ---- prefixes
  let p = offset;
  let pfx = 0;
  let seg = -1;
  let rex = 0;
  let repKind = 0; // 0 none, 2 = F3, 3 = F2 (also the mandatory-prefix class)
  let b = 0;
  for (;;) {
    if (p >= end) return finishFail(out, overflow, overflowLen, mode);
    b = buf[p++];
    const k = PREFIX_KIND[b];
    if (k === 0) {
      if (is64 && (b & 0xf0) === 0x40) {
        rex = b;
        continue;
      }
      break;
    }
    rex = 0;
    if (k >= 8) {
      const s = k - 8;
      if (!is64 || s >= 4 || seg < 4) seg = s;
      pfx |= P_SEG;
    } else if (k === 1) pfx |= P_OPSIZE;
    else if (k === 2) pfx |= P_ADDRSIZE;
    else if (k === 3) pfx |= P_LOCK;
    else if (k === 4) repKind = 2;
    else repKind = 3;
  }
  if (repKind === 2) pfx |= P_REP;
  else if (repKind === 3) pfx |= P_REPNE;
  if (rex !== 0) pfx |= P_REX;

  // ---- opcode
  let opcode = b;
  if (b === 0x0f) {
    if (p >= end) return finishFail(out, overflow, overflowLen, mode);
    b = buf[p++];
    if (b === 0x38 || b === 0x3a) {
      if (p >= end) return finishFail(out, overflow, overflowLen, mode);
      opcode = (b === 0x38 ? 0x200 : 0x300) | buf[p++];
    } else {
      opcode = 0x100 | b;
    }
  }
  const pfxClass = repKind !== 0 ? repKind : pfx & P_OPSIZE ? 1 : 0;
  let slot = ROOT[opcode * 4 + pfxClass];
  let modrm = -1;
  if (slot < 0) {
    if (p >= end) return finishFail(out, overflow, overflowLen, mode);
    modrm = buf[p++];
    slot = GROUP[(-slot - 1) * 128 + (modrm >= 0xc0 ? 64 : 0) + (modrm & 0x3f)];
  }
  const modeIdx = mode === 64 ? 2 : mode === 32 ? 1 : 0;
  if (slot === 0) return finishFail(out, S_UNSUPPORTED, p - offset, mode);
  const e = slot - 1;
  const attr = E_ATTR[e];
  if (((attr >> 25) & (1 << modeIdx)) === 0) return finishFail(out, S_UNSUPPORTED, p - offset, mode);

  let op: number = attr & 0xff;
  let form: number = (attr >> 8) & 0x1f;
  const flags = E_FLAGS[e];
  const has66 = (pfx & P_OPSIZE) !== 0;
  const opSize = OPSIZE[((attr >> 13) & 15) * 12 + modeIdx * 4 + (has66 ? 2 : 0) + ((rex >> 3) & 1)];
  const addrSize = is64 ? (pfx & P_ADDRSIZE ? 32 : 64) : (mode === 32) !== ((pfx & P_ADDRSIZE) !== 0) ? 32 : 16;

  let reg = -1;
  let rm = -1;
  let mod = -1;
  let isMem = false;
  let base = -1;
  let index = -1;
  let scale = 1;
  let disp = 0;
  let dispHi = 0;
  let ripRel = false;
  let cc = -1;

  if (flags & F_CC) cc = opcode & 15;
  if (flags & F_PLUSR) rm = (opcode & 7) | ((rex & 1) << 3);
  else if (flags & F_FIXRM) rm = E_FIXRM[e];
  if (flags & F_FIXREG) reg = E_FIXREG[e];

  if (flags & F_NOP90 && rex & 1) {
    // 90 with REX.B is XCHG r8, rAX
    op = OP_XCHG;
    form = FORM_E_G;
    rm = 8;
    reg = 0;
  }

  if (flags & F_MODRM) {
    if (modrm < 0) {
      if (p >= end) return finishFail(out, overflow, overflowLen, mode);
      modrm = buf[p++];
    }
    mod = modrm >> 6;
    reg = flags & F_SREG ? (modrm >> 3) & 7 : ((modrm >> 3) & 7) | ((rex & 4) << 1);
    if (flags & F_REGVALID && ((E_REGVALID[e] >> reg) & 1) === 0) return finishFail(out, S_UNSUPPORTED, p - offset, mode);
    const rmf = modrm & 7;
    if (mod === 3 || flags & F_FORCEREG) {
      if (flags & F_MEMONLY) return finishFail(out, S_UNSUPPORTED, p - offset, mode);
      rm = rmf | ((rex & 1) << 3);
    } else {
      isMem = true;
      if (addrSize === 16) {
        if (mod === 0 && rmf === 6) {
          if (p + 2 > end) return finishFail(out, overflow, overflowLen, mode);
          disp = ((buf[p] | (buf[p + 1] << 8)) << 16) >> 16;
          p += 2;
        } else {
          base = BASE16[rmf];
          index = INDEX16[rmf];
          if (mod === 1) {
            if (p >= end) return finishFail(out, overflow, overflowLen, mode);
            disp = (buf[p++] << 24) >> 24;
          } else if (mod === 2) {
            if (p + 2 > end) return finishFail(out, overflow, overflowLen, mode);
            disp = ((buf[p] | (buf[p + 1] << 8)) << 16) >> 16;
            p += 2;
          }
        }
        if (seg < 0 && base === 5) seg = 2;
      } else {
        let dispBytes = mod === 1 ? 1 : mod === 2 ? 4 : 0;
        if (rmf === 4) {
          if (p >= end) return finishFail(out, overflow, overflowLen, mode);
          const sib = buf[p++];
          scale = 1 << (sib >> 6);
          const idx = ((sib >> 3) & 7) | ((rex & 2) << 2);
          if (idx !== 4) index = idx;
          const sb = sib & 7;
          if (sb === 5 && mod === 0) dispBytes = 4;
          else base = sb | ((rex & 1) << 3);
        } else if (rmf === 5 && mod === 0) {
          dispBytes = 4;
          ripRel = is64;
        } else {
          base = rmf | ((rex & 1) << 3);
        }
        if (dispBytes === 1) {
          if (p >= end) return finishFail(out, overflow, overflowLen, mode);
          disp = (buf[p++] << 24) >> 24;
        } else if (dispBytes === 4) {
          if (p + 4 > end) return finishFail(out, overflow, overflowLen, mode);
          disp = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24);
          p += 4;
        }
        if (seg < 0 && (base === 4 || base === 5)) seg = 2;
      }
      dispHi = disp >> 31;
    }
  }

  // ---- immediates
  let imm = 0;
  let immHi = 0;
  let rel = 0;
  let sel = 0;
  const immKind = (attr >> 17) & 15;
  if (immKind !== IK_NONE) {
    switch (immKind) {
      case IK_B:
        if (p >= end) return finishFail(out, overflow, overflowLen, mode);
        imm = buf[p++];
        break;
      case IK_BS: {
        if (p >= end) return finishFail(out, overflow, overflowLen, mode);
        const v = (buf[p++] << 24) >> 24;
        if (opSize === 16) imm = v & 0xffff;
        else {
          imm = v >>> 0;
          if (opSize === 64 && v < 0) immHi = 0xffffffff;
        }
        break;
      }
      case IK_W:
        if (p + 2 > end) return finishFail(out, overflow, overflowLen, mode);
        imm = buf[p] | (buf[p + 1] << 8);
        p += 2;
        break;
      case IK_Z:
      case IK_V:
        if (opSize === 16) {
          if (p + 2 > end) return finishFail(out, overflow, overflowLen, mode);
          imm = buf[p] | (buf[p + 1] << 8);
          p += 2;
        } else {
          if (p + 4 > end) return finishFail(out, overflow, overflowLen, mode);
          const v = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24);
          p += 4;
          imm = v >>> 0;
          if (opSize === 64) {
            if (immKind === IK_V) {
              if (p + 4 > end) return finishFail(out, overflow, overflowLen, mode);
              immHi = (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24)) >>> 0;
              p += 4;
            } else if (v < 0) immHi = 0xffffffff;
          }
        }
        break;
      case IK_JB:
        if (p >= end) return finishFail(out, overflow, overflowLen, mode);
        rel = (buf[p++] << 24) >> 24;
        break;
      case IK_JZ:
        if (opSize === 16) {
          if (p + 2 > end) return finishFail(out, overflow, overflowLen, mode);
          rel = ((buf[p] | (buf[p + 1] << 8)) << 16) >> 16;
          p += 2;
        } else {
          if (p + 4 > end) return finishFail(out, overflow, overflowLen, mode);
          rel = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24);
          p += 4;
        }
        break;
      case IK_AP:
        if (opSize === 16) {
          if (p + 4 > end) return finishFail(out, overflow, overflowLen, mode);
          imm = buf[p] | (buf[p + 1] << 8);
          p += 2;
        } else {
          if (p + 6 > end) return finishFail(out, overflow, overflowLen, mode);
          imm = (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24)) >>> 0;
          p += 4;
        }
        sel = buf[p] | (buf[p + 1] << 8);
        p += 2;
        break;
      case IK_MOFFS:
        isMem = true;
        if (addrSize === 16) {
          if (p + 2 > end) return finishFail(out, overflow, overflowLen, mode);
          disp = buf[p] | (buf[p + 1] << 8);
          p += 2;
        } else {
          if (p + 4 > end) return finishFail(out, overflow, overflowLen, mode);
          disp = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24);
          p += 4;
          if (addrSize === 64) {
            if (p + 4 > end) return finishFail(out, overflow, overflowLen, mode);
            dispHi = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24);
            p += 4;
          }
        }
        break;
      default: // ImmKind.WB (ENTER)
        if (p + 3 > end) return finishFail(out, overflow, overflowLen, mode);
        imm = buf[p] | (buf[p + 1] << 8);
        sel = buf[p + 2];
        p += 3;
        break;
    }
  }

  // ---- sizes of the r/m operand, byte registers
  let eSize = opSize;
  const esr = (attr >> 21) & 15;
  if (esr !== ES_OP) eSize = eSizeOf(esr, opSize, isMem, is64);
  if (rex === 0) {
    if (eSize === 8 && !isMem && rm >= 4 && rm < 8) rm += 12;
    if (opSize === 8 && flags & F_GPR_G && reg >= 4 && reg < 8) reg += 12;
  }

  // ---- status
  let status: Status = S_OK;
  if (pfx & P_LOCK && (!(flags & F_LOCK) || !isMem)) status = S_INVALID_LOCK;

  if (op === OP_UD1 && modrm === NATIVE_SERVICE_MODRM && (disp & 0xffff0000) === NATIVE_SERVICE_MAGIC) {
    // the native-service form: exactly [67] 0F B9 80 disp32, no other prefix
    if (rex === 0 && (mode === 16 ? pfx === P_ADDRSIZE : pfx === 0)) {
      op = OP_NATIVE;
      form = FORM_I;
      imm = disp & 0xffff;
    }
  }

  out.status = status;
  out.length = p - offset;
  out.mode = mode;
  out.entry = e;
  out.op = op as Op;
  out.form = form as Form;
  out.opcode = opcode;
  out.opSize = opSize;
  out.addrSize = addrSize;
  out.prefixes = pfx;
  out.rex = rex;
  out.segment = seg < 0 ? 3 : seg;
  out.segOverride = pfx & P_SEG ? seg : -1;
  out.modrm = modrm;
  out.mod = mod;
  out.reg = reg;
  out.rm = rm;
  out.isMem = isMem;
  out.base = base;
  out.index = index;
  out.scale = scale;
  out.disp = disp;
  out.dispHi = dispHi;
  out.ripRel = ripRel;
  out.eSize = eSize;
  out.imm = imm;
  out.immHi = immHi;
  out.rel = rel;
  out.sel = sel;
  out.cc = cc;
  return p - offset;
}

function eSizeOf(rule: number, opSize: number, isMem: boolean, is64: boolean): number {
  switch (rule) {
    case ESizeRule.B8: return 8;
    case ESizeRule.W16: return 16;
    case ESizeRule.D32: return 32;
    case ESizeRule.Q64: return 64;
    case ESizeRule.O128: return 128;
    case ESizeRule.MOVSXD: return opSize === 16 ? 16 : 32;
    case ESizeRule.RV_M16: return isMem ? 16 : opSize;
    case ESizeRule.PDESC: return is64 ? 80 : 48;
    case ESizeRule.FARPTR: return opSize + 16;
    case ESizeRule.CX8: return opSize === 64 ? 128 : 64;
    case ESizeRule.FX: return 4096;
    case ESizeRule.NONE: return 0;
    default: return opSize;
  }
}

/**
 * Convenience for tools and tests: decodes the instruction at the start of `bytes` into a new
 * {@link DecodedInstruction} (allocates).
 */
export function decodeOne(bytes: Uint8Array | readonly number[], mode: CodeMode): DecodedInstruction {
  const buf = bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes);
  const out = new DecodedInstruction();
  decode(buf, 0, mode, out);
  return out;
}
