/**
 * MADT ("APIC"): local APIC address and flags, then a list of interrupt controller structures.
 * Decoded types: 0 local APIC, 1 I/O APIC, 2 interrupt source override, 3 NMI source, 4 local APIC
 * NMI, 5 local APIC address override, 9 local x2APIC, 0xA local x2APIC NMI. Every other type is
 * skipped by its length and listed in `otherSubtables` (plus an `unknown-subtable` anomaly).
 */
import type { AnomalyReporter } from '../anomalies.js';
import { hex, intiFlags, readHeader, sealTable, u16, u32, u64, u8, w16, w32, w64, w8, writeHeader } from './common.js';
import type { AcpiTableHeader, OemInfo } from './common.js';

export const MADT_FIXED_LENGTH = 44;
/** Placeholder ("no processor here") APIC IDs. */
export const LAPIC_PLACEHOLDER_ID = 0xff;
export const X2APIC_PLACEHOLDER_ID = 0xffff_ffff;
/** UID meaning "all processors" in local APIC NMI structures. */
export const LAPIC_NMI_ALL = 0xff;
export const X2APIC_NMI_ALL = 0xffff_ffff;

/** MADT processor flags. */
export const MadtProcessorFlags = { Enabled: 1, OnlineCapable: 2 } as const;

export interface MadtProcessor {
  /** `lapic` = type 0 (8-bit IDs), `x2apic` = type 9 (32-bit IDs). */
  type: 'lapic' | 'x2apic';
  /** ACPI Processor UID. */
  uid: number;
  apicId: number;
  flags: number;
  /** Flags bit 0. */
  enabled: boolean;
  /** Flags bit 1 (ACPI 6.3+, MADT revision ≥ 5): may be brought online later. */
  onlineCapable: boolean;
}

export interface MadtIoApic {
  id: number;
  address: number;
  gsiBase: number;
}

export interface MadtInterruptOverride {
  bus: number;
  /** ISA IRQ. */
  source: number;
  gsi: number;
  flags: number;
  /** Flags bits 1:0: 0 conforms to the bus, 1 active high, 3 active low. */
  polarity: number;
  /** Flags bits 3:2: 0 conforms to the bus, 1 edge, 3 level. */
  triggerMode: number;
}

export interface MadtNmiSource {
  gsi: number;
  flags: number;
  polarity: number;
  triggerMode: number;
}

export interface MadtLocalApicNmi {
  /** `lapic` = type 4 (8-bit UID, 0xFF = all), `x2apic` = type 0xA (32-bit UID, 0xFFFFFFFF = all). */
  type: 'lapic' | 'x2apic';
  uid: number;
  flags: number;
  polarity: number;
  triggerMode: number;
  /** LINT pin (0 or 1). */
  lint: number;
}

export interface MadtOtherSubtable {
  type: number;
  /** Offset of the subtable inside the MADT. */
  offset: number;
  length: number;
}

export interface Madt {
  table: AcpiTableHeader;
  localApicAddress: number;
  flags: number;
  /** Flags bit 0: the machine also has dual 8259 PICs. */
  pcatCompat: boolean;
  /** Types 0 and 9, in table order. */
  processors: MadtProcessor[];
  ioApics: MadtIoApic[];
  interruptOverrides: MadtInterruptOverride[];
  nmiSources: MadtNmiSource[];
  /** Types 4 and 0xA, in table order. */
  localApicNmis: MadtLocalApicNmi[];
  /** Type 5's 64-bit address (the last one if several), or null. */
  localApicAddressOverride: number | null;
  /** Every subtable of a type not decoded here, skipped by its length. */
  otherSubtables: MadtOtherSubtable[];
}

/** Minimum length of each decoded subtable type. */
const SUBTABLE_SIZES: Record<number, number> = { 0: 8, 1: 12, 2: 10, 3: 8, 4: 6, 5: 12, 9: 16, 0xa: 12 };

const SUBTABLE_NAMES: Record<number, string> = {
  6: 'I/O SAPIC',
  7: 'local SAPIC',
  8: 'platform interrupt sources',
  0xb: 'GIC CPU interface',
  0xc: 'GIC distributor',
  0xd: 'GIC MSI frame',
  0xe: 'GIC redistributor',
  0xf: 'GIC ITS',
  0x10: 'multiprocessor wakeup',
  0x11: 'core PIC',
  0x12: 'legacy I/O PIC',
  0x13: 'HyperTransport PIC',
  0x14: 'extend I/O PIC',
  0x15: 'MSI PIC',
  0x16: 'bridge I/O PIC',
  0x17: 'low pin count PIC',
};

export function madtSubtableName(type: number): string {
  return SUBTABLE_NAMES[type] ?? (type >= 0x80 ? 'OEM-reserved' : 'reserved');
}

