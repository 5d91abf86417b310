/**
 * The root OS's native services (DESIGN §4/§5): stateless TypeScript functions of registers and
 * guest memory, reached through the native-service instruction. They read and write memory only
 * through the calling processor's translation (`ctx.readBytes`/`ctx.writeBytes`); every result
 * lives in guest memory (the inventory, the allocator's header and bitmap), never in TypeScript.
 */
import { findRsdp, hotplugCandidates, parseAcpiFromMemory, type AcpiTables } from '@latelaunch/acpi';
import type { NativeServiceContext, NativeServiceRegistry } from '@latelaunch/machine-x86';
import {
  INVENTORY_HEADER_SIZE,
  INVENTORY_MAGIC,
  INVENTORY_VERSION,
  InventoryFlags,
  InventoryOffsets as O,
  IOAPIC_ENTRY_SIZE,
  MEMORY_AFFINITY_ENTRY_SIZE,
  MemoryAffinityFlags,
  NO_NODE,
  NODE_ENTRY_SIZE,
  NodeFlags,
  PROCESSOR_ENTRY_SIZE,
  ProcessorFlags,
  RAM_RANGE_ENTRY_SIZE,
} from './inventory.js';
import { HEAP_MAX_ALLOC, INVENTORY_MAX_SIZE, MULTIBOOT_BOOTLOADER_MAGIC, PFA_BITMAP_ADDRESS, PFA_BITMAP_BYTES, PFA_FRAMES, PFA_RESERVED_BELOW, RootOsServices } from './layout.js';

const EAX = 0;
const ECX = 1;
const EDX = 2;
const ESI = 6;
const EDI = 7;
const FOUR_GIB = 0x100000000;

/** Multiboot info offsets and the latelaunch boot-info extension (machine-x86 firmware README). */
const MB_FLAGS = 0x00;
const MB_MMAP_LENGTH = 0x2c;
const MB_MMAP_ADDR = 0x30;
const MB_FLAG_MMAP = 1 << 6;
const EXT_MAGIC_OFFSET = 0x74;
const EXT_RSDP_OFFSET = 0x78;
const EXT_MAGIC = 0x57464c4c; // "LLFW"

export interface E820Range {
  readonly base: number;
  readonly length: number;
  readonly type: number;
}

function dvOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** A reader limited to the identity-mapped low 4 GiB (anything else is reported, not faulted). */
function reader(ctx: NativeServiceContext): (a: number, n: number) => Uint8Array {
  return (a, n) => {
    if (!(a >= 0 && n >= 0 && a + n <= FOUR_GIB)) throw new RangeError(`0x${a.toString(16)}+${n} is outside the identity-mapped 4 GiB`);
    return ctx.readBytes(a, n);
  };
}

/** Reads the E820 map from a multiboot information structure. */
export function readBootInfoE820(read: (a: number, n: number) => Uint8Array, info: number, anomalies: string[]): E820Range[] {
  const head = dvOf(read(info, 0x80));
  if ((head.getUint32(MB_FLAGS, true) & MB_FLAG_MMAP) === 0) {
    anomalies.push('boot-info: no memory map (flags bit 6 clear)');
    return [];
  }
  const len = head.getUint32(MB_MMAP_LENGTH, true);
  const addr = head.getUint32(MB_MMAP_ADDR, true);
  if (len > 0x10000) {
    anomalies.push(`boot-info: memory map length ${len} is implausible`);
    return [];
  }
  const mm = dvOf(read(addr, len));
  const out: E820Range[] = [];
  let p = 0;
  while (p + 24 <= len) {
    const size = mm.getUint32(p, true);
    if (size < 20) {
      anomalies.push(`boot-info: memory map entry at +${p} has size ${size}`);
      break;
    }
    const base = mm.getUint32(p + 4, true) + mm.getUint32(p + 8, true) * 0x100000000;
    const length = mm.getUint32(p + 12, true) + mm.getUint32(p + 16, true) * 0x100000000;
    out.push({ base, length, type: mm.getUint32(p + 20, true) });
    p += size + 4;
  }
  return out;
}

