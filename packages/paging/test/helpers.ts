import type { PhysicalMemory, TranslationResult } from '@latelaunch/kernel';

/** Sparse little-endian test memory over 4 KiB pages (addresses up to 2^52); counts 32-bit reads and writes. */
export class TestMemory implements PhysicalMemory {
  readonly pages = new Map<number, DataView>();
  reads32 = 0;
  writes32 = 0;

  private page(pa: number, create: boolean): DataView | undefined {
    const n = Math.floor(pa / 4096);
    let p = this.pages.get(n);
    if (!p && create) {
      p = new DataView(new ArrayBuffer(4096));
      this.pages.set(n, p);
    }
    return p;
  }

  read8(pa: number): number {
    return this.page(pa, false)?.getUint8(pa % 4096) ?? 0;
  }
  read16(pa: number): number {
    return this.read8(pa) | (this.read8(pa + 1) << 8);
  }
  read32(pa: number): number {
    this.reads32++;
    if (pa % 4 !== 0) throw new Error(`unaligned read32 at ${pa.toString(16)}`);
    return this.page(pa, false)?.getUint32(pa % 4096, true) ?? 0;
  }
  read64(pa: number): bigint {
    const p = this.page(pa, false);
    return p ? p.getBigUint64(pa % 4096, true) : 0n;
  }
  write8(pa: number, value: number): void {
    this.page(pa, true)!.setUint8(pa % 4096, value);
  }
  write16(pa: number, value: number): void {
    this.write8(pa, value & 0xff);
    this.write8(pa + 1, (value >>> 8) & 0xff);
  }
  write32(pa: number, value: number): void {
    this.writes32++;
    if (pa % 4 !== 0) throw new Error(`unaligned write32 at ${pa.toString(16)}`);
    this.page(pa, true)!.setUint32(pa % 4096, value >>> 0, true);
  }
  write64(pa: number, value: bigint): void {
    this.page(pa, true)!.setBigUint64(pa % 4096, BigInt.asUintN(64, value), true);
  }

  /** Deep copy (for comparing side effects against a reference model). */
  clone(): TestMemory {
    const m = new TestMemory();
    for (const [n, p] of this.pages) m.pages.set(n, new DataView(p.buffer.slice(0)));
    return m;
  }

  /** Every non-zero qword, as a sorted list of [address, value] (for equality checks). */
  dump(): [number, bigint][] {
    const out: [number, bigint][] = [];
    for (const [n, p] of [...this.pages].sort((a, b) => a[0] - b[0])) {
      for (let o = 0; o < 4096; o += 8) {
        const v = p.getBigUint64(o, true);
        if (v !== 0n) out.push([n * 4096 + o, v]);
      }
    }
    return out;
  }
}

export function result(): TranslationResult {
  return { physical: 0, fault: 0, errorCode: 0 };
}

/** Entry flag bits (low dword) shared by all linear paging modes. */
export const P = 0x1n;
export const RW = 0x2n;
export const US = 0x4n;
export const PWT = 0x8n;
export const PCD = 0x10n;
export const A = 0x20n;
export const D = 0x40n;
export const PS = 0x80n;
export const G = 0x100n;
export const XD = 1n << 63n;

/** EPT entry bits. */
export const ER = 0x1n;
export const EW = 0x2n;
export const EX = 0x4n;
export const RWX = 0x7n;
export const EPT_WB = 6n << 3n;
export const EPT_IPAT = 0x40n;
export const EPT_LARGE = 0x80n;
export const EPT_A = 0x100n;
export const EPT_D = 0x200n;

export const hex = (n: number | bigint) => `0x${n.toString(16)}`;

/**
 * Builds 4-level (or 5-level) IA-32e / EPT style tables (8-byte entries, 512 per table) in a
 * TestMemory with a bump allocator. `upper` are the flags of the non-leaf entries it creates.
 */
export class TableBuilder {
  next: number;
  constructor(
    readonly mem: TestMemory,
    readonly root: number,
    readonly levels: 4 | 5 = 4,
    firstFree = root + 0x1000,
  ) {
    this.next = firstFree;
  }

  alloc(): number {
    const a = this.next;
    this.next += 0x1000;
    return a;
  }

  private index(linear: number, level: number): number {
    return Number((BigInt.asUintN(64, BigInt(linear)) >> BigInt(12 + 9 * (level - 1))) & 511n);
  }

  /** Address of the entry for `linear` at `level` (creating tables above it with `upper`). */
  entryAddress(linear: number, level: number, upper: bigint): number {
    let table = this.root;
    for (let l = this.levels; l > level; l--) {
      const ea = table + this.index(linear, l) * 8;
      let e = this.mem.read64(ea);
      if (e === 0n) {
        e = BigInt(this.alloc()) | upper;
        this.mem.write64(ea, e);
      }
      table = Number(e & 0x000ffffffffff000n);
    }
    return table + this.index(linear, level) * 8;
  }

  /** Maps `linear` → `phys` with a leaf at level 1 (4 KiB), 2 (2 MiB, sets PS) or 3 (1 GiB, sets PS). */
  map(linear: number, phys: number, leafFlags: bigint, upper: bigint = 0x7n, level = 1, ps = 0x80n): number {
    const ea = this.entryAddress(linear, level, upper);
    this.mem.write64(ea, BigInt(phys) | leafFlags | (level > 1 ? ps : 0n));
    return ea;
  }
}
