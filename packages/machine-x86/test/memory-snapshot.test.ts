import { InvalidArgumentError } from '@latelaunch/kernel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemorySnapshot, SparseMemory, type RamRange } from '../src/index.js';

const G = 2 ** 32;
const RANGES: RamRange[] = [
  { base: 0, size: 0x400000 }, // 4 MiB: spans one full leaf
  { base: 0x800000, size: 0x1000 },
  { base: G, size: 0x10000 },
];

describe('snapshot / restore', () => {
  it('restore returns to the snapshot contents; writes after restore do not leak into the snapshot', () => {
    const m = new SparseMemory({ ranges: RANGES });
    m.write32(0x1000, 1);
    m.write32(G, 10);
    const s1 = m.snapshot();
    m.write32(0x1000, 2);
    m.write32(0x2000, 3);
    m.write32(G, 20);
    const s2 = m.snapshot();
    m.write32(0x1000, 4);

    m.restore(s1);
    expect([m.read32(0x1000), m.read32(0x2000), m.read32(G)]).toEqual([1, 0, 10]);
    m.write32(0x1000, 99); // must copy, not modify the page s1 shares
    m.write32(0x2000, 98);
    m.restore(s1);
    expect([m.read32(0x1000), m.read32(0x2000)]).toEqual([1, 0]);
    m.restore(s2);
    expect([m.read32(0x1000), m.read32(0x2000), m.read32(G)]).toEqual([2, 3, 20]);
    m.restore(s2);
    expect(m.read32(0x1000)).toBe(2);
  });

  it('writes through page arrays obtained before a snapshot are not allowed to reach it (fresh array after)', () => {
    const m = new SparseMemory({ ranges: RANGES });
    const before = m.getPageForWrite(1)!;
    before[0] = 1;
    const s = m.snapshot();
    const after = m.getPageForWrite(1)!;
    expect(after).not.toBe(before); // copied for the new generation
    after[0] = 2;
    m.restore(s);
    expect(m.read8(0x1000)).toBe(1);
  });

  it('snapshots are frozen handles; foreign snapshots are refused', () => {
    const m = new SparseMemory({ ranges: RANGES });
    const s = m.snapshot();
    expect(Object.isFrozen(s)).toBe(true);
    const other = new SparseMemory({ ranges: RANGES });
    expect(() => other.restore(s)).toThrow(InvalidArgumentError);
    expect(() => m.restore({} as MemorySnapshot)).toThrow(InvalidArgumentError);
    expect(() => m.loadState(42)).toThrow(InvalidArgumentError);
  });

  it('saveState/loadState are snapshot/restore; clear() forgets everything', () => {
    const m = new SparseMemory({ ranges: RANGES });
    m.write8(5, 5);
    const st = m.saveState();
    m.clear();
    expect(m.read8(5)).toBe(0);
    expect(m.residentPages()).toBe(0);
    m.loadState(st);
    expect(m.read8(5)).toBe(5);
  });

  it('takes thousands of snapshots cheaply and restores any of them exactly', () => {
    const m = new SparseMemory({ ranges: RANGES });
    const snaps: MemorySnapshot[] = [];
    const N = 5000;
    const addr = (i: number) => 0x1000 + ((i * 2654435761) % 0x3f00) * 256; // scattered over 4 MiB, never page 0
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      m.write32(addr(i), i + 1);
      m.write32(0, i);
      snaps.push(m.snapshot());
    }
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeLessThan(5000);
    // Only pages actually written exist: snapshots share everything else.
    expect(m.residentPages()).toBeLessThanOrEqual(new Set(Array.from({ length: N }, (_, i) => Math.floor(addr(i) / 4096))).size + 1);
    for (const i of [0, 1, 17, 999, 2500, N - 1, 3]) {
      m.restore(snaps[i]);
      expect(m.read32(0)).toBe(i);
      expect(m.read32(addr(i))).toBe(i + 1);
      if (i + 1 < N) {
        // The next write's address holds whatever the latest earlier write put there.
        let expected = 0;
        for (let j = 0; j <= i; j++) if (addr(j) === addr(i + 1)) expected = j + 1;
        expect(m.read32(addr(i + 1))).toBe(expected);
      }
      m.write32(0, 0xdead); // diverge, then check the snapshot is intact on the next round
    }
    m.restore(snaps[17]);
    expect(m.read32(0)).toBe(17);
  });
});

