/** The output of {@link Assembler.assemble}: bytes, symbols, listing. */
import { AsmError } from './errors.js';

export type Bits = 16 | 32 | 64;

export interface ListingEntry {
  /** Address (location counter) of the first byte. */
  readonly address: bigint;
  /** Offset of the first byte in {@link Program.bytes}. */
  readonly offset: number;
  readonly bytes: Uint8Array;
  /** The code size in force (`bits`). */
  readonly bits: Bits;
  /** What produced the bytes: an instruction, data, a label definition or another directive. */
  readonly kind: 'instruction' | 'data' | 'label' | 'directive';
  /** GNU as Intel-syntax source form (`mov eax, DWORD PTR [ebx+0x8]`, `.long 0x1`, `start:`). */
  readonly text: string;
}

export class Program {
  /** The assembled image; byte 0 is at address {@link origin}. */
  readonly bytes: Uint8Array;
  /** Address of the first byte (`org`). */
  readonly origin: bigint;
  /** Every label and `equ` symbol with its final value. */
  readonly symbols: ReadonlyMap<string, bigint>;
  readonly listing: readonly ListingEntry[];
  private readonly gas: (markers: boolean) => string;
  private readonly offsets: ReadonlyMap<string, number>;
  /** @internal */
  constructor(
    bytes: Uint8Array,
    origin: bigint,
    symbols: ReadonlyMap<string, bigint>,
    offsets: ReadonlyMap<string, number>,
    listing: readonly ListingEntry[],
    gas: (markers: boolean) => string,
  ) {
    this.bytes = bytes;
    this.origin = origin;
    this.symbols = symbols;
    this.offsets = offsets;
    this.listing = listing;
    this.gas = gas;
  }
  /** Value of a label or `equ` symbol; throws `AsmError('undefined-label')` if there is none. */
  symbol(name: string): bigint {
    const v = this.symbols.get(name);
    if (v === undefined) throw new AsmError('undefined-label', `no symbol '${name}' in the program`, { label: name });
    return v;
  }
  /** {@link symbol} as a number (throws if it is not a safe integer). */
  address(name: string): number {
    const v = this.symbol(name);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new AsmError('out-of-range', `symbol '${name}' = 0x${v.toString(16)} is not a safe integer; use symbol()`, { label: name });
    }
    return Number(v);
  }
  /** Offset in {@link bytes} of a label (differs from its address minus the origin inside a `phase` block). */
  offsetOf(name: string): number {
    const o = this.offsets.get(name);
    if (o === undefined) throw new AsmError('undefined-label', `no label '${name}' in the program`, { label: name });
    return o;
  }
  /** The listing as text: `address  bytes  source`, one line per item. */
  listingText(): string {
    const lines: string[] = [];
    for (const e of this.listing) {
      const addr = e.address.toString(16).padStart(8, '0');
      if (e.kind === 'label') {
        lines.push(`${addr}  ${''.padEnd(20)}  ${e.text}`);
        continue;
      }
      const hex = [...e.bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
      const chunks = hex.match(/.{1,20}/g) ?? [''];
      lines.push(`${addr}  ${chunks[0]!.padEnd(20)}  ${e.text.includes('\n') ? e.text.split('\n').join(' ; ') : '    ' + e.text}`);
      for (const c of chunks.slice(1)) lines.push(`${''.padEnd(8)}  ${c}`);
    }
    return lines.join('\n') + '\n';
  }
  /**
   * The program as a GNU as source file (`.intel_syntax noprefix`, `.code16/32/64`, one section
   * starting at {@link origin}): `as --64 x.s && ld -Ttext=<origin> --oformat binary` reproduces
   * {@link bytes}. Throws for `phase` blocks, which GNU as cannot express in one section.
   * With `markers`, every listing entry with bytes is preceded by a label `__asm_l<index in
   * listing>` and the end marked `__asm_end` (how the tests compare entry by entry).
   */
  toGas(options: { markers?: boolean } = {}): string {
    return this.gas(options.markers ?? false);
  }
}
