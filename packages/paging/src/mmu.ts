import {
  CompositionError,
  ErrorCodes,
  InvalidArgumentError,
  PageAccess,
  PageAccessFlag,
  type ExtendedAddressTranslator,
  type PagingControl,
  type PagingMode,
  type PagingWalker,
  type PhysicalMemory,
  type TranslationResult,
} from '@latelaunch/kernel';
import { Cr0, Cr4, Efer, EptQual, Fault, PfError, Perm } from './constants.js';
import { hitTable, pageFaultErrorCode } from './permissions.js';
import { EptResult, WalkState, isEptTranslator, isLinearWalker, type EptTranslator, type LinearWalker } from './walk.js';
import { PDPTE_RESERVED_LO, pdpteReservedHi } from './walkers/pae.js';

/** Options of one translator (the `paging.mmu` plugin's config). */
export interface MmuOptions {
  /** TLB entries (direct-mapped, a power of two from 16 to 65536). Default 4096. */
  readonly tlbEntries?: number;
  /** false = no caching at all (every access walks; a debugging aid, not architectural). Default true. */
  readonly caching?: boolean;
}

/** Paging in use, as selected from CR0.PG, CR4.PAE, EFER.LMA and CR4.LA57. */
export type TranslatorMode = 'none' | 'legacy32' | 'pae' | 'ia32e-4level' | 'ia32e-5level';
const MODES: readonly TranslatorMode[] = ['none', 'legacy32', 'pae', 'ia32e-4level', 'ia32e-5level'];

/** One paging-structure entry read by a walk (from {@link Mmu.describe}). */
export interface DescribedEntry {
  readonly guestPhysical: number;
  readonly hostPhysical: number;
  readonly value: bigint;
}

/** A side-effect-free account of one translation (see {@link Mmu.describe}); allocates, for tools only. */
export interface TranslationDescription {
  readonly mode: TranslatorMode;
  readonly ok: boolean;
  readonly physical: number;
  readonly fault: number;
  readonly errorCode: number;
  /** Guest paging-structure entries read, outermost first (PAE PDPTEs are registers and not listed). */
  readonly entries: readonly DescribedEntry[];
  /** Linear page size in bytes (when the walk reached a leaf). */
  readonly pageSize?: number;
  readonly writable?: boolean;
  readonly user?: boolean;
  readonly executeDisable?: boolean;
  readonly global?: boolean;
  /** PWT/PCD/PAT of the leaf — recorded, not enforced. */
  readonly cache?: { readonly pwt: boolean; readonly pcd: boolean; readonly pat: boolean };
  /** EPT leaf of the final translation (under EPT). Memory type and ignore-PAT are recorded, not enforced. */
  readonly ept?: { readonly memoryType: number; readonly ignorePat: boolean; readonly pageSize: number; readonly permissions: number };
  /** Whether the TLB currently holds a translation for this page in the current context. */
  readonly cached: boolean;
}

const TWO47 = 2 ** 47;
const TWO56 = 2 ** 56;
/** Tags: PCID 0..4095, and this pseudo-PCID for global entries. */
const GLOBAL_PCID = 4096;
/** Retire selectors: every tag of a context, or every tag but the global one. */
const ALL_TAGS = -1;
const NON_GLOBAL_TAGS = -2;
const ASID_LIMIT = 1 << 16;
const EPT_ID_LIMIT = 4096;

function computeMode(c: PagingControl): number {
  if ((c.cr0 & Cr0.PG) === 0) return 0;
  if ((c.cr4 & Cr4.PAE) === 0) return 1;
  if ((c.efer & Efer.LMA) === 0) return 2;
  return (c.cr4 & Cr4.LA57) !== 0 ? 4 : 3;
}

