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

// Machine (issue 4).
export { Machine, MachineSnapshot, createMachine } from './machine/machine.js';
export type {
  MachineOptions,
  RunOptions,
  RunUntil,
  RunResult,
  StopReason,
  CpuSummary,
  ActivityName,
  ScheduleEventOptions,
  MachineEventKind,
} from './machine/machine.js';
export { machinePlugin, MachinePluginConfigSchema } from './machine/plugin.js';
export type { MachinePluginConfig } from './machine/plugin.js';
export { InterruptStandIn } from './machine/interrupt-standin.js';
export { createQemuPlatformDevices, wireLocalApics, LOCAL_APIC_BASE } from './machine/platform-wiring.js';
export type { MachinePlatform, LocalApicWiring } from './machine/platform-wiring.js';
export { BootSelectors, BOOT_GDT_ADDRESS, BOOT_PML4_ADDRESS } from './machine/boot.js';
export type { BootMode, StartOptions } from './machine/boot.js';

// Native services.
export { NativeServiceRegistry, NativeServiceFaultError, NativeServiceError } from './cpu/native.js';
export type { NativeService, NativeServiceContext, NativeServiceDefinition, NativeFaultPolicy, NativeServiceRegistryOptions } from './cpu/native.js';

// PC platform devices and firmware (issue 6).
export { IoApic, IoApicOptionsToken, IoApicDeliveryMode, IoApicMmio, IoApicReg, IOAPIC_DEFAULT_BASE, IOAPIC_VERSION, IOAPIC_MMIO_SIZE } from './devices/ioapic.js';
export type { IoApicOptions, IoApicMessage, InterruptDeliveryBackend, RedirectionEntry } from './devices/ioapic.js';
export { Pic8259Pair, Pic8259OptionsToken } from './devices/pic8259.js';
export type { Pic8259Options, Pic8259ChipView } from './devices/pic8259.js';
export { AcpiPmTimer, PmTimerOptionsToken, PM_TIMER_HZ, PM_TIMER_DEFAULT_PORT, isClockedDevice, ticksAt, nsForTicks } from './devices/pm-timer.js';
export type { PmTimerOptions, ClockedDevice } from './devices/pm-timer.js';
export { Pit8254, Pit8254OptionsToken, PIT_HZ, PORT61_REFRESH_NS } from './devices/pit8254.js';
export type { Pit8254Options } from './devices/pit8254.js';
export { CmosRtc, CmosRtcOptionsToken, CmosReg, CMOS_DEFAULT_EPOCH } from './devices/cmos-rtc.js';
export type { CmosRtcOptions } from './devices/cmos-rtc.js';
export { FwCfg, FwCfgOptionsToken, FwCfgKey, FW_CFG_ARCH_LOCAL, FW_CFG_WRITE_CHANNEL, FW_CFG_MAX_FILE_PATH, encodeFwCfgE820 } from './devices/fw-cfg.js';
export type { FwCfgOptions, FwCfgFile } from './devices/fw-cfg.js';
export { ioApicPlugin, pic8259Plugin, pmTimerPlugin, pit8254Plugin, cmosRtcPlugin, fwCfgPlugin } from './devices/plugins.js';
export {
  buildFirmware,
  firmwareMemoryLayout,
  readAcpiDir,
  normalizeFirmwareConfig,
  linearToPhysical,
  makeTopology,
  topologyProcessor,
  topologyBits,
  guessTopology,
  placeAcpiTables,
  patchFadt,
  encodeBootInfo,
  stampRsdpExtension,
  readRsdpExtension,
  BOOT_INFO_EXTENSION_MAGIC,
  BootInfoExtensionOffsets,
  BDA_EBDA_SEGMENT,
  BDA_BASE_MEMORY_KIB,
  DEFAULT_RSDP_ADDRESS,
  DEFAULT_BOOT_INFO_ADDRESS,
  DEFAULT_PM_TIMER_PORT,
  qemuPlatformProfile,
  createPlatformDevices,
  pcFirmwarePlugin,
  PcFirmware,
  PcFirmwarePluginConfigSchema,
  firmwareSourceFromConfig,
} from './firmware/index.js';
export type {
  FirmwareSource,
  AcpiTableSource,
  FirmwareResult,
  FirmwareIoApic,
  FirmwareConfig,
  FirmwareConfigInput,
  FirmwareNumaNodeInput,
  FirmwareNumaNode,
  FirmwareProcessor,
  CpuTopology,
  TopologyProcessor,
  AcpiBlob,
  AcpiPlacement,
  AcpiPlacementInput,
  PlacedAcpiTable,
  BootInfo,
  BootInfoInput,
  ByteWriter,
  PlatformProfile,
  PlatformDeviceSpec,
  PlatformDeviceKind,
  PlatformDevices,
  QemuPlatformConfig,
  PcFirmwarePluginConfig,
} from './firmware/index.js';

// VMX (issue 8).
export { attachVmx, createVmx, vmxOf, vmxUnitOf, vmxCapabilitiesOf, VmxIntrinsics, vmxPlugin } from './vmx/vmx.js';
export type { ProcessorVirtualization, VmxOptions, VmxResult } from './vmx/vmx.js';
export type { VmxUnit } from './vmx/unit.js';
export { Pin, Proc, Proc2, ExitCtl, EntryCtl, VMCS_REVISION_ID, PREEMPTION_TIMER_RATE, CR3_TARGET_COUNT, MAX_MSR_LIST, EptVpidCap, capabilityMsr, controlsValid } from './vmx/controls.js';
export type { VmxCapabilities, ControlCapability } from './vmx/controls.js';
export { VMCS_FIELDS, VMCS_ENCODING, fieldByEncoding, fieldByName, isValidEncoding, VM_INSTRUCTION_ERRORS, VMX_ERROR, EXIT_REASON, EXIT_REASON_NAMES, EXIT_REASON_FAILED_VMENTRY } from './vmx/vmcs-fields.js';
export type { VmcsField, VmcsFieldWidth, VmcsFieldType } from './vmx/vmcs-fields.js';
export { SUPPORTED_FIELDS } from './vmx/vmcs.js';
export { CONTROL_CHECKS, HOST_CHECKS, GUEST_CHECKS } from './vmx/entry-checks.js';
export type { NamedCheck } from './vmx/entry-checks.js';
export { VMX_CAPABILITY_MSRS, IA32_FEATURE_CONTROL } from './vmx/capability-msrs.js';
