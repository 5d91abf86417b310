import { ErrorCodes } from '@latelaunch/kernel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ImageFormatError, SparseMemory, isElf, loadElf, loadFlatBinary, parseElf, type ImageErrorReason } from '../src/index.js';
import { buildElf } from './loader-fixtures.js';

const G = 2 ** 32;
const mem = () => new SparseMemory({ ranges: [{ base: 0, size: 0x400000 }, { base: G, size: 0x100000 }] });
const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

function expectImageError(fn: () => unknown, reason: ImageErrorReason) {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ImageFormatError);
    expect((e as ImageFormatError).code).toBe(ErrorCodes.InvalidArgument);
    expect((e as ImageFormatError).reason).toBe(reason);
    return;
  }
  expect.unreachable(`expected ImageFormatError(${reason})`);
}

describe('parseElf', () => {
  it('reads an ELF32 header and program headers', () => {
    const img = buildElf({
      entry: 0x100020,
      segments: [
        { paddr: 0x100000, vaddr: 0xc0100000, data: bytes(100), memsz: 0x2000 },
        { paddr: 0, data: new Uint8Array(0), type: 4 }, // PT_NOTE
        { paddr: 0x200000, data: new Uint8Array(0), memsz: 0 }, // empty PT_LOAD: skipped
      ],
    });
    expect(isElf(img)).toBe(true);
    const elf = parseElf(img);
    expect([elf.elfClass, elf.type, elf.machine, elf.entry]).toEqual([32, 2, 3, 0x100020]);
    expect(elf.programHeaders).toHaveLength(3);
    expect(elf.loadSegments).toHaveLength(1);
    expect(elf.loadSegments[0]).toMatchObject({ type: 1, paddr: 0x100000, vaddr: 0xc0100000, filesz: 100, memsz: 0x2000, align: 0x1000, flags: 5 });
  });

  it('reads an ELF64 image with addresses above 4 GiB', () => {
    const img = buildElf({ elfClass: 64, entry: G + 0x10, segments: [{ paddr: G, vaddr: 0, data: bytes(64) }] });
    new DataView(img.buffer).setBigUint64(64 + 16, 0xffffffff80100123n, true); // higher-half p_vaddr
    const elf = parseElf(img);
    expect([elf.elfClass, elf.machine, elf.entry, elf.entry64]).toEqual([64, 62, G + 0x10, BigInt(G + 0x10)]);
    expect(elf.loadSegments[0].paddr).toBe(G);
    expect(elf.loadSegments[0].vaddr64).toBe(0xffffffff80100123n);
  });

  it('refuses malformed images with typed reasons', () => {
    const good = buildElf({ entry: 0x1000, segments: [{ paddr: 0x1000, data: bytes(64) }] });
    const mutate = (f: (b: Uint8Array, dv: DataView) => void) => {
      const b = good.slice();
      f(b, new DataView(b.buffer));
      return b;
    };
    expectImageError(() => parseElf(new Uint8Array([1, 2, 3, 4])), 'bad-magic');
    expectImageError(() => parseElf(good.subarray(0, 10)), 'truncated');
    expectImageError(() => parseElf(good.subarray(0, 40)), 'truncated');
    expectImageError(() => parseElf(mutate((b) => (b[4] = 3))), 'unsupported-class');
    expectImageError(() => parseElf(mutate((b) => (b[5] = 2))), 'unsupported-endianness');
    expectImageError(() => parseElf(mutate((b) => (b[6] = 0))), 'unsupported-version');
    expectImageError(() => parseElf(mutate((_b, dv) => dv.setUint32(20, 2, true))), 'unsupported-version');
    expectImageError(() => parseElf(mutate((_b, dv) => dv.setUint16(42, 16, true))), 'bad-program-headers');
    expectImageError(() => parseElf(mutate((_b, dv) => dv.setUint16(44, 0xffff, true))), 'bad-program-headers');
    expectImageError(() => parseElf(mutate((_b, dv) => dv.setUint32(28, 0xfffffff0, true))), 'truncated');
    expectImageError(() => parseElf(mutate((_b, dv) => dv.setUint32(52 + 20, 10, true))), 'bad-segment'); // memsz < filesz
    expectImageError(() => parseElf(mutate((_b, dv) => dv.setUint32(52 + 4, 0xffffff00, true))), 'truncated'); // data beyond file
    const big = buildElf({ elfClass: 64, entry: 0, segments: [{ paddr: 0, data: bytes(8) }] });
    new DataView(big.buffer).setBigUint64(64 + 24, 0xffffffffffffffffn, true); // p_paddr
    expectImageError(() => parseElf(big), 'address-out-of-range');
    expectImageError(() => parseElf('nope' as unknown as Uint8Array), 'bad-magic');
  });

  it('never throws anything but ImageFormatError on mutated or truncated input', () => {
    const seeds = [
      buildElf({ entry: 0x1000, segments: [{ paddr: 0x1000, data: bytes(64) }, { paddr: 0x3000, data: bytes(16), memsz: 0x100 }] }),
      buildElf({ elfClass: 64, entry: 0x1000, segments: [{ paddr: 0x1000, data: bytes(64) }] }),
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 8 }),
        fc.option(fc.nat()),
        (seed, flips, cut) => {
          let img = seed.slice();
          for (const f of flips) img[f.at % img.length] = f.value;
          if (cut !== null) img = img.subarray(0, cut % (img.length + 1));
          const m = mem();
          try {
            loadElf(m, img);
          } catch (e) {
            if (!(e instanceof ImageFormatError)) throw e;
          }
        },
      ),
      { numRuns: 500, seed: 3 },
    );
  });
});

