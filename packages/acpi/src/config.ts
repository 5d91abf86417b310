/**
 * The machine description the builders take, its defaults and validation, a helper for the
 * hyper-threading APIC ID layout, and the inverse mapping (parsed tables → description) used for
 * discovery and the round-trip guarantee: `configFromTables(parse(build(c)))` equals
 * `normalizeAcpiConfig(c)`.
 */
import { InvalidArgumentError } from '@latelaunch/kernel';
import type { OemInfo } from './tables/common.js';
import { FadtFlags, IapcBootFlags } from './tables/fadt.js';
import type { MadtIoApic } from './tables/madt.js';
import { LOCAL_DISTANCE, UNREACHABLE_DISTANCE } from './tables/slit.js';
import type { AcpiTables } from './parse.js';
import { hotplugCandidates } from './summary.js';

export interface AcpiProcessor {
  /** Local APIC ID. 0xFF and above are written as x2APIC (MADT type 9, SRAT type 2) entries. */
  apicId: number;
  /** ACPI Processor UID (unique). 0xFF and above also force an x2APIC MADT entry. */
  uid: number;
  /**
   * true: present (an enabled MADT entry). false: possible but not present — hot-pluggable — a
   * disabled MADT entry, with Online Capable set when the MADT revision is ≥ 5.
   */
  present: boolean;
  /** Proximity domain (index into `numa.nodes`), or null for none / no SRAT entry. */
  node: number | null;
}

export interface AcpiMemoryRange {
  base: number;
  length: number;
  hotPluggable: boolean;
  nonVolatile: boolean;
}

export interface AcpiNumaNode {
  /** SRAT memory ranges of this node; empty for a memoryless (or empty) node. */
  memory: AcpiMemoryRange[];
}

export interface AcpiNuma {
  /** Node i is proximity domain i. Nodes without processors or memory are "empty" nodes (they exist through the SLIT). */
  nodes: AcpiNumaNode[];
  /** SLIT matrix (N×N, 10 on the diagonal), or null for no SLIT. */
  distances: number[][] | null;
}

export interface AcpiPmTimer {
  /** I/O port of the PM timer (PM_TMR_BLK and X_PM_TMR_BLK, SystemIO). */
  port: number;
  /** 24 or 32 (FADT TMR_VAL_EXT). */
  bits: 24 | 32;
}

export interface AcpiFadtConfig {
  /** FADT revision 1–6; the table gets that revision's length. */
  revision: number;
  /** FADT minor version (revision ≥ 5 only; 0 otherwise). */
  minorRevision: number;
  hardwareReduced: boolean;
  sciInterrupt: number;
  /** SMI command port; 0 = no SMM, the machine is always in ACPI mode. */
  smiCommandPort: number;
  acpiEnable: number;
  acpiDisable: number;
  pm1aEventBlock: number;
  pm1aControlBlock: number;
  gpe0Block: number;
  gpe0BlockLength: number;
  pmProfile: number;
  century: number;
  iapcBootFlags: number;
  /** Other FADT flags. TMR_VAL_EXT, HW_REDUCED_ACPI and RESET_REG_SUP are derived (from `pmTimer.bits`, `hardwareReduced`, `reset`). */
  flags: number;
  /** Reset register (SystemIO port) and value, or null (always null for revision 1). */
  reset: { port: number; value: number } | null;
}

/** Complete, normalized machine description. */
export interface AcpiMachineConfig {
  oem: OemInfo;
  madtRevision: number;
  localApicAddress: number;
  pcatCompat: boolean;
  processors: AcpiProcessor[];
  ioApics: MadtIoApic[];
  interruptOverrides: { bus: number; source: number; gsi: number; flags: number }[];
  nmiSources: { gsi: number; flags: number }[];
  /** LINT wiring of the local APIC NMI, applied to all processors (UID 0xFF / 0xFFFFFFFF), or null. */
  localApicNmi: { flags: number; lint: number } | null;
  localApicAddressOverride: number | null;
  numa: AcpiNuma | null;
  /** The ACPI PM timer, or null for none. */
  pmTimer: AcpiPmTimer | null;
  fadt: AcpiFadtConfig;
  /** AML body of the DSDT (empty: an empty definition block). */
  dsdtAml: Uint8Array;
}

