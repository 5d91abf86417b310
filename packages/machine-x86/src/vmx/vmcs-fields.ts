/**
 * VMCS field encodings (Intel SDM Vol. 3D Appendix B "Field Encoding in
 * VMCS"), VM-instruction error numbers (Vol. 3C 31.4) and basic exit
 * reasons (Vol. 3D Appendix C).
 *
 * Encoding layout (SDM Vol. 3C 25.11.2 "VMREAD, VMWRITE, and Encodings of
 * VMCS Fields"):
 *   bit 0      access type (0 = full, 1 = high 32 bits of a 64-bit field)
 *   bits 9:1   index
 *   bits 11:10 type  (0 control, 1 read-only data, 2 guest state, 3 host state)
 *   bit 12     reserved (0)
 *   bits 14:13 width (0 = 16-bit, 1 = 64-bit, 2 = 32-bit, 3 = natural-width)
 *   bits 31:15 reserved (0)
 *
 * Values cross-checked against public transcriptions of Appendix B: the Linux
 * kernel's arch/x86/include/asm/vmx.h `enum vmcs_field`, VMware's
 * open-vm-tools x86vt-vmcs-fields.h, and a C++ hypervisor's index-based
 * vmcs_field table (HLAT, PASID, PKRS, CET, SPEC_CTRL fields); the newest
 * fields (secondary VM-exit controls, CET state) also against Linux KVM patches.
 */

export type VmcsFieldWidth = 16 | 32 | 64 | 'natural';
export type VmcsFieldType = 'control' | 'read-only' | 'guest' | 'host';

export interface VmcsField {
  readonly name: string;
  readonly encoding: number;
  readonly width: VmcsFieldWidth;
  readonly type: VmcsFieldType;
  /** True for the HIGH (access type 1) half of a 64-bit field. */
  readonly high: boolean;
}

const WIDTHS: readonly VmcsFieldWidth[] = [16, 64, 32, 'natural'];
const TYPES: readonly VmcsFieldType[] = ['control', 'read-only', 'guest', 'host'];

/** Mask of the bits that must be zero in any encoding (bit 12, bits 31:15). */
export const VMCS_ENCODING_RESERVED_MASK = ~0x6fff >>> 0;

/** Width named by encoding bits 14:13. */
export function fieldWidth(enc: number): VmcsFieldWidth {
  return WIDTHS[(enc >>> 13) & 3] as VmcsFieldWidth;
}

/** Type named by encoding bits 11:10. */
export function fieldType(enc: number): VmcsFieldType {
  return TYPES[(enc >>> 10) & 3] as VmcsFieldType;
}

/** Index, encoding bits 9:1. */
export function fieldIndex(enc: number): number {
  return (enc >>> 1) & 0x1ff;
}

/** Access type, encoding bit 0 (1 = HIGH half of a 64-bit field). */
export function fieldAccessHigh(enc: number): boolean {
  return (enc & 1) === 1;
}

/** Builds an encoding from its parts. */
export function makeEncoding(width: VmcsFieldWidth, type: VmcsFieldType, index: number, high = false): number {
  return (WIDTHS.indexOf(width) << 13) | (TYPES.indexOf(type) << 10) | ((index & 0x1ff) << 1) | (high ? 1 : 0);
}

type Row = readonly [name: string, encoding: number];

