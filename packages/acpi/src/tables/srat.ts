/**
 * SRAT, the System Resource Affinity Table: which proximity domain (NUMA node) each processor and
 * memory range belongs to. Decoded types: 0 processor local APIC/SAPIC affinity, 1 memory
 * affinity, 2 processor local x2APIC affinity. Every other type is skipped by its length and
 * listed in `otherSubtables` (plus an `unknown-subtable` anomaly).
 */
import type { AnomalyReporter } from '../anomalies.js';
import { hex, readHeader, sealTable, u24, u32, u64, u8, w32, w64, w8, writeHeader } from './common.js';
import type { AcpiTableHeader, OemInfo } from './common.js';

export const SRAT_FIXED_LENGTH = 48;

export interface SratLapicAffinity {
  type: 'lapic';
  apicId: number;
  /** Local SAPIC EID (Itanium; 0 on x86). */
  sapicEid: number;
  /** Bits 7:0 (byte 2) combined with bits 31:8 (bytes 9–11). */
  proximityDomain: number;
  flags: number;
  enabled: boolean;
  clockDomain: number;
}

export interface SratX2apicAffinity {
  type: 'x2apic';
  apicId: number;
  proximityDomain: number;
  flags: number;
  enabled: boolean;
  clockDomain: number;
}

export type SratCpuAffinity = SratLapicAffinity | SratX2apicAffinity;

export interface SratMemoryAffinity {
  base: number;
  length: number;
  proximityDomain: number;
  flags: number;
  /** Flags bit 0: if clear the OS ignores the entry. */
  enabled: boolean;
  /** Flags bit 1. */
  hotPluggable: boolean;
  /** Flags bit 2. */
  nonVolatile: boolean;
}

export interface SratOtherSubtable {
  type: number;
  offset: number;
  length: number;
}

export interface Srat {
  table: AcpiTableHeader;
  /** Types 0 and 2, in table order. */
  cpuAffinity: SratCpuAffinity[];
  /** Type 1, in table order; disabled and zero-length entries are kept (real firmware emits them). */
  memoryAffinity: SratMemoryAffinity[];
  otherSubtables: SratOtherSubtable[];
}

const SUBTABLE_SIZES: Record<number, number> = { 0: 16, 1: 40, 2: 24 };
const SUBTABLE_NAMES: Record<number, string> = {
  3: 'GICC affinity',
  4: 'GIC ITS affinity',
  5: 'generic initiator affinity',
  6: 'generic port affinity',
  7: 'RINTC affinity',
};

