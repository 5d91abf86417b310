/**
 * PC firmware: ACPI tables, the E820 map, the BIOS data area and the boot information, built into
 * guest memory from a machine config or from a real table set (DESIGN §5).
 */
import {
  buildAcpiTables,
  hotplugCandidates,
  parseAcpiTables,
  summarizeAcpi,
  type AcpiAnomaly,
  type AcpiTables,
  type OemInfo,
} from '@latelaunch/acpi';
import { InvalidArgumentError } from '@latelaunch/kernel';
import { buildPcMemoryLayout, carveE820, E820Type, type E820Entry, type PcMemoryLayout } from '../memory/pc-layout.js';
import type { RamRange } from '../memory/layout.js';
import { SparseMemory } from '../memory/sparse-memory.js';
import { placeAcpiTables, type AcpiBlob, type PlacedAcpiTable } from './acpi-placement.js';
import { encodeBootInfo, type BootInfo } from './boot-info.js';
import {
  DEFAULT_BOOT_INFO_ADDRESS,
  DEFAULT_RSDP_ADDRESS,
  normalizeFirmwareConfig,
  type FirmwareConfig,
  type FirmwareConfigInput,
  type FirmwareNumaNode,
  type FirmwareProcessor,
} from './config.js';
import { guessTopology, type CpuTopology } from './topology.js';

const MiB = 0x100000;
const FOUR_GIB = 0x100000000;
const PAGE = 4096;
/** BIOS data area: EBDA segment (u16) and base memory size in KiB (u16). */
export const BDA_EBDA_SEGMENT = 0x40e;
export const BDA_BASE_MEMORY_KIB = 0x413;

/** Build from a real table set: raw table images (as `acpixtract -a` writes them) or a directory of `*.dat` files. */
export interface AcpiTableSource {
  /** Directory of raw tables (`*.dat`, read in name order like `loadTableDir`); Node ≥ 20.16 only. */
  readonly acpiDir?: string;
  /** The raw tables themselves (platform-neutral alternative to `acpiDir`). */
  readonly acpiTables?: readonly Uint8Array[];
  /** RAM when the tables have no SRAT memory (MiB). Default 1024. */
  readonly memoryMiB?: number;
  readonly pciHoleStart?: number;
  readonly cmdline?: string;
  readonly bootLoaderName?: string;
  readonly bootInfoAddress?: number;
  readonly rsdpAddress?: number;
}

export type FirmwareSource = FirmwareConfigInput | AcpiTableSource;

export interface FirmwareIoApic {
  readonly id: number;
  readonly address: number;
  readonly gsiBase: number;
}

export interface FirmwareResult {
  /** Where the description came from. */
  readonly source: 'config' | 'acpi-tables';
  readonly rsdpAddress: number;
  readonly rsdtAddress: number;
  readonly xsdtAddress: number;
  /** The E820 map handed to the OS (sorted, non-overlapping; ACPI tables as types 3/4). */
  readonly e820: readonly E820Entry[];
  /** The memory layout (`ranges` for `SparseMemory`, `e820` = {@link e820}); pass it to `loadMultiboot`. */
  readonly layout: PcMemoryLayout;
  /** The memory the firmware wrote (the one given, or a new `SparseMemory` over `layout.ranges`). */
  readonly memory: SparseMemory;
  readonly bootInfoAddress: number;
  readonly bootInfo: BootInfo;
  /** Processors in machine order: enabled ones first (MADT order), then hot-pluggable ones. */
  readonly processors: readonly FirmwareProcessor[];
  readonly topology: CpuTopology;
  readonly ioApics: readonly FirmwareIoApic[];
  /** ISA IRQ → GSI (16 entries; MADT interrupt source overrides applied). */
  readonly isaIrqToGsi: readonly number[];
  readonly pmTimer: { readonly port: number; readonly width: 24 | 32 } | null;
  readonly numa: { readonly nodes: readonly FirmwareNumaNode[]; readonly distances: readonly (readonly number[])[] | null } | null;
  readonly localApicAddress: number;
  /** Placed tables (FACS, DSDT, FACP, APIC, …, RSDT, XSDT). */
  readonly tables: readonly PlacedAcpiTable[];
  /** Firmware anomalies the parser reported for the source tables (never thrown). */
  readonly anomalies: readonly AcpiAnomaly[];
  /** What the firmware changed or synthesized (e.g. "synthesized DSDT"). */
  readonly notes: readonly string[];
  /** The normalized config (config source only). */
  readonly config: FirmwareConfig | null;
}

