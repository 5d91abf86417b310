/**
 * The firmware's machine description: processors present and possible, hyper-threading, NUMA nodes
 * with memory, processor assignment and distances, the PM timer and the I/O APIC. Defaults give the
 * default machine: 4 processors, 2 NUMA nodes, 1 GiB.
 */
import { InvalidArgumentError } from '@latelaunch/kernel';
import { makeTopology, topologyProcessor, type CpuTopology } from './topology.js';

const MiB = 0x100000;

export interface FirmwareNumaNodeInput {
  /** Memory of the node in MiB; 0 = memoryless. Default: the rest of `memoryMiB`, shared evenly. */
  readonly memoryMiB?: number;
  /** Processor indices (0-based, present or hot-pluggable) assigned to this node. Default: by package. */
  readonly cpus?: readonly number[];
}

export interface FirmwareConfigInput {
  /** Processors present at boot. Default 4. */
  readonly cpus?: number;
  /** Possible processors (present + hot-pluggable, written as disabled MADT entries). Default `cpus`. */
  readonly maxCpus?: number;
  /** Two threads per core. Default false. */
  readonly hyperThreading?: boolean;
  /** Packages (sockets). Default: the number of NUMA nodes (1 without NUMA). */
  readonly packages?: number;
  /** Cores per package. Default: ⌈maxCpus / threads / packages⌉. */
  readonly coresPerPackage?: number;
  /** RAM in MiB. Default 1024 (or the sum of the nodes' `memoryMiB` when all are given). */
  readonly memoryMiB?: number;
  /** Start of the PCI hole below 4 GiB. Default 0xC0000000. */
  readonly pciHoleStart?: number;
  /**
   * NUMA: a node count (memory split evenly, processors by package), explicit nodes, or null for
   * no SRAT/SLIT. Default 2 nodes. Nodes without processors and memory are empty nodes (they exist
   * through the SLIT).
   */
  readonly numa?: number | { readonly nodes: readonly FirmwareNumaNodeInput[]; readonly distances?: readonly (readonly number[])[] | null } | null;
  /** ACPI PM timer: port and width. Default { port: 0x608, bits: 24 }; null for none. */
  readonly pmTimer?: { readonly port?: number; readonly bits?: 24 | 32 } | null;
  /** I/O APIC. Default at 0xFEC00000, GSI base 0, ID = the lowest number no processor uses. */
  readonly ioApic?: { readonly address?: number; readonly id?: number; readonly gsiBase?: number };
  /** Local APIC base in the MADT. Default 0xFEE00000. */
  readonly localApicAddress?: number;
  /** Kernel command line for the boot info. Default empty. */
  readonly cmdline?: string;
  /** Default `latelaunch`. */
  readonly bootLoaderName?: string;
  /** Where the boot info goes. Default 0x10000. */
  readonly bootInfoAddress?: number;
  /** Where the RSDP goes (16-byte aligned, 0xE0000–0xFFFDC). Default 0xF0000. */
  readonly rsdpAddress?: number;
}

export interface FirmwareProcessor {
  /** Processor index (the machine's processor number; MADT order). */
  readonly index: number;
  readonly apicId: number;
  /** ACPI processor UID. */
  readonly uid: number;
  /** Present at boot (enabled MADT entry); false = hot-pluggable placeholder. */
  readonly enabled: boolean;
  /** NUMA node (proximity domain), or null without NUMA. */
  readonly node: number | null;
}

export interface FirmwareNumaNode {
  readonly node: number;
  /**
   * Memory bytes of the node: the configured size (config source; node 0's includes the 384 KiB
   * legacy hole its ranges leave out), or the sum of its SRAT ranges (real tables).
   */
  readonly memoryBytes: number;
  /** Physical ranges (SRAT memory affinity), legacy hole and PCI hole excluded. */
  readonly ranges: readonly { readonly base: number; readonly length: number }[];
  /** Processor indices. */
  readonly cpus: readonly number[];
}

export interface FirmwareConfig {
  readonly cpus: number;
  readonly maxCpus: number;
  readonly topology: CpuTopology;
  readonly memoryMiB: number;
  readonly pciHoleStart: number;
  readonly processors: readonly FirmwareProcessor[];
  readonly numa: { readonly nodes: readonly FirmwareNumaNode[]; readonly distances: readonly (readonly number[])[] | null } | null;
  readonly pmTimer: { readonly port: number; readonly bits: 24 | 32 } | null;
  readonly ioApic: { readonly address: number; readonly id: number; readonly gsiBase: number };
  readonly localApicAddress: number;
  readonly cmdline: string;
  readonly bootLoaderName: string;
  readonly bootInfoAddress: number;
  readonly rsdpAddress: number;
}

export const DEFAULT_RSDP_ADDRESS = 0xf0000;
export const DEFAULT_BOOT_INFO_ADDRESS = 0x10000;
export const DEFAULT_PM_TIMER_PORT = 0x608;