/** What {@link normalizeAcpiConfig} accepts: everything optional, defaults as documented in the README. */
export interface AcpiMachineConfigInput {
  oem?: Partial<OemInfo>;
  madtRevision?: number;
  localApicAddress?: number;
  pcatCompat?: boolean;
  processors?: { apicId: number; uid?: number; present?: boolean; node?: number | null }[];
  ioApics?: MadtIoApic[];
  interruptOverrides?: { bus?: number; source: number; gsi: number; flags?: number }[];
  nmiSources?: { gsi: number; flags?: number }[];
  localApicNmi?: { flags?: number; lint?: number } | null;
  localApicAddressOverride?: number | null;
  numa?: { nodes: (Partial<Omit<AcpiNumaNode, 'memory'>> & { memory?: (Pick<AcpiMemoryRange, 'base' | 'length'> & Partial<AcpiMemoryRange>)[] })[]; distances?: number[][] | null } | null;
  pmTimer?: AcpiPmTimer | null;
  fadt?: Partial<AcpiFadtConfig>;
  dsdtAml?: Uint8Array;
}

export const DEFAULT_OEM: OemInfo = { oemId: 'LLNCH', oemTableId: 'LATELNCH', oemRevision: 1, creatorId: 'LLAC', creatorRevision: 1 };
export const DEFAULT_LOCAL_APIC_ADDRESS = 0xfee0_0000;
export const DEFAULT_IOAPIC_ADDRESS = 0xfec0_0000;
/** ICH9-style PM I/O block at 0x600: PM1a_EVT 0x600, PM1a_CNT 0x604, PM_TMR 0x608, GPE0 0x620 (16 bytes). */
export const DEFAULT_PM_BASE = 0x600;
const DERIVED_FLAGS = FadtFlags.TmrValExt | FadtFlags.HwReducedAcpi | FadtFlags.ResetRegSup;
const MAX_DENSE_DOMAINS = 1024;

