/**
 * Shared pieces of every ACPI table: little-endian reads and writes, checksums, the 36-byte
 * System Description Table header, the Generic Address Structure (GAS) and OEM strings.
 */
import type { AnomalyReporter } from '../anomalies.js';

export const HEADER_LENGTH = 36;
const TWO_32 = 0x1_0000_0000;

// ---------------------------------------------------------------------------------------------
// little-endian access (callers check bounds first)

export function u8(b: Uint8Array, o: number): number {
  return b[o] ?? 0;
}
export function u16(b: Uint8Array, o: number): number {
  return u8(b, o) | (u8(b, o + 1) << 8);
}
export function u24(b: Uint8Array, o: number): number {
  return u16(b, o) | (u8(b, o + 2) << 16);
}
export function u32(b: Uint8Array, o: number): number {
  return (u16(b, o) | (u16(b, o + 2) << 16)) >>> 0;
}
/**
 * 64-bit little-endian as a number. Values above 2^53 - 1 lose precision; they are reported as an
 * `unsafe-integer` anomaly when a reporter is given.
 */
export function u64(b: Uint8Array, o: number, r?: AnomalyReporter, what = 'value'): number {
  const lo = u32(b, o);
  const hi = u32(b, o + 4);
  if (hi > 0x1f_ffff) r?.report(o, 'unsafe-integer', `${what} 0x${hex(hi, 8)}${hex(lo, 8)} does not fit a JavaScript number exactly`);
  return hi * TWO_32 + lo;
}

export function w8(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
}
export function w16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}
export function w32(b: Uint8Array, o: number, v: number): void {
  w16(b, o, v & 0xffff);
  w16(b, o + 2, (v >>> 16) & 0xffff);
}
export function w64(b: Uint8Array, o: number, v: number): void {
  w32(b, o, v % TWO_32);
  w32(b, o + 4, Math.floor(v / TWO_32));
}

export function hex(v: number, digits = 0): string {
  return v.toString(16).toUpperCase().padStart(digits, '0');
}

// ---------------------------------------------------------------------------------------------
// checksums

/** Byte sum modulo 256 of `b[start, end)`; a valid ACPI checksum region sums to 0. */
export function byteSum(b: Uint8Array, start = 0, end = b.length): number {
  let s = 0;
  const e = Math.min(end, b.length);
  for (let i = Math.max(0, start); i < e; i++) s = (s + b[i]) & 0xff;
  return s;
}

/** True when `b[start, end)` sums to zero modulo 256. */
export function checksumOk(b: Uint8Array, start = 0, end = b.length): boolean {
  return byteSum(b, start, end) === 0;
}

/**
 * Sets the checksum byte at `checksumOffset` so that `b[start, end)` sums to zero, in place.
 * Returns the checksum byte written.
 */
export function fixChecksum(b: Uint8Array, checksumOffset: number, start = 0, end = b.length): number {
  b[checksumOffset] = 0;
  const v = (0x100 - byteSum(b, start, end)) & 0xff;
  b[checksumOffset] = v;
  return v;
}

// ---------------------------------------------------------------------------------------------
// strings

/** Latin-1 string of `b[o, o+n)` with trailing NUL padding removed (spaces are kept). */
export function fixedString(b: Uint8Array, o: number, n: number): string {
  let end = o + n;
  while (end > o && u8(b, end - 1) === 0) end--;
  let s = '';
  for (let i = o; i < end; i++) s += String.fromCharCode(u8(b, i));
  return s;
}

/** True when `b[o, o+n)` is printable ASCII followed only by NUL padding. */
export function isAsciiField(b: Uint8Array, o: number, n: number): boolean {
  let i = o;
  const end = o + n;
  while (i < end && u8(b, i) >= 0x20 && u8(b, i) <= 0x7e) i++;
  while (i < end && u8(b, i) === 0) i++;
  return i === end;
}

