/**
 * FACS, the Firmware ACPI Control Structure (64 bytes, 64-byte aligned, no checksum): hardware
 * signature, waking vectors and the global lock. Built so that a non-hardware-reduced FADT has
 * the FACS it requires; parsed for completeness.
 */
import type { AnomalyReporter } from '../anomalies.js';
import { fixedString, u32, u64, u8, w32, w8, writeFixedString } from './common.js';

export const FACS_LENGTH = 64;

export interface Facs {
  signature: string;
  length: number;
  hardwareSignature: number;
  firmwareWakingVector: number;
  globalLock: number;
  flags: number;
  xFirmwareWakingVector: number;
  version: number;
}

export function parseFacs(b: Uint8Array, r: AnomalyReporter): Facs | null {
  if (b.length < 4 || fixedString(b, 0, 4) !== 'FACS') {
    r.report(0, 'bad-signature', `not a FACS (signature '${fixedString(b, 0, Math.min(4, b.length))}')`);
    return null;
  }
  if (b.length < 33) {
    r.report(b.length - 1, 'truncated', `${b.length} bytes: too short for a FACS`);
    return null;
  }
  const length = u32(b, 4);
  if (length < FACS_LENGTH) r.report(4, 'length-mismatch', `FACS length ${length} is below the required 64`);
  return {
    signature: 'FACS',
    length,
    hardwareSignature: u32(b, 8),
    firmwareWakingVector: u32(b, 12),
    globalLock: u32(b, 16),
    flags: u32(b, 20),
    xFirmwareWakingVector: u64(b, 24, r, 'X firmware waking vector'),
    version: u8(b, 32),
  };
}

export function buildFacs(opts: { hardwareSignature?: number } = {}): Uint8Array {
  const b = new Uint8Array(FACS_LENGTH);
  writeFixedString(b, 0, 4, 'FACS');
  w32(b, 4, FACS_LENGTH);
  w32(b, 8, opts.hardwareSignature ?? 0);
  w8(b, 32, 2); // version 2 (ACPI 4.0+ layout with the 64-bit waking vector and OSPM flags)
  return b;
}
