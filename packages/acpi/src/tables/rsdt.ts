/**
 * RSDT (32-bit table pointers) and XSDT (64-bit table pointers): a header followed by an array of
 * physical table addresses.
 */
import type { AnomalyReporter } from '../anomalies.js';
import { HEADER_LENGTH, readHeader, sealTable, u32, u64, w32, w64, writeHeader } from './common.js';
import type { AcpiTableHeader, OemInfo } from './common.js';

export interface RootTable {
  table: AcpiTableHeader;
  /** Physical addresses of the tables it points to, in table order. */
  entries: number[];
}

/** Parses an RSDT (`'RSDT'`, 4-byte entries) or an XSDT (`'XSDT'`, 8-byte entries). */
export function parseRootTable(b: Uint8Array, signature: 'RSDT' | 'XSDT', r: AnomalyReporter): RootTable | null {
  const view = readHeader(b, signature, r);
  if (!view) return null;
  const size = signature === 'RSDT' ? 4 : 8;
  const entries: number[] = [];
  const bodyEnd = Math.max(view.end, HEADER_LENGTH);
  const body = bodyEnd - HEADER_LENGTH;
  if (body % size !== 0) r.report(bodyEnd - (body % size), 'length-mismatch', `${body} bytes of entries is not a multiple of ${size}; the partial entry is ignored`);
  for (let o = HEADER_LENGTH; o + size <= bodyEnd && o + size <= b.length; o += size) {
    const a = size === 4 ? u32(b, o) : u64(b, o, r, 'table address');
    if (a === 0) r.report(o, 'null-table-pointer', `entry ${(o - HEADER_LENGTH) / size} is a null pointer`);
    entries.push(a);
  }
  return { table: view.header, entries };
}

/** Builds an RSDT or XSDT pointing at `entries` (checksum set). */
export function buildRootTable(signature: 'RSDT' | 'XSDT', entries: readonly number[], oem: OemInfo): Uint8Array {
  const size = signature === 'RSDT' ? 4 : 8;
  const b = new Uint8Array(HEADER_LENGTH + size * entries.length);
  writeHeader(b, signature, 1, oem);
  entries.forEach((a, i) => (size === 4 ? w32(b, HEADER_LENGTH + 4 * i, a) : w64(b, HEADER_LENGTH + 8 * i, a)));
  return sealTable(b);
}