/** Writes `s` (ASCII) into `b[o, o+n)`, NUL-padded. */
export function writeFixedString(b: Uint8Array, o: number, n: number, s: string): void {
  for (let i = 0; i < n; i++) b[o + i] = i < s.length ? s.charCodeAt(i) & 0xff : 0;
}

/** Four printable ASCII characters (0x20–0x7E), not all spaces: what an ACPI signature looks like. */
export function looksLikeSignature(b: Uint8Array, o = 0): boolean {
  if (b.length < o + 4) return false;
  let spaces = 0;
  for (let i = o; i < o + 4; i++) {
    const c = b[i];
    if (c < 0x20 || c > 0x7e) return false;
    if (c === 0x20) spaces++;
  }
  return spaces < 4;
}

// ---------------------------------------------------------------------------------------------
// the System Description Table header

/** The 36-byte header every table except the RSDP and FACS starts with. */
export interface AcpiTableHeader {
  signature: string;
  /** The header's Length field (the whole table, header included). */
  length: number;
  revision: number;
  checksum: number;
  /** OEM ID (6 bytes), trailing NULs removed, spaces kept. */
  oemId: string;
  /** OEM table ID (8 bytes), trailing NULs removed, spaces kept. */
  oemTableId: string;
  oemRevision: number;
  /** ASL compiler vendor ID (4 bytes). */
  creatorId: string;
  creatorRevision: number;
  /** The byte sum of the table (its first `length` bytes, or the whole buffer if shorter) is 0. */
  checksumOk: boolean;
}

/** OEM identification written into every built header. */
export interface OemInfo {
  oemId: string;
  oemTableId: string;
  oemRevision: number;
  creatorId: string;
  creatorRevision: number;
}

/** A decoded header plus where the table's data really ends inside the buffer. */
export interface HeaderView {
  header: AcpiTableHeader;
  /** Offset one past the last byte to decode: the header length, clipped to the buffer. */
  end: number;
}

/**
 * Decodes the header of `b`, checks signature, length against the buffer, checksum and ASCII
 * fields, reporting anomalies. Returns null (with a `truncated` anomaly) when the buffer is shorter
 * than a header. `minLength` is the fixed part of the table that must be present.
 */
export function readHeader(b: Uint8Array, expected: string | null, r: AnomalyReporter, minLength = HEADER_LENGTH): HeaderView | null {
  if (b.length < HEADER_LENGTH) {
    r.report(0, 'truncated', `${b.length} bytes: too short for the 36-byte table header`);
    return null;
  }
  const signature = fixedString(b, 0, 4).padEnd(4, '\0');
  if (expected !== null && signature !== expected) r.report(0, 'bad-signature', `signature '${printable(signature)}', expected '${expected}'`);
  const length = u32(b, 4);
  let end: number;
  if (length < HEADER_LENGTH) {
    r.report(4, 'length-mismatch', `header length ${length} is smaller than the 36-byte header; using the buffer length ${b.length}`);
    end = b.length;
  } else if (length > b.length) {
    r.report(b.length - 1, 'truncated', `header length ${length} but only ${b.length} bytes available`);
    end = b.length;
  } else {
    if (length < b.length) r.report(length, 'length-mismatch', `buffer has ${b.length - length} bytes past the header length ${length}; ignored`);
    end = length;
  }
  if (end < minLength) r.report(Math.max(0, end - 1), 'truncated', `table ends at ${end}, before the end of its fixed part (${minLength} bytes)`);
  const ok = checksumOk(b, 0, end);
  if (!ok) r.report(9, 'bad-checksum', `table bytes sum to 0x${hex(byteSum(b, 0, end), 2)}, not 0 (checksum byte 0x${hex(u8(b, 9), 2)})`);
  for (const [name, o, n] of [
    ['OEM ID', 10, 6],
    ['OEM table ID', 16, 8],
    ['creator ID', 28, 4],
  ] as const) {
    if (!isAsciiField(b, o, n)) r.report(o, 'non-ascii-header', `${name} has non-ASCII bytes: ${hexBytes(b, o, n)}`);
  }
  const header: AcpiTableHeader = {
    signature,
    length,
    revision: u8(b, 8),
    checksum: u8(b, 9),
    oemId: fixedString(b, 10, 6),
    oemTableId: fixedString(b, 16, 8),
    oemRevision: u32(b, 24),
    creatorId: fixedString(b, 28, 4),
    creatorRevision: u32(b, 32),
    checksumOk: ok,
  };
  return { header, end };
}