class Writer {
  readonly bytes = new Uint8Array(INVENTORY_MAX_SIZE);
  readonly dv = dvOf(this.bytes);
  end = INVENTORY_HEADER_SIZE;
  u8(o: number, v: number): void {
    this.dv.setUint8(o, v);
  }
  u16(o: number, v: number): void {
    this.dv.setUint16(o, v, true);
  }
  u32(o: number, v: number): void {
    this.dv.setUint32(o, v >>> 0, true);
  }
  u64(o: number, v: number): void {
    this.dv.setUint32(o, v % 0x100000000, true);
    this.dv.setUint32(o + 4, Math.floor(v / 0x100000000), true);
  }
  /** Reserves `count` entries of `size` bytes, fills the header's table descriptor, returns the first offset. */
  table(at: number, count: number, size: number): number {
    this.end = (this.end + 7) & ~7;
    const off = this.end;
    if (off + count * size > this.bytes.length) throw new RangeError('the inventory does not fit in its 64 KiB');
    this.u16(at, count);
    this.u16(at + 2, size);
    this.u32(at + 4, off);
    this.end = off + count * size;
    return off;
  }
}

/**
 * Builds the inventory bytes (everything but the CPUID/APIC section, which x86 code writes).
 * Exported for tests and tools; the `discover` service is this plus guest-memory I/O.
 */
