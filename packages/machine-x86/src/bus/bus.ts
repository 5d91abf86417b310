import { InvalidArgumentError, type PhysicalMemory } from '@latelaunch/kernel';
import { LOW_PAGE_LIMIT, PAGE_SIZE, assertPhysicalAddress, hex, isPhysicalAddress, pfnOf } from '../memory/layout.js';
import type { SparseMemory } from '../memory/sparse-memory.js';

/** Width of one bus access in bytes. 64-bit memory accesses reach MMIO handlers as two 32-bit ones. */
export type AccessSize = 1 | 2 | 4;

/** Who performs an access: a processor index, or {@link NO_INITIATOR} (firmware, loader, DMA). */
export const NO_INITIATOR = -1;

/**
 * A port I/O handler. `port` is the absolute port number of the access; the bus only calls it with
 * accesses whose bytes all lie in the handler's range (others are split into byte accesses).
 * `read` returns the value zero-extended to `size` bytes.
 */
export interface PortHandler {
  read(port: number, size: AccessSize, initiator: number): number;
  write(port: number, size: AccessSize, value: number, initiator: number): void;
}

/**
 * An MMIO handler. `offset` is relative to the region's base; the bus only calls it with accesses
 * that lie entirely within the region (others are split into byte accesses).
 */
export interface MmioHandler {
  read(offset: number, size: AccessSize, initiator: number): number;
  write(offset: number, size: AccessSize, value: number, initiator: number): void;
}

/** A live registration; `unregister()` frees the range (idempotent). */
export interface BusRegistration {
  readonly space: 'port' | 'mmio';
  readonly base: number;
  readonly size: number;
  readonly owner: string;
  unregister(): void;
}

/**
 * Two devices claimed overlapping port or MMIO ranges. Code `LL_INVALID_ARGUMENT`; `space`,
 * `base`, `size` describe the refused claim and `existingOwner` the range it collides with.
 */
export class BusConflictError extends InvalidArgumentError {
  constructor(
    readonly space: 'port' | 'mmio',
    readonly base: number,
    readonly size: number,
    readonly owner: string,
    readonly existingOwner: string,
    readonly existingBase: number,
    readonly existingSize: number,
  ) {
    super(
      `${space} range [${hex(base)}, ${hex(base + size)}) claimed by '${owner}' overlaps ` +
        `[${hex(existingBase)}, ${hex(existingBase + existingSize)}) of '${existingOwner}'`,
    );
  }
}

interface PortEntry {
  readonly base: number;
  readonly size: number;
  readonly owner: string;
  readonly handler: PortHandler;
}

interface MmioRegion {
  readonly base: number;
  readonly size: number;
  readonly end: number;
  readonly owner: string;
  readonly handler: MmioHandler;
}

/** Zero-extends a handler's result to `size` bytes. */
function fit(v: number, size: AccessSize): number {
  return size === 4 ? v >>> 0 : v & (size === 1 ? 0xff : 0xffff);
}

/**
 * The machine's bus: the 64 KiB port I/O space and the physical address space (MMIO regions over
 * {@link SparseMemory}).
 *
 * - Unclaimed ports read all-ones; writes to them are ignored.
 * - A physical access goes to the MMIO region that contains it, else to memory (which reads
 *   all-ones outside RAM). MMIO regions take precedence over RAM they cover.
 * - "Is this MMIO?" is answered per page with a bitmap for the low 4 GiB ({@link isMmioPage}), so
 *   the common non-MMIO case costs one bit test.
 *
 * The bus implements `PhysicalMemory` (read8..write64) for devices, firmware and the hypervisor;
 * every access method takes an optional `initiator` (a processor index) that handlers receive,
 * which lets per-processor devices such as the local APIC share one address.
 */
