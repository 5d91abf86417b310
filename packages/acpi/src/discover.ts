/**
 * Discovery from physical memory, the way an OS does it (ACPI spec 5.2.5.1 "Finding the RSDP on
 * IA-PC systems"): scan the first KiB of the EBDA, then 0xE0000–0xFFFFF, on 16-byte boundaries
 * for "RSD PTR " with valid checksums; follow the XSDT (or the RSDT for a revision-0 RSDP or a
 * null XSDT address) to every table, and the FADT to the DSDT and FACS.
 */
import { AnomalyReporter } from './anomalies.js';
import type { AcpiAnomaly } from './anomalies.js';
import { AcpiNotAcpiError } from './errors.js';
import { HEADER_LENGTH, hex, u16, u32 } from './tables/common.js';
import { FACS_LENGTH } from './tables/facs.js';
import { hasRsdpSignature, isUsableRsdp, parseRsdp, RSDP_V2_LENGTH } from './tables/rsdp.js';
import type { Rsdp } from './tables/rsdp.js';
import { crossCheck, emptyTables, ingestTable, isDecodedSignature, tableSignature } from './parse.js';
import type { AcpiTables } from './parse.js';

/** Reads `length` bytes of physical memory at `address`. May throw or return fewer bytes for unmapped memory. */
export type PhysicalMemoryReader = (address: number, length: number) => Uint8Array;

/** Where the spec says to look. */
export const EBDA_POINTER_ADDRESS = 0x40e;
export const EBDA_SCAN_LENGTH = 1024;
export const BIOS_AREA_START = 0xe0000;
export const BIOS_AREA_END = 0x100000;

export interface RsdpLocation {
  address: number;
  rsdp: Rsdp;
  /** Candidates skipped on the way (bad checksums), and unreadable regions. */
  anomalies: AcpiAnomaly[];
}

export interface DiscoveryOptions {
  /** Use this RSDP address instead of scanning (as from a UEFI configuration table or multiboot2 tag). */
  rsdpAddress?: number;
  /** Largest table read in full; longer headers are reported (`table-too-large`) and read up to this. Default 1 MiB. */
  maxTableLength?: number;
}