export function buildInventoryBytes(read: (a: number, n: number) => Uint8Array, bootInfo: number, entryEax: number): { bytes: Uint8Array; anomalies: string[] } {
  const anomalies: string[] = [];
  const w = new Writer();
  let flags = 0;
  if (entryEax >>> 0 === MULTIBOOT_BOOTLOADER_MAGIC) flags |= InventoryFlags.BOOT_MAGIC_OK;
  else anomalies.push(`boot: EAX at entry was 0x${(entryEax >>> 0).toString(16)}, not the multiboot magic`);

  let e820: E820Range[] = [];
  let rsdpAddress: number | undefined;
  try {
    e820 = readBootInfoE820(read, bootInfo, anomalies);
    const ext = dvOf(read(bootInfo + EXT_MAGIC_OFFSET, 8));
    const rsdp = ext.getUint32(EXT_RSDP_OFFSET - EXT_MAGIC_OFFSET, true);
    if (ext.getUint32(0, true) === EXT_MAGIC && rsdp !== 0) {
      rsdpAddress = rsdp;
      flags |= InventoryFlags.RSDP_FROM_BOOT_INFO;
    }
  } catch (e) {
    anomalies.push(`boot-info: unreadable at 0x${bootInfo.toString(16)}: ${(e as Error).message}`);
  }
  if (rsdpAddress === undefined) {
    try {
      rsdpAddress = findRsdp(read).address;
      flags |= InventoryFlags.RSDP_FROM_SCAN;
    } catch (e) {
      anomalies.push(`acpi: no RSDP found: ${(e as Error).message}`);
    }
  }
  let t: AcpiTables | null = null;
  if (rsdpAddress !== undefined) {
    try {
      t = parseAcpiFromMemory(read, { rsdpAddress });
      flags |= InventoryFlags.ACPI;
      if (t.xsdt) flags |= InventoryFlags.XSDT;
      for (const a of t.anomalies) anomalies.push(`acpi: ${a.table} ${a.kind}: ${a.message}`);
    } catch (e) {
      anomalies.push(`acpi: tables unreadable: ${(e as Error).message}`);
    }
  }

  // Processors: enabled MADT entries (MADT order), then the hot-plug candidates.
  const nodeOfApic = new Map<number, number>();
  if (t?.srat) {
    flags |= InventoryFlags.NUMA;
    // Enabled affinity entries first; a disabled one still names the node of a hot-pluggable processor.
    for (const c of t.srat.cpuAffinity) if (c.enabled && !nodeOfApic.has(c.apicId)) nodeOfApic.set(c.apicId, c.proximityDomain);
    for (const c of t.srat.cpuAffinity) if (!nodeOfApic.has(c.apicId)) nodeOfApic.set(c.apicId, c.proximityDomain);
  }
  const madt = t?.madt ?? null;
  if (t && !madt) anomalies.push('acpi: no MADT');
  const procs = madt ? [...madt.processors.filter((p) => p.enabled), ...hotplugCandidates(madt)] : [];
  let o = w.table(O.processors, procs.length, PROCESSOR_ENTRY_SIZE);
  for (const p of procs) {
    const f = (p.enabled ? ProcessorFlags.ENABLED : ProcessorFlags.HOTPLUG) | (p.type === 'x2apic' ? ProcessorFlags.X2APIC_ENTRY : 0) | (p.onlineCapable ? ProcessorFlags.ONLINE_CAPABLE : 0);
    w.u32(o, p.apicId);
    w.u32(o + 4, p.uid);
    w.u32(o + 8, f);
    w.u32(o + 12, nodeOfApic.get(p.apicId) ?? NO_NODE);
    if (t?.srat && !nodeOfApic.has(p.apicId) && p.enabled) anomalies.push(`srat: enabled processor with APIC ID ${p.apicId} has no affinity entry`);
    o += PROCESSOR_ENTRY_SIZE;
  }
  const ioApics = madt?.ioApics ?? [];
  o = w.table(O.ioApics, ioApics.length, IOAPIC_ENTRY_SIZE);
  for (const io of ioApics) {
    w.u32(o, io.id);
    w.u32(o + 4, io.address);
    w.u32(o + 8, io.gsiBase);
    o += IOAPIC_ENTRY_SIZE;
  }

  // NUMA: every domain named by the SRAT (any entry, enabled or not) or the SLIT, empty ones included.
  const mem = t?.srat ? t.srat.memoryAffinity.filter((m) => m.length > 0) : [];
  const domains = new Set<number>();
  for (const c of t?.srat?.cpuAffinity ?? []) domains.add(c.proximityDomain);
  for (const m of t?.srat?.memoryAffinity ?? []) domains.add(m.proximityDomain);
  if (t?.slit) for (let i = 0; i < t.slit.localities; i++) domains.add(i);
  const sorted = [...domains].sort((a, b) => a - b);
  o = w.table(O.nodes, sorted.length, NODE_ENTRY_SIZE);
  for (const d of sorted) {
    const cpus = (t?.srat?.cpuAffinity ?? []).filter((c) => c.enabled && c.proximityDomain === d).length;
    const mine = mem.filter((m) => m.enabled && m.proximityDomain === d);
    const bytes = mine.filter((m) => !m.hotPluggable).reduce((s, m) => s + m.length, 0);
    const hot = mine.filter((m) => m.hotPluggable).reduce((s, m) => s + m.length, 0);
    const f = (cpus > 0 ? NodeFlags.HAS_CPUS : 0) | (mine.length > 0 ? NodeFlags.HAS_MEMORY : 0) | (cpus === 0 && mine.length === 0 ? NodeFlags.EMPTY : 0);
    w.u32(o, d);
    w.u32(o + 4, f);
    w.u32(o + 8, cpus);
    w.u32(o + 12, mine.length);
    w.u64(o + 16, bytes);
    w.u64(o + 24, hot);
    o += NODE_ENTRY_SIZE;
  }
  o = w.table(O.memoryAffinity, mem.length, MEMORY_AFFINITY_ENTRY_SIZE);
  for (const m of mem) {
    w.u64(o, m.base);
    w.u64(o + 8, m.length);
    w.u32(o + 16, m.proximityDomain);
    w.u32(o + 20, (m.enabled ? MemoryAffinityFlags.ENABLED : 0) | (m.hotPluggable ? MemoryAffinityFlags.HOTPLUG : 0) | (m.nonVolatile ? MemoryAffinityFlags.NONVOLATILE : 0));
    o += MEMORY_AFFINITY_ENTRY_SIZE;
  }
  o = w.table(O.ramRanges, e820.length, RAM_RANGE_ENTRY_SIZE);
  for (const r of e820) {
    w.u64(o, r.base);
    w.u64(o + 8, r.length);
    w.u32(o + 16, r.type);
    o += RAM_RANGE_ENTRY_SIZE;
  }
  if (t?.slit && t.slit.matrix.length === t.slit.localities) {
    const n = t.slit.localities;
    w.end = (w.end + 7) & ~7;
    w.u16(O.slit, n);
    w.u32(O.slit + 4, w.end);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) w.u8(w.end + i * n + j, t.slit.matrix[i][j]);
    w.end += n * n;
  }
  const fadt = t?.fadt ?? null;
  if (fadt?.pmTimerBlock) {
    if (fadt.pmTimerBlock.spaceId === 1) {
      w.u32(O.pmTimerPort, fadt.pmTimerBlock.address);
      w.u8(O.pmTimerWidth, fadt.pmTimerBits ?? 24);
      w.u8(O.pmTimerSpace, 1);
    } else anomalies.push(`fadt: PM timer in address space ${fadt.pmTimerBlock.spaceId}, not I/O: ignored`);
  } else if (t) anomalies.push('fadt: no ACPI PM timer');
  if (madt) {
    w.u32(O.localApicAddress, madt.localApicAddressOverride ?? madt.localApicAddress);
    w.u32(O.madtFlags, madt.flags);
  }
  // Anomaly text: one line per anomaly, NUL-terminated (the x86 code prints it).
  const text = new TextEncoder().encode(anomalies.map((a) => `firmware: ${a.replace(/[\r\n]+/g, ' ')}\n`).join(''));
  const room = w.bytes.length - w.end - 1;
  const kept = text.subarray(0, Math.max(0, room));
  w.u32(O.anomalyText, kept.length);
  w.u32(O.anomalyText + 4, w.end);
  w.bytes.set(kept, w.end);
  w.end += kept.length + 1;
  w.end = (w.end + 7) & ~7;

  w.u32(O.magic, INVENTORY_MAGIC);
  w.u16(O.version, INVENTORY_VERSION);
  w.u16(O.headerSize, INVENTORY_HEADER_SIZE);
  w.u32(O.totalSize, w.end);
  w.u32(O.flags, flags);
  w.u32(O.rsdpAddress, rsdpAddress ?? 0);
  w.u32(O.anomalyCount, anomalies.length);
  return { bytes: w.bytes.slice(0, w.end), anomalies };
}

