import { InvalidArgumentError, type PhysicalMemory } from '@latelaunch/kernel';
import type { Snapshottable } from '../devices/snapshottable.js';
import { LOW_PAGE_LIMIT, MAX_PHYSICAL_ADDRESS, PAGE_SIZE, RamLayout, assertPhysicalAddress, hex, isPhysicalAddress, type MemoryConfig } from './layout.js';

/*
 * Page table: a persistent (copy-on-write) radix tree with 32-way nodes.
 *
 *   Root ── low: Inner (pages 0 .. 2^20-1, the low 4 GiB)
 *        └─ high: Map<chunk, Inner> (one per further 4 GiB)
 *   Inner (128 MiB per slot) → Inner (4 MiB per slot) → Inner (128 KiB per slot) → Leaf (32 pages)
 *
 * Every node carries the *generation* that created it. Generations are unique within a memory
 * family (a memory and all its forks). A memory may modify a node in place only when it carries
 * the memory's current generation; anything else is shared with a snapshot or a fork and is copied
 * first (path copying). A leaf's `owned` bitmask says which of its pages this generation created
 * (and may write in place). snapshot(), fork() and restore() just take a new generation, so they
 * are O(1); the first write to a page afterwards copies the page and at most four small nodes.
 *
 * Small nodes keep that per-write copy cheap (a 32-slot array each); the depth is hidden by two
 * one-entry caches (last page read, last page written) that every epoch change resets.
 */
interface Inner {
  readonly gen: number;
  readonly c: (Inner | Leaf | undefined)[];
}
interface Leaf {
  readonly gen: number;
  readonly p: (Uint8Array | undefined)[];
  /** Bit i: page i was created by this leaf's generation (writable in place). */
  owned: number;
}
interface Root {
  readonly gen: number;
  low: Inner;
  high: Map<number, Inner> | null;
}

const FAN = 32;
const MAX_GEN = 0x7fffffff;
/** Pages are carved from 64 KiB slabs (much cheaper than one ArrayBuffer per page). */
const SLAB_PAGES = 16;

function newInner(gen: number): Inner {
  return { gen, c: new Array<Inner | Leaf | undefined>(FAN).fill(undefined) };
}
function newLeaf(gen: number): Leaf {
  return { gen, p: new Array<Uint8Array | undefined>(FAN).fill(undefined), owned: 0 };
}

/** State shared by a memory and its forks: the RAM layout, the generation counter, the zero page. */
class MemoryFamily {
  private next = 1;
  /** Returned by getPageForRead for RAM pages never written. Never write into it. */
  readonly zeroPage = new Uint8Array(PAGE_SIZE);
  constructor(readonly layout: RamLayout) {}
  allocGen(): number {
    if (this.next >= MAX_GEN) throw new InvalidArgumentError('memory generation counter exhausted (2^31 snapshots/forks)');
    return this.next++;
  }
}

/** Internal constructor argument used by fork(). */
class ForkInit implements MemoryConfig {
  constructor(
    readonly family: MemoryFamily,
    readonly root: Root,
  ) {}
  get ranges() {
    return this.family.layout.ranges;
  }
}

/**
 * An immutable memory snapshot. Holds the page tree of the moment it was taken; pages are shared
 * with the live memory until either side writes them. Restore it with {@link SparseMemory.restore}
 * on the memory that took it or on any fork of it.
 */
export class MemorySnapshot {
  /** @internal */
  readonly root: Root;
  /** @internal */
  readonly family: MemoryFamily;
  /** @internal */
  constructor(root: Root, family: MemoryFamily) {
    this.root = root;
    this.family = family;
    Object.freeze(this);
  }
}

/** Called with the page number when a write hits a page marked with {@link SparseMemory.markCodePage}. */
export type CodePageWriteListener = (pfn: number) => void;

