// Where the shared ACPI corpus lives: `../shared/acpi-corpus` beside the repository root (CI clones
// the repository with shared/ at the same relative place). Tests FAIL when it is missing.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = resolve(packageDir, '..', '..');
export const corpusDir = resolve(repoRoot, '..', 'shared', 'acpi-corpus');

/** The 12 machines of the corpus (fixed list: a missing folder is a failure, not a skip). */
export const MACHINES = [
  'asrock-b650e-pg-riptide-wifi-1C91A62EE21C',
  'dell-poweredge-r820-E5985CCBA349',
  'framework-laptop-13-mtl-717EDB7C4975',
  'gigabyte-x299-ud4-pro-331F76F426AF',
  'hp-proliant-dl360-g7-60DCEE46526A',
  'hp-proliant-dl380-g5-97BE895CF6E6',
  'lenovo-miix-3-1030-04FF5A51E4B0',
  'lenovo-thinkpad-x1-carbon-6th-BE3AACE7B6D7',
  'supermicro-h8dgu-57ED146F2C3C',
  'supermicro-h8qg6-58E82626C3C5',
  'supermicro-x8dtt-CE92DF29C87C',
  'toshiba-satellite-c70d-b-D0292BFAFD2C',
] as const;

export type Machine = (typeof MACHINES)[number];

export function machineDir(m: string): string {
  const dir = join(corpusDir, m);
  if (!existsSync(dir)) throw new Error(`ACPI corpus machine folder missing: ${dir} (the corpus must be at ../shared/acpi-corpus beside the repository)`);
  return dir;
}

export function expectedJson(m: string): any {
  return JSON.parse(readFileSync(join(machineDir(m), 'expected.json'), 'utf8'));
}

export function datFile(m: string, name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(machineDir(m), name)));
}