describe('fork', () => {
  it('produces an independent memory sharing pages copy-on-write', () => {
    const parent = new SparseMemory({ ranges: RANGES });
    parent.write32(0x1000, 1);
    parent.write32(G + 4, 7);
    const child = parent.fork();
    expect(child.read32(0x1000)).toBe(1);
    expect(child.read32(G + 4)).toBe(7);
    child.write32(0x1000, 2);
    parent.write32(0x1000, 3);
    child.write32(0x3000, 4);
    expect([parent.read32(0x1000), child.read32(0x1000)]).toEqual([3, 2]);
    expect([parent.read32(0x3000), child.read32(0x3000)]).toEqual([0, 4]);
    expect(child.read32(0x10000000)).toBe(0xffffffff); // same layout: hole
  });

  it('snapshots move between a memory and its forks', () => {
    const a = new SparseMemory({ ranges: RANGES });
    a.write8(1, 1);
    const s = a.snapshot();
    const b = a.fork();
    b.write8(1, 2);
    a.write8(1, 3);
    const sb = b.snapshot();
    a.restore(sb);
    expect(a.read8(1)).toBe(2);
    b.restore(s);
    expect(b.read8(1)).toBe(1);
    a.write8(1, 9);
    expect(b.read8(1)).toBe(1);
  });

  it('forks do not inherit code marks or listeners', () => {
    const a = new SparseMemory({ ranges: RANGES });
    const seen: number[] = [];
    a.onCodePageWrite((p) => seen.push(p));
    a.markCodePage(1);
    const b = a.fork();
    expect(b.isCodePage(1)).toBe(false);
    b.write8(0x1000, 1);
    expect(seen).toEqual([]);
    a.write8(0x1000, 1);
    expect(seen).toEqual([1]);
  });
});

describe('property: snapshot/restore/fork agree with cloned reference models', () => {
  type Op =
    | { kind: 'write'; addr: number; value: number; size: 1 | 4 }
    | { kind: 'snap' }
    | { kind: 'restore'; which: number }
    | { kind: 'fork' }
    | { kind: 'switch'; which: number };
  const addr = fc.oneof(fc.integer({ min: 0, max: 0x400003 }), fc.integer({ min: G - 4, max: G + 0x10004 }), fc.constantFrom(0xffe, 0x3ffffe, 0x800ffe));
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('write' as const), addr, value: fc.integer({ min: 0, max: 0xffffffff }), size: fc.constantFrom(1 as const, 4 as const) }) },
    { weight: 2, arbitrary: fc.constant({ kind: 'snap' as const }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('restore' as const), which: fc.nat() }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'fork' as const }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('switch' as const), which: fc.nat() }) },
  );

  it('holds for random op sequences', () => {
    const isRam = (a: number) => RANGES.some((r) => a >= r.base && a < r.base + r.size);
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.array(addr, { minLength: 5, maxLength: 20 }), (ops, probes) => {
        const mems = [new SparseMemory({ ranges: RANGES })];
        const refs = [new Map<number, number>()];
        const snaps: { s: MemorySnapshot; ref: Map<number, number> }[] = [];
        let cur = 0;
        for (const o of ops) {
          const m = mems[cur];
          if (o.kind === 'write') {
            if (o.size === 1) m.write8(o.addr, o.value & 0xff);
            else m.write32(o.addr, o.value);
            for (let i = 0; i < o.size; i++) if (isRam(o.addr + i)) refs[cur].set(o.addr + i, (o.value >>> (8 * i)) & 0xff);
          } else if (o.kind === 'snap') snaps.push({ s: m.snapshot(), ref: new Map(refs[cur]) });
          else if (o.kind === 'restore' && snaps.length) {
            const { s, ref } = snaps[o.which % snaps.length];
            m.restore(s);
            refs[cur] = new Map(ref);
          } else if (o.kind === 'fork') {
            mems.push(m.fork());
            refs.push(new Map(refs[cur]));
          } else if (o.kind === 'switch') cur = o.which % mems.length;
        }
        mems.forEach((m, k) => {
          for (const p of [...probes, ...[...refs[k].keys()].slice(0, 50)]) {
            expect(m.read8(p)).toBe(isRam(p) ? (refs[k].get(p) ?? 0) : 0xff);
          }
        });
      }),
      { numRuns: 200, seed: 42 },
    );
  });
});
