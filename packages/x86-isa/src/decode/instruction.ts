import { Form, Op, OP_NAMES, FORM_NAMES, Status, STATUS_NAMES } from './ops.js';

/**
 * The decoded form of one instruction: a caller-owned, reusable object with a fixed set of
 * numeric/boolean fields (one hidden class, no allocation per decode). `decode()` overwrites
 * every field on every call, including on failure.
 *
 * Field meaning is documented per field; the README "Decoded form" section is the summary.
 */
export class DecodedInstruction {
  /** {@link Status}: OK, UNSUPPORTED, TRUNCATED, TOO_LONG, INVALID_LOCK. */
  status: Status = Status.UNSUPPORTED;
  /**
   * Length in bytes (1..15) when status is OK or INVALID_LOCK. Otherwise the number of bytes
   * examined: UNSUPPORTED = bytes up to the point the decoder gave up, TRUNCATED = the bytes
   * available, TOO_LONG = 15.
   */
  length = 0;
  /** Code mode the instruction was decoded in: 16, 32 or 64. */
  mode: 16 | 32 | 64 = 32;
  /** Index of the matching row in `OPCODE_TABLE` (-1 when nothing matched). */
  entry = -1;
  /** {@link Op} operation id (INVALID when status is not OK / INVALID_LOCK). */
  op: Op = Op.INVALID;
  /** {@link Form} operand shape. */
  form: Form = Form.NONE;
  /** Opcode with its map: 0x0XX one-byte map, 0x1XX 0F map, 0x2XX 0F 38 map, 0x3XX 0F 3A map (-1 if none read). */
  opcode = -1;
  /** Operand size in bits: 8 (byte operation), 16, 32 or 64. */
  opSize = 32;
  /** Address size in bits: 16, 32 or 64. */
  addrSize = 32;
  /** {@link Prefix} bit set. */
  prefixes = 0;
  /** The effective REX byte (0x40..0x4F) or 0 (none, or a REX not immediately before the opcode). */
  rex = 0;
  /**
   * Segment register (0..5 = ES CS SS DS FS GS) of the memory operand: the override if any,
   * else SS for rBP/rSP-based addressing, else DS. For string instructions and XLAT: the source
   * segment (DS or override; the ES:rDI destination is never overridable). DS when there is no
   * memory operand.
   */
  segment = 3;
  /** The segment-override prefix in effect (0..5) or -1. In 64-bit mode ES/CS/SS/DS prefixes do not replace an earlier FS/GS. */
  segOverride = -1;
  /** Raw ModRM byte, or -1 when the instruction has none. */
  modrm = -1;
  /** ModRM.mod (0..3), -1 when there is no ModRM. */
  mod = -1;
  /**
   * The `reg` operand: ModRM.reg with REX.R (a GPR, segment, control or debug register per
   * the form), or the fixed register of moffs (0) / XCHG rAX (0) / PUSH-POP Sreg (segment). For
   * byte operands 16..19 mean AH, CH, DH, BH. -1 when unused; for group opcodes the raw /digit.
   */
  reg = -1;
  /**
   * The `rm` register operand when `isMem` is false: ModRM.rm with REX.B, or the register
   * encoded in the opcode (PUSH r, MOV r, imm, XCHG r, BSWAP r, INC/DEC r), or 0 for the
   * accumulator forms. For byte operands 16..19 mean AH..BH. -1 when unused.
   */
  rm = -1;
  /** The r/m operand is memory (base/index/scale/disp/ripRel/segment below). */
  isMem = false;
  /** Base register (0..15; 16-bit addressing uses BX=3, BP=5, SI=6, DI=7) or -1 (NO_REG). */
  base = -1;
  /** Index register (0..15) or -1 (NO_REG). */
  index = -1;
  /** Index scale: 1, 2, 4 or 8. */
  scale = 1;
  /**
   * Displacement, low 32 bits as a signed int32. Together with `dispHi`:
   * 64-bit displacement = dispHi * 2^32 + (disp >>> 0). ModRM displacements are sign-extended
   * (disp8/disp16/disp32), moffs offsets zero-extended.
   */
  disp = 0;
  /** High 32 bits of the displacement as a signed int32 (only moffs64 has a non-sign-extension value). */
  dispHi = 0;
  /** RIP-relative (64-bit mode, ModRM mod=00 rm=101): address = next instruction address + disp (EIP with 67). */
  ripRel = false;
  /**
   * Width in bits of the r/m operand: the data size for ordinary operands (= opSize, or the
   * source width of MOVZX/MOVSX/MOVSXD, 16 for selector/MSW operands in memory), 48/80 for
   * pseudo-descriptors, 32/48/80 for far pointers, 64/128 for CMPXCHG8B/16B and VMX pointers,
   * 128 for INVEPT/INVVPID descriptors, 4096 for FXSAVE/FXRSTOR, 0 for LEA/INVLPG.
   */
  eSize = 0;
  /**
   * Immediate, low 32 bits as an unsigned number, already sign- or zero-extended to the
   * operand size (e.g. `83 /0 ib` with ib=FF and opSize 32 gives 0xFFFFFFFF). Port number for
   * IN/OUT imm8, vector for INT n, byte count for RET imm16, frame size for ENTER, offset of a
   * far pointer, service number for NATIVE.
   */
  imm = 0;
  /** High 32 bits of a 64-bit immediate (opSize 64: imm64, or the sign extension of imm8/imm32), unsigned. */
  immHi = 0;
  /** Relative branch displacement (sign-extended, int32); target = (next IP + rel) truncated to opSize. */
  rel = 0;
  /** Selector of a far pointer (JMPF/CALLF ptr16:xx); nesting level for ENTER. */
  sel = 0;
  /** Condition code 0..15 (see {@link Cond}) for JCC/SETCC/CMOVCC, else -1. */
  cc = -1;

  /** Copies every field from another instance. */
  copyFrom(o: DecodedInstruction): this {
    this.status = o.status;
    this.length = o.length;
    this.mode = o.mode;
    this.entry = o.entry;
    this.op = o.op;
    this.form = o.form;
    this.opcode = o.opcode;
    this.opSize = o.opSize;
    this.addrSize = o.addrSize;
    this.prefixes = o.prefixes;
    this.rex = o.rex;
    this.segment = o.segment;
    this.segOverride = o.segOverride;
    this.modrm = o.modrm;
    this.mod = o.mod;
    this.reg = o.reg;
    this.rm = o.rm;
    this.isMem = o.isMem;
    this.base = o.base;
    this.index = o.index;
    this.scale = o.scale;
    this.disp = o.disp;
    this.dispHi = o.dispHi;
    this.ripRel = o.ripRel;
    this.eSize = o.eSize;
    this.imm = o.imm;
    this.immHi = o.immHi;
    this.rel = o.rel;
    this.sel = o.sel;
    this.cc = o.cc;
    return this;
  }

  /** A fresh copy. */
  clone(): DecodedInstruction {
    return new DecodedInstruction().copyFrom(this);
  }

  /** Debug summary (allocates; not for the hot path). */
  toString(): string {
    return `${STATUS_NAMES[this.status]} ${OP_NAMES[this.op]}/${FORM_NAMES[this.form]} len=${this.length} op${this.opSize} a${this.addrSize}`;
  }
}
