// Architecturally defined output flags per instruction family, derived from the
// "Flags Affected" sections of the Intel SDM Vol. 2 (instruction set reference). Where the AMD
// APM Vol. 3 is reportedly looser (it lists ZF as undefined after BT/BTS/BTR/BTC), the SDM's
// stricter rule is used; the AMD host honours it. The fixtures record `definedFlags`: the set of
// RFLAGS bits (among CF PF AF ZF SF OF DF) whose value after the instruction is architecturally
// defined -- either computed by the instruction or left unchanged. A flag that an instruction
// "does not affect" is defined (it must equal the input value). Bits outside DEFINABLE (bit 1,
// IF, TF, ...) are never changed by these instructions; they are left out of the mask.

export const CF = 0x0001;
export const PF = 0x0004;
export const AF = 0x0010;
export const ZF = 0x0040;
export const SF = 0x0080;
export const DF = 0x0400;
export const OF = 0x0800;
/** The status flags plus DF: the bits a definedFlags mask can contain. */
export const DEFINABLE = CF | PF | AF | ZF | SF | OF | DF; // 0xcd5
export const STATUS = CF | PF | AF | ZF | SF | OF; // 0x8d5

export const FLAG_NAMES = [
  ['CF', CF],
  ['PF', PF],
  ['AF', AF],
  ['ZF', ZF],
  ['SF', SF],
  ['OF', OF],
  ['DF', DF],
];

export function flagList(mask) {
  return FLAG_NAMES.filter(([, b]) => mask & b).map(([n]) => n);
}

/** Count mask of shifts/rotates/SHLD/SHRD: 5 bits, 6 bits for 64-bit operands. */
export function countMask(size) {
  return size === 64 ? 63 : 31;
}

/**
 * definedFlags for a case.
 * @param {string} family  fixture family (add, shl, bsf, ...)
 * @param {number} size    operand size in bits
 * @param {number} [count] shift/rotate count as executed (immediate or CL value, unmasked)
 */