// ---- 16-bit fields (Appendix B.1) ----
const CONTROL_16: readonly Row[] = [
  ['VIRTUAL_PROCESSOR_ID', 0x0000],
  ['POSTED_INTR_NOTIFICATION_VECTOR', 0x0002],
  ['EPTP_INDEX', 0x0004],
  ['HLAT_PREFIX_SIZE', 0x0006],
  ['LAST_PID_POINTER_INDEX', 0x0008],
];
const GUEST_16: readonly Row[] = [
  ['GUEST_ES_SELECTOR', 0x0800],
  ['GUEST_CS_SELECTOR', 0x0802],
  ['GUEST_SS_SELECTOR', 0x0804],
  ['GUEST_DS_SELECTOR', 0x0806],
  ['GUEST_FS_SELECTOR', 0x0808],
  ['GUEST_GS_SELECTOR', 0x080a],
  ['GUEST_LDTR_SELECTOR', 0x080c],
  ['GUEST_TR_SELECTOR', 0x080e],
  ['GUEST_INTERRUPT_STATUS', 0x0810],
  ['GUEST_PML_INDEX', 0x0812],
  ['GUEST_UINV', 0x0814],
];
const HOST_16: readonly Row[] = [
  ['HOST_ES_SELECTOR', 0x0c00],
  ['HOST_CS_SELECTOR', 0x0c02],
  ['HOST_SS_SELECTOR', 0x0c04],
  ['HOST_DS_SELECTOR', 0x0c06],
  ['HOST_FS_SELECTOR', 0x0c08],
  ['HOST_GS_SELECTOR', 0x0c0a],
  ['HOST_TR_SELECTOR', 0x0c0c],
];

// ---- 64-bit fields (Appendix B.2); each also gets a NAME_HIGH at encoding | 1 ----
const CONTROL_64: readonly Row[] = [
  ['IO_BITMAP_A', 0x2000],
  ['IO_BITMAP_B', 0x2002],
  ['MSR_BITMAP', 0x2004],
  ['VM_EXIT_MSR_STORE_ADDR', 0x2006],
  ['VM_EXIT_MSR_LOAD_ADDR', 0x2008],
  ['VM_ENTRY_MSR_LOAD_ADDR', 0x200a],
  ['EXECUTIVE_VMCS_POINTER', 0x200c],
  ['PML_ADDRESS', 0x200e],
  ['TSC_OFFSET', 0x2010],
  ['VIRTUAL_APIC_PAGE_ADDR', 0x2012],
  ['APIC_ACCESS_ADDR', 0x2014],
  ['POSTED_INTR_DESC_ADDR', 0x2016],
  ['VM_FUNCTION_CONTROL', 0x2018],
  ['EPT_POINTER', 0x201a],
  ['EOI_EXIT_BITMAP0', 0x201c],
  ['EOI_EXIT_BITMAP1', 0x201e],
  ['EOI_EXIT_BITMAP2', 0x2020],
  ['EOI_EXIT_BITMAP3', 0x2022],
  ['EPTP_LIST_ADDRESS', 0x2024],
  ['VMREAD_BITMAP', 0x2026],
  ['VMWRITE_BITMAP', 0x2028],
  ['VE_INFORMATION_ADDRESS', 0x202a],
  ['XSS_EXITING_BITMAP', 0x202c],
  ['ENCLS_EXITING_BITMAP', 0x202e],
  ['SPPT_POINTER', 0x2030],
  ['TSC_MULTIPLIER', 0x2032],
  ['TERTIARY_VM_EXEC_CONTROL', 0x2034],
  ['ENCLV_EXITING_BITMAP', 0x2036],
  ['LOW_PASID_DIRECTORY_ADDRESS', 0x2038],
  ['HIGH_PASID_DIRECTORY_ADDRESS', 0x203a],
  ['SHARED_EPT_POINTER', 0x203c],
  ['PCONFIG_EXITING_BITMAP', 0x203e],
  ['HLAT_POINTER', 0x2040],
  ['PID_POINTER_TABLE', 0x2042],
  ['SECONDARY_VM_EXIT_CONTROLS', 0x2044],
  ['IA32_SPEC_CTRL_MASK', 0x204a],
  ['IA32_SPEC_CTRL_SHADOW', 0x204c],
];
const READ_ONLY_64: readonly Row[] = [['GUEST_PHYSICAL_ADDRESS', 0x2400]];
const GUEST_64: readonly Row[] = [
  ['VMCS_LINK_POINTER', 0x2800],
  ['GUEST_IA32_DEBUGCTL', 0x2802],
  ['GUEST_IA32_PAT', 0x2804],
  ['GUEST_IA32_EFER', 0x2806],
  ['GUEST_IA32_PERF_GLOBAL_CTRL', 0x2808],
  ['GUEST_PDPTE0', 0x280a],
  ['GUEST_PDPTE1', 0x280c],
  ['GUEST_PDPTE2', 0x280e],
  ['GUEST_PDPTE3', 0x2810],
  ['GUEST_IA32_BNDCFGS', 0x2812],
  ['GUEST_IA32_RTIT_CTL', 0x2814],
  ['GUEST_IA32_LBR_CTL', 0x2816],
  ['GUEST_IA32_PKRS', 0x2818],
];
const HOST_64: readonly Row[] = [
  ['HOST_IA32_PAT', 0x2c00],
  ['HOST_IA32_EFER', 0x2c02],
  ['HOST_IA32_PERF_GLOBAL_CTRL', 0x2c04],
  ['HOST_IA32_PKRS', 0x2c06],
];

