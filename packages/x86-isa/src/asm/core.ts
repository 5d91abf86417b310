/**
 * The assembler's machinery: the item list (instructions, data, labels, directives), label scopes,
 * the generic x86 encoder (prefixes, REX, ModRM/SIB, displacements, immediates, fixups), layout
 * with branch relaxation, and emission. {@link Assembler} (assembler.ts) adds the instructions.
 */
import { AsmError, type AsmErrorKind } from './errors.js';
import { Expr, evaluate, mapSymbols, symbolsOf, toBig, type Value } from './expr.js';
import { formatExpr, formatImm, formatMem, formatNumber, formatOperand, formatString, gasName, type FormatOptions } from './format.js';
import { Mem } from './memory.js';
import { Program, type Bits, type ListingEntry } from './program.js';
import { Register } from './registers.js';

export type { Bits } from './program.js';

/** Any operand the DSL takes: a register, a memory operand, or a value (number, bigint, label name, expression). */
export type AsmOperand = Register | Mem | Value;
/** An operand after label resolution. */
export type ROp = Register | Mem | Expr;
/** Branch size request: `short` (rel8 only, error if out of range) or `near` (rel16/32); default: relaxed. */
export type BranchSize = 'short' | 'near';

export interface AssemblerOptions {
  /** Initial code size (default 32). */
  bits?: Bits;
  /** Address of the first byte (default 0). */
  org?: number | bigint;
}

/** How a fixup's value is checked: signed, unsigned, either (-2^(n-1) .. 2^n-1), or wrapped. */
export type Range = 's' | 'u' | 'us' | 'wrap';

interface Fixup {
  at: number;
  size: 1 | 2 | 4 | 8;
  expr: Expr;
  /** Relative to the end of the item (branches, RIP-relative). */
  pcrel: boolean;
  range: Range;
  what: string;
}

type TextFn = (o: FormatOptions) => string;

type Item =
  | { kind: 'bytes'; bits: Bits; bytes: Uint8Array; fixups: Fixup[]; text: TextFn; data: boolean }
  | { kind: 'branch'; bits: Bits; short: number[] | null; long: number[]; longSize: 2 | 4; target: Expr; isLong: boolean; forced: BranchSize | undefined; text: TextFn }
  | { kind: 'label'; name: string }
  | { kind: 'align'; n: number; fill: number }
  | { kind: 'org'; addr: bigint; fill: number }
  | { kind: 'bits'; bits: Bits }
  | { kind: 'phase'; addr: bigint | undefined }
  | { kind: 'equ'; name: string; expr: Expr };

export interface Imm {
  value: Expr;
  size: 1 | 2 | 4 | 8;
  range: Range;
}

/** Everything the generic encoder needs for one instruction. */
export interface EncSpec {
  opcode: readonly number[];
  /** AsmOperand size: sets 0x66 / REX.W as the mode requires (undefined: no size prefix logic). */
  size?: number;
  /** AsmOperand size 64 is the default in 64-bit code (push, pop, near branches...): no REX.W. */
  default64?: boolean;
  /** Force REX.W (cmpxchg16b, fxsave64, retfq, ...). */
  rexW?: boolean;
  /** Mandatory prefix (0x66, 0xF2, 0xF3). */
  mandatory?: number;
  /** ModRM.reg: a register or an opcode extension (/digit). */
  reg?: Register | number;
  /** ModRM.rm operand. */
  rm?: Register | Mem;
  /** Register encoded in the low 3 bits of the last opcode byte. */
  opreg?: Register;
  /** Address (moffs) that follows the opcode, with its size in bytes. */
  moffs?: { mem: Mem; size: 2 | 4 | 8 };
  imms?: Imm[];
  /** Relative target at the end of the instruction (call, loop, jcxz). */
  rel?: { target: Expr; size: 1 | 2 | 4 };
  /** Custom GNU as text (default: mnemonic and operands). */
  text?: TextFn;
  /** Extra registers to validate (e.g. the accumulator of a moffs form). */
  regs?: Register[];
  /** Emit the address-size prefix 0x67 (jcxz/jecxz outside their native mode, string instructions). */
  addrPrefix?: boolean;
  /** An explicit segment-override prefix (string instructions). */
  segPrefix?: Register;
}

const SEG_PREFIX = [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];
const LOCKABLE = new Set(['add', 'adc', 'and', 'btc', 'btr', 'bts', 'cmpxchg', 'cmpxchg8b', 'cmpxchg16b', 'dec', 'inc', 'neg', 'not', 'or', 'sbb', 'sub', 'xadd', 'xchg', 'xor']);
type PrefixName = 'lock' | 'rep' | 'repe' | 'repne';

/** AsmOperand context of one instruction: resolved operands, text, and error helper. */
export class Ctx {
  readonly mnem: string;
  readonly ops: ROp[];
  constructor(mnem: string, ops: ROp[]) {
    this.mnem = mnem;
    this.ops = ops;
  }
  text(o: FormatOptions = {}): string {
    return this.ops.length ? `${this.mnem} ${this.ops.map((x) => formatOperand(x, o)).join(', ')}` : this.mnem;
  }
  fail(message: string, kind: AsmErrorKind = 'invalid-operands'): never {
    throw new AsmError(kind, `${this.text()}: ${message}`, { instruction: this.text() });
  }
}

export function isReg(o: unknown): o is Register {
  return o instanceof Register;
}
export function isGpr(o: unknown): o is Register {
  return o instanceof Register && o.kind === 'gpr';
}
export function isMem(o: unknown): o is Mem {
  return o instanceof Mem;
}
export function isImm(o: unknown): o is Expr {
  return o instanceof Expr;
}

