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
 * Flags OR-ed into the `access` argument of {@link AddressTranslator.translate} (the low two bits
 * are the {@link PageAccess}):
 * - `STACK`: the access is a stack access (SS-relative: PUSH/POP, CALL/RET, ENTER/LEAVE, explicit
 *   SS: or RSP/RBP-based operands). Only changes the fault of a non-canonical address in IA-32e mode:
 *   #SS (12) instead of #GP (13). Error code 0 in both cases.
 * - `PROBE`: translate without side effects (no accessed/dirty writes, no TLB fill, no TLB
 *   invalidation on a fault) — for debuggers, tracers and the disassembler. Never used by
 *   architectural accesses.
 */
export const PageAccessFlag = { STACK: 0x4, PROBE: 0x8 } as const;
export type PageAccessFlag = (typeof PageAccessFlag)[keyof typeof PageAccessFlag];

/**
 * The processor state a translation depends on. The processor owns it and updates it in place;
 * translators read it on every miss (no allocation on the hot path).
 * `cr3` and physical addresses are plain numbers (< 2^52). `pdpte` holds the four PAE PDPTE
 * registers as (lo, hi) pairs, loaded when CR3 is written in PAE mode (SDM 4.4.1).
 * `cr3` holds the register without bit 63 (the PCID no-flush bit is passed to
 * {@link AddressTranslator.controlRegisterWritten} instead; it is not part of CR3).
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
 * For an EPT violation or misconfiguration, `physical` is the guest-physical address whose EPT
 * translation failed (the VMCS "guest-physical address" field): the final address or the address
 * of a guest paging-structure entry. The processor writes CR2 (for #PF) and the VMCS
 * guest-linear-address field (when qualification bit 7 is set) itself, from the linear address
 * it passed in.
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
  /**
   * Translates a linear address (canonical, sign-extended number in IA-32e mode; 32-bit unsigned
   * otherwise) for `access`: a {@link PageAccess} optionally OR-ed with {@link PageAccessFlag}
   * bits. False on fault (see `out`).
   */
  translate(linear: number, access: number, implicitSupervisor: boolean, out: TranslationResult): boolean;
  /**
   * MOV to CR0/CR3/CR4 or a write to EFER happened; `control` already holds the new value and
   * `oldValue` is the previous one (PDPTE reload, flushes as the SDM says). For CR3, `cr3NoFlush`
   * is bit 63 of the MOV source (meaningful only with CR4.PCIDE = 1). Returns false when PAE
   * PDPTEs are invalid (#GP(0)) — or, under EPT, when loading them caused an EPT violation or
   * misconfiguration (see {@link ExtendedAddressTranslator.controlFault}); the translator's
   * state is then unchanged and the processor must put `oldValue` back into `control`.
   */
  controlRegisterWritten(which: 'cr0' | 'cr3' | 'cr4' | 'efer', oldValue: number, cr3NoFlush?: boolean): boolean;
  /** INVLPG. */
  invalidatePage(linear: number): void;
  /** Drop every cached translation (INVEPT/INVVPID all-context, VM entry without VPID…). */
  flushAll(includingGlobal: boolean): void;
}

/**
 * What a translator made by the factory offers beyond {@link AddressTranslator}: PDPTE loading,
 * bulk control changes, INVPCID, and the VMX context (VPID, EPT) with INVEPT/INVVPID.
 */
export interface ExtendedAddressTranslator extends AddressTranslator {
  /** Why the last `controlRegisterWritten`/`loadPdptes` returned false: fault 13 (#GP(0)), or -1/-2 with `physical` = guest-physical address and `errorCode` = exit qualification. */
  readonly controlFault: TranslationResult;
  /** Loads the four PAE PDPTEs from CR3 into `control.pdpte` (VM entry without EPT, VM exit to a PAE host); false = invalid (see `controlFault`), registers unchanged. */
  loadPdptes(): boolean;
  /** Re-reads every field of `control` after a bulk change (VM entry/exit, RSM, snapshot restore). Loads no PDPTEs; flushes nothing unless the current (VPID, EPT) context's cached entries were made under another paging mode. */
  reloadControl(): void;
  /** INVPCID (type 0 individual address, 1 single context, 2 all contexts including globals, 3 all contexts except globals). */
  invalidatePcid(type: number, pcid: number, linear: number): void;
  /** The current VPID (0 outside VMX non-root or with VPIDs disabled). Cached translations are tagged with it. */
  setVpid(vpid: number): void;
  /** The current EPTP (bits 51:0 as a number), or null when EPT is not in use. With an EPTP every guest-physical access, including guest paging-structure accesses, is translated through EPT. */
  setEpt(eptp: number | null): void;
  /** INVEPT (type 1 single context for `eptp`, 2 all contexts). */
  invept(type: number, eptp: number): void;
  /** INVVPID (type 0 individual address, 1 single context, 2 all contexts, 3 single context retaining globals). */
  invvpid(type: number, vpid: number, linear: number): void;
  /** Translates a guest-physical address through the current EPT (identity without one); `out` as for `translate` (qualification bit 7 = 0). */
  translateGuestPhysical(gpa: number, access: number, out: TranslationResult): boolean;
}

/** Creates the translator of one logical processor (setter point, provided by @latelaunch/paging). */
export interface AddressTranslatorFactory extends Named {
  create(control: PagingControl, memory: PhysicalMemory): ExtendedAddressTranslator;
}

/** One address-translation walker (one per paging structure). Multi point, chosen by mode. */
export interface PagingWalker extends Named {
  readonly mode: PagingMode;
}