// ---- 32-bit fields (Appendix B.3) ----
const CONTROL_32: readonly Row[] = [
  ['PIN_BASED_VM_EXEC_CONTROL', 0x4000],
  ['CPU_BASED_VM_EXEC_CONTROL', 0x4002],
  ['EXCEPTION_BITMAP', 0x4004],
  ['PAGE_FAULT_ERROR_CODE_MASK', 0x4006],
  ['PAGE_FAULT_ERROR_CODE_MATCH', 0x4008],
  ['CR3_TARGET_COUNT', 0x400a],
  ['VM_EXIT_CONTROLS', 0x400c],
  ['VM_EXIT_MSR_STORE_COUNT', 0x400e],
  ['VM_EXIT_MSR_LOAD_COUNT', 0x4010],
  ['VM_ENTRY_CONTROLS', 0x4012],
  ['VM_ENTRY_MSR_LOAD_COUNT', 0x4014],
  ['VM_ENTRY_INTR_INFO', 0x4016],
  ['VM_ENTRY_EXCEPTION_ERROR_CODE', 0x4018],
  ['VM_ENTRY_INSTRUCTION_LEN', 0x401a],
  ['TPR_THRESHOLD', 0x401c],
  ['SECONDARY_VM_EXEC_CONTROL', 0x401e],
  ['PLE_GAP', 0x4020],
  ['PLE_WINDOW', 0x4022],
  ['INSTRUCTION_TIMEOUT_CONTROL', 0x4024], // Linux: NOTIFY_WINDOW
];
const READ_ONLY_32: readonly Row[] = [
  ['VM_INSTRUCTION_ERROR', 0x4400],
  ['VM_EXIT_REASON', 0x4402],
  ['VM_EXIT_INTR_INFO', 0x4404],
  ['VM_EXIT_INTR_ERROR_CODE', 0x4406],
  ['IDT_VECTORING_INFO', 0x4408],
  ['IDT_VECTORING_ERROR_CODE', 0x440a],
  ['VM_EXIT_INSTRUCTION_LEN', 0x440c],
  ['VMX_INSTRUCTION_INFO', 0x440e],
];
const GUEST_32: readonly Row[] = [
  ['GUEST_ES_LIMIT', 0x4800],
  ['GUEST_CS_LIMIT', 0x4802],
  ['GUEST_SS_LIMIT', 0x4804],
  ['GUEST_DS_LIMIT', 0x4806],
  ['GUEST_FS_LIMIT', 0x4808],
  ['GUEST_GS_LIMIT', 0x480a],
  ['GUEST_LDTR_LIMIT', 0x480c],
  ['GUEST_TR_LIMIT', 0x480e],
  ['GUEST_GDTR_LIMIT', 0x4810],
  ['GUEST_IDTR_LIMIT', 0x4812],
  ['GUEST_ES_AR_BYTES', 0x4814],
  ['GUEST_CS_AR_BYTES', 0x4816],
  ['GUEST_SS_AR_BYTES', 0x4818],
  ['GUEST_DS_AR_BYTES', 0x481a],
  ['GUEST_FS_AR_BYTES', 0x481c],
  ['GUEST_GS_AR_BYTES', 0x481e],
  ['GUEST_LDTR_AR_BYTES', 0x4820],
  ['GUEST_TR_AR_BYTES', 0x4822],
  ['GUEST_INTERRUPTIBILITY_INFO', 0x4824],
  ['GUEST_ACTIVITY_STATE', 0x4826],
  ['GUEST_SMBASE', 0x4828],
  ['GUEST_SYSENTER_CS', 0x482a],
  ['VMX_PREEMPTION_TIMER_VALUE', 0x482e],
];
const HOST_32: readonly Row[] = [['HOST_IA32_SYSENTER_CS', 0x4c00]];