/** `discover`: EDI = inventory, ESI = boot info, EDX = EAX at entry → EAX = anomaly count. */
export function discoverService(ctx: NativeServiceContext): void {
  const { bytes, anomalies } = buildInventoryBytes(reader(ctx), ctx.getReg32(ESI), ctx.getReg32(EDX));
  ctx.writeBytes(ctx.getReg32(EDI), bytes);
  ctx.setReg32(EAX, anomalies.length);
}

export const PFA_MAGIC = 0x46504c4c; // "LLPF"
/** Page-frame allocator header (at `PFA_ADDRESS`). */
export const PfaOffsets = Object.freeze({ magic: 0, version: 4, bitmap: 8, bitmapBytes: 12, frames: 16, free: 20, hint: 24, usableAtInit: 28, reservedBelow: 32 });

/** `pfa_init`: EDI = header, ESI = boot info → EAX = free frames. Bit set = frame free. */
export function pfaInitService(ctx: NativeServiceContext): void {
  const read = reader(ctx);
  const header = ctx.getReg32(EDI);
  const e820 = readBootInfoE820(read, ctx.getReg32(ESI), []);
  const bitmap = new Uint8Array(PFA_BITMAP_BYTES);
  let free = 0;
  for (const r of e820) {
    if (r.type !== 1) continue;
    const first = Math.max(Math.ceil(r.base / 4096), PFA_RESERVED_BELOW / 4096);
    const last = Math.min(Math.floor((r.base + r.length) / 4096), PFA_FRAMES);
    for (let f = first; f < last; f++) {
      if ((bitmap[f >> 3] & (1 << (f & 7))) === 0) free++;
      bitmap[f >> 3] |= 1 << (f & 7);
    }
  }
  // Reserved ranges win over usable ones that overlap them.
  for (const r of e820) {
    if (r.type === 1) continue;
    const first = Math.floor(r.base / 4096);
    const last = Math.min(Math.ceil((r.base + r.length) / 4096), PFA_FRAMES);
    for (let f = first; f < last; f++) {
      if (bitmap[f >> 3] & (1 << (f & 7))) free--;
      bitmap[f >> 3] &= ~(1 << (f & 7));
    }
  }
  const h = new Uint8Array(64);
  const dv = dvOf(h);
  dv.setUint32(PfaOffsets.magic, PFA_MAGIC, true);
  dv.setUint32(PfaOffsets.version, 1, true);
  dv.setUint32(PfaOffsets.bitmap, PFA_BITMAP_ADDRESS, true);
  dv.setUint32(PfaOffsets.bitmapBytes, PFA_BITMAP_BYTES, true);
  dv.setUint32(PfaOffsets.frames, PFA_FRAMES, true);
  dv.setUint32(PfaOffsets.free, free, true);
  dv.setUint32(PfaOffsets.hint, PFA_RESERVED_BELOW / 4096, true);
  dv.setUint32(PfaOffsets.usableAtInit, free, true);
  dv.setUint32(PfaOffsets.reservedBelow, PFA_RESERVED_BELOW, true);
  ctx.writeBytes(PFA_BITMAP_ADDRESS, bitmap);
  ctx.writeBytes(header, h);
  ctx.setReg32(EAX, free);
}