/**
 * The address translator of one logical processor: selects the walker from CR0.PG/CR4.PAE/
 * EFER.LMA, checks permissions, sets accessed/dirty flags, composes with EPT, and caches
 * translations in a direct-mapped TLB tagged with (VPID, EPT context, PCID).
 *
 * TLB design: entry `i = ((linear >>> 12) ^ salt) & (size-1)` holds the linear page base
 * (Float64Array, exact up to 2^53; NaN = empty), the host-physical frame, and `asid << 8 | perm`
 * where `perm` is the {@link Perm} summary and `asid` a small number standing for a (VPID, EPT
 * context, PCID) tag — or (VPID, EPT context, "global") for global pages, which therefore match
 * under every PCID. `salt` is derived from (VPID, EPT context) so that host and guests do not
 * evict each other. Invalidating a whole tag
 * (CR3 write, INVPCID/INVVPID/INVEPT single context) just retires its asid (O(number of tags),
 * not O(TLB)); when 2^16 asids have been used the TLB is cleared and numbering restarts.
 * Large pages are cached as 4 KiB pieces; INVLPG finds the other pieces by a scan, done only
 * when large pages were cached since the last full flush. Paging-structure caches are not
 * modelled (a processor may always skip them).
 */
export class Mmu implements ExtendedAddressTranslator {
  readonly controlFault: TranslationResult = { physical: 0, fault: 0, errorCode: 0 };
  /** Translations that missed the TLB (walks, including faulting ones). */
  walks = 0;

  private readonly tlbPage: Float64Array;
  private readonly tlbFrame: Float64Array;
  private readonly tlbMeta: Int32Array;
  private readonly tlbShift: Uint8Array;
  private readonly tlbMask: number;
  private largeEntries = 0;
  private caching: boolean;
  private curAsid = 0;
  private curGlobalAsid = 0;
  private salt = 0;
  private hit: Uint8Array;

  /** Tag tables of the (VPID, EPT) contexts seen, keyed by `eptCtx * 65536 + vpid`. */
  private readonly contexts = new Map<number, TagContext>();
  private ctx: TagContext;
  /** Reverse map asid → context key and PCID (for INVVPID individual-address). */
  private readonly asidContext = new Int32Array(ASID_LIMIT);
  private readonly asidPcid = new Int16Array(ASID_LIMIT);
  private nextAsid = 1;
  private readonly eptIds = new Map<number, number>();

  private vpid = 0;
  private eptp = 0;
  private eptActive = false;
  private eptCtx = 0;
  private pcid = 0;

  private modeCode = 0;
  private walker: LinearWalker | null = null;
  private readonly linearWalkers: ReadonlyMap<PagingMode, LinearWalker>;
  private readonly eptWalker: EptTranslator | null;
  private readonly w: WalkState;
  private readonly eptOut = new EptResult();
  private readonly pdpteScratch = new Int32Array(8);

  constructor(
    readonly control: PagingControl,
    readonly memory: PhysicalMemory,
    walkers: readonly PagingWalker[],
    options: MmuOptions = {},
  ) {
    const size = options.tlbEntries ?? 4096;
    if (!Number.isInteger(size) || size < 16 || size > 65536 || (size & (size - 1)) !== 0) {
      throw new InvalidArgumentError(`tlbEntries must be a power of two from 16 to 65536, got ${size}`);
    }
    this.tlbPage = new Float64Array(size).fill(NaN);
    this.tlbFrame = new Float64Array(size);
    this.tlbMeta = new Int32Array(size);
    this.tlbShift = new Uint8Array(size);
    this.tlbMask = size - 1;
    this.caching = options.caching ?? true;
    const index = indexWalkers(walkers);
    this.linearWalkers = index.linear;
    this.eptWalker = index.ept;
    this.w = new WalkState(control, memory);
    this.hit = hitTable(0, 0);
    this.ctx = this.contextFor(0, 0);
    this.sync();
  }

  /** The paging in use (as of the last notification). */
  get mode(): TranslatorMode {
    return MODES[this.modeCode];
  }

  /** The current VPID. */
  get currentVpid(): number {
    return this.vpid;
  }

  /** The current EPTP, or null without EPT. */
  get currentEptp(): number | null {
    return this.eptActive ? this.eptp : null;
  }

  /** The current PCID (0 unless CR4.PCIDE = 1 in IA-32e mode). */
  get currentPcid(): number {
    return this.pcid;
  }

  // ---------------------------------------------------------------------------------------------
  // Translation

