/**
 * Extension-point interfaces. Each interface here has a same-named token in {@link Tokens}
 * (`Tokens.Machine` ↔ `Machine`) and a descriptor in {@link ExtensionPoints} that says whether
 * the point is a *setter* (exactly one implementation) or a *multi* point (any number,
 * selected by name from the config).
 *
 * The interfaces are deliberately small: they name what composition and the CLI need to know.
 * The packages that implement them (machine-x86, paging, apic, …) export richer classes; an
 * implementation may always offer more than its extension point promises.
 */

/** Everything contributed to a multi point is identified by a unique name. */
export interface Named {
  readonly name: string;
  readonly description?: string;
}

/** Guest-physical memory as seen by devices, firmware and the hypervisor. Little-endian. */
export interface PhysicalMemory {
  read8(pa: number): number;
  read16(pa: number): number;
  read32(pa: number): number;
  read64(pa: number): bigint;
  write8(pa: number, value: number): void;
  write16(pa: number, value: number): void;
  write32(pa: number, value: number): void;
  write64(pa: number, value: bigint): void;
}

/** The simulated machine: processors, memory, bus, clock. */
export interface Machine extends Named {
  readonly cpuCount: number;
}

/** A processor model: CPUID identity, feature set, capability MSRs. */
export interface ProcessorModel extends Named {
  readonly vendor: string;
}

/** The paging structures a walker understands. */
export type PagingMode = 'legacy32' | 'pae' | 'ia32e-4level' | 'ia32e-5level' | 'ept';

/** One address-translation walker (one per paging structure). Multi point, chosen by mode. */
export interface PagingWalker extends Named {
  readonly mode: PagingMode;
}

/** The local APIC model the machine instantiates per logical processor (and the hypervisor per vCPU). */
export interface LocalApicModel extends Named {
  readonly supportsX2Apic: boolean;
}

/** A device on the bus (UART, PM timer, I/O APIC, 8259, fw_cfg…). Multi point. */
export interface Device extends Named {}

/** Firmware: builds or loads ACPI tables and the memory map, and enters the OS. */
export interface Firmware extends Named {}

export type RootMode = 'long' | 'pae' | 'protected';

/** The root OS image builder. */
export interface RootOsImage extends Named {
  readonly modes: readonly RootMode[];
}

/** The hypervisor core that takes over from the launch block. */
export interface Hypervisor extends Named {}

/** A VM-exit handler. Multi point; the hypervisor dispatches on the basic exit reason. */
export interface ExitHandler extends Named {
  /** Basic exit reasons (SDM Vol. 3D Appendix C) this handler takes. */
  readonly exitReasons: readonly number[];
}

/** An NMI-inhibition strategy for the late-launch transition. Multi point, one active by config. */
export interface NmiInhibitionStrategy extends Named {
  readonly description: string;
}

/** Loads an additional OS image into a new VM. */
export interface GuestLoader extends Named {}
