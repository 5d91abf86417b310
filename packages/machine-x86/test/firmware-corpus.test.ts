// Firmware from the 12 real table sets of ../shared/acpi-corpus (the test FAILS when it is missing).
import { summarizeAcpi } from '@latelaunch/acpi';
import { loadTableDir } from '@latelaunch/acpi/node';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { E820Type, buildFirmware, readAcpiDir } from '../src/index.js';
import { checkBootInfo, checkE820, discover, ramBytes } from './firmware-helpers.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const corpus = resolve(repoRoot, '..', 'shared', 'acpi-corpus');
const MiB = 0x100000;

const MACHINES = [
  'asrock-b650e-pg-riptide-wifi-1C91A62EE21C',
  'dell-poweredge-r820-E5985CCBA349',
  'framework-laptop-13-mtl-717EDB7C4975',
  'gigabyte-x299-ud4-pro-331F76F426AF',
  'hp-proliant-dl360-g7-60DCEE46526A',
  'hp-proliant-dl380-g5-97BE895CF6E6',
  'lenovo-miix-3-1030-04FF5A51E4B0',
  'lenovo-thinkpad-x1-carbon-6th-BE3AACE7B6D7',
  'supermicro-h8dgu-57ED146F2C3C',
  'supermicro-h8qg6-58E82626C3C5',
  'supermicro-x8dtt-CE92DF29C87C',
  'toshiba-satellite-c70d-b-D0292BFAFD2C',
];

interface Expected {
  summary: {
    enabled: number;
    enabledApicIds: number[];
    hotplugCandidateApicIds: number[];
    ioApicCount: number;
    pmTimer: { address: number } | null;
    numa: unknown;
  };
  srat: { memoryAffinity: { base: number; length: number; enabled: boolean; hotPluggable: boolean }[] } | null;
  fadt: { tmrValExt: boolean };
}

/** RAM the SRAT describes above 1 MiB outside the PCI hole (4 KiB granular), computed independently. */
function sratRamAbove1M(exp: Expected): number {
  const r = (exp.srat?.memoryAffinity ?? []).filter((m) => m.enabled && m.length > 0 && !m.hotPluggable).map((m) => [m.base, m.base + m.length] as [number, number]);
  r.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const x of r) {
    const last = merged[merged.length - 1];
    if (last && x[0] <= last[1]) last[1] = Math.max(last[1], x[1]);
    else merged.push([...x]);
  }
  let total = 0;
  for (const [a, b] of merged) {
    for (const [lo, hi] of [
      [MiB, 0xc0000000],
      [0x100000000, 2 ** 52],
    ]) {
      const from = Math.ceil(Math.max(a, lo) / 4096) * 4096;
      const to = Math.floor(Math.min(b, hi) / 4096) * 4096;
      if (to > from) total += to - from;
    }
  }
  return total;
}