  translate(linear: number, access: number, implicitSupervisor: boolean, out: TranslationResult): boolean {
    const off = linear & 0xfff;
    const page = linear - off;
    const i = ((linear >>> 12) ^ this.salt) & this.tlbMask;
    if (this.tlbPage[i] === page) {
      const m = this.tlbMeta[i];
      const a = m >> 8;
      if (a === this.curAsid || a === this.curGlobalAsid) {
        let kind = (access & 3) << 2;
        if (!implicitSupervisor) {
          const c = this.control;
          if (c.cpl === 3) kind |= 2;
          if (c.ac) kind |= 1;
        }
        if (this.hit[(kind << 8) | (m & 0xff)] !== 0) {
          out.physical = this.tlbFrame[i] + off;
          out.fault = 0;
          out.errorCode = 0;
          return true;
        }
      }
    }
    this.walks++;
    return this.miss(linear, access, implicitSupervisor, out);
  }

  private miss(linear: number, access: number, implicitSupervisor: boolean, out: TranslationResult): boolean {
    const c = this.control;
    const kindAccess = access & 3;
    const probe = (access & PageAccessFlag.PROBE) !== 0;
    const user = c.cpl === 3 && !implicitSupervisor;
    const acExplicit = c.ac && !implicitSupervisor;
    const mode = this.modeCode;
    let lin = linear;
    if (mode >= 3) {
      const limit = mode === 4 ? TWO56 : TWO47;
      if (!(lin >= -limit && lin < limit)) {
        out.physical = 0;
        out.fault = (access & PageAccessFlag.STACK) !== 0 ? Fault.SS : Fault.GP;
        out.errorCode = 0;
        return false;
      }
    } else lin = lin >>> 0;
    const w = this.w;
    w.begin();
    w.probe = probe ? PageAccessFlag.PROBE : 0;
    const walker = this.walker;
    const kind = ((kindAccess << 2) | (user ? 2 : 0) | (acExplicit ? 1 : 0)) << 8;
    let perm: number;
    if (walker !== null) {
      if (!walker.walk(w, lin)) return this.walkFault(lin, kindAccess, user, probe, out);
      w.leaf = true;
      perm = w.perm;
      if (this.hit[kind | perm | Perm.D | Perm.EPT_ALL] === 0) {
        w.fault = Fault.PF;
        w.errorCode = PfError.P;
        return this.walkFault(lin, kindAccess, user, probe, out);
      }
      if (!probe && !this.updateAccessedDirty(kindAccess === PageAccess.WRITE)) return this.walkFault(lin, kindAccess, user, probe, out);
      if (kindAccess === PageAccess.WRITE && !probe) perm |= Perm.D;
    } else {
      w.pageBase = lin - (lin & 0xfff);
      w.pageShift = 12;
      perm = Perm.W | Perm.U | Perm.D;
    }
    const shift = w.pageShift;
    const gpa = w.pageBase + (lin & ((1 << shift) - 1));
    let hpa = gpa;
    let eptPerm: number = Perm.EPT_ALL;
    if (this.eptActive) {
      let qual = EptQual.LINEAR_VALID | EptQual.FINAL;
      if (walker === null) qual |= EptQual.USER_LINEAR | EptQual.WRITABLE_LINEAR;
      else qual |= (perm & Perm.U ? EptQual.USER_LINEAR : 0) | (perm & Perm.W ? EptQual.WRITABLE_LINEAR : 0) | (perm & Perm.XD ? EptQual.XD_LINEAR : 0);
      const r = this.eptOut;
      if (!this.eptWalker!.translate(this.memory, this.eptp, gpa, kindAccess | (probe ? PageAccessFlag.PROBE : 0), qual, c.maxPhysAddrBits, r)) {
        w.fault = r.fault;
        w.errorCode = r.errorCode;
        w.faultAddress = gpa;
        return this.walkFault(lin, kindAccess, user, probe, out);
      }
      hpa = r.physical;
      eptPerm = (r.permissions << 4) | (r.dirty ? Perm.ED : 0);
    }
    out.physical = hpa;
    out.fault = 0;
    out.errorCode = 0;
    if (!probe && this.caching) {
      const off = lin & 0xfff;
      const i = ((lin >>> 12) ^ this.salt) & this.tlbMask;
      const asid = walker !== null && w.global && (c.cr4 & Cr4.PGE) !== 0 ? this.curGlobalAsid : this.curAsid;
      this.tlbPage[i] = lin - off;
      this.tlbFrame[i] = hpa - off;
      this.tlbMeta[i] = (asid << 8) | (perm & 0x0f) | eptPerm;
      this.tlbShift[i] = shift;
      if (shift > 12) this.largeEntries++;
    }
    return true;
  }