export class Bus implements PhysicalMemory {
  private readonly ports: (PortEntry | undefined)[] = new Array<PortEntry | undefined>(0x10000).fill(undefined);
  private readonly portList: PortEntry[] = [];
  /** Sorted by base. */
  private regions: MmioRegion[] = [];
  /** Bit per page of the low 4 GiB: 1 = some MMIO region touches the page. */
  private readonly mmioLow = new Uint8Array(LOW_PAGE_LIMIT >>> 3);
  /** Pages above 4 GiB touched by MMIO. */
  private readonly mmioHigh = new Set<number>();
  private mmioCount = 0;

  constructor(readonly memory: SparseMemory) {}

  // ---------------------------------------------------------------- port I/O

  /** Claims ports `[base, base + size)`; throws {@link BusConflictError} on overlap. */
  registerPorts(base: number, size: number, handler: PortHandler, owner: string): BusRegistration {
    if (!Number.isInteger(base) || !Number.isInteger(size) || size <= 0 || base < 0 || base + size > 0x10000) {
      throw new InvalidArgumentError(`port range [${hex(base)}, +${size}) of '${owner}' is outside 0x0..0xffff`);
    }
    for (let p = base; p < base + size; p++) {
      const e = this.ports[p];
      if (e !== undefined) throw new BusConflictError('port', base, size, owner, e.owner, e.base, e.size);
    }
    const entry: PortEntry = { base, size, owner, handler };
    for (let p = base; p < base + size; p++) this.ports[p] = entry;
    this.portList.push(entry);
    let live = true;
    return {
      space: 'port',
      base,
      size,
      owner,
      unregister: () => {
        if (!live) return;
        live = false;
        for (let p = base; p < base + size; p++) if (this.ports[p] === entry) this.ports[p] = undefined;
        this.portList.splice(this.portList.indexOf(entry), 1);
      },
    };
  }

  in8(port: number, initiator = NO_INITIATOR): number {
    return this.portRead(port, 1, initiator);
  }
  in16(port: number, initiator = NO_INITIATOR): number {
    return this.portRead(port, 2, initiator);
  }
  in32(port: number, initiator = NO_INITIATOR): number {
    return this.portRead(port, 4, initiator);
  }
  out8(port: number, value: number, initiator = NO_INITIATOR): void {
    this.portWrite(port, 1, value & 0xff, initiator);
  }
  out16(port: number, value: number, initiator = NO_INITIATOR): void {
    this.portWrite(port, 2, value & 0xffff, initiator);
  }
  out32(port: number, value: number, initiator = NO_INITIATOR): void {
    this.portWrite(port, 4, value >>> 0, initiator);
  }

  /** Port read of `size` bytes; the value is zero-extended. */
  portRead(port: number, size: AccessSize, initiator = NO_INITIATOR): number {
    port &= 0xffff;
    const e = this.ports[port];
    if (e !== undefined && port + size <= e.base + e.size) return fit(e.handler.read(port, size, initiator), size);
    if (size === 1) return 0xff;
    // Bytes of the access belong to different owners (or none): one byte access each.
    let v = 0;
    for (let i = size - 1; i >= 0; i--) {
      const p = port + i;
      const b = p > 0xffff ? undefined : this.ports[p];
      v = v * 256 + (b === undefined ? 0xff : b.handler.read(p, 1, initiator) & 0xff);
    }
    return v;
  }

  portWrite(port: number, size: AccessSize, value: number, initiator = NO_INITIATOR): void {
    port &= 0xffff;
    const e = this.ports[port];
    if (e !== undefined && port + size <= e.base + e.size) {
      e.handler.write(port, size, value, initiator);
      return;
    }
    if (size === 1) return;
    for (let i = 0; i < size; i++) {
      const p = port + i;
      const b = p > 0xffff ? undefined : this.ports[p];
      if (b !== undefined) b.handler.write(p, 1, (value >>> (8 * i)) & 0xff, initiator);
    }
  }

  /** Owner of `port`, if claimed. */
  portOwner(port: number): string | undefined {
    return this.ports[port & 0xffff]?.owner;
  }