function isTableSource(s: FirmwareSource): s is AcpiTableSource {
  return 'acpiDir' in s || 'acpiTables' in s;
}

/** Reads every `*.dat` of `dir` in name order (what `loadTableDir` does), without a static node:fs import. */
export function readAcpiDir(dir: string): Uint8Array[] {
  const getBuiltin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
  if (typeof getBuiltin !== 'function') throw new InvalidArgumentError('acpiDir needs Node.js ≥ 20.16 (process.getBuiltinModule); pass acpiTables instead');
  const fs = getBuiltin('node:fs') as typeof import('node:fs');
  const path = getBuiltin('node:path') as typeof import('node:path');
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => f.toLowerCase().endsWith('.dat')).sort();
  } catch (e) {
    throw new InvalidArgumentError(`cannot read ACPI table directory ${dir}: ${(e as Error).message}`);
  }
  if (files.length === 0) throw new InvalidArgumentError(`ACPI table directory ${dir} has no *.dat files`);
  return files.map((f) => new Uint8Array(fs.readFileSync(path.join(dir, f))));
}

/** Subtracts `holes` from sorted `ranges`. */
function subtract(ranges: readonly RamRange[], holes: readonly { base: number; end: number }[]): RamRange[] {
  let cur = ranges.map((r) => ({ base: r.base, end: r.base + r.size }));
  for (const h of holes) {
    const next: { base: number; end: number }[] = [];
    for (const r of cur) {
      if (r.end <= h.base || r.base >= h.end) next.push(r);
      else {
        if (r.base < h.base) next.push({ base: r.base, end: h.base });
        if (r.end > h.end) next.push({ base: h.end, end: r.end });
      }
    }
    cur = next;
  }
  return cur.filter((r) => r.end > r.base).map((r) => ({ base: r.base, size: r.end - r.base }));
}

function mergeRanges(ranges: readonly RamRange[]): RamRange[] {
  const sorted = [...ranges].filter((r) => r.size > 0).sort((a, b) => a.base - b.base);
  const out: RamRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.base <= last.base + last.size) out[out.length - 1] = { base: last.base, size: Math.max(last.base + last.size, r.base + r.size) - last.base };
    else out.push({ ...r });
  }
  return out;
}

/** A PC layout whose RAM above 1 MiB is exactly `ram` (SRAT memory), holes applied. */
function layoutFromRam(ram: readonly RamRange[], pciHoleStart: number): PcMemoryLayout {
  const high = subtract(mergeRanges(ram), [
    { base: 0, end: MiB },
    { base: pciHoleStart, end: FOUR_GIB },
  ])
    .map((r) => {
      const base = Math.ceil(r.base / PAGE) * PAGE;
      const end = Math.floor((r.base + r.size) / PAGE) * PAGE;
      return { base, size: end - base };
    })
    .filter((r) => r.size > 0);
  const ranges: RamRange[] = [{ base: 0, size: 0xa0000 }, { base: 0xe0000, size: MiB - 0xe0000 }, ...high];
  const e820: E820Entry[] = [
    { base: 0, length: 0x9fc00, type: E820Type.Usable },
    { base: 0x9fc00, length: MiB - 0x9fc00, type: E820Type.Reserved },
    ...high.map((r) => ({ base: r.base, length: r.size, type: E820Type.Usable })),
  ];
  const below = high.filter((r) => r.base < FOUR_GIB);
  const lowMemoryEnd = below.length ? Math.max(...below.map((r) => r.base + r.size)) : MiB;
  const highMemorySize = high.filter((r) => r.base >= FOUR_GIB).reduce((s, r) => s + r.size, 0);
  const total = 0x9fc00 + high.reduce((s, r) => s + r.size, 0);
  return {
    memoryMiB: Math.round(total / MiB),
    ranges,
    e820,
    lowerMemoryKiB: 0x9fc00 / 1024,
    upperMemoryKiB: below.length && below[0].base === MiB ? below[0].size / 1024 : 0,
    lowMemoryEnd,
    highMemorySize,
  };
}