/** Decodes a MADT; never throws. Returns null only when the buffer is shorter than a header. */
export function parseMadt(b: Uint8Array, r: AnomalyReporter): Madt | null {
  const view = readHeader(b, 'APIC', r, MADT_FIXED_LENGTH);
  if (!view) return null;
  const { end } = view;
  const flags = end >= 44 ? u32(b, 40) : 0;
  const madt: Madt = {
    table: view.header,
    localApicAddress: end >= 40 ? u32(b, 36) : 0,
    flags,
    pcatCompat: (flags & 1) !== 0,
    processors: [],
    ioApics: [],
    interruptOverrides: [],
    nmiSources: [],
    localApicNmis: [],
    localApicAddressOverride: null,
    otherSubtables: [],
  };
  const offsets: number[] = []; // offset of each processor entry, for anomalies
  const ioApicOffsets: number[] = [];
  let o = MADT_FIXED_LENGTH;
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
      madt.otherSubtables.push({ type, offset: o, length: len });
      r.report(o, 'unknown-subtable', `subtable type 0x${hex(type, 2)} (${madtSubtableName(type)}), ${len} bytes at offset 0x${hex(o)}: skipped${len === 12 && type >= 0x7f ? ' (I/O APIC-sized: possibly an I/O APIC hidden by firmware)' : ''}`);
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
    switch (type) {
      case 0:
      case 9: {
        const x2 = type === 9;
        const pflags = u32(b, o + (x2 ? 8 : 4));
        madt.processors.push({
          type: x2 ? 'x2apic' : 'lapic',
          uid: x2 ? u32(b, o + 12) : u8(b, o + 2),
          apicId: x2 ? u32(b, o + 4) : u8(b, o + 3),
          flags: pflags,
          enabled: (pflags & 1) !== 0,
          onlineCapable: (pflags & 2) !== 0,
        });
        offsets.push(o);
        break;
      }
      case 1:
        madt.ioApics.push({ id: u8(b, o + 2), address: u32(b, o + 4), gsiBase: u32(b, o + 8) });
        ioApicOffsets.push(o);
        break;
      case 2: {
        const f = u16(b, o + 8);
        madt.interruptOverrides.push({ bus: u8(b, o + 2), source: u8(b, o + 3), gsi: u32(b, o + 4), flags: f, ...intiFlags(f) });
        break;
      }
      case 3: {
        const f = u16(b, o + 2);
        madt.nmiSources.push({ gsi: u32(b, o + 4), flags: f, ...intiFlags(f) });
        break;
      }
      case 4: {
        const f = u16(b, o + 3);
        madt.localApicNmis.push({ type: 'lapic', uid: u8(b, o + 2), flags: f, ...intiFlags(f), lint: u8(b, o + 5) });
        break;
      }
      case 0xa: {
        const f = u16(b, o + 2);
        madt.localApicNmis.push({ type: 'x2apic', uid: u32(b, o + 4), flags: f, ...intiFlags(f), lint: u8(b, o + 8) });
        break;
      }
      case 5:
        madt.localApicAddressOverride = u64(b, o + 4, r, 'local APIC address override');
        break;
    }
    o += len;
  }
  checkProcessors(madt, offsets, ioApicOffsets, r);
  return madt;
}

export function isPlaceholderApicId(p: Pick<MadtProcessor, 'type' | 'apicId'>): boolean {
  return p.apicId === (p.type === 'lapic' ? LAPIC_PLACEHOLDER_ID : X2APIC_PLACEHOLDER_ID);
}

function checkProcessors(madt: Madt, offsets: number[], ioApicOffsets: number[], r: AnomalyReporter): void {
  const enabledIds = new Map<number, number>(); // APIC ID → index of first enabled entry
  madt.processors.forEach((p, i) => {
    if (!p.enabled) return;
    const first = enabledIds.get(p.apicId);
    if (first !== undefined) r.report(offsets[i], 'duplicate-apic-id', `enabled processor UID ${p.uid} has APIC ID 0x${hex(p.apicId)}, already used by enabled UID ${madt.processors[first].uid}`);
    else enabledIds.set(p.apicId, i);
  });
  const uids = new Map<number, number>();
  madt.processors.forEach((p, i) => {
    if (isPlaceholderApicId(p)) {
      r.report(offsets[i], 'placeholder-apic-id', `${p.enabled ? 'enabled' : 'disabled'} ${p.type} entry UID ${p.uid} has placeholder APIC ID 0x${hex(p.apicId)}${p.enabled ? ' (an enabled processor cannot have it)' : ' (empty slot)'}`);
    } else if (!p.enabled && enabledIds.has(p.apicId)) {
      r.report(offsets[i], 'disabled-apic-id-duplicates-enabled', `disabled processor UID ${p.uid} reuses APIC ID 0x${hex(p.apicId)} of an enabled processor; not a hot-plug candidate`);
    }
    const prev = uids.get(p.uid);
    if (prev !== undefined) r.report(offsets[i], 'duplicate-processor-uid', `${p.type} entry with APIC ID 0x${hex(p.apicId)} reuses processor UID ${p.uid} (first used by the ${madt.processors[prev].type} entry with APIC ID 0x${hex(madt.processors[prev].apicId)})`);
    else uids.set(p.uid, i);
  });
  const ioIds = new Map<number, number>();
  madt.ioApics.forEach((io, i) => {
    if (ioIds.has(io.id)) r.report(ioApicOffsets[i], 'duplicate-ioapic-id', `I/O APIC ID ${io.id} is used twice`);
    else ioIds.set(io.id, i);
    if (enabledIds.has(io.id)) r.report(ioApicOffsets[i], 'ioapic-id-matches-lapic-id', `I/O APIC ID ${io.id} equals the APIC ID of an enabled processor (a conflict only on the xAPIC serial bus)`);
  });
  madt.processors.forEach((p, i) => {
    if (p.type === 'x2apic' && p.enabled && p.apicId < 0xff) {
      r.report(offsets[i], 'x2apic-entry-for-small-apic-id', `enabled x2APIC (type 9) entry UID ${p.uid} has APIC ID 0x${hex(p.apicId)} < 0xFF, which the ACPI spec reserves for type 0 entries; used as is`);
    }
  });
  const firstEnabled = madt.processors.findIndex((p) => p.enabled);
  if (firstEnabled >= 0 && !enabledIds.has(0)) {
    r.report(offsets[firstEnabled], 'no-apic-id-zero', `no enabled processor has APIC ID 0 (the first enabled one has 0x${hex(madt.processors[firstEnabled].apicId)})`);
  } else if (firstEnabled >= 0 && madt.processors[firstEnabled].apicId !== 0) {
    r.report(offsets[firstEnabled], 'first-processor-not-apic-id-zero', `the first enabled processor entry has APIC ID 0x${hex(madt.processors[firstEnabled].apicId)}; APIC ID 0 comes later in the MADT`);
  }
}

