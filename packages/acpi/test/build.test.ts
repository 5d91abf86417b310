// Builders: config → tables → parse → the same config (property-based), and the specific layouts
// the firmware needs (x2APIC entries, hot-plug placeholders, HT APIC IDs, NUMA nodes, layout).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@latelaunch/kernel';
import {
  buildAcpiTables,
  checksumOk,
  configFromTables,
  FadtFlags,
  layoutReader,
  layoutTables,
  normalizeAcpiConfig,
  parseAcpiFromMemory,
  parseAcpiTables,
  processorTopology,
  summarizeAcpi,
} from '../src/index.js';
import type { AcpiMachineConfigInput, AcpiTableImages } from '../src/index.js';
import { loadTableDir } from '../src/node.js';
import { MACHINES, machineDir } from './corpus-helpers.js';

const blobs = (i: AcpiTableImages): Uint8Array[] => [i.fadt, i.madt, i.dsdt, i.facs, i.srat, i.slit].filter((b): b is Uint8Array => b !== null);

const ascii = (max: number) => fc.array(fc.integer({ min: 0x20, max: 0x7e }), { maxLength: max }).map((a) => String.fromCharCode(...a));
const u = (bits: number) => fc.integer({ min: 0, max: 2 ** bits - 1 });

/** Random but valid machine descriptions, exercising every field of the config. */
const configArb: fc.Arbitrary<AcpiMachineConfigInput> = fc
  .record({
    n: fc.integer({ min: 1, max: 24 }),
    nodeCount: fc.integer({ min: 0, max: 5 }),
    madtRevision: fc.integer({ min: 1, max: 6 }),
    fadtRevision: fc.integer({ min: 1, max: 6 }),
  })
  .chain(({ n, nodeCount, madtRevision, fadtRevision }) =>
    fc.record({
      apicIds: fc.uniqueArray(fc.oneof(fc.integer({ min: 0, max: 254 }), fc.integer({ min: 255, max: 0xffff_fffe })), { minLength: n, maxLength: n }),
      uids: fc.option(fc.uniqueArray(fc.oneof(fc.integer({ min: 0, max: 254 }), fc.integer({ min: 255, max: 0xffff_fffe })), { minLength: n, maxLength: n }), { nil: undefined }),
      present: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
      nodes: fc.array(fc.option(fc.integer({ min: 0, max: Math.max(0, nodeCount - 1) }), { nil: null }), { minLength: n, maxLength: n }),
      memory: fc.array(
        fc.array(fc.record({ base: fc.integer({ min: 0, max: 2 ** 50 }), length: fc.integer({ min: 1, max: 2 ** 40 }), hotPluggable: fc.boolean(), nonVolatile: fc.boolean() }), { maxLength: 3 }),
        { minLength: nodeCount, maxLength: nodeCount },
      ),
      distances: fc.oneof(
        fc.constant<'default' | 'none' | 'random'>('default'),
        fc.constant<'default' | 'none' | 'random'>('none'),
        fc.constant<'default' | 'none' | 'random'>('random'),
      ),
      randomDistances: fc.array(fc.integer({ min: 11, max: 255 }), { minLength: nodeCount * nodeCount, maxLength: nodeCount * nodeCount }),
      oem: fc.record({ oemId: ascii(6), oemTableId: ascii(8), oemRevision: u(32), creatorId: ascii(4), creatorRevision: u(32) }),
      localApicAddress: u(32),
      pcatCompat: fc.boolean(),
      ioApics: fc.uniqueArray(fc.record({ id: u(8), address: u(32), gsiBase: u(32) }), { selector: (x) => x.id, maxLength: 4 }),
      interruptOverrides: fc.option(fc.array(fc.record({ bus: u(8), source: u(8), gsi: u(32), flags: u(16) }), { maxLength: 4 }), { nil: undefined }),
      nmiSources: fc.array(fc.record({ gsi: u(32), flags: u(16) }), { maxLength: 2 }),
      localApicNmi: fc.option(fc.record({ flags: u(16), lint: fc.integer({ min: 0, max: 1 }) }), { nil: null }),
      localApicAddressOverride: fc.option(fc.integer({ min: 0, max: 2 ** 52 }), { nil: null }),
      hw: fadtRevision >= 5 ? fc.boolean() : fc.constant(false),
      pmTimer: fc.option(fc.record({ port: fc.integer({ min: 1, max: 0xffff }), bits: fc.constantFrom<24 | 32>(24, 32) }), { nil: null }),
      fadt: fc.record({
        minorRevision: u(4),
        sciInterrupt: u(16),
        smiCommandPort: u(32),
        acpiEnable: u(8),
        acpiDisable: u(8),
        pm1aEventBlock: fc.integer({ min: 1, max: 0xffff }),
        pm1aControlBlock: fc.integer({ min: 1, max: 0xffff }),
        gpe0Block: u(16),
        gpe0BlockLength: u(8),
        pmProfile: u(8),
        century: u(8),
        iapcBootFlags: u(16),
        flags: u(32).map((f) => (f & ~(FadtFlags.TmrValExt | FadtFlags.HwReducedAcpi | FadtFlags.ResetRegSup)) >>> 0),
        reset: fc.option(fc.record({ port: fc.integer({ min: 1, max: 0xffff }), value: u(8) }), { nil: null }),
      }),
      dsdtAml: fc.uint8Array({ maxLength: 48 }),
    }).map((r): AcpiMachineConfigInput => {
      r.present[0] = true;
      const numa = nodeCount > 0;
      const memory = r.memory.map((ranges) => ranges.map((m) => ({ ...m })));
      const processors = r.apicIds.map((apicId, i) => ({ apicId, uid: r.uids?.[i], present: r.present[i], node: numa ? r.nodes[i] : null }));
      let distances: number[][] | null | undefined;
      if (r.distances === 'none') {
        distances = null;
        // Without a SLIT a node only exists through SRAT entries: give unreferenced nodes memory.
        memory.forEach((ranges, i) => {
          if (!ranges.length && !processors.some((p) => p.node === i)) ranges.push({ base: i * 2 ** 30, length: 2 ** 30, hotPluggable: false, nonVolatile: false });
        });
      } else if (r.distances === 'random') {
        distances = Array.from({ length: nodeCount }, (_, i) => Array.from({ length: nodeCount }, (_, j) => (i === j ? 10 : r.randomDistances[i * nodeCount + j])));
      }
      const hw = r.hw;
      return {
        oem: r.oem,
        madtRevision,
        localApicAddress: r.localApicAddress,
        pcatCompat: r.pcatCompat,
        processors: processors.map((p) => (p.uid === undefined ? { apicId: p.apicId, present: p.present, node: p.node } : p)),
        ioApics: r.ioApics,
        interruptOverrides: r.interruptOverrides,
        nmiSources: r.nmiSources,
        localApicNmi: r.localApicNmi,
        localApicAddressOverride: r.localApicAddressOverride,
        numa: numa ? { nodes: memory.map((m) => ({ memory: m })), distances } : null,
        pmTimer: hw ? null : r.pmTimer,
        fadt: {
          ...r.fadt,
          revision: fadtRevision,
          hardwareReduced: hw,
          ...(hw ? { pm1aEventBlock: 0, pm1aControlBlock: 0, gpe0Block: 0 } : {}),
        },
        dsdtAml: r.dsdtAml,
      };
    }),
  );

