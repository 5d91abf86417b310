/**
 * Parsing a table set: identify each buffer by its signature, decode the tables this package
 * knows, keep the header of the others, and run the cross-table checks. Platform-neutral: the
 * memory walk is in discover.ts, the directory loader in node.ts.
 */
import { AnomalyReporter } from './anomalies.js';
import type { AcpiAnomaly } from './anomalies.js';
import { AcpiNotAcpiError } from './errors.js';
import { HEADER_LENGTH, fixedString, hex, looksLikeSignature, printable, u32, u8 } from './tables/common.js';
import { parseDsdt } from './tables/dsdt.js';
import type { Dsdt } from './tables/dsdt.js';
import { parseFacs } from './tables/facs.js';
import type { Facs } from './tables/facs.js';
import { parseFadt } from './tables/fadt.js';
import type { Fadt } from './tables/fadt.js';
import { isPlaceholderApicId, parseMadt } from './tables/madt.js';
import type { Madt } from './tables/madt.js';
import { hasRsdpSignature, parseRsdp } from './tables/rsdp.js';
import type { Rsdp } from './tables/rsdp.js';
import { parseRootTable } from './tables/rsdt.js';
import type { RootTable } from './tables/rsdt.js';
import { parseSlit } from './tables/slit.js';
import type { Slit } from './tables/slit.js';
import { parseSrat } from './tables/srat.js';
import type { Srat } from './tables/srat.js';
import { hotplugCandidates, summarizeNuma } from './summary.js';

/** A table this package does not decode (SSDT, HPET, MCFG…): its header fields only. */
export interface OtherTable {
  signature: string;
  /** Header length field, or the buffer length when the buffer is shorter than a header. */
  length: number;
  revision: number | null;
  oemId: string | null;
  oemTableId: string | null;
  /** Physical address, when discovered through memory. */
  address: number | null;
}

/** Everything parsed from one machine's tables. Absent tables are null. */
export interface AcpiTables {
  rsdp: Rsdp | null;
  rsdt: RootTable | null;
  xsdt: RootTable | null;
  fadt: Fadt | null;
  madt: Madt | null;
  srat: Srat | null;
  slit: Slit | null;
  dsdt: Dsdt | null;
  facs: Facs | null;
  others: OtherTable[];
  /** Physical address of each decoded table, keyed by signature ('RSDP', 'XSDT', 'APIC'…), when discovered through memory. */
  addresses: Record<string, number>;
  anomalies: AcpiAnomaly[];
}

export function emptyTables(): AcpiTables {
  return { rsdp: null, rsdt: null, xsdt: null, fadt: null, madt: null, srat: null, slit: null, dsdt: null, facs: null, others: [], addresses: {}, anomalies: [] };
}

type Decoded = 'rsdp' | 'rsdt' | 'xsdt' | 'fadt' | 'madt' | 'srat' | 'slit' | 'dsdt' | 'facs';
const DECODED: Record<string, Decoded> = {
  RSDT: 'rsdt',
  XSDT: 'xsdt',
  FACP: 'fadt',
  APIC: 'madt',
  SRAT: 'srat',
  SLIT: 'slit',
  DSDT: 'dsdt',
  FACS: 'facs',
};

/** The signature a buffer claims ('RSDP' for "RSD PTR "), or null when it is not an ACPI table. */
export function tableSignature(b: Uint8Array): string | null {
  if (hasRsdpSignature(b)) return 'RSDP';
  return looksLikeSignature(b) ? fixedString(b, 0, 4) : null;
}

/** True when this package decodes tables with this signature. */
export function isDecodedSignature(signature: string): boolean {
  return signature === 'RSDP' || signature in DECODED;
}

/**
 * Decodes one buffer into `acc` (by its signature). Returns false when the buffer is not an ACPI
 * table at all (an anomaly is recorded). A second table of a decoded type is reported and ignored.
 */
