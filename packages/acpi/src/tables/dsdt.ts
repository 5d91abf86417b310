/**
 * DSDT, the Differentiated System Description Table: a header followed by an AML byte-code body.
 * This package does not interpret AML; it carries the body as bytes. The builder's default body
 * is empty: a valid, empty definition block (ACPICA and Linux load it; the namespace then only
 * holds the predefined root objects).
 */
import type { AnomalyReporter } from '../anomalies.js';
import { HEADER_LENGTH, readHeader, sealTable, writeHeader } from './common.js';
import type { AcpiTableHeader, OemInfo } from './common.js';

/** DSDT revision 2: AML integers are 64 bits wide. */
export const DSDT_REVISION = 2;

export interface Dsdt {
  table: AcpiTableHeader;
  /** The AML definition block body (a view into the parsed buffer). */
  aml: Uint8Array;
}

export function parseDsdt(b: Uint8Array, r: AnomalyReporter): Dsdt | null {
  const view = readHeader(b, 'DSDT', r);
  if (!view) return null;
  return { table: view.header, aml: b.subarray(HEADER_LENGTH, Math.max(HEADER_LENGTH, view.end)) };
}

export function buildDsdt(spec: { oem: OemInfo; aml?: Uint8Array; revision?: number }): Uint8Array {
  const aml = spec.aml ?? new Uint8Array(0);
  const b = new Uint8Array(HEADER_LENGTH + aml.length);
  writeHeader(b, 'DSDT', spec.revision ?? DSDT_REVISION, spec.oem);
  b.set(aml, HEADER_LENGTH);
  return sealTable(b);
}