const isU = (v: unknown, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
const U8 = 0xff;
const U16 = 0xffff;
const U32 = 0xffff_ffff;
const SAFE = Number.MAX_SAFE_INTEGER;

/** Fills defaults and validates; throws one `InvalidArgumentError` listing every problem. */
export function normalizeAcpiConfig(input: AcpiMachineConfigInput = {}): AcpiMachineConfig {
  const issues: string[] = [];
  const check = (ok: boolean, msg: string): void => {
    if (!ok) issues.push(msg);
  };
  const oem: OemInfo = { ...DEFAULT_OEM, ...input.oem };
  for (const [k, n] of [
    ['oemId', 6],
    ['oemTableId', 8],
    ['creatorId', 4],
  ] as const) {
    check(typeof oem[k] === 'string' && oem[k].length <= n && /^[\x20-\x7e]*$/.test(oem[k]) && !oem[k].endsWith('\0'), `oem.${k} must be at most ${n} printable ASCII characters`);
  }
  check(isU(oem.oemRevision, U32) && isU(oem.creatorRevision, U32), 'oem revisions must be 32-bit unsigned integers');

  const numaIn = input.numa ?? null;
  const procsIn = input.processors ?? [{ apicId: 0 }];
  check(procsIn.length > 0, 'processors: at least one processor is needed');
  const processors: AcpiProcessor[] = procsIn.map((p, i) => ({
    apicId: p.apicId,
    uid: p.uid ?? i,
    present: p.present ?? true,
    node: p.node === undefined ? (numaIn ? 0 : null) : p.node,
  }));
  check(processors.some((p) => p.present), 'processors: at least one must be present');
  const seenApic = new Set<number>();
  const seenUid = new Set<number>();
  processors.forEach((p, i) => {
    check(isU(p.apicId, U32 - 1), `processors[${i}].apicId must be an integer 0..0xFFFFFFFE`);
    check(isU(p.uid, U32 - 1), `processors[${i}].uid must be an integer 0..0xFFFFFFFE`);
    check(!seenApic.has(p.apicId), `processors[${i}].apicId ${p.apicId} is used twice`);
    check(!seenUid.has(p.uid), `processors[${i}].uid ${p.uid} is used twice`);
    seenApic.add(p.apicId);
    seenUid.add(p.uid);
    if (p.node !== null) check(numaIn !== null && isU(p.node, (numaIn?.nodes.length ?? 0) - 1), `processors[${i}].node ${p.node} is not a NUMA node`);
  });

  let numa: AcpiNuma | null = null;
  if (numaIn) {
    const n = numaIn.nodes.length;
    check(n >= 1 && n <= 255, 'numa.nodes: 1 to 255 nodes');
    const nodes: AcpiNumaNode[] = numaIn.nodes.map((node, i) => ({
      memory: (node.memory ?? []).map((m, j) => {
        check(isU(m.base, SAFE) && isU(m.length, SAFE) && m.length > 0 && m.base + m.length <= SAFE, `numa.nodes[${i}].memory[${j}] needs an integer base and a positive length`);
        return { base: m.base, length: m.length, hotPluggable: m.hotPluggable ?? false, nonVolatile: m.nonVolatile ?? false };
      }),
    }));
    let distances: number[][] | null;
    if (numaIn.distances === undefined) distances = nodes.map((_, i) => nodes.map((_, j) => (i === j ? LOCAL_DISTANCE : 20)));
    else distances = numaIn.distances === null ? null : numaIn.distances.map((row) => [...row]);
    if (distances) {
      check(distances.length === n && distances.every((row) => row.length === n), `numa.distances must be ${n}×${n}`);
      distances.forEach((row, i) =>
        row.forEach((d, j) => check(i === j ? d === LOCAL_DISTANCE : isU(d, UNREACHABLE_DISTANCE) && d > LOCAL_DISTANCE, `numa.distances[${i}][${j}] = ${d}: the diagonal is 10, other entries 11..255`)),
      );
    } else {
      // Without a SLIT a node exists only through SRAT entries.
      nodes.forEach((node, i) => check(node.memory.length > 0 || processors.some((p) => p.node === i), `numa.nodes[${i}] has no processor and no memory: it needs a SLIT (distances) to exist`));
    }
    numa = { nodes, distances };
  }

  const fadtIn = input.fadt ?? {};
  const hw = fadtIn.hardwareReduced ?? false;
  const revision = fadtIn.revision ?? 6;
  check(isU(revision, 6) && revision >= 1, 'fadt.revision must be 1..6');
  check(!hw || revision >= 5, 'fadt.hardwareReduced needs FADT revision ≥ 5');
  const pmTimer = input.pmTimer === undefined ? (hw ? null : { port: DEFAULT_PM_BASE + 8, bits: 24 as const }) : input.pmTimer;
  if (pmTimer) {
    check(isU(pmTimer.port, U16) && pmTimer.port !== 0, 'pmTimer.port must be a non-zero 16-bit I/O port');
    check(pmTimer.bits === 24 || pmTimer.bits === 32, 'pmTimer.bits must be 24 or 32');
    check(!hw, 'pmTimer must be null with fadt.hardwareReduced (no fixed hardware)');
  }
  const fadt: AcpiFadtConfig = {
    revision,
    minorRevision: revision >= 5 ? (fadtIn.minorRevision ?? (revision === 6 ? 3 : 0)) : 0,
    hardwareReduced: hw,
    sciInterrupt: fadtIn.sciInterrupt ?? (hw ? 0 : 9),
    smiCommandPort: fadtIn.smiCommandPort ?? 0,
    acpiEnable: fadtIn.acpiEnable ?? 0,
    acpiDisable: fadtIn.acpiDisable ?? 0,
    pm1aEventBlock: fadtIn.pm1aEventBlock ?? (hw ? 0 : DEFAULT_PM_BASE),
    pm1aControlBlock: fadtIn.pm1aControlBlock ?? (hw ? 0 : DEFAULT_PM_BASE + 4),
    gpe0Block: fadtIn.gpe0Block ?? (hw ? 0 : DEFAULT_PM_BASE + 0x20),
    gpe0BlockLength: 0,
    pmProfile: fadtIn.pmProfile ?? 0,
    century: fadtIn.century ?? 0x32,
    iapcBootFlags: fadtIn.iapcBootFlags ?? (hw ? 0 : IapcBootFlags.LegacyDevices | IapcBootFlags.I8042),
    flags: fadtIn.flags ?? FadtFlags.Wbinvd | FadtFlags.ProcC1 | FadtFlags.SleepButton | FadtFlags.RtcS4 | FadtFlags.UsePlatformClock,
    reset: revision >= 2 ? (fadtIn.reset === undefined ? { port: 0xcf9, value: 6 } : fadtIn.reset) : null,
  };
  fadt.gpe0BlockLength = fadt.gpe0Block ? (fadtIn.gpe0BlockLength ?? 16) : 0;
  check(isU(fadt.minorRevision, 0xf), 'fadt.minorRevision must be 0..15');
  check(isU(fadt.sciInterrupt, U16), 'fadt.sciInterrupt must be 16-bit');
  check(isU(fadt.smiCommandPort, U32), 'fadt.smiCommandPort must be 32-bit');
  for (const k of ['acpiEnable', 'acpiDisable', 'pmProfile', 'century', 'gpe0BlockLength'] as const) check(isU(fadt[k], U8), `fadt.${k} must be 8-bit`);
  for (const k of ['pm1aEventBlock', 'pm1aControlBlock', 'gpe0Block'] as const) {
    check(isU(fadt[k], U16), `fadt.${k} must be a 16-bit I/O port`);
    check(!hw || fadt[k] === 0, `fadt.${k} must be 0 with hardwareReduced`);
  }
  check(hw || (fadt.pm1aEventBlock !== 0 && fadt.pm1aControlBlock !== 0), 'fadt.pm1aEventBlock and pm1aControlBlock are required without hardwareReduced');
  check(isU(fadt.iapcBootFlags, U16), 'fadt.iapcBootFlags must be 16-bit');
  check(isU(fadt.flags, U32) && (fadt.flags & DERIVED_FLAGS) === 0, 'fadt.flags must be 32-bit without TMR_VAL_EXT, HW_REDUCED_ACPI and RESET_REG_SUP (set pmTimer.bits, fadt.hardwareReduced, fadt.reset)');
  if (fadt.reset) check(isU(fadt.reset.port, U16) && fadt.reset.port !== 0 && isU(fadt.reset.value, U8), 'fadt.reset needs a non-zero 16-bit port and an 8-bit value');

  const apicIds = new Set(processors.map((p) => p.apicId));
  let freeId = 0;
  while (apicIds.has(freeId) && freeId < 0xfe) freeId++;
  const ioApics = (input.ioApics ?? [{ id: freeId, address: DEFAULT_IOAPIC_ADDRESS, gsiBase: 0 }]).map((io) => ({ id: io.id, address: io.address, gsiBase: io.gsiBase }));
  const ioIds = new Set<number>();
  ioApics.forEach((io, i) => {
    check(isU(io.id, U8) && isU(io.address, U32) && isU(io.gsiBase, U32), `ioApics[${i}]: 8-bit id, 32-bit address and GSI base`);
    check(!ioIds.has(io.id), `ioApics[${i}].id ${io.id} is used twice`);
    ioIds.add(io.id);
  });
  const interruptOverrides = (
    input.interruptOverrides ?? [
      { bus: 0, source: 0, gsi: 2, flags: 0 },
      // The SCI is level-triggered, active high (flags 0xD) when it is an ISA IRQ.
      ...(fadt.sciInterrupt > 0 && fadt.sciInterrupt < 16 ? [{ bus: 0, source: fadt.sciInterrupt, gsi: fadt.sciInterrupt, flags: 0xd }] : []),
    ]
  ).map((o, i) => {
    const v = { bus: o.bus ?? 0, source: o.source, gsi: o.gsi, flags: o.flags ?? 0 };
    check(isU(v.bus, U8) && isU(v.source, U8) && isU(v.gsi, U32) && isU(v.flags, U16), `interruptOverrides[${i}]: 8-bit bus and source, 32-bit gsi, 16-bit flags`);
    return v;
  });
  const nmiSources = (input.nmiSources ?? []).map((n, i) => {
    const v = { gsi: n.gsi, flags: n.flags ?? 0 };
    check(isU(v.gsi, U32) && isU(v.flags, U16), `nmiSources[${i}]: 32-bit gsi, 16-bit flags`);
    return v;
  });
  const nmiIn = input.localApicNmi === undefined ? {} : input.localApicNmi;
  const localApicNmi = nmiIn === null ? null : { flags: nmiIn.flags ?? 5, lint: nmiIn.lint ?? 1 };
  if (localApicNmi) check(isU(localApicNmi.flags, U16) && (localApicNmi.lint === 0 || localApicNmi.lint === 1), 'localApicNmi: 16-bit flags, lint 0 or 1');

  const config: AcpiMachineConfig = {
    oem,
    madtRevision: input.madtRevision ?? 5,
    localApicAddress: input.localApicAddress ?? DEFAULT_LOCAL_APIC_ADDRESS,
    pcatCompat: input.pcatCompat ?? true,
    processors,
    ioApics,
    interruptOverrides,
    nmiSources,
    localApicNmi,
    localApicAddressOverride: input.localApicAddressOverride ?? null,
    numa,
    pmTimer: pmTimer ? { port: pmTimer.port, bits: pmTimer.bits } : null,
    fadt,
    dsdtAml: input.dsdtAml ? new Uint8Array(input.dsdtAml) : new Uint8Array(0),
  };
  check(isU(config.madtRevision, U8) && config.madtRevision >= 1, 'madtRevision must be 1..255');
  check(isU(config.localApicAddress, U32), 'localApicAddress must be 32-bit');
  check(config.localApicAddressOverride === null || isU(config.localApicAddressOverride, SAFE), 'localApicAddressOverride must be an integer address');
  if (issues.length) throw new InvalidArgumentError(`invalid ACPI machine config: ${issues.join('; ')}`);
  return config;
}

/**
 * Processors for a symmetric topology, with the usual x86 APIC ID layout: APIC ID =
 * package << (coreBits + threadBits) | core << threadBits | thread, each field rounded up to a
 * power of two. Order (= MADT order): present packages first; within them all first threads, then
 * all second threads (hyper-threading siblings), each by package then core. UIDs count from 0 in
 * that order. Packages from `presentPackages` on are hot-pluggable (present: false).
 */
export function processorTopology(opts: {
  packages: number;
  coresPerPackage: number;
  threadsPerCore: number;
  presentPackages?: number;
  /** Proximity domain of each package (for example `(p) => p`); omitted: no node. */
  nodeOfPackage?: (pkg: number) => number;
}): { apicId: number; uid: number; present: boolean; node?: number }[] {
  const { packages, coresPerPackage, threadsPerCore } = opts;
  for (const [k, v] of Object.entries({ packages, coresPerPackage, threadsPerCore })) {
    if (!Number.isInteger(v) || v < 1) throw new InvalidArgumentError(`processorTopology: ${k} must be a positive integer`);
  }
  const present = opts.presentPackages ?? packages;
  if (!Number.isInteger(present) || present < 1 || present > packages) throw new InvalidArgumentError('processorTopology: presentPackages must be 1..packages');
  const bits = (n: number) => (n <= 1 ? 0 : Math.ceil(Math.log2(n)));
  const threadBits = bits(threadsPerCore);
  const coreBits = bits(coresPerPackage);
  const out: { apicId: number; uid: number; present: boolean; node?: number }[] = [];
  for (const [from, to] of [
    [0, present],
    [present, packages],
  ]) {
    for (let t = 0; t < threadsPerCore; t++) {
      for (let p = from; p < to; p++) {
        for (let c = 0; c < coresPerPackage; c++) {
          const apicId = p * 2 ** (coreBits + threadBits) + c * 2 ** threadBits + t;
          const entry: { apicId: number; uid: number; present: boolean; node?: number } = { apicId, uid: out.length, present: p < present };
          if (opts.nodeOfPackage) entry.node = opts.nodeOfPackage(p);
          out.push(entry);
        }
      }
    }
  }
  return out;
}

/**
 * The machine description the tables give, the inverse of the builders: present processors and
 * hot-plug candidates (placeholders and other disabled entries are dropped), NUMA nodes with
 * memory (disabled and zero-length ranges dropped) and distances, PM timer, FADT settings. For
 * tables built by this package it returns exactly the normalized config they were built from.
 * Throws `InvalidArgumentError` when there is no MADT, or proximity domains are too large (≥ 1024)
 * for a dense node list.
 */
export function configFromTables(t: AcpiTables): AcpiMachineConfig {
  const madt = t.madt;
  if (!madt) throw new InvalidArgumentError('configFromTables: the tables have no MADT');
  const h = madt.table;
  const oem: OemInfo = { oemId: h.oemId, oemTableId: h.oemTableId, oemRevision: h.oemRevision, creatorId: h.creatorId, creatorRevision: h.creatorRevision };
  const hot = new Set(hotplugCandidates(madt));
  const nodeOf = new Map<number, number>();
  for (const c of t.srat?.cpuAffinity ?? []) if (!nodeOf.has(c.apicId)) nodeOf.set(c.apicId, c.proximityDomain);
  const processors: AcpiProcessor[] = madt.processors
    .filter((p) => p.enabled || hot.has(p))
    .map((p) => ({ apicId: p.apicId, uid: p.uid, present: p.enabled, node: nodeOf.get(p.apicId) ?? null }));

  let numa: AcpiNuma | null = null;
  if (t.srat) {
    const srat = t.srat;
    const domains = [...srat.cpuAffinity.map((c) => c.proximityDomain), ...srat.memoryAffinity.map((m) => m.proximityDomain)];
    const slitN = t.slit?.matrix.length ?? 0;
    const n = Math.max(slitN, domains.length ? Math.max(...domains) + 1 : 0, 1);
    if (n > MAX_DENSE_DOMAINS) throw new InvalidArgumentError(`configFromTables: proximity domain ${n - 1} is too large for a dense node list`);
    const nodes: AcpiNumaNode[] = Array.from({ length: n }, () => ({ memory: [] }));
    for (const m of srat.memoryAffinity) {
      if (m.enabled && m.length > 0) nodes[m.proximityDomain].memory.push({ base: m.base, length: m.length, hotPluggable: m.hotPluggable, nonVolatile: m.nonVolatile });
    }
    numa = { nodes, distances: t.slit && slitN === n ? t.slit.matrix.map((row) => [...row]) : null };
  }

  const f = t.fadt;
  const pmTimer: AcpiPmTimer | null = f?.pmTimerBlock && f.pmTimerBlock.spaceId === 1 ? { port: f.pmTimerBlock.address, bits: f.pmTimerBits ?? 24 } : null;
  const rev = f ? Math.min(Math.max(f.table.revision, 1), 6) : 6;
  const fadt: AcpiFadtConfig = f
    ? {
        revision: rev,
        minorRevision: rev >= 5 ? (f.minorRevision ?? 0) : 0,
        hardwareReduced: f.hardwareReduced,
        sciInterrupt: f.sciInterrupt,
        smiCommandPort: f.smiCommandPort,
        acpiEnable: f.acpiEnable,
        acpiDisable: f.acpiDisable,
        pm1aEventBlock: f.pm1aEventBlock,
        pm1aControlBlock: f.pm1aControlBlock,
        gpe0Block: f.gpe0Block,
        gpe0BlockLength: f.gpe0Block ? f.gpe0BlockLength : 0,
        pmProfile: f.pmProfile,
        century: f.century,
        iapcBootFlags: f.iapcBootFlags,
        flags: (f.flags & ~DERIVED_FLAGS) >>> 0,
        reset: f.resetRegister && f.resetValue !== null && (f.flags & FadtFlags.ResetRegSup) !== 0 && f.resetRegister.address !== 0 ? { port: f.resetRegister.address, value: f.resetValue } : null,
      }
    : normalizeAcpiConfig({}).fadt;

  return {
    oem,
    madtRevision: h.revision,
    localApicAddress: madt.localApicAddress,
    pcatCompat: madt.pcatCompat,
    processors,
    ioApics: madt.ioApics.map((io) => ({ ...io })),
    interruptOverrides: madt.interruptOverrides.map((o) => ({ bus: o.bus, source: o.source, gsi: o.gsi, flags: o.flags })),
    nmiSources: madt.nmiSources.map((n) => ({ gsi: n.gsi, flags: n.flags })),
    localApicNmi: madt.localApicNmis.length ? { flags: madt.localApicNmis[0].flags, lint: madt.localApicNmis[0].lint } : null,
    localApicAddressOverride: madt.localApicAddressOverride,
    numa,
    pmTimer,
    fadt,
    dsdtAml: t.dsdt ? new Uint8Array(t.dsdt.aml) : new Uint8Array(0),
  };
}
