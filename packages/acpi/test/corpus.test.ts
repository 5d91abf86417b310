// The 12 real machines of ../shared/acpi-corpus: parsing their tables gives exactly the
// expected.json ground truth (summary and per-table fields), and every documented firmware bug is
// an anomaly, never a crash.
import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { layoutReader, parseAcpiFromMemory, parseAcpiTables, summarizeAcpi } from '../src/index.js';
import type { AcpiTables, AcpiTableHeader } from '../src/index.js';
import { loadTableDir } from '../src/node.js';
import { corpusDir, datFile, expectedJson, MACHINES, machineDir } from './corpus-helpers.js';
import type { Machine } from './corpus-helpers.js';

/** `table:kind` of every anomaly each machine must produce (exactly this set). */
const EXPECTED_ANOMALIES: Record<Machine, string[]> = {
  'asrock-b650e-pg-riptide-wifi-1C91A62EE21C': ['APIC:disabled-apic-id-duplicates-enabled'],
  'dell-poweredge-r820-E5985CCBA349': ['APIC:ioapic-id-matches-lapic-id', 'SRAT:ignored-memory-affinity', 'SRAT:empty-numa-domain'],
  'framework-laptop-13-mtl-717EDB7C4975': ['APIC:placeholder-apic-id', 'APIC:ioapic-id-matches-lapic-id', 'APIC:x2apic-entry-for-small-apic-id', 'APIC:first-processor-not-apic-id-zero'],
  'gigabyte-x299-ud4-pro-331F76F426AF': [
    'APIC:unknown-subtable',
    'APIC:placeholder-apic-id',
    'APIC:duplicate-processor-uid',
    'APIC:ioapic-id-matches-lapic-id',
    'SLIT:slit-size-mismatch',
    'SRAT:ignored-memory-affinity',
  ],
  'hp-proliant-dl360-g7-60DCEE46526A': [
    'APIC:ioapic-id-matches-lapic-id',
    'FACP:non-ascii-header',
    'FACP:fadt-register-width',
    'SRAT:non-ascii-header',
    'SRAT:ignored-memory-affinity',
    'SRAT:srat-without-slit',
  ],
  'hp-proliant-dl380-g5-97BE895CF6E6': ['APIC:unknown-subtable', 'FACP:non-ascii-header', 'FACP:fadt-register-width'],
  'lenovo-miix-3-1030-04FF5A51E4B0': ['APIC:ioapic-id-matches-lapic-id', 'FACP:no-pm-timer'],
  'lenovo-thinkpad-x1-carbon-6th-BE3AACE7B6D7': ['APIC:placeholder-apic-id', 'APIC:ioapic-id-matches-lapic-id', 'FACP:fadt-length-revision-mismatch'],
  'supermicro-h8dgu-57ED146F2C3C': ['APIC:no-apic-id-zero', 'FACP:fadt-legacy-length-mismatch', 'SRAT:memoryless-numa-domain', 'SRAT:madt-cpu-missing-from-srat'],
  'supermicro-h8qg6-58E82626C3C5': ['APIC:no-apic-id-zero', 'FACP:fadt-legacy-length-mismatch'],
  'supermicro-x8dtt-CE92DF29C87C': ['FACP:fadt-legacy-length-mismatch', 'SRAT:madt-cpu-missing-from-srat'],
  'toshiba-satellite-c70d-b-D0292BFAFD2C': [],
};

const FADT_KEYS = [
  'pmTimerBlock',
  'pmTimerLength',
  'pmTmrBlk',
  'xPmTmrBlk',
  'pmTimerAddressMismatch',
  'flags',
  'tmrValExt',
  'hardwareReduced',
  'useApicPhysicalDestMode',
  'sciInterrupt',
  'smiCommandPort',
  'pmProfile',
  'iapcBootFlags',
  'resetRegister',
  'resetValue',
  'pm1aEventBlock',
  'pm1aControlBlock',
] as const;

const headerView = (h: AcpiTableHeader) => ({ signature: h.signature, length: h.length, revision: h.revision, oemId: h.oemId, oemTableId: h.oemTableId, checksumOk: h.checksumOk });
const kinds = (t: AcpiTables) => [...new Set(t.anomalies.map((a) => `${a.table}:${a.kind}`))].sort();
const of = (t: AcpiTables, kind: string) => t.anomalies.filter((a) => a.kind === kind);

const cache = new Map<string, AcpiTables>();
function load(m: Machine): AcpiTables {
  let t = cache.get(m);
  if (!t) {
    t = loadTableDir(machineDir(m));
    cache.set(m, t);
  }
  return t;
}

