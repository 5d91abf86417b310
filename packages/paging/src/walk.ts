import { PageAccess, type PagingControl, type PagingWalker, type PhysicalMemory, type TranslationResult } from '@latelaunch/kernel';
import { EptAccessFlag, EptQual, Fault, PfError } from './constants.js';

/** The most paging-structure entries one linear walk reads (5-level paging). */
export const MAX_LEVELS = 5;

/** Result of an EPT translation: a {@link TranslationResult} plus what the leaf said. */
export class EptResult implements TranslationResult {
  physical = 0;
  fault = 0;
  errorCode = 0;
  /** Memory type of the leaf (bits 5:3) — recorded, not enforced. */
  memoryType = 0;
  /** Ignore-PAT bit of the leaf (bit 6) — recorded, not enforced. */
  ignorePat = false;
  /** log2 of the EPT page size: 12, 21 or 30. */
  pageShift = 12;
  /** R (1), W (2), X (4): the AND over every EPT entry used. */
  permissions = 0;
  /** True when the leaf's dirty flag is set (after this access) or EPT A/D flags are disabled. */
  dirty = false;
}

/**
 * An EPT walker: guest-physical → host-physical for one EPTP. `access` is a `PageAccess`
 * optionally OR-ed with `PageAccessFlag.PROBE` and `EptAccessFlag.STRUCTURE`; `qualification`
 * holds the bits 7–11 the caller knows (linear valid, final translation, advanced information)
 * and is OR-ed into the exit qualification of a violation.
 */
export interface EptTranslator extends PagingWalker {
  readonly mode: 'ept';
  translate(memory: PhysicalMemory, eptp: number, gpa: number, access: number, qualification: number, maxPhysAddrBits: number, out: EptResult): boolean;
}

/**
 * A walker of one linear paging structure. It reads entries through {@link WalkState.read64} /
 * {@link WalkState.read32} (which go through EPT when the translator composes with it), and on
 * success leaves in the state: `pageBase`, `pageShift`, `perm` (Perm.W/U/XD/D), `global`,
 * `cacheBits`. On failure it calls `notPresent()` / `reserved()` (or the read reported an EPT
 * fault) and returns false. Permission checks, accessed/dirty updates and the TLB are the
 * translator's: walkers only decode structures.
 */
export interface LinearWalker extends PagingWalker {
  readonly mode: 'legacy32' | 'pae' | 'ia32e-4level' | 'ia32e-5level';
  walk(w: WalkState, linear: number): boolean;
}

/** True when `w` is a walker of linear paging structures. */
export function isLinearWalker(w: PagingWalker): w is LinearWalker {
  return w.mode !== 'ept' && typeof (w as Partial<LinearWalker>).walk === 'function';
}

/** True when `w` is an EPT walker. */
export function isEptTranslator(w: PagingWalker): w is EptTranslator {
  return w.mode === 'ept' && typeof (w as Partial<EptTranslator>).translate === 'function';
}

/**
 * Scratch state of one linear walk, owned by a translator and reused for every walk (no
 * allocation on the miss path either).
 */
export class WalkState {
  /** Low and high dword of the entry read last. */
  lo = 0;
  hi = 0;
  /** Entries read so far (for accessed/dirty updates). */
  count = 0;
  readonly entryGpa = new Float64Array(MAX_LEVELS);
  readonly entryHpa = new Float64Array(MAX_LEVELS);
  readonly entryLo = new Int32Array(MAX_LEVELS);
  /** Success: physical (guest-physical under EPT) base of the page and its size. */
  pageBase = 0;
  pageShift = 12;
  /** Success: Perm.W | Perm.U | Perm.XD | Perm.D of the guest translation. */
  perm = 0;
  /** Set by the translator when the walker reached a leaf (even if the access then faulted on permissions). */
  leaf = false;
  /** Success: the leaf's G flag (CR4.PGE decides whether it matters). */
  global = false;
  /** Success: PWT (1), PCD (2), PAT (4) of the leaf — recorded, not enforced. */
  cacheBits = 0;
  /** Failure: Fault.PF with the P/RSVD part of the error code, or an EPT fault. */
  fault = 0;
  errorCode = 0;
  /** Failure under EPT: the guest-physical address whose translation failed. */
  faultAddress = 0;

  /** Set by the translator: EPT composition (null = guest-physical is host-physical). */
  ept: EptTranslator | null = null;
  eptp = 0;
  /** Access flags for guest paging-structure reads under EPT (PROBE). */
  probe = 0;
  readonly eptOut = new EptResult();

  constructor(
    readonly control: PagingControl,
    readonly memory: PhysicalMemory,
  ) {}

  begin(): void {
    this.count = 0;
    this.leaf = false;
    this.fault = 0;
    this.errorCode = 0;
    this.cacheBits = 0;
    this.global = false;
  }

  /** Host-physical address of a guest paging-structure entry (identity without EPT); -1 after an EPT fault. */
  structureAddress(gpa: number): number {
    const ept = this.ept;
    if (ept === null) return gpa;
    const r = this.eptOut;
    if (ept.translate(this.memory, this.eptp, gpa, PageAccess.READ | EptAccessFlag.STRUCTURE | this.probe, EptQual.LINEAR_VALID, this.control.maxPhysAddrBits, r)) {
      return r.physical;
    }
    this.fault = r.fault;
    this.errorCode = r.errorCode;
    this.faultAddress = gpa;
    return -1;
  }

  /** Reads the 8-byte entry at guest-physical `gpa` into `lo`/`hi` and records it. False after an EPT fault. */
  read64(gpa: number): boolean {
    const hpa = this.ept === null ? gpa : this.structureAddress(gpa);
    if (hpa < 0) return false;
    const k = this.count++;
    const lo = this.memory.read32(hpa) | 0;
    this.lo = lo;
    this.hi = this.memory.read32(hpa + 4) | 0;
    this.entryGpa[k] = gpa;
    this.entryHpa[k] = hpa;
    this.entryLo[k] = lo;
    return true;
  }

  /** Reads the 4-byte entry at guest-physical `gpa` into `lo` (`hi` = 0) and records it. */
  read32(gpa: number): boolean {
    const hpa = this.ept === null ? gpa : this.structureAddress(gpa);
    if (hpa < 0) return false;
    const k = this.count++;
    const lo = this.memory.read32(hpa) | 0;
    this.lo = lo;
    this.hi = 0;
    this.entryGpa[k] = gpa;
    this.entryHpa[k] = hpa;
    this.entryLo[k] = lo;
    return true;
  }

  /** The entry just read has P = 0: #PF with P = 0. */
  notPresent(): false {
    this.fault = Fault.PF;
    this.errorCode = 0;
    return false;
  }

  /** The entry just read is present with a reserved bit set: #PF with P = 1, RSVD = 1. */
  reserved(): false {
    this.fault = Fault.PF;
    this.errorCode = PfError.P | PfError.RSVD;
    return false;
  }
}