  /** Sets A in every entry the walk used and D in the leaf for writes; false after an EPT fault on the update. */
  private updateAccessedDirty(write: boolean): boolean {
    const w = this.w;
    const n = w.count;
    for (let k = 0; k < n; k++) {
      const lo = w.entryLo[k];
      const want = lo | 0x20 | (write && k === n - 1 ? 0x40 : 0);
      if (want === lo) continue;
      let hpa = w.entryHpa[k];
      if (this.eptActive) {
        const r = this.eptOut;
        if (!this.eptWalker!.translate(this.memory, this.eptp, w.entryGpa[k], PageAccess.WRITE, EptQual.LINEAR_VALID, this.control.maxPhysAddrBits, r)) {
          w.fault = r.fault;
          w.errorCode = r.errorCode;
          w.faultAddress = w.entryGpa[k];
          return false;
        }
        hpa = r.physical;
      }
      this.memory.write32(hpa, want);
    }
    return true;
  }

  private walkFault(lin: number, access: number, user: boolean, probe: boolean, out: TranslationResult): false {
    const w = this.w;
    if (w.fault === Fault.PF) {
      out.physical = 0;
      out.fault = Fault.PF;
      out.errorCode = pageFaultErrorCode(w.errorCode, access, user, this.control.cr4, this.control.efer);
    } else {
      out.physical = w.faultAddress;
      out.fault = w.fault;
      out.errorCode = w.errorCode;
    }
    // A page fault (and an EPT violation) invalidates the TLB entries of the faulting address.
    if (!probe) this.invalidateSlot(lin, this.curAsid, this.curGlobalAsid);
    return false;
  }

  /**
   * Translates a guest-physical address through the current EPT (identity without EPT). For VMX
   * accesses that are not linear (qualification bit 7 = 0). `access` is a PageAccess, optionally
   * with PageAccessFlag.PROBE.
   */
  translateGuestPhysical(gpa: number, access: number, out: TranslationResult): boolean {
    if (!this.eptActive) {
      out.physical = gpa;
      out.fault = 0;
      out.errorCode = 0;
      return true;
    }
    const r = this.eptOut;
    const ok = this.eptWalker!.translate(this.memory, this.eptp, gpa, access & (3 | PageAccessFlag.PROBE), 0, this.control.maxPhysAddrBits, r);
    out.physical = r.physical;
    out.fault = r.fault;
    out.errorCode = r.errorCode;
    return ok;
  }