/**
 * Takes one free frame from the allocator whose header is at `header` (guest memory): the code path
 * of `pfa_alloc`, shared with the kernel heap's growth. Returns the frame's physical address, 0 if none.
 */
export function pfaAllocFrame(ctx: NativeServiceContext, header: number): number {
  const h = ctx.readBytes(header, 64);
  const dv = dvOf(h);
  if (dv.getUint32(PfaOffsets.magic, true) !== PFA_MAGIC) return 0;
  const bitmap = dv.getUint32(PfaOffsets.bitmap, true);
  const frames = dv.getUint32(PfaOffsets.frames, true);
  let f = dv.getUint32(PfaOffsets.hint, true);
  const CHUNK = 4096;
  while (f < frames) {
    const byte0 = f >> 3;
    const chunk = ctx.readBytes(bitmap + byte0, Math.min(CHUNK, (frames >> 3) - byte0));
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === 0) continue;
      for (let bit = 0; bit < 8; bit++) {
        const frame = (byte0 + i) * 8 + bit;
        if (frame < f || (b & (1 << bit)) === 0) continue;
        ctx.writeBytes(bitmap + byte0 + i, [b & ~(1 << bit)]);
        dv.setUint32(PfaOffsets.free, dv.getUint32(PfaOffsets.free, true) - 1, true);
        dv.setUint32(PfaOffsets.hint, frame + 1, true);
        ctx.writeBytes(header, h);
        return frame * 4096;
      }
    }
    f = (byte0 + chunk.length) * 8;
  }
  return 0;
}

/** `pfa_alloc`: EDI = header → EAX = a free frame's physical address (now allocated), 0 if none. */
export function pfaAllocService(ctx: NativeServiceContext): void {
  ctx.setReg32(EAX, pfaAllocFrame(ctx, ctx.getReg32(EDI)));
}

// ---------------------------------------------------------------- kernel heap

export const HEAP_MAGIC = 0x50484c4c; // "LLHP"
/** Block header magics: a free block ("LLHF") and an allocated one ("LLHU"). */
export const HEAP_BLOCK_FREE = 0x46484c4c;
export const HEAP_BLOCK_USED = 0x55484c4c;
/** Bytes of a block header; payloads follow it and are 16-byte aligned. */
export const HEAP_BLOCK_HEADER = 16;
const HEAP_MIN_BLOCK = 32;
/** Kernel heap header (at `HEAP_ADDRESS`, u32 each). */
export const HeapOffsets = Object.freeze({ magic: 0, version: 4, pfa: 8, freeHead: 12, lowest: 16, highest: 20, frames: 24, freeBytes: 28, usedBlocks: 32, rejectedFrees: 36 });
/** Block header offsets (u32 each): magic, size (header included, multiple of 16), next free block (0 = end; 0 in used blocks), check = magic ^ address ^ size. */
export const HeapBlockOffsets = Object.freeze({ magic: 0, size: 4, next: 8, check: 12 });
const HEAP_HEADER_SIZE = 64;
const INVALID = 0xffffffff;