function rangeOk(v: bigint, size: number, range: Range): boolean {
  const bits = BigInt(size * 8);
  const half = 1n << (bits - 1n);
  const full = 1n << bits;
  switch (range) {
    case 's': return v >= -half && v < half;
    case 'u': return v >= 0n && v < full;
    case 'us': return v >= -half && v < full;
    case 'wrap': return true;
  }
}

function rangeText(size: number, range: Range): string {
  const bits = size * 8;
  return range === 's' ? `signed ${bits}-bit` : range === 'u' ? `unsigned ${bits}-bit` : `${bits}-bit`;
}

function writeLE(out: Uint8Array, at: number, size: number, v: bigint): void {
  let x = BigInt.asUintN(size * 8, v);
  for (let i = 0; i < size; i++) {
    out[at + i] = Number(x & 0xffn);
    x >>= 8n;
  }
}

/** Sign-extends the low `bits` bits of v. */
export function signExtend(v: bigint, bits: number): bigint {
  return BigInt.asIntN(bits, v);
}

export class AssemblerCore {
  protected mode: Bits;
  private origin: bigint;
  private items: Item[] = [];
  private labelIndex = new Map<string, number>();
  private equs = new Map<string, Expr>();
  private scope = '';
  private anonCount = 0;
  private hereCount = 0;
  private pending: PrefixName[] = [];
  private readonly startMode: Bits;

  constructor(options: AssemblerOptions = {}) {
    this.mode = options.bits ?? 32;
    if (this.mode !== 16 && this.mode !== 32 && this.mode !== 64) throw new AsmError('invalid-directive', `bits must be 16, 32 or 64, got ${String(this.mode)}`);
    this.origin = toBig(options.org ?? 0);
    this.startMode = this.mode;
  }

  /** The code size in force. */
  get currentBits(): Bits {
    return this.mode;
  }

  // ---------------------------------------------------------------- directives

  /** Switches the code size (`.code16/.code32/.code64`) for what follows. */
  bits(n: Bits): this {
    if (n !== 16 && n !== 32 && n !== 64) throw new AsmError('invalid-directive', `bits must be 16, 32 or 64, got ${String(n)}`);
    this.mode = n;
    this.items.push({ kind: 'bits', bits: n });
    return this;
  }

  /**
   * Before any output: sets the address of the first byte. Afterwards: pads with `fill` up to
   * address `addr` (GNU as `.org`); an address behind the current one is an error at layout.
   */
  org(addr: number | bigint, fill = 0): this {
    const a = toBig(addr);
    if (!this.items.some((i) => i.kind === 'bytes' || i.kind === 'branch' || i.kind === 'align' || i.kind === 'org' || i.kind === 'phase')) {
      this.origin = a;
      return this;
    }
    this.items.push({ kind: 'org', addr: a, fill: this.byteValue(fill, 'org fill') });
    return this;
  }

  /**
   * Assembles what follows as if it were at address `addr` while it stays where it is in the
   * output (MASM `.phase`): code that is copied elsewhere at run time, like a SIPI trampoline that
   * the OS copies to vector*4096. {@link dephase} ends the block.
   */
  phase(addr: number | bigint): this {
    this.items.push({ kind: 'phase', addr: toBig(addr) });
    return this;
  }

  /** Ends a {@link phase} block: addresses follow the output offset again. */
  dephase(): this {
    this.items.push({ kind: 'phase', addr: undefined });
    return this;
  }

  /**
   * Defines a label at the current location and returns a reference to it. Names starting with
   * `.` are local to the last non-local label (`.loop` after `main:` is `main.loop`); `@@` defines
   * an anonymous label, referenced as `@f` (next) and `@b` (previous).
   */
  label(name: string): Expr {
    let full: string;
    if (name === '@@') {
      full = `__anon_${this.anonCount++}`;
    } else {
      if (!name || /\s/.test(name) || name === '@f' || name === '@b' || name === '@F' || name === '@B') throw new AsmError('invalid-directive', `bad label name '${name}'`, { label: name });
      full = this.resolveName(name);
      if (!name.startsWith('.')) this.scope = name;
    }
    if (this.labelIndex.has(full) || this.equs.has(full)) throw new AsmError('duplicate-label', `label '${full}' is defined twice`, { label: full });
    this.labelIndex.set(full, this.items.length);
    this.items.push({ kind: 'label', name: full });
    return new Expr({ k: 'sym', name: full });
  }

  /** A reference to the current location (`$`). */
  here(): Expr {
    const name = `__here_${this.hereCount++}`;
    this.labelIndex.set(name, this.items.length);
    this.items.push({ kind: 'label', name });
    return new Expr({ k: 'sym', name });
  }

  /** A reference to a label, resolved in the current scope (`.local`, `@f`, `@b`). */
  ref(name: string): Expr {
    return new Expr({ k: 'sym', name: this.resolveName(name) });
  }

  /** Defines a symbol with the value of an expression (evaluated after layout; may use labels). */
  equ(name: string, value: Value): Expr {
    const full = this.resolveName(name);
    if (this.labelIndex.has(full) || this.equs.has(full)) throw new AsmError('duplicate-label', `symbol '${full}' is defined twice`, { label: full });
    const expr = this.resolveExpr(Expr.of(value));
    this.equs.set(full, expr);
    this.items.push({ kind: 'equ', name: full, expr });
    return new Expr({ k: 'sym', name: full });
  }

  /** Pads with `fill` to a multiple of `n` bytes (a power of two) of the address. */
  align(n: number, fill = 0): this {
    if (!Number.isInteger(n) || n <= 0 || (n & (n - 1)) !== 0) throw new AsmError('invalid-directive', `alignment must be a power of two, got ${String(n)}`);
    this.items.push({ kind: 'align', n, fill: this.byteValue(fill, 'align fill') });
    return this;
  }

