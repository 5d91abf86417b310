// Discovery from physical memory: the ACPI spec's RSDP scan (EBDA first KiB, then 0xE0000-0xFFFFF
// on 16-byte boundaries), v1 vs v2 RSDPs, bad checksums skipped with anomalies, and the walk to
// every table through the XSDT/RSDT and the FADT.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LatelaunchError } from '@latelaunch/kernel';
import { AcpiErrorCodes, AcpiNotAcpiError, buildAcpiTables, buildRsdp, findRsdp, layoutReader, layoutTables, parseAcpiFromMemory, summarizeAcpi } from '../src/index.js';
import type { PlacedTable } from '../src/index.js';

const images = buildAcpiTables({
  processors: [{ apicId: 0 }, { apicId: 1 }, { apicId: 2, present: false }],
});
const TABLES_AT = 0x7fe_0000;

function memoryWith(rsdpAddress: number, extra: PlacedTable[] = [], rsdpRevision: 0 | 2 = 2) {
  const l = layoutTables(images, TABLES_AT, { rsdpAddress, rsdpRevision });
  return { layout: l, read: layoutReader([...extra, ...l.tables]) };
}

const corrupt = (b: Uint8Array, at: number): Uint8Array => {
  const c = new Uint8Array(b);
  c[at] ^= 0x40;
  return c;
};