export function ingestTable(acc: AcpiTables, b: Uint8Array, address?: number): boolean {
  const sig = tableSignature(b);
  if (sig === null) {
    new AnomalyReporter(acc.anomalies, '????', b.length, address).report(0, 'not-a-table', `${b.length}-byte buffer does not start with an ACPI signature (${[...b.subarray(0, 8)].map((x) => hex(x, 2)).join(' ') || 'empty'}); ignored`);
    return false;
  }
  const r = new AnomalyReporter(acc.anomalies, sig, b.length, address);
  const key = sig === 'RSDP' ? 'rsdp' : DECODED[sig];
  if (key === undefined) {
    acc.others.push({
      signature: sig,
      length: b.length >= 8 ? u32(b, 4) : b.length,
      revision: b.length > 8 ? u8(b, 8) : null,
      oemId: b.length >= HEADER_LENGTH ? fixedString(b, 10, 6) : null,
      oemTableId: b.length >= HEADER_LENGTH ? fixedString(b, 16, 8) : null,
      address: address ?? null,
    });
    return true;
  }
  if (acc[key] !== null) {
    r.report(0, 'duplicate-table', `a second ${printable(sig)} table${address !== undefined ? ` at 0x${hex(address)}` : ''}; the first one is used`);
    return true;
  }
  switch (key) {
    case 'rsdp':
      acc.rsdp = parseRsdp(b, r);
      break;
    case 'rsdt':
    case 'xsdt':
      acc[key] = parseRootTable(b, sig as 'RSDT' | 'XSDT', r);
      break;
    case 'fadt':
      acc.fadt = parseFadt(b, r);
      break;
    case 'madt':
      acc.madt = parseMadt(b, r);
      break;
    case 'srat':
      acc.srat = parseSrat(b, r);
      break;
    case 'slit':
      acc.slit = parseSlit(b, r);
      break;
    case 'dsdt':
      acc.dsdt = parseDsdt(b, r);
      break;
    case 'facs':
      acc.facs = parseFacs(b, r);
      break;
  }
  if (acc[key] !== null && address !== undefined) acc.addresses[sig] = address;
  return true;
}

/**
 * Parses a set of table images (for example the `.dat` files of one machine, each starting with its
 * header; the RSDP is recognised by "RSD PTR "). Never throws on bad firmware: problems are in
 * `anomalies`. Throws {@link AcpiNotAcpiError} only when no buffer is an ACPI table at all.
 */
export function parseAcpiTables(buffers: Iterable<Uint8Array>): AcpiTables {
  const acc = emptyTables();
  let recognised = 0;
  for (const b of buffers) if (ingestTable(acc, b)) recognised++;
  if (recognised === 0) throw new AcpiNotAcpiError('not ACPI: no buffer holds an ACPI table', acc.anomalies);
  crossCheck(acc);
  return acc;
}

/** Checks that need more than one table (NUMA consistency, RSDT vs XSDT). */
export function crossCheck(t: AcpiTables): void {
  const { madt, srat, slit } = t;
  if (t.rsdt && t.xsdt) {
    const a = t.rsdt.entries;
    const b = t.xsdt.entries;
    if (a.length !== b.length || a.some((x, i) => x !== b[i])) {
      new AnomalyReporter(t.anomalies, 'XSDT', t.xsdt.table.length, t.addresses.XSDT).report(HEADER_LENGTH, 'rsdt-xsdt-mismatch', `RSDT lists ${a.length} tables, XSDT ${b.length}, and they differ; the XSDT is used`);
    }
  }
  if (!srat) return;
  const r = new AnomalyReporter(t.anomalies, 'SRAT', srat.table.length, t.addresses.SRAT);
  if (!slit) r.report(0, 'srat-without-slit', 'SRAT without SLIT: the OS falls back to default distances (10 local, 20 remote)');
  const numa = summarizeNuma(srat, slit, madt);
  for (const d of numa.emptyDomains) r.report(0, 'empty-numa-domain', `proximity domain ${d} is referenced but has no enabled processor and no memory`);
  for (const d of numa.memorylessDomains) r.report(0, 'memoryless-numa-domain', `proximity domain ${d} has processors but no memory`);
  for (const d of numa.cpulessDomains) r.report(0, 'cpuless-numa-domain', `proximity domain ${d} has memory but no processors`);
  if (slit && slit.matrix.length > 0) {
    const missing = numa.allDomainsReferenced.filter((d) => d >= slit.matrix.length);
    if (missing.length) r.report(0, 'srat-domain-missing-from-slit', `SRAT proximity domains ${missing.join(', ')} are outside the SLIT's ${slit.matrix.length} localities`);
  }
  if (madt) {
    const sratEnabled = new Set(srat.cpuAffinity.filter((c) => c.enabled).map((c) => c.apicId));
    const sratAny = new Set(srat.cpuAffinity.map((c) => c.apicId));
    const enabledMissing = madt.processors.filter((p) => p.enabled && !isPlaceholderApicId(p) && !sratEnabled.has(p.apicId));
    if (enabledMissing.length) r.report(0, 'madt-cpu-missing-from-srat', `enabled processors with APIC IDs ${ids(enabledMissing)} have no enabled SRAT entry: their node is unknown`);
    const hotMissing = hotplugCandidates(madt).filter((p) => !sratAny.has(p.apicId));
    if (hotMissing.length) r.report(0, 'madt-cpu-missing-from-srat', `hot-pluggable processors with APIC IDs ${ids(hotMissing)} have no SRAT entry: their node is unknown`);
  }
}

function ids(ps: readonly { apicId: number }[]): string {
  return ps.map((p) => `0x${hex(p.apicId)}`).join(', ');
}