  /** Calls `body(i)` for i = 0..count-1 (NASM `times`, for code as well as data). */
  times(count: number, body: (i: number) => void): this {
    if (!Number.isInteger(count) || count < 0) throw new AsmError('invalid-directive', `times count must be a non-negative integer, got ${String(count)}`);
    for (let i = 0; i < count; i++) body(i);
    return this;
  }

  /** Bytes: numbers/bigints/expressions (one byte each), strings (their characters, 0..255), byte arrays. */
  db(...items: (Value | Uint8Array | readonly number[])[]): this {
    const bytes: number[] = [];
    const fixups: Fixup[] = [];
    const parts: ({ ascii: number[] } | { exprs: Expr[] })[] = [];
    const exprsPart = (): Expr[] => {
      const last = parts[parts.length - 1];
      if (last && 'exprs' in last) return last.exprs;
      const p = { exprs: [] as Expr[] };
      parts.push(p);
      return p.exprs;
    };
    for (const it of items) {
      if (typeof it === 'string') {
        const chars = [...it].map((ch) => {
          const code = ch.codePointAt(0)!;
          if (code > 0xff) throw new AsmError('out-of-range', `db: character '${ch}' is not a byte (encode text to bytes first)`);
          return code;
        });
        parts.push({ ascii: chars });
        bytes.push(...chars);
      } else if (it instanceof Uint8Array || Array.isArray(it)) {
        for (const b of Array.from(it as ArrayLike<number>)) {
          const e = Expr.of(this.dataValue(b, 1, 'db'));
          exprsPart().push(e);
          this.pushData(e, 1, bytes, fixups, '.byte');
        }
      } else {
        const e = this.resolveExpr(Expr.of(it as Value));
        exprsPart().push(e);
        this.pushData(e, 1, bytes, fixups, '.byte');
      }
    }
    const text: TextFn = (o) =>
      parts.map((p) => ('ascii' in p ? `.ascii ${formatString(p.ascii)}` : `.byte ${p.exprs.map((e) => formatExpr(e, o)).join(', ')}`)).join('\n');
    return this.pushBytes(bytes, fixups, text, true);
  }

  /** 16-bit words (little-endian). */
  dw(...items: Value[]): this {
    return this.dataN(2, '.word', items);
  }
  /** 32-bit dwords. */
  dd(...items: Value[]): this {
    return this.dataN(4, '.long', items);
  }
  /** 64-bit qwords. */
  dq(...items: Value[]): this {
    return this.dataN(8, '.quad', items);
  }
  /** The bytes of a string (characters 0..255). */
  ascii(s: string): this {
    return this.db(s);
  }
  /** The bytes of a string and a terminating zero. */
  asciz(s: string): this {
    return this.db(s, 0);
  }
  /** `count` bytes of `fill` (NASM `resb`/`times n db x`, GNU `.skip`). */
  resb(count: number, fill = 0): this {
    return this.fill(count, 1, fill);
  }
  /** `count` zero words. */
  resw(count: number): this {
    return this.fill(count, 2, 0);
  }
  /** `count` zero dwords. */
  resd(count: number): this {
    return this.fill(count, 4, 0);
  }
  /** `count` zero qwords. */
  resq(count: number): this {
    return this.fill(count, 8, 0);
  }
  /** `count` items of `size` bytes each with the value `value` (GNU `.fill`). */
  fill(count: number, size: 1 | 2 | 4 | 8, value: number | bigint = 0): this {
    if (!Number.isInteger(count) || count < 0) throw new AsmError('invalid-directive', `fill count must be a non-negative integer, got ${String(count)}`);
    if (size !== 1 && size !== 2 && size !== 4 && size !== 8) throw new AsmError('invalid-directive', `fill size must be 1, 2, 4 or 8, got ${String(size)}`);
    const v = this.dataValue(value, size, 'fill');
    const bytes = new Uint8Array(count * size);
    for (let i = 0; i < count; i++) writeLE(bytes, i * size, size, v);
    // GNU as `.fill` keeps only 4 bytes of the value: 8-byte items are written as a repeated `.quad`
    const text = size === 8 ? `.rept ${count}\n.quad ${formatNumber(v)}\n.endr` : `.fill ${count}, ${size}, ${formatNumber(v)}`;
    return this.pushBytes(bytes, [], () => text, true);
  }
  /**
   * A far pointer in memory: offset (2, 4 or 8 bytes by `bits`) then the 16-bit selector, the
   * layout `jmpFar(fword(...))` / m16:16, m16:32, m16:64 read.
   */
  farPtr(selector: Value, offset: Value, bits: Bits = 32): this {
    const size = bits === 16 ? 2 : bits === 32 ? 4 : 8;
    this.dataN(size, size === 2 ? '.word' : size === 4 ? '.long' : '.quad', [offset]);
    return this.dw(selector);
  }

  // ---------------------------------------------------------------- prefixes

  /** LOCK prefix for the next instruction (which must be lockable with a memory destination). */
  lock(): this {
    this.pending.push('lock');
    return this;
  }
  /** REP prefix for the next (string) instruction. */
  rep(): this {
    this.pending.push('rep');
    return this;
  }
  /** REPE/REPZ prefix for the next (string) instruction. */
  repe(): this {
    this.pending.push('repe');
    return this;
  }
  /** Alias of {@link repe}. */
  repz(): this {
    return this.repe();
  }
  /** REPNE/REPNZ prefix for the next (string) instruction. */
  repne(): this {
    this.pending.push('repne');
    return this;
  }
  /** Alias of {@link repne}. */
  repnz(): this {
    return this.repne();
  }