  /** Every port claim, sorted by base. */
  portMap(): { base: number; size: number; owner: string }[] {
    return this.portList.map(({ base, size, owner }) => ({ base, size, owner })).sort((a, b) => a.base - b.base);
  }

  // ---------------------------------------------------------------- MMIO

  /**
   * Claims physical `[base, base + size)` for MMIO (any size and alignment); throws
   * {@link BusConflictError} on overlap with another region. Bumps the memory's cache epoch.
   */
  registerMmio(base: number, size: number, handler: MmioHandler, owner: string): BusRegistration {
    assertPhysicalAddress(base, `MMIO base of '${owner}'`);
    if (!Number.isInteger(size) || size <= 0 || !isPhysicalAddress(base + size - 1)) {
      throw new InvalidArgumentError(`MMIO size ${String(size)} of '${owner}' is not a positive integer inside [0, 2^52)`);
    }
    for (const r of this.regions) {
      if (base < r.end && r.base < base + size) throw new BusConflictError('mmio', base, size, owner, r.owner, r.base, r.size);
    }
    const region: MmioRegion = { base, size, end: base + size, owner, handler };
    this.regions = [...this.regions, region].sort((a, b) => a.base - b.base);
    this.mmioCount++;
    this.refreshPages(base, size);
    let live = true;
    return {
      space: 'mmio',
      base,
      size,
      owner,
      unregister: () => {
        if (!live) return;
        live = false;
        this.regions = this.regions.filter((r) => r !== region);
        this.mmioCount--;
        this.refreshPages(base, size);
      },
    };
  }

  /** Recomputes the page bits of `[base, base + size)` from the region list. */
  private refreshPages(base: number, size: number): void {
    const first = pfnOf(base);
    const last = pfnOf(base + size - 1);
    for (let pfn = first; pfn <= last; pfn++) {
      const lo = pfn * PAGE_SIZE;
      const hi = lo + PAGE_SIZE;
      const touched = this.regions.some((r) => r.base < hi && lo < r.end);
      if (pfn < LOW_PAGE_LIMIT) {
        if (touched) this.mmioLow[pfn >>> 3] |= 1 << (pfn & 7);
        else this.mmioLow[pfn >>> 3] &= ~(1 << (pfn & 7));
      } else if (touched) this.mmioHigh.add(pfn);
      else this.mmioHigh.delete(pfn);
    }
    this.memory.invalidateCaches();
  }

  /** True when some MMIO region touches page `pfn` (then no page array may be cached for it). */
  isMmioPage(pfn: number): boolean {
    if (pfn < LOW_PAGE_LIMIT) return (this.mmioLow[pfn >>> 3] & (1 << (pfn & 7))) !== 0;
    return this.mmioHigh.size !== 0 && this.mmioHigh.has(pfn);
  }

  /** True when the byte at `pa` belongs to an MMIO region. */
  isMmio(pa: number): boolean {
    return this.isMmioPage(pfnOf(pa)) && this.findRegion(pa) !== undefined;
  }

  /** Every MMIO region, sorted by base. */
  mmioMap(): { base: number; size: number; owner: string }[] {
    return this.regions.map(({ base, size, owner }) => ({ base, size, owner }));
  }

