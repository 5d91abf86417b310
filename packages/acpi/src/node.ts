/**
 * Node-only helpers (node:fs). Kept out of the main entry point so the parser stays
 * platform-neutral: import them from '@latelaunch/acpi/node'.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAcpiTables } from './parse.js';
import type { AcpiTables } from './parse.js';

/**
 * Reads every `*.dat` file of `dir` (raw table images as `acpixtract -a` writes them, each starting
 * with its header; `rsdp.dat` holds the RSDP) in name order and parses them as one table set.
 * File-system errors propagate; bad tables become anomalies; a directory without any ACPI table
 * throws `AcpiNotAcpiError`.
 */
export function loadTableDir(dir: string): AcpiTables {
  const files = readdirSync(dir)
    .filter((f) => f.toLowerCase().endsWith('.dat'))
    .sort();
  return parseAcpiTables(files.map((f) => new Uint8Array(readFileSync(join(dir, f)))));
}
