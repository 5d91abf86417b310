/**
 * @latelaunch/acpi — ACPI table layouts: build, parse and checksum RSDP, RSDT, XSDT, MADT, SRAT,
 * SLIT, FADT, FACS and a minimal DSDT. Parsing never throws on bad firmware; it reports anomalies.
 * Node-only helpers (`loadTableDir`) are in '@latelaunch/acpi/node'.
 */

// parse
export { parseAcpiTables } from './parse.js';
export type { AcpiTables, OtherTable } from './parse.js';
export { findRsdp, parseAcpiFromMemory } from './discover.js';
export type { PhysicalMemoryReader, DiscoveryOptions, RsdpLocation } from './discover.js';
export { AnomalyKinds } from './anomalies.js';
export type { AcpiAnomaly, AnomalyKind, AnomalySeverity } from './anomalies.js';

// summary
export { summarizeAcpi, isHotplugCandidate, hotplugCandidates } from './summary.js';
export type { AcpiSummary, NumaSummary, NumaDomainSummary } from './summary.js';

// build and layout
export { buildAcpiTables, layoutTables, layoutReader } from './build.js';
export type { AcpiTableImages, AcpiLayout, PlacedTable, LayoutOptions } from './build.js';
export { normalizeAcpiConfig, configFromTables, processorTopology } from './config.js';
export type { AcpiMachineConfig, AcpiMachineConfigInput, AcpiProcessor, AcpiNuma, AcpiNumaNode, AcpiMemoryRange, AcpiPmTimer, AcpiFadtConfig } from './config.js';

// checksums and low-level table builders
export { byteSum, checksumOk, fixChecksum, sealTable } from './tables/common.js';
export type { AcpiTableHeader, GenericAddress, OemInfo } from './tables/common.js';
export { buildRsdp } from './tables/rsdp.js';
export type { Rsdp } from './tables/rsdp.js';
export type { RootTable } from './tables/rsdt.js';
export type { Madt, MadtProcessor, MadtIoApic, MadtInterruptOverride, MadtNmiSource, MadtLocalApicNmi, MadtOtherSubtable } from './tables/madt.js';
export type { Srat, SratCpuAffinity, SratLapicAffinity, SratX2apicAffinity, SratMemoryAffinity, SratOtherSubtable } from './tables/srat.js';
export type { Slit } from './tables/slit.js';
export { FadtFlags, IapcBootFlags, FADT_LENGTH_BY_REVISION } from './tables/fadt.js';
export type { Fadt, PmTimerBlock, FadtRegisterBlock } from './tables/fadt.js';
export type { Dsdt } from './tables/dsdt.js';
export type { Facs } from './tables/facs.js';

// errors
export { AcpiErrorCodes, AcpiError, AcpiNotAcpiError, isAcpiNotAcpiError } from './errors.js';
export type { AcpiErrorCode } from './errors.js';
