/**
 * Lazily evaluated expressions over labels. `sym('gdt').add(8)`, `sym('end').sub('start')`,
 * `sym('handler').shr(16).and(0xffff)`: an {@link Expr} is a tree; it is evaluated after layout,
 * when every label has its final address. Arithmetic is on 64-bit-safe bigints.
 */
import { AsmError } from './errors.js';

/** A value wherever the DSL takes one: a number, a bigint, a label name, or an expression. */
export type Value = number | bigint | string | Expr;

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '<<' | '>>' | '&' | '|' | '^';
export type UnaryOp = 'neg' | 'not';

export type ExprNode =
  | { readonly k: 'num'; readonly v: bigint }
  | { readonly k: 'sym'; readonly name: string }
  | { readonly k: 'bin'; readonly op: BinaryOp; readonly a: ExprNode; readonly b: ExprNode }
  | { readonly k: 'un'; readonly op: UnaryOp; readonly a: ExprNode };

export class Expr {
  readonly node: ExprNode;
  /** @internal use {@link sym}, {@link num} or {@link Expr.of}. */
  constructor(node: ExprNode) {
    this.node = node;
  }
  /** Wraps a value: numbers and bigints become constants, strings label references. */
  static of(v: Value): Expr {
    if (v instanceof Expr) return v;
    if (typeof v === 'string') return new Expr({ k: 'sym', name: v });
    return new Expr({ k: 'num', v: toBig(v) });
  }
  add(v: Value): Expr { return this.bin('+', v); }
  sub(v: Value): Expr { return this.bin('-', v); }
  mul(v: Value): Expr { return this.bin('*', v); }
  /** Integer division, truncating toward zero. */
  div(v: Value): Expr { return this.bin('/', v); }
  mod(v: Value): Expr { return this.bin('%', v); }
  shl(v: Value): Expr { return this.bin('<<', v); }
  /** Arithmetic shift right (addresses are non-negative, so it is also the logical one). */
  shr(v: Value): Expr { return this.bin('>>', v); }
  and(v: Value): Expr { return this.bin('&', v); }
  or(v: Value): Expr { return this.bin('|', v); }
  xor(v: Value): Expr { return this.bin('^', v); }
  neg(): Expr { return new Expr({ k: 'un', op: 'neg', a: this.node }); }
  not(): Expr { return new Expr({ k: 'un', op: 'not', a: this.node }); }
  /** `(this >> shift) & mask`: a bit field, e.g. `sym('isr').bits(16, 0xffff)` for the high word. */
  bits(shift: number, mask: Value): Expr { return this.shr(shift).and(mask); }
  /** True when no label occurs in the expression. */
  get isConstant(): boolean {
    return symbolsOf(this.node).length === 0;
  }
  /** The labels the expression refers to, in order of appearance. */
  get symbols(): string[] {
    return symbolsOf(this.node);
  }
  /** The value of a constant expression (throws if it refers to a label). */
  constant(): bigint {
    return evaluate(this.node, (name) => {
      throw new AsmError('expression', `expression refers to label '${name}' where a constant is required`, { label: name });
    });
  }
  private bin(op: BinaryOp, v: Value): Expr {
    return new Expr({ k: 'bin', op, a: this.node, b: Expr.of(v).node });
  }
}

/** A reference to the label (or `equ` symbol) `name`; resolved after layout. */
export function sym(name: string): Expr {
  return new Expr({ k: 'sym', name });
}

/** A constant expression (handy to start a chain: `num(0x100000).add('offset_in_image')`). */
export function num(v: number | bigint): Expr {
  return new Expr({ k: 'num', v: toBig(v) });
}

export function toBig(v: number | bigint): bigint {
  if (typeof v === 'bigint') return v;
  if (!Number.isSafeInteger(v)) throw new AsmError('out-of-range', `value ${String(v)} is not a safe integer (use a bigint)`);
  return BigInt(v);
}

export function symbolsOf(n: ExprNode, out: string[] = []): string[] {
  switch (n.k) {
    case 'num': break;
    case 'sym': out.push(n.name); break;
    case 'bin': symbolsOf(n.a, out); symbolsOf(n.b, out); break;
    case 'un': symbolsOf(n.a, out); break;
  }
  return out;
}

/** Rewrites the label names of an expression (used to resolve local and anonymous labels). */
export function mapSymbols(n: ExprNode, f: (name: string) => string): ExprNode {
  switch (n.k) {
    case 'num': return n;
    case 'sym': { const name = f(n.name); return name === n.name ? n : { k: 'sym', name }; }
    case 'bin': return { k: 'bin', op: n.op, a: mapSymbols(n.a, f), b: mapSymbols(n.b, f) };
    case 'un': return { k: 'un', op: n.op, a: mapSymbols(n.a, f) };
  }
}

/** Folds constant sub-trees; returns the constant when the whole tree is constant. */
export function constantValue(n: ExprNode): bigint | undefined {
  if (symbolsOf(n).length) return undefined;
  return evaluate(n, () => 0n);
}

export function evaluate(n: ExprNode, lookup: (name: string) => bigint): bigint {
  switch (n.k) {
    case 'num': return n.v;
    case 'sym': return lookup(n.name);
    case 'un': {
      const a = evaluate(n.a, lookup);
      return n.op === 'neg' ? -a : ~a;
    }
    case 'bin': {
      const a = evaluate(n.a, lookup);
      const b = evaluate(n.b, lookup);
      switch (n.op) {
        case '+': return a + b;
        case '-': return a - b;
        case '*': return a * b;
        case '/': if (b === 0n) throw new AsmError('expression', 'division by zero in expression'); return a / b;
        case '%': if (b === 0n) throw new AsmError('expression', 'division by zero in expression'); return a % b;
        case '<<': return a << b;
        case '>>': return a >> b;
        case '&': return a & b;
        case '|': return a | b;
        case '^': return a ^ b;
      }
    }
  }
}

/** Whether an expression is `label`, `label + c` or `label - c` (what an ELF relocation can express). */
export function isSimpleRelocatable(n: ExprNode): boolean {
  if (n.k === 'sym') return true;
  if (n.k === 'bin' && (n.op === '+' || n.op === '-')) {
    if (isSimpleRelocatable(n.a) && symbolsOf(n.b).length === 0) return true;
    if (n.op === '+' && isSimpleRelocatable(n.b) && symbolsOf(n.a).length === 0) return true;
  }
  return false;
}
