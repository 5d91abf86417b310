import { InvalidArgumentError } from '@latelaunch/kernel';
import type { RamRange } from './layout.js';

/** E820 address-range types (ACPI spec, "Address Range Types"). */
export const E820Type = {
  Usable: 1,
  Reserved: 2,
  AcpiReclaimable: 3,
  AcpiNvs: 4,
  Unusable: 5,
} as const;

export interface E820Entry {
  readonly base: number;
  readonly length: number;
  /** One of {@link E820Type}. */
  readonly type: number;
}

export interface PcMemoryLayout {
  readonly memoryMiB: number;
  /** RAM backing for `SparseMemory` (`new SparseMemory({ ranges })`). */
  readonly ranges: readonly RamRange[];
  /** The BIOS/E820 memory map, sorted, non-overlapping. */
  readonly e820: readonly E820Entry[];
  /** KiB of conventional memory from 0 (multiboot `mem_lower`): 639. */
  readonly lowerMemoryKiB: number;
  /** KiB of contiguous RAM from 1 MiB up to the first hole (multiboot `mem_upper`). */
  readonly upperMemoryKiB: number;
  /** End of RAM below 4 GiB (exclusive). */
  readonly lowMemoryEnd: number;
  /** Bytes of RAM remapped above 4 GiB. */
  readonly highMemorySize: number;
}

export interface PcMemoryLayoutOptions {
  /** Start of the PCI hole below 4 GiB. Default 0xC0000000. */
  readonly pciHoleStart?: number;
}

const MiB = 0x100000;
const FOUR_GIB = 0x100000000;
/** End of usable conventional memory; 0x9FC00–0x9FFFF is the EBDA. */
export const CONVENTIONAL_MEMORY_END = 0x9fc00;
/** Legacy hole: VGA memory and option ROMs (0xA0000–0xDFFFF) are not backed. */
export const LEGACY_HOLE_START = 0xa0000;
/** BIOS read-only area (RSDP lives here); backed by RAM so firmware can build tables in it. */
export const BIOS_AREA_START = 0xe0000;
export const HIGH_MEMORY_START = MiB;

/**
 * The PC memory map for `memoryMiB` MiB of RAM (QEMU `pc` conventions, DESIGN §5):
 *
 * | range                          | backing | E820            |
 * |--------------------------------|---------|-----------------|
 * | 0 – 0x9FBFF                    | RAM     | usable          |
 * | 0x9FC00 – 0x9FFFF (EBDA)       | RAM     | reserved        |
 * | 0xA0000 – 0xDFFFF (VGA, ROMs)  | none    | reserved        |
 * | 0xE0000 – 0xFFFFF (BIOS area)  | RAM     | reserved        |
 * | 1 MiB – min(size, 0xC0000000)  | RAM     | usable          |
 * | PCI hole 0xC0000000 – 4 GiB    | none    | (absent)        |
 * | 4 GiB – 4 GiB + the rest       | RAM     | usable          |
 *
 * As on a PC, the legacy hole is carved out of the first MiB of the configured size, so the usable
 * total is `memoryMiB` MiB minus 384 KiB.
 */
export function buildPcMemoryLayout(memoryMiB: number, options: PcMemoryLayoutOptions = {}): PcMemoryLayout {
  if (!Number.isInteger(memoryMiB) || memoryMiB < 2 || memoryMiB > 2 ** 31) {
    throw new InvalidArgumentError(`memory size ${memoryMiB} MiB must be an integer in [2, 2^31]`);
  }
  const holeStart = options.pciHoleStart ?? 0xc0000000;
  if (!Number.isInteger(holeStart) || holeStart % MiB !== 0 || holeStart < 16 * MiB || holeStart > FOUR_GIB) {
    throw new InvalidArgumentError(`PCI hole start ${holeStart} must be a MiB multiple in [16 MiB, 4 GiB]`);
  }
  const total = memoryMiB * MiB;
  const lowEnd = Math.min(total, holeStart);
  const high = total - lowEnd;
  const ranges: RamRange[] = [
    { base: 0, size: LEGACY_HOLE_START },
    { base: BIOS_AREA_START, size: lowEnd - BIOS_AREA_START },
  ];
  const e820: E820Entry[] = [
    { base: 0, length: CONVENTIONAL_MEMORY_END, type: E820Type.Usable },
    { base: CONVENTIONAL_MEMORY_END, length: HIGH_MEMORY_START - CONVENTIONAL_MEMORY_END, type: E820Type.Reserved },
    { base: HIGH_MEMORY_START, length: lowEnd - HIGH_MEMORY_START, type: E820Type.Usable },
  ];
  if (high > 0) {
    ranges.push({ base: FOUR_GIB, size: high });
    e820.push({ base: FOUR_GIB, length: high, type: E820Type.Usable });
  }
  return Object.freeze({
    memoryMiB,
    ranges: Object.freeze(ranges.map((r) => Object.freeze(r))),
    e820: Object.freeze(e820.map((e) => Object.freeze(e))),
    lowerMemoryKiB: CONVENTIONAL_MEMORY_END / 1024,
    upperMemoryKiB: (lowEnd - HIGH_MEMORY_START) / 1024,
    lowMemoryEnd: lowEnd,
    highMemorySize: high,
  });
}

/**
 * Returns a new map in which `[region.base, region.base + region.length)` has `region.type`
 * (e.g. firmware marking its ACPI tables `AcpiReclaimable`): overlapping entries are split, the
 * result is sorted and adjacent entries of the same type are merged.
 */
export function carveE820(map: readonly E820Entry[], region: E820Entry): E820Entry[] {
  if (!(region.length > 0) || !Number.isInteger(region.base) || !Number.isInteger(region.length) || region.base < 0) {
    throw new InvalidArgumentError(`E820 region base ${region.base} length ${region.length} is not a positive integer range`);
  }
  const end = region.base + region.length;
  const out: E820Entry[] = [];
  for (const e of map) {
    const eEnd = e.base + e.length;
    if (eEnd <= region.base || e.base >= end) {
      out.push(e);
      continue;
    }
    if (e.base < region.base) out.push({ base: e.base, length: region.base - e.base, type: e.type });
    if (eEnd > end) out.push({ base: end, length: eEnd - end, type: e.type });
  }
  out.push({ base: region.base, length: region.length, type: region.type });
  out.sort((a, b) => a.base - b.base);
  const merged: E820Entry[] = [];
  for (const e of out) {
    const last = merged[merged.length - 1];
    if (last && last.type === e.type && last.base + last.length === e.base) {
      merged[merged.length - 1] = { base: last.base, length: last.length + e.length, type: e.type };
    } else merged.push({ ...e });
  }
  return merged;
}
