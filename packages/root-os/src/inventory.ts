/**
 * The discovery inventory: a versioned binary structure in OS memory (little-endian). The x86
 * code writes the CPUID/APIC section with real instructions; the `discover` native service writes
 * the rest from the firmware tables and the boot information. `readInventory` decodes it.
 * The layout is documented in the README ("Inventory").
 */
import { InvalidArgumentError } from '@latelaunch/kernel';

export const INVENTORY_MAGIC = 0x56494c4c; // "LLIV"
export const INVENTORY_VERSION = 1;
export const INVENTORY_HEADER_SIZE = 0x100;

/** Byte offsets of the header fields. */
export const InventoryOffsets = Object.freeze({
  magic: 0x00,
  version: 0x04, // u16
  headerSize: 0x06, // u16
  totalSize: 0x08,
  flags: 0x0c,
  rsdpAddress: 0x10,
  anomalyCount: 0x14,
  // tables: u16 count, u16 entry size, u32 offset (from the inventory start)
  processors: 0x18,
  ioApics: 0x20,
  nodes: 0x28,
  memoryAffinity: 0x30,
  ramRanges: 0x38,
  slit: 0x40, // u16 localities, u16 0, u32 offset of the n×n byte matrix
  anomalyText: 0x48, // u32 length (without the NUL), u32 offset
  pmTimerPort: 0x50, // u32, 0 = none
  pmTimerWidth: 0x54, // u8 (24/32, 0 = none)
  pmTimerSpace: 0x55, // u8 (1 = SystemIO)
  localApicAddress: 0x58, // u32 (MADT)
  madtFlags: 0x5c,
  // CPUID / APIC section, written by x86 code on the BSP
  cpuidMaxLeaf: 0x80,
  cpuidVendor: 0x84, // 12 bytes (EBX, EDX, ECX of leaf 0)
  cpuid1Eax: 0x90,
  cpuid1Ebx: 0x94,
  cpuid1Ecx: 0x98,
  cpuid1Edx: 0x9c,
  cpuidMaxExtLeaf: 0xa0,
  cpuidExt1Edx: 0xa4,
  cpuidExt8Eax: 0xa8,
  cpuidB0Eax: 0xac,
  cpuidB0Ebx: 0xb0,
  cpuidB1Eax: 0xb4,
  cpuidB1Ebx: 0xb8,
  cpuidBEdx: 0xbc,
  apicBase: 0xc0, // u64 IA32_APIC_BASE
  cpuidValid: 0xc8, // bit 0 section written, bit 1 leaf 0xB read, bit 2 leaf 0x80000008 read
});

export const InventoryFlags = Object.freeze({
  ACPI: 1,
  RSDP_FROM_BOOT_INFO: 2,
  RSDP_FROM_SCAN: 4,
  XSDT: 8,
  BOOT_MAGIC_OK: 16,
  NUMA: 32,
});

export const PROCESSOR_ENTRY_SIZE = 16;
export const IOAPIC_ENTRY_SIZE = 16;
export const NODE_ENTRY_SIZE = 32;
export const MEMORY_AFFINITY_ENTRY_SIZE = 24;
export const RAM_RANGE_ENTRY_SIZE = 24;

export const ProcessorFlags = Object.freeze({ ENABLED: 1, HOTPLUG: 2, X2APIC_ENTRY: 4, ONLINE_CAPABLE: 8 });
export const NodeFlags = Object.freeze({ HAS_CPUS: 1, HAS_MEMORY: 2, EMPTY: 4 });
export const MemoryAffinityFlags = Object.freeze({ ENABLED: 1, HOTPLUG: 2, NONVOLATILE: 4 });
export const NO_NODE = 0xffffffff;

export interface InventoryProcessor {
  readonly apicId: number;
  readonly uid: number;
  /** Present at boot (enabled MADT entry). */
  readonly enabled: boolean;
  /** Hot-pluggable (a possible processor: the acpi package's hot-plug rule). */
  readonly hotplug: boolean;
  readonly x2apicEntry: boolean;
  readonly onlineCapable: boolean;
  /** NUMA node (SRAT proximity domain) or null. */
  readonly node: number | null;
}

export interface InventoryIoApic {
  readonly id: number;
  readonly address: number;
  readonly gsiBase: number;
}