class HeapState {
  readonly h: Uint8Array;
  readonly dv: DataView;
  constructor(
    readonly ctx: NativeServiceContext,
    readonly at: number,
  ) {
    this.h = ctx.readBytes(at, HEAP_HEADER_SIZE);
    this.dv = dvOf(this.h);
  }
  get(o: number): number {
    return this.dv.getUint32(o, true);
  }
  set(o: number, v: number): void {
    this.dv.setUint32(o, v >>> 0, true);
  }
  save(): void {
    this.ctx.writeBytes(this.at, this.h);
  }
  readBlock(a: number): { magic: number; size: number; next: number; check: number } {
    const d = dvOf(this.ctx.readBytes(a, HEAP_BLOCK_HEADER));
    return { magic: d.getUint32(0, true), size: d.getUint32(4, true), next: d.getUint32(8, true), check: d.getUint32(12, true) };
  }
  writeBlock(a: number, magic: number, size: number, next: number): void {
    const b = new Uint8Array(HEAP_BLOCK_HEADER);
    const d = dvOf(b);
    d.setUint32(0, magic >>> 0, true);
    d.setUint32(4, size >>> 0, true);
    d.setUint32(8, next >>> 0, true);
    d.setUint32(12, (magic ^ a ^ size) >>> 0, true);
    this.ctx.writeBytes(a, b);
  }
  /** Inserts a free block in the address-ordered free list, merging it with adjacent free neighbours. */
  insertFree(a: number, size: number): void {
    let prev = 0;
    let cur = this.get(HeapOffsets.freeHead);
    while (cur !== 0 && cur < a) {
      prev = cur;
      cur = this.readBlock(cur).next;
    }
    let next = cur;
    if (next !== 0 && a + size === next) {
      const n = this.readBlock(next);
      size += n.size;
      this.ctx.writeBytes(next, new Uint8Array(HEAP_BLOCK_HEADER)); // no stale header inside a block
      next = n.next;
    }
    if (prev !== 0) {
      const p = this.readBlock(prev);
      if (prev + p.size === a) {
        this.writeBlock(prev, HEAP_BLOCK_FREE, p.size + size, next);
        this.ctx.writeBytes(a, new Uint8Array(HEAP_BLOCK_HEADER));
        return;
      }
      this.writeBlock(prev, HEAP_BLOCK_FREE, p.size, a);
    } else this.set(HeapOffsets.freeHead, a);
    this.writeBlock(a, HEAP_BLOCK_FREE, size, next);
  }
  /** Takes one frame from the page-frame allocator and adds it to the free list. */
  grow(): boolean {
    const frame = pfaAllocFrame(this.ctx, this.get(HeapOffsets.pfa));
    if (frame === 0) return false;
    const lowest = this.get(HeapOffsets.lowest);
    if (lowest === 0 || frame < lowest) this.set(HeapOffsets.lowest, frame);
    if (frame + 4096 > this.get(HeapOffsets.highest)) this.set(HeapOffsets.highest, frame + 4096);
    this.set(HeapOffsets.frames, this.get(HeapOffsets.frames) + 1);
    this.set(HeapOffsets.freeBytes, this.get(HeapOffsets.freeBytes) + 4096);
    this.insertFree(frame, 4096);
    return true;
  }
  /** First fit: splits the block when the rest can hold a block, returns the payload address or 0. */
  firstFit(need: number): number {
    let prev = 0;
    let cur = this.get(HeapOffsets.freeHead);
    while (cur !== 0) {
      const b = this.readBlock(cur);
      if (b.size >= need) {
        let next = b.next;
        let size = b.size;
        if (b.size - need >= HEAP_MIN_BLOCK) {
          this.writeBlock(cur + need, HEAP_BLOCK_FREE, b.size - need, b.next);
          next = cur + need;
          size = need;
        }
        if (prev === 0) this.set(HeapOffsets.freeHead, next);
        else {
          const p = this.readBlock(prev);
          this.writeBlock(prev, HEAP_BLOCK_FREE, p.size, next);
        }
        this.writeBlock(cur, HEAP_BLOCK_USED, size, 0);
        this.set(HeapOffsets.freeBytes, this.get(HeapOffsets.freeBytes) - size);
        this.set(HeapOffsets.usedBlocks, this.get(HeapOffsets.usedBlocks) + 1);
        return cur + HEAP_BLOCK_HEADER;
      }
      prev = cur;
      cur = b.next;
    }
    return 0;
  }
}