describe('round trip: config → tables → parse → same config', () => {
  it('through a table set (fast-check)', () => {
    fc.assert(
      fc.property(configArb, (input) => {
        const expected = normalizeAcpiConfig(input);
        const images = buildAcpiTables(input);
        for (const b of blobs(images)) if (b !== images.facs) expect(checksumOk(b)).toBe(true);
        const parsed = parseAcpiTables(blobs(images));
        expect(parsed.anomalies.filter((a) => a.severity === 'error')).toEqual([]);
        expect(configFromTables(parsed)).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  it('through a memory image: layout, RSDP scan, XSDT walk (fast-check)', () => {
    fc.assert(
      fc.property(configArb, fc.integer({ min: 0x10_0000, max: 0xf000_0000 }), fc.integer({ min: 0, max: 0x1ffd }), (input, base, slot) => {
        const expected = normalizeAcpiConfig(input);
        const layout = layoutTables(buildAcpiTables(input), base, { rsdpAddress: 0xe0000 + slot * 16 });
        const parsed = parseAcpiFromMemory(layoutReader(layout.tables));
        expect(parsed.addresses.RSDP).toBe(layout.rsdpAddress);
        expect(parsed.anomalies.filter((a) => a.severity === 'error')).toEqual([]);
        expect(configFromTables(parsed)).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });

  it('normalizing twice changes nothing; building the normalized config gives the same bytes', () => {
    fc.assert(
      fc.property(configArb, (input) => {
        const once = normalizeAcpiConfig(input);
        expect(normalizeAcpiConfig(once)).toEqual(once);
        expect(blobs(buildAcpiTables(once))).toEqual(blobs(buildAcpiTables(input)));
      }),
      { numRuns: 50 },
    );
  });

  it.each(MACHINES)('corpus %s: the discovered machine rebuilds to tables that give the same machine', (m) => {
    const t = loadTableDir(machineDir(m));
    const config = configFromTables(t);
    const rebuilt = parseAcpiTables(blobs(buildAcpiTables(config)));
    expect(configFromTables(rebuilt)).toEqual(config);
    const s = summarizeAcpi(t);
    const r = summarizeAcpi(rebuilt);
    expect(r.enabledApicIds).toEqual(s.enabledApicIds);
    expect(r.hotplugCandidateApicIds).toEqual(s.hotplugCandidateApicIds);
    expect(r.pmTimer?.address).toEqual(s.pmTimer?.address);
    expect(r.numa?.populatedDomains).toEqual(s.numa?.populatedDomains);
  });
});

describe('builder layouts', () => {
  it('the default machine: one BSP, I/O APIC 0xFEC00000, local APIC 0xFEE00000, PM timer at 0x608', () => {
    const t = parseAcpiTables(blobs(buildAcpiTables()));
    expect(t.madt).toMatchObject({ localApicAddress: 0xfee00000, pcatCompat: true, ioApics: [{ id: 1, address: 0xfec00000, gsiBase: 0 }] });
    expect(t.madt!.processors).toEqual([{ type: 'lapic', uid: 0, apicId: 0, flags: 1, enabled: true, onlineCapable: false }]);
    expect(t.madt!.interruptOverrides.map((o) => [o.source, o.gsi, o.flags])).toEqual([
      [0, 2, 0],
      [9, 9, 0xd],
    ]);
    expect(t.fadt).toMatchObject({ pmTimerBlock: { source: 'X_PM_TMR_BLK', spaceId: 1, address: 0x608 }, pmTimerBits: 24, sciInterrupt: 9, hardwareReduced: false });
    expect(t.dsdt!.aml.length).toBe(0);
    expect(t.facs).toMatchObject({ length: 64, version: 2 });
    expect(t.anomalies).toEqual([]);
  });

  it('hyper-threading APIC ID layout: primary threads first, then siblings', () => {
    const procs = processorTopology({ packages: 2, coresPerPackage: 3, threadsPerCore: 2 });
    // coreBits = 2, threadBits = 1: package p core c thread t → p<<3 | c<<1 | t
    expect(procs.map((p) => p.apicId)).toEqual([0, 2, 4, 8, 10, 12, 1, 3, 5, 9, 11, 13]);
    expect(procs.map((p) => p.uid)).toEqual([...Array(12).keys()]);
    const s = summarizeAcpi(parseAcpiTables(blobs(buildAcpiTables({ processors: procs }))));
    expect(s.enabledApicIds).toEqual([0, 2, 4, 8, 10, 12, 1, 3, 5, 9, 11, 13]);
  });

  it('hot-pluggable processors are disabled entries: Online Capable at MADT revision ≥ 5, real APIC IDs before', () => {
    const processors = processorTopology({ packages: 2, coresPerPackage: 2, threadsPerCore: 1, presentPackages: 1 });
    expect(processors.map((p) => [p.apicId, p.present])).toEqual([
      [0, true],
      [1, true],
      [2, false],
      [3, false],
    ]);
    for (const madtRevision of [3, 5]) {
      const t = parseAcpiTables(blobs(buildAcpiTables({ processors, madtRevision })));
      expect(t.madt!.processors.map((p) => p.flags)).toEqual([1, 1, madtRevision >= 5 ? 2 : 0, madtRevision >= 5 ? 2 : 0]);
      expect(summarizeAcpi(t)).toMatchObject({ enabled: 2, disabled: 2, hotplugCandidates: 2, hotplugCandidateApicIds: [2, 3], onlineCapable: madtRevision >= 5 ? 2 : 0 });
    }
  });

  it('x2APIC IDs ≥ 255 become type-9 MADT entries, type-2 SRAT entries and an x2APIC NMI', () => {
    const images = buildAcpiTables({
      processors: [
        { apicId: 0, node: 0 },
        { apicId: 254, node: 0 },
        { apicId: 255, node: 1 },
        { apicId: 0x1_0000, node: 1, present: false },
      ],
      numa: { nodes: [{ memory: [{ base: 0, length: 2 ** 31 }] }, { memory: [{ base: 2 ** 32, length: 2 ** 31 }] }] },
    });
    const t = parseAcpiTables(blobs(images));
    expect(t.madt!.processors.map((p) => [p.type, p.apicId, p.enabled])).toEqual([
      ['lapic', 0, true],
      ['lapic', 254, true],
      ['x2apic', 255, true],
      ['x2apic', 0x10000, false],
    ]);
    expect(t.madt!.localApicNmis.map((n) => [n.type, n.uid, n.lint])).toEqual([
      ['lapic', 0xff, 1],
      ['x2apic', 0xffffffff, 1],
    ]);
    expect(t.srat!.cpuAffinity.map((c) => [c.type, c.apicId, c.proximityDomain, c.enabled])).toEqual([
      ['lapic', 0, 0, true],
      ['lapic', 254, 0, true],
      ['x2apic', 255, 1, true],
      ['x2apic', 0x10000, 1, false],
    ]);
    expect(summarizeAcpi(t)).toMatchObject({ lapicEntries: 2, x2apicEntries: 2, hotplugCandidateApicIds: [0x10000] });
  });

  it('NUMA: empty and memoryless nodes, processor→node assignment, SLIT distances', () => {
    const t = parseAcpiTables(
      blobs(
        buildAcpiTables({
          processors: [
            { apicId: 0, node: 0 },
            { apicId: 1, node: 1 },
            { apicId: 2, node: 2, present: false },
          ],
          numa: {
            nodes: [{ memory: [{ base: 0, length: 0x8000_0000 }] }, { memory: [] }, { memory: [] }, { memory: [{ base: 0x1_0000_0000, length: 0x4000_0000, hotPluggable: true }] }],
            distances: [
              [10, 21, 31, 41],
              [21, 10, 21, 31],
              [31, 21, 10, 21],
              [41, 31, 21, 10],
            ],
          },
        }),
      ),
    );
    expect(summarizeAcpi(t).numa).toEqual({
      populatedDomains: [0, 1, 3],
      allDomainsReferenced: [0, 1, 2, 3],
      emptyDomains: [2],
      memorylessDomains: [1],
      cpulessDomains: [3],
      perDomain: {
        0: { enabledCpuApicIds: [0], memory: [[0, 0x8000_0000]], memoryBytes: 0x8000_0000, hotPluggableMemoryBytes: 0 },
        1: { enabledCpuApicIds: [1], memory: [], memoryBytes: 0, hotPluggableMemoryBytes: 0 },
        3: { enabledCpuApicIds: [], memory: [[0x1_0000_0000, 0x4000_0000]], memoryBytes: 0x4000_0000, hotPluggableMemoryBytes: 0x4000_0000 },
      },
      enabledMadtCpusMissingFromSrat: [],
    });
    expect(t.slit!.matrix[0]).toEqual([10, 21, 31, 41]);
    expect(t.anomalies.map((a) => a.kind).sort()).toEqual(['cpuless-numa-domain', 'empty-numa-domain', 'memoryless-numa-domain']);
  });

  it('PM timer: port and width (TMR_VAL_EXT), none, and hardware-reduced', () => {
    const f32 = parseAcpiTables(blobs(buildAcpiTables({ pmTimer: { port: 0xb008, bits: 32 } }))).fadt!;
    expect(f32).toMatchObject({ pmTmrBlk: 0xb008, pmTimerLength: 4, tmrValExt: true, pmTimerBits: 32, xPmTmrBlk: { spaceId: 1, bitWidth: 32, accessWidth: 3, address: 0xb008 } });
    const none = parseAcpiTables(blobs(buildAcpiTables({ pmTimer: null })));
    expect(none.fadt!.pmTimerBlock).toBeNull();
    expect(none.anomalies.map((a) => a.kind)).toEqual(['no-pm-timer']);
    const hw = parseAcpiTables(blobs(buildAcpiTables({ fadt: { hardwareReduced: true } })));
    expect(hw.fadt).toMatchObject({ hardwareReduced: true, pmTimerBlock: null, pm1aEventBlock: 0, sciInterrupt: 0 });
    expect(hw.facs).toBeNull();
  });

  it('every FADT revision 1-6 gets its length; the PM timer comes from PM_TMR_BLK before revision 3', () => {
    for (const revision of [1, 2, 3, 4, 5, 6]) {
      const t = parseAcpiTables(blobs(buildAcpiTables({ fadt: { revision } })));
      expect(t.fadt!.table.length).toBe([116, 132, 244, 244, 268, 276][revision - 1]);
      expect(t.fadt!.pmTimerBlock).toEqual({ source: revision >= 3 ? 'X_PM_TMR_BLK' : 'PM_TMR_BLK', spaceId: 1, address: 0x608 });
      expect(t.fadt!.resetRegister === null).toBe(revision === 1);
      expect(t.anomalies).toEqual([]);
    }
  });

  it('DSDT: empty definition block by default, AML body carried as bytes', () => {
    const aml = Uint8Array.of(0x10, 0x05, 0x5c, 0x5f, 0x53, 0x42, 0x5f); // Scope (\_SB_) {}
    const t = parseAcpiTables(blobs(buildAcpiTables({ dsdtAml: aml })));
    expect(t.dsdt!.table).toMatchObject({ signature: 'DSDT', length: 36 + aml.length, revision: 2, checksumOk: true });
    expect([...t.dsdt!.aml]).toEqual([...aml]);
  });

  it('rejects an invalid config with every problem listed', () => {
    const bad = () =>
      buildAcpiTables({
        processors: [
          { apicId: 1, present: false },
          { apicId: 1, uid: 0 },
        ],
        pmTimer: { port: 0x10000, bits: 24 },
        oem: { oemId: 'TOO-LONG' },
      });
    expect(bad).toThrowError(InvalidArgumentError);
    expect(bad).toThrowError(/apicId 1 is used twice.*uid 0 is used twice.*oemId|oemId.*apicId 1 is used twice/);
    expect(bad).toThrowError(/pmTimer.port/);
  });
});

describe('layoutTables', () => {
  const images = buildAcpiTables({ processors: [{ apicId: 0, node: 0 }], numa: { nodes: [{ memory: [{ base: 0, length: 2 ** 30 }] }] } });

  it('places the tables, patches every pointer and keeps every checksum valid', () => {
    const l = layoutTables(images, 0x7fe_0000, { rsdpAddress: 0xf0000 });
    expect(l.tables.map((t) => t.signature)).toEqual(['RSDP', 'FACS', 'DSDT', 'FACP', 'APIC', 'SRAT', 'SLIT', 'RSDT', 'XSDT']);
    const at = Object.fromEntries(l.tables.map((t) => [t.signature, t.address]));
    expect(at.RSDP).toBe(0xf0000);
    expect(at.FACS % 64).toBe(0);
    for (const t of l.tables) {
      expect(t.address % 16).toBe(0);
      if (t.signature !== 'FACS' && t.signature !== 'RSDP') expect(checksumOk(t.bytes)).toBe(true);
    }
    const parsed = parseAcpiTables(l.tables.map((t) => t.bytes));
    expect(parsed.rsdp).toMatchObject({ revision: 2, rsdtAddress: at.RSDT, xsdtAddress: at.XSDT, checksumOk: true, extendedChecksumOk: true });
    expect(parsed.xsdt!.entries).toEqual([at.FACP, at.APIC, at.SRAT, at.SLIT]);
    expect(parsed.rsdt!.entries).toEqual([at.FACP, at.APIC, at.SRAT, at.SLIT]);
    expect(parsed.fadt).toMatchObject({ firmwareCtrl: at.FACS, dsdt: at.DSDT, xDsdt: at.DSDT, xFirmwareCtrl: 0, dsdtAddress: at.DSDT, facsAddress: at.FACS });
    expect(l.start).toBe(0x7fe_0000);
    expect(l.end).toBe(at.XSDT + 36 + 8 * 4);
    // the input images are untouched
    expect(images.fadt.subarray(36, 44).every((x) => x === 0)).toBe(true);
  });

  it('puts the RSDP first at the base when no address is given; revision 0 means RSDT only', () => {
    const l = layoutTables(images, 0x1003, { rsdpRevision: 0 });
    expect(l.rsdpAddress).toBe(0x1010);
    expect(l.tables[0]).toMatchObject({ signature: 'RSDP', address: 0x1010 });
    expect(l.tables[0].bytes.length).toBe(20);
    expect(l.xsdtAddress).toBeNull();
    const t = parseAcpiTables(l.tables.map((x) => x.bytes));
    expect(t.rsdp).toMatchObject({ revision: 0, xsdtAddress: 0, extendedChecksumOk: null });
    expect(t.xsdt).toBeNull();
  });

  it('refuses layouts above 4 GiB, overlapping RSDPs and unaligned RSDPs', () => {
    expect(() => layoutTables(images, 0xffff_ff00)).toThrowError(/above 4 GiB/);
    expect(() => layoutTables(images, 0x10_0000, { rsdpAddress: 0x10_0040 })).toThrowError(/overlaps/);
    expect(() => layoutTables(images, 0x10_0000, { rsdpAddress: 0xf0008 })).toThrowError(/16-byte aligned/);
  });
});