/** Applies the table regions to the layout: carved E820, mem_upper recomputed. */
function finishLayout(layout: PcMemoryLayout, regions: readonly E820Entry[]): PcMemoryLayout {
  let e820: E820Entry[] = layout.e820.map((e) => ({ ...e }));
  for (const r of regions) e820 = carveE820(e820, r);
  const upper = e820.find((e) => e.base === MiB && e.type === E820Type.Usable);
  return Object.freeze({
    ...layout,
    e820: Object.freeze(e820.map((e) => Object.freeze(e))),
    upperMemoryKiB: upper ? upper.length / 1024 : 0,
  });
}

/** The top of the highest RAM range below 4 GiB above 1 MiB: where the tables go. */
function tablesTop(layout: PcMemoryLayout): number {
  const candidates = layout.e820.filter((e) => e.type === E820Type.Usable && e.base >= MiB && e.base < FOUR_GIB);
  if (candidates.length === 0) throw new InvalidArgumentError('no RAM between 1 MiB and 4 GiB for the ACPI tables');
  const last = candidates[candidates.length - 1];
  return Math.floor(Math.min(last.base + last.length, FOUR_GIB) / PAGE) * PAGE;
}

function isaMap(overrides: readonly { bus: number; source: number; gsi: number }[]): number[] {
  const map = Array.from({ length: 16 }, (_, i) => i);
  for (const o of overrides) if (o.bus === 0 && o.source < 16) map[o.source] = o.gsi;
  return map;
}

interface Prepared {
  source: 'config' | 'acpi-tables';
  layout: PcMemoryLayout;
  fadt: Uint8Array | null;
  dsdt: Uint8Array | null;
  facs: Uint8Array | null;
  tables: AcpiBlob[];
  oem: OemInfo;
  processors: FirmwareProcessor[];
  topology: CpuTopology;
  ioApics: FirmwareIoApic[];
  isaIrqToGsi: number[];
  pmTimer: { port: number; width: 24 | 32 } | null;
  numa: FirmwareResult['numa'];
  localApicAddress: number;
  anomalies: AcpiAnomaly[];
  notes: string[];
  config: FirmwareConfig | null;
  cmdline: string;
  bootLoaderName: string;
  bootInfoAddress: number;
  rsdpAddress: number;
}

function prepareFromConfig(input: FirmwareConfigInput): Prepared {
  const c = normalizeFirmwareConfig(input);
  const images = buildAcpiTables({
    localApicAddress: c.localApicAddress,
    processors: c.processors.map((p) => ({ apicId: p.apicId, uid: p.uid, present: p.enabled, node: p.node })),
    ioApics: [{ id: c.ioApic.id, address: c.ioApic.address, gsiBase: c.ioApic.gsiBase }],
    numa: c.numa ? { nodes: c.numa.nodes.map((n) => ({ memory: n.ranges.map((r) => ({ base: r.base, length: r.length })) })), distances: c.numa.distances ? c.numa.distances.map((r) => [...r]) : null } : null,
    pmTimer: c.pmTimer ? { port: c.pmTimer.port, bits: c.pmTimer.bits } : null,
  });
  const tables: AcpiBlob[] = [{ signature: 'APIC', bytes: images.madt }];
  if (images.srat) tables.push({ signature: 'SRAT', bytes: images.srat });
  if (images.slit) tables.push({ signature: 'SLIT', bytes: images.slit });
  const parsedMadt = parseAcpiTables([images.madt]).madt;
  return {
    source: 'config',
    layout: buildPcMemoryLayout(c.memoryMiB, { pciHoleStart: c.pciHoleStart }),
    fadt: images.fadt,
    dsdt: images.dsdt,
    facs: images.facs,
    tables,
    oem: images.oem,
    processors: [...c.processors],
    topology: c.topology,
    ioApics: [{ ...c.ioApic }],
    isaIrqToGsi: isaMap(parsedMadt?.interruptOverrides ?? []),
    pmTimer: c.pmTimer ? { port: c.pmTimer.port, width: c.pmTimer.bits } : null,
    numa: c.numa,
    localApicAddress: c.localApicAddress,
    anomalies: [],
    notes: [],
    config: c,
    cmdline: c.cmdline,
    bootLoaderName: c.bootLoaderName,
    bootInfoAddress: c.bootInfoAddress,
    rsdpAddress: c.rsdpAddress,
  };
}

