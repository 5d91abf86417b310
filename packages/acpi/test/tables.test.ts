// Table-level behaviour: checksums, headers, RSDP v1/v2, MADT/SRAT/SLIT/FADT edge cases that real
// firmware (or a broken dump) produces. The parser reports, never throws.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AcpiNotAcpiError, buildAcpiTables, buildRsdp, byteSum, checksumOk, fixChecksum, parseAcpiTables, sealTable, summarizeAcpi } from '../src/index.js';
import type { AcpiTables } from '../src/index.js';

const kinds = (t: AcpiTables) => t.anomalies.map((a) => a.kind);

/** A table with a valid header around `body`. */
function table(signature: string, body: number[], revision = 1): Uint8Array {
  const b = new Uint8Array(36 + body.length);
  b.set([...signature].map((c) => c.charCodeAt(0)));
  new DataView(b.buffer).setUint32(4, b.length, true);
  b[8] = revision;
  b.set([...'OEMID '].map((c) => c.charCodeAt(0)), 10);
  b.set(body, 36);
  return sealTable(b);
}
const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const madt = (...subtables: number[][]) => table('APIC', [...le32(0xfee00000), ...le32(1), ...subtables.flat()], 3);
const lapic = (uid: number, id: number, flags = 1) => [0, 8, uid, id, ...le32(flags)];

describe('checksums', () => {
  it('fixChecksum makes any region sum to zero; any single-byte change breaks it (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 10, maxLength: 300 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (bytes, i, delta) => {
        const b = new Uint8Array(bytes);
        fixChecksum(b, 9);
        expect(byteSum(b)).toBe(0);
        expect(checksumOk(b)).toBe(true);
        b[i % b.length] = (b[i % b.length] + delta) & 0xff;
        expect(checksumOk(b)).toBe(false);
      }),
    );
  });

  it('every built table has a valid checksum; the RSDP has both', () => {
    const i = buildAcpiTables({ processors: [{ apicId: 0, node: 0 }], numa: { nodes: [{ memory: [{ base: 0, length: 4096 }] }] } });
    for (const b of [i.fadt, i.madt, i.dsdt, i.srat!, i.slit!]) expect(byteSum(b)).toBe(0);
    const v2 = buildRsdp({ revision: 2, oemId: 'OEM', rsdtAddress: 0x1234, xsdtAddress: 0x1_0000_5678 });
    expect([v2.length, byteSum(v2, 0, 20), byteSum(v2, 0, 36)]).toEqual([36, 0, 0]);
    const v1 = buildRsdp({ revision: 0, oemId: 'OEM', rsdtAddress: 0x1234 });
    expect([v1.length, byteSum(v1)]).toEqual([20, 0]);
    expect(parseAcpiTables([v2]).rsdp).toEqual({
      signature: 'RSD PTR ',
      oemId: 'OEM',
      revision: 2,
      rsdtAddress: 0x1234,
      length: 36,
      xsdtAddress: 0x1_0000_5678,
      checksumOk: true,
      extendedChecksumOk: true,
    });
  });

  it('a bad table checksum is an anomaly, and the table is still decoded', () => {
    const b = madt(lapic(0, 0));
    b[9] ^= 1;
    const t = parseAcpiTables([b]);
    expect(t.madt!.table.checksumOk).toBe(false);
    expect(t.madt!.processors).toHaveLength(1);
    expect(t.anomalies.map((a) => [a.kind, a.offset, a.severity])).toEqual([['bad-checksum', 9, 'error']]);
  });
});