describe('findRsdp', () => {
  it('finds the RSDP on any 16-byte boundary in 0xE0000-0xFFFFF (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x1ffd }), (slot) => {
        const address = 0xe0000 + slot * 16;
        const { read } = memoryWith(address);
        const found = findRsdp(read);
        expect(found.address).toBe(address);
        expect(found.rsdp).toMatchObject({ revision: 2, checksumOk: true, extendedChecksumOk: true });
        expect(found.anomalies).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('ignores an RSDP that is not on a 16-byte boundary, and then says "not ACPI" with a typed error', () => {
    const l = layoutTables(images, TABLES_AT, { rsdpAddress: 0xf0000 });
    const moved = l.tables.map((t) => (t.signature === 'RSDP' ? { ...t, address: 0xf0008 } : t));
    let caught: unknown;
    try {
      findRsdp(layoutReader(moved));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(AcpiNotAcpiError);
    expect(caught).toBeInstanceOf(LatelaunchError);
    expect((caught as AcpiNotAcpiError).code).toBe(AcpiErrorCodes.NotAcpi);
    expect((caught as AcpiNotAcpiError).code).toBe('LL_ACPI_NOT_ACPI');
    expect((caught as Error).name).toBe('AcpiNotAcpiError');
    expect(() => parseAcpiFromMemory(layoutReader(moved))).toThrowError(AcpiNotAcpiError);
  });

  it('skips candidates with a bad checksum or a bad extended checksum, reporting each', () => {
    const good = buildRsdp({ revision: 2, oemId: 'GOOD', rsdtAddress: 0x1000, xsdtAddress: 0x2000 });
    const badV1 = corrupt(good, 17); // inside the first 20 bytes: both checksums break
    const badExt = corrupt(good, 26); // only the extended checksum breaks
    const read = layoutReader([
      { signature: 'RSDP', address: 0xe0100, bytes: badV1 },
      { signature: 'RSDP', address: 0xe0200, bytes: badExt },
      { signature: 'RSDP', address: 0xe0300, bytes: good },
    ]);
    const found = findRsdp(read);
    expect(found.address).toBe(0xe0300);
    expect(found.anomalies.map((a) => [a.kind, a.address, a.offset])).toEqual([
      ['bad-checksum', 0xe0100, 8],
      ['bad-extended-checksum', 0xe0100, 32],
      ['bad-extended-checksum', 0xe0200, 32],
    ]);
    expect(() => findRsdp(layoutReader([{ signature: 'RSDP', address: 0xe0100, bytes: badV1 }]))).toThrowError(/no RSDP with valid checksums/);
    try {
      findRsdp(layoutReader([{ signature: 'RSDP', address: 0xe0100, bytes: badV1 }]));
    } catch (e) {
      expect((e as AcpiNotAcpiError).anomalies.map((a) => a.kind)).toEqual(['bad-checksum', 'bad-extended-checksum']);
    }
  });

  it('looks in the first KiB of the EBDA (segment at 0x40E) before the BIOS area', () => {
    const ebdaPointer = { signature: 'BDA', address: 0x40e, bytes: Uint8Array.of(0xc0, 0x9f) }; // 0x9FC0 → 0x9FC00
    const inEbda = { signature: 'RSDP', address: 0x9fc00 + 0x3e0, bytes: buildRsdp({ revision: 0, oemId: 'EBDA', rsdtAddress: 0x1000 }) };
    const inBios = { signature: 'RSDP', address: 0xe0000, bytes: buildRsdp({ revision: 0, oemId: 'BIOS', rsdtAddress: 0x1000 }) };
    expect(findRsdp(layoutReader([ebdaPointer, inEbda, inBios]))).toMatchObject({ address: 0x9ffe0, rsdp: { oemId: 'EBDA' } });
    // beyond the first KiB of the EBDA: not looked at
    const tooFar = { ...inEbda, address: 0x9fc00 + 0x400 };
    expect(findRsdp(layoutReader([ebdaPointer, tooFar, inBios])).rsdp.oemId).toBe('BIOS');
  });

  it('survives a memory reader that throws outside RAM', () => {
    const l = layoutTables(images, TABLES_AT, { rsdpAddress: 0xe0040 });
    const inner = layoutReader(l.tables);
    const read = (a: number, n: number) => {
      if (a < 0x400 || (a >= 0xa0000 && a + n <= 0x10_0000) || (a >= TABLES_AT && a + n <= TABLES_AT + 0x1000)) return inner(a, n);
      throw new RangeError(`unmapped 0x${a.toString(16)}`);
    };
    expect(findRsdp(read).address).toBe(0xe0040);
  });
});

describe('parseAcpiFromMemory', () => {
  it('v2: follows the XSDT, reads the RSDT too, and the FADT to the DSDT and FACS', () => {
    const { layout, read } = memoryWith(0xf0000);
    const t = parseAcpiFromMemory(read);
    const at = Object.fromEntries(layout.tables.map((x) => [x.signature, x.address]));
    expect(t.addresses).toEqual(at);
    expect(t.anomalies).toEqual([]);
    expect(t.dsdt!.table.checksumOk).toBe(true);
    expect(t.facs!.signature).toBe('FACS');
    expect(summarizeAcpi(t)).toMatchObject({ enabledApicIds: [0, 1], hotplugCandidateApicIds: [2], pmTimer: { address: 0x608 } });
  });

  it('v1 (ACPI 1.0, 20-byte RSDP): follows the RSDT', () => {
    const { read } = memoryWith(0xf0000, [], 0);
    const t = parseAcpiFromMemory(read);
    expect(t.rsdp).toMatchObject({ revision: 0, length: 20, extendedChecksumOk: null });
    expect(t.xsdt).toBeNull();
    expect(t.rsdt!.entries).toHaveLength(2);
    expect(t.madt).not.toBeNull();
    expect(t.anomalies).toEqual([]);
  });

  it('takes an RSDP address instead of scanning (UEFI / multiboot2 style)', () => {
    const l = layoutTables(images, TABLES_AT);
    const t = parseAcpiFromMemory(layoutReader(l.tables), { rsdpAddress: l.rsdpAddress });
    expect(t.addresses.RSDP).toBe(TABLES_AT);
    expect(() => parseAcpiFromMemory(layoutReader(l.tables), { rsdpAddress: TABLES_AT + 16 })).toThrowError(AcpiNotAcpiError);
  });

  it('reports bad pointers (unreadable, null, not a table, listed twice, pointing at itself) without looping', () => {
    const { layout } = memoryWith(0xf0000);
    const xsdt = layout.tables.find((x) => x.signature === 'XSDT')!;
    const entries = [layout.tables.find((x) => x.signature === 'FACP')!.address, 0, 0x4000_0000, 0x5000_0000, xsdt.address, layout.tables.find((x) => x.signature === 'APIC')!.address];
    const bad = new Uint8Array(36 + 8 * entries.length);
    bad.set(xsdt.bytes.subarray(0, 36));
    bad[4] = bad.length;
    entries.forEach((a, i) => new DataView(bad.buffer).setBigUint64(36 + 8 * i, BigInt(a), true));
    let sum = 0;
    bad[9] = 0;
    for (const x of bad) sum += x;
    bad[9] = (0x100 - (sum & 0xff)) & 0xff;
    const tables = layout.tables.map((x) => (x.signature === 'XSDT' ? { ...x, bytes: bad } : x));
    const inner = layoutReader(tables);
    const read = (a: number, n: number) => {
      if (a === 0x4000_0000) throw new Error('bus error');
      return inner(a, n);
    };
    const t = parseAcpiFromMemory(read);
    expect(t.madt).not.toBeNull();
    expect(t.anomalies.map((a) => [a.table, a.kind, a.offset])).toEqual([
      ['XSDT', 'null-table-pointer', 44],
      ['XSDT', 'unreadable', 52],
      ['XSDT', 'not-a-table', 60],
      ['XSDT', 'duplicate-table', 68],
      ['XSDT', 'rsdt-xsdt-mismatch', 36],
    ]);
  });

  it('caps absurd table lengths', () => {
    const { layout } = memoryWith(0xf0000);
    const tables = layout.tables.map((x) => {
      if (x.signature !== 'APIC') return x;
      const b = new Uint8Array(x.bytes);
      new DataView(b.buffer).setUint32(4, 0x7fff_ffff, true);
      return { ...x, bytes: b };
    });
    const t = parseAcpiFromMemory(layoutReader(tables), { maxTableLength: 0x1000 });
    expect(t.anomalies.map((a) => a.kind)).toEqual(expect.arrayContaining(['table-too-large', 'truncated', 'bad-checksum']));
    expect(t.madt!.processors.length).toBeGreaterThanOrEqual(3);
  });
});
