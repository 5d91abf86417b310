/**
 * @latelaunch/paging — x86 address translation for the simulated processors: 32-bit, PAE,
 * IA-32e (4- and 5-level) and EPT walkers, one plugin per paging structure, and a per-processor
 * translator ({@link Mmu}) with permission checks, accessed/dirty flags, #PF error codes, EPT
 * composition and a PCID/VPID/EPT-tagged TLB. See the README for the calling conventions.
 */
import type { PagingControl, PagingWalker, PhysicalMemory } from '@latelaunch/kernel';
import { Mmu, type MmuOptions } from './mmu.js';
import { EptWalker, type EptWalkerOptions } from './walkers/ept.js';
import { Ia32eWalker } from './walkers/ia32e.js';
import { Legacy32Walker } from './walkers/legacy32.js';
import { PaeWalker } from './walkers/pae.js';
import { EptResult } from './walk.js';

export { Cr0, Cr4, Efer, EptAccessFlag, EptMemoryType, EptQual, Fault, Perm, PfError } from './constants.js';
export { accessAllowed, pageFaultErrorCode } from './permissions.js';
export { EptResult, WalkState, MAX_LEVELS, isEptTranslator, isLinearWalker } from './walk.js';
export type { EptTranslator, LinearWalker } from './walk.js';
export { Legacy32Walker } from './walkers/legacy32.js';
export { PaeWalker, PDPTE_RESERVED_LO, pdpteReservedHi } from './walkers/pae.js';
export { Ia32eWalker } from './walkers/ia32e.js';
export type { Ia32eWalkerOptions } from './walkers/ia32e.js';
export { EptWalker } from './walkers/ept.js';
export type { EptWalkerOptions } from './walkers/ept.js';
export { Mmu, indexWalkers } from './mmu.js';
export type { MmuOptions, TranslatorMode, TranslationDescription, DescribedEntry } from './mmu.js';
export {
  MmuFactory,
  MmuPluginConfigSchema,
  Ia32eWalkerPluginConfigSchema,
  EptWalkerPluginConfigSchema,
  legacy32WalkerPlugin,
  paeWalkerPlugin,
  ia32eWalkerPlugin,
  eptWalkerPlugin,
  mmuPlugin,
  pagingPlugins,
} from './plugins.js';
export { PageAccess, PageAccessFlag } from '@latelaunch/kernel';
export type { PagingControl, TranslationResult, AddressTranslator, ExtendedAddressTranslator } from '@latelaunch/kernel';

/** A fresh {@link PagingControl}: everything zero (paging off), MAXPHYADDR 46 unless given. */
export function createPagingControl(init: Partial<Omit<PagingControl, 'pdpte'>> = {}): PagingControl {
  return { cr0: 0, cr3: 0, cr4: 0, efer: 0, cpl: 0, ac: false, maxPhysAddrBits: 46, ...init, pdpte: new Int32Array(8) };
}

/** The default walkers (what `pagingPlugins` composes), for use without a container. */
export function defaultWalkers(options: { gbPages?: boolean; ept?: EptWalkerOptions } = {}): PagingWalker[] {
  return [
    new Legacy32Walker(),
    new PaeWalker(),
    new Ia32eWalker({ levels: 4, gbPages: options.gbPages }),
    new EptWalker(options.ept),
  ];
}

/** A translator with the default walkers, without a container (tests, tools, the README). */
export function createTranslator(control: PagingControl, memory: PhysicalMemory, options: MmuOptions = {}): Mmu {
  return new Mmu(control, memory, defaultWalkers(), options);
}

let sharedEpt: EptWalker | null = null;

/**
 * One EPT translation without a translator: guest-physical `gpa` under `eptp` for `access` (a
 * PageAccess, optionally with PageAccessFlag.PROBE and EptAccessFlag.STRUCTURE). `qualification`
 * supplies exit-qualification bits 7–11. Sets EPT accessed/dirty flags when EPTP bit 6 is set
 * (unless PROBE). Returns the result object (a new one unless `out` is given).
 */
export function translateEpt(
  memory: PhysicalMemory,
  eptp: number,
  gpa: number,
  access: number,
  options: { maxPhysAddrBits?: number; qualification?: number; out?: EptResult } = {},
): EptResult {
  const out = options.out ?? new EptResult();
  sharedEpt ??= new EptWalker();
  sharedEpt.translate(memory, eptp, gpa, access, options.qualification ?? 0, options.maxPhysAddrBits ?? 46, out);
  return out;
}
