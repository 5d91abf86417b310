/**
 * The VMCS as this model stores it (SDM Vol. 3C 25.2 "Format of the VMCS region", 25.11 "Software
 * use of the VMCS").
 *
 * - **Supported fields**: {@link SUPPORTED_FIELDS} (the fields of every feature the capability
 *   MSRs advertise). VMREAD/VMWRITE of any other encoding — including well-formed SDM encodings of
 *   features this model lacks — fails with VM-instruction error 12. IA32_VMX_VMCS_ENUM reports the
 *   highest index among them.
 * - **Storage**: each field has a dense slot; its value lives in two `Uint32Array`s (bits 31:0 and
 *   63:32). 16-bit and 32-bit fields keep only their width; natural-width fields keep 64 bits.
 * - **In memory**: the region's first dword is the revision identifier, the second the VMX-abort
 *   indicator. The rest of the 4-KiB region is implementation-specific (SDM 25.2); this model lays
 *   out the launch state at offset 8 and slot k at offset 16 + 8k (low dword, high dword). Like a
 *   real processor it keeps the data of VMCSs it has loaded in a per-processor cache: VMPTRLD of an
 *   address not in the cache reads the region; VMCLEAR writes the cached data back and drops it.
 *   Software must not write a region while it is active (SDM 25.11.1): such writes are not seen.
 */
import { fieldIndex, fieldWidth, VMCS_ENCODING } from './vmcs-fields.js';

