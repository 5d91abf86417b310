/**
 * Places a set of ACPI tables in guest memory the way PC firmware does, for generated tables and
 * for real ones alike:
 *
 * - the FACS alone in a 4 KiB page of ACPI NVS (E820 type 4) — the OS writes the global lock and
 *   waking vector there, so it must survive reclaiming;
 * - right above it, 16-byte aligned: DSDT, FADT, the other tables in the given order, RSDT, XSDT —
 *   ACPI reclaimable memory (E820 type 3), page-rounded;
 * - the FADT copy gets FIRMWARE_CTRL = FACS (X_FIRMWARE_CTRL = 0: only one may be set), DSDT and
 *   X_DSDT = DSDT (where the table is long enough), checksum recomputed;
 * - RSDT and XSDT list the FADT and the other tables (not the DSDT/FACS);
 * - the RSDP (revision 2, both checksums) at the given 16-byte aligned address in the BIOS area.
 */
import { buildRsdp, sealTable, type OemInfo } from '@latelaunch/acpi';
import { InvalidArgumentError } from '@latelaunch/kernel';
import { E820Type, type E820Entry } from '../memory/pc-layout.js';

export interface AcpiBlob {
  readonly signature: string;
  readonly bytes: Uint8Array;
}

export interface AcpiPlacementInput {
  readonly fadt: Uint8Array | null;
  readonly dsdt: Uint8Array | null;
  readonly facs: Uint8Array | null;
  /** Tables listed in the RSDT/XSDT after the FADT (MADT, SRAT, SLIT, …). */
  readonly tables: readonly AcpiBlob[];
  readonly oem: OemInfo;
  readonly rsdpAddress: number;
  /** End (exclusive, 4 KiB aligned) of the memory the tables are placed below. */
  readonly top: number;
}

export interface PlacedAcpiTable {
  readonly signature: string;
  readonly address: number;
  readonly length: number;
}

export interface AcpiPlacement {
  readonly rsdpAddress: number;
  readonly rsdtAddress: number;
  readonly xsdtAddress: number;
  /** Everything to write: address → bytes (RSDP first). */
  readonly writes: readonly { readonly address: number; readonly bytes: Uint8Array }[];
  /** Placed tables (RSDP excluded). */
  readonly tables: readonly PlacedAcpiTable[];
  /** E820 regions to carve: the NVS page (FACS) and the reclaimable tables. */
  readonly regions: readonly E820Entry[];
}

const align = (v: number, a: number): number => Math.ceil(v / a) * a;
const PAGE = 4096;
const HEADER = 36;

function rootTable(signature: 'RSDT' | 'XSDT', entries: readonly number[], oem: OemInfo): Uint8Array {
  const size = signature === 'RSDT' ? 4 : 8;
  const b = new Uint8Array(HEADER + size * entries.length);
  const dv = new DataView(b.buffer);
  const ascii = (o: number, n: number, s: string): void => {
    for (let i = 0; i < n; i++) b[o + i] = i < s.length ? s.charCodeAt(i) & 0xff : 0;
  };
  ascii(0, 4, signature);
  dv.setUint32(4, b.length, true);
  b[8] = 1;
  ascii(10, 6, oem.oemId);
  ascii(16, 8, oem.oemTableId);
  dv.setUint32(24, oem.oemRevision >>> 0, true);
  ascii(28, 4, oem.creatorId);
  dv.setUint32(32, oem.creatorRevision >>> 0, true);
  entries.forEach((a, i) => {
    if (size === 4) dv.setUint32(HEADER + 4 * i, a, true);
    else dv.setBigUint64(HEADER + 8 * i, BigInt(a), true);
  });
  return sealTable(b);
}

/** Copies a FADT and points it at the FACS and DSDT (0 = none). */
export function patchFadt(fadt: Uint8Array, facs: number, dsdt: number): Uint8Array {
  const b = new Uint8Array(fadt);
  const dv = new DataView(b.buffer);
  const len = Math.min(b.length, b.length >= 8 ? dv.getUint32(4, true) : 0);
  if (len >= 44) {
    dv.setUint32(36, facs, true);
    dv.setUint32(40, dsdt, true);
  }
  if (len >= 140) dv.setBigUint64(132, 0n, true);
  if (len >= 148) dv.setBigUint64(140, BigInt(dsdt), true);
  return sealTable(b);
}

/** Plans the placement (nothing is written). */
export function placeAcpiTables(input: AcpiPlacementInput): AcpiPlacement {
  const listed: AcpiBlob[] = [...(input.fadt ? [{ signature: 'FACP', bytes: input.fadt }] : []), ...input.tables];
  const n = listed.length;
  let size = 0;
  if (input.dsdt) size = align(size + input.dsdt.length, 16);
  for (const t of listed) size = align(size + t.bytes.length, 16);
  size = align(size + HEADER + 4 * n, 16);
  size = align(size + HEADER + 8 * n, 16);
  const tablesStart = Math.floor((input.top - size) / PAGE) * PAGE;
  const nvsStart = input.facs ? tablesStart - PAGE : tablesStart;
  if (nvsStart < 0x100000) throw new InvalidArgumentError(`ACPI tables (${size} bytes) do not fit below 0x${input.top.toString(16)}`);
  if (input.top > 0x100000000) throw new InvalidArgumentError('ACPI tables must lie below 4 GiB (32-bit RSDT and FADT pointers)');

  const writes: { address: number; bytes: Uint8Array }[] = [];
  const tables: PlacedAcpiTable[] = [];
  let cursor = tablesStart;
  const place = (signature: string, bytes: Uint8Array): number => {
    const address = cursor;
    writes.push({ address, bytes });
    tables.push({ signature, address, length: bytes.length });
    cursor = align(cursor + bytes.length, 16);
    return address;
  };
  const facsAddress = input.facs ? nvsStart : 0;
  if (input.facs) {
    writes.push({ address: facsAddress, bytes: input.facs });
    tables.push({ signature: 'FACS', address: facsAddress, length: input.facs.length });
  }
  const dsdtAddress = input.dsdt ? place('DSDT', input.dsdt) : 0;
  const entries = listed.map((t) => place(t.signature, t.signature === 'FACP' ? patchFadt(t.bytes, facsAddress, dsdtAddress) : t.bytes));
  const rsdtAddress = place('RSDT', rootTable('RSDT', entries, input.oem));
  const xsdtAddress = place('XSDT', rootTable('XSDT', entries, input.oem));
  const rsdp = buildRsdp({ revision: 2, oemId: input.oem.oemId, rsdtAddress, xsdtAddress });
  writes.unshift({ address: input.rsdpAddress, bytes: rsdp });
  const regions: E820Entry[] = [];
  if (input.facs) regions.push({ base: nvsStart, length: PAGE, type: E820Type.AcpiNvs });
  regions.push({ base: tablesStart, length: align(cursor, PAGE) - tablesStart, type: E820Type.AcpiReclaimable });
  return { rsdpAddress: input.rsdpAddress, rsdtAddress, xsdtAddress, writes, tables, regions };
}