function signatureOf(b: Uint8Array): string {
  if (b.length >= 8 && String.fromCharCode(...b.subarray(0, 8)) === 'RSD PTR ') return 'RSDP';
  return b.length >= 4 ? String.fromCharCode(...b.subarray(0, 4)) : '????';
}

function prepareFromTables(src: AcpiTableSource): Prepared {
  const buffers = src.acpiTables ? [...src.acpiTables] : readAcpiDir(src.acpiDir ?? '');
  const notes: string[] = [];
  let parsed: AcpiTables;
  try {
    parsed = parseAcpiTables(buffers);
  } catch (e) {
    throw new InvalidArgumentError(`the ACPI table set is not usable: ${(e as Error).message}`);
  }
  const madt = parsed.madt;
  if (!madt) throw new InvalidArgumentError('the ACPI table set has no MADT (APIC): no processors to describe');

  // Sort the raw tables.
  let fadt: Uint8Array | null = null;
  let dsdt: Uint8Array | null = null;
  let facs: Uint8Array | null = null;
  const byKind = new Map<string, Uint8Array>();
  const others: AcpiBlob[] = [];
  for (const b of buffers) {
    const sig = signatureOf(b);
    if (sig === 'RSDP' || sig === 'RSDT' || sig === 'XSDT') {
      notes.push(`replaced the original ${sig} (its pointers are addresses of the original machine)`);
      continue;
    }
    // Raw length by the header (bytes past it are dropped).
    const len = b.length >= 8 ? new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(4, true) : b.length;
    const bytes = len >= 36 && len <= b.length ? b.subarray(0, len) : b;
    if (sig === 'FACP' || sig === 'DSDT' || sig === 'FACS' || sig === 'APIC' || sig === 'SRAT' || sig === 'SLIT') {
      if (byKind.has(sig)) {
        notes.push(`dropped a second ${sig}`);
        continue;
      }
      byKind.set(sig, bytes);
      if (sig === 'FACP') fadt = bytes;
      else if (sig === 'DSDT') dsdt = bytes;
      else if (sig === 'FACS') facs = bytes;
    } else others.push({ signature: sig, bytes });
  }
  const stock = buildAcpiTables({});
  if (!fadt) {
    fadt = stock.fadt;
    notes.push('synthesized a FADT (PM timer at 0x608, 24-bit)');
  }
  const hwReduced = parsed.fadt?.hardwareReduced ?? false;
  if (!dsdt) {
    dsdt = stock.dsdt;
    notes.push('synthesized a minimal DSDT (empty definition block)');
  }
  if (!facs && !hwReduced) {
    facs = stock.facs;
    notes.push('synthesized a FACS');
  }
  notes.push('patched FADT FIRMWARE_CTRL/DSDT/X_DSDT and its checksum');
  const tables: AcpiBlob[] = [];
  for (const sig of ['APIC', 'SRAT', 'SLIT']) {
    const b = byKind.get(sig);
    if (b) tables.push({ signature: sig, bytes: b });
  }
  tables.push(...others);

  // Processors: exactly the enabled MADT entries (MADT order), then the hot-plug candidates.
  const nodeOf = new Map<number, number>();
  for (const c of parsed.srat?.cpuAffinity ?? []) if (c.enabled && !nodeOf.has(c.apicId)) nodeOf.set(c.apicId, c.proximityDomain);
  for (const c of parsed.srat?.cpuAffinity ?? []) if (!nodeOf.has(c.apicId)) nodeOf.set(c.apicId, c.proximityDomain);
  const enabled = madt.processors.filter((p) => p.enabled);
  const hot = hotplugCandidates(madt);
  const processors: FirmwareProcessor[] = [...enabled, ...hot].map((p, index) => ({
    index,
    apicId: p.apicId,
    uid: p.uid,
    enabled: p.enabled,
    node: parsed.srat ? (nodeOf.get(p.apicId) ?? null) : null,
  }));

  // Memory: SRAT (enabled, present, non-empty ranges) or the config size.
  const pciHoleStart = src.pciHoleStart ?? 0xc0000000;
  const sratRam = (parsed.srat?.memoryAffinity ?? []).filter((m) => m.enabled && m.length > 0 && !m.hotPluggable).map((m) => ({ base: m.base, size: m.length }));
  let layout: PcMemoryLayout;
  if (sratRam.length > 0) {
    layout = layoutFromRam(sratRam, pciHoleStart);
    notes.push(`RAM from the SRAT: ${sratRam.length} range(s), legacy and PCI holes (0x${pciHoleStart.toString(16)}–4 GiB) excluded`);
  } else {
    layout = buildPcMemoryLayout(src.memoryMiB ?? 1024, { pciHoleStart });
    notes.push(`no SRAT memory: ${layout.memoryMiB} MiB from the config`);
  }

  // NUMA.
  let numa: FirmwareResult['numa'] = null;
  if (parsed.srat) {
    const summary = summarizeAcpi(parsed).numa;
    const domains = summary?.allDomainsReferenced ?? [];
    const nodes: FirmwareNumaNode[] = domains.map((d) => {
      const ranges = parsed.srat!.memoryAffinity.filter((m) => m.enabled && m.length > 0 && m.proximityDomain === d).map((m) => ({ base: m.base, length: m.length }));
      return { node: d, memoryBytes: ranges.reduce((s, r) => s + r.length, 0), ranges, cpus: processors.filter((p) => p.node === d).map((p) => p.index) };
    });
    numa = { nodes, distances: parsed.slit ? parsed.slit.matrix.map((r) => [...r]) : null };
  }

  const f = parsed.fadt;
  let pmTimer: Prepared['pmTimer'] = null;
  if (f?.pmTimerBlock) {
    if (f.pmTimerBlock.spaceId === 1) pmTimer = { port: f.pmTimerBlock.address, width: f.pmTimerBits === 32 ? 32 : 24 };
    else notes.push(`PM timer in address space ${f.pmTimerBlock.spaceId} (not SystemIO): not modelled`);
  } else if (!parsed.fadt) pmTimer = { port: 0x608, width: 24 };
  const h = madt.table;
  const enabledIds = enabled.map((p) => p.apicId);
  return {
    source: 'acpi-tables',
    layout,
    fadt,
    dsdt,
    facs,
    tables,
    oem: { oemId: h.oemId, oemTableId: h.oemTableId, oemRevision: h.oemRevision, creatorId: h.creatorId, creatorRevision: h.creatorRevision },
    processors,
    topology: guessTopology(enabledIds, (id) => nodeOf.get(id) ?? null),
    ioApics: madt.ioApics.map((io) => ({ id: io.id, address: io.address, gsiBase: io.gsiBase })),
    isaIrqToGsi: isaMap(madt.interruptOverrides),
    pmTimer,
    numa,
    localApicAddress: madt.localApicAddressOverride ?? madt.localApicAddress,
    anomalies: [...parsed.anomalies],
    notes,
    config: null,
    cmdline: src.cmdline ?? '',
    bootLoaderName: src.bootLoaderName ?? 'latelaunch',
    bootInfoAddress: src.bootInfoAddress ?? DEFAULT_BOOT_INFO_ADDRESS,
    rsdpAddress: src.rsdpAddress ?? DEFAULT_RSDP_ADDRESS,
  };
}

