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

/** Kinds of access being translated (instruction fetch is EXEC). */
export const PageAccess = { READ: 0, WRITE: 1, EXEC: 2 } as const;
export type PageAccess = (typeof PageAccess)[keyof typeof PageAccess];

/**
 * The processor state a translation depends on. The processor owns it and updates it in place;
 * translators read it on every miss (no allocation on the hot path).
 * `cr3` and physical addresses are plain numbers (< 2^52). `pdpte` holds the four PAE PDPTE
 * registers as (lo, hi) pairs, loaded when CR3 is written in PAE mode (SDM 4.4.1).
 */
export interface PagingControl {
  cr0: number;
  cr3: number;
  cr4: number;
  efer: number;
  /** Current privilege level (user accesses are CPL 3 data/fetch accesses that are not implicit supervisor accesses). */
  cpl: number;
  /** RFLAGS.AC (for SMAP). */
  ac: boolean;
  readonly pdpte: Int32Array;
  /** MAXPHYADDR (CPUID.80000008H:EAX[7:0]), for reserved-bit checks. */
  maxPhysAddrBits: number;
}

/**
 * Result of one translation, written into a caller-owned object. On success `physical` is the
 * address; on failure `fault` names the exception and `errorCode` is the #PF error code (or the
 * EPT exit qualification for EPT faults).
 */
export interface TranslationResult {
  physical: number;
  /** 0 = none, 14 = #PF, 13 = #GP (non-canonical), 12 = #SS (non-canonical stack), -1 = EPT violation, -2 = EPT misconfiguration. */
  fault: number;
  errorCode: number;
}

/**
 * Per-processor linear→physical translation: walkers, TLB, PAE PDPTE loading, EPT composition.
 * The processor calls `translate` on every access that misses its own fast path and tells the
 * translator about architectural events that invalidate cached translations.
 */
export interface AddressTranslator {
  /** Translates a linear address (canonical, sign-extended number) for `access` (a PageAccess); false on fault (see `out`). */
  translate(linear: number, access: PageAccess, implicitSupervisor: boolean, out: TranslationResult): boolean;
  /** MOV to CR0/CR3/CR4 or a write to EFER happened (PDPTE reload, flushes as the SDM says). Returns false when PAE PDPTEs are invalid (#GP). */
  controlRegisterWritten(which: 'cr0' | 'cr3' | 'cr4' | 'efer', oldValue: number): boolean;
  /** INVLPG. */
  invalidatePage(linear: number): void;
  /** Drop every cached translation (INVEPT/INVVPID all-context, VM entry without VPID…). */
  flushAll(includingGlobal: boolean): void;
}

/** Creates the translator of one logical processor (setter point, provided by @latelaunch/paging). */
export interface AddressTranslatorFactory extends Named {
  create(control: PagingControl, memory: PhysicalMemory): AddressTranslator;
}

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