/**
 * Virtual time for a local APIC timer: the machine's `VirtualClock` (which satisfies this
 * structurally) or a hypervisor's per-VM clock. Times are absolute ticks (1 tick = 1 ns on the
 * machine). `schedule` calls `callback(time)` when virtual time reaches `time` (≥ `now()`);
 * handles must not be reused while their event is pending.
 */
export interface ApicTimeBackend {
  now(): number;
  schedule(time: number, callback: (time: number) => void): number;
  cancel(handle: number): unknown;
}

/**
 * One interrupt message on the APIC bus (ICR IPIs; the I/O APIC sends the same shape with
 * `sourceApicId` = -1). `mode` is the SDM delivery-mode encoding: 0 fixed, 1 lowest priority,
 * 2 SMI, 4 NMI, 5 INIT, 6 start-up, 7 ExtINT. `destination` is 8 bits (xAPIC, ICR[63:56]) or 32
 * bits (x2APIC, `x2apic` = true). `shorthand`: 0 none, 1 self, 2 all including self, 3 all
 * excluding self.
 */
export interface ApicInterruptMessage {
  readonly mode: number;
  readonly vector: number;
  readonly destination: number;
  readonly destMode: 'physical' | 'logical';
  readonly shorthand: 0 | 1 | 2 | 3;
  /** ICR bit 14 (1 = assert; INIT with level 0 + level trigger is the obsolete INIT level de-assert). */
  readonly level: boolean;
  readonly trigger: 'edge' | 'level';
  readonly sourceApicId: number;
  readonly x2apic: boolean;
}

/**
 * The delivery backend of a local APIC (the interrupt fabric): the machine implements it for the
 * physical APICs, a hypervisor for the virtual APICs of a VM. It resolves destinations and calls
 * `deliver` on every target APIC.
 */
export interface ApicIpiBus {
  sendIpi(message: ApicInterruptMessage): void;
  /** EOI of a level-triggered vector (TMR = 1) without EOI-broadcast suppression: for I/O APICs. */
  eoiBroadcast?(vector: number, sourceApicId: number): void;
}

/** What a local APIC signals to its (virtual) processor. */
export interface ApicCpuPort {
  /** A maskable interrupt may have become deliverable (the processor re-examines `pendingVector()`). */
  onInterrupt(): void;
  onNmi(): void;
  onInit(): void;
  onSipi(vector: number): void;
  /** An ExtINT was delivered (the vector comes from the external controller through `pendingVector()`/`acknowledge()`). */
  onExtInt(): void;
  onSmi?(): void;
}

/** An 8259-style controller behind LINT0/ExtINT: the INTA cycle of an ExtINT goes to it. */
export interface ApicExternalInterruptSource {
  pendingVector(): number;
  acknowledge(): number;
}

export interface LocalApicBackends {
  readonly bus: ApicIpiBus;
  readonly time: ApicTimeBackend;
  readonly cpu: ApicCpuPort;
  readonly extInt?: ApicExternalInterruptSource;
}

/** Options a model's `create` accepts (models may accept more). */
export interface LocalApicCreateOptions {
  /** IA32_APIC_BASE.BSP. Default false. */
  readonly bsp?: boolean;
  /** Virtual-time ticks per APIC timer input clock (before the divider). */
  readonly ticksPerTimerClock?: number;
}

/** Result of an APIC access that can fault: `ok` false means #GP(0) for the processor. */
export type ApicAccessResult<T = undefined> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly fault: 'gp'; readonly reason: string };

/**
 * One local APIC as the machine (and a hypervisor) drives it. It is the processor's interrupt
 * controller (`pendingVector`/`acknowledge`/`readTpr`/`writeTpr`, CR8 = TPR[7:4]), decodes its
 * xAPIC MMIO page and its x2APIC MSRs, owns IA32_APIC_BASE, and receives bus messages.
 */
export interface LocalApicDevice {
  readonly apicId: number;
  pendingVector(): number;
  acknowledge(): number;
  readTpr(): number;
  writeTpr(value: number): void;
  /** Physical base of the xAPIC page when it is decoded (xAPIC mode), else null. */
  readonly mmioBase: number | null;
  mmioRead(offset: number, size: number): number;
  mmioWrite(offset: number, value: number, size: number): void;
  readMsr(index: number): ApicAccessResult<bigint>;
  writeMsr(index: number, value: bigint): ApicAccessResult;
  deliver(message: ApicInterruptMessage): void;
  matchesDestination(destination: number, destMode: 'physical' | 'logical', x2apic: boolean): boolean;
  setLint(pin: 0 | 1, asserted: boolean): void;
  raiseNmiLine(): void;
  /** The processor performed INIT: registers go to their INIT state (ID and mode kept). */
  initReset(): void;
  saveState(): unknown;
  loadState(state: unknown): void;
}

/** The local APIC model the machine instantiates per logical processor (and the hypervisor per vCPU). */
export interface LocalApicModel extends Named {
  readonly supportsX2Apic: boolean;
  create(apicId: number, backends: LocalApicBackends, options?: LocalApicCreateOptions): LocalApicDevice;
}

/**
 * Hardware-assisted virtualization of the processor model (setter point): Intel VMX today; an AMD
 * SVM implementation would be another provider. `technology` names it ('vmx', 'svm'); the machine
 * attaches it to every logical processor.
 */
export interface HardwareVirtualization extends Named {
  readonly technology: string;
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