function safeRead(read: PhysicalMemoryReader, address: number, length: number, r: AnomalyReporter, offset: number): Uint8Array | null {
  let bytes: Uint8Array;
  try {
    bytes = read(address, length);
  } catch (e) {
    r.report(offset, 'unreadable', `cannot read ${length} bytes at 0x${hex(address)}: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  }
  if (!(bytes instanceof Uint8Array)) {
    r.report(offset, 'unreadable', `the memory reader returned no bytes for 0x${hex(address)}`);
    return null;
  }
  if (bytes.length > length) bytes = bytes.subarray(0, length);
  if (bytes.length < length) r.report(offset, 'unreadable', `only ${bytes.length} of ${length} bytes readable at 0x${hex(address)}`);
  return bytes;
}

/**
 * Scans for the RSDP. Candidates with a bad checksum are skipped (and reported); the first valid
 * one wins. Throws {@link AcpiNotAcpiError} when there is none.
 */
export function findRsdp(read: PhysicalMemoryReader): RsdpLocation {
  const anomalies: AcpiAnomaly[] = [];
  const regions: [number, number][] = [];
  const scanLog = new AnomalyReporter(anomalies, 'RSDP', 1);
  const ebdaPtr = safeRead(read, EBDA_POINTER_ADDRESS, 2, scanLog, 0);
  if (ebdaPtr && ebdaPtr.length === 2) {
    const ebda = u16(ebdaPtr, 0) << 4;
    // A plausible EBDA lies in conventional memory below the 0xA0000 hole.
    if (ebda >= 0x400 && ebda < 0xa0000) regions.push([ebda, Math.min(EBDA_SCAN_LENGTH, 0xa0000 - ebda)]);
  }
  regions.push([BIOS_AREA_START, BIOS_AREA_END - BIOS_AREA_START]);
  for (const [start, len] of regions) {
    const area = safeRead(read, start, len, scanLog, 0);
    if (!area) continue;
    const first = (16 - (start % 16)) % 16;
    for (let o = first; o + 8 <= area.length; o += 16) {
      if (!hasRsdpSignature(area, o)) continue;
      const address = start + o;
      const candidate = area.subarray(o, Math.min(area.length, o + RSDP_V2_LENGTH));
      const r = new AnomalyReporter(anomalies, 'RSDP', candidate.length, address);
      const rsdp = parseRsdp(candidate, r);
      if (rsdp && isUsableRsdp(rsdp)) return { address, rsdp, anomalies };
    }
  }
  throw new AcpiNotAcpiError('not ACPI: no RSDP with valid checksums in the EBDA or 0xE0000-0xFFFFF', anomalies);
}

/**
 * Discovers and parses every table reachable from the RSDP. Throws {@link AcpiNotAcpiError} only
 * when there is no usable RSDP; everything else becomes an anomaly.
 */
export function parseAcpiFromMemory(read: PhysicalMemoryReader, options: DiscoveryOptions = {}): AcpiTables {
  const max = options.maxTableLength ?? 0x10_0000;
  const acc = emptyTables();
  let rsdpAddress: number;
  if (options.rsdpAddress !== undefined) {
    rsdpAddress = options.rsdpAddress;
    const r = new AnomalyReporter(acc.anomalies, 'RSDP', RSDP_V2_LENGTH, rsdpAddress);
    const bytes = safeRead(read, rsdpAddress, RSDP_V2_LENGTH, r, 0);
    const rsdp = bytes ? parseRsdp(bytes, r) : null;
    if (!rsdp || !isUsableRsdp(rsdp)) throw new AcpiNotAcpiError(`not ACPI: no valid RSDP at 0x${hex(rsdpAddress)}`, acc.anomalies);
    acc.rsdp = rsdp;
  } else {
    const found = findRsdp(read);
    acc.anomalies.push(...found.anomalies);
    acc.rsdp = found.rsdp;
    rsdpAddress = found.address;
  }
  acc.addresses.RSDP = rsdpAddress;
  const rsdp = acc.rsdp;
  const rsdpLog = new AnomalyReporter(acc.anomalies, 'RSDP', rsdp.revision >= 2 ? RSDP_V2_LENGTH : 20, rsdpAddress);
  const visited = new Set<number>();

  /** Reads the table at `address` (pointed to from `from` at `offset`) and ingests it. */
  const load = (address: number, from: AnomalyReporter, offset: number, expect?: string): string | null => {
    if (address === 0) return null;
    if (visited.has(address)) {
      from.report(offset, 'duplicate-table', `0x${hex(address)} is listed twice; read once`);
      return null;
    }
    visited.add(address);
    const head = safeRead(read, address, HEADER_LENGTH, from, offset);
    if (!head) return null;
    const sig = tableSignature(head);
    if (sig === null || sig === 'RSDP') {
      from.report(offset, 'not-a-table', `no ACPI table at 0x${hex(address)}`);
      return null;
    }
    if (expect !== undefined && sig !== expect) from.report(offset, 'bad-signature', `expected ${expect} at 0x${hex(address)}, found '${sig}'`);
    let bytes = head;
    if (isDecodedSignature(sig)) {
      let length = sig === 'FACS' ? Math.max(FACS_LENGTH, head.length >= 8 ? u32(head, 4) : 0) : head.length >= 8 ? u32(head, 4) : 0;
      if (length > max) {
        from.report(offset, 'table-too-large', `${sig} at 0x${hex(address)} claims ${length} bytes; reading ${max}`);
        length = max;
      }
      if (length > head.length) bytes = safeRead(read, address, length, from, offset) ?? head;
    }
    ingestTable(acc, bytes, address);
    return sig;
  };

  const useXsdt = rsdp.revision >= 2 && rsdp.xsdtAddress !== 0;
  if (rsdp.rsdtAddress !== 0) load(rsdp.rsdtAddress, rsdpLog, 16, 'RSDT');
  if (useXsdt) load(rsdp.xsdtAddress, rsdpLog, 24, 'XSDT');
  if (rsdp.rsdtAddress === 0 && !useXsdt) rsdpLog.report(16, 'null-table-pointer', 'the RSDP points to neither an RSDT nor an XSDT');
  const rootSig = acc.xsdt ? 'XSDT' : 'RSDT';
  const root = acc.xsdt ?? acc.rsdt;
  if (root) {
    const size = rootSig === 'XSDT' ? 8 : 4;
    const rootLog = new AnomalyReporter(acc.anomalies, rootSig, root.table.length, acc.addresses[rootSig]);
    root.entries.forEach((a, i) => load(a, rootLog, HEADER_LENGTH + size * i));
  }
  if (acc.fadt) {
    const fadtLog = new AnomalyReporter(acc.anomalies, 'FACP', acc.fadt.table.length, acc.addresses.FACP);
    if (acc.fadt.dsdtAddress !== 0) load(acc.fadt.dsdtAddress, fadtLog, acc.fadt.xDsdt ? 140 : 40, 'DSDT');
    else fadtLog.report(40, 'missing-dsdt', 'the FADT has no DSDT address');
    if (!acc.fadt.hardwareReduced && acc.fadt.facsAddress !== 0) load(acc.fadt.facsAddress, fadtLog, acc.fadt.xFirmwareCtrl ? 132 : 36, 'FACS');
  }
  crossCheck(acc);
  return acc;
}