/**
 * Sparse guest-physical RAM in 4 KiB pages with copy-on-write snapshots and forks.
 *
 * - Reads of addresses outside the RAM ranges return all-ones; writes there are dropped.
 * - RAM pages materialise (zero-filled) on their first write; reads of never-written RAM return 0.
 * - Little-endian; any alignment; accesses that cross a page (or a RAM/hole boundary) are split per byte.
 * - {@link getPageForRead}/{@link getPageForWrite} hand out page arrays for fast in-page access; they stay
 *   valid while {@link epoch} is unchanged (see there).
 *
 * Addresses are JS numbers in [0, 2^52). This class knows nothing about MMIO: the {@link Bus} routes
 * MMIO before it reaches memory.
 */
export class SparseMemory implements PhysicalMemory, Snapshottable {
  readonly layout: RamLayout;
  private readonly family: MemoryFamily;
  private root: Root;
  private gen: number;
  private _epoch = 0;
  /** One-entry caches (low 4 GiB only): page number and array of the last page read / written; -1 = empty. */
  private rPfn = -1;
  private rPage: Uint8Array;
  private wPfn = -1;
  private wPage: Uint8Array;
  private slab: ArrayBuffer | null = null;
  private slabUsed = SLAB_PAGES;
  private codeLow: Uint8Array | null = null;
  private readonly codeSet = new Set<number>();
  private codeListeners: CodePageWriteListener[] = [];

  constructor(config: MemoryConfig) {
    if (config instanceof ForkInit) {
      this.family = config.family;
      this.root = config.root;
    } else {
      this.family = new MemoryFamily(new RamLayout(config));
      this.root = { gen: 0, low: newInner(0), high: null };
    }
    this.layout = this.family.layout;
    this.gen = this.family.allocGen();
    this.rPage = this.wPage = this.family.zeroPage;
  }

  /**
   * Cache-validity counter. It changes whenever a page array previously returned by
   * {@link getPageForRead} or {@link getPageForWrite} may have become stale: a page materialised or
   * was copied (read arrays of it are stale), a snapshot/fork/restore happened (write arrays must not be
   * used any more; after restore read arrays too), a page was marked as code (its write arrays must go
   * through the notifying path), or the bus changed its MMIO map. An interpreter that caches page
   * arrays compares this number before using its cache and flushes on change.
   */
  get epoch(): number {
    return this._epoch;
  }

  /** Forces every cached page array to be dropped (used by the bus when MMIO regions change). */
  invalidateCaches(): void {
    this.bump();
  }

  private bump(): void {
    this._epoch++;
    this.rPfn = -1;
    this.wPfn = -1;
  }

  // ---------------------------------------------------------------- reads

  read8(pa: number): number {
    if (pa >>> 0 === pa && pa >>> 12 === this.rPfn) return this.rPage[pa & 4095];
    const page = this.readPage(pa, 1);
    return page === null ? this.readSlow(pa, 1) : page[pa % PAGE_SIZE];
  }

  read16(pa: number): number {
    if (pa >>> 0 === pa && pa >>> 12 === this.rPfn && (pa & 4095) < 4095) {
      const p = this.rPage;
      const o = pa & 4095;
      return p[o] | (p[o + 1] << 8);
    }
    const page = this.readPage(pa, 2);
    if (page === null) return this.readSlow(pa, 2);
    const o = pa % PAGE_SIZE;
    return page[o] | (page[o + 1] << 8);
  }

  read32(pa: number): number {
    if (pa >>> 0 === pa && pa >>> 12 === this.rPfn && (pa & 4095) <= 4092) {
      const p = this.rPage;
      const o = pa & 4095;
      return (p[o] | (p[o + 1] << 8) | (p[o + 2] << 16) | (p[o + 3] << 24)) >>> 0;
    }
    const page = this.readPage(pa, 4);
    if (page === null) return this.readSlow(pa, 4);
    const o = pa % PAGE_SIZE;
    return (page[o] | (page[o + 1] << 8) | (page[o + 2] << 16) | (page[o + 3] << 24)) >>> 0;
  }