  // ---------------------------------------------------------------- output

  /** Lays out the program (relaxing branches), resolves every label and returns the image. */
  assemble(): Program {
    if (this.pending.length) throw new AsmError('invalid-operands', `prefix '${this.pending.join(' ')}' is not followed by an instruction`);
    const items = this.items;
    const n = items.length;
    const off = new Array<number>(n).fill(0);
    const addr = new Array<bigint>(n).fill(0n);
    const size = new Array<number>(n).fill(0);
    const labels = new Map<string, bigint>();
    const lookupFor = (labelValue: Map<string, bigint> | ((name: string) => bigint | undefined)) => {
      const active = new Set<string>();
      const lookup = (name: string): bigint => {
        const v = typeof labelValue === 'function' ? labelValue(name) : labelValue.get(name);
        if (v !== undefined) return v;
        const e = this.equs.get(name);
        if (e) {
          if (active.has(name)) throw new AsmError('expression', `symbol '${name}' is defined in terms of itself`, { label: name });
          active.add(name);
          try {
            return evaluate(e.node, lookup);
          } finally {
            active.delete(name);
          }
        }
        throw new AsmError('undefined-label', `undefined label '${name}'`, { label: name });
      };
      return lookup;
    };
    const evalIn = (e: Expr, lookup: (n: string) => bigint, text: () => string): bigint => {
      try {
        return evaluate(e.node, lookup);
      } catch (err) {
        if (err instanceof AsmError) throw new AsmError(err.kind, `${err.message} in '${text()}'`, { instruction: text(), label: err.label });
        throw err;
      }
    };
    // Layout follows GNU as's relaxation (relax_segment / relax_frag) so that both pick the same
    // branch sizes: start with every branch short, then pass over the items in order, growing a
    // branch whose target is out of rel8 reach. Within a pass, labels behind the current item have
    // their new address; a label ahead keeps its previous-pass address, moved by the growth so far
    // ("stretch") only when no alignment/org boundary lies between (the alignment may absorb it).
    for (const it of items) if (it.kind === 'branch') it.isLong = it.forced === 'near' || !it.short;
    const region = new Array<number>(n).fill(0);
    for (let i = 0, r = 0; i < n; i++) {
      region[i] = r;
      const k = items[i]!.kind;
      if (k === 'align' || k === 'org' || k === 'phase') r++;
    }
    const labelItem = this.labelIndex;
    const positions = (initial: boolean, visit: ((i: number) => void) | undefined): boolean => {
      let o = 0;
      let loc = this.origin;
      let changed = false;
      for (let i = 0; i < n; i++) {
        const it = items[i]!;
        if (it.kind === 'phase') loc = it.addr ?? this.origin + BigInt(o);
        off[i] = o;
        addr[i] = loc;
        visit?.(i);
        let s = 0;
        switch (it.kind) {
          case 'bytes': s = it.bytes.length; break;
          case 'branch': s = it.isLong ? it.long.length + it.longSize : 2; break;
          case 'align': s = Number(BigInt.asUintN(32, -loc) % BigInt(it.n)); break;
          case 'org': s = initial ? 0 : Math.max(0, Number(it.addr - loc)); break;
          default: break;
        }
        if (s !== size[i]) changed = true;
        size[i] = s;
        o += s;
        loc += BigInt(s);
      }
      return changed;
    };
    positions(true, undefined);
    for (let pass = 0; ; pass++) {
      const prev = addr.slice();
      const branchVisit = (i: number) => {
        const it = items[i]!;
        if (it.kind !== 'branch' || it.isLong) return;
        const stretch = addr[i]! - prev[i]!;
        const dispAt = addr[i]! + 1n;
        let keepShort = false;
        const lookup = lookupFor((name: string): bigint | undefined => {
          const j = labelItem.get(name);
          if (j === undefined) return undefined;
          if (j < i) return addr[j]!;
          let v = prev[j]!;
          if (stretch !== 0n) {
            if (stretch < 0n || region[j] === region[i]) v += stretch;
            else if (v < dispAt) keepShort = true;
          }
          return v;
        });
        const target = evalIn(it.target, lookup, () => it.text({}));
        if (keepShort) return;
        const rel = target - (dispAt + 1n);
        if (rel < -128n || rel > 127n) {
          if (it.forced === 'short' || !it.long.length) return; // reported after layout
          it.isLong = true;
          size[i] = -1; // forces another pass
        }
      };
      const changed = positions(false, branchVisit);
      if (!changed) break;
      if (pass > 10_000) throw new AsmError('invalid-directive', 'layout did not converge');
    }
    for (let i = 0; i < n; i++) {
      const it = items[i]!;
      if (it.kind === 'label') labels.set(it.name, addr[i]!);
      if (it.kind === 'org' && it.addr < addr[i]!) throw new AsmError('invalid-directive', `org 0x${it.addr.toString(16)}: already at 0x${addr[i]!.toString(16)}`);
    }
    {
      const lookup = lookupFor(labels);
      for (let i = 0; i < n; i++) {
        const it = items[i]!;
        if (it.kind !== 'branch' || it.isLong) continue;
        const rel = evalIn(it.target, lookup, () => it.text({})) - (addr[i]! + 2n);
        if (rel < -128n || rel > 127n) {
          throw new AsmError('out-of-range', `short branch out of range (${rel} bytes) in '${it.text({})}'`, { instruction: it.text({}), label: symbolsOf(it.target.node)[0] });
        }
      }
    }

    // emission
    const lookup = lookupFor(labels);
    const total = n ? off[n - 1]! + size[n - 1]! : 0;
    const out = new Uint8Array(total);
    const listing: ListingEntry[] = [];
    const itemListing = new Array<number>(n).fill(-1);
    let curBits: Bits = this.startMode;
    for (let i = 0; i < n; i++) {
      const it = items[i]!;
      const at = off[i]!;
      const a = addr[i]!;
      itemListing[i] = listing.length;
      switch (it.kind) {
        case 'bytes': {
          out.set(it.bytes, at);
          for (const f of it.fixups) {
            const text = () => it.text({});
            let v = evalIn(f.expr, lookup, text);
            if (f.pcrel) v -= a + BigInt(it.bytes.length);
            if (!rangeOk(v, f.size, f.range)) {
              const labelsIn = symbolsOf(f.expr.node);
              throw new AsmError(
                'out-of-range',
                `value ${formatNumber(v)}${labelsIn.length ? ` (from ${labelsIn.map((l) => `'${l}'`).join(', ')})` : ''} does not fit the ${rangeText(f.size, f.range)} ${f.what} of '${text()}'`,
                { instruction: text(), label: labelsIn[0] },
              );
            }
            writeLE(out, at + f.at, f.size, v);
          }
          listing.push({ address: a, offset: at, bytes: out.slice(at, at + it.bytes.length), bits: it.bits, kind: it.data ? 'data' : 'instruction', text: it.text({}) });
          break;
        }
        case 'branch': {
          const target = evalIn(it.target, lookup, () => it.text({}));
          const len = size[i]!;
          const rel = target - (a + BigInt(len));
          if (it.isLong) {
            out.set(it.long, at);
            const range: Range = it.longSize === 4 && it.bits === 64 ? 's' : 'wrap';
            if (!rangeOk(rel, it.longSize, range)) {
              throw new AsmError('out-of-range', `branch target out of range (${rel} bytes) in '${it.text({})}'`, { instruction: it.text({}), label: symbolsOf(it.target.node)[0] });
            }
            writeLE(out, at + it.long.length, it.longSize, rel);
          } else {
            out[at] = it.short![0]!;
            writeLE(out, at + 1, 1, rel);
          }
          listing.push({ address: a, offset: at, bytes: out.slice(at, at + len), bits: it.bits, kind: 'instruction', text: it.text({}) });
          break;
        }
        case 'label':
          if (!it.name.startsWith('__here_')) listing.push({ address: a, offset: at, bytes: new Uint8Array(0), bits: curBits, kind: 'label', text: `${it.name}:` });
          break;
        case 'align':
        case 'org': {
          out.fill(it.fill, at, at + size[i]!);
          const text = it.kind === 'align' ? `.balign ${it.n}, ${formatNumber(BigInt(it.fill))}` : `.org 0x${it.addr.toString(16)}, ${formatNumber(BigInt(it.fill))}`;
          listing.push({ address: a, offset: at, bytes: out.slice(at, at + size[i]!), bits: curBits, kind: 'directive', text });
          break;
        }
        case 'bits':
          curBits = it.bits;
          listing.push({ address: a, offset: at, bytes: new Uint8Array(0), bits: it.bits, kind: 'directive', text: `.code${it.bits}` });
          break;
        case 'phase':
        case 'equ':
          break;
      }
    }
    const symbols = new Map<string, bigint>();
    const offsets = new Map<string, number>();
    for (const [k, v] of labels) if (!k.startsWith('__here_')) symbols.set(k, v);
    for (const [k, i] of this.labelIndex) offsets.set(k, off[i] ?? total);
    for (const k of this.equs.keys()) symbols.set(k, lookup(k));
    return new Program(out, this.origin, symbols, offsets, listing, (markers) => this.renderGas(labels, markers ? itemListing : undefined));
  }

