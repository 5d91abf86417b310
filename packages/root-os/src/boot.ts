/**
 * Booting the root OS on a machine-x86 machine: the firmware (ACPI tables, E820, boot info with the
 * RSDP extension) is built into the machine's memory, the image is loaded flat at its load address,
 * and processor 0 enters it like a multiboot kernel (32-bit flat protected mode, paging off,
 * EAX = 0x2BADB002, EBX = boot info). The other processors stay in wait-for-SIPI until the OS
 * starts them (`smp: true`: INIT-SIPI-SIPI, see image.ts and the README).
 */
import type { AddressTranslatorFactory, TraceBus } from '@latelaunch/kernel';
import {
  buildFirmware,
  createMachine,
  firmwareMemoryLayout,
  NativeServiceRegistry,
  type FirmwareConfigInput,
  type FirmwareResult,
  type FirmwareSource,
  type InitialProcessorState,
  type Machine,
  type MachinePlatform,
  type RunResult,
} from '@latelaunch/machine-x86';
import { createTranslator } from '@latelaunch/paging';
import { buildRootOsImage, type RootOsImage, type RootOsImageOptions } from './image.js';
import { readInventory, type Inventory } from './inventory.js';
import { INVENTORY_ADDRESS, MULTIBOOT_BOOTLOADER_MAGIC } from './layout.js';
import { registerRootOsServices } from './services.js';
import { readProcessorStatus, type ProcessorStatus } from './smp.js';

/** The paging package's translators (4-level, PAE, 32-bit), without a container. */
export const rootOsTranslatorFactory: AddressTranslatorFactory = {
  name: 'root-os.paging',
  create: (control, memory) => createTranslator(control, memory),
};

export interface RootOsMachineOptions extends RootOsImageOptions {
  /** Firmware source (default `{}`: 4 processors, 2 NUMA nodes, 1 GiB). */
  readonly firmware?: FirmwareSource;
  /**
   * Logical processors of the machine (default: the config's `cpus` (4); for real table sets 1, or
   * with `smp` one per enabled MADT processor with its APIC ID); fewer than the firmware announces =
   * absent processors, reported as timed out by an `smp` build.
   */
  readonly cpus?: number;
  readonly seed?: number;
  readonly trace?: TraceBus;
  readonly quantum?: number;
  /** machine-x86 platform: `'qemu'` = a local APIC per processor plus the QEMU `pc` devices (default: none, the APIC-less stand-in; `'qemu'` when `smp` is set). */
  readonly platform?: MachinePlatform | null;
}

export interface RootOsMachine {
  readonly machine: Machine;
  readonly firmware: FirmwareResult;
  readonly image: RootOsImage;
  /** Runs until every processor halts (or the budget), like `machine.run`. */
  run(maxInstructions?: number): RunResult;
  /** Reads the inventory back from guest memory. */
  inventory(): Inventory;
  /** NMIs counted by the OS for an initial APIC ID. */
  nmiCount(apicId: number): number;
  /** Serial console output so far. */
  console(): string;
  /** The per-processor records (SMP builds; [] before the bring-up). */
  processorStatus(): ProcessorStatus[];
}

const MiB = 1024 * 1024;

function isTableSource(s: FirmwareSource): boolean {
  return 'acpiDir' in s || 'acpiTables' in s;
}
const PCI_HOLE = 0xc0000000;

/**
 * The machine's APIC IDs for a real table set: the enabled processors' IDs in MADT order (the
 * first is the BSP); `cpus` fewer keeps the first `cpus`, more adds the lowest unused IDs (absent
 * from the MADT, so the OS does not start them).
 */
function tableApicIds(processors: FirmwareResult['processors'], cpus: number | undefined): number[] {
  const ids = processors.filter((p) => p.enabled).map((p) => p.apicId);
  const n = cpus ?? ids.length;
  if (n <= ids.length) return ids.slice(0, n);
  const used = new Set(ids);
  for (let id = 0; ids.length < n && id < 0xff; id++) if (!used.has(id)) ids.push(id);
  return ids;
}

