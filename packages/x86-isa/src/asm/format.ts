/**
 * Rendering of DSL operands as GNU as Intel-syntax text (`.intel_syntax noprefix`). Used for the
 * listing and for {@link Program.toGas}, which writes a whole program as a GNU as source file
 * (this is how the test suite checks every encoding against GNU as).
 */
import { Expr, type ExprNode, isSimpleRelocatable, symbolsOf } from './expr.js';
import { Mem, type MemSize } from './memory.js';
import { Register } from './registers.js';

export interface FormatOptions {
  /**
   * GNU as export: labels inside expressions that an ELF relocation cannot express (shifts, masks)
   * are written as absolute values `(label-<originLabel>+<origin>)`, and names that GNU as would take
   * for a keyword or register are mangled.
   */
  readonly gas?: { readonly originLabel: string; readonly origin: bigint; readonly isLabel: (name: string) => boolean };
}

const SIZE_NAME: Record<MemSize, string> = { 8: 'BYTE', 16: 'WORD', 32: 'DWORD', 48: 'FWORD', 64: 'QWORD', 80: 'TBYTE', 128: 'XMMWORD' };

const RESERVED = new Set(
  (
    'and or xor not mod shl shr eq ne lt le gt ge offset ptr byte word dword fword qword tbyte oword xmmword ymmword zmmword ' +
    'short near far flat st rip eip ip'
  ).split(' '),
);
const REGISTER_LIKE = /^(?:[re]?[abcd]x|[abcd][lh]|[re]?(?:sp|bp|si|di)|(?:sp|bp|si|di)l|r\d+[bwdl]?|[c-gs]s|[cdt]r\d+|[xyz]?mm\d+|k\d|st\d?)$/i;

/** A label name as GNU as must see it. */
export function gasName(name: string, opts: FormatOptions): string {
  if (!opts.gas) return name;
  let n = name.replace(/[^A-Za-z0-9_.$]/g, (c) => `$${c.charCodeAt(0).toString(16)}$`);
  if (RESERVED.has(n.toLowerCase()) || REGISTER_LIKE.test(n) || /^[0-9]/.test(n)) n = `__lbl_${n}`;
  return n;
}

export function formatNumber(v: bigint): string {
  if (v < 0n) return `-${formatNumber(-v)}`;
  return v < 10n ? v.toString() : `0x${v.toString(16)}`;
}

function formatNode(n: ExprNode, opts: FormatOptions, absolute: boolean, top: boolean): string {
  switch (n.k) {
    case 'num':
      return n.v < 0n && !top ? `(${formatNumber(n.v)})` : formatNumber(n.v);
    case 'sym': {
      const name = gasName(n.name, opts);
      if (absolute && opts.gas && opts.gas.isLabel(n.name)) return `(${name}-${opts.gas.originLabel}+${formatNumber(opts.gas.origin)})`;
      return name;
    }
    case 'un': {
      const inner = formatNode(n.a, opts, absolute, false);
      return n.op === 'neg' ? `-${inner}` : `~${inner}`;
    }
    case 'bin': {
      // Every inner binary node is parenthesised; `label + -c` is written `label-c`.
      if (n.b.k === 'num' && (n.op === '+' || n.op === '-') && n.b.v < 0n) {
        const flipped: ExprNode = { k: 'bin', op: n.op === '+' ? '-' : '+', a: n.a, b: { k: 'num', v: -n.b.v } };
        return formatNode(flipped, opts, absolute, top);
      }
      const s = `${formatNode(n.a, opts, absolute, false)}${n.op}${formatNode(n.b, opts, absolute, false)}`;
      return top ? s : `(${s})`;
    }
  }
}

/** An expression as GNU as text (labels in relocatable positions stay symbolic). */
export function formatExpr(e: Expr, opts: FormatOptions = {}): string {
  const absolute = !isSimpleRelocatable(e.node) && symbolsOf(e.node).length > 0;
  return formatNode(e.node, opts, absolute, true);
}

/** An immediate operand: constants as numbers, label expressions as `OFFSET expr`. */
export function formatImm(e: Expr, opts: FormatOptions = {}): string {
  return e.isConstant ? formatNumber(e.constant()) : `OFFSET ${formatExpr(e, opts)}`;
}

/** A memory operand: `DWORD PTR fs:[ebx+esi*4+0x8]`. */
export function formatMem(m: Mem, opts: FormatOptions = {}, sizeOverride?: MemSize | null): string {
  const size = sizeOverride === null ? undefined : (sizeOverride ?? m.size);
  const parts: string[] = [];
  if (m.base) parts.push(m.base.name);
  if (m.index) parts.push(m.scale === 1 && m.base ? m.index.name : `${m.index.name}*${m.scale}`);
  let inner = parts.join('+');
  if (m.disp) {
    if (m.disp.isConstant) {
      const v = m.disp.constant();
      if (!inner) inner = formatNumber(v);
      else if (v !== 0n) inner += v < 0n ? `-${formatNumber(-v)}` : `+${formatNumber(v)}`;
    } else {
      const absolute = !isSimpleRelocatable(m.disp.node);
      const s = formatNode(m.disp.node, opts, absolute, !inner);
      inner = inner ? `${inner}+${s}` : s;
    }
  }
  if (!inner) inner = '0';
  return `${size ? `${SIZE_NAME[size]} PTR ` : ''}${m.seg ? `${m.seg.name}:` : ''}[${inner}]`;
}

/** Any operand as GNU as Intel-syntax text. */
export function formatOperand(o: Register | Mem | Expr, opts: FormatOptions = {}): string {
  if (o instanceof Register) return o.name;
  if (o instanceof Mem) return formatMem(o, opts);
  return formatImm(o, opts);
}

/** A string as a GNU as `.ascii` literal body. */
export function formatString(bytes: readonly number[]): string {
  let s = '"';
  for (const b of bytes) {
    if (b === 0x22) s += '\\"';
    else if (b === 0x5c) s += '\\\\';
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += `\\${b.toString(8).padStart(3, '0')}`;
  }
  return `${s}"`;
}