  private renderGas(labels: Map<string, bigint>, markers: number[] | undefined): string {
    const originLabel = '__asm_origin';
    const opts: FormatOptions = { gas: { originLabel, origin: this.origin, isLabel: (name) => labels.has(name) } };
    const lines = ['.intel_syntax noprefix', '.text', `.code${this.startMode}`, `${originLabel}:`];
    for (const [i, it] of this.items.entries()) {
      if (markers && (it.kind === 'bytes' || it.kind === 'branch' || it.kind === 'align' || it.kind === 'org')) lines.push(`__asm_l${markers[i]}:`);
      switch (it.kind) {
        case 'bytes': case 'branch': {
          const t = it.text(opts);
          lines.push(t);
          break;
        }
        case 'label': lines.push(`${gasName(it.name, opts)}:`); break;
        case 'align': lines.push(`.balign ${it.n}, ${it.fill}`); break;
        case 'org': lines.push(`.org ${formatNumber(it.addr - this.origin)}, ${it.fill}`); break;
        case 'bits': lines.push(`.code${it.bits}`); break;
        case 'phase': throw new AsmError('invalid-directive', 'phase blocks cannot be written as GNU as source');
        case 'equ': lines.push(`.set ${gasName(it.name, opts)}, ${formatExpr(it.expr, opts)}`); break;
      }
    }
    if (markers) lines.push('__asm_end:');
    return lines.join('\n') + '\n';
  }

  // ---------------------------------------------------------------- helpers for instructions

  protected resolveName(name: string): string {
    if (name === '@f' || name === '@F') return `__anon_${this.anonCount}`;
    if (name === '@b' || name === '@B') {
      if (this.anonCount === 0) throw new AsmError('undefined-label', "'@b' used before any '@@' label", { label: name });
      return `__anon_${this.anonCount - 1}`;
    }
    if (name.startsWith('.') && this.scope) return `${this.scope}${name}`;
    return name;
  }

  protected resolveExpr(e: Expr): Expr {
    const node = mapSymbols(e.node, (n) => this.resolveName(n));
    return node === e.node ? e : new Expr(node);
  }

