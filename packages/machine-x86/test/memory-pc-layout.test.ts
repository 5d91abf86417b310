import { InvalidArgumentError } from '@latelaunch/kernel';
import { describe, expect, it } from 'vitest';
import { E820Type, SparseMemory, buildPcMemoryLayout, carveE820 } from '../src/index.js';

const MiB = 0x100000;
const G = 2 ** 32;

describe('buildPcMemoryLayout', () => {
  it('128 MiB: low RAM, reserved legacy hole, RAM from 1 MiB', () => {
    const l = buildPcMemoryLayout(128);
    expect(l.e820).toEqual([
      { base: 0, length: 0x9fc00, type: 1 },
      { base: 0x9fc00, length: 0x100000 - 0x9fc00, type: 2 },
      { base: MiB, length: 127 * MiB, type: 1 },
    ]);
    expect(l.ranges).toEqual([
      { base: 0, size: 0xa0000 },
      { base: 0xe0000, size: 128 * MiB - 0xe0000 },
    ]);
    expect([l.lowerMemoryKiB, l.upperMemoryKiB, l.lowMemoryEnd, l.highMemorySize]).toEqual([639, 127 * 1024, 128 * MiB, 0]);
    const m = new SparseMemory({ ranges: l.ranges });
    expect(m.read8(0xa0000)).toBe(0xff); // VGA hole unbacked
    expect(m.read8(0xdffff)).toBe(0xff);
    m.write8(0xf0000, 1); // BIOS area is backed (firmware builds the RSDP here)
    expect(m.read8(0xf0000)).toBe(1);
    expect(m.read8(128 * MiB)).toBe(0xff);
  });

  it('4 GiB: PCI hole from 0xC0000000, the rest above 4 GiB', () => {
    const l = buildPcMemoryLayout(4096);
    expect(l.lowMemoryEnd).toBe(0xc0000000);
    expect(l.highMemorySize).toBe(G - 0xc0000000);
    expect(l.e820.at(-2)).toEqual({ base: MiB, length: 0xc0000000 - MiB, type: E820Type.Usable });
    expect(l.e820.at(-1)).toEqual({ base: G, length: 1 * 2 ** 30, type: E820Type.Usable });
    expect(l.ranges.at(-1)).toEqual({ base: G, size: 2 ** 30 });
    const m = new SparseMemory({ ranges: l.ranges });
    expect(m.read32(0xfee00000)).toBe(0xffffffff);
    m.write32(G + 2 ** 30 - 4, 7);
    expect(m.read32(G + 2 ** 30 - 4)).toBe(7);
    // Exactly at the hole start: nothing above 4 GiB.
    expect(buildPcMemoryLayout(3072).highMemorySize).toBe(0);
    expect(buildPcMemoryLayout(3072).e820).toHaveLength(3);
    // Custom hole.
    expect(buildPcMemoryLayout(4096, { pciHoleStart: 0xe0000000 }).highMemorySize).toBe(512 * MiB);
  });

  it('rejects bad sizes', () => {
    for (const bad of [0, 1, 1.5, -4, 2 ** 32]) expect(() => buildPcMemoryLayout(bad)).toThrow(InvalidArgumentError);
    expect(() => buildPcMemoryLayout(64, { pciHoleStart: 0x1234 })).toThrow(InvalidArgumentError);
  });
});

describe('carveE820', () => {
  it('splits usable RAM around a typed region and merges neighbours', () => {
    const l = buildPcMemoryLayout(64);
    const map = carveE820(l.e820, { base: 0x3ff0000, length: 0x10000, type: E820Type.AcpiReclaimable });
    expect(map.slice(2)).toEqual([
      { base: MiB, length: 0x3ff0000 - MiB, type: 1 },
      { base: 0x3ff0000, length: 0x10000, type: 3 },
    ]);
    const back = carveE820(map, { base: 0x3ff0000, length: 0x10000, type: 1 });
    expect(back).toEqual(l.e820.map((e) => ({ ...e })));
    expect(() => carveE820(map, { base: 0, length: 0, type: 2 })).toThrow(InvalidArgumentError);
  });
});