/** The multiboot entry state for an image and a boot-information address. */
export function rootOsEntryState(image: RootOsImage, bootInfoAddress: number): InitialProcessorState {
  const code = { selector: 0x08, base: 0, limit: 0xffffffff, accessRights: 0xc09b };
  const data = { selector: 0x10, base: 0, limit: 0xffffffff, accessRights: 0xc093 };
  return {
    mode: 'protected32',
    eax: MULTIBOOT_BOOTLOADER_MAGIC,
    ebx: bootInfoAddress,
    ecx: 0,
    edx: 0,
    esi: 0,
    edi: 0,
    ebp: 0,
    esp: 0x7c00,
    eip: image.entry,
    eflags: 0x2,
    cr0: 0x11,
    cr2: 0,
    cr3: 0,
    cr4: 0,
    efer: 0,
    cs: code,
    ds: data,
    es: data,
    fs: data,
    gs: data,
    ss: data,
    tr: { selector: 0, base: 0, limit: 0xffff, accessRights: 0x8b },
    ldtr: { selector: 0, base: 0, limit: 0xffff, accessRights: 0x82 },
    gdtr: { base: bootInfoAddress + 0x80, limit: 23 },
    idtr: { base: 0, limit: 0xffff },
  };
}

/**
 * Creates a machine with the firmware of `options.firmware`, the root OS services and the paging
 * translators, loads the image for `options.mode` and puts processor 0 at its entry.
 */
export function createRootOsMachine(options: RootOsMachineOptions): RootOsMachine {
  const image = buildRootOsImage(options);
  const source: FirmwareSource = options.firmware ?? {};
  const layout = firmwareMemoryLayout(source);
  // The machine's PC layout must back everything the firmware puts below 4 GiB.
  const lowTop = Math.max(...layout.ranges.filter((r) => r.base < PCI_HOLE).map((r) => Math.min(r.base + r.size, PCI_HOLE)));
  const highBytes = layout.ranges.filter((r) => r.base >= 0x100000000).reduce((s, r) => s + r.size, 0);
  const memoryMiB = Math.ceil(lowTop / MiB) + Math.ceil(highBytes / MiB);
  const services = registerRootOsServices(new NativeServiceRegistry());
  // A real table set with `smp`: one processor per ENABLED MADT processor, with exactly those APIC
  // IDs (BSP = the first), and the PM timer at the FADT's port — so the OS brings them all up by ID.
  const tableSmp = options.smp === true && isTableSource(source) ? buildFirmware(source) : null;
  const apicIds = tableSmp ? tableApicIds(tableSmp.processors, options.cpus) : undefined;
  const machineCpus = apicIds?.length ?? options.cpus ?? (isTableSource(source) ? 1 : Math.min(256, (source as FirmwareConfigInput).cpus ?? 4));
  const machine = createMachine({
    cpus: machineCpus,
    ...(apicIds ? { apicIds } : {}),
    ...(tableSmp ? { pmTimer: tableSmp.pmTimer } : {}),
    memoryMiB,
    seed: options.seed ?? 0,
    trace: options.trace,
    quantum: options.quantum,
    platform: options.platform ?? (options.smp ? 'qemu' : null),
    translatorFactory: rootOsTranslatorFactory,
    nativeServices: services,
  });
  const firmware = buildFirmware(source, machine.memory);
  machine.loadFlat(image.bytes, image.loadAddress);
  machine.applyInitialState(0, rootOsEntryState(image, firmware.bootInfoAddress));
  return {
    machine,
    firmware,
    image,
    run: (maxInstructions = 50_000_000) => machine.run({ maxInstructions }),
    inventory: () => readInventory(machine.memory, INVENTORY_ADDRESS),
    nmiCount: (apicId) => machine.memory.read32(image.symbols.nmi_counts + apicId * 4),
    console: () => machine.uart?.text ?? '',
    processorStatus: () => readProcessorStatus(machine.memory),
  };
}