describe('firmware from the ACPI corpus', () => {
  it('the corpus is present with its 12 machines', () => {
    expect(existsSync(corpus), `ACPI corpus missing at ${corpus}`).toBe(true);
    expect(readdirSync(corpus).filter((f) => MACHINES.includes(f)).sort()).toEqual([...MACHINES].sort());
  });

  for (const m of MACHINES) {
    it(m, () => {
      const dir = join(corpus, m);
      const exp = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
      const fw = buildFirmware({ acpiDir: dir, cmdline: m });
      const t = discover(fw);
      const s = summarizeAcpi(t);
      // Processors: exactly the enabled APIC IDs of the MADT, x2APIC entries included.
      expect(s.enabledApicIds).toEqual(exp.summary.enabledApicIds);
      expect(fw.processors.filter((p) => p.enabled).map((p) => p.apicId)).toEqual(exp.summary.enabledApicIds);
      expect(fw.processors.filter((p) => !p.enabled).map((p) => p.apicId)).toEqual(exp.summary.hotplugCandidateApicIds);
      expect(s.ioApicCount).toBe(exp.summary.ioApicCount);
      expect(fw.ioApics).toHaveLength(exp.summary.ioApicCount);
      // NUMA summary identical to the original machine's.
      expect(s.numa).toEqual(exp.summary.numa);
      // PM timer.
      expect(s.pmTimer).toEqual(exp.summary.pmTimer);
      expect(fw.pmTimer).toEqual(exp.summary.pmTimer ? { port: exp.summary.pmTimer.address, width: exp.fadt.tmrValExt ? 32 : 24 } : null);
      // Anomalies of the source tables are reported, not thrown; same as loadTableDir's.
      expect(fw.anomalies).toEqual(loadTableDir(dir).anomalies);
      // Fresh root tables and a patched FADT with valid checksums; DSDT (and FACS unless hardware-reduced) synthesized.
      expect(t.anomalies.filter((a) => ['RSDP', 'RSDT', 'XSDT', 'FACP', 'DSDT'].includes(a.table) && a.kind === 'bad-checksum')).toEqual([]);
      expect(t.facs === null).toBe(t.fadt?.hardwareReduced === true);
      expect(fw.notes).toContain('synthesized a minimal DSDT (empty definition block)');
      // E820: consistent, tables in ACPI memory, RAM = the SRAT's (or the configured 1 GiB).
      checkE820(fw, t);
      checkBootInfo(fw, m);
      if (exp.srat) expect(ramBytes(fw.e820, MiB)).toBe(sratRamAbove1M(exp));
      else expect(ramBytes(fw.e820) + 0x400).toBe(1024 * MiB - 0x60000);
      expect(fw.e820.filter((e) => e.type === E820Type.AcpiReclaimable)).toHaveLength(1);
      // NUMA nodes of the processors agree with the SRAT.
      if (fw.numa) {
        for (const n of fw.numa.nodes) {
          const per = (s.numa?.perDomain as Record<string, { enabledCpuApicIds: number[] }>)[String(n.node)];
          const ids = n.cpus.map((i) => fw.processors[i]).filter((p) => p.enabled).map((p) => p.apicId).sort((a, b) => a - b);
          expect(ids).toEqual([...(per?.enabledCpuApicIds ?? [])].sort((a, b) => a - b));
        }
      }
    });
  }

  it('Dell R820: 80 CPUs, 4 populated domains plus the empty domain 0, ~66 GiB from the SRAT', () => {
    const fw = buildFirmware({ acpiDir: join(corpus, 'dell-poweredge-r820-E5985CCBA349') });
    expect(fw.processors.filter((p) => p.enabled)).toHaveLength(80);
    expect(fw.processors.filter((p) => !p.enabled)).toHaveLength(16);
    expect(fw.numa?.nodes.map((n) => n.node)).toEqual([0, 1, 2, 3, 4]);
    // Domain 0 is empty: no memory, only the 16 hot-pluggable (disabled) processors.
    expect(fw.numa?.nodes[0].memoryBytes).toBe(0);
    expect(fw.numa?.nodes[0].cpus.map((i) => fw.processors[i].enabled)).toEqual(Array(16).fill(false));
    expect(fw.numa?.distances?.[1][2]).toBe(20);
    expect(fw.layout.highMemorySize).toBeGreaterThan(60 * 1024 * MiB);
    expect(fw.topology.source).toBe('heuristic');
  });

  it('acpiTables (raw buffers) gives the same result as acpiDir; a set without MADT is refused', () => {
    const dir = join(corpus, 'supermicro-h8qg6-58E82626C3C5');
    const a = buildFirmware({ acpiDir: dir });
    const b = buildFirmware({ acpiTables: readAcpiDir(dir) });
    expect(b.e820).toEqual(a.e820);
    expect(b.processors).toEqual(a.processors);
    expect(b.memory.readBytes(b.rsdpAddress, 36)).toEqual(a.memory.readBytes(a.rsdpAddress, 36));
    const noMadt = readAcpiDir(dir).filter((x) => String.fromCharCode(...x.subarray(0, 4)) !== 'APIC');
    expect(() => buildFirmware({ acpiTables: noMadt })).toThrow(/no MADT/);
    expect(() => buildFirmware({ acpiDir: join(corpus, 'no-such-machine') })).toThrow(/cannot read/);
  });
});
