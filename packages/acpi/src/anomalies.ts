/**
 * Firmware anomalies: everything odd the parser found and worked around. The parser never throws
 * on bad firmware; it decodes what it can and lists what it saw here instead.
 */

/** How bad an anomaly is. */
export type AnomalySeverity =
  /** The bytes are structurally broken (checksum, truncation, length); some data may be lost. */
  | 'error'
  /** A firmware bug the parser worked around (unknown subtable, placeholder or duplicate IDs…). */
  | 'warning'
  /** Legal but unusual, worth knowing for discovery (memoryless node, no APIC ID 0…). */
  | 'info';

/**
 * Every anomaly kind, with its severity. The keys are the stable `kind` strings; the README
 * documents each one.
 */
export const AnomalyKinds = {
  // structure
  'bad-checksum': 'error',
  'bad-extended-checksum': 'error',
  truncated: 'error',
  'length-mismatch': 'error',
  'bad-signature': 'error',
  'zero-length-subtable': 'error',
  'subtable-length-mismatch': 'error',
  'unsafe-integer': 'error',
  unreadable: 'error',
  'null-table-pointer': 'error',
  'table-too-large': 'error',
  'not-a-table': 'error',
  'duplicate-table': 'warning',
  'rsdt-xsdt-mismatch': 'warning',
  'missing-dsdt': 'warning',
  // header fields
  'non-ascii-header': 'warning',
  'reserved-bits-set': 'warning',
  // MADT
  'unknown-subtable': 'warning',
  'placeholder-apic-id': 'warning',
  'duplicate-apic-id': 'warning',
  'disabled-apic-id-duplicates-enabled': 'warning',
  'duplicate-processor-uid': 'warning',
  'duplicate-ioapic-id': 'warning',
  'ioapic-id-matches-lapic-id': 'info',
  'x2apic-entry-for-small-apic-id': 'warning',
  'no-apic-id-zero': 'info',
  'first-processor-not-apic-id-zero': 'info',
  // SRAT / SLIT / NUMA
  'slit-size-mismatch': 'warning',
  'slit-invalid-distance': 'warning',
  'srat-domain-missing-from-slit': 'warning',
  'madt-cpu-missing-from-srat': 'warning',
  'ignored-memory-affinity': 'info',
  'srat-without-slit': 'info',
  'empty-numa-domain': 'info',
  'memoryless-numa-domain': 'info',
  'cpuless-numa-domain': 'info',
  // FADT
  'fadt-length-revision-mismatch': 'warning',
  'fadt-register-width': 'warning',
  'fadt-legacy-length-mismatch': 'warning',
  'fadt-address-mismatch': 'warning',
  'fadt-missing-required-block': 'warning',
  'fadt-hw-reduced-fixed-hardware': 'warning',
  'no-pm-timer': 'info',
} as const satisfies Record<string, AnomalySeverity>;

export type AnomalyKind = keyof typeof AnomalyKinds;

/** One thing the parser found odd. */
export interface AcpiAnomaly {
  /** Signature of the table it was found in ('APIC', 'FACP', 'SRAT', 'RSDP', …). */
  table: string;
  /** Byte offset inside that table's bytes (always inside the buffer the table was read from). */
  offset: number;
  kind: AnomalyKind;
  severity: AnomalySeverity;
  message: string;
  /** Physical address of the table, when it was discovered through memory. */
  address?: number;
}

/** Collects anomalies for one table: clamps offsets into the table's buffer. */
export class AnomalyReporter {
  constructor(
    private readonly sink: AcpiAnomaly[],
    readonly table: string,
    /** Length of the buffer the table was read from (offsets are clamped into it). */
    private readonly bufferLength: number,
    private readonly address?: number,
  ) {}

  report(offset: number, kind: AnomalyKind, message: string): void {
    const max = Math.max(0, this.bufferLength - 1);
    const o = Number.isFinite(offset) ? Math.min(Math.max(0, Math.trunc(offset)), max) : 0;
    const a: AcpiAnomaly = { table: this.table, offset: o, kind, severity: AnomalyKinds[kind], message };
    if (this.address !== undefined) a.address = this.address;
    this.sink.push(a);
  }
}