  protected resolve(o: AsmOperand): ROp {
    if (o instanceof Register) return o;
    if (o instanceof Mem) return o.disp ? o.withDisp(this.resolveExpr(o.disp)) : o;
    if (typeof o === 'number' || typeof o === 'bigint' || typeof o === 'string' || o instanceof Expr) return this.resolveExpr(Expr.of(o));
    throw new AsmError('invalid-operands', `not an operand: ${String(o)}`);
  }

  protected ctx(mnem: string, ...ops: AsmOperand[]): Ctx {
    return new Ctx(mnem, ops.map((o) => this.resolve(o)));
  }

  private byteValue(v: number, what: string): number {
    if (!Number.isInteger(v) || v < -128 || v > 255) throw new AsmError('out-of-range', `${what} must be a byte, got ${String(v)}`);
    return v & 0xff;
  }

  private dataValue(v: number | bigint, size: number, what: string): bigint {
    const b = toBig(v);
    if (!rangeOk(b, size, 'us')) throw new AsmError('out-of-range', `${what}: ${formatNumber(b)} does not fit ${size * 8} bits`);
    return b;
  }

  private pushData(e: Expr, size: 1 | 2 | 4 | 8, bytes: number[], fixups: Fixup[], what: string): void {
    const at = bytes.length;
    if (e.isConstant) {
      const v = this.dataValue(e.constant(), size, what);
      const tmp = new Uint8Array(size);
      writeLE(tmp, 0, size, v);
      bytes.push(...tmp);
    } else {
      for (let i = 0; i < size; i++) bytes.push(0);
      fixups.push({ at, size, expr: e, pcrel: false, range: 'us', what: `${what} item` });
    }
  }

  private dataN(size: 2 | 4 | 8, directive: string, items: Value[]): this {
    const bytes: number[] = [];
    const fixups: Fixup[] = [];
    const exprs = items.map((it) => this.resolveExpr(Expr.of(it)));
    for (const e of exprs) this.pushData(e, size, bytes, fixups, directive);
    return this.pushBytes(bytes, fixups, (o) => `${directive} ${exprs.map((e) => formatExpr(e, o)).join(', ')}`, true);
  }

  private pushBytes(bytes: number[] | Uint8Array, fixups: Fixup[], text: TextFn, data: boolean): this {
    this.items.push({ kind: 'bytes', bits: this.mode, bytes: Uint8Array.from(bytes), fixups, text, data });
    return this;
  }

  /** Emits raw bytes as an instruction (used for fixed sequences such as multi-byte NOPs). */
  protected rawInsn(bytes: readonly number[], text: string): this {
    this.checkNoPrefix(text);
    return this.pushBytes(Uint8Array.from(bytes), [], () => text, false);
  }

  private checkNoPrefix(text: string): void {
    if (this.pending.length) {
      const p = this.pending.join(' ');
      this.pending = [];
      throw new AsmError('invalid-operands', `'${p}' cannot prefix '${text}'`, { instruction: text });
    }
  }

  /** Emits a relaxable branch (jmp/jcc to a label). */
  protected branch(c: Ctx, target: Expr, shortOp: number[] | null, longOp: number[], longSize: 2 | 4, forced: BranchSize | undefined, text?: TextFn): this {
    this.checkNoPrefix(c.text());
    if (forced === 'near' && !longOp.length) c.fail('has no near form');
    if (forced === 'short' && !shortOp) c.fail('has no short form');
    this.items.push({
      kind: 'branch',
      bits: this.mode,
      short: shortOp,
      long: longOp,
      longSize,
      target,
      isLong: forced === 'near' || !shortOp,
      forced,
      // GNU as pseudo-prefixes pin the size: {disp8} short, {disp16}/{disp32} near
      text: text ?? ((o) => `${forced ? `{disp${forced === 'short' ? 8 : this.mode === 16 ? 16 : 32}} ` : ''}${c.mnem} ${formatBranchTarget(target, o)}`),
    });
    return this;
  }

  /** Validates registers for the current mode. */
  protected checkRegs(c: Ctx, regs: readonly (Register | undefined)[]): void {
    for (const r of regs) {
      if (!r) continue;
      if (this.mode !== 64) {
        if ((r.kind === 'gpr' && (r.num >= 8 || r.rexByte || r.size === 64)) || ((r.kind === 'cr' || r.kind === 'dr') && r.num >= 8) || r.kind === 'rip') {
          c.fail(`${r.name} is not available in ${this.mode}-bit code`);
        }
      }
    }
  }

