// Shared checks of the firmware tests: discover the tables the way an OS does, and E820 sanity.
import { findRsdp, parseAcpiFromMemory, type AcpiTables } from '@latelaunch/acpi';
import { expect } from 'vitest';
import { E820Type, MultibootInfoOffsets, readRsdpExtension, type E820Entry, type FirmwareResult } from '../src/index.js';

const MiB = 0x100000;

/** Scans 0xE0000–0xFFFFF (and the EBDA) for the RSDP and parses every table back from memory. */
export function discover(fw: FirmwareResult): AcpiTables {
  const read = (a: number, n: number) => fw.memory.readBytes(a, n);
  const loc = findRsdp(read);
  expect(loc.address).toBe(fw.rsdpAddress);
  expect(loc.address % 16).toBe(0);
  expect(loc.address >= 0xe0000 && loc.address < 0x100000).toBe(true);
  expect(loc.rsdp.revision).toBe(2);
  const t = parseAcpiFromMemory(read);
  expect(t.rsdp?.rsdtAddress).toBe(fw.rsdtAddress);
  expect(t.rsdp?.xsdtAddress).toBe(fw.xsdtAddress);
  expect(t.rsdt?.entries).toEqual(t.xsdt?.entries);
  expect(t.dsdt).not.toBeNull();
  return t;
}

/** Intersection length of [a, a+al) with [b, b+bl). */
const overlap = (a: number, al: number, b: number, bl: number): number => Math.max(0, Math.min(a + al, b + bl) - Math.max(a, b));

/** Sorted, non-overlapping, PC conventions, tables inside ACPI ranges. */
export function checkE820(fw: FirmwareResult, t: AcpiTables): void {
  const e = fw.e820;
  for (let i = 1; i < e.length; i++) expect(e[i].base).toBeGreaterThanOrEqual(e[i - 1].base + e[i - 1].length);
  expect(e[0]).toEqual({ base: 0, length: 0x9fc00, type: E820Type.Usable });
  expect(e[1]).toEqual({ base: 0x9fc00, length: MiB - 0x9fc00, type: E820Type.Reserved });
  // Nothing usable in the PCI hole below 4 GiB.
  for (const x of e) if (x.type !== E820Type.Reserved) expect(overlap(x.base, x.length, fw.layout.lowMemoryEnd, 0x100000000 - fw.layout.lowMemoryEnd)).toBe(0);
  // Every table (and the FACS) inside an ACPI range; the FACS in NVS.
  for (const p of fw.tables) {
    const host = e.find((x) => x.base <= p.address && p.address + p.length <= x.base + x.length);
    expect(host, `${p.signature} at 0x${p.address.toString(16)}`).toBeDefined();
    expect(host!.type).toBe(p.signature === 'FACS' ? E820Type.AcpiNvs : E820Type.AcpiReclaimable);
  }
  for (const [sig, addr] of Object.entries(t.addresses)) {
    if (sig === 'RSDP') continue;
    const host = e.find((x) => x.base <= addr && addr < x.base + x.length);
    expect([E820Type.AcpiReclaimable, E820Type.AcpiNvs]).toContain(host?.type);
  }
  // Every byte of the map is backed by the memory.
  for (const x of e) if (x.type !== E820Type.Reserved) expect(fw.memory.isBacked(x.base, x.length)).toBe(true);
}

/** Bytes of RAM the map gives the OS (usable + ACPI) at or above `from`. */
export function ramBytes(e820: readonly E820Entry[], from = 0): number {
  return e820.filter((x) => x.type === E820Type.Usable || x.type === E820Type.AcpiReclaimable || x.type === E820Type.AcpiNvs).reduce((s, x) => s + overlap(x.base, x.length, from, 2 ** 52), 0);
}

/** The boot info matches the result: multiboot fields, mmap = E820, RSDP extension. */
export function checkBootInfo(fw: FirmwareResult, cmdline = ''): void {
  const mem = fw.memory;
  const a = fw.bootInfoAddress;
  const O = MultibootInfoOffsets;
  expect(mem.read32(a + O.flags)).toBe(0x24d);
  expect(mem.read32(a + O.memLower)).toBe(639);
  expect(mem.read32(a + O.memUpper)).toBe(fw.layout.upperMemoryKiB);
  expect(fw.layout.upperMemoryKiB).toBeGreaterThan(0);
  const mmapAddr = mem.read32(a + O.mmapAddr);
  const mmapLen = mem.read32(a + O.mmapLength);
  expect(mmapLen).toBe(fw.e820.length * 24);
  const entries: E820Entry[] = [];
  for (let o = 0; o < mmapLen; o += 24) {
    expect(mem.read32(mmapAddr + o)).toBe(20);
    entries.push({ base: Number(mem.read64(mmapAddr + o + 4)), length: Number(mem.read64(mmapAddr + o + 12)), type: mem.read32(mmapAddr + o + 20) });
  }
  expect(entries).toEqual(fw.e820.map((x) => ({ ...x })));
  const str = (p: number) => {
    let s = '';
    for (let c = mem.read8(p); c !== 0; c = mem.read8(++p)) s += String.fromCharCode(c);
    return s;
  };
  expect(str(mem.read32(a + O.cmdline))).toBe(cmdline);
  expect(str(mem.read32(a + O.bootLoaderName))).toBe('latelaunch');
  expect(readRsdpExtension((p, n) => mem.readBytes(p, n), a)).toBe(fw.rsdpAddress);
  // BIOS data area: EBDA segment.
  expect(mem.read16(0x40e)).toBe(0x9fc0);
}