  read64(pa: number): bigint {
    const lo = this.read32(pa);
    const hi = this.read32(pa + 4);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** 64-bit read without a bigint: `out[0]` = low dword, `out[1]` = high dword. */
  read64Pair(pa: number, out: Uint32Array | number[]): void {
    out[0] = this.read32(pa);
    out[1] = this.read32(pa + 4);
  }

  /**
   * Cache miss of an access of `size` bytes: the page array when the access lies in one RAM page
   * (the live page or the zero page; fills the read cache), else null (hole or page-crossing).
   */
  private readPage(pa: number, size: number): Uint8Array | null {
    assertPhysicalAddress(pa);
    if (pa % PAGE_SIZE > PAGE_SIZE - size) return null;
    const pfn = Math.floor(pa / PAGE_SIZE);
    const page = this.getPageForRead(pfn);
    if (page !== null && pfn < LOW_PAGE_LIMIT) {
      this.rPfn = pfn;
      this.rPage = page;
    }
    return page;
  }

  /** Byte-wise read: holes and addresses past 2^52 read 0xFF. */
  private readSlow(pa: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + this.byteAt(pa + i);
    return v;
  }

  private byteAt(pa: number): number {
    if (!isPhysicalAddress(pa)) return 0xff;
    const page = this.getPageForRead(Math.floor(pa / PAGE_SIZE));
    return page === null ? 0xff : page[pa % PAGE_SIZE];
  }

  // ---------------------------------------------------------------- writes

  write8(pa: number, value: number): void {
    if (pa >>> 0 === pa && pa >>> 12 === this.wPfn) {
      this.wPage[pa & 4095] = value;
      return;
    }
    this.writeSlow(pa, 1, value);
  }

  write16(pa: number, value: number): void {
    if (pa >>> 0 === pa && pa >>> 12 === this.wPfn && (pa & 4095) < 4095) {
      const p = this.wPage;
      const o = pa & 4095;
      p[o] = value;
      p[o + 1] = value >>> 8;
      return;
    }
    this.writeSlow(pa, 2, value);
  }

  write32(pa: number, value: number): void {
    if (pa >>> 0 === pa && pa >>> 12 === this.wPfn && (pa & 4095) <= 4092) {
      const p = this.wPage;
      const o = pa & 4095;
      p[o] = value;
      p[o + 1] = value >>> 8;
      p[o + 2] = value >>> 16;
      p[o + 3] = value >>> 24;
      return;
    }
    this.writeSlow(pa, 4, value);
  }

  write64(pa: number, value: bigint): void {
    this.write32(pa, Number(value & 0xffffffffn));
    this.write32(pa + 4, Number((value >> 32n) & 0xffffffffn));
  }

  /** 64-bit write without a bigint. */
  write64Pair(pa: number, lo: number, hi: number): void {
    this.write32(pa, lo);
    this.write32(pa + 4, hi);
  }

  private writeSlow(pa: number, size: number, value: number): void {
    assertPhysicalAddress(pa);
    const off = pa % PAGE_SIZE;
    if (off + size <= PAGE_SIZE) {
      const page = this.pageForWrite(Math.floor(pa / PAGE_SIZE));
      if (page === null) return;
      for (let i = 0; i < size; i++) page[off + i] = value >>> (8 * i);
      return;
    }
    for (let i = 0; i < size; i++) {
      const a = pa + i;
      if (!isPhysicalAddress(a)) return;
      const page = this.pageForWrite(Math.floor(a / PAGE_SIZE));
      if (page !== null) page[a % PAGE_SIZE] = value >>> (8 * i);
    }
  }

  // ---------------------------------------------------------------- bulk

  /** Copies `bytes` to `[pa, pa + bytes.length)`; bytes that fall outside RAM are dropped. */
  writeBytes(pa: number, bytes: Uint8Array): void {
    assertPhysicalAddress(pa);
    let done = 0;
    while (done < bytes.length) {
      const a = pa + done;
      if (!isPhysicalAddress(a)) return;
      const off = a % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, bytes.length - done);
      const page = this.pageForWrite(Math.floor(a / PAGE_SIZE));
      if (page !== null) page.set(bytes.subarray(done, done + n), off);
      done += n;
    }
  }