export interface InventoryNode {
  readonly domain: number;
  readonly hasCpus: boolean;
  readonly hasMemory: boolean;
  readonly empty: boolean;
  readonly cpuCount: number;
  readonly memoryBytes: number;
  readonly hotPluggableMemoryBytes: number;
}

export interface InventoryMemoryAffinity {
  readonly base: number;
  readonly length: number;
  readonly domain: number;
  readonly enabled: boolean;
  readonly hotPluggable: boolean;
  readonly nonVolatile: boolean;
}

export interface InventoryRamRange {
  readonly base: number;
  readonly length: number;
  /** E820 type (1 usable, 2 reserved, 3 ACPI, 4 NVS, …). */
  readonly type: number;
}

export interface InventoryCpuid {
  readonly written: boolean;
  readonly maxLeaf: number;
  readonly vendor: string;
  readonly family: number;
  readonly model: number;
  readonly stepping: number;
  readonly initialApicId: number;
  /** CPUID.1:EBX[23:16]. */
  readonly logicalProcessors: number;
  readonly leaf1: { readonly eax: number; readonly ebx: number; readonly ecx: number; readonly edx: number };
  readonly features: {
    readonly apic: boolean;
    readonly x2apic: boolean;
    readonly vmx: boolean;
    readonly pae: boolean;
    readonly pse: boolean;
    readonly htt: boolean;
    readonly longMode: boolean;
    readonly nx: boolean;
  };
  readonly maxExtLeaf: number;
  /** CPUID.80000008h:EAX[7:0], or null when the leaf does not exist. */
  readonly maxPhysAddr: number | null;
  /** Leaf 0xB: SMT shift/threads, core-level shift/logical count, x2APIC ID — null when absent. */
  readonly topology: { readonly smtShift: number; readonly threadsPerCore: number; readonly packageShift: number; readonly logicalPerPackage: number; readonly x2apicId: number } | null;
}

export interface InventoryApic {
  /** IA32_APIC_BASE as read with RDMSR. */
  readonly msr: bigint;
  readonly base: number;
  readonly enabled: boolean;
  readonly bsp: boolean;
  readonly mode: 'disabled' | 'xapic' | 'x2apic' | 'invalid';
}

export interface Inventory {
  readonly address: number;
  readonly version: number;
  readonly size: number;
  readonly flags: number;
  readonly rsdpAddress: number;
  readonly rsdpSource: 'boot-info' | 'scan' | 'none';
  readonly bootMagicOk: boolean;
  readonly processors: readonly InventoryProcessor[];
  readonly ioApics: readonly InventoryIoApic[];
  readonly nodes: readonly InventoryNode[];
  readonly memoryAffinity: readonly InventoryMemoryAffinity[];
  readonly ramRanges: readonly InventoryRamRange[];
  /** SLIT matrix (`slit[i][j]`), or null without SLIT. */
  readonly slit: readonly (readonly number[])[] | null;
  readonly pmTimer: { readonly port: number; readonly width: number } | null;
  readonly localApicAddress: number;
  readonly madtFlags: number;
  readonly anomalies: readonly string[];
  readonly cpuid: InventoryCpuid;
  readonly apic: InventoryApic;
}

/** Reads `length` bytes of physical (or identity-mapped) memory. */
export type MemoryReader = (address: number, length: number) => Uint8Array;

/** Accepts a reader function or anything with `readBytes(address, length)` (a `SparseMemory`, a `Bus`-backed view…). */
export type MemoryReaderLike = MemoryReader | { readBytes(address: number, length: number): Uint8Array };

function asReader(m: MemoryReaderLike): MemoryReader {
  if (typeof m === 'function') return m;
  if (m && typeof (m as { readBytes?: unknown }).readBytes === 'function') return (a, n) => m.readBytes(a, n);
  throw new InvalidArgumentError('readInventory needs a reader function or an object with readBytes(address, length)');
}

/** The inventory could not be decoded (bad magic, version or sizes). */
export class InventoryFormatError extends InvalidArgumentError {}

function u64(dv: DataView, o: number): number {
  return dv.getUint32(o, true) + dv.getUint32(o + 4, true) * 0x100000000;
}

