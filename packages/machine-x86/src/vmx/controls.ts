/**
 * VM-execution, VM-exit and VM-entry control bits (SDM Vol. 3C 25.6–25.8) and the values of the
 * VMX capability MSRs (Vol. 3D Appendix A) that describe exactly what this model implements.
 *
 * A control the model does not implement is "allowed-0 only" in its capability MSR (bits 63:32
 * clear), so VM entry rejects it with VMfailValid(7) and the failing check's name; software that
 * reads the MSRs first never sets it.
 */
import { Cr0 } from '../cpu/state.js';

/** Pin-based VM-execution controls (Table 25-5). */
export const Pin = {
  EXTERNAL_INTERRUPT_EXITING: 1 << 0,
  NMI_EXITING: 1 << 3,
  VIRTUAL_NMIS: 1 << 5,
  PREEMPTION_TIMER: 1 << 6,
  POSTED_INTERRUPTS: 1 << 7,
} as const;

/** Primary processor-based VM-execution controls (Table 25-6). */
export const Proc = {
  INTERRUPT_WINDOW_EXITING: 1 << 2,
  USE_TSC_OFFSETTING: 1 << 3,
  HLT_EXITING: 1 << 7,
  INVLPG_EXITING: 1 << 9,
  MWAIT_EXITING: 1 << 10,
  RDPMC_EXITING: 1 << 11,
  RDTSC_EXITING: 1 << 12,
  CR3_LOAD_EXITING: 1 << 15,
  CR3_STORE_EXITING: 1 << 16,
  ACTIVATE_TERTIARY_CONTROLS: 1 << 17,
  CR8_LOAD_EXITING: 1 << 19,
  CR8_STORE_EXITING: 1 << 20,
  USE_TPR_SHADOW: 1 << 21,
  NMI_WINDOW_EXITING: 1 << 22,
  MOV_DR_EXITING: 1 << 23,
  UNCONDITIONAL_IO_EXITING: 1 << 24,
  USE_IO_BITMAPS: 1 << 25,
  MONITOR_TRAP_FLAG: 1 << 27,
  USE_MSR_BITMAPS: 1 << 28,
  MONITOR_EXITING: 1 << 29,
  PAUSE_EXITING: 1 << 30,
  ACTIVATE_SECONDARY_CONTROLS: 1 << 31,
} as const;

/** Secondary processor-based VM-execution controls (Table 25-7). */
export const Proc2 = {
  VIRTUALIZE_APIC_ACCESSES: 1 << 0,
  ENABLE_EPT: 1 << 1,
  DESCRIPTOR_TABLE_EXITING: 1 << 2,
  ENABLE_RDTSCP: 1 << 3,
  VIRTUALIZE_X2APIC_MODE: 1 << 4,
  ENABLE_VPID: 1 << 5,
  WBINVD_EXITING: 1 << 6,
  UNRESTRICTED_GUEST: 1 << 7,
} as const;

/** Primary VM-exit controls (Table 25-13). */
export const ExitCtl = {
  SAVE_DEBUG_CONTROLS: 1 << 2,
  HOST_ADDRESS_SPACE_SIZE: 1 << 9,
  LOAD_PERF_GLOBAL_CTRL: 1 << 12,
  ACK_INTERRUPT_ON_EXIT: 1 << 15,
  SAVE_PAT: 1 << 18,
  LOAD_PAT: 1 << 19,
  SAVE_EFER: 1 << 20,
  LOAD_EFER: 1 << 21,
  SAVE_PREEMPTION_TIMER: 1 << 22,
} as const;

/** VM-entry controls (Table 25-15). */
export const EntryCtl = {
  LOAD_DEBUG_CONTROLS: 1 << 2,
  IA32E_MODE_GUEST: 1 << 9,
  ENTRY_TO_SMM: 1 << 10,
  DEACTIVATE_DUAL_MONITOR: 1 << 11,
  LOAD_PERF_GLOBAL_CTRL: 1 << 13,
  LOAD_PAT: 1 << 14,
  LOAD_EFER: 1 << 15,
} as const;

/** Default-1 ("reserved, must be 1") bits of the non-TRUE control MSRs (Appendix A.3–A.5). */
export const DEFAULT1 = {
  pin: 0x16,
  proc: 0x0401e172,
  exit: 0x00036dff,
  entry: 0x000011ff,
} as const;