describe('ACPI corpus', () => {
  it('is present beside the repository (../shared/acpi-corpus) with all 12 machines', () => {
    expect(existsSync(corpusDir), `missing ${corpusDir}`).toBe(true);
    const dirs = readdirSync(corpusDir).filter((f) => !f.includes('.'));
    expect(dirs.sort()).toEqual([...MACHINES].sort());
  });

  describe.each(MACHINES)('%s', (m) => {
    it('summary equals expected.json', () => {
      expect(summarizeAcpi(load(m))).toEqual(expectedJson(m).summary);
    });

    it('MADT fields equal expected.json', () => {
      const e = expectedJson(m).madt;
      const madt = load(m).madt!;
      expect(headerView(madt.table)).toEqual(e.table);
      expect({
        localApicAddress: madt.localApicAddress,
        flags: madt.flags,
        pcatCompat: madt.pcatCompat,
        processors: madt.processors,
        ioApics: madt.ioApics,
        interruptOverrides: madt.interruptOverrides,
        nmiSources: madt.nmiSources,
        localApicNmis: madt.localApicNmis,
        localApicAddressOverride: madt.localApicAddressOverride,
        otherSubtables: madt.otherSubtables,
      }).toEqual({
        localApicAddress: e.localApicAddress,
        flags: e.flags,
        pcatCompat: e.pcatCompat,
        processors: e.processors,
        ioApics: e.ioApics,
        interruptOverrides: e.interruptOverrides,
        nmiSources: e.nmiSources,
        localApicNmis: e.localApicNmis,
        localApicAddressOverride: e.localApicAddressOverride,
        otherSubtables: e.otherSubtables.map(({ type, offset, length }: { type: number; offset: number; length: number }) => ({ type, offset, length })),
      });
    });

    it('SRAT and SLIT fields equal expected.json', () => {
      const e = expectedJson(m);
      const t = load(m);
      if (e.srat === null) expect(t.srat).toBeNull();
      else {
        expect(headerView(t.srat!.table)).toEqual(e.srat.table);
        expect(t.srat!.cpuAffinity).toEqual(e.srat.cpuAffinity);
        expect(t.srat!.memoryAffinity).toEqual(e.srat.memoryAffinity);
        expect(t.srat!.otherSubtables).toEqual(e.srat.otherSubtables);
      }
      if (e.slit === null) expect(t.slit).toBeNull();
      else {
        expect(headerView(t.slit!.table)).toEqual(e.slit.table);
        expect({ localities: t.slit!.localities, matrix: t.slit!.matrix }).toEqual({ localities: e.slit.localities, matrix: e.slit.matrix });
      }
    });

    it('FADT fields equal expected.json', () => {
      const e = expectedJson(m).fadt;
      const fadt = load(m).fadt!;
      expect(headerView(fadt.table)).toEqual(e.table);
      expect(Object.fromEntries(FADT_KEYS.map((k) => [k, fadt[k]]))).toEqual(Object.fromEntries(FADT_KEYS.map((k) => [k, e[k]])));
      expect(fadt.pmTimerBits).toBe(e.pmTimerBlock === null ? null : e.tmrValExt ? 32 : 24);
    });

    it('every saved table has the checksum expected.json records', () => {
      const e = expectedJson(m);
      const t = load(m);
      const bySig: Record<string, { table: AcpiTableHeader } | null> = { APIC: t.madt, FACP: t.fadt, SRAT: t.srat, SLIT: t.slit, RSDT: t.rsdt, XSDT: t.xsdt };
      for (const f of Object.values(e.files) as { signature: string; checksumValid: boolean }[]) {
        if (f.signature === 'RSDP') expect(t.rsdp!.checksumOk && t.rsdp!.extendedChecksumOk).toBe(f.checksumValid);
        else expect(bySig[f.signature]!.table.checksumOk).toBe(f.checksumValid);
      }
      expect(of(t, 'bad-checksum')).toEqual([]);
    });

    it('reports exactly the documented anomaly kinds, with offsets inside the tables', () => {
      const t = load(m);
      expect(kinds(t)).toEqual([...EXPECTED_ANOMALIES[m]].sort());
      const lengths: Record<string, number> = {};
      for (const f of Object.values(expectedJson(m).files) as { signature: string; bytes: number }[]) lengths[f.signature] = f.bytes;
      for (const a of t.anomalies) {
        expect(a.offset).toBeGreaterThanOrEqual(0);
        expect(a.offset).toBeLessThan(lengths[a.table]);
        expect(a.message.length).toBeGreaterThan(10);
      }
    });
  });

  describe('documented firmware bugs, one by one', () => {
    it('X299: 28 hidden I/O APICs (type 0x7F, 12 bytes) skipped by length at 0x228-0x36C', () => {
      const t = load('gigabyte-x299-ud4-pro-331F76F426AF');
      const unknown = of(t, 'unknown-subtable');
      expect(unknown.map((a) => a.offset)).toEqual(Array.from({ length: 28 }, (_, i) => 0x228 + 12 * i));
      expect(unknown[0].message).toMatch(/0x7F.*I\/O APIC-sized/);
      expect(t.madt!.ioApics).toHaveLength(5);
      expect(of(t, 'placeholder-apic-id')).toHaveLength(100); // 44 LAPIC 0xFF + 56 x2APIC 0xFFFFFFFF
      expect(of(t, 'duplicate-processor-uid')).toHaveLength(43 + 12); // 44 UIDs 0xFF, x2APIC UIDs 0-11 overlap
      const slit = of(t, 'slit-size-mismatch');
      expect(slit).toHaveLength(1);
      expect(slit[0]).toMatchObject({ table: 'SLIT', offset: 45 });
      expect(slit[0].message).toContain('63 trailing bytes');
    });

    it('DL380 G5: one type-0xFF subtable at 0x78 skipped, not parsed as an I/O APIC', () => {
      const t = load('hp-proliant-dl380-g5-97BE895CF6E6');
      expect(of(t, 'unknown-subtable').map((a) => a.offset)).toEqual([0x78]);
      expect(t.madt!.ioApics.map((io) => io.id)).toEqual([8]);
      expect(t.madt!.otherSubtables).toEqual([{ type: 0xff, offset: 0x78, length: 12 }]);
    });

    it('placeholder APIC IDs: ThinkPad 8 LAPIC 0xFF, Framework 26 x2APIC 0xFFFFFFFF', () => {
      expect(of(load('lenovo-thinkpad-x1-carbon-6th-BE3AACE7B6D7'), 'placeholder-apic-id')).toHaveLength(8);
      const fw = of(load('framework-laptop-13-mtl-717EDB7C4975'), 'placeholder-apic-id');
      expect(fw).toHaveLength(26);
      expect(fw[0].message).toContain('0xFFFFFFFF');
    });

    it('B650E: 16 disabled entries reuse the BSP APIC ID 0 and are not hot-plug candidates', () => {
      const t = load('asrock-b650e-pg-riptide-wifi-1C91A62EE21C');
      expect(of(t, 'disabled-apic-id-duplicates-enabled')).toHaveLength(16);
      expect(summarizeAcpi(t).hotplugCandidates).toBe(0);
    });

    it('NUMA: R820 empty domain 0, H8DGU memoryless 1 and 2, DL360 SRAT without SLIT, disabled/zero-length memory', () => {
      const r820 = load('dell-poweredge-r820-E5985CCBA349');
      expect(of(r820, 'empty-numa-domain').map((a) => a.message)).toEqual([expect.stringContaining('domain 0 ')]);
      expect(of(r820, 'ignored-memory-affinity')).toHaveLength(6);
      const h8dgu = load('supermicro-h8dgu-57ED146F2C3C');
      expect(of(h8dgu, 'memoryless-numa-domain').map((a) => a.message)).toEqual([expect.stringContaining('domain 1 '), expect.stringContaining('domain 2 ')]);
      const dl360 = load('hp-proliant-dl360-g7-60DCEE46526A');
      expect(of(dl360, 'srat-without-slit')).toHaveLength(1);
      expect(of(dl360, 'ignored-memory-affinity')).toHaveLength(5);
    });

    it('X8DTT: the 8 hot-pluggable CPUs (0x90-0x97) have no SRAT entry', () => {
      const [a] = of(load('supermicro-x8dtt-CE92DF29C87C'), 'madt-cpu-missing-from-srat');
      expect(a.message).toContain('hot-pluggable');
      expect(a.message).toContain('0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97');
    });

    it('no processor with APIC ID 0: H8QG6 and H8DGU; Framework lists APIC ID 0x20 first', () => {
      expect(of(load('supermicro-h8qg6-58E82626C3C5'), 'no-apic-id-zero')[0].message).toContain('0x20');
      expect(of(load('supermicro-h8dgu-57ED146F2C3C'), 'no-apic-id-zero')[0].message).toContain('0x10');
      expect(of(load('framework-laptop-13-mtl-717EDB7C4975'), 'first-processor-not-apic-id-zero')[0].message).toContain('0x20');
    });

    it('FADT: ThinkPad revision 5 with the revision-3 length is decoded by length', () => {
      const t = load('lenovo-thinkpad-x1-carbon-6th-BE3AACE7B6D7');
      const [a] = of(t, 'fadt-length-revision-mismatch');
      expect(a.message).toContain('268 (0x10C) bytes, found 244 (0xF4)');
      expect(t.fadt!.sleepControlRegister).toBeNull();
      expect(t.fadt!.xPmTmrBlk).not.toBeNull();
    });

    it('FADT: MIIX 3 is hardware-reduced with no PM timer', () => {
      const t = load('lenovo-miix-3-1030-04FF5A51E4B0');
      expect(t.fadt).toMatchObject({ hardwareReduced: true, pmTimerBlock: null, pmTimerBits: null, registerBlocks: [] });
      expect(of(t, 'no-pm-timer')[0].message).toContain('hardware-reduced');
    });

    it('FADT: TMR_VAL_EXT gives a 32-bit timer on H8QG6, B650E and Toshiba, 24-bit elsewhere', () => {
      const wide = MACHINES.filter((m) => load(m).fadt!.pmTimerBits === 32);
      expect(wide.sort()).toEqual(['asrock-b650e-pg-riptide-wifi-1C91A62EE21C', 'supermicro-h8qg6-58E82626C3C5', 'toshiba-satellite-c70d-b-D0292BFAFD2C']);
    });

    it('FADT: GAS widths ACPICA corrects (DL360 G7, DL380 G5) and 32/64X length mismatches (GPE0)', () => {
      for (const m of ['hp-proliant-dl360-g7-60DCEE46526A', 'hp-proliant-dl380-g5-97BE895CF6E6'] as const) {
        const msgs = of(load(m), 'fadt-register-width').map((a) => a.message);
        expect(msgs).toEqual([expect.stringMatching(/^PM1a_CNT_BLK is 32 bits wide.*16/), expect.stringMatching(/^PM2_CNT_BLK is 32 bits wide.*8/)]);
      }
      expect(of(load('supermicro-x8dtt-CE92DF29C87C'), 'fadt-legacy-length-mismatch')[0].message).toContain('GPE0_BLK: legacy length 16 bytes (128 bits), X_ GAS bit width 64');
    });

    it('non-ASCII ASL compiler IDs (D2 04 00 00) in FACP and SRAT headers', () => {
      const dl360 = of(load('hp-proliant-dl360-g7-60DCEE46526A'), 'non-ascii-header');
      expect(dl360.map((a) => [a.table, a.offset, a.message])).toEqual([
        ['FACP', 28, 'creator ID has non-ASCII bytes: D2 04 00 00'],
        ['SRAT', 28, 'creator ID has non-ASCII bytes: D2 04 00 00'],
      ]);
    });
  });

  describe('Toshiba: the real RSDP, RSDT and XSDT', () => {
    const m = 'toshiba-satellite-c70d-b-D0292BFAFD2C';

    it('decode as expected.json says', () => {
      const e = expectedJson(m);
      const t = load(m);
      const { decodedFrom: _d, ...rsdp } = e.rsdp;
      expect(t.rsdp).toEqual({ ...rsdp, length: 36 });
      expect(headerView(t.rsdt!.table)).toEqual(e.rsdt.table);
      expect(t.rsdt!.entries).toEqual(e.rsdt.entries);
      expect(headerView(t.xsdt!.table)).toEqual(e.xsdt.table);
      expect(t.xsdt!.entries).toEqual(e.xsdt.entries);
    });

    it('are found and followed in a memory image (RSDP scanned in 0xE0000-0xFFFFF)', () => {
      const e = expectedJson(m);
      const xsdt: number[] = e.xsdt.entries;
      // The dump lists the tables in XSDT order: FACP is entry 0, APIC entry 3. Everything else is zeros.
      const memory = [
        { signature: 'RSDP', address: 0xf0450, bytes: datFile(m, 'rsdp.dat') },
        { signature: 'RSDT', address: e.rsdp.rsdtAddress, bytes: datFile(m, 'rsdt.dat') },
        { signature: 'XSDT', address: e.rsdp.xsdtAddress, bytes: datFile(m, 'xsdt.dat') },
        { signature: 'FACP', address: xsdt[0], bytes: datFile(m, 'facp.dat') },
        { signature: 'APIC', address: xsdt[3], bytes: datFile(m, 'apic.dat') },
      ];
      const t = parseAcpiFromMemory(layoutReader(memory));
      expect(t.addresses).toMatchObject({ RSDP: 0xf0450, XSDT: e.rsdp.xsdtAddress, RSDT: e.rsdp.rsdtAddress, FACP: xsdt[0], APIC: xsdt[3] });
      expect(summarizeAcpi(t)).toEqual(e.summary);
      // 19 pointers lead to (zeroed) memory without a table; the FADT's DSDT pointer too.
      const notTables = of(t, 'not-a-table');
      expect(notTables.filter((a) => a.table === 'XSDT')).toHaveLength(19);
      expect(notTables.filter((a) => a.table === 'FACP')).toHaveLength(2); // DSDT and FACS
    });
  });

  it('parsing the corpus table by table gives the same tables as the directory loader', () => {
    const m = 'dell-poweredge-r820-E5985CCBA349';
    const t = parseAcpiTables(['apic.dat', 'facp.dat', 'slit.dat', 'srat.dat'].map((f) => datFile(m, f)));
    expect(summarizeAcpi(t)).toEqual(expectedJson(m).summary);
  });
});