describe('headers', () => {
  it('header length vs buffer: truncated, trailing bytes, too small', () => {
    const b = madt(lapic(0, 0), lapic(1, 1));
    expect(kinds(parseAcpiTables([b.subarray(0, 50)]))).toEqual(['truncated', 'bad-checksum', 'truncated']); // header, then the cut LAPIC entry
    const longer = new Uint8Array(b.length + 8);
    longer.set(b);
    const t = parseAcpiTables([longer]);
    expect(kinds(t)).toEqual(['length-mismatch']);
    expect(t.madt!.processors).toHaveLength(2);
    const small = new Uint8Array(b);
    small[4] = 10;
    expect(kinds(parseAcpiTables([small]))).toEqual(['length-mismatch', 'bad-checksum']);
    expect(kinds(parseAcpiTables([b.subarray(0, 20)]))).toEqual(['truncated']);
  });

  it('keeps OEM strings as written: trailing NULs dropped, spaces kept, non-ASCII reported', () => {
    const b = madt(lapic(0, 0));
    b.set([0x41, 0x20, 0, 0, 0, 0], 10);
    b.set([0xd2, 0x04, 0, 0], 28);
    const t = parseAcpiTables([sealTable(b)]);
    expect(t.madt!.table).toMatchObject({ oemId: 'A ', creatorId: '\xd2\x04' });
    expect(t.anomalies.map((a) => [a.kind, a.offset])).toEqual([['non-ascii-header', 28]]);
  });

  it('not ACPI at all: a typed error; ACPI next to garbage: the garbage is an anomaly', () => {
    expect(() => parseAcpiTables([])).toThrowError(AcpiNotAcpiError);
    expect(() => parseAcpiTables([new Uint8Array(100), Uint8Array.of(1, 2, 3)])).toThrowError(/not ACPI/);
    const t = parseAcpiTables([new Uint8Array(64), madt(lapic(0, 0))]);
    expect(t.madt).not.toBeNull();
    expect(t.anomalies.map((a) => [a.table, a.kind])).toEqual([['????', 'not-a-table']]);
  });

  it('a second table of a decoded type is reported and ignored; unknown tables keep their header', () => {
    const t = parseAcpiTables([madt(lapic(0, 0)), madt(lapic(0, 5)), table('HPET', [1, 2, 3, 4])]);
    expect(t.madt!.processors[0].apicId).toBe(0);
    expect(kinds(t)).toEqual(['duplicate-table']);
    expect(t.others).toEqual([{ signature: 'HPET', length: 40, revision: 1, oemId: 'OEMID ', oemTableId: '', address: null }]);
  });
});

describe('MADT', () => {
  it('decodes all eight types', () => {
    const t = parseAcpiTables([
      madt(
        lapic(0, 0),
        [1, 12, 2, 0, ...le32(0xfec00000), ...le32(0)],
        [2, 10, 0, 9, ...le32(9), 0x0f, 0],
        [3, 8, 0x05, 0, ...le32(23)],
        [4, 6, 0xff, 0x05, 0, 1],
        [5, 12, 0, 0, ...le32(0xfee00000), ...le32(1)],
        [9, 16, 0, 0, ...le32(0x1234), ...le32(3), ...le32(77)],
        [0xa, 12, 0x0d, 0, ...le32(0xffffffff), 0, 0, 0, 0],
      ),
    ]);
    expect(t.madt).toMatchObject({
      processors: [
        { type: 'lapic', uid: 0, apicId: 0, flags: 1, enabled: true, onlineCapable: false },
        { type: 'x2apic', uid: 77, apicId: 0x1234, flags: 3, enabled: true, onlineCapable: true },
      ],
      ioApics: [{ id: 2, address: 0xfec00000, gsiBase: 0 }],
      interruptOverrides: [{ bus: 0, source: 9, gsi: 9, flags: 15, polarity: 3, triggerMode: 3 }],
      nmiSources: [{ gsi: 23, flags: 5, polarity: 1, triggerMode: 1 }],
      localApicNmis: [
        { type: 'lapic', uid: 0xff, flags: 5, polarity: 1, triggerMode: 1, lint: 1 },
        { type: 'x2apic', uid: 0xffffffff, flags: 13, polarity: 1, triggerMode: 3, lint: 0 },
      ],
      localApicAddressOverride: 0x1_fee0_0000,
      otherSubtables: [],
    });
    expect(kinds(t)).toEqual([]);
  });

  it('a zero-length (or 1-byte) subtable stops the walk instead of looping', () => {
    for (const len of [0, 1]) {
      const t = parseAcpiTables([madt(lapic(0, 0), [0x7f, len, 0, 0], lapic(1, 1))]);
      expect(t.madt!.processors).toHaveLength(1);
      expect(t.anomalies.map((a) => [a.kind, a.offset])).toEqual([['zero-length-subtable', 53]]);
    }
  });

  it('skips unknown types by length, and known types with a wrong length', () => {
    const t = parseAcpiTables([madt([0xb, 10, 0, 0, 0, 0, 0, 0, 0, 0], [0, 6, 1, 1, 1, 0], [0, 10, 2, 2, 1, 0, 0, 0, 0xaa, 0xbb], lapic(3, 3))]);
    expect(t.madt!.otherSubtables).toEqual([{ type: 0xb, offset: 44, length: 10 }]);
    expect(t.madt!.processors.map((p) => p.apicId)).toEqual([2, 3]);
    expect(t.anomalies.map((a) => a.kind)).toEqual(['unknown-subtable', 'subtable-length-mismatch', 'subtable-length-mismatch', 'no-apic-id-zero']);
    expect(t.anomalies[0].message).toContain('GIC CPU interface');
  });

  it('a subtable running past the end of the table is truncated, not read beyond', () => {
    const t = parseAcpiTables([madt(lapic(0, 0), [1, 40, 0, 0])]);
    expect(t.madt!.ioApics).toEqual([]);
    expect(kinds(t)).toEqual(['truncated']);
  });

  it('duplicate enabled APIC IDs, duplicate UIDs and duplicate I/O APIC IDs', () => {
    const io = (id: number) => [1, 12, id, 0, ...le32(0xfec00000), ...le32(0)];
    const t = parseAcpiTables([madt(lapic(0, 0), lapic(1, 0), lapic(1, 2), io(9), io(9))]);
    expect(kinds(t)).toEqual(['duplicate-apic-id', 'duplicate-processor-uid', 'duplicate-ioapic-id']);
    expect(summarizeAcpi(t)).toMatchObject({ duplicateEnabledApicIds: [0], enabledApicIds: [0, 0, 2] });
  });
});