  /** Fills `[pa, pa + length)` with `value` (RAM only). */
  fill(pa: number, length: number, value = 0): void {
    assertPhysicalAddress(pa);
    let done = 0;
    while (done < length) {
      const a = pa + done;
      if (!isPhysicalAddress(a)) return;
      const off = a % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, length - done);
      const pfn = Math.floor(a / PAGE_SIZE);
      // Zero-filling a never-written page needs no page at all.
      if (!(value === 0 && this.lookupPage(this.root, pfn) === undefined)) {
        const page = this.pageForWrite(pfn);
        if (page !== null) page.fill(value, off, off + n);
      }
      done += n;
    }
  }

  /** Reads `[pa, pa + length)` into a new array (all-ones outside RAM). */
  readBytes(pa: number, length: number): Uint8Array {
    assertPhysicalAddress(pa);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const a = pa + done;
      const off = a % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, length - done);
      const page = isPhysicalAddress(a) ? this.getPageForRead(Math.floor(a / PAGE_SIZE)) : null;
      if (page === null) out.fill(0xff, done, done + n);
      else out.set(page.subarray(off, off + n), done);
      done += n;
    }
    return out;
  }

  /** True when every byte of `[pa, pa + length)` is RAM. */
  isBacked(pa: number, length: number): boolean {
    return this.layout.isRamRange(pa, length);
  }

  // ---------------------------------------------------------------- page API (interpreter fast paths)

  /**
   * The page's bytes for reading: the live page, the shared zero page for RAM never written
   * (do not write into it), or `null` outside RAM. Valid while {@link epoch} is unchanged.
   */
  getPageForRead(pfn: number): Uint8Array | null {
    const page = this.lookupPage(this.root, pfn);
    if (page !== undefined) return page;
    return this.layout.isRamPage(pfn) ? this.family.zeroPage : null;
  }

  /**
   * The page's bytes for writing (materialised, owned by this memory), or `null` outside RAM. If the
   * page is a code page, listeners are notified and the mark is cleared first (the caller is about to
   * write). Valid while {@link epoch} is unchanged: marking a page as code bumps the epoch, so a
   * cached write array never bypasses a notification.
   */
  getPageForWrite(pfn: number): Uint8Array | null {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= MAX_PHYSICAL_ADDRESS / PAGE_SIZE) {
      throw new InvalidArgumentError(`page number ${String(pfn)} out of range`);
    }
    return this.pageForWrite(pfn);
  }

  private lookupPage(root: Root, pfn: number): Uint8Array | undefined {
    let top: Inner | undefined;
    let idx: number;
    if (pfn < LOW_PAGE_LIMIT) {
      top = root.low;
      idx = pfn;
    } else {
      const chunk = Math.floor(pfn / LOW_PAGE_LIMIT);
      top = root.high?.get(chunk);
      if (top === undefined) return undefined;
      idx = pfn - chunk * LOW_PAGE_LIMIT;
    }
    const a = top.c[idx >>> 15] as Inner | undefined;
    if (a === undefined) return undefined;
    const b = a.c[(idx >>> 10) & 31] as Inner | undefined;
    if (b === undefined) return undefined;
    const leaf = b.c[(idx >>> 5) & 31] as Leaf | undefined;
    return leaf === undefined ? undefined : leaf.p[idx & 31];
  }

  /** The child `i` of an owned inner node, created or copied so that it is owned too. */
  private ownChild(parent: Inner, i: number, gen: number): Inner {
    let child = parent.c[i] as Inner | undefined;
    if (child === undefined) child = newInner(gen);
    else if (child.gen !== gen) child = { gen, c: child.c.slice() };
    else return child;
    parent.c[i] = child;
    return child;
  }

  /** The leaf holding `pfn`, owned by the current generation (copying the path as needed). */
  private ownedLeaf(pfn: number): Leaf {
    const gen = this.gen;
    let root = this.root;
    if (root.gen !== gen) {
      root = { gen, low: root.low, high: root.high === null ? null : new Map(root.high) };
      this.root = root;
    }
    let top: Inner;
    let idx: number;
    if (pfn < LOW_PAGE_LIMIT) {
      top = root.low;
      if (top.gen !== gen) root.low = top = { gen, c: top.c.slice() };
      idx = pfn;
    } else {
      const chunk = Math.floor(pfn / LOW_PAGE_LIMIT);
      if (root.high === null) root.high = new Map();
      const existing = root.high.get(chunk);
      if (existing === undefined) top = newInner(gen);
      else if (existing.gen !== gen) top = { gen, c: existing.c.slice() };
      else top = existing;
      root.high.set(chunk, top);
      idx = pfn - chunk * LOW_PAGE_LIMIT;
    }
    const a = this.ownChild(top, idx >>> 15, gen);
    const b = this.ownChild(a, (idx >>> 10) & 31, gen);
    const li = (idx >>> 5) & 31;
    let leaf = b.c[li] as Leaf | undefined;
    if (leaf === undefined) {
      leaf = newLeaf(gen);
      b.c[li] = leaf;
    } else if (leaf.gen !== gen) {
      leaf = { gen, p: leaf.p.slice(), owned: 0 };
      b.c[li] = leaf;
    }
    return leaf;
  }

  private newPage(): Uint8Array {
    if (this.slabUsed === SLAB_PAGES) {
      this.slab = new ArrayBuffer(SLAB_PAGES * PAGE_SIZE);
      this.slabUsed = 0;
    }
    return new Uint8Array(this.slab!, PAGE_SIZE * this.slabUsed++, PAGE_SIZE);
  }

  private pageForWrite(pfn: number): Uint8Array | null {
    if (!this.layout.isRamPage(pfn)) return null;
    const leaf = this.ownedLeaf(pfn);
    const i = pfn % FAN;
    const bit = 1 << i;
    let page = leaf.p[i];
    if (page === undefined || (leaf.owned & bit) === 0) {
      const fresh = this.newPage();
      if (page !== undefined) fresh.set(page);
      leaf.p[i] = page = fresh;
      leaf.owned |= bit;
      this.bump();
    }
    if (pfn < LOW_PAGE_LIMIT) {
      this.rPfn = this.wPfn = pfn;
      this.rPage = this.wPage = page;
    }
    if (this.codeSet.size !== 0 && this.codeSet.has(pfn)) {
      this.clearCodeFlag(pfn);
      for (const l of this.codeListeners) l(pfn);
    }
    return page;
  }

  // ---------------------------------------------------------------- code pages

  /**
   * Marks page `pfn` as holding decoded code: the next write to it (through any path) calls the
   * {@link onCodePageWrite} listeners with `pfn` and clears the mark. Bumps {@link epoch} when the page
   * was not marked yet, so cached write arrays are re-fetched through the notifying path.
   */
  markCodePage(pfn: number): void {
    if (this.codeSet.has(pfn)) return;
    this.codeSet.add(pfn);
    if (pfn < LOW_PAGE_LIMIT) {
      if (this.codeLow === null) this.codeLow = new Uint8Array(LOW_PAGE_LIMIT >>> 3);
      this.codeLow[pfn >>> 3] |= 1 << (pfn & 7);
    }
    this.bump();
  }

  /** Removes the code mark without notification (e.g. the decoded cache dropped the page). */
  unmarkCodePage(pfn: number): void {
    if (this.codeSet.has(pfn)) this.clearCodeFlag(pfn);
  }

  isCodePage(pfn: number): boolean {
    if (pfn < LOW_PAGE_LIMIT) return this.codeLow !== null && (this.codeLow[pfn >>> 3] & (1 << (pfn & 7))) !== 0;
    return this.codeSet.has(pfn);
  }

  /** Pages currently marked as code, ascending. */
  codePages(): number[] {
    return [...this.codeSet].sort((a, b) => a - b);
  }

  /** Registers a code-page write listener; returns the unsubscribe function. */
  onCodePageWrite(listener: CodePageWriteListener): () => void {
    this.codeListeners = [...this.codeListeners, listener];
    return () => {
      this.codeListeners = this.codeListeners.filter((l) => l !== listener);
    };
  }

  private clearCodeFlag(pfn: number): void {
    this.codeSet.delete(pfn);
    if (pfn < LOW_PAGE_LIMIT && this.codeLow !== null) this.codeLow[pfn >>> 3] &= ~(1 << (pfn & 7));
  }

  // ---------------------------------------------------------------- snapshots

  /** O(1): freezes the current contents; later writes copy the pages they touch. */
  snapshot(): MemorySnapshot {
    const snap = new MemorySnapshot(this.root, this.family);
    this.gen = this.family.allocGen();
    this.bump();
    return snap;
  }

  /**
   * O(code pages): returns the memory to `snap` (taken by this memory or one of its fork family).
   * Code pages whose contents differ from the snapshot's are notified and unmarked.
   */
  restore(snap: MemorySnapshot): void {
    if (!(snap instanceof MemorySnapshot) || snap.family !== this.family) {
      throw new InvalidArgumentError('restore: the snapshot was not taken from this memory or a fork of it');
    }
    const changed: number[] = [];
    for (const pfn of this.codeSet) {
      if (this.lookupPage(this.root, pfn) !== this.lookupPage(snap.root, pfn)) changed.push(pfn);
    }
    this.root = snap.root;
    this.gen = this.family.allocGen();
    this.bump();
    for (const pfn of changed) {
      this.clearCodeFlag(pfn);
      for (const l of this.codeListeners) l(pfn);
    }
  }

  /**
   * O(1): a new, independent memory with the same contents, sharing pages copy-on-write. The fork has
   * no code marks and no listeners; snapshots of either can be restored into the other.
   */
  fork(): SparseMemory {
    const child = new SparseMemory(new ForkInit(this.family, this.root));
    this.gen = this.family.allocGen();
    this.bump();
    return child;
  }

  /** Snapshottable: same as {@link snapshot}. */
  saveState(): MemorySnapshot {
    return this.snapshot();
  }

  /** Snapshottable: same as {@link restore}. */
  loadState(state: unknown): void {
    this.restore(state as MemorySnapshot);
  }

  /** Forgets every write: all RAM reads as zero again (code pages that held data are notified). */
  clear(): void {
    this.restore(new MemorySnapshot({ gen: 0, low: newInner(0), high: null }, this.family));
  }

  /** Number of materialised pages reachable from the live memory (walks the tree; for tests and stats). */
  residentPages(): number {
    const count = (n: Inner | Leaf | undefined, depth: number): number => {
      if (n === undefined) return 0;
      if (depth === 3) return (n as Leaf).p.reduce((k, p) => k + (p === undefined ? 0 : 1), 0);
      return (n as Inner).c.reduce((k: number, c) => k + count(c, depth + 1), 0);
    };
    let total = count(this.root.low, 0);
    if (this.root.high !== null) for (const top of this.root.high.values()) total += count(top, 0);
    return total;
  }

  toString(): string {
    return `SparseMemory(${this.layout.ranges.map((r) => `[${hex(r.base)}, ${hex(r.base + r.size)})`).join(' ')})`;
  }
}
