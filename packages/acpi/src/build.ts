/**
 * Builders: machine description → table images with valid checksums, and a layout that places
 * them in physical memory and patches every pointer (RSDP → RSDT/XSDT → tables, FADT → FACS/DSDT).
 */
import { InvalidArgumentError } from '@latelaunch/kernel';
import { normalizeAcpiConfig } from './config.js';
import type { AcpiMachineConfig, AcpiMachineConfigInput } from './config.js';
import type { PhysicalMemoryReader } from './discover.js';
import { hex, sealTable } from './tables/common.js';
import type { OemInfo } from './tables/common.js';
import { buildDsdt } from './tables/dsdt.js';
import { buildFacs } from './tables/facs.js';
import { buildFadt, FadtFlags, writeFadtPointers } from './tables/fadt.js';
import { buildMadt, LAPIC_NMI_ALL, needsX2apicEntry, X2APIC_NMI_ALL } from './tables/madt.js';
import { buildRsdp } from './tables/rsdp.js';
import { buildRootTable } from './tables/rsdt.js';
import { buildSlit } from './tables/slit.js';
import { buildSrat } from './tables/srat.js';

/** SRAT revision written (ACPI 6.x). */
export const SRAT_REVISION = 3;

/** Stand-alone table images (checksums valid, FADT pointers still 0 until {@link layoutTables}). */
export interface AcpiTableImages {
  /** OEM fields, reused for the RSDP, RSDT and XSDT. */
  oem: OemInfo;
  fadt: Uint8Array;
  madt: Uint8Array;
  dsdt: Uint8Array;
  /** Null for hardware-reduced ACPI. */
  facs: Uint8Array | null;
  /** Null without NUMA. */
  srat: Uint8Array | null;
  /** Null without NUMA distances. */
  slit: Uint8Array | null;
}

/** Builds MADT, FADT, FACS, DSDT and (with NUMA) SRAT and SLIT from a machine description. */
export function buildAcpiTables(input: AcpiMachineConfigInput | AcpiMachineConfig = {}): AcpiTableImages {
  const c = normalizeAcpiConfig(input);
  const oem = c.oem;
  const hotFlag = c.madtRevision >= 5 ? 2 : 0;
  const localApicNmis: { type: 'lapic' | 'x2apic'; uid: number; flags: number; lint: number }[] = [];
  if (c.localApicNmi) {
    if (c.processors.some((p) => !needsX2apicEntry(p))) localApicNmis.push({ type: 'lapic', uid: LAPIC_NMI_ALL, ...c.localApicNmi });
    if (c.processors.some((p) => needsX2apicEntry(p))) localApicNmis.push({ type: 'x2apic', uid: X2APIC_NMI_ALL, ...c.localApicNmi });
  }
  const madt = buildMadt({
    revision: c.madtRevision,
    oem,
    localApicAddress: c.localApicAddress,
    pcatCompat: c.pcatCompat,
    processors: c.processors.map((p) => ({ uid: p.uid, apicId: p.apicId, flags: p.present ? 1 : hotFlag })),
    ioApics: c.ioApics,
    interruptOverrides: c.interruptOverrides,
    nmiSources: c.nmiSources,
    localApicNmis,
    localApicAddressOverride: c.localApicAddressOverride,
  });
  let srat: Uint8Array | null = null;
  let slit: Uint8Array | null = null;
  if (c.numa) {
    srat = buildSrat({
      revision: SRAT_REVISION,
      oem,
      // SRAT "enabled" follows presence, like real firmware; the domain of a hot-pluggable
      // processor is still recorded in its (disabled) entry.
      cpus: c.processors.filter((p) => p.node !== null).map((p) => ({ apicId: p.apicId, proximityDomain: p.node ?? 0, enabled: p.present })),
      memory: c.numa.nodes.flatMap((n, i) => n.memory.map((m) => ({ ...m, proximityDomain: i, enabled: true }))),
    });
    if (c.numa.distances) slit = buildSlit({ revision: 1, oem, matrix: c.numa.distances });
  }
  const f = c.fadt;
  const fadt = buildFadt({
    revision: f.revision,
    oem,
    minorRevision: f.minorRevision,
    firmwareCtrl: 0,
    dsdt: 0,
    pmProfile: f.pmProfile,
    sciInterrupt: f.sciInterrupt,
    smiCommandPort: f.smiCommandPort,
    acpiEnable: f.acpiEnable,
    acpiDisable: f.acpiDisable,
    pm1aEventBlock: f.pm1aEventBlock,
    pm1aControlBlock: f.pm1aControlBlock,
    pmTimerPort: c.pmTimer?.port ?? 0,
    gpe0Block: f.gpe0Block,
    gpe0BlockLength: f.gpe0BlockLength,
    century: f.century,
    iapcBootFlags: f.iapcBootFlags,
    flags: f.flags | (c.pmTimer?.bits === 32 ? FadtFlags.TmrValExt : 0) | (f.hardwareReduced ? FadtFlags.HwReducedAcpi : 0),
    reset: f.reset,
  });
  return {
    oem,
    fadt,
    madt,
    dsdt: buildDsdt({ oem, aml: c.dsdtAml }),
    facs: f.hardwareReduced ? null : buildFacs(),
    srat,
    slit,
  };
}