/** Every field this model implements, by SDM name (full encodings; 64-bit fields also accept their HIGH encoding). */
export const SUPPORTED_FIELDS = [
  // 16-bit
  'VIRTUAL_PROCESSOR_ID',
  'GUEST_ES_SELECTOR', 'GUEST_CS_SELECTOR', 'GUEST_SS_SELECTOR', 'GUEST_DS_SELECTOR', 'GUEST_FS_SELECTOR', 'GUEST_GS_SELECTOR', 'GUEST_LDTR_SELECTOR', 'GUEST_TR_SELECTOR',
  'HOST_ES_SELECTOR', 'HOST_CS_SELECTOR', 'HOST_SS_SELECTOR', 'HOST_DS_SELECTOR', 'HOST_FS_SELECTOR', 'HOST_GS_SELECTOR', 'HOST_TR_SELECTOR',
  // 64-bit
  'IO_BITMAP_A', 'IO_BITMAP_B', 'MSR_BITMAP', 'VM_EXIT_MSR_STORE_ADDR', 'VM_EXIT_MSR_LOAD_ADDR', 'VM_ENTRY_MSR_LOAD_ADDR', 'EXECUTIVE_VMCS_POINTER',
  'TSC_OFFSET', 'EPT_POINTER', 'GUEST_PHYSICAL_ADDRESS',
  'VMCS_LINK_POINTER', 'GUEST_IA32_DEBUGCTL', 'GUEST_IA32_PAT', 'GUEST_IA32_EFER', 'GUEST_PDPTE0', 'GUEST_PDPTE1', 'GUEST_PDPTE2', 'GUEST_PDPTE3',
  'HOST_IA32_PAT', 'HOST_IA32_EFER',
  // 32-bit
  'PIN_BASED_VM_EXEC_CONTROL', 'CPU_BASED_VM_EXEC_CONTROL', 'EXCEPTION_BITMAP', 'PAGE_FAULT_ERROR_CODE_MASK', 'PAGE_FAULT_ERROR_CODE_MATCH', 'CR3_TARGET_COUNT',
  'VM_EXIT_CONTROLS', 'VM_EXIT_MSR_STORE_COUNT', 'VM_EXIT_MSR_LOAD_COUNT', 'VM_ENTRY_CONTROLS', 'VM_ENTRY_MSR_LOAD_COUNT', 'VM_ENTRY_INTR_INFO',
  'VM_ENTRY_EXCEPTION_ERROR_CODE', 'VM_ENTRY_INSTRUCTION_LEN', 'TPR_THRESHOLD', 'SECONDARY_VM_EXEC_CONTROL',
  'VM_INSTRUCTION_ERROR', 'VM_EXIT_REASON', 'VM_EXIT_INTR_INFO', 'VM_EXIT_INTR_ERROR_CODE', 'IDT_VECTORING_INFO', 'IDT_VECTORING_ERROR_CODE',
  'VM_EXIT_INSTRUCTION_LEN', 'VMX_INSTRUCTION_INFO',
  'GUEST_ES_LIMIT', 'GUEST_CS_LIMIT', 'GUEST_SS_LIMIT', 'GUEST_DS_LIMIT', 'GUEST_FS_LIMIT', 'GUEST_GS_LIMIT', 'GUEST_LDTR_LIMIT', 'GUEST_TR_LIMIT',
  'GUEST_GDTR_LIMIT', 'GUEST_IDTR_LIMIT',
  'GUEST_ES_AR_BYTES', 'GUEST_CS_AR_BYTES', 'GUEST_SS_AR_BYTES', 'GUEST_DS_AR_BYTES', 'GUEST_FS_AR_BYTES', 'GUEST_GS_AR_BYTES', 'GUEST_LDTR_AR_BYTES', 'GUEST_TR_AR_BYTES',
  'GUEST_INTERRUPTIBILITY_INFO', 'GUEST_ACTIVITY_STATE', 'GUEST_SMBASE', 'GUEST_SYSENTER_CS', 'VMX_PREEMPTION_TIMER_VALUE',
  'HOST_IA32_SYSENTER_CS',
  // natural width
  'CR0_GUEST_HOST_MASK', 'CR4_GUEST_HOST_MASK', 'CR0_READ_SHADOW', 'CR4_READ_SHADOW',
  'CR3_TARGET_VALUE0', 'CR3_TARGET_VALUE1', 'CR3_TARGET_VALUE2', 'CR3_TARGET_VALUE3',
  'EXIT_QUALIFICATION', 'IO_RCX', 'IO_RSI', 'IO_RDI', 'IO_RIP', 'GUEST_LINEAR_ADDRESS',
  'GUEST_CR0', 'GUEST_CR3', 'GUEST_CR4',
  'GUEST_ES_BASE', 'GUEST_CS_BASE', 'GUEST_SS_BASE', 'GUEST_DS_BASE', 'GUEST_FS_BASE', 'GUEST_GS_BASE', 'GUEST_LDTR_BASE', 'GUEST_TR_BASE',
  'GUEST_GDTR_BASE', 'GUEST_IDTR_BASE', 'GUEST_DR7', 'GUEST_RSP', 'GUEST_RIP', 'GUEST_RFLAGS', 'GUEST_PENDING_DBG_EXCEPTIONS',
  'GUEST_SYSENTER_ESP', 'GUEST_SYSENTER_EIP',
  'HOST_CR0', 'HOST_CR3', 'HOST_CR4', 'HOST_FS_BASE', 'HOST_GS_BASE', 'HOST_TR_BASE', 'HOST_GDTR_BASE', 'HOST_IDTR_BASE',
  'HOST_IA32_SYSENTER_ESP', 'HOST_IA32_SYSENTER_EIP', 'HOST_RSP', 'HOST_RIP',
] as const;

export type FieldName = (typeof SUPPORTED_FIELDS)[number];

/** Slot of every supported field by name (`F.GUEST_RIP`). */
export const F: Readonly<Record<FieldName, number>> = Object.freeze(Object.fromEntries(SUPPORTED_FIELDS.map((n, k) => [n, k])) as Record<FieldName, number>);

export const SLOT_COUNT = SUPPORTED_FIELDS.length;

/** Encoding of each slot. */
export const SLOT_ENCODING: Uint16Array = new Uint16Array(SUPPORTED_FIELDS.map((n) => {
  const e = VMCS_ENCODING[n];
  if (e === undefined) throw new Error(`vmcs: no encoding for ${n}`);
  return e;
}));