// ---- natural-width fields (Appendix B.4) ----
const CONTROL_NATURAL: readonly Row[] = [
  ['CR0_GUEST_HOST_MASK', 0x6000],
  ['CR4_GUEST_HOST_MASK', 0x6002],
  ['CR0_READ_SHADOW', 0x6004],
  ['CR4_READ_SHADOW', 0x6006],
  ['CR3_TARGET_VALUE0', 0x6008],
  ['CR3_TARGET_VALUE1', 0x600a],
  ['CR3_TARGET_VALUE2', 0x600c],
  ['CR3_TARGET_VALUE3', 0x600e],
];
const READ_ONLY_NATURAL: readonly Row[] = [
  ['EXIT_QUALIFICATION', 0x6400],
  ['IO_RCX', 0x6402],
  ['IO_RSI', 0x6404],
  ['IO_RDI', 0x6406],
  ['IO_RIP', 0x6408],
  ['GUEST_LINEAR_ADDRESS', 0x640a],
];
const GUEST_NATURAL: readonly Row[] = [
  ['GUEST_CR0', 0x6800],
  ['GUEST_CR3', 0x6802],
  ['GUEST_CR4', 0x6804],
  ['GUEST_ES_BASE', 0x6806],
  ['GUEST_CS_BASE', 0x6808],
  ['GUEST_SS_BASE', 0x680a],
  ['GUEST_DS_BASE', 0x680c],
  ['GUEST_FS_BASE', 0x680e],
  ['GUEST_GS_BASE', 0x6810],
  ['GUEST_LDTR_BASE', 0x6812],
  ['GUEST_TR_BASE', 0x6814],
  ['GUEST_GDTR_BASE', 0x6816],
  ['GUEST_IDTR_BASE', 0x6818],
  ['GUEST_DR7', 0x681a],
  ['GUEST_RSP', 0x681c],
  ['GUEST_RIP', 0x681e],
  ['GUEST_RFLAGS', 0x6820],
  ['GUEST_PENDING_DBG_EXCEPTIONS', 0x6822],
  ['GUEST_SYSENTER_ESP', 0x6824],
  ['GUEST_SYSENTER_EIP', 0x6826],
  ['GUEST_IA32_S_CET', 0x6828],
  ['GUEST_SSP', 0x682a],
  ['GUEST_IA32_INTERRUPT_SSP_TABLE_ADDR', 0x682c],
];
const HOST_NATURAL: readonly Row[] = [
  ['HOST_CR0', 0x6c00],
  ['HOST_CR3', 0x6c02],
  ['HOST_CR4', 0x6c04],
  ['HOST_FS_BASE', 0x6c06],
  ['HOST_GS_BASE', 0x6c08],
  ['HOST_TR_BASE', 0x6c0a],
  ['HOST_GDTR_BASE', 0x6c0c],
  ['HOST_IDTR_BASE', 0x6c0e],
  ['HOST_IA32_SYSENTER_ESP', 0x6c10],
  ['HOST_IA32_SYSENTER_EIP', 0x6c12],
  ['HOST_RSP', 0x6c14],
  ['HOST_RIP', 0x6c16],
  ['HOST_IA32_S_CET', 0x6c18],
  ['HOST_SSP', 0x6c1a],
  ['HOST_IA32_INTERRUPT_SSP_TABLE_ADDR', 0x6c1c],
];

