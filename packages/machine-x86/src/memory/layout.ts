import { InvalidArgumentError } from '@latelaunch/kernel';

/** 4 KiB pages throughout the machine. */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
export const PAGE_MASK = 4095;
/** Physical addresses are below 2^52 (the architectural MAXPHYADDR limit); JS numbers hold them exactly. */
export const MAX_PHYSICAL_ADDRESS = 2 ** 52;
/** Page numbers below this value lie in the low 4 GiB (fast, bitmap-backed paths). */
export const LOW_PAGE_LIMIT = 1 << 20;

/** One contiguous range of RAM. `base` and `size` are multiples of 4 KiB. */
export interface RamRange {
  readonly base: number;
  readonly size: number;
}

export interface MemoryConfig {
  readonly ranges: readonly RamRange[];
}

/** True when `pa` is an integer physical address in [0, 2^52). */
export function isPhysicalAddress(pa: number): boolean {
  return Number.isInteger(pa) && pa >= 0 && pa < MAX_PHYSICAL_ADDRESS;
}

export function assertPhysicalAddress(pa: number, what = 'physical address'): void {
  if (!isPhysicalAddress(pa)) throw new InvalidArgumentError(`${what} ${String(pa)} is not an integer in [0, 2^52)`);
}

/** Page frame number of a physical address (exact for every address below 2^52). */
export function pfnOf(pa: number): number {
  return (pa >>> 0) === pa ? pa >>> PAGE_SHIFT : Math.floor(pa / PAGE_SIZE);
}

/** Validated, sorted, merged RAM ranges expressed in page numbers (`[start, end)`). */
export class RamLayout {
  /** Sorted, non-overlapping, adjacent ranges merged. */
  readonly ranges: readonly RamRange[];
  /** Bit per page of the low 4 GiB: 1 = RAM. */
  private readonly lowBits: Uint8Array;
  private readonly highStarts: number[] = [];
  private readonly highEnds: number[] = [];
  /** Total RAM bytes. */
  readonly totalBytes: number;

  constructor(config: MemoryConfig) {
    if (!config || !Array.isArray(config.ranges)) throw new InvalidArgumentError('memory config needs a `ranges` array');
    const sorted = config.ranges.map((r, i) => {
      if (!r || !Number.isInteger(r.base) || !Number.isInteger(r.size)) {
        throw new InvalidArgumentError(`memory range [${i}] needs integer base and size`);
      }
      if (r.base < 0 || r.size <= 0 || r.base + r.size > MAX_PHYSICAL_ADDRESS) {
        throw new InvalidArgumentError(`memory range [${i}] (base ${hex(r.base)}, size ${hex(r.size)}) is empty or outside [0, 2^52)`);
      }
      if (r.base % PAGE_SIZE !== 0 || r.size % PAGE_SIZE !== 0) {
        throw new InvalidArgumentError(`memory range [${i}] (base ${hex(r.base)}, size ${hex(r.size)}) is not 4 KiB aligned`);
      }
      return { base: r.base, size: r.size };
    });
    sorted.sort((a, b) => a.base - b.base);
    const merged: { base: number; size: number }[] = [];
    for (const r of sorted) {
      const last = merged[merged.length - 1];
      if (last && r.base < last.base + last.size) {
        throw new InvalidArgumentError(
          `memory ranges overlap: [${hex(last.base)}, ${hex(last.base + last.size)}) and [${hex(r.base)}, ${hex(r.base + r.size)})`,
        );
      }
      if (last && r.base === last.base + last.size) last.size += r.size;
      else merged.push(r);
    }
    this.ranges = Object.freeze(merged.map((r) => Object.freeze(r)));
    this.lowBits = new Uint8Array(LOW_PAGE_LIMIT >>> 3);
    let total = 0;
    for (const r of merged) {
      total += r.size;
      const start = r.base / PAGE_SIZE;
      const end = (r.base + r.size) / PAGE_SIZE;
      for (let p = start; p < Math.min(end, LOW_PAGE_LIMIT); p++) this.lowBits[p >>> 3] |= 1 << (p & 7);
      if (end > LOW_PAGE_LIMIT) {
        this.highStarts.push(Math.max(start, LOW_PAGE_LIMIT));
        this.highEnds.push(end);
      }
    }
    this.totalBytes = total;
  }

  /** True when page `pfn` is backed by RAM. */
  isRamPage(pfn: number): boolean {
    if (pfn < LOW_PAGE_LIMIT) return (this.lowBits[pfn >>> 3] & (1 << (pfn & 7))) !== 0;
    const starts = this.highStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (pfn < starts[mid]) hi = mid - 1;
      else if (pfn >= this.highEnds[mid]) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** True when every byte of `[pa, pa + length)` is RAM. */
  isRamRange(pa: number, length: number): boolean {
    if (length <= 0) return true;
    return this.ranges.some((r) => pa >= r.base && pa + length <= r.base + r.size);
  }
}

export function hex(n: number): string {
  return n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`;
}
