/**
 * Local APIC register layout and bit definitions (SDM Vol. 3A ch. 11, Tables 11-1 and 11-6).
 */

/** xAPIC MMIO register offsets inside the 4 KiB page at IA32_APIC_BASE. */
export const ApicReg = {
  ID: 0x020,
  VERSION: 0x030,
  TPR: 0x080,
  APR: 0x090,
  PPR: 0x0a0,
  EOI: 0x0b0,
  RRD: 0x0c0,
  LDR: 0x0d0,
  DFR: 0x0e0,
  SVR: 0x0f0,
  ISR0: 0x100,
  TMR0: 0x180,
  IRR0: 0x200,
  ESR: 0x280,
  LVT_CMCI: 0x2f0,
  ICR_LOW: 0x300,
  ICR_HIGH: 0x310,
  LVT_TIMER: 0x320,
  LVT_THERMAL: 0x330,
  LVT_PERF: 0x340,
  LVT_LINT0: 0x350,
  LVT_LINT1: 0x360,
  LVT_ERROR: 0x370,
  TIMER_INITIAL: 0x380,
  TIMER_CURRENT: 0x390,
  TIMER_DIVIDE: 0x3e0,
} as const;

/** x2APIC MSR indices (0x800 + xAPIC offset / 16, plus SELF IPI). */
export const X2ApicMsr = {
  APIC_BASE: 0x1b,
  ID: 0x802,
  VERSION: 0x803,
  TPR: 0x808,
  PPR: 0x80a,
  EOI: 0x80b,
  LDR: 0x80d,
  SVR: 0x80f,
  ISR0: 0x810,
  TMR0: 0x818,
  IRR0: 0x820,
  ESR: 0x828,
  LVT_CMCI: 0x82f,
  ICR: 0x830,
  LVT_TIMER: 0x832,
  LVT_THERMAL: 0x833,
  LVT_PERF: 0x834,
  LVT_LINT0: 0x835,
  LVT_LINT1: 0x836,
  LVT_ERROR: 0x837,
  TIMER_INITIAL: 0x838,
  TIMER_CURRENT: 0x839,
  TIMER_DIVIDE: 0x83e,
  SELF_IPI: 0x83f,
} as const;

/** Delivery-mode encodings (ICR[10:8], LVT[10:8], I/O APIC redirection entries). */
export const DeliveryMode = {
  FIXED: 0,
  LOWEST_PRIORITY: 1,
  SMI: 2,
  NMI: 4,
  INIT: 5,
  STARTUP: 6,
  EXTINT: 7,
} as const;
export type DeliveryMode = (typeof DeliveryMode)[keyof typeof DeliveryMode];

/** ICR[19:18] destination shorthands. */
export const Shorthand = { NONE: 0, SELF: 1, ALL_INCLUDING_SELF: 2, ALL_EXCLUDING_SELF: 3 } as const;
export type Shorthand = (typeof Shorthand)[keyof typeof Shorthand];

/** Error Status Register bits (SDM Figure 11-9; bits 0–3 exist on P6/Pentium only and are never set here). */
export const EsrBit = {
  REDIRECTABLE_IPI: 1 << 4,
  SEND_ILLEGAL_VECTOR: 1 << 5,
  RECEIVED_ILLEGAL_VECTOR: 1 << 6,
  ILLEGAL_REGISTER_ADDRESS: 1 << 7,
} as const;

/** Index of each LVT entry in {@link LocalApicCapturedState.lvt} and the internal table. */
export const Lvt = { TIMER: 0, THERMAL: 1, PERF: 2, LINT0: 3, LINT1: 4, ERROR: 5, CMCI: 6 } as const;
export type Lvt = (typeof Lvt)[keyof typeof Lvt];
export const LVT_NAMES = ['timer', 'thermal', 'perf', 'lint0', 'lint1', 'error', 'cmci'] as const;

export const LVT_MASKED = 1 << 16;
export const LVT_DELIVERY_STATUS = 1 << 12;
export const LVT_REMOTE_IRR = 1 << 14;
export const LVT_LEVEL_TRIGGER = 1 << 15;
export const LVT_POLARITY_LOW = 1 << 13;
/** LVT timer mode field (bits 18:17). */
export const TimerMode = { ONE_SHOT: 0, PERIODIC: 1, TSC_DEADLINE: 2 } as const;

/** Writable bits of each LVT (timer without TSC-deadline support: bit 18 is reserved). */
export const LVT_WRITABLE: readonly number[] = [
  0x000300ff, // timer: vector, mask, mode bit 17
  0x000107ff, // thermal: vector, delivery mode, mask
  0x000107ff, // perf
  0x0001a7ff, // LINT0: vector, delivery mode, polarity, trigger, mask
  0x0001a7ff, // LINT1
  0x000100ff, // error: vector, mask
  0x000107ff, // CMCI
];
/** Read-only bits a write may carry without #GP in x2APIC mode (delivery status, remote IRR). */
export const LVT_READ_ONLY = LVT_DELIVERY_STATUS | LVT_REMOTE_IRR;

export const SVR_VECTOR = 0xff;
export const SVR_APIC_ENABLED = 1 << 8;
/** 1 = focus-processor checking disabled. */
export const SVR_FOCUS_DISABLED = 1 << 9;
export const SVR_EOI_BROADCAST_SUPPRESSION = 1 << 12;

/** ICR low bits software may write (vector, delivery mode, destination mode, level, trigger, shorthand). */
export const ICR_LOW_WRITABLE = 0x000ccfff;
export const ICR_DELIVERY_STATUS = 1 << 12;

/** IA32_APIC_BASE bits. */
export const APIC_BASE_BSP = 1n << 8n;
export const APIC_BASE_EXTD = 1n << 10n;
export const APIC_BASE_EN = 1n << 11n;
export const APIC_DEFAULT_BASE = 0xfee00000;

/** Divide configuration register value (bits 3,1,0) → divisor (SDM Figure 11-10). */
export function timerDivisor(dcr: number): number {
  const code = (dcr & 3) | ((dcr >> 1) & 4);
  return code === 7 ? 1 : 2 << code;
}
