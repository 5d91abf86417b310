import { ErrorCodes, InvalidArgumentError } from '@latelaunch/kernel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SparseMemory, type RamRange } from '../src/index.js';

const G = 2 ** 32;
/** RAM: [0, 64 KiB), hole, [1 MiB, 1 MiB + 64 KiB), [4 GiB, 4 GiB + 64 KiB), [2^51, 2^51 + 8 KiB). */
const RANGES: RamRange[] = [
  { base: 0, size: 0x10000 },
  { base: 0x100000, size: 0x10000 },
  { base: G, size: 0x10000 },
  { base: 2 ** 51, size: 0x2000 },
];

/** Reference model: a Map of bytes over the same ranges. */
class RefMemory {
  private bytes = new Map<number, number>();
  constructor(private readonly ranges: readonly RamRange[]) {}
  isRam(a: number) {
    return this.ranges.some((r) => a >= r.base && a < r.base + r.size);
  }
  read(a: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + (this.isRam(a + i) ? (this.bytes.get(a + i) ?? 0) : 0xff);
    return v;
  }
  write(a: number, size: number, value: number) {
    for (let i = 0; i < size; i++) if (this.isRam(a + i)) this.bytes.set(a + i, Math.floor(value / 2 ** (8 * i)) % 256);
  }
  clone() {
    const r = new RefMemory(this.ranges);
    r.bytes = new Map(this.bytes);
    return r;
  }
}

/** Addresses near the interesting edges: page boundaries, range ends, holes, high memory. */
const interesting = [0, 0xffc, 0xffd, 0xffe, 0xfff, 0x1000, 0x7ffe, 0xfffc, 0xfffe, 0xffff, 0x10000, 0x10001, 0xffffd, 0xfffff, 0x100000, 0x100ffd, 0x10fffe, 0x110000];
const addressArb = fc.oneof(
  fc.constantFrom(...interesting),
  fc.constantFrom(...interesting).map((a) => a + G),
  fc.integer({ min: 0, max: 0x1ffff }),
  fc.integer({ min: 0xfff00, max: 0x111000 }),
  fc.integer({ min: G - 8, max: G + 0x10008 }),
  fc.integer({ min: 2 ** 51 - 8, max: 2 ** 51 + 0x2008 }),
);
const sizeArb = fc.constantFrom(1, 2, 4, 8);
const opArb = fc.record({ write: fc.boolean(), addr: addressArb, size: sizeArb, value: fc.integer({ min: 0, max: 0xffffffff }), hi: fc.integer({ min: 0, max: 0xffffffff }) });

function doRead(m: SparseMemory, addr: number, size: number): number | bigint {
  switch (size) {
    case 1:
      return m.read8(addr);
    case 2:
      return m.read16(addr);
    case 4:
      return m.read32(addr);
    default:
      return m.read64(addr);
  }
}
function doWrite(m: SparseMemory, addr: number, size: number, value: number, hi: number) {
  switch (size) {
    case 1:
      return m.write8(addr, value & 0xff);
    case 2:
      return m.write16(addr, value & 0xffff);
    case 4:
      return m.write32(addr, value);
    default:
      return m.write64(addr, (BigInt(hi) << 32n) | BigInt(value));
  }
}
function refRead(r: RefMemory, addr: number, size: number): number | bigint {
  if (size === 8) return (BigInt(r.read(addr + 4, 4)) << 32n) | BigInt(r.read(addr, 4));
  return r.read(addr, size);
}
function refWrite(r: RefMemory, addr: number, size: number, value: number, hi: number) {
  if (size === 8) {
    r.write(addr, 4, value);
    r.write(addr + 4, 4, hi);
  } else r.write(addr, size, value % 2 ** (8 * size));
}