  /** The generic encoder. */
  protected encode(c: Ctx, s: EncSpec): this {
    const mode = this.mode;
    const prefixes = this.pending;
    this.pending = [];
    // prefixes
    let lock = false;
    let rep = 0;
    for (const p of prefixes) {
      if (p === 'lock') {
        if (!LOCKABLE.has(c.mnem) || !(s.rm instanceof Mem)) c.fail("LOCK needs a lockable instruction with a memory destination");
        lock = true;
      } else {
        if (!STRING_OPS.has(c.mnem)) c.fail(`${p.toUpperCase()} needs a string instruction`);
        rep = p === 'repne' ? 0xf2 : 0xf3;
      }
    }
    let rex = 0;
    let data = false;
    if (s.size === 16) data = mode !== 16;
    else if (s.size === 32) data = mode === 16;
    else if (s.size === 64) {
      if (mode !== 64) c.fail(`64-bit operand size is not available in ${mode}-bit code`);
      if (!s.default64) rex |= 8;
    }
    if (s.rexW) {
      if (mode !== 64) c.fail(`not available in ${mode}-bit code`);
      rex |= 8;
    }
    if (s.mandatory === 0x66) data = true;
    if (s.mandatory === 0xf2 || s.mandatory === 0xf3) rep = s.mandatory;

    const regs: Register[] = [...(s.regs ?? [])];
    const body: number[] = [];
    const fixups: Fixup[] = [];
    let seg = -1;
    let addr32 = s.addrPrefix ?? false;
    const opcode = [...s.opcode];
    if (s.opreg) {
      regs.push(s.opreg);
      opcode[opcode.length - 1]! |= s.opreg.num & 7;
      if (s.opreg.num & 8) rex |= 1;
    }
    body.push(...opcode);
    let dispFix: { size: 1 | 2 | 4 | 8; value: bigint | Expr; pcrel: boolean; range: Range } | undefined;
    if (s.rm !== undefined) {
      let regField = 0;
      if (s.reg instanceof Register) {
        regs.push(s.reg);
        regField = s.reg.num & 7;
        if (s.reg.num & 8) rex |= 4;
      } else if (typeof s.reg === 'number') {
        regField = s.reg;
      }
      if (s.rm instanceof Register) {
        regs.push(s.rm);
        body.push(0xc0 | (regField << 3) | (s.rm.num & 7));
        if (s.rm.num & 8) rex |= 1;
      } else {
        const m = this.encodeMem(c, s.rm, regField);
        body.push(...m.bytes);
        rex |= m.rex;
        addr32 = m.addrPrefix;
        seg = m.seg;
        dispFix = m.disp;
        regs.push(...[s.rm.base, s.rm.index].filter((r): r is Register => !!r));
      }
    }
    this.checkRegs(c, regs);
    let needRex = rex !== 0;
    for (const r of regs) if (r.rexByte) needRex = true;
    if (needRex) {
      const hi = regs.find((r) => r.highByte);
      if (hi) c.fail(`${hi.name} cannot be encoded in an instruction that needs a REX prefix`);
    }
    if (s.segPrefix) seg = SEG_PREFIX[s.segPrefix.num]!;
    if (s.moffs) {
      const m = s.moffs.mem;
      if (m.seg && m.seg.num !== 3) seg = SEG_PREFIX[m.seg.num]!;
    }
    // displacement
    if (dispFix) {
      const at = body.length;
      if (typeof dispFix.value === 'bigint') {
        const tmp = new Uint8Array(dispFix.size);
        writeLE(tmp, 0, dispFix.size, dispFix.value);
        body.push(...tmp);
      } else {
        for (let i = 0; i < dispFix.size; i++) body.push(0);
        fixups.push({ at, size: dispFix.size, expr: dispFix.value, pcrel: dispFix.pcrel, range: dispFix.range, what: dispFix.pcrel ? 'RIP-relative disp32' : `disp${dispFix.size * 8}` });
      }
    }
    if (s.moffs) this.pushValue(c, body, fixups, s.moffs.mem.disp ?? Expr.of(0), s.moffs.size, 'u', 'moffs');
    for (const imm of s.imms ?? []) this.pushValue(c, body, fixups, imm.value, imm.size, imm.range, `imm${imm.size * 8}`);
    if (s.rel) {
      const at = body.length;
      for (let i = 0; i < s.rel.size; i++) body.push(0);
      const range: Range = s.rel.size === 1 ? 's' : s.rel.size === 4 && mode === 64 ? 's' : 'wrap';
      fixups.push({ at, size: s.rel.size, expr: s.rel.target, pcrel: true, range, what: `rel${s.rel.size * 8}` });
    }
    const pre: number[] = [];
    if (seg >= 0) pre.push(seg);
    if (addr32) pre.push(0x67);
    if (data) pre.push(0x66);
    if (rep) pre.push(rep);
    if (lock) pre.push(0xf0);
    if (needRex) pre.push(0x40 | rex);
    for (const f of fixups) f.at += pre.length;
    const prefixText = prefixes.length ? `${prefixes.join(' ')} ` : '';
    const text = s.text ?? ((o: FormatOptions) => c.text(o));
    return this.pushBytes([...pre, ...body], fixups, (o) => prefixText + text(o), false);
  }

  private pushValue(c: Ctx, body: number[], fixups: Fixup[], e: Expr, size: 1 | 2 | 4 | 8, range: Range, what: string): void {
    const at = body.length;
    if (e.isConstant) {
      const v = e.constant();
      if (!rangeOk(v, size, range)) c.fail(`${formatNumber(v)} does not fit the ${rangeText(size, range)} ${what}`, 'out-of-range');
      const tmp = new Uint8Array(size);
      writeLE(tmp, 0, size, v);
      body.push(...tmp);
    } else {
      for (let i = 0; i < size; i++) body.push(0);
      fixups.push({ at, size, expr: e, pcrel: false, range, what });
    }
  }

  /** Address size of a memory operand in the current mode. */
  protected addrSize(c: Ctx, m: Mem): 16 | 32 | 64 {
    const r = m.base ?? m.index;
    if (!r) return this.mode;
    if (r.kind === 'rip') {
      if (this.mode !== 64) c.fail('RIP-relative addressing needs 64-bit code');
      return 64;
    }
    const s = r.size as 16 | 32 | 64;
    if (this.mode === 64 && s === 16) c.fail('16-bit addressing is not available in 64-bit code');
    if (this.mode !== 64 && s === 64) c.fail(`64-bit addressing is not available in ${this.mode}-bit code`);
    return s;
  }