const GROUPS: readonly (readonly [VmcsFieldWidth, VmcsFieldType, readonly Row[]])[] = [
  [16, 'control', CONTROL_16],
  [16, 'guest', GUEST_16],
  [16, 'host', HOST_16],
  [64, 'control', CONTROL_64],
  [64, 'read-only', READ_ONLY_64],
  [64, 'guest', GUEST_64],
  [64, 'host', HOST_64],
  [32, 'control', CONTROL_32],
  [32, 'read-only', READ_ONLY_32],
  [32, 'guest', GUEST_32],
  [32, 'host', HOST_32],
  ['natural', 'control', CONTROL_NATURAL],
  ['natural', 'read-only', READ_ONLY_NATURAL],
  ['natural', 'guest', GUEST_NATURAL],
  ['natural', 'host', HOST_NATURAL],
];

function buildTable(): readonly VmcsField[] {
  const out: VmcsField[] = [];
  for (const [width, type, rows] of GROUPS) {
    for (const [name, encoding] of rows) {
      out.push(Object.freeze({ name, encoding, width, type, high: false }));
      if (width === 64) {
        out.push(Object.freeze({ name: `${name}_HIGH`, encoding: encoding | 1, width, type, high: true }));
      }
    }
  }
  return Object.freeze(out);
}

/** Every VMCS field encoding of SDM Appendix B, including 64-bit HIGH halves. */
export const VMCS_FIELDS: readonly VmcsField[] = buildTable();

const BY_ENCODING: ReadonlyMap<number, VmcsField> = new Map(VMCS_FIELDS.map((f) => [f.encoding, f]));
const BY_NAME: ReadonlyMap<string, VmcsField> = new Map(VMCS_FIELDS.map((f) => [f.name, f]));

/** Encoding of each field by name (e.g. `VMCS_ENCODING.GUEST_RIP === 0x681e`). */
export const VMCS_ENCODING: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(VMCS_FIELDS.map((f) => [f.name, f.encoding])),
);

/** The table entry for an encoding, or undefined if the table has none. */
export function fieldByEncoding(enc: number): VmcsField | undefined {
  return BY_ENCODING.get(enc);
}

/** The table entry for a field name, or undefined. */
export function fieldByName(name: string): VmcsField | undefined {
  return BY_NAME.get(name);
}

/**
 * True when `enc` is a well-formed encoding (no reserved bits, not a HIGH
 * access of a non-64-bit field) naming a field in the table.
 */
export function isValidEncoding(enc: number): boolean {
  if (!Number.isInteger(enc) || enc < 0 || enc > 0xffffffff) return false;
  if ((enc & VMCS_ENCODING_RESERVED_MASK) !== 0) return false;
  if (fieldAccessHigh(enc) && fieldWidth(enc) !== 64) return false;
  return BY_ENCODING.has(enc);
}

// ---- VM-instruction error numbers (SDM Vol. 3C 31.4) ----

/** VM-instruction error numbers; 14, 21 and 27 are not used by the SDM. */
export const VM_INSTRUCTION_ERRORS: ReadonlyMap<number, string> = new Map([
  [1, 'VMCALL executed in VMX root operation'],
  [2, 'VMCLEAR with invalid physical address'],
  [3, 'VMCLEAR with VMXON pointer'],
  [4, 'VMLAUNCH with non-clear VMCS'],
  [5, 'VMRESUME with non-launched VMCS'],
  [6, 'VMRESUME after VMXOFF'],
  [7, 'VM entry with invalid control field(s)'],
  [8, 'VM entry with invalid host-state field(s)'],
  [9, 'VMPTRLD with invalid physical address'],
  [10, 'VMPTRLD with VMXON pointer'],
  [11, 'VMPTRLD with incorrect VMCS revision identifier'],
  [12, 'VMREAD/VMWRITE from/to unsupported VMCS component'],
  [13, 'VMWRITE to read-only VMCS component'],
  [15, 'VMXON executed in VMX root operation'],
  [16, 'VM entry with invalid executive-VMCS pointer'],
  [17, 'VM entry with non-launched executive VMCS'],
  [18, 'VM entry with executive-VMCS pointer not VMXON pointer'],
  [19, 'VMCALL with non-clear VMCS'],
  [20, 'VMCALL with invalid VM-exit control fields'],
  [22, 'VMCALL with incorrect MSEG revision identifier'],
  [23, 'VMXOFF under dual-monitor treatment of SMIs and SMM'],
  [24, 'VMCALL with invalid SMM-monitor features'],
  [25, 'VM entry with invalid VM-execution control fields in executive VMCS'],
  [26, 'VM entry with events blocked by MOV SS'],
  [28, 'Invalid operand to INVEPT/INVVPID'],
]);

