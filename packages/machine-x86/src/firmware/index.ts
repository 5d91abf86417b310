/** PC firmware: ACPI tables, E820, boot information, CPU topology and the QEMU platform profile. */
export { buildFirmware, firmwareMemoryLayout, readAcpiDir, BDA_EBDA_SEGMENT, BDA_BASE_MEMORY_KIB } from './firmware.js';
export type { FirmwareSource, AcpiTableSource, FirmwareResult, FirmwareIoApic } from './firmware.js';
export { normalizeFirmwareConfig, linearToPhysical, DEFAULT_RSDP_ADDRESS, DEFAULT_BOOT_INFO_ADDRESS, DEFAULT_PM_TIMER_PORT } from './config.js';
export type { FirmwareConfig, FirmwareConfigInput, FirmwareNumaNodeInput, FirmwareNumaNode, FirmwareProcessor } from './config.js';
export { makeTopology, topologyProcessor, topologyBits, guessTopology } from './topology.js';
export type { CpuTopology, TopologyProcessor } from './topology.js';
export { placeAcpiTables, patchFadt } from './acpi-placement.js';
export type { AcpiBlob, AcpiPlacement, AcpiPlacementInput, PlacedAcpiTable } from './acpi-placement.js';
export { encodeBootInfo, stampRsdpExtension, readRsdpExtension, BOOT_INFO_EXTENSION_MAGIC, BootInfoExtensionOffsets } from './boot-info.js';
export type { BootInfo, BootInfoInput, ByteWriter } from './boot-info.js';
export { qemuPlatformProfile, createPlatformDevices } from './platform.js';
export type { PlatformProfile, PlatformDeviceSpec, PlatformDeviceKind, PlatformDevices, QemuPlatformConfig } from './platform.js';
export { pcFirmwarePlugin, PcFirmware, PcFirmwarePluginConfigSchema, firmwareSourceFromConfig } from './plugin.js';
export type { PcFirmwarePluginConfig } from './plugin.js';