export function definedFlags(family, size, count) {
  switch (family) {
    // ADD/ADC/SUB/SBB/CMP: "The OF, SF, ZF, AF, CF, and PF flags are set according to the result."
    // NEG: "The CF flag set to 0 if the source operand is 0; otherwise it is set to 1. The OF, SF,
    //   ZF, AF, and PF flags are set according to the result."
    // INC/DEC: "The CF flag is not affected. The OF, SF, ZF, AF, and PF flags are set according
    //   to the result."
    // XADD: "The CF, PF, AF, SF, ZF, and OF flags are set according to the result of the addition,
    //   which is stored in the destination operand."
    // CMPXCHG: "The ZF flag is set if the values in the destination operand and register AL, AX,
    //   or EAX are equal; otherwise it is cleared. The CF, PF, AF, SF, and OF flags are set
    //   according to the results of the comparison operation."
    case 'add':
    case 'adc':
    case 'sub':
    case 'sbb':
    case 'cmp':
    case 'neg':
    case 'inc':
    case 'dec':
    case 'xadd':
    case 'cmpxchg':
      return DEFINABLE;

    // AND/OR/XOR/TEST: "The OF and CF flags are cleared; the SF, ZF, and PF flags are set
    //   according to the result. The state of the AF flag is undefined."
    case 'and':
    case 'or':
    case 'xor':
    case 'test':
      return DEFINABLE & ~AF;

    // NOT, XCHG, CBW/CWDE/CDQE, CWD/CDQ/CQO, MOVZX, MOVSX/MOVSXD, SETcc, CMOVcc, LEA:
    //   "Flags Affected: None."
    case 'not':
    case 'xchg':
    case 'cbw':
    case 'cwde':
    case 'cdqe':
    case 'cwd':
    case 'cdq':
    case 'cqo':
    case 'movzx':
    case 'movsx':
    case 'movsxd':
    case 'setcc':
    case 'cmovcc':
    case 'lea':
      return DEFINABLE;

    // MUL: "The OF and CF flags are set to 0 if the upper half of the result is 0; otherwise,
    //   they are set to 1. The SF, ZF, AF, and PF flags are undefined."
    // IMUL: "For the one operand form of the instruction, the CF and OF flags are set when
    //   significant bits are carried into the upper half of the result and cleared when the
    //   result fits exactly in the lower half of the result. For the two- and three-operand
    //   forms of the instruction, the CF and OF flags are set when the result must be truncated
    //   to fit in the destination operand size and cleared when the result fits exactly in the
    //   destination operand size. The SF, ZF, AF, and PF flags are undefined."
    case 'mul':
    case 'imul1':
    case 'imul2':
    case 'imul3':
      return DEFINABLE & ~(SF | ZF | AF | PF);

    // DIV/IDIV: "The CF, OF, SF, ZF, AF, and PF flags are undefined."
    case 'div':
    case 'idiv':
      return DF;

    // SAL/SAR/SHL/SHR: "The CF flag contains the value of the last bit shifted out of the
    //   destination operand; it is undefined for SHL and SHR instructions where the count is
    //   greater than or equal to the size (in bits) of the destination operand. The OF flag is
    //   affected only for 1-bit shifts (see "Description" above); otherwise, it is undefined. The
    //   SF, ZF, and PF flags are set according to the result. If the count is 0, the flags are
    //   not affected. For a non-zero count, the AF flag is undefined."
    //   ("count" is the masked count: COUNT AND 1FH, or 3FH with REX.W.)
    case 'shl':
    case 'shr':
    case 'sar': {
      const c = count & countMask(size);
      if (c === 0) return DEFINABLE;
      let m = DEFINABLE & ~AF;
      if (c !== 1) m &= ~OF;
      if (family !== 'sar' && c >= size) m &= ~CF;
      return m;
    }

    // RCL/RCR/ROL/ROR: "If the masked count is 0, the flags are not affected. If the masked
    //   count is 1, then the OF flag is affected, otherwise (masked count is greater than 1) the
    //   OF flag is undefined. The CF flag is affected when the masked count is non-zero. The SF,
    //   ZF, AF, and PF flags are always unaffected."
    //   (masked count = COUNT AND 1FH, or 3FH with REX.W -- before the MOD 9/17/SIZE reduction,
    //   see the Operation section: "IF (COUNT & COUNTMASK) = 1 THEN OF <- ...")
    case 'rol':
    case 'ror':
    case 'rcl':
    case 'rcr': {
      const c = count & countMask(size);
      if (c === 0 || c === 1) return DEFINABLE;
      return DEFINABLE & ~OF;
    }

    // SHLD/SHRD: "If the count is 1 or greater, the CF flag is filled with the last bit shifted
    //   out of the destination operand and the SF, ZF, and PF flags are set according to the
    //   value of the result. For a 1-bit shift, the OF flag is set if a sign change occurred;
    //   otherwise, it is cleared. For shifts greater than 1 bit, the OF flag is undefined. If a
    //   shift occurs, the AF flag is undefined. If the count operand is 0, the flags are not
    //   affected. If the count is greater than the operand size, the flags are undefined."
    //   (count masked to 5 bits, 6 with REX.W; only 16-bit operands can exceed the size.)
    case 'shld':
    case 'shrd': {
      const c = count & countMask(size);
      if (c === 0) return DEFINABLE;
      if (c > size) return DF;
      let m = DEFINABLE & ~AF;
      if (c !== 1) m &= ~OF;
      return m;
    }

    // BT/BTS/BTR/BTC: "The CF flag contains the value of the selected bit [before it is
    //   set/cleared/complemented]. The ZF flag is unaffected. The OF, SF, AF, and PF flags are
    //   undefined."
    case 'bt':
    case 'bts':
    case 'btr':
    case 'btc':
      return CF | ZF | DF;

    // BSF/BSR: "The ZF flag is set to 1 if the source operand is 0; otherwise, the ZF flag is
    //   cleared. The CF, OF, SF, AF, and PF flags are undefined."
    case 'bsf':
    case 'bsr':
      return ZF | DF;

    default:
      throw new Error(`definedFlags: unknown family ${family}`);
  }
}

/** Human-readable table for FIXTURES.md / the manifest: family -> undefined flags (text). */
export const UNDEFINED_FLAGS_TEXT = {
  'add adc sub sbb cmp neg inc dec xadd cmpxchg': 'none',
  'and or xor test': 'AF',
  'not xchg cbw cwde cdqe cwd cdq cqo movzx movsx movsxd setcc cmovcc lea': 'none (flags unaffected)',
  'mul imul1 imul2 imul3': 'SF ZF AF PF',
  'div idiv': 'CF OF SF ZF AF PF',
  'shl shr sar': 'count 0: none; count 1: AF; count > 1: AF OF; SHL/SHR count >= size: also CF',
  'rol ror rcl rcr': 'masked count > 1: OF',
  'shld shrd': 'count 0: none; 1: AF; 2..size: AF OF; > size (16-bit only): all six (and the destination)',
  'bt bts btr btc': 'OF SF AF PF',
  'bsf bsr': 'CF OF SF AF PF (and the destination when the source is 0)',
};