export interface PlacedTable {
  /** 'RSDP', 'RSDT', 'XSDT', 'FACS', 'DSDT', 'FACP', 'APIC', 'SRAT', 'SLIT'. */
  signature: string;
  address: number;
  bytes: Uint8Array;
}

export interface AcpiLayout {
  rsdpAddress: number;
  rsdtAddress: number;
  /** Null for a revision-0 RSDP (ACPI 1.0: RSDT only). */
  xsdtAddress: number | null;
  /** Every blob with its address (RSDP first), pointers patched, checksums valid. */
  tables: PlacedTable[];
  /** First and one-past-last address of the table region starting at the base address (the RSDP excluded when placed elsewhere). */
  start: number;
  end: number;
}

export interface LayoutOptions {
  /**
   * Where to put the RSDP. PC firmware puts it on a 16-byte boundary in 0xE0000–0xFFFFF so the
   * spec's scan finds it. Default: at the base address, before the other tables.
   */
  rsdpAddress?: number;
  /** 2 (default): 36-byte RSDP with RSDT and XSDT. 0: ACPI 1.0, 20-byte RSDP and RSDT only. */
  rsdpRevision?: 0 | 2;
}

const alignUp = (v: number, a: number) => Math.ceil(v / a) * a;
const FOUR_GIB = 0x1_0000_0000;

/**
 * Places the images from `baseAddress` upwards (FACS 64-byte aligned, the rest 16-byte aligned):
 * [RSDP] FACS DSDT FACP APIC [SRAT] [SLIT] RSDT XSDT, and patches FADT → FACS/DSDT (32-bit fields and
 * X_DSDT), RSDT/XSDT → FACP/APIC/SRAT/SLIT, RSDP → RSDT/XSDT. The images are not modified.
 * Everything must lie below 4 GiB (the RSDT and the FADT's 32-bit pointers).
 */
export function layoutTables(images: AcpiTableImages, baseAddress: number, options: LayoutOptions = {}): AcpiLayout {
  if (!Number.isInteger(baseAddress) || baseAddress < 0) throw new InvalidArgumentError(`layoutTables: base address ${baseAddress} is not a physical address`);
  const rsdpRevision = options.rsdpRevision ?? 2;
  const rsdpLength = rsdpRevision >= 2 ? 36 : 20;
  const tables: PlacedTable[] = [];
  const start = alignUp(baseAddress, 16);
  let cursor = start;
  const place = (signature: string, bytes: Uint8Array, align = 16): number => {
    cursor = alignUp(cursor, align);
    const address = cursor;
    tables.push({ signature, address, bytes });
    cursor += bytes.length;
    return address;
  };
  let rsdpAddress = options.rsdpAddress;
  if (rsdpAddress === undefined) {
    rsdpAddress = cursor;
    cursor += rsdpLength;
  } else if (!Number.isInteger(rsdpAddress) || rsdpAddress < 0 || rsdpAddress % 16 !== 0) {
    throw new InvalidArgumentError(`layoutTables: RSDP address 0x${hex(rsdpAddress)} must be 16-byte aligned`);
  }
  const facs = images.facs ? place('FACS', images.facs, 64) : 0;
  const dsdt = place('DSDT', images.dsdt);
  const fadtBytes = new Uint8Array(images.fadt);
  writeFadtPointers(fadtBytes, facs, dsdt);
  sealTable(fadtBytes);
  const listed = [place('FACP', fadtBytes), place('APIC', images.madt)];
  if (images.srat) listed.push(place('SRAT', images.srat));
  if (images.slit) listed.push(place('SLIT', images.slit));
  const rsdt = place('RSDT', buildRootTable('RSDT', listed, images.oem));
  const xsdt = rsdpRevision >= 2 ? place('XSDT', buildRootTable('XSDT', listed, images.oem)) : null;
  const end = cursor;
  if (end > FOUR_GIB) throw new InvalidArgumentError(`layoutTables: the tables would end at 0x${hex(end)}, above 4 GiB (the RSDT and FADT hold 32-bit pointers)`);
  if (options.rsdpAddress !== undefined && rsdpAddress + rsdpLength > start && rsdpAddress < end) {
    throw new InvalidArgumentError(`layoutTables: RSDP at 0x${hex(rsdpAddress)} overlaps the tables at 0x${hex(start)}-0x${hex(end - 1)}`);
  }
  const rsdp = buildRsdp({ revision: rsdpRevision, oemId: images.oem.oemId, rsdtAddress: rsdt, xsdtAddress: xsdt ?? 0 });
  tables.unshift({ signature: 'RSDP', address: rsdpAddress, bytes: rsdp });
  return { rsdpAddress, rsdtAddress: rsdt, xsdtAddress: xsdt, tables, start, end };
}

/**
 * A physical-memory reader over placed tables (zeros elsewhere), for discovery tests and for
 * firmware that copies the layout into guest memory.
 */
export function layoutReader(tables: readonly PlacedTable[]): PhysicalMemoryReader {
  return (address, length) => {
    const out = new Uint8Array(length);
    for (const t of tables) {
      const from = Math.max(address, t.address);
      const to = Math.min(address + length, t.address + t.bytes.length);
      if (from < to) out.set(t.bytes.subarray(from - t.address, to - t.address), from - address);
    }
    return out;
  };
}