  private encodeMem(c: Ctx, m: Mem, regField: number): { bytes: number[]; rex: number; addrPrefix: boolean; seg: number; disp: { size: 1 | 2 | 4 | 8; value: bigint | Expr; pcrel: boolean; range: Range } | undefined } {
    const asz = this.addrSize(c, m);
    const addrPrefix = asz !== this.mode;
    const dispExpr = m.disp;
    const symbolic = dispExpr !== undefined && !dispExpr.isConstant;
    const dispConst = dispExpr && !symbolic ? dispExpr.constant() : 0n;
    let rex = 0;
    const bytes: number[] = [];
    let disp: { size: 1 | 2 | 4 | 8; value: bigint | Expr; pcrel: boolean; range: Range } | undefined;
    let defaultSeg = 3; // ds
    if (asz === 16) {
      if (m.scale !== 1) c.fail('16-bit addressing has no scaled index');
      const rs = [m.base, m.index].filter((r): r is Register => !!r).map((r) => r.name).sort().join('+');
      const RM16: Record<string, number> = { 'bx+si': 0, 'bx+di': 1, 'bp+si': 2, 'bp+di': 3, si: 4, di: 5, bp: 6, bx: 7 };
      if (rs && RM16[rs] === undefined) c.fail(`[${rs}] is not a 16-bit addressing form (bx/bp + si/di)`);
      if (rs.includes('bp')) defaultSeg = 2;
      if (!rs) {
        bytes.push((regField << 3) | 6);
        disp = { size: 2, value: symbolic ? dispExpr! : this.checkDisp(c, dispConst, 16), pcrel: false, range: 'us' };
      } else {
        const rm = RM16[rs]!;
        if (symbolic) {
          bytes.push(0x80 | (regField << 3) | rm);
          disp = { size: 2, value: dispExpr!, pcrel: false, range: 'us' };
        } else {
          const d = this.checkDisp(c, dispConst, 16);
          if (d === 0n && rm !== 6) bytes.push((regField << 3) | rm);
          else if (d >= -128n && d <= 127n) {
            bytes.push(0x40 | (regField << 3) | rm);
            disp = { size: 1, value: d, pcrel: false, range: 's' };
          } else {
            bytes.push(0x80 | (regField << 3) | rm);
            disp = { size: 2, value: d, pcrel: false, range: 'us' };
          }
        }
      }
    } else {
      const base = m.base;
      const index = m.index;
      if (index && index.num === 4) c.fail(`${index.name} cannot be an index register`);
      if (base?.kind === 'rip') {
        bytes.push((regField << 3) | 5);
        disp = symbolic ? { size: 4, value: dispExpr!, pcrel: true, range: 's' } : { size: 4, value: this.checkDisp(c, dispConst, 64), pcrel: false, range: 's' };
      } else if (!base) {
        const dispRange: Range = asz === 64 ? 's' : 'us';
        const d: bigint | Expr = symbolic ? dispExpr! : this.checkDisp(c, dispConst, asz);
        if (index) {
          bytes.push((regField << 3) | 4, (Math.log2(m.scale) << 6) | ((index.num & 7) << 3) | 5);
          if (index.num & 8) rex |= 2;
        } else if (this.mode === 64) {
          bytes.push((regField << 3) | 4, 0x25);
        } else {
          bytes.push((regField << 3) | 5);
        }
        disp = { size: 4, value: d, pcrel: false, range: dispRange };
      } else {
        if (base.num === 4 || base.num === 5) defaultSeg = 2;
        if (base.num & 8) rex |= 1;
        if (index && index.num & 8) rex |= 2;
        let mod: number;
        if (symbolic) {
          mod = 2;
          disp = { size: 4, value: dispExpr!, pcrel: false, range: asz === 64 ? 's' : 'us' };
        } else {
          const d = this.checkDisp(c, dispConst, asz);
          if (d === 0n && (base.num & 7) !== 5) mod = 0;
          else if (d >= -128n && d <= 127n) {
            mod = 1;
            disp = { size: 1, value: d, pcrel: false, range: 's' };
          } else {
            mod = 2;
            disp = { size: 4, value: d, pcrel: false, range: 's' };
          }
        }
        if (index || (base.num & 7) === 4) {
          bytes.push((mod << 6) | (regField << 3) | 4, (Math.log2(m.scale) << 6) | ((index ? index.num & 7 : 4) << 3) | (base.num & 7));
        } else {
          bytes.push((mod << 6) | (regField << 3) | (base.num & 7));
        }
      }
    }
    const seg = m.seg && m.seg.num !== defaultSeg ? SEG_PREFIX[m.seg.num]! : -1;
    return { bytes, rex, addrPrefix, seg, disp };
  }

  /** A constant displacement, normalised (sign-extended) to the address size. */
  private checkDisp(c: Ctx, d: bigint, asz: 16 | 32 | 64): bigint {
    if (asz === 64) {
      if (!rangeOk(d, 4, 's')) c.fail(`displacement ${formatNumber(d)} does not fit a signed 32-bit displacement`, 'out-of-range');
      return d;
    }
    if (!rangeOk(d, asz / 8, 'us')) c.fail(`displacement ${formatNumber(d)} does not fit ${asz}-bit addressing`, 'out-of-range');
    return signExtend(d, asz);
  }
}

export const STRING_OPS = new Set([
  'movsb', 'movsw', 'movsd', 'movsq', 'cmpsb', 'cmpsw', 'cmpsd', 'cmpsq', 'stosb', 'stosw', 'stosd', 'stosq',
  'lodsb', 'lodsw', 'lodsd', 'lodsq', 'scasb', 'scasw', 'scasd', 'scasq', 'insb', 'insw', 'insd', 'outsb', 'outsw', 'outsd',
]);

/** A branch target as GNU as text: a label expression or an absolute address. */
export function formatBranchTarget(e: Expr, o: FormatOptions): string {
  return e.isConstant ? formatNumber(e.constant()) : formatExpr(e, o);
}

export { formatImm, formatMem };
