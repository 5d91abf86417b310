import 'reflect-metadata';
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import type { NativeServiceContext } from '@latelaunch/machine-x86';
import {
  createRootOsMachine,
  HEAP_ADDRESS,
  HEAP_BLOCK_FREE,
  HEAP_BLOCK_HEADER,
  HEAP_BLOCK_USED,
  HEAP_MAGIC,
  HeapOffsets,
  kfreeService,
  kmallocService,
  PFA_ADDRESS,
  PFA_BITMAP_ADDRESS,
  PFA_RESERVED_BELOW,
  PfaOffsets,
  RootOsServices,
  type RootOsMachine,
  type RootOsMode,
} from '../src/index.js';

const INVALID = 0xffffffff;

function boot(mode: RootOsMode): RootOsMachine {
  const rm = createRootOsMachine({ mode });
  expect(rm.run().reason).toBe('all-halted');
  return rm;
}

/** A native-service context over the machine's (identity-mapped) memory, as the `native` instruction gives one. */
function contextOf(rm: RootOsMachine): { ctx: NativeServiceContext; regs: number[] } {
  const regs = new Array<number>(16).fill(0);
  const mem = rm.machine.memory;
  const ctx: NativeServiceContext = {
    service: 0,
    name: 'test',
    cpu: 0,
    bits: 32,
    getReg: (r) => BigInt(regs[r]),
    setReg: (r, v) => {
      regs[r] = Number(v & 0xffffffffn);
    },
    getReg32: (r) => regs[r] >>> 0,
    setReg32: (r, v) => {
      regs[r] = v >>> 0;
    },
    readBytes: (a, n) => mem.readBytes(Number(a), n),
    writeBytes: (a, b) => mem.writeBytes(Number(a), Uint8Array.from(b)),
    readString: () => '',
    trace: () => undefined,
  };
  return { ctx, regs };
}

/** Drives the heap services the way the OS does: EDI = header, ECX = size / ESI = address → EAX. */
function heapOf(rm: RootOsMachine) {
  const { ctx, regs } = contextOf(rm);
  return {
    kmalloc(size: number): number {
      regs[7] = HEAP_ADDRESS;
      regs[1] = size;
      kmallocService(ctx);
      return regs[0] >>> 0;
    },
    kfree(address: number): number {
      regs[7] = HEAP_ADDRESS;
      regs[6] = address;
      kfreeService(ctx);
      return regs[0] >>> 0;
    },
  };
}

/** The free list as [address, size] pairs, walking the block headers in guest memory. */
function freeList(rm: RootOsMachine): [number, number][] {
  const mem = rm.machine.memory;
  const out: [number, number][] = [];
  for (let b = mem.read32(HEAP_ADDRESS + HeapOffsets.freeHead); b !== 0 && out.length < 100000; b = mem.read32(b + 8)) {
    expect(mem.read32(b)).toBe(HEAP_BLOCK_FREE);
    out.push([b, mem.read32(b + 4)]);
  }
  return out;
}

function frameIsUsed(rm: RootOsMachine, address: number): boolean {
  const f = address / 4096;
  return (rm.machine.memory.read8(PFA_BITMAP_ADDRESS + (f >> 3)) & (1 << (f & 7))) === 0;
}