describe('loadElf / loadFlatBinary', () => {
  it('copies filesz bytes to p_paddr and zero-fills up to memsz over dirty memory', () => {
    const m = mem();
    m.fill(0x100000, 0x3000, 0xee);
    const data = bytes(0x1800);
    const r = loadElf(m, buildElf({ entry: 0x100004, segments: [{ paddr: 0x100000, vaddr: 0xc0100000, data, memsz: 0x2800 }, { paddr: 0x200000, data: bytes(8, 9) }] }));
    expect(r.entry).toBe(0x100004);
    expect([r.start, r.end]).toEqual([0x100000, 0x200008]);
    expect(r.segments).toEqual([
      { address: 0x100000, fileSize: 0x1800, memSize: 0x2800 },
      { address: 0x200000, fileSize: 8, memSize: 8 },
    ]);
    expect(m.readBytes(0x100000, 0x1800)).toEqual(data);
    expect(m.readBytes(0x101800, 0x1000).every((b) => b === 0)).toBe(true);
    expect(m.read8(0x102800)).toBe(0xee); // beyond memsz untouched
    expect(m.readBytes(0x200000, 8)).toEqual(bytes(8, 9));
    // ELF64 segments go above 4 GiB.
    loadElf(m, buildElf({ elfClass: 64, entry: 0, segments: [{ paddr: G + 0x1000, data: bytes(16, 4) }] }));
    expect(m.readBytes(G + 0x1000, 16)).toEqual(bytes(16, 4));
  });

  it('can load at p_vaddr instead', () => {
    const m = mem();
    loadElf(m, buildElf({ entry: 0, segments: [{ paddr: 0x300000, vaddr: 0x200000, data: bytes(4) }] }), { address: 'vaddr' });
    expect(m.read32(0x200000)).not.toBe(0);
    expect(m.read32(0x300000)).toBe(0);
  });

  it('refuses segments outside RAM and images without PT_LOAD', () => {
    const m = mem();
    expectImageError(() => loadElf(m, buildElf({ entry: 0, segments: [{ paddr: 0x3ff000, data: bytes(0x2000) }] })), 'not-backed');
    expectImageError(() => loadElf(m, buildElf({ entry: 0, segments: [{ paddr: 0, data: bytes(4), type: 4 }] })), 'no-loadable-segments');
    expect(m.residentPages()).toBe(0); // nothing written when refused
  });

  it('loads a flat binary at an address', () => {
    const m = mem();
    const r = loadFlatBinary(m, bytes(5000), 0x7c00);
    expect(r).toMatchObject({ entry: 0x7c00, start: 0x7c00, end: 0x7c00 + 5000 });
    expect(m.readBytes(0x7c00, 5000)).toEqual(bytes(5000));
    expectImageError(() => loadFlatBinary(m, bytes(10), 0x3ffffa), 'not-backed');
    expectImageError(() => loadFlatBinary(m, bytes(10), -1), 'address-out-of-range');
  });
});