// ---------------------------------------------------------------------------------------------
// builder

/** Everything a MADT holds, as the builder takes it. Processor structure types are chosen by value. */
export interface MadtSpec {
  revision: number;
  oem: OemInfo;
  localApicAddress: number;
  pcatCompat: boolean;
  /** Written as type 9 (x2APIC) when `apicId` ≥ 0xFF or `uid` ≥ 0xFF, else type 0. */
  processors: readonly { uid: number; apicId: number; flags: number }[];
  ioApics: readonly MadtIoApic[];
  interruptOverrides: readonly { bus: number; source: number; gsi: number; flags: number }[];
  nmiSources: readonly { gsi: number; flags: number }[];
  localApicNmis: readonly { type: 'lapic' | 'x2apic'; uid: number; flags: number; lint: number }[];
  localApicAddressOverride: number | null;
}

export function needsX2apicEntry(p: { uid: number; apicId: number }): boolean {
  return p.apicId >= 0xff || p.uid >= 0xff;
}

export function buildMadt(spec: MadtSpec): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const p of spec.processors) {
    if (needsX2apicEntry(p)) {
      const s = sub(9, 16);
      w32(s, 4, p.apicId);
      w32(s, 8, p.flags);
      w32(s, 12, p.uid);
      parts.push(s);
    } else {
      const s = sub(0, 8);
      w8(s, 2, p.uid);
      w8(s, 3, p.apicId);
      w32(s, 4, p.flags);
      parts.push(s);
    }
  }
  for (const io of spec.ioApics) {
    const s = sub(1, 12);
    w8(s, 2, io.id);
    w32(s, 4, io.address);
    w32(s, 8, io.gsiBase);
    parts.push(s);
  }
  for (const iso of spec.interruptOverrides) {
    const s = sub(2, 10);
    w8(s, 2, iso.bus);
    w8(s, 3, iso.source);
    w32(s, 4, iso.gsi);
    w16(s, 8, iso.flags);
    parts.push(s);
  }
  for (const n of spec.nmiSources) {
    const s = sub(3, 8);
    w16(s, 2, n.flags);
    w32(s, 4, n.gsi);
    parts.push(s);
  }
  for (const n of spec.localApicNmis) {
    if (n.type === 'x2apic') {
      const s = sub(0xa, 12);
      w16(s, 2, n.flags);
      w32(s, 4, n.uid);
      w8(s, 8, n.lint);
      parts.push(s);
    } else {
      const s = sub(4, 6);
      w8(s, 2, n.uid);
      w16(s, 3, n.flags);
      w8(s, 5, n.lint);
      parts.push(s);
    }
  }
  if (spec.localApicAddressOverride !== null) {
    const s = sub(5, 12);
    w64(s, 4, spec.localApicAddressOverride);
    parts.push(s);
  }
  const b = new Uint8Array(MADT_FIXED_LENGTH + parts.reduce((n, p) => n + p.length, 0));
  writeHeader(b, 'APIC', spec.revision, spec.oem);
  w32(b, 36, spec.localApicAddress);
  w32(b, 40, spec.pcatCompat ? 1 : 0);
  let o = MADT_FIXED_LENGTH;
  for (const p of parts) {
    b.set(p, o);
    o += p.length;
  }
  return sealTable(b);
}

function sub(type: number, length: number): Uint8Array {
  const s = new Uint8Array(length);
  s[0] = type;
  s[1] = length;
  return s;
}
