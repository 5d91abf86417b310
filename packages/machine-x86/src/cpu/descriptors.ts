/**
 * Segment and gate descriptors (SDM Vol. 3A 3.4.5 "Segment Descriptors", 3.5 "System Descriptor
 * Types", 6.11/6.14.1 IDT gates). Pure functions over the two (or four) dwords of a descriptor;
 * the segment-load checks that use them are in segments.ts.
 */
import { AR } from './state.js';

/** System-descriptor and gate types (S = 0), SDM Vol. 3A Table 3-2. */
export const SysType = {
  TSS16_AVAIL: 0x1,
  LDT: 0x2,
  TSS16_BUSY: 0x3,
  CALL_GATE16: 0x4,
  TASK_GATE: 0x5,
  INT_GATE16: 0x6,
  TRAP_GATE16: 0x7,
  TSS_AVAIL: 0x9,
  TSS_BUSY: 0xb,
  CALL_GATE: 0xc,
  INT_GATE: 0xe,
  TRAP_GATE: 0xf,
} as const;

/** Access rights (VMX layout) of a code/data/system descriptor given its high dword. */
export function descriptorAr(hi: number): number {
  // Byte 5 (bits 15:8 of hi) → AR bits 7:0; bits 23:20 of hi (AVL, L, D/B, G) → AR bits 15:12.
  return ((hi >>> 8) & 0xff) | (((hi >>> 20) & 0xf) << 12);
}

/** Base address (bits 31:0) of a descriptor. */
export function descriptorBase(lo: number, hi: number): number {
  return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
}

/** Byte-granular limit of a descriptor (scaled by G: limit * 4096 + 0xFFF). */
export function descriptorLimit(lo: number, hi: number): number {
  const raw = (lo & 0xffff) | (hi & 0xf0000);
  return hi & 0x800000 ? raw * 4096 + 0xfff : raw;
}

/** Builds the two dwords of a descriptor (tests, firmware, the hypervisor's own GDT). */
export function encodeDescriptor(base: number, limitRaw: number, ar: number): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limitRaw & 0xffff);
  const hi = ((base >>> 16) & 0xff) | ((ar & 0xff) << 8) | (limitRaw & 0xf0000) | (((ar >>> 12) & 0xf) << 20) | (base & 0xff000000);
  return [lo | 0, hi | 0];
}

export function arDpl(ar: number): number {
  return (ar & AR.DPL_MASK) >>> AR.DPL_SHIFT;
}
export function arIsCode(ar: number): boolean {
  return (ar & AR.S) !== 0 && (ar & AR.CODE) !== 0;
}
export function arIsData(ar: number): boolean {
  return (ar & AR.S) !== 0 && (ar & AR.CODE) === 0;
}
export function arIsSystem(ar: number): boolean {
  return (ar & AR.S) === 0;
}

/** A decoded IDT gate (32-bit: 8 bytes; 64-bit: 16 bytes). */
export interface Gate {
  type: number;
  dpl: number;
  present: boolean;
  selector: number;
  /** Target offset; in 64-bit mode the sign-extended canonical linear address (see CpuState). */
  offset: number;
  /** Interrupt-stack-table index (64-bit gates), 0 = none. */
  ist: number;
}

/** Decodes a gate from its dwords (w2/w3 only used for 64-bit gates). Writes into `out` (no allocation). */
export function decodeGate(w0: number, w1: number, w2: number, long: boolean, out: Gate): Gate {
  out.type = (w1 >>> 8) & 0xf;
  out.dpl = (w1 >>> 13) & 3;
  out.present = (w1 & 0x8000) !== 0;
  out.selector = (w0 >>> 16) & 0xffff;
  const low32 = ((w0 & 0xffff) | (w1 & 0xffff0000)) >>> 0;
  if (long) {
    out.offset = (w2 | 0) * 0x1_0000_0000 + low32; // w2 signed: canonical upper half gives a negative number
    out.ist = w1 & 7;
  } else {
    out.offset = low32;
    out.ist = 0;
  }
  return out;
}