/**
 * Builds the firmware into `memory` (created over the layout's RAM when omitted) from a machine
 * config (`FirmwareConfigInput`; `{}` is the default machine: 4 processors, 2 NUMA nodes, 1 GiB)
 * or a real table set (`{ acpiDir }` / `{ acpiTables }`):
 *
 * 1. ACPI tables: generated (MADT with hot-pluggable placeholders as disabled entries, SRAT, SLIT,
 *    FADT with the PM timer, DSDT, FACS) or relocated (fresh RSDT/XSDT, FADT pointers patched,
 *    DSDT/FACS synthesized when absent), placed below the top of RAM under 4 GiB (FACS page =
 *    ACPI NVS, the rest ACPI reclaimable), the RSDP (revision 2) at 0xF0000.
 * 2. The E820 map: PC conventions (0–0x9FC00 RAM, EBDA and 0xA0000–0xFFFFF reserved, RAM from
 *    1 MiB, PCI hole below 4 GiB) with the table regions carved out.
 * 3. The BIOS data area: EBDA segment 0x9FC0 at 0x40E, 639 KiB at 0x413.
 * 4. The boot information (multiboot v1 layout + RSDP extension, see `boot-info.ts`) at 0x10000.
 *
 * Throws `InvalidArgumentError` for an invalid config, a table set without MADT, or memory that does
 * not back what must be written; firmware anomalies of real tables are only reported.
 */