/**
 * Maps a "linear RAM offset" (0 … total) of a PC layout to physical ranges: [0, lowEnd) is
 * identity, the rest is remapped from 4 GiB. The legacy hole 0xA0000–0xFFFFF is removed.
 */
export function linearToPhysical(from: number, to: number, lowEnd: number): { base: number; length: number }[] {
  const out: { base: number; length: number }[] = [];
  const push = (a: number, b: number): void => {
    if (b <= a) return;
    // Cut the legacy hole.
    if (a < 0xa0000) push2(a, Math.min(b, 0xa0000));
    if (b > 0x100000) push2(Math.max(a, 0x100000), b);
  };
  const push2 = (a: number, b: number): void => {
    if (b > a) out.push({ base: a, length: b - a });
  };
  push(from, Math.min(to, lowEnd));
  if (to > lowEnd) push(0x100000000 + Math.max(0, from - lowEnd), 0x100000000 + (to - lowEnd));
  return out;
}

/** Fills defaults and validates; one `InvalidArgumentError` lists every problem. */
export function normalizeFirmwareConfig(input: FirmwareConfigInput = {}): FirmwareConfig {
  const issues: string[] = [];
  const check = (ok: boolean, msg: string): void => {
    if (!ok) issues.push(msg);
  };
  const cpus = input.cpus ?? 4;
  const maxCpus = input.maxCpus ?? cpus;
  check(Number.isInteger(cpus) && cpus >= 1 && cpus <= 4096, `cpus ${cpus} must be 1..4096`);
  check(Number.isInteger(maxCpus) && maxCpus >= cpus && maxCpus <= 4096, `maxCpus ${maxCpus} must be cpus..4096`);

  // NUMA nodes.
  const numaIn = input.numa === undefined ? 2 : input.numa;
  let nodeInputs: FirmwareNumaNodeInput[] | null = null;
  let distancesIn: readonly (readonly number[])[] | null | undefined;
  if (typeof numaIn === 'number') {
    check(Number.isInteger(numaIn) && numaIn >= 1 && numaIn <= 64, `numa ${numaIn} must be 1..64 nodes`);
    nodeInputs = Array.from({ length: Math.max(1, Math.min(64, numaIn | 0)) }, () => ({}));
  } else if (numaIn) {
    check(numaIn.nodes.length >= 1 && numaIn.nodes.length <= 64, 'numa.nodes: 1..64 nodes');
    nodeInputs = [...numaIn.nodes];
    distancesIn = numaIn.distances;
  }
  const nodeCount = nodeInputs?.length ?? 0;

  // Memory.
  let memoryMiB = input.memoryMiB;
  if (nodeInputs && nodeInputs.every((n) => n.memoryMiB !== undefined)) {
    const sum = nodeInputs.reduce((s, n) => s + (n.memoryMiB ?? 0), 0);
    if (memoryMiB === undefined) memoryMiB = sum;
    else check(sum === memoryMiB, `numa: node memory adds up to ${sum} MiB, memoryMiB is ${memoryMiB}`);
  }
  memoryMiB ??= 1024;
  check(Number.isInteger(memoryMiB) && memoryMiB >= 16 && memoryMiB <= 2 ** 31, `memoryMiB ${memoryMiB} must be an integer ≥ 16`);
  const pciHoleStart = input.pciHoleStart ?? 0xc0000000;
  check(Number.isInteger(pciHoleStart) && pciHoleStart % MiB === 0 && pciHoleStart >= 16 * MiB && pciHoleStart <= 0x100000000, 'pciHoleStart must be a MiB multiple in [16 MiB, 4 GiB]');

  // Topology.
  const threads = input.hyperThreading ? 2 : 1;
  const packages = input.packages ?? Math.max(1, nodeCount);
  check(Number.isInteger(packages) && packages >= 1, `packages ${packages} must be a positive integer`);
  const cores = input.coresPerPackage ?? Math.max(1, Math.ceil(maxCpus / threads / Math.max(1, packages)));
  check(Number.isInteger(cores) && cores >= 1, `coresPerPackage ${cores} must be a positive integer`);
  check(packages * cores * threads >= maxCpus, `topology ${packages} packages × ${cores} cores × ${threads} threads holds fewer than ${maxCpus} processors`);
  if (issues.length) throw new InvalidArgumentError(`invalid firmware machine config: ${issues.join('; ')}`);
  const topology = makeTopology(packages, cores, threads);

  // Node of each processor.
  const nodeOf: (number | null)[] = Array.from({ length: maxCpus }, (_, i) => (nodeCount ? topologyProcessor(topology, i).package % nodeCount : null));
  const assigned = new Set<number>();
  nodeInputs?.forEach((n, ni) => {
    for (const c of n.cpus ?? []) {
      check(Number.isInteger(c) && c >= 0 && c < maxCpus, `numa.nodes[${ni}].cpus: ${c} is not a processor index (0..${maxCpus - 1})`);
      check(!assigned.has(c), `numa: processor ${c} is assigned to two nodes`);
      assigned.add(c);
      nodeOf[c] = ni;
    }
  });
  const processors: FirmwareProcessor[] = nodeOf.map((node, index) => ({
    index,
    apicId: topologyProcessor(topology, index).apicId,
    uid: index,
    enabled: index < cpus,
    node,
  }));

  // Memory per node (MiB), then ranges.
  let numa: FirmwareConfig['numa'] = null;
  const lowEnd = Math.min(memoryMiB * MiB, pciHoleStart);
  if (nodeInputs) {
    const given = nodeInputs.reduce((s, n) => s + (n.memoryMiB ?? 0), 0);
    const open = nodeInputs.filter((n) => n.memoryMiB === undefined).length;
    const rest = memoryMiB - given;
    check(rest >= 0, `numa: node memory (${given} MiB) exceeds memoryMiB ${memoryMiB}`);
    let openSeen = 0;
    const sizes = nodeInputs.map((n) => {
      if (n.memoryMiB !== undefined) {
        check(Number.isInteger(n.memoryMiB) && n.memoryMiB >= 0, `numa: node memoryMiB ${n.memoryMiB} must be a non-negative integer`);
        return n.memoryMiB;
      }
      openSeen++;
      const share = Math.floor(rest / open);
      return openSeen === open ? rest - share * (open - 1) : share;
    });
    let cursor = 0;
    const nodes: FirmwareNumaNode[] = sizes.map((mib, i) => {
      const from = cursor * MiB;
      cursor += mib;
      return {
        node: i,
        memoryBytes: mib * MiB,
        ranges: linearToPhysical(from, cursor * MiB, lowEnd),
        cpus: processors.filter((p) => p.node === i).map((p) => p.index),
      };
    });
    let distances: number[][] | null;
    if (distancesIn === undefined) distances = nodes.map((_, i) => nodes.map((_, j) => (i === j ? 10 : 20)));
    else distances = distancesIn === null ? null : distancesIn.map((r) => [...r]);
    if (distances) {
      check(distances.length === nodes.length && distances.every((r) => r.length === nodes.length), `numa.distances must be ${nodes.length}×${nodes.length}`);
    } else {
      nodes.forEach((n) => check(n.ranges.length > 0 || n.cpus.length > 0, `numa node ${n.node} has no processor and no memory: it needs distances (a SLIT) to exist`));
    }
    numa = { nodes, distances };
  }

  // PM timer, I/O APIC.
  const pmIn = input.pmTimer === undefined ? {} : input.pmTimer;
  const pmTimer = pmIn === null ? null : { port: pmIn.port ?? DEFAULT_PM_TIMER_PORT, bits: pmIn.bits ?? 24 };
  if (pmTimer) {
    check(Number.isInteger(pmTimer.port) && pmTimer.port > 0 && pmTimer.port <= 0xfffc, `pmTimer.port ${pmTimer.port} must be 1..0xFFFC`);
    check(pmTimer.bits === 24 || pmTimer.bits === 32, 'pmTimer.bits must be 24 or 32');
  }
  const used = new Set(processors.map((p) => p.apicId));
  let freeId = 0;
  while (used.has(freeId) && freeId < 0xfe) freeId++;
  const ioApic = { address: input.ioApic?.address ?? 0xfec00000, id: input.ioApic?.id ?? freeId, gsiBase: input.ioApic?.gsiBase ?? 0 };
  check(Number.isInteger(ioApic.id) && ioApic.id >= 0 && ioApic.id <= 0xff, 'ioApic.id must be 0..255');
  const rsdpAddress = input.rsdpAddress ?? DEFAULT_RSDP_ADDRESS;
  check(Number.isInteger(rsdpAddress) && rsdpAddress % 16 === 0 && rsdpAddress >= 0xe0000 && rsdpAddress + 36 <= 0x100000, 'rsdpAddress must be 16-byte aligned in 0xE0000–0xFFFFF');
  const bootInfoAddress = input.bootInfoAddress ?? DEFAULT_BOOT_INFO_ADDRESS;
  check(Number.isInteger(bootInfoAddress) && bootInfoAddress % 16 === 0 && bootInfoAddress >= 0x500 && bootInfoAddress < 0x9fc00, 'bootInfoAddress must be 16-byte aligned conventional memory (0x500–0x9FBFF)');
  if (issues.length) throw new InvalidArgumentError(`invalid firmware machine config: ${issues.join('; ')}`);
  return {
    cpus,
    maxCpus,
    topology,
    memoryMiB,
    pciHoleStart,
    processors,
    numa,
    pmTimer,
    ioApic,
    localApicAddress: input.localApicAddress ?? 0xfee00000,
    cmdline: input.cmdline ?? '',
    bootLoaderName: input.bootLoaderName ?? 'latelaunch',
    bootInfoAddress,
    rsdpAddress,
  };
}