export const VMX_ERROR = Object.freeze({
  VMCALL_IN_VMX_ROOT: 1,
  VMCLEAR_INVALID_ADDRESS: 2,
  VMCLEAR_VMXON_POINTER: 3,
  VMLAUNCH_NONCLEAR_VMCS: 4,
  VMRESUME_NONLAUNCHED_VMCS: 5,
  VMRESUME_AFTER_VMXOFF: 6,
  ENTRY_INVALID_CONTROL_FIELD: 7,
  ENTRY_INVALID_HOST_STATE_FIELD: 8,
  VMPTRLD_INVALID_ADDRESS: 9,
  VMPTRLD_VMXON_POINTER: 10,
  VMPTRLD_INCORRECT_VMCS_REVISION_ID: 11,
  UNSUPPORTED_VMCS_COMPONENT: 12,
  VMWRITE_READ_ONLY_VMCS_COMPONENT: 13,
  VMXON_IN_VMX_ROOT: 15,
  ENTRY_INVALID_EXECUTIVE_VMCS_POINTER: 16,
  ENTRY_NONLAUNCHED_EXECUTIVE_VMCS: 17,
  ENTRY_EXECUTIVE_VMCS_POINTER_NOT_VMXON_POINTER: 18,
  VMCALL_NONCLEAR_VMCS: 19,
  VMCALL_INVALID_VM_EXIT_CONTROL_FIELDS: 20,
  VMCALL_INCORRECT_MSEG_REVISION_ID: 22,
  VMXOFF_UNDER_DUAL_MONITOR_TREATMENT: 23,
  VMCALL_INVALID_SMM_MONITOR_FEATURES: 24,
  ENTRY_INVALID_VM_EXECUTION_CONTROL_FIELDS_IN_EXECUTIVE_VMCS: 25,
  ENTRY_EVENTS_BLOCKED_BY_MOV_SS: 26,
  INVALID_OPERAND_TO_INVEPT_INVVPID: 28,
} as const);

// ---- Basic exit reasons (SDM Vol. 3D Appendix C) ----

/** Bit 31 of the exit-reason field: VM-entry failure. */
export const EXIT_REASON_FAILED_VMENTRY = 0x80000000;