  private findRegion(pa: number): MmioRegion | undefined {
    const rs = this.regions;
    let lo = 0;
    let hi = rs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = rs[mid];
      if (pa < r.base) hi = mid - 1;
      else if (pa >= r.end) lo = mid + 1;
      else return r;
    }
    return undefined;
  }

  /** True when `[pa, pa + size)` touches an MMIO page (size ≤ 8, so at most two pages). */
  private touchesMmio(pa: number, size: number): boolean {
    if (this.mmioCount === 0) return false;
    if (pa >>> 0 === pa && pa + size <= 0x100000000) {
      const a = pa >>> 12;
      const b = (pa + size - 1) >>> 12;
      return ((this.mmioLow[a >>> 3] >>> (a & 7)) & 1) !== 0 || ((this.mmioLow[b >>> 3] >>> (b & 7)) & 1) !== 0;
    }
    return this.isMmioPage(pfnOf(pa)) || this.isMmioPage(pfnOf(pa + size - 1));
  }

  // ---------------------------------------------------------------- physical accesses

  read8(pa: number, initiator = NO_INITIATOR): number {
    return this.touchesMmio(pa, 1) ? this.mmioRead(pa, 1, initiator) : this.memory.read8(pa);
  }
  read16(pa: number, initiator = NO_INITIATOR): number {
    return this.touchesMmio(pa, 2) ? this.mmioRead(pa, 2, initiator) : this.memory.read16(pa);
  }
  read32(pa: number, initiator = NO_INITIATOR): number {
    return this.touchesMmio(pa, 4) ? this.mmioRead(pa, 4, initiator) : this.memory.read32(pa);
  }
  read64(pa: number, initiator = NO_INITIATOR): bigint {
    const lo = this.read32(pa, initiator);
    const hi = this.read32(pa + 4, initiator);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }
  /** 64-bit read without a bigint: two 32-bit accesses, low dword first. */
  read64Pair(pa: number, out: Uint32Array | number[], initiator = NO_INITIATOR): void {
    out[0] = this.read32(pa, initiator);
    out[1] = this.read32(pa + 4, initiator);
  }

  write8(pa: number, value: number, initiator = NO_INITIATOR): void {
    if (this.touchesMmio(pa, 1)) this.mmioWrite(pa, 1, value & 0xff, initiator);
    else this.memory.write8(pa, value);
  }
  write16(pa: number, value: number, initiator = NO_INITIATOR): void {
    if (this.touchesMmio(pa, 2)) this.mmioWrite(pa, 2, value & 0xffff, initiator);
    else this.memory.write16(pa, value);
  }
  write32(pa: number, value: number, initiator = NO_INITIATOR): void {
    if (this.touchesMmio(pa, 4)) this.mmioWrite(pa, 4, value >>> 0, initiator);
    else this.memory.write32(pa, value);
  }
  write64(pa: number, value: bigint, initiator = NO_INITIATOR): void {
    this.write32(pa, Number(value & 0xffffffffn), initiator);
    this.write32(pa + 4, Number((value >> 32n) & 0xffffffffn), initiator);
  }
  write64Pair(pa: number, lo: number, hi: number, initiator = NO_INITIATOR): void {
    this.write32(pa, lo, initiator);
    this.write32(pa + 4, hi, initiator);
  }

  /** MMIO-aware read of `size` bytes at `pa` (value zero-extended). */
  mmioRead(pa: number, size: AccessSize, initiator = NO_INITIATOR): number {
    const r = this.findRegion(pa);
    if (r !== undefined && pa + size <= r.end) return fit(r.handler.read(pa - r.base, size, initiator), size);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) {
      const a = pa + i;
      const b = this.findRegion(a);
      v = v * 256 + (b === undefined ? this.memory.read8(a) : b.handler.read(a - b.base, 1, initiator) & 0xff);
    }
    return v;
  }

  /** MMIO-aware write of `size` bytes at `pa`. */
  mmioWrite(pa: number, size: AccessSize, value: number, initiator = NO_INITIATOR): void {
    const r = this.findRegion(pa);
    if (r !== undefined && pa + size <= r.end) {
      r.handler.write(pa - r.base, size, value, initiator);
      return;
    }
    for (let i = 0; i < size; i++) {
      const a = pa + i;
      const byte = (value >>> (8 * i)) & 0xff;
      const b = this.findRegion(a);
      if (b === undefined) this.memory.write8(a, byte);
      else b.handler.write(a - b.base, 1, byte, initiator);
    }
  }
}