/** The controls this model implements (the allowed-1 settings). */
export const SUPPORTED = {
  pin: Pin.EXTERNAL_INTERRUPT_EXITING | Pin.NMI_EXITING | Pin.VIRTUAL_NMIS | Pin.PREEMPTION_TIMER,
  proc:
    Proc.INTERRUPT_WINDOW_EXITING | Proc.USE_TSC_OFFSETTING | Proc.HLT_EXITING | Proc.INVLPG_EXITING | Proc.RDTSC_EXITING |
    Proc.CR3_LOAD_EXITING | Proc.CR3_STORE_EXITING | Proc.CR8_LOAD_EXITING | Proc.CR8_STORE_EXITING | Proc.NMI_WINDOW_EXITING |
    Proc.MOV_DR_EXITING | Proc.UNCONDITIONAL_IO_EXITING | Proc.USE_IO_BITMAPS | Proc.USE_MSR_BITMAPS | Proc.ACTIVATE_SECONDARY_CONTROLS,
  proc2: Proc2.ENABLE_EPT | Proc2.DESCRIPTOR_TABLE_EXITING | Proc2.ENABLE_RDTSCP | Proc2.ENABLE_VPID | Proc2.WBINVD_EXITING | Proc2.UNRESTRICTED_GUEST,
  exit:
    ExitCtl.SAVE_DEBUG_CONTROLS | ExitCtl.HOST_ADDRESS_SPACE_SIZE | ExitCtl.ACK_INTERRUPT_ON_EXIT | ExitCtl.SAVE_PAT | ExitCtl.LOAD_PAT |
    ExitCtl.SAVE_EFER | ExitCtl.LOAD_EFER | ExitCtl.SAVE_PREEMPTION_TIMER,
  entry: EntryCtl.LOAD_DEBUG_CONTROLS | EntryCtl.IA32E_MODE_GUEST | EntryCtl.LOAD_PAT | EntryCtl.LOAD_EFER,
} as const;

/**
 * Default-1 bits that the TRUE_ MSRs allow to be 0 (Appendix A.2): CR3-load/store exiting; the
 * "save/load debug controls" exit/entry controls.
 */
const TRUE_CLEARABLE = {
  pin: 0,
  proc: Proc.CR3_LOAD_EXITING | Proc.CR3_STORE_EXITING,
  exit: ExitCtl.SAVE_DEBUG_CONTROLS,
  entry: EntryCtl.LOAD_DEBUG_CONTROLS,
} as const;

/** Allowed settings of one 32-bit control: bits that must be 1, bits that may be 1. */
export interface ControlCapability {
  readonly allowed0: number;
  readonly allowed1: number;
}

/** The capability MSR pair as a 64-bit MSR value (allowed-0 in 31:0, allowed-1 in 63:32). */
export function capabilityMsr(c: ControlCapability): bigint {
  return (BigInt(c.allowed1 >>> 0) << 32n) | BigInt(c.allowed0 >>> 0);
}

/** Does `value` respect `c` (every must-be-1 bit set, no bit set outside allowed-1)? */
export function controlsValid(value: number, c: ControlCapability): boolean {
  return ((value & c.allowed0) >>> 0) === c.allowed0 >>> 0 && (value & ~c.allowed1) === 0;
}

/** VMCS revision identifier this model reports in IA32_VMX_BASIC[30:0] and expects in VMCS regions. */
export const VMCS_REVISION_ID = 0x4c4c0001;

/** VMX-preemption timer rate: the timer counts down by 1 every 2^X TSC ticks (IA32_VMX_MISC[4:0]). */
export const PREEMPTION_TIMER_RATE = 5;

/** CR3-target values supported (IA32_VMX_MISC[24:16]). */
export const CR3_TARGET_COUNT = 4;

/** Maximum MSR-list entries: 512 · (N + 1) with N = IA32_VMX_MISC[27:25]. */
export const MSR_LIST_N = 0;
export const MAX_MSR_LIST = 512 * (MSR_LIST_N + 1);

/** CR0 bits fixed to 1 in VMX operation (PE, NE, PG); with "unrestricted guest" PE and PG may be 0 in a guest. */
export const CR0_FIXED0 = Cr0.PE | Cr0.NE | Cr0.PG;
/** CR0 bits that may be 1 in VMX operation (every implemented bit). */
export const CR0_FIXED1 = 0xffffffff;
/** CR4 bits fixed to 1 in VMX operation: VMXE. */
export const CR4_FIXED0 = 1 << 13;

/**
 * An EPT pointer this model accepts (VM-entry check and single-context INVEPT, SDM 25.6.11): memory
 * type UC or WB (IA32_VMX_EPT_VPID_CAP bits 8, 14), page-walk length 4, bits 11:7 reserved, the
 * address below 2^MAXPHYADDR. `eptp` is the 64-bit value as an unsigned number.
 */
export function eptPointerValid(eptp: number, maxPhysAddrBits: number): boolean {
  const lo = eptp % 4096;
  const type = lo & 7;
  return (type === 0 || type === 6) && ((lo >>> 3) & 7) === 3 && (lo & 0xf80) === 0 && eptp < 2 ** maxPhysAddrBits;
}

/** Complete capability description, computed once per CPUID model (CR4_FIXED1 follows its CR4 mask). */
export interface VmxCapabilities {
  readonly revisionId: number;
  readonly pin: ControlCapability;
  readonly proc: ControlCapability;
  readonly proc2: ControlCapability;
  readonly exit: ControlCapability;
  readonly entry: ControlCapability;
  readonly truePin: ControlCapability;
  readonly trueProc: ControlCapability;
  readonly trueExit: ControlCapability;
  readonly trueEntry: ControlCapability;
  readonly cr0Fixed0: number;
  readonly cr0Fixed1: number;
  readonly cr4Fixed0: number;
  readonly cr4Fixed1: number;
  /** The MSR values by index (0x480–0x490), as RDMSR returns them. */
  readonly msrs: ReadonlyMap<number, bigint>;
}