/** `heap_init`: EDI = heap header, ESI = page-frame allocator header → EAX = free heap bytes (one frame), 0 if none. */
export function heapInitService(ctx: NativeServiceContext): void {
  const at = ctx.getReg32(EDI);
  ctx.writeBytes(at, new Uint8Array(HEAP_HEADER_SIZE));
  const s = new HeapState(ctx, at);
  s.set(HeapOffsets.magic, HEAP_MAGIC);
  s.set(HeapOffsets.version, 1);
  s.set(HeapOffsets.pfa, ctx.getReg32(ESI));
  const ok = s.grow();
  s.save();
  ctx.setReg32(EAX, ok ? s.get(HeapOffsets.freeBytes) : 0);
}

/** `kmalloc`: EDI = heap header, ECX = size → EAX = 16-byte-aligned address (first fit, growing by frames), 0 if none. */
export function kmallocService(ctx: NativeServiceContext): void {
  const size = ctx.getReg32(ECX);
  const s = new HeapState(ctx, ctx.getReg32(EDI));
  if (s.get(HeapOffsets.magic) !== HEAP_MAGIC || size === 0 || size > HEAP_MAX_ALLOC) {
    ctx.setReg32(EAX, 0);
    return;
  }
  const need = Math.max(HEAP_MIN_BLOCK, HEAP_BLOCK_HEADER + ((size + 15) & ~15));
  let p = s.firstFit(need);
  // Grow one frame at a time; consecutive frames coalesce into one block. Bounded: never more than
  // twice the frames the request needs (a fragmented frame supply gives up rather than hoarding).
  for (let tries = 2 * Math.ceil(need / 4096); p === 0 && tries > 0; tries--) {
    if (!s.grow()) break;
    p = s.firstFit(need);
  }
  s.save();
  ctx.setReg32(EAX, p);
}

/** `kfree`: EDI = heap header, ESI = address → EAX = 0 freed, 0xFFFFFFFF rejected (double free, wild pointer, bad magic; nothing written but the rejection count). */
export function kfreeService(ctx: NativeServiceContext): void {
  const s = new HeapState(ctx, ctx.getReg32(EDI));
  const p = ctx.getReg32(ESI);
  if (s.get(HeapOffsets.magic) !== HEAP_MAGIC) {
    ctx.setReg32(EAX, INVALID);
    return;
  }
  const a = p - HEAP_BLOCK_HEADER;
  const lowest = s.get(HeapOffsets.lowest);
  const highest = s.get(HeapOffsets.highest);
  let ok = (p & 15) === 0 && lowest !== 0 && a >= lowest && p < highest;
  if (ok) {
    const b = s.readBlock(a);
    ok = b.magic === HEAP_BLOCK_USED && b.check === ((b.magic ^ a ^ b.size) >>> 0) && b.size >= HEAP_MIN_BLOCK && (b.size & 15) === 0 && a + b.size <= highest;
    if (ok) {
      s.insertFree(a, b.size);
      s.set(HeapOffsets.freeBytes, s.get(HeapOffsets.freeBytes) + b.size);
      s.set(HeapOffsets.usedBlocks, s.get(HeapOffsets.usedBlocks) - 1);
    }
  }
  if (!ok) s.set(HeapOffsets.rejectedFrees, s.get(HeapOffsets.rejectedFrees) + 1);
  s.save();
  ctx.setReg32(EAX, ok ? 0 : INVALID);
}

/** Registers the root OS services (numbers in {@link RootOsServices}) in a machine's registry. */
export function registerRootOsServices(registry: NativeServiceRegistry): NativeServiceRegistry {
  registry.register(RootOsServices.DISCOVER, 'root-os.discover', discoverService, 'ACPI + E820 discovery into the inventory');
  registry.register(RootOsServices.PFA_INIT, 'root-os.pfa-init', pfaInitService, 'page-frame bitmap from the E820 map');
  registry.register(RootOsServices.PFA_ALLOC, 'root-os.pfa-alloc', pfaAllocService, 'allocate one 4 KiB frame');
  registry.register(RootOsServices.HEAP_INIT, 'root-os.heap-init', heapInitService, 'kernel heap over page frames');
  registry.register(RootOsServices.KMALLOC, 'root-os.kmalloc', kmallocService, 'allocate from the kernel heap');
  registry.register(RootOsServices.KFREE, 'root-os.kfree', kfreeService, 'free to the kernel heap');
  return registry;
}