/** Writes a header into `b[0, 36)` (length = `b.length`, checksum 0; call {@link sealTable} after). */
export function writeHeader(b: Uint8Array, signature: string, revision: number, oem: OemInfo): void {
  writeFixedString(b, 0, 4, signature);
  w32(b, 4, b.length);
  w8(b, 8, revision);
  w8(b, 9, 0);
  writeFixedString(b, 10, 6, oem.oemId);
  writeFixedString(b, 16, 8, oem.oemTableId);
  w32(b, 24, oem.oemRevision);
  writeFixedString(b, 28, 4, oem.creatorId);
  w32(b, 32, oem.creatorRevision);
}

/** Recomputes the header checksum (byte 9) of a complete table, in place; returns `b`. */
export function sealTable(b: Uint8Array): Uint8Array {
  fixChecksum(b, 9, 0, b.length);
  return b;
}

// ---------------------------------------------------------------------------------------------
// Generic Address Structure

export const GAS_LENGTH = 12;

const SPACE_NAMES: Record<number, string> = {
  0: 'SystemMemory',
  1: 'SystemIO',
  2: 'PCI_Config',
  3: 'EmbeddedControl',
  4: 'SMBus',
  5: 'SystemCMOS',
  6: 'PciBarTarget',
  7: 'IPMI',
  8: 'GeneralPurposeIo',
  9: 'GenericSerialBus',
  10: 'PCC',
  0x7f: 'FunctionalFixedHW',
};

export function addressSpaceName(spaceId: number): string {
  return SPACE_NAMES[spaceId] ?? (spaceId >= 0xc0 ? 'OEMDefined' : 'Reserved');
}

/** ACPI Generic Address Structure (12 bytes). */
export interface GenericAddress {
  spaceId: number;
  spaceName: string;
  bitWidth: number;
  bitOffset: number;
  /** 0 undefined, 1 byte, 2 word, 3 dword, 4 qword. */
  accessWidth: number;
  address: number;
}

export function readGas(b: Uint8Array, o: number, r?: AnomalyReporter, what = 'GAS address'): GenericAddress {
  const spaceId = u8(b, o);
  return {
    spaceId,
    spaceName: addressSpaceName(spaceId),
    bitWidth: u8(b, o + 1),
    bitOffset: u8(b, o + 2),
    accessWidth: u8(b, o + 3),
    address: u64(b, o + 4, r, what),
  };
}

export function writeGas(b: Uint8Array, o: number, g: Pick<GenericAddress, 'spaceId' | 'bitWidth' | 'bitOffset' | 'accessWidth' | 'address'>): void {
  w8(b, o, g.spaceId);
  w8(b, o + 1, g.bitWidth);
  w8(b, o + 2, g.bitOffset);
  w8(b, o + 3, g.accessWidth);
  w64(b, o + 4, g.address);
}

// ---------------------------------------------------------------------------------------------
// misc

export function printable(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    out += c >= 0x20 && c <= 0x7e ? ch : `\\x${hex(c, 2)}`;
  }
  return out;
}

export function hexBytes(b: Uint8Array, o: number, n: number): string {
  const parts: string[] = [];
  for (let i = o; i < o + n && i < b.length; i++) parts.push(hex(b[i], 2));
  return parts.join(' ');
}

/** MPS INTI flags: polarity (bits 1:0) and trigger mode (bits 3:2). */
export function intiFlags(flags: number): { polarity: number; triggerMode: number } {
  return { polarity: flags & 3, triggerMode: (flags >> 2) & 3 };
}