describe('SparseMemory: holes and defaults', () => {
  it('reads zero from never-written RAM without materialising pages', () => {
    const m = new SparseMemory({ ranges: RANGES });
    expect(m.read8(0x1234)).toBe(0);
    expect(m.read32(0x100000)).toBe(0);
    expect(m.read64(G + 8)).toBe(0n);
    expect(m.residentPages()).toBe(0);
  });

  it('reads all-ones from holes and beyond RAM, and drops writes there', () => {
    const m = new SparseMemory({ ranges: RANGES });
    for (const a of [0x10000, 0x50000, 0xff000, 0x110000, G - 16, G + 0x10000, 2 ** 40]) {
      m.write32(a, 0x12345678);
      m.write8(a, 0);
      expect(m.read8(a)).toBe(0xff);
      expect(m.read16(a)).toBe(0xffff);
      expect(m.read32(a)).toBe(0xffffffff);
      expect(m.read64(a)).toBe(0xffffffffffffffffn);
    }
    expect(m.residentPages()).toBe(0);
  });

  it('splits an access that straddles RAM and a hole byte by byte', () => {
    const m = new SparseMemory({ ranges: RANGES });
    m.write32(0xfffe, 0xaabbccdd); // two bytes in RAM, two in the hole
    expect(m.read8(0xfffe)).toBe(0xdd);
    expect(m.read8(0xffff)).toBe(0xcc);
    expect(m.read32(0xfffe)).toBe(0xffffccdd);
    expect(m.read16(0xffff)).toBe(0xffcc);
  });

  it('is little-endian for every width', () => {
    const m = new SparseMemory({ ranges: RANGES });
    m.write64(0x100, 0x0807060504030201n);
    expect([...m.readBytes(0x100, 8)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(m.read16(0x101)).toBe(0x0302);
    expect(m.read32(0x102)).toBe(0x06050403);
    m.write16(0x200, 0xbeef);
    expect(m.read8(0x200)).toBe(0xef);
    m.write32(0x300, -1);
    expect(m.read32(0x300)).toBe(0xffffffff);
    const out = new Uint32Array(2);
    m.read64Pair(0x100, out);
    expect([...out]).toEqual([0x04030201, 0x08070605]);
    m.write64Pair(0x400, 0x11223344, 0x55667788);
    expect(m.read64(0x400)).toBe(0x5566778811223344n);
  });

  it('handles page-crossing accesses in low and high memory', () => {
    const m = new SparseMemory({ ranges: RANGES });
    for (const base of [0, G, 2 ** 51]) {
      m.write64(base + 0xffd, 0x1122334455667788n);
      expect(m.read64(base + 0xffd)).toBe(0x1122334455667788n);
      expect(m.read32(base + 0xfff)).toBe(0x33445566);
      expect(m.read8(base + 0x1000)).toBe(0x55);
    }
  });

  it('rejects malformed configs and addresses with typed errors', () => {
    const bad = [
      { ranges: [{ base: 0x800, size: 0x1000 }] },
      { ranges: [{ base: 0, size: 0 }] },
      { ranges: [{ base: 0, size: 0x2000 }, { base: 0x1000, size: 0x1000 }] },
      { ranges: [{ base: 2 ** 52, size: 0x1000 }] },
      { ranges: [{ base: 0.5, size: 0x1000 }] },
      {} as { ranges: RamRange[] },
    ];
    for (const c of bad) {
      try {
        new SparseMemory(c);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidArgumentError);
        expect((e as InvalidArgumentError).code).toBe(ErrorCodes.InvalidArgument);
      }
    }
    const m = new SparseMemory({ ranges: RANGES });
    expect(() => m.read8(-1)).toThrow(InvalidArgumentError);
    expect(() => m.write32(2 ** 52, 0)).toThrow(InvalidArgumentError);
    expect(() => m.read8(1.5)).toThrow(InvalidArgumentError);
  });

  it('merges adjacent ranges', () => {
    const m = new SparseMemory({ ranges: [{ base: 0x2000, size: 0x1000 }, { base: 0, size: 0x2000 }] });
    expect(m.layout.ranges).toEqual([{ base: 0, size: 0x3000 }]);
    m.write32(0x1ffe, 0x01020304);
    expect(m.read32(0x1ffe)).toBe(0x01020304);
  });

  it('bulk writeBytes/readBytes/fill cross pages and holes', () => {
    const m = new SparseMemory({ ranges: RANGES });
    const data = Uint8Array.from({ length: 10000 }, (_, i) => i & 0xff);
    m.writeBytes(0xe000, data); // runs past 0x10000 into the hole
    const back = m.readBytes(0xe000, 10000);
    expect([...back.subarray(0, 0x2000)]).toEqual([...data.subarray(0, 0x2000)]);
    expect(back.subarray(0x2000).every((b) => b === 0xff)).toBe(true);
    m.fill(0xeff0, 0x20, 0xaa);
    expect(m.read32(0xeffe)).toBe(0xaaaaaaaa);
    m.fill(0x3000, 0x3000, 0); // zero fill of untouched pages allocates nothing
    expect(m.residentPages()).toBe(2);
    expect(m.isBacked(0xf000, 0x1000)).toBe(true);
    expect(m.isBacked(0xf000, 0x1001)).toBe(false);
  });
});

describe('SparseMemory: property-based against a Map of bytes', () => {
  it('every read agrees with the reference model after any sequence of accesses', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 120 }), (ops) => {
        const m = new SparseMemory({ ranges: RANGES });
        const ref = new RefMemory(RANGES);
        for (const op of ops) {
          if (op.write) {
            doWrite(m, op.addr, op.size, op.value, op.hi);
            refWrite(ref, op.addr, op.size, op.value, op.hi);
          } else expect(doRead(m, op.addr, op.size)).toBe(refRead(ref, op.addr, op.size));
        }
        for (const op of ops) for (const size of [1, 2, 4, 8]) expect(doRead(m, op.addr, size)).toBe(refRead(ref, op.addr, size));
      }),
      { numRuns: 300, seed: 0x5eed },
    );
  });
});