export const EXIT_REASON = Object.freeze({
  EXCEPTION_OR_NMI: 0,
  EXTERNAL_INTERRUPT: 1,
  TRIPLE_FAULT: 2,
  INIT_SIGNAL: 3,
  STARTUP_IPI: 4,
  IO_SMI: 5,
  OTHER_SMI: 6,
  INTERRUPT_WINDOW: 7,
  NMI_WINDOW: 8,
  TASK_SWITCH: 9,
  CPUID: 10,
  GETSEC: 11,
  HLT: 12,
  INVD: 13,
  INVLPG: 14,
  RDPMC: 15,
  RDTSC: 16,
  RSM: 17,
  VMCALL: 18,
  VMCLEAR: 19,
  VMLAUNCH: 20,
  VMPTRLD: 21,
  VMPTRST: 22,
  VMREAD: 23,
  VMRESUME: 24,
  VMWRITE: 25,
  VMXOFF: 26,
  VMXON: 27,
  CONTROL_REGISTER_ACCESS: 28,
  MOV_DR: 29,
  IO_INSTRUCTION: 30,
  RDMSR: 31,
  WRMSR: 32,
  ENTRY_FAILURE_INVALID_GUEST_STATE: 33,
  ENTRY_FAILURE_MSR_LOADING: 34,
  MWAIT: 36,
  MONITOR_TRAP_FLAG: 37,
  MONITOR: 39,
  PAUSE: 40,
  ENTRY_FAILURE_MACHINE_CHECK: 41,
  TPR_BELOW_THRESHOLD: 43,
  APIC_ACCESS: 44,
  VIRTUALIZED_EOI: 45,
  GDTR_IDTR_ACCESS: 46,
  LDTR_TR_ACCESS: 47,
  EPT_VIOLATION: 48,
  EPT_MISCONFIGURATION: 49,
  INVEPT: 50,
  RDTSCP: 51,
  VMX_PREEMPTION_TIMER_EXPIRED: 52,
  INVVPID: 53,
  WBINVD: 54,
  XSETBV: 55,
  APIC_WRITE: 56,
  RDRAND: 57,
  INVPCID: 58,
  VMFUNC: 59,
  ENCLS: 60,
  RDSEED: 61,
  PAGE_MODIFICATION_LOG_FULL: 62,
  XSAVES: 63,
  XRSTORS: 64,
  PCONFIG: 65,
  SPP_RELATED_EVENT: 66,
  UMWAIT: 67,
  TPAUSE: 68,
  LOADIWKEY: 69,
} as const);

/** SDM Appendix C names of the basic exit reasons; 35, 38 and 42 are unused. */
export const EXIT_REASON_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'Exception or non-maskable interrupt (NMI)'],
  [1, 'External interrupt'],
  [2, 'Triple fault'],
  [3, 'INIT signal'],
  [4, 'Start-up IPI (SIPI)'],
  [5, 'I/O system-management interrupt (SMI)'],
  [6, 'Other SMI'],
  [7, 'Interrupt window'],
  [8, 'NMI window'],
  [9, 'Task switch'],
  [10, 'CPUID'],
  [11, 'GETSEC'],
  [12, 'HLT'],
  [13, 'INVD'],
  [14, 'INVLPG'],
  [15, 'RDPMC'],
  [16, 'RDTSC'],
  [17, 'RSM'],
  [18, 'VMCALL'],
  [19, 'VMCLEAR'],
  [20, 'VMLAUNCH'],
  [21, 'VMPTRLD'],
  [22, 'VMPTRST'],
  [23, 'VMREAD'],
  [24, 'VMRESUME'],
  [25, 'VMWRITE'],
  [26, 'VMXOFF'],
  [27, 'VMXON'],
  [28, 'Control-register accesses'],
  [29, 'MOV DR'],
  [30, 'I/O instruction'],
  [31, 'RDMSR'],
  [32, 'WRMSR'],
  [33, 'VM-entry failure due to invalid guest state'],
  [34, 'VM-entry failure due to MSR loading'],
  [36, 'MWAIT'],
  [37, 'Monitor trap flag'],
  [39, 'MONITOR'],
  [40, 'PAUSE'],
  [41, 'VM-entry failure due to machine-check event'],
  [43, 'TPR below threshold'],
  [44, 'APIC access'],
  [45, 'Virtualized EOI'],
  [46, 'Access to GDTR or IDTR'],
  [47, 'Access to LDTR or TR'],
  [48, 'EPT violation'],
  [49, 'EPT misconfiguration'],
  [50, 'INVEPT'],
  [51, 'RDTSCP'],
  [52, 'VMX-preemption timer expired'],
  [53, 'INVVPID'],
  [54, 'WBINVD or WBNOINVD'],
  [55, 'XSETBV'],
  [56, 'APIC write'],
  [57, 'RDRAND'],
  [58, 'INVPCID'],
  [59, 'VMFUNC'],
  [60, 'ENCLS'],
  [61, 'RDSEED'],
  [62, 'Page-modification log full'],
  [63, 'XSAVES'],
  [64, 'XRSTORS'],
  [65, 'PCONFIG'],
  [66, 'SPP-related event'],
  [67, 'UMWAIT'],
  [68, 'TPAUSE'],
  [69, 'LOADIWKEY'],
]);