/** IA32_VMX_EPT_VPID_CAP bits (Appendix A.10). */
export const EptVpidCap = {
  EXECUTE_ONLY: 1n << 0n,
  PAGE_WALK_4: 1n << 6n,
  MEMTYPE_UC: 1n << 8n,
  MEMTYPE_WB: 1n << 14n,
  PDE_2MB: 1n << 16n,
  PDPTE_1GB: 1n << 17n,
  INVEPT: 1n << 20n,
  AD_FLAGS: 1n << 21n,
  INVEPT_SINGLE: 1n << 25n,
  INVEPT_ALL: 1n << 26n,
  INVVPID: 1n << 32n,
  INVVPID_ADDRESS: 1n << 40n,
  INVVPID_SINGLE: 1n << 41n,
  INVVPID_ALL: 1n << 42n,
  INVVPID_SINGLE_GLOBALS: 1n << 43n,
} as const;

export const EPT_VPID_CAP_VALUE = Object.values(EptVpidCap).reduce((a, b) => a | b, 0n);

/**
 * Computes the capability MSR values. `cr4Valid` is the CPUID model's mask of CR4 bits that may be
 * set (IA32_VMX_CR4_FIXED1); `highestFieldIndex` the largest VMCS field index (IA32_VMX_VMCS_ENUM).
 */
export function vmxCapabilities(cr4Valid: number, highestFieldIndex: number, proc2Supported: number = SUPPORTED.proc2): VmxCapabilities {
  const cap = (default1: number, supported: number, clearable = 0): ControlCapability => ({
    allowed0: (default1 & ~clearable) >>> 0,
    allowed1: (default1 | supported) >>> 0,
  });
  const pin = cap(DEFAULT1.pin, SUPPORTED.pin);
  const proc = cap(DEFAULT1.proc, SUPPORTED.proc);
  const proc2 = cap(0, proc2Supported);
  const exit = cap(DEFAULT1.exit, SUPPORTED.exit);
  const entry = cap(DEFAULT1.entry, SUPPORTED.entry);
  const truePin = cap(DEFAULT1.pin, SUPPORTED.pin, TRUE_CLEARABLE.pin);
  const trueProc = cap(DEFAULT1.proc, SUPPORTED.proc, TRUE_CLEARABLE.proc);
  const trueExit = cap(DEFAULT1.exit, SUPPORTED.exit, TRUE_CLEARABLE.exit);
  const trueEntry = cap(DEFAULT1.entry, SUPPORTED.entry, TRUE_CLEARABLE.entry);
  const basic =
    BigInt(VMCS_REVISION_ID & 0x7fffffff) |
    (4096n << 32n) | // VMCS region size
    (6n << 50n) | // VMCS memory type: write-back
    (1n << 54n) | // INS/OUTS exits report instruction information
    (1n << 55n); // TRUE_ capability MSRs exist
  const misc =
    BigInt(PREEMPTION_TIMER_RATE) |
    (1n << 5n) | // VM exits store EFER.LMA into the "IA-32e mode guest" entry control
    (1n << 6n) | // activity state HLT
    (1n << 7n) | // activity state shutdown
    (1n << 8n) | // activity state wait-for-SIPI
    (BigInt(CR3_TARGET_COUNT) << 16n) |
    (BigInt(MSR_LIST_N) << 25n);
  const cr4Fixed1 = (cr4Valid | CR4_FIXED0) >>> 0;
  const msrs = new Map<number, bigint>([
    [0x480, basic],
    [0x481, capabilityMsr(pin)],
    [0x482, capabilityMsr(proc)],
    [0x483, capabilityMsr(exit)],
    [0x484, capabilityMsr(entry)],
    [0x485, misc],
    [0x486, BigInt(CR0_FIXED0 >>> 0)],
    [0x487, BigInt(CR0_FIXED1 >>> 0)],
    [0x488, BigInt(CR4_FIXED0)],
    [0x489, BigInt(cr4Fixed1)],
    [0x48a, BigInt(highestFieldIndex << 1)],
    [0x48b, capabilityMsr(proc2)],
    [0x48c, proc2Supported & (Proc2.ENABLE_EPT | Proc2.ENABLE_VPID) ? EPT_VPID_CAP_VALUE : 0n],
    [0x48d, capabilityMsr(truePin)],
    [0x48e, capabilityMsr(trueProc)],
    [0x48f, capabilityMsr(trueExit)],
    [0x490, capabilityMsr(trueEntry)],
  ]);
  return {
    revisionId: VMCS_REVISION_ID,
    pin,
    proc,
    proc2,
    exit,
    entry,
    truePin,
    trueProc,
    trueExit,
    trueEntry,
    cr0Fixed0: CR0_FIXED0 >>> 0,
    cr0Fixed1: CR0_FIXED1,
    cr4Fixed0: CR4_FIXED0,
    cr4Fixed1,
    msrs,
  };
}