describe('SRAT and SLIT', () => {
  const srat = (...subtables: number[][]) => table('SRAT', [...le32(1), 0, 0, 0, 0, 0, 0, 0, 0, ...subtables.flat()], 3);

  it('decodes the three types, combines the 32-bit domain of type 0, skips other types', () => {
    const t = parseAcpiTables([
      srat(
        [0, 16, 0x02, 7, ...le32(1), 0, 0x01, 0, 0, ...le32(0)],
        [1, 40, ...le32(3), 0, 0, ...le32(0), ...le32(1), ...le32(0), ...le32(2), ...le32(0), ...le32(7), ...le32(0), ...le32(0)],
        [2, 24, 0, 0, ...le32(5), ...le32(0x10000), ...le32(1), ...le32(4), ...le32(0)],
        [3, 18, ...new Array(16).fill(0)],
      ),
    ]);
    expect(t.srat!.cpuAffinity).toEqual([
      { type: 'lapic', apicId: 7, sapicEid: 0, proximityDomain: 0x102, flags: 1, enabled: true, clockDomain: 0 },
      { type: 'x2apic', apicId: 0x10000, proximityDomain: 5, flags: 1, enabled: true, clockDomain: 4 },
    ]);
    expect(t.srat!.memoryAffinity).toEqual([{ base: 2 ** 32, length: 2 ** 33, proximityDomain: 3, flags: 7, enabled: true, hotPluggable: true, nonVolatile: true }]);
    expect(t.srat!.otherSubtables).toEqual([{ type: 3, offset: 128, length: 18 }]);
    expect(kinds(t)).toEqual(['unknown-subtable', 'srat-without-slit', 'memoryless-numa-domain', 'memoryless-numa-domain', 'cpuless-numa-domain']);
  });

  it('reports 64-bit values a JavaScript number cannot hold', () => {
    const t = parseAcpiTables([srat([1, 40, ...le32(0), 0, 0, ...le32(0), ...le32(0x0100_0000), ...le32(0), ...le32(1), ...le32(0), ...le32(1), ...le32(0), ...le32(0)])]);
    expect(kinds(t)).toContain('unsafe-integer');
  });

  it('a SLIT whose locality count does not fit is reported, not allocated', () => {
    const huge = table('SLIT', [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 10, 20, 20, 10]);
    const t = parseAcpiTables([huge]);
    expect(t.slit!.matrix).toEqual([]);
    expect(t.anomalies.map((a) => [a.kind, a.offset])).toEqual([['slit-size-mismatch', 36]]);
  });

  it('reports invalid distances (diagonal not 10, remote ≤ 10)', () => {
    const t = parseAcpiTables([table('SLIT', [2, 0, 0, 0, 0, 0, 0, 0, 10, 9, 20, 11])]);
    expect(t.slit!.matrix).toEqual([
      [10, 9],
      [20, 11],
    ]);
    expect(t.anomalies.map((a) => [a.kind, a.offset])).toEqual([
      ['slit-invalid-distance', 45],
      ['slit-invalid-distance', 47],
    ]);
  });
});