export function buildFirmware(source: FirmwareSource = {}, memory?: SparseMemory): FirmwareResult {
  const p = isTableSource(source) ? prepareFromTables(source) : prepareFromConfig(source);
  const placement = placeAcpiTables({ fadt: p.fadt, dsdt: p.dsdt, facs: p.facs, tables: p.tables, oem: p.oem, rsdpAddress: p.rsdpAddress, top: tablesTop(p.layout) });
  const layout = finishLayout(p.layout, placement.regions);
  const mem = memory ?? new SparseMemory({ ranges: layout.ranges });
  const bootInfo = encodeBootInfo({
    address: p.bootInfoAddress,
    e820: layout.e820,
    lowerMemoryKiB: layout.lowerMemoryKiB,
    upperMemoryKiB: layout.upperMemoryKiB,
    cmdline: p.cmdline,
    bootLoaderName: p.bootLoaderName,
    rsdpAddress: placement.rsdpAddress,
  });
  const writes = [
    ...placement.writes,
    { address: bootInfo.address, bytes: bootInfo.bytes },
    { address: BDA_EBDA_SEGMENT, bytes: Uint8Array.of(0xc0, 0x9f) },
    { address: BDA_BASE_MEMORY_KIB, bytes: Uint8Array.of(0x7f, 0x02) },
  ];
  for (const w of writes) {
    if (!mem.isBacked(w.address, w.bytes.length)) throw new InvalidArgumentError(`firmware: memory does not back 0x${w.address.toString(16)}+${w.bytes.length} (build the memory over result.layout.ranges)`);
  }
  for (const w of writes) mem.writeBytes(w.address, w.bytes);
  return Object.freeze({
    source: p.source,
    rsdpAddress: placement.rsdpAddress,
    rsdtAddress: placement.rsdtAddress,
    xsdtAddress: placement.xsdtAddress,
    e820: layout.e820,
    layout,
    memory: mem,
    bootInfoAddress: bootInfo.address,
    bootInfo,
    processors: p.processors,
    topology: p.topology,
    ioApics: p.ioApics,
    isaIrqToGsi: p.isaIrqToGsi,
    pmTimer: p.pmTimer,
    numa: p.numa,
    localApicAddress: p.localApicAddress,
    tables: placement.tables,
    anomalies: p.anomalies,
    notes: p.notes,
    config: p.config,
  });
}

/**
 * The memory layout the firmware will use for `source`, without building anything: create the
 * machine's memory over `firmwareMemoryLayout(source).ranges`, then call {@link buildFirmware}.
 * (The E820 here is before the ACPI regions are carved; `buildFirmware` returns the final one.)
 */
export function firmwareMemoryLayout(source: FirmwareSource = {}): PcMemoryLayout {
  return isTableSource(source) ? prepareFromTables(source).layout : prepareFromConfig(source).layout;
}