  /**
   * A side-effect-free account of how `linear` translates now (walks the tables, ignores the
   * TLB, sets no A/D flags). For debuggers and the lab; allocates.
   */
  describe(linear: number, access: number = PageAccess.READ, implicitSupervisor = false): TranslationDescription {
    const out = { physical: 0, fault: 0, errorCode: 0 };
    const ok = this.miss(linear, (access & 3) | (access & PageAccessFlag.STACK) | PageAccessFlag.PROBE, implicitSupervisor, out);
    const w = this.w;
    const canonicalFault = out.fault === Fault.GP || out.fault === Fault.SS;
    const entries: DescribedEntry[] = [];
    if (!canonicalFault) {
      for (let k = 0; k < w.count; k++) {
        const hpa = w.entryHpa[k];
        const value = this.modeCode === 1 ? BigInt(this.memory.read32(hpa) >>> 0) : this.memory.read64(hpa);
        entries.push({ guestPhysical: w.entryGpa[k], hostPhysical: hpa, value });
      }
    }
    const leaf = !canonicalFault && w.leaf;
    const lin = this.modeCode >= 3 ? linear : linear >>> 0;
    const off = lin & 0xfff;
    const i = ((lin >>> 12) ^ this.salt) & this.tlbMask;
    const a = this.tlbMeta[i] >> 8;
    const cached = this.tlbPage[i] === lin - off && (a === this.curAsid || a === this.curGlobalAsid);
    const base = { mode: this.mode, ok, physical: out.physical, fault: out.fault, errorCode: out.errorCode, entries, cached };
    if (!leaf || this.modeCode === 0) return base;
    const ept =
      ok && this.eptActive
        ? { memoryType: this.eptOut.memoryType, ignorePat: this.eptOut.ignorePat, pageSize: 2 ** this.eptOut.pageShift, permissions: this.eptOut.permissions }
        : undefined;
    return {
      ...base,
      pageSize: 2 ** w.pageShift,
      writable: (w.perm & Perm.W) !== 0,
      user: (w.perm & Perm.U) !== 0,
      executeDisable: (w.perm & Perm.XD) !== 0,
      global: w.global,
      cache: { pwt: (w.cacheBits & 1) !== 0, pcd: (w.cacheBits & 2) !== 0, pat: (w.cacheBits & 4) !== 0 },
      ...(ept ? { ept } : {}),
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Control registers

  controlRegisterWritten(which: 'cr0' | 'cr3' | 'cr4' | 'efer', oldValue: number, cr3NoFlush = false): boolean {
    const c = this.control;
    if (computeMode(c) === 2) {
      let load = false;
      if (which === 'cr3') load = true;
      else if (which === 'cr0') load = ((oldValue ^ c.cr0) & (Cr0.PG | Cr0.CD | Cr0.NW)) !== 0;
      else if (which === 'cr4') load = ((oldValue ^ c.cr4) & (Cr4.PAE | Cr4.PGE | Cr4.PSE | Cr4.SMEP)) !== 0;
      if (load && !this.loadPdptes()) return false;
    }
    this.controlFault.fault = 0;
    switch (which) {
      case 'cr0':
        if ((oldValue & Cr0.PG) !== 0 && (c.cr0 & Cr0.PG) === 0) this.flushContext(true);
        break;
      case 'cr4': {
        const d = oldValue ^ c.cr4;
        if ((d & Cr4.PGE) !== 0 || ((oldValue & Cr4.PCIDE) !== 0 && (c.cr4 & Cr4.PCIDE) === 0)) this.flushContext(true);
        else if ((d & Cr4.PAE) !== 0 || ((d & Cr4.SMEP) !== 0 && (c.cr4 & Cr4.SMEP) !== 0)) this.ctx.asids[this.pcid] = 0;
        break;
      }
      case 'cr3': {
        // The hot case (address-space switch): no mode change, so no full sync.
        const pcidMode = this.modeCode >= 3 && (c.cr4 & Cr4.PCIDE) !== 0;
        const pcid = pcidMode ? c.cr3 % 4096 : 0;
        if (!(pcidMode && cr3NoFlush)) this.ctx.asids[pcid] = 0;
        this.pcid = pcid;
        this.refreshAsids();
        return true;
      }
      case 'efer':
        if (((oldValue ^ c.efer) & Efer.NXE) !== 0) this.flushContext(true);
        break;
    }
    this.sync(); // a change of paging mode flushes the context (checkContextMode)
    return true;
  }

  /**
   * Loads the four PAE PDPTEs from CR3[31:5] (through EPT when active; those loads are reads and
   * report no linear address). A present PDPTE with a reserved bit set (2:1, 8:5, 63:MAXPHYADDR)
   * makes the load fail: `controlFault` = #GP(0), and `control.pdpte` is left unchanged.
   */
  loadPdptes(): boolean {
    const c = this.control;
    const base = (c.cr3 & 0xffffffe0) >>> 0;
    const tmp = this.pdpteScratch;
    const rsvdHi = pdpteReservedHi(c.maxPhysAddrBits);
    for (let i = 0; i < 4; i++) {
      const gpa = base + i * 8;
      let hpa = gpa;
      if (this.eptActive) {
        const r = this.eptOut;
        if (!this.eptWalker!.translate(this.memory, this.eptp, gpa, PageAccess.READ, 0, c.maxPhysAddrBits, r)) {
          setResult(this.controlFault, gpa, r.fault, r.errorCode);
          return false;
        }
        hpa = r.physical;
      }
      const lo = this.memory.read32(hpa) | 0;
      const hi = this.memory.read32(hpa + 4) | 0;
      if ((lo & 1) !== 0 && ((lo & PDPTE_RESERVED_LO) !== 0 || (hi & rsvdHi) !== 0)) {
        setResult(this.controlFault, 0, Fault.GP, 0);
        return false;
      }
      tmp[2 * i] = lo;
      tmp[2 * i + 1] = hi;
    }
    c.pdpte.set(tmp);
    this.controlFault.fault = 0;
    return true;
  }

  /**
   * Re-reads the control block after a bulk change (VM entry/exit, RSM, snapshot restore). Loads
   * no PDPTEs and flushes nothing — except the current (VPID, EPT) context's entries when they were
   * made under another paging mode (see `checkContextMode`).
   */
  reloadControl(): void {
    this.sync();
  }

  /**
   * Entries are cached per (VPID, EPT) context; each context remembers the paging mode its entries
   * were made under. Coming back to a context in another mode (VM entry after the guest's mode was
   * changed in the VMCS, RSM, snapshot restore) flushes that context — a conservative flush that
   * keeps, say, the identity translations of a guest with paging off from surviving into paged mode.
   */
  private checkContextMode(): void {
    const ctx = this.ctx;
    if (ctx.mode !== this.modeCode) {
      const seen = ctx.mode;
      ctx.mode = this.modeCode;
      if (seen >= 0) this.flushContext(true);
    }
  }

  private sync(): void {
    const c = this.control;
    const mode = computeMode(c);
    let walker: LinearWalker | null = null;
    if (mode !== 0) {
      const name = MODES[mode] as PagingMode;
      walker = this.linearWalkers.get(name) ?? null;
      if (!walker) {
        throw new CompositionError(
          ErrorCodes.MissingExtension,
          `paging mode '${name}' is in use but no PagingWalker for it is composed (walkers: ${[...this.linearWalkers.keys()].join(', ') || 'none'})`,
        );
      }
    }
    this.modeCode = mode;
    this.walker = walker;
    this.hit = mode === 0 ? hitTable(0, 0) : hitTable(c.cr0, c.cr4);
    this.pcid = mode >= 3 && (c.cr4 & Cr4.PCIDE) !== 0 ? c.cr3 % 4096 : 0;
    this.w.ept = this.eptActive ? this.eptWalker : null;
    this.w.eptp = this.eptp;
    this.refreshAsids();
    this.checkContextMode();
  }

  // ---------------------------------------------------------------------------------------------
  // Invalidation

  invalidatePage(linear: number): void {
    let lin = linear;
    if (this.modeCode >= 3) {
      const limit = this.modeCode === 4 ? TWO56 : TWO47;
      if (!(lin >= -limit && lin < limit)) return; // INVLPG of a non-canonical address is a no-op
    } else lin = lin >>> 0;
    this.invalidateSlot(lin, this.curAsid, this.curGlobalAsid);
    if (this.largeEntries > 0) this.scan(lin, (a) => a === this.curAsid || a === this.curGlobalAsid);
  }

  invalidatePcid(type: number, pcid: number, linear: number): void {
    const p = pcid & 0xfff;
    switch (type) {
      case 0: {
        const a = this.ctx.asids[p];
        if (a === 0) return;
        this.invalidateSlot(linear, a, -1);
        if (this.largeEntries > 0) this.scan(linear, (x) => x === a);
        return;
      }
      case 1:
        this.ctx.asids[p] = 0;
        this.refreshAsids();
        return;
      case 2:
        this.flushContext(true);
        return;
      case 3:
        this.flushContext(false);
        return;
      default:
        throw new InvalidArgumentError(`INVPCID type ${type} is not 0..3`);
    }
  }

  flushAll(includingGlobal: boolean): void {
    if (includingGlobal) {
      this.resetTags();
      this.refreshAsids();
    } else this.retire(() => true, NON_GLOBAL_TAGS);
  }

  /** Turns caching off (every access walks — a debugging aid) or back on. Either way the TLB is emptied. */
  setCaching(enabled: boolean): void {
    this.caching = enabled;
    this.flushAll(true);
  }

  // ---------------------------------------------------------------------------------------------
  // VMX context

  setVpid(vpid: number): void {
    if (!Number.isInteger(vpid) || vpid < 0 || vpid > 0xffff) throw new InvalidArgumentError(`VPID must be 0..65535, got ${vpid}`);
    if (vpid === this.vpid) return;
    this.vpid = vpid;
    this.refreshAsids();
    this.checkContextMode();
  }

  setEpt(eptp: number | null): void {
    if (eptp === null) {
      this.eptActive = false;
      this.eptp = 0;
      this.eptCtx = 0;
    } else {
      if (!this.eptWalker) throw new CompositionError(ErrorCodes.MissingExtension, 'EPT was enabled but no PagingWalker with mode \'ept\' is composed');
      if (!Number.isInteger(eptp) || eptp < 0 || eptp >= 2 ** 52) throw new InvalidArgumentError(`EPTP must be an integer below 2^52, got ${eptp}`);
      this.eptActive = true;
      this.eptp = eptp;
      this.eptCtx = this.eptIdFor(eptp - (eptp % 4096));
    }
    this.w.ept = this.eptActive ? this.eptWalker : null;
    this.w.eptp = this.eptp;
    this.refreshAsids();
    this.checkContextMode();
  }

  invept(type: number, eptp: number): void {
    if (type === 1) {
      const id = this.eptIds.get(eptp - (eptp % 4096));
      if (id !== undefined) this.retire((x) => x.ept === id, ALL_TAGS);
    } else if (type === 2) this.retire((x) => x.ept !== 0, ALL_TAGS);
    else throw new InvalidArgumentError(`INVEPT type ${type} is not 1 (single context) or 2 (all contexts)`);
  }

  invvpid(type: number, vpid: number, linear: number): void {
    switch (type) {
      case 0:
        // The entries of `vpid` sit in slots salted by their own (VPID, EPT) contexts: scan.
        this.scan(linear, (a) => {
          const x = this.contexts.get(this.asidContext[a]);
          return x !== undefined && x.vpid === vpid && x.asids[this.asidPcid[a]] === a;
        });
        return;
      case 1:
        this.retire((x) => x.vpid === vpid, ALL_TAGS);
        return;
      case 2:
        this.retire((x) => x.vpid !== 0, ALL_TAGS);
        return;
      case 3:
        this.retire((x) => x.vpid === vpid, NON_GLOBAL_TAGS);
        return;
      default:
        throw new InvalidArgumentError(`INVVPID type ${type} is not 0..3`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Tags

  private contextFor(vpid: number, eptCtx: number): TagContext {
    const key = eptCtx * 65536 + vpid;
    let ctx = this.contexts.get(key);
    if (!ctx) {
      ctx = { key, vpid, ept: eptCtx, asids: new Int32Array(GLOBAL_PCID + 1), mode: -1 };
      this.contexts.set(key, ctx);
    }
    return ctx;
  }

  private asidFor(pcid: number): number {
    const t = this.ctx.asids;
    let a = t[pcid];
    if (a === 0) {
      a = this.nextAsid++;
      t[pcid] = a;
      this.asidContext[a] = this.ctx.key;
      this.asidPcid[a] = pcid;
    }
    return a;
  }

  private refreshAsids(): void {
    if (this.nextAsid + 2 >= ASID_LIMIT) this.resetTags();
    if (this.ctx.vpid !== this.vpid || this.ctx.ept !== this.eptCtx) this.ctx = this.contextFor(this.vpid, this.eptCtx);
    this.curAsid = this.asidFor(this.pcid);
    this.curGlobalAsid = this.asidFor(GLOBAL_PCID);
    // Each (VPID, EPT) context indexes the TLB with its own salt so that host and guests do not
    // evict each other at equal linear addresses. PCIDs share the salt (global entries must be
    // found under every PCID).
    this.salt = (Math.imul(this.ctx.key, 0x9e3779b1 | 0) >>> 16) & this.tlbMask;
  }

  /**
   * Forgets the tags of every context matching `pred` — all of them (`ALL_TAGS`) or all but the
   * global one (`NON_GLOBAL_TAGS`): their TLB entries can never hit again.
   */
  private retire(pred: (ctx: TagContext) => boolean, which: number): void {
    for (const ctx of this.contexts.values()) {
      if (!pred(ctx)) continue;
      const g = ctx.asids[GLOBAL_PCID];
      ctx.asids.fill(0);
      if (which === NON_GLOBAL_TAGS) ctx.asids[GLOBAL_PCID] = g;
    }
    this.refreshAsids();
  }

  /** Every PCID of the current (VPID, EPT) context; with `includingGlobal` the global entries too. */
  private flushContext(includingGlobal: boolean): void {
    const current = this.ctx;
    this.retire((x) => x === current, includingGlobal ? ALL_TAGS : NON_GLOBAL_TAGS);
  }

  private resetTags(): void {
    this.tlbPage.fill(NaN);
    for (const ctx of this.contexts.values()) ctx.asids.fill(0);
    this.nextAsid = 1;
    this.largeEntries = 0;
  }

  private eptIdFor(ep4ta: number): number {
    let id = this.eptIds.get(ep4ta);
    if (id === undefined) {
      if (this.eptIds.size + 1 >= EPT_ID_LIMIT) {
        // Out of EPT context numbers: forget them all, and with them every cached translation.
        this.eptIds.clear();
        this.contexts.clear();
        this.ctx = this.contextFor(this.vpid, 0);
        this.resetTags();
      }
      id = this.eptIds.size + 1;
      this.eptIds.set(ep4ta, id);
    }
    return id;
  }

  /** Drops the entry for `lin` in the current (VPID, EPT) context's slot if its asid is one of the two given. */
  private invalidateSlot(lin: number, asid: number, globalAsid: number): void {
    const off = lin & 0xfff;
    const i = ((lin >>> 12) ^ this.salt) & this.tlbMask;
    if (this.tlbPage[i] !== lin - off) return;
    const a = this.tlbMeta[i] >> 8;
    if (a === asid || a === globalAsid) this.tlbPage[i] = NaN;
  }

  /** Drops, anywhere in the TLB, the entries for the page containing `lin` (4 KiB pieces of large pages included) whose asid satisfies `pred`. */
  private scan(lin: number, pred: (asid: number) => boolean): void {
    const off = lin & 0xfff;
    const page = lin - off;
    const pages = this.tlbPage;
    for (let i = 0; i <= this.tlbMask; i++) {
      const v = pages[i];
      if (v !== v) continue;
      const s = this.tlbShift[i];
      const hitPage = s <= 12 ? v === page : Math.floor(v / 2 ** s) === Math.floor(page / 2 ** s);
      if (hitPage && pred(this.tlbMeta[i] >> 8)) pages[i] = NaN;
    }
  }
}

/**
 * Sorts walkers by mode: one linear walker per paging mode, at most one EPT walker. Throws a
 * CompositionError for duplicates or for a PagingWalker with neither `walk` nor `translate`.
 */
export function indexWalkers(walkers: readonly PagingWalker[]): { linear: Map<PagingMode, LinearWalker>; ept: EptTranslator | null } {
  const linear = new Map<PagingMode, LinearWalker>();
  let ept: EptTranslator | null = null;
  for (const walker of walkers) {
    if (isEptTranslator(walker)) {
      if (ept) throw duplicateWalker('ept', ept.name, walker.name);
      ept = walker;
    } else if (isLinearWalker(walker)) {
      const other = linear.get(walker.mode);
      if (other) throw duplicateWalker(walker.mode, other.name, walker.name);
      linear.set(walker.mode, walker);
    } else {
      throw new CompositionError(ErrorCodes.PluginContract, `PagingWalker '${walker.name}' (mode '${walker.mode}') has no walk()/translate() method this translator understands`);
    }
  }
  return { linear, ept };
}

/** The tags of one (VPID, EPT) context: asid per PCID (0 = none yet), index 4096 for global pages. */
interface TagContext {
  readonly key: number;
  readonly vpid: number;
  readonly ept: number;
  readonly asids: Int32Array;
  /** Paging mode the context's entries were made under (-1: none yet). */
  mode: number;
}

function setResult(r: TranslationResult, physical: number, fault: number, errorCode: number): void {
  r.physical = physical;
  r.fault = fault;
  r.errorCode = errorCode;
}

function duplicateWalker(mode: string, a: string, b: string): CompositionError {
  return new CompositionError(ErrorCodes.DuplicateImplementation, `two PagingWalkers for mode '${mode}': '${a}' and '${b}' (compose only one)`);
}
