/**
 * SLIT, the System Locality Information Table: an N×N matrix of relative memory access distances
 * between proximity domains (10 = local; 255 = unreachable).
 */
import type { AnomalyReporter } from '../anomalies.js';
import { readHeader, sealTable, u64, u8, w64, writeHeader } from './common.js';
import type { AcpiTableHeader, OemInfo } from './common.js';

export const SLIT_FIXED_LENGTH = 44;
export const LOCAL_DISTANCE = 10;
export const UNREACHABLE_DISTANCE = 255;

export interface Slit {
  table: AcpiTableHeader;
  /** Number of System Localities, as declared. */
  localities: number;
  /** `matrix[i][j]`: distance from locality i to j. Empty when the table is too short for the declared count. */
  matrix: number[][];
}

export function parseSlit(b: Uint8Array, r: AnomalyReporter): Slit | null {
  const view = readHeader(b, 'SLIT', r, SLIT_FIXED_LENGTH);
  if (!view) return null;
  const { end } = view;
  const n = end >= SLIT_FIXED_LENGTH ? u64(b, 36, r, 'locality count') : 0;
  const needed = SLIT_FIXED_LENGTH + n * n;
  const slit: Slit = { table: view.header, localities: n, matrix: [] };
  if (needed > end) {
    r.report(36, 'slit-size-mismatch', `${n} localities need ${needed} bytes but the table has ${end}; matrix not decoded`);
    return slit;
  }
  if (needed < end) r.report(needed, 'slit-size-mismatch', `${n} localities need ${needed} bytes but the table is ${end} bytes long; ${end - needed} trailing bytes ignored`);
  for (let i = 0; i < n; i++) {
    const row: number[] = [];
    for (let j = 0; j < n; j++) row.push(u8(b, SLIT_FIXED_LENGTH + i * n + j));
    slit.matrix.push(row);
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const d = slit.matrix[i][j];
      if (i === j ? d !== LOCAL_DISTANCE : d <= LOCAL_DISTANCE) {
        r.report(SLIT_FIXED_LENGTH + i * n + j, 'slit-invalid-distance', `distance ${i}→${j} is ${d}; ${i === j ? 'the diagonal must be 10' : 'remote distances must be above 10'}`);
      }
    }
  }
  return slit;
}

export function buildSlit(spec: { revision: number; oem: OemInfo; matrix: readonly (readonly number[])[] }): Uint8Array {
  const n = spec.matrix.length;
  const b = new Uint8Array(SLIT_FIXED_LENGTH + n * n);
  writeHeader(b, 'SLIT', spec.revision, spec.oem);
  w64(b, 36, n);
  spec.matrix.forEach((row, i) => row.forEach((d, j) => (b[SLIT_FIXED_LENGTH + i * n + j] = d & 0xff)));
  return sealTable(b);
}