/** Decodes the inventory at `address`. Throws {@link InventoryFormatError} if it is not one. */
export function readInventory(memory: MemoryReaderLike, address: number): Inventory {
  const read = asReader(memory);
  const head = read(address, INVENTORY_HEADER_SIZE);
  const hv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const O = InventoryOffsets;
  const magic = hv.getUint32(O.magic, true);
  if (magic !== INVENTORY_MAGIC) throw new InventoryFormatError(`no inventory at 0x${address.toString(16)}: magic 0x${magic.toString(16)}`);
  const version = hv.getUint16(O.version, true);
  if (version !== INVENTORY_VERSION) throw new InventoryFormatError(`inventory version ${version} is not ${INVENTORY_VERSION}`);
  const size = hv.getUint32(O.totalSize, true);
  if (size < INVENTORY_HEADER_SIZE || size > 0x100000) throw new InventoryFormatError(`inventory size ${size} is out of range`);
  const all = read(address, size);
  const dv = new DataView(all.buffer, all.byteOffset, all.byteLength);
  const table = <T>(at: number, entry: number, decode: (o: number) => T): T[] => {
    const count = dv.getUint16(at, true);
    const es = dv.getUint16(at + 2, true);
    const off = dv.getUint32(at + 4, true);
    if (count > 0 && (es !== entry || off + count * es > size)) throw new InventoryFormatError(`inventory table at header offset 0x${at.toString(16)} is malformed`);
    const out: T[] = [];
    for (let i = 0; i < count; i++) out.push(decode(off + i * es));
    return out;
  };
  const flags = dv.getUint32(O.flags, true);
  const processors = table(O.processors, PROCESSOR_ENTRY_SIZE, (o) => {
    const f = dv.getUint32(o + 8, true);
    const node = dv.getUint32(o + 12, true);
    return {
      apicId: dv.getUint32(o, true),
      uid: dv.getUint32(o + 4, true),
      enabled: (f & ProcessorFlags.ENABLED) !== 0,
      hotplug: (f & ProcessorFlags.HOTPLUG) !== 0,
      x2apicEntry: (f & ProcessorFlags.X2APIC_ENTRY) !== 0,
      onlineCapable: (f & ProcessorFlags.ONLINE_CAPABLE) !== 0,
      node: node === NO_NODE ? null : node,
    };
  });
  const ioApics = table(O.ioApics, IOAPIC_ENTRY_SIZE, (o) => ({ id: dv.getUint32(o, true), address: dv.getUint32(o + 4, true), gsiBase: dv.getUint32(o + 8, true) }));
  const nodes = table(O.nodes, NODE_ENTRY_SIZE, (o) => {
    const f = dv.getUint32(o + 4, true);
    return {
      domain: dv.getUint32(o, true),
      hasCpus: (f & NodeFlags.HAS_CPUS) !== 0,
      hasMemory: (f & NodeFlags.HAS_MEMORY) !== 0,
      empty: (f & NodeFlags.EMPTY) !== 0,
      cpuCount: dv.getUint32(o + 8, true),
      memoryBytes: u64(dv, o + 16),
      hotPluggableMemoryBytes: u64(dv, o + 24),
    };
  });
  const memoryAffinity = table(O.memoryAffinity, MEMORY_AFFINITY_ENTRY_SIZE, (o) => {
    const f = dv.getUint32(o + 20, true);
    return {
      base: u64(dv, o),
      length: u64(dv, o + 8),
      domain: dv.getUint32(o + 16, true),
      enabled: (f & MemoryAffinityFlags.ENABLED) !== 0,
      hotPluggable: (f & MemoryAffinityFlags.HOTPLUG) !== 0,
      nonVolatile: (f & MemoryAffinityFlags.NONVOLATILE) !== 0,
    };
  });
  const ramRanges = table(O.ramRanges, RAM_RANGE_ENTRY_SIZE, (o) => ({ base: u64(dv, o), length: u64(dv, o + 8), type: dv.getUint32(o + 16, true) }));
  const n = dv.getUint16(O.slit, true);
  const slitOff = dv.getUint32(O.slit + 4, true);
  let slit: number[][] | null = null;
  if (n > 0) {
    if (slitOff + n * n > size) throw new InventoryFormatError('inventory SLIT matrix is out of range');
    slit = [];
    for (let i = 0; i < n; i++) slit.push([...all.subarray(slitOff + i * n, slitOff + (i + 1) * n)]);
  }
  const textLen = dv.getUint32(O.anomalyText, true);
  const textOff = dv.getUint32(O.anomalyText + 4, true);
  const text = textLen > 0 && textOff + textLen <= size ? new TextDecoder().decode(all.subarray(textOff, textOff + textLen)) : '';
  const anomalies = text.split('\n').filter((l) => l.length > 0);
  const port = dv.getUint32(O.pmTimerPort, true);
  const width = dv.getUint8(O.pmTimerWidth);

  const vendorBytes = all.subarray(O.cpuidVendor, O.cpuidVendor + 12);
  const eax1 = dv.getUint32(O.cpuid1Eax, true);
  const ebx1 = dv.getUint32(O.cpuid1Ebx, true);
  const ecx1 = dv.getUint32(O.cpuid1Ecx, true);
  const edx1 = dv.getUint32(O.cpuid1Edx, true);
  const valid = dv.getUint32(O.cpuidValid, true);
  const baseFamily = (eax1 >>> 8) & 0xf;
  const family = baseFamily === 0xf ? baseFamily + ((eax1 >>> 20) & 0xff) : baseFamily;
  const model = baseFamily === 0x6 || baseFamily === 0xf ? (((eax1 >>> 16) & 0xf) << 4) | ((eax1 >>> 4) & 0xf) : (eax1 >>> 4) & 0xf;
  const extEdx = dv.getUint32(O.cpuidExt1Edx, true);
  const cpuid: InventoryCpuid = {
    written: (valid & 1) !== 0,
    maxLeaf: dv.getUint32(O.cpuidMaxLeaf, true),
    vendor: String.fromCharCode(...vendorBytes).replace(/\0+$/, ''),
    family,
    model,
    stepping: eax1 & 0xf,
    initialApicId: ebx1 >>> 24,
    logicalProcessors: (ebx1 >>> 16) & 0xff,
    leaf1: { eax: eax1, ebx: ebx1, ecx: ecx1, edx: edx1 },
    features: {
      apic: (edx1 & (1 << 9)) !== 0,
      x2apic: (ecx1 & (1 << 21)) !== 0,
      vmx: (ecx1 & (1 << 5)) !== 0,
      pae: (edx1 & (1 << 6)) !== 0,
      pse: (edx1 & (1 << 3)) !== 0,
      htt: (edx1 & (1 << 28)) !== 0,
      longMode: (extEdx & (1 << 29)) !== 0,
      nx: (extEdx & (1 << 20)) !== 0,
    },
    maxExtLeaf: dv.getUint32(O.cpuidMaxExtLeaf, true),
    maxPhysAddr: (valid & 4) !== 0 ? dv.getUint32(O.cpuidExt8Eax, true) & 0xff : null,
    topology:
      (valid & 2) !== 0
        ? {
            smtShift: dv.getUint32(O.cpuidB0Eax, true) & 0x1f,
            threadsPerCore: dv.getUint32(O.cpuidB0Ebx, true) & 0xffff,
            packageShift: dv.getUint32(O.cpuidB1Eax, true) & 0x1f,
            logicalPerPackage: dv.getUint32(O.cpuidB1Ebx, true) & 0xffff,
            x2apicId: dv.getUint32(O.cpuidBEdx, true),
          }
        : null,
  };
  const msr = dv.getBigUint64(O.apicBase, true);
  const en = (msr >> 11n) & 1n;
  const x2 = (msr >> 10n) & 1n;
  const apic: InventoryApic = {
    msr,
    base: Number(msr & 0xffffff000n),
    enabled: en === 1n,
    bsp: ((msr >> 8n) & 1n) === 1n,
    mode: en === 0n ? (x2 === 1n ? 'invalid' : 'disabled') : x2 === 1n ? 'x2apic' : 'xapic',
  };
  return {
    address,
    version,
    size,
    flags,
    rsdpAddress: dv.getUint32(O.rsdpAddress, true),
    rsdpSource: flags & InventoryFlags.RSDP_FROM_BOOT_INFO ? 'boot-info' : flags & InventoryFlags.RSDP_FROM_SCAN ? 'scan' : 'none',
    bootMagicOk: (flags & InventoryFlags.BOOT_MAGIC_OK) !== 0,
    processors,
    ioApics,
    nodes,
    memoryAffinity,
    ramRanges,
    slit,
    pmTimer: port !== 0 ? { port, width } : null,
    localApicAddress: dv.getUint32(O.localApicAddress, true),
    madtFlags: dv.getUint32(O.madtFlags, true),
    anomalies,
    cpuid,
    apic,
  };
}