describe('FADT', () => {
  const fadt = (mutate: (b: Uint8Array, d: DataView) => void, revision = 6) => {
    const b = new Uint8Array(buildAcpiTables({ fadt: { revision } }).fadt);
    mutate(b, new DataView(b.buffer));
    return parseAcpiTables([sealTable(b)]);
  };

  it('PM timer precedence: X_PM_TMR_BLK when non-zero, else PM_TMR_BLK; a mismatch is reported and X wins', () => {
    expect(fadt((_b, d) => d.setBigUint64(212, 0n, true)).fadt!.pmTimerBlock).toEqual({ source: 'PM_TMR_BLK', spaceId: 1, address: 0x608 });
    const mm = fadt((b, d) => {
      b[208] = 0; // SystemMemory
      d.setBigUint64(212, 0xfed0_0f00n, true);
    });
    expect(mm.fadt).toMatchObject({ pmTimerBlock: { source: 'X_PM_TMR_BLK', spaceId: 0, address: 0xfed00f00 }, pmTimerAddressMismatch: true });
    expect(kinds(mm)).toEqual(['fadt-address-mismatch']);
  });

  it('a FADT cut short reads missing fields as absent, reports it, never throws', () => {
    const b = buildAcpiTables().fadt.slice(0, 100);
    new DataView(b.buffer).setUint32(4, 100, true);
    const t = parseAcpiTables([sealTable(b)]);
    expect(t.fadt).toMatchObject({ pmTmrBlk: 0x608, century: 0, flags: 0, resetRegister: null, xPmTmrBlk: null, pmTimerBlock: { source: 'PM_TMR_BLK', address: 0x608 } });
    expect(kinds(t)).toEqual(['truncated', 'fadt-length-revision-mismatch']);
  });

  it('hardware-reduced: fixed-hardware fields are ignored and reported', () => {
    const t = fadt((_b, d) => d.setUint32(112, d.getUint32(112, true) | (1 << 20), true));
    expect(t.fadt).toMatchObject({ hardwareReduced: true, pmTimerBlock: null, pmTimerBits: null });
    expect(kinds(t)).toContain('fadt-hw-reduced-fixed-hardware');
    expect(kinds(t)).toContain('no-pm-timer');
  });

  it('required PM1 blocks missing, GAS width and legacy length disagreements, DSDT address mismatch', () => {
    const t = fadt((b, d) => {
      d.setUint32(64, 0, true); // PM1a_CNT_BLK
      d.setBigUint64(176, 0n, true); // X_PM1a_CNT_BLK address
      b[149] = 16; // X_PM1a_EVT_BLK bit width 16 (legacy length 4 = 32 bits; default 32)
      d.setUint32(40, 0x1000, true);
      d.setBigUint64(140, 0x2000n, true);
    });
    expect(t.fadt!.dsdtAddress).toBe(0x2000);
    expect(kinds(t)).toEqual(['fadt-address-mismatch', 'fadt-legacy-length-mismatch', 'fadt-register-width', 'fadt-missing-required-block']);
  });

  it('TMR_VAL_EXT selects a 32-bit timer', () => {
    expect(fadt((_b, d) => d.setUint32(112, d.getUint32(112, true) | (1 << 8), true)).fadt!.pmTimerBits).toBe(32);
    expect(fadt(() => {}).fadt!.pmTimerBits).toBe(24);
  });
});
