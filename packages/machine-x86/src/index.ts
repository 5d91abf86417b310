import { NotImplementedError } from '@latelaunch/kernel';

// Physical memory.
export { SparseMemory, MemorySnapshot } from './memory/sparse-memory.js';
export type { CodePageWriteListener } from './memory/sparse-memory.js';
export { PAGE_SIZE, PAGE_SHIFT, MAX_PHYSICAL_ADDRESS } from './memory/layout.js';
export type { RamRange, MemoryConfig } from './memory/layout.js';
export { buildPcMemoryLayout, carveE820, E820Type } from './memory/pc-layout.js';
export type { E820Entry, PcMemoryLayout, PcMemoryLayoutOptions } from './memory/pc-layout.js';

// Bus.
export { Bus, BusConflictError, NO_INITIATOR } from './bus/bus.js';
export type { AccessSize, PortHandler, MmioHandler, BusRegistration } from './bus/bus.js';

// Clock.
export { VirtualClock, TICKS_PER_SECOND, TICKS_PER_MILLISECOND, TICKS_PER_MICROSECOND } from './clock/virtual-clock.js';
export type { ClockEventCallback, VirtualClockOptions } from './clock/virtual-clock.js';

// Devices.
export type { Snapshottable } from './devices/snapshottable.js';
export { isBusDevice } from './devices/device.js';
export type { BusDevice } from './devices/device.js';
export { Uart16550, Uart16550OptionsToken, UART_BASE_BAUD } from './devices/uart16550.js';
export type { Uart16550Options } from './devices/uart16550.js';
export { DebugExitDevice, DebugExitOptionsToken, debugExitStatus } from './devices/debug-exit.js';
export type { DebugExitOptions, ExitRequest } from './devices/debug-exit.js';
export { PostCodePort, PostCodeOptionsToken } from './devices/post-code.js';
export type { PostCodeOptions } from './devices/post-code.js';
export { uart16550Plugin, debugExitPlugin, postCodePlugin } from './devices/plugins.js';

// Loaders.
export { ImageFormatError } from './loader/errors.js';
export type { ImageErrorReason } from './loader/errors.js';
export { parseElf, loadElf, loadFlatBinary, isElf } from './loader/elf.js';
export type { ElfImage, ElfProgramHeader, LoadTarget, LoadedImage, LoadedSegment, LoadElfOptions } from './loader/elf.js';
export {
  loadMultiboot,
  findMultibootHeader,
  MULTIBOOT_HEADER_MAGIC,
  MULTIBOOT_BOOTLOADER_MAGIC,
  MULTIBOOT_INFO_ADDRESS,
  MultibootInfoOffsets,
  MultibootInfoFlags,
} from './loader/multiboot.js';
export type {
  MultibootHeader,
  MultibootAddressFields,
  MultibootLoadOptions,
  MultibootLoadResult,
  MultibootBootInfo,
  InitialProcessorState,
  SegmentRegisterState,
} from './loader/multiboot.js';

/**
 * Entry point of the simulated machine (issue 4). Not built yet: it throws a typed `NotImplementedError`
 * (code `LL_NOT_IMPLEMENTED`) instead of returning a fake result.
 */
export function createMachine(..._args: unknown[]): never {
  throw new NotImplementedError('@latelaunch/machine-x86 createMachine', 'the simulated machine (issue 4)');
}