describe('SparseMemory: page arrays for the interpreter', () => {
  it('getPageForRead returns the shared zero page, the live page, or null for holes', () => {
    const m = new SparseMemory({ ranges: RANGES });
    const zero = m.getPageForRead(3)!;
    expect(zero.length).toBe(4096);
    expect(zero.every((b) => b === 0)).toBe(true);
    expect(m.getPageForRead(0x10)).toBeNull(); // hole at 64 KiB
    expect(m.getPageForRead(G / 4096 + 0x10)).toBeNull();
    m.write8(0x3004, 7);
    expect(m.getPageForRead(3)![4]).toBe(7);
  });

  it('getPageForWrite returns an owned array whose writes are visible to reads', () => {
    const m = new SparseMemory({ ranges: RANGES });
    const p = m.getPageForWrite(0x100)!;
    p[0x10] = 0x5a;
    expect(m.read8(0x100010)).toBe(0x5a);
    expect(m.getPageForWrite(0x100)).toBe(p);
    expect(m.getPageForWrite(0x10)).toBeNull();
    expect(() => m.getPageForWrite(-1)).toThrow(InvalidArgumentError);
  });

  it('epoch changes when a cached array goes stale (materialise, snapshot, restore, fork, code mark)', () => {
    const m = new SparseMemory({ ranges: RANGES });
    let e = m.epoch;
    const changed = () => {
      const c = m.epoch !== e;
      e = m.epoch;
      return c;
    };
    m.read32(0);
    expect(changed()).toBe(false);
    m.write32(0, 1); // materialises
    expect(changed()).toBe(true);
    m.write32(4, 1); // owned page, nothing stale
    expect(changed()).toBe(false);
    const s = m.snapshot();
    expect(changed()).toBe(true);
    m.write32(0, 2); // copy-on-write
    expect(changed()).toBe(true);
    m.restore(s);
    expect(changed()).toBe(true);
    m.fork();
    expect(changed()).toBe(true);
    m.markCodePage(0);
    expect(changed()).toBe(true);
    m.markCodePage(0); // already marked
    expect(changed()).toBe(false);
  });
});

describe('SparseMemory: code-page write notification', () => {
  it('notifies once per marked page on the first write, through every write path', () => {
    const m = new SparseMemory({ ranges: RANGES });
    const seen: number[] = [];
    m.onCodePageWrite((pfn) => seen.push(pfn));
    m.write32(0x2000, 0x90909090); // materialised before marking
    m.markCodePage(2);
    m.markCodePage(5); // never written
    m.markCodePage(G / 4096); // high page
    expect(m.isCodePage(2) && m.isCodePage(5) && m.isCodePage(G / 4096)).toBe(true);
    m.read32(0x2000);
    m.write8(0x1fff, 1); // neighbour page: nothing
    expect(seen).toEqual([]);
    m.write8(0x2001, 0xcc);
    expect(seen).toEqual([2]);
    m.write8(0x2002, 0xcc); // mark was cleared
    expect(seen).toEqual([2]);
    m.write64(0x4ffc, 1n); // crosses into page 5
    expect(seen).toEqual([2, 5]);
    m.writeBytes(G + 10, new Uint8Array([1]));
    expect(seen).toEqual([2, 5, G / 4096]);
    expect(m.codePages()).toEqual([]);
    // Re-marking re-arms; getPageForWrite notifies too.
    m.markCodePage(2);
    m.getPageForWrite(2);
    expect(seen).toEqual([2, 5, G / 4096, 2]);
  });

  it('unmark disarms without notification; writes to holes never notify', () => {
    const m = new SparseMemory({ ranges: RANGES });
    const seen: number[] = [];
    const off = m.onCodePageWrite((pfn) => seen.push(pfn));
    m.markCodePage(1);
    m.unmarkCodePage(1);
    m.write8(0x1000, 1);
    m.markCodePage(0x20); // a hole page
    m.write8(0x20000, 1);
    expect(seen).toEqual([]);
    m.markCodePage(1);
    off();
    m.write8(0x1000, 2);
    expect(seen).toEqual([]);
  });

  it('restore notifies code pages whose contents differ from the snapshot', () => {
    const m = new SparseMemory({ ranges: RANGES });
    const seen: number[] = [];
    m.onCodePageWrite((pfn) => seen.push(pfn));
    m.write8(0x1000, 1);
    m.write8(0x3000, 1);
    const s = m.snapshot();
    m.markCodePage(1);
    m.markCodePage(3);
    m.unmarkCodePage(3);
    m.write8(0x3000, 2); // changed but not marked any more
    m.markCodePage(3);
    m.restore(s);
    expect(seen).toEqual([3]); // page 1 is unchanged: still marked
    expect(m.isCodePage(1)).toBe(true);
    expect(m.isCodePage(3)).toBe(false);
  });
});
