import { LatelaunchError } from '@latelaunch/kernel';
import type { AcpiAnomaly } from './anomalies.js';

/**
 * Stable error codes of this package (kernel `ErrorCode`s of the `LL_<PACKAGE>_<WHAT>` shape);
 * callers switch on `error.code`.
 */
export const AcpiErrorCodes = {
  /** The input is not ACPI at all: no valid RSDP was found, or no buffer holds an ACPI table. */
  NotAcpi: 'LL_ACPI_NOT_ACPI',
} as const;

export type AcpiErrorCode = (typeof AcpiErrorCodes)[keyof typeof AcpiErrorCodes];

/** Base class of every error this package throws on purpose; `code` is an {@link AcpiErrorCode}. */
export abstract class AcpiError extends LatelaunchError {
  declare readonly code: AcpiErrorCode;
  protected constructor(code: AcpiErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * Thrown only for unusable input: no RSDP found in memory (or none with valid checksums), or a
 * table set in which no buffer is an ACPI table. `anomalies` lists what was seen on the way (for
 * example RSDP candidates skipped for a bad checksum).
 */
export class AcpiNotAcpiError extends AcpiError {
  readonly anomalies: readonly AcpiAnomaly[];
  constructor(message: string, anomalies: readonly AcpiAnomaly[] = []) {
    super(AcpiErrorCodes.NotAcpi, message);
    this.anomalies = anomalies;
  }
}

export function isAcpiNotAcpiError(e: unknown): e is AcpiNotAcpiError {
  return e instanceof AcpiNotAcpiError;
}
