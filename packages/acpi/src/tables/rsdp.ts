/**
 * RSDP, the Root System Description Pointer: 20 bytes in ACPI 1.0 (revision 0), 36 bytes from
 * ACPI 2.0 (revision 2) with a 64-bit XSDT address and a second checksum over the whole structure.
 */
import type { AnomalyReporter } from '../anomalies.js';
import { checksumOk, fixChecksum, isAsciiField, fixedString, hexBytes, u32, u64, u8, w32, w64, w8, writeFixedString } from './common.js';

export const RSDP_SIGNATURE = 'RSD PTR ';
export const RSDP_V1_LENGTH = 20;
export const RSDP_V2_LENGTH = 36;

export interface Rsdp {
  signature: string;
  oemId: string;
  /** 0 for ACPI 1.0 (20-byte RSDP), 2 for ACPI 2.0 and later. */
  revision: number;
  rsdtAddress: number;
  /** The Length field (revision ≥ 2), or 20 for a revision-0 RSDP. */
  length: number;
  /** XSDT address (revision ≥ 2), or 0. */
  xsdtAddress: number;
  /** The first 20 bytes sum to 0. */
  checksumOk: boolean;
  /** The whole `length` bytes sum to 0 (revision ≥ 2), or null for a revision-0 RSDP. */
  extendedChecksumOk: boolean | null;
}

/** True when `b[o, o+8)` is "RSD PTR ". */
export function hasRsdpSignature(b: Uint8Array, o = 0): boolean {
  if (b.length < o + 8) return false;
  for (let i = 0; i < 8; i++) if (b[o + i] !== RSDP_SIGNATURE.charCodeAt(i)) return false;
  return true;
}

/**
 * Decodes an RSDP. Returns null (with a `truncated` or `bad-signature` anomaly) when `b` is not
 * even a 20-byte RSDP. Checksum problems are reported, not fatal: {@link isUsableRsdp} tells
 * whether a scan should accept it.
 */
export function parseRsdp(b: Uint8Array, r: AnomalyReporter): Rsdp | null {
  if (!hasRsdpSignature(b)) {
    r.report(0, 'bad-signature', `no "RSD PTR " signature (found ${hexBytes(b, 0, 8) || 'nothing'})`);
    return null;
  }
  if (b.length < RSDP_V1_LENGTH) {
    r.report(b.length - 1, 'truncated', `${b.length} bytes: too short for a 20-byte RSDP`);
    return null;
  }
  const revision = u8(b, 15);
  const ok = checksumOk(b, 0, RSDP_V1_LENGTH);
  if (!ok) r.report(8, 'bad-checksum', `RSDP bytes 0-19 do not sum to 0`);
  if (!isAsciiField(b, 9, 6)) r.report(9, 'non-ascii-header', `OEM ID has non-ASCII bytes: ${hexBytes(b, 9, 6)}`);
  const rsdp: Rsdp = {
    signature: RSDP_SIGNATURE,
    oemId: fixedString(b, 9, 6),
    revision,
    rsdtAddress: u32(b, 16),
    length: RSDP_V1_LENGTH,
    xsdtAddress: 0,
    checksumOk: ok,
    extendedChecksumOk: null,
  };
  if (revision >= 2) {
    if (b.length < RSDP_V2_LENGTH) {
      r.report(b.length - 1, 'truncated', `revision ${revision} RSDP needs 36 bytes, only ${b.length} available`);
      rsdp.extendedChecksumOk = false;
      return rsdp;
    }
    const length = u32(b, 20);
    rsdp.length = length;
    rsdp.xsdtAddress = u64(b, 24, r, 'XSDT address');
    let end = length;
    if (length < RSDP_V2_LENGTH) {
      r.report(20, 'length-mismatch', `RSDP length ${length} is smaller than 36; checking 36 bytes`);
      end = RSDP_V2_LENGTH;
    } else if (length > b.length) {
      r.report(20, 'truncated', `RSDP length ${length} but only ${b.length} bytes available`);
      end = b.length;
    }
    rsdp.extendedChecksumOk = checksumOk(b, 0, end);
    if (!rsdp.extendedChecksumOk) r.report(32, 'bad-extended-checksum', `RSDP bytes 0-${end - 1} do not sum to 0`);
  } else if (revision !== 0) {
    r.report(15, 'reserved-bits-set', `RSDP revision ${revision} is neither 0 (ACPI 1.0) nor ≥ 2; treated as 20-byte`);
  }
  return rsdp;
}

/** Both checksums that the revision requires are valid (what the ACPI spec's scan accepts). */
export function isUsableRsdp(rsdp: Rsdp): boolean {
  return rsdp.checksumOk && rsdp.extendedChecksumOk !== false;
}

/** Builds an RSDP: 20 bytes for revision 0, 36 bytes for revision 2, both checksums set. */
export function buildRsdp(opts: { revision: 0 | 2; oemId: string; rsdtAddress: number; xsdtAddress?: number }): Uint8Array {
  const len = opts.revision >= 2 ? RSDP_V2_LENGTH : RSDP_V1_LENGTH;
  const b = new Uint8Array(len);
  writeFixedString(b, 0, 8, RSDP_SIGNATURE);
  writeFixedString(b, 9, 6, opts.oemId);
  w8(b, 15, opts.revision);
  w32(b, 16, opts.rsdtAddress);
  if (opts.revision >= 2) {
    w32(b, 20, RSDP_V2_LENGTH);
    w64(b, 24, opts.xsdtAddress ?? 0);
    fixChecksum(b, 8, 0, RSDP_V1_LENGTH);
    fixChecksum(b, 32, 0, RSDP_V2_LENGTH);
  } else {
    fixChecksum(b, 8, 0, RSDP_V1_LENGTH);
  }
  return b;
}