describe.each(['long', 'protected'] as const)('kernel heap (%s)', (mode) => {
  test('the boot code initialises the heap after the page-frame allocator', () => {
    const rm = boot(mode);
    const mem = rm.machine.memory;
    expect(rm.console()).toBe('boot\ndiscovered\n');
    expect(mem.read32(HEAP_ADDRESS + HeapOffsets.magic)).toBe(HEAP_MAGIC);
    expect(mem.read32(HEAP_ADDRESS + HeapOffsets.pfa)).toBe(PFA_ADDRESS);
    expect(mem.read32(HEAP_ADDRESS + HeapOffsets.frames)).toBe(1);
    expect(mem.read32(rm.image.symbols.heap_free_at_init)).toBe(4096);
    // first_frame was the first frame above the reserved area; the heap took the next one
    const frame = PFA_RESERVED_BELOW + 4096;
    expect(mem.read32(HEAP_ADDRESS + HeapOffsets.lowest)).toBe(frame);
    expect(frameIsUsed(rm, frame)).toBe(true);
    expect(freeList(rm)).toEqual([[frame, 4096]]);
    expect([RootOsServices.HEAP_INIT, RootOsServices.KMALLOC, RootOsServices.KFREE]).toEqual([0x703, 0x704, 0x705]);
  });

  test('allocations are 16-byte aligned, in the heap, headed by a used block', () => {
    const rm = boot(mode);
    const h = heapOf(rm);
    for (const size of [1, 15, 16, 17, 100, 4000]) {
      const p = h.kmalloc(size);
      expect(p).not.toBe(0);
      expect(p % 16).toBe(0);
      expect(rm.machine.memory.read32(p - HEAP_BLOCK_HEADER)).toBe(HEAP_BLOCK_USED);
      expect(rm.machine.memory.read32(p - HEAP_BLOCK_HEADER + 4)).toBeGreaterThanOrEqual(size + HEAP_BLOCK_HEADER);
    }
    expect(h.kmalloc(0)).toBe(0);
    expect(h.kmalloc(0x100001)).toBe(0);
  });

  test('growth takes frames through the allocator header (marked used in the bitmap) and coalesces', () => {
    const rm = boot(mode);
    const mem = rm.machine.memory;
    const h = heapOf(rm);
    const pfaFree = mem.read32(PFA_ADDRESS + PfaOffsets.free);
    const ptrs = Array.from({ length: 10 }, () => h.kmalloc(3000));
    expect(ptrs.every((p) => p !== 0)).toBe(true);
    const frames = mem.read32(HEAP_ADDRESS + HeapOffsets.frames);
    expect(frames).toBeGreaterThanOrEqual(8);
    expect(mem.read32(PFA_ADDRESS + PfaOffsets.free)).toBe(pfaFree - (frames - 1));
    const lowest = mem.read32(HEAP_ADDRESS + HeapOffsets.lowest);
    for (let i = 0; i < frames; i++) expect(frameIsUsed(rm, lowest + i * 4096)).toBe(true);
    // a request bigger than a frame: consecutive frames coalesce into one block
    const big = h.kmalloc(20000);
    expect(big).not.toBe(0);
    for (const p of [...ptrs, big]) expect(h.kfree(p)).toBe(0);
    const total = mem.read32(HEAP_ADDRESS + HeapOffsets.frames) * 4096;
    expect(freeList(rm)).toEqual([[lowest, total]]);
    expect(mem.read32(HEAP_ADDRESS + HeapOffsets.freeBytes)).toBe(total);
    expect(mem.read32(HEAP_ADDRESS + HeapOffsets.usedBlocks)).toBe(0);
  });

  test('invalid frees (double free, wild pointer, bad magic, misaligned) are rejected without touching the heap', () => {
    const rm = boot(mode);
    const mem = rm.machine.memory;
    const h = heapOf(rm);
    const a = h.kmalloc(64);
    const b = h.kmalloc(64);
    const c = h.kmalloc(64);
    expect(h.kfree(b)).toBe(0);
    const state = () => JSON.stringify({ list: freeList(rm), header: [...mem.readBytes(HEAP_ADDRESS, 36)], heap: [...mem.readBytes(mem.read32(HEAP_ADDRESS + HeapOffsets.lowest), 4096)] });
    const before = state();
    expect(h.kfree(b)).toBe(INVALID); // double free
    expect(h.kfree(a + 16)).toBe(INVALID); // inside a block
    expect(h.kfree(a + 4)).toBe(INVALID); // misaligned
    expect(h.kfree(0)).toBe(INVALID);
    expect(h.kfree(0x12345670)).toBe(INVALID); // wild pointer outside the heap
    expect(h.kfree(0xfffffff0)).toBe(INVALID);
    expect(state()).toBe(before);
    mem.write32(c - HEAP_BLOCK_HEADER, 0xdeadbeef); // bad magic
    const beforeBad = state();
    expect(h.kfree(c)).toBe(INVALID);
    expect(state()).toBe(beforeBad);
    mem.write32(c - HEAP_BLOCK_HEADER, HEAP_BLOCK_USED);
    mem.write32(c - HEAP_BLOCK_HEADER + 4, 0x40000); // size no longer matches the check word
    expect(h.kfree(c)).toBe(INVALID);
    expect(mem.read32(HEAP_ADDRESS + HeapOffsets.rejectedFrees)).toBe(8);
    // the free list is untouched by every rejection
    expect(freeList(rm)).toEqual((JSON.parse(before) as { list: [number, number][] }).list);
    expect(h.kfree(a)).toBe(0);
  });

  test('property: a seeded model of kmalloc/kfree sequences — no overlap, alignment, coalescing', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ op: fc.constant('alloc' as const), size: fc.integer({ min: 1, max: 6000 }) }), fc.record({ op: fc.constant('free' as const), pick: fc.nat() })), { minLength: 1, maxLength: 120 }),
        (ops) => {
          const rm = boot(mode);
          const h = heapOf(rm);
          const live = new Map<number, number>(); // address → size
          for (const o of ops) {
            if (o.op === 'alloc') {
              const p = h.kmalloc(o.size);
              expect(p).not.toBe(0);
              expect(p % 16).toBe(0);
              for (const [q, n] of live) expect(p + o.size <= q || q + n <= p).toBe(true);
              live.set(p, o.size);
            } else if (live.size > 0) {
              const keys = [...live.keys()];
              const p = keys[o.pick % keys.length];
              expect(h.kfree(p)).toBe(0);
              live.delete(p);
              expect(h.kfree(p)).toBe(INVALID);
            }
          }
          for (const p of live.keys()) expect(h.kfree(p)).toBe(0);
          const mem = rm.machine.memory;
          const frames = mem.read32(HEAP_ADDRESS + HeapOffsets.frames);
          expect(freeList(rm)).toEqual([[mem.read32(HEAP_ADDRESS + HeapOffsets.lowest), frames * 4096]]);
        },
      ),
      { seed: 0x7e4, numRuns: 15 },
    );
  });

  test('the heap state lives in guest memory: a snapshot + restore brings back the exact heap', () => {
    const rm = boot(mode);
    const mem = rm.machine.memory;
    const h = heapOf(rm);
    const ptrs = [100, 5000, 48, 700].map((n) => h.kmalloc(n));
    h.kfree(ptrs[1]);
    const lowest = mem.read32(HEAP_ADDRESS + HeapOffsets.lowest);
    const image = () => JSON.stringify({ header: [...mem.readBytes(HEAP_ADDRESS, 64)], pfa: [...mem.readBytes(PFA_ADDRESS, 64)], heap: [...mem.readBytes(lowest, 4 * 4096)], list: freeList(rm) });
    const snap = rm.machine.snapshot();
    const before = image();
    const next = h.kmalloc(200);
    for (const p of ptrs) h.kfree(p);
    h.kmalloc(30000);
    expect(image()).not.toBe(before);
    rm.machine.restore(snap);
    expect(image()).toBe(before);
    // and the restored heap behaves exactly as the original did
    expect(h.kmalloc(200)).toBe(next);
  });
});