/** Width of each slot in bits (natural width = 64). */
export const SLOT_WIDTH: Uint8Array = new Uint8Array(SUPPORTED_FIELDS.map((n) => {
  const w = fieldWidth(VMCS_ENCODING[n]);
  return w === 'natural' ? 64 : w;
}));

/** Slots of natural-width fields (64 bits; 32 bits read/written outside 64-bit mode). */
export const SLOT_NATURAL: Uint8Array = new Uint8Array(SUPPORTED_FIELDS.map((n) => (fieldWidth(VMCS_ENCODING[n]) === 'natural' ? 1 : 0)));

/** Encoding (bit 0 cleared) → slot, −1 when unsupported. Encodings are below 0x8000. */
const SLOT_OF = new Int16Array(0x8000).fill(-1);
for (let k = 0; k < SLOT_COUNT; k++) SLOT_OF[SLOT_ENCODING[k]] = k;

/** Highest field index among the supported fields (IA32_VMX_VMCS_ENUM bits 9:1). */
export const HIGHEST_FIELD_INDEX = Math.max(...Array.from(SLOT_ENCODING, (e) => fieldIndex(e)));

/** Slot lookup without allocation: returns slot·2 + high, or −1. */
export function slotCode(encoding: number): number {
  if (encoding < 0 || encoding > 0x7fff) return -1;
  const slot = SLOT_OF[encoding & ~1];
  if (slot < 0) return -1;
  if ((encoding & 1) === 1) return SLOT_WIDTH[slot] === 64 && SLOT_NATURAL[slot] === 0 ? slot * 2 + 1 : -1;
  return slot * 2;
}

/** Is the slot a read-only data field (type 1: exit information, VM-instruction error)? */
export function slotReadOnly(slot: number): boolean {
  return ((SLOT_ENCODING[slot] >>> 10) & 3) === 1;
}

/** Launch state (SDM 25.1 "clear" / "launched"). */
export const LaunchState = { CLEAR: 0, LAUNCHED: 1 } as const;

/** Offsets inside the VMCS region. */
export const REGION = { REVISION: 0, ABORT: 4, LAUNCH_STATE: 8, DATA: 16 } as const;

/** The data of one VMCS (current or cached). */
export class VmcsData {
  readonly lo = new Uint32Array(SLOT_COUNT);
  readonly hi = new Uint32Array(SLOT_COUNT);
  launched = false;
  /** VMXOFF happened after this VMCS was launched (VMRESUME then fails with error 6). */
  afterVmxoff = false;
  /**
   * Generation counter bumped by every VMWRITE (and by VMPTRLD of fresh data): VM entry can skip
   * checks whose inputs did not change since the last successful entry with this VMCS.
   */
  writes = 0;
  /** `writes` when the last VM entry with this VMCS passed its checks (−1: never). */
  checkedAt = -1;

  constructor(readonly address: number) {}

  /** Unsigned value (exact below 2^53; use for addresses and controls). */
  num(slot: number): number {
    return this.hi[slot] * 4294967296 + this.lo[slot];
  }

  /** A natural-width linear address as the sign-extended number CpuState uses (bits 63:47 must be canonical to be exact). */
  addr(slot: number): number {
    return (this.hi[slot] | 0) * 4294967296 + this.lo[slot];
  }

  big(slot: number): bigint {
    return (BigInt(this.hi[slot]) << 32n) | BigInt(this.lo[slot]);
  }

  u32(slot: number): number {
    return this.lo[slot];
  }

  set(slot: number, lo: number, hi = 0): void {
    this.lo[slot] = lo >>> 0;
    this.hi[slot] = SLOT_WIDTH[slot] === 64 ? hi >>> 0 : 0;
  }

  /** Stores a number (unsigned, or a sign-extended linear address). */
  setNum(slot: number, v: number): void {
    const lo = v >>> 0; // low 32 bits (two's complement for negatives)
    this.set(slot, lo, Math.floor((v - lo) / 4294967296) | 0);
  }

  setBig(slot: number, v: bigint): void {
    this.set(slot, Number(v & 0xffffffffn), Number((v >> 32n) & 0xffffffffn));
  }
}