export function parseSrat(b: Uint8Array, r: AnomalyReporter): Srat | null {
  const view = readHeader(b, 'SRAT', r, SRAT_FIXED_LENGTH);
  if (!view) return null;
  const { end } = view;
  const rev = view.header.revision;
  const srat: Srat = { table: view.header, cpuAffinity: [], memoryAffinity: [], otherSubtables: [] };
  let o = SRAT_FIXED_LENGTH;
  while (o < end) {
    if (o + 2 > end) {
      r.report(o, 'truncated', `1 stray byte at the end of the subtable list`);
      break;
    }
    const type = u8(b, o);
    const len = u8(b, o + 1);
    if (len < 2) {
      r.report(o + 1, 'zero-length-subtable', `subtable type 0x${hex(type, 2)} at offset 0x${hex(o)} has length ${len}; the rest of the table (${end - o} bytes) cannot be walked`);
      break;
    }
    if (o + len > end) {
      r.report(o, 'truncated', `subtable type 0x${hex(type, 2)} at offset 0x${hex(o)} has length ${len} but the table ends ${end - o} bytes later`);
      break;
    }
    const size = SUBTABLE_SIZES[type];
    if (size === undefined) {
      srat.otherSubtables.push({ type, offset: o, length: len });
      r.report(o, 'unknown-subtable', `subtable type 0x${hex(type, 2)} (${SUBTABLE_NAMES[type] ?? 'reserved'}), ${len} bytes at offset 0x${hex(o)}: skipped`);
      o += len;
      continue;
    }
    if (len !== size) {
      r.report(o + 1, 'subtable-length-mismatch', `subtable type 0x${hex(type, 2)} at offset 0x${hex(o)} has length ${len}, expected ${size}${len < size ? '; skipped' : '; extra bytes ignored'}`);
      if (len < size) {
        o += len;
        continue;
      }
    }
    if (type === 0) {
      const flags = u32(b, o + 4);
      const hi = u24(b, o + 9);
      if (hi !== 0 && rev < 2) r.report(o + 9, 'reserved-bits-set', `SRAT revision ${rev} has proximity domain bits 31:8 = 0x${hex(hi)} (reserved before revision 2); combined anyway`);
      srat.cpuAffinity.push({
        type: 'lapic',
        apicId: u8(b, o + 3),
        sapicEid: u8(b, o + 8),
        proximityDomain: (u8(b, o + 2) | (hi << 8)) >>> 0,
        flags,
        enabled: (flags & 1) !== 0,
        clockDomain: u32(b, o + 12),
      });
    } else if (type === 2) {
      const flags = u32(b, o + 12);
      srat.cpuAffinity.push({ type: 'x2apic', apicId: u32(b, o + 8), proximityDomain: u32(b, o + 4), flags, enabled: (flags & 1) !== 0, clockDomain: u32(b, o + 16) });
    } else {
      const flags = u32(b, o + 28);
      srat.memoryAffinity.push({
        base: u64(b, o + 8, r, 'memory base'),
        length: u64(b, o + 16, r, 'memory length'),
        proximityDomain: u32(b, o + 2),
        flags,
        enabled: (flags & 1) !== 0,
        hotPluggable: (flags & 2) !== 0,
        nonVolatile: (flags & 4) !== 0,
      });
      const m = srat.memoryAffinity[srat.memoryAffinity.length - 1];
      if (rev < 2 && m.proximityDomain > 0xff) r.report(o + 3, 'reserved-bits-set', `SRAT revision ${rev} memory affinity has proximity domain bits 31:8 set (0x${hex(m.proximityDomain)}; reserved before revision 2); used as is`);
      if (!m.enabled || m.length === 0) {
        r.report(o, 'ignored-memory-affinity', `memory affinity at offset 0x${hex(o)} (base 0x${hex(m.base)}, length 0x${hex(m.length)}, domain ${m.proximityDomain}) is ${!m.enabled ? 'disabled' : ''}${!m.enabled && m.length === 0 ? ' and ' : ''}${m.length === 0 ? 'zero-length' : ''}; ignored`);
      }
    }
    o += len;
  }
  return srat;
}

// ---------------------------------------------------------------------------------------------
// builder

export interface SratSpec {
  revision: number;
  oem: OemInfo;
  /** Written as type 2 (x2APIC affinity) when `apicId` ≥ 0xFF, else type 0. */
  cpus: readonly { apicId: number; proximityDomain: number; enabled: boolean }[];
  memory: readonly { base: number; length: number; proximityDomain: number; enabled: boolean; hotPluggable: boolean; nonVolatile: boolean }[];
}

export function buildSrat(spec: SratSpec): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const c of spec.cpus) {
    if (c.apicId >= 0xff) {
      const s = new Uint8Array(24);
      s[0] = 2;
      s[1] = 24;
      w32(s, 4, c.proximityDomain);
      w32(s, 8, c.apicId);
      w32(s, 12, c.enabled ? 1 : 0);
      parts.push(s);
    } else {
      const s = new Uint8Array(16);
      s[0] = 0;
      s[1] = 16;
      w8(s, 2, c.proximityDomain & 0xff);
      w8(s, 3, c.apicId);
      w32(s, 4, c.enabled ? 1 : 0);
      w8(s, 9, (c.proximityDomain >>> 8) & 0xff);
      w8(s, 10, (c.proximityDomain >>> 16) & 0xff);
      w8(s, 11, (c.proximityDomain >>> 24) & 0xff);
      parts.push(s);
    }
  }
  for (const m of spec.memory) {
    const s = new Uint8Array(40);
    s[0] = 1;
    s[1] = 40;
    w32(s, 2, m.proximityDomain);
    w64(s, 8, m.base);
    w64(s, 16, m.length);
    w32(s, 28, (m.enabled ? 1 : 0) | (m.hotPluggable ? 2 : 0) | (m.nonVolatile ? 4 : 0));
    parts.push(s);
  }
  const b = new Uint8Array(SRAT_FIXED_LENGTH + parts.reduce((n, p) => n + p.length, 0));
  writeHeader(b, 'SRAT', spec.revision, spec.oem);
  w32(b, 36, 1); // "Reserved, must be 1" (table revision, for backward compatibility)
  let o = SRAT_FIXED_LENGTH;
  for (const p of parts) {
    b.set(p, o);
    o += p.length;
  }
  return sealTable(b);
}
