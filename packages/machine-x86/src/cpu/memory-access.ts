/**
 * The memory access path of a logical processor: segmentation (SDM Vol. 3A 3.4, 5.3), linear →
 * physical translation through `mmu` (an {@link AddressTranslator}), and physical accesses on the
 * {@link Bus} (MMIO pages to handlers, RAM through SparseMemory page arrays).
 *
 * Layers (all methods of the processor; 64-bit values are (lo, hi) pairs: functions return the low
 * half as int32 and leave the high half in `p.rhi`, writers take `(lo, hi)`):
 *
 * - segmented data accesses `read8/16/32/64(seg, offset)`, `write8/16/32/64(seg, offset, v[, hi])`,
 *   and `segLinear(seg, offset, size, write)` which only checks and returns the linear address.
 *   Checks: unusable (null) segment, type (execute-only code not readable; code or read-only data
 *   not writable), limit (expand-up and expand-down, 16/32-bit upper bound by D/B) → #GP(0), or
 *   #SS(0) when the segment is SS. Real and virtual-8086 mode check limits only. In 64-bit mode only
 *   FS/GS bases apply, no limit/type checks, and a non-canonical address gives #GP(0) (#SS(0) for
 *   SS). In 64-bit mode `offset` is a sign-extended number (see CpuState).
 * - data accesses at a linear address with the current privilege `lread*` / `lwrite*`;
 *   system-structure accesses (implicit supervisor: GDT, LDT, IDT, TSS) `readLinear*` / `writeLinear*`;
 * - physical accesses `readPhys*` / `writePhys*` (bus, with this processor as initiator).
 *
 * Fast path ("fast TLB"): a direct-mapped cache of 256 entries per access kind (read, write) from
 * linear page to the SparseMemory page array, filled from `mmu.translate` results (or identity
 * when paging is off), never for MMIO or non-RAM pages, and never for implicit-supervisor
 * accesses. It is exactly invalidated: `flushFastTlb()` runs on every `modeChanged()` (CPL, paging
 * mode), `invalidatePage()`, `flushTranslations()` and `controlRegisterWritten()` (which also tell
 * the translator), and the whole cache is dropped when `memory.epoch` changes (page
 * materialised/copied, snapshot, code-page marking, MMIO map change). Whoever changes CR0/CR3/CR4/
 * EFER, executes INVLPG or INVEPT/INVVPID, or switches address space behind the processor's back
 * must go through those methods (or call `modeChanged()`), not through `mmu` directly.
 *
 * Stack helpers `push16/32/64`, `pop16/32/64` use SS.B (or 64-bit mode) for the stack-address
 * size and commit RSP only after the memory access succeeded.
 */
import { PageAccess, type AddressTranslator, type PagingControl, type TranslationResult } from '@latelaunch/kernel';
import type { Bus } from '../bus/bus.js';
import type { SparseMemory } from '../memory/sparse-memory.js';
import { FlagsCore } from './flags.js';
import { AR, Cr0, Efer, Flag, Seg, Vec, type CpuState } from './state.js';
import type { NonRootHooks } from './vmx-hooks.js';
import type { Processor } from './processor.js';

const TLB_SIZE = 256;
const TLB_MASK = TLB_SIZE - 1;
const TWO32 = 4294967296;
/** Segment attributes of the fast case: usable, S=1 data, writable (so readable), expand-up. */
export const FAST_SEG_MASK = AR.UNUSABLE | AR.S | AR.CODE | AR.DC | AR.RW;
export const FAST_SEG_OK = AR.S | AR.RW;

/** Minimal decoded-operand view used by effective-address computation. */
export interface MemOperand {
  addrSize: number;
  segment: number;
  base: number;
  index: number;
  scale: number;
  disp: number;
  dispHi: number;
  ripRel: boolean;
}

/** A PagingControl implementation the processor keeps in sync with its state. */
export class ProcessorPagingControl implements PagingControl {
  cr0 = 0;
  cr3 = 0;
  cr4 = 0;
  efer = 0;
  cpl = 0;
  ac = false;
  readonly pdpte = new Int32Array(8);
  maxPhysAddrBits = 46;
}

/** Identity translator used until the machine installs a real one (paging must stay off). */
export class IdentityTranslator implements AddressTranslator {
  translate(linear: number, _access: PageAccess, _implicitSupervisor: boolean, out: TranslationResult): boolean {
    out.physical = linear >= 0 ? linear : linear + 2 ** 64;
    out.fault = 0;
    out.errorCode = 0;
    return true;
  }
  controlRegisterWritten(): boolean {
    return true;
  }
  invalidatePage(): void {}
  flushAll(): void {}
}

export class MemoryCore extends FlagsCore {
  readonly bus: Bus;
  readonly mem: SparseMemory;
  /** Linear → physical translation (set by the machine; paging plugin or stand-in). */
  mmu: AddressTranslator;
  /** Translation inputs; the processor syncs cr0/cr3/cr4/efer/cpl/ac on `modeChanged()`. */
  pagingControl: PagingControl;
  /** Bus initiator id (processor index). */
  readonly cpuIndex: number;

  // ---- mode cache (recomputed by modeChanged())
  /** 64-bit mode (IA-32e with CS.L = 1). */
  is64 = false;
  /** Real mode or virtual-8086 mode (segments checked for limit only). */
  realOrV86 = true;
  /** CR0.PG. */
  pagingOn = false;
  /** Stack-address size: 16, 32 or 64. */
  stackSize = 16;
  /** Cached CPL (0..3). */
  cpl = 0;
  /**
   * VMX non-root operation: the VMX implementation's intercepts (null in VMX root operation and
   * outside VMX operation). Set only by a VMX implementation (see vmx-hooks.ts).
   */
  vmxGuest: NonRootHooks | null = null;
  /** EPT is in use (VMX non-root): every access goes through the translator, even with CR0.PG = 0. */
  eptActive = false;
  /**
   * CR0/CR4 bits fixed to 1 (`*Fixed0`) and bits allowed to be 1 (`*Fixed1`) in VMX operation
   * (IA32_VMX_CR0_FIXED0/1, CR4_FIXED0/1): MOV to CR0/CR4 violating them raises #GP(0). Outside
   * VMX operation 0 / all-ones (no constraint). Maintained by the VMX implementation.
   */
  cr0Fixed0 = 0;
  cr0Fixed1 = -1;
  cr4Fixed0 = 0;
  cr4Fixed1 = -1;
  /**
   * The event being delivered through the IDT (exceptions.ts), for the IDT-vectoring information
   * of a VM exit that interrupts the delivery. `vectoringKind` is an `EventKind`; error −1 = none.
   */
  vectoringValid = false;
  vectoringVector = 0;
  vectoringKind = 0;
  vectoringError = -1;
  /** INIT is blocked (VMX root operation): a pending INIT stays latched without keeping the event check busy. */
  initBlocked = false;
  /** The last IRET (at `iretAddress`) unblocked NMIs: a fault it then raises that causes a VM exit sets "NMI unblocking due to IRET" (SDM 28.2.3). */
  iretUnblockedNmi = false;
  iretAddress = NaN;
  /** CR2 before the last #PF wrote it (a #PF that causes a VM exit leaves CR2 unchanged, SDM 27.1). */
  cr2BeforeFault = 0;

  // ---- fast TLB
  /** @internal fast-TLB storage (inlined by the run loop). */
  readonly tlbRTag = new Float64Array(TLB_SIZE).fill(NaN);
  /** @internal fast-TLB storage (inlined by the run loop). */
  readonly tlbRPage: (Uint8Array | null)[] = new Array<Uint8Array | null>(TLB_SIZE).fill(null);
  /** @internal fast-TLB storage (inlined by the run loop). */
  readonly tlbWTag = new Float64Array(TLB_SIZE).fill(NaN);
  /** @internal fast-TLB storage (inlined by the run loop). */
  readonly tlbWPage: (Uint8Array | null)[] = new Array<Uint8Array | null>(TLB_SIZE).fill(null);
  /** @internal */
  memEpoch = -1;
  /** Slots filled since the last flush (read slot i as i, write slot i as TLB_SIZE + i). */
  private readonly tlbUsed = new Uint16Array(2 * TLB_SIZE);
  private tlbUsedCount = 0;
  /** Physical address of the last slow-path translation. */
  private lastPa = 0;
  private readonly tr: TranslationResult = { physical: 0, fault: 0, errorCode: 0 };

  constructor(state: CpuState, bus: Bus, cpuIndex = 0, mmu?: AddressTranslator, pagingControl?: PagingControl) {
    super(state);
    this.bus = bus;
    this.mem = bus.memory;
    this.cpuIndex = cpuIndex;
    this.pagingControl = pagingControl ?? new ProcessorPagingControl();
    this.mmu = mmu ?? new IdentityTranslator();
  }

  // ------------------------------------------------------------------ invalidation

  /** Drops every fast-path translation (not the translator's TLB): only the slots filled since the last flush are touched. */
  flushFastTlb(): void {
    const used = this.tlbUsed;
    for (let k = 0; k < this.tlbUsedCount; k++) {
      const e = used[k];
      if (e < TLB_SIZE) {
        this.tlbRTag[e] = NaN;
        this.tlbRPage[e] = null;
      } else {
        this.tlbWTag[e - TLB_SIZE] = NaN;
        this.tlbWPage[e - TLB_SIZE] = null;
      }
    }
    this.tlbUsedCount = 0;
    this.memEpoch = this.mem.epoch;
  }

  /** INVLPG: tells the translator and drops the fast path. */
  invalidatePage(linear: number): void {
    this.mmu.invalidatePage(linear);
    this.flushFastTlb();
  }

  /** Flushes the translator (INVEPT/INVVPID, VM transitions) and the fast path. */
  flushTranslations(includingGlobal: boolean): void {
    this.mmu.flushAll(includingGlobal);
    this.flushFastTlb();
  }

  /** Syncs `pagingControl` from the state, tells the translator, drops the fast path. Returns the translator's verdict (false: invalid PAE PDPTEs). */
  controlRegisterWritten(which: 'cr0' | 'cr3' | 'cr4' | 'efer', oldValue: number): boolean {
    this.syncPagingControl();
    const ok = this.mmu.controlRegisterWritten(which, oldValue);
    this.flushFastTlb();
    return ok;
  }

  /** Copies CR0/CR3/CR4/EFER/CPL/AC into `pagingControl`. */
  syncPagingControl(): void {
    const s = this.state;
    const pc = this.pagingControl;
    pc.cr0 = s.cr0;
    pc.cr3 = s.cr3;
    pc.cr4 = s.cr4;
    pc.efer = s.efer;
    pc.cpl = this.cpl;
    pc.ac = (s.rflags & Flag.AC) !== 0;
  }

  /** Recomputes the memory-related mode cache (called from Processor.modeChanged()). */
  protected recomputeMemoryMode(): void {
    const s = this.state;
    const lma = (s.efer & Efer.LMA) !== 0;
    this.is64 = lma && (s.segAr[Seg.CS] & AR.L) !== 0;
    const pe = (s.cr0 & Cr0.PE) !== 0;
    const vm = (s.rflags & Flag.VM) !== 0;
    this.realOrV86 = !pe || vm;
    this.pagingOn = (s.cr0 & Cr0.PG) !== 0 || this.eptActive;
    this.cpl = !pe ? 0 : vm ? 3 : (s.segAr[Seg.CS] & AR.DPL_MASK) >>> AR.DPL_SHIFT;
    this.stackSize = this.is64 ? 64 : (s.segAr[Seg.SS] & AR.DB) !== 0 ? 32 : 16;
    this.syncPagingControl();
    this.flushFastTlb();
  }

  // ------------------------------------------------------------------ translation

  /** Linear → physical for a data/fetch access at the current privilege; faults on failure. */
  translate(lin: number, access: PageAccess): number {
    if (!this.pagingOn) return this.is64 ? lin : lin >>> 0;
    const tr = this.tr;
    if (!this.mmu.translate(lin, access, false, tr)) this.translationFault(lin, tr);
    return tr.physical;
  }

  /** Implicit-supervisor translation (system structures). */
  translateSystem(lin: number, access: PageAccess): number {
    if (!this.pagingOn) return this.is64 ? lin : lin >>> 0;
    const tr = this.tr;
    if (!this.mmu.translate(lin, access, true, tr)) this.translationFault(lin, tr);
    return tr.physical;
  }

  /** Raises the fault a failed translation reports. EPT results (negative) go to `onEptFault`. */
  translationFault(lin: number, tr: TranslationResult): never {
    if (tr.fault === Vec.PF) {
      this.cr2BeforeFault = this.state.cr2;
      this.state.cr2 = lin;
      this.fault(Vec.PF, tr.errorCode);
    }
    if (tr.fault === Vec.GP || tr.fault === Vec.SS) this.fault(tr.fault, 0);
    return this.onEptFault(lin, tr);
  }

  /**
   * An EPT violation/misconfiguration during a guest access: the VM exit (VMX non-root); without a
   * VMX implementation in non-root operation this cannot happen (internal error).
   */
  onEptFault(lin: number, tr: TranslationResult): never {
    if (this.vmxGuest !== null) return this.vmxGuest.eptFault(this as unknown as Processor, lin, tr);
    throw new Error(`EPT fault ${tr.fault} at linear ${lin.toString(16)} (no VMX handler installed)`);
  }

  private checkEpoch(): void {
    if (this.memEpoch !== this.mem.epoch) this.flushFastTlb();
  }

  /** Fills the read cache for `lin`'s page; returns the page array or null (MMIO / no RAM; `lastPa` set). */
  private fillR(lin: number): Uint8Array | null {
    this.checkEpoch();
    const pa = this.translate(lin, PageAccess.READ);
    this.lastPa = pa;
    const pfn = Math.floor(pa / 4096);
    if (this.bus.isMmioPage(pfn)) return null;
    const pg = this.mem.getPageForRead(pfn);
    if (pg === null) return null;
    const off = lin & 0xfff;
    const i = (lin >>> 12) & TLB_MASK;
    if (Number.isNaN(this.tlbRTag[i])) this.tlbUsed[this.tlbUsedCount++] = i;
    this.tlbRTag[i] = lin - off;
    this.tlbRPage[i] = pg;
    return pg;
  }

  private fillW(lin: number): Uint8Array | null {
    this.checkEpoch();
    const pa = this.translate(lin, PageAccess.WRITE);
    this.lastPa = pa;
    const pfn = Math.floor(pa / 4096);
    if (this.bus.isMmioPage(pfn)) return null;
    const pg = this.mem.getPageForWrite(pfn);
    if (pg === null) return null;
    // getPageForWrite may have bumped the epoch (materialised page / code page notification).
    this.checkEpoch();
    const off = lin & 0xfff;
    const i = (lin >>> 12) & TLB_MASK;
    if (Number.isNaN(this.tlbWTag[i])) this.tlbUsed[this.tlbUsedCount++] = TLB_SIZE + i;
    this.tlbWTag[i] = lin - off;
    this.tlbWPage[i] = pg;
    // A read array of the same page may be stale (zero page before materialisation): drop it.
    if (this.tlbRTag[i] === lin - off) this.tlbRPage[i] = pg;
    return pg;
  }

  // ------------------------------------------------------------------ linear data accesses (current privilege)

  lread8(lin: number): number {
    const off = lin & 0xfff;
    const i = (lin >>> 12) & TLB_MASK;
    if (this.tlbRTag[i] === lin - off && this.memEpoch === this.mem.epoch) return this.tlbRPage[i]![off];
    const pg = this.fillR(lin);
    if (pg !== null) return pg[off];
    return this.bus.read8(this.lastPa, this.cpuIndex);
  }

  lread16(lin: number): number {
    const off = lin & 0xfff;
    if (off <= 0xffe) {
      const i = (lin >>> 12) & TLB_MASK;
      let pg: Uint8Array | null;
      if (this.tlbRTag[i] === lin - off && this.memEpoch === this.mem.epoch) pg = this.tlbRPage[i];
      else {
        pg = this.fillR(lin);
        if (pg === null) return this.bus.read16(this.lastPa, this.cpuIndex);
      }
      return pg![off] | (pg![off + 1] << 8);
    }
    return this.lread8(lin) | (this.lread8(lin + 1) << 8);
  }

  /** 32-bit read, returned as int32. */
  lread32(lin: number): number {
    const off = lin & 0xfff;
    if (off <= 0xffc) {
      const i = (lin >>> 12) & TLB_MASK;
      let pg: Uint8Array | null;
      if (this.tlbRTag[i] === lin - off && this.memEpoch === this.mem.epoch) pg = this.tlbRPage[i];
      else {
        pg = this.fillR(lin);
        if (pg === null) return this.bus.read32(this.lastPa, this.cpuIndex) | 0;
      }
      return pg![off] | (pg![off + 1] << 8) | (pg![off + 2] << 16) | (pg![off + 3] << 24);
    }
    return this.lread16(lin) | (this.lread16(lin + 1 + 1) << 16);
  }

  /** 64-bit read: low half returned, high half in `rhi`. */
  lread64(lin: number): number {
    const lo = this.lread32(lin);
    this.rhi = this.lread32(lin + 4);
    return lo;
  }

  lwrite8(lin: number, v: number): void {
    const off = lin & 0xfff;
    const i = (lin >>> 12) & TLB_MASK;
    if (this.tlbWTag[i] === lin - off && this.memEpoch === this.mem.epoch) {
      this.tlbWPage[i]![off] = v;
      return;
    }
    const pg = this.fillW(lin);
    if (pg !== null) pg[off] = v;
    else this.bus.write8(this.lastPa, v & 0xff, this.cpuIndex);
  }

  lwrite16(lin: number, v: number): void {
    const off = lin & 0xfff;
    if (off <= 0xffe) {
      const i = (lin >>> 12) & TLB_MASK;
      let pg: Uint8Array | null;
      if (this.tlbWTag[i] === lin - off && this.memEpoch === this.mem.epoch) pg = this.tlbWPage[i];
      else {
        pg = this.fillW(lin);
        if (pg === null) {
          this.bus.write16(this.lastPa, v & 0xffff, this.cpuIndex);
          return;
        }
      }
      pg![off] = v;
      pg![off + 1] = v >>> 8;
      return;
    }
    this.writeCrossing(lin, 2, v, 0);
  }

  lwrite32(lin: number, v: number): void {
    const off = lin & 0xfff;
    if (off <= 0xffc) {
      const i = (lin >>> 12) & TLB_MASK;
      let pg: Uint8Array | null;
      if (this.tlbWTag[i] === lin - off && this.memEpoch === this.mem.epoch) pg = this.tlbWPage[i];
      else {
        pg = this.fillW(lin);
        if (pg === null) {
          this.bus.write32(this.lastPa, v >>> 0, this.cpuIndex);
          return;
        }
      }
      pg![off] = v;
      pg![off + 1] = v >>> 8;
      pg![off + 2] = v >>> 16;
      pg![off + 3] = v >>> 24;
      return;
    }
    this.writeCrossing(lin, 4, v, 0);
  }

  lwrite64(lin: number, lo: number, hi: number): void {
    const off = lin & 0xfff;
    if (off <= 0xff8) {
      this.lwrite32(lin, lo);
      this.lwrite32(lin + 4, hi);
      return;
    }
    this.writeCrossing(lin, 8, lo, hi);
  }

  /** A write that crosses a page boundary: both pages are translated (and may fault) before any byte is written. */
  private writeCrossing(lin: number, size: number, lo: number, hi: number): void {
    const off = lin & 0xfff;
    const first = 4096 - off;
    const pa1 = this.translate(lin, PageAccess.WRITE);
    const pa2 = this.translate(lin + first, PageAccess.WRITE);
    for (let k = 0; k < size; k++) {
      const b = (k < 4 ? lo >>> (8 * k) : hi >>> (8 * (k - 4))) & 0xff;
      this.bus.write8(k < first ? pa1 + k : pa2 + (k - first), b, this.cpuIndex);
    }
  }

  /** Checks (translates for write) that `[lin, lin+size)` is writable without writing: for instructions that must not commit partially. */
  probeWrite(lin: number, size: number): void {
    this.translate(lin, PageAccess.WRITE);
    const off = lin & 0xfff;
    if (off + size > 4096) this.translate(lin + (4096 - off), PageAccess.WRITE);
  }

  // ------------------------------------------------------------------ system-structure (implicit supervisor) accesses

  readLinear8(lin: number): number {
    return this.bus.read8(this.translateSystem(lin, PageAccess.READ), this.cpuIndex);
  }
  readLinear16(lin: number): number {
    if ((lin & 0xfff) <= 0xffe) return this.bus.read16(this.translateSystem(lin, PageAccess.READ), this.cpuIndex);
    return this.readLinear8(lin) | (this.readLinear8(lin + 1) << 8);
  }
  /** As int32. */
  readLinear32(lin: number): number {
    if ((lin & 0xfff) <= 0xffc) return this.bus.read32(this.translateSystem(lin, PageAccess.READ), this.cpuIndex) | 0;
    return this.readLinear16(lin) | (this.readLinear16(lin + 2) << 16);
  }
  /** Low half returned, high half in `rhi`. */
  readLinear64(lin: number): number {
    const lo = this.readLinear32(lin);
    this.rhi = this.readLinear32(lin + 4);
    return lo;
  }
  writeLinear8(lin: number, v: number): void {
    this.bus.write8(this.translateSystem(lin, PageAccess.WRITE), v & 0xff, this.cpuIndex);
  }
  writeLinear16(lin: number, v: number): void {
    if ((lin & 0xfff) <= 0xffe) this.bus.write16(this.translateSystem(lin, PageAccess.WRITE), v & 0xffff, this.cpuIndex);
    else {
      const a = this.translateSystem(lin, PageAccess.WRITE);
      const b = this.translateSystem(lin + 1, PageAccess.WRITE);
      this.bus.write8(a, v & 0xff, this.cpuIndex);
      this.bus.write8(b, (v >>> 8) & 0xff, this.cpuIndex);
    }
  }
  writeLinear32(lin: number, v: number): void {
    if ((lin & 0xfff) <= 0xffc) this.bus.write32(this.translateSystem(lin, PageAccess.WRITE), v >>> 0, this.cpuIndex);
    else {
      const off = lin & 0xfff;
      const pa1 = this.translateSystem(lin, PageAccess.WRITE);
      const pa2 = this.translateSystem(lin + (4096 - off), PageAccess.WRITE);
      for (let k = 0; k < 4; k++) this.bus.write8(k < 4096 - off ? pa1 + k : pa2 + (k - (4096 - off)), (v >>> (8 * k)) & 0xff, this.cpuIndex);
    }
  }
  writeLinear64(lin: number, lo: number, hi: number): void {
    if ((lin & 0xfff) <= 0xff8) {
      this.writeLinear32(lin, lo);
      this.writeLinear32(lin + 4, hi);
      return;
    }
    // Translate both pages first so nothing is written on a fault.
    const off = lin & 0xfff;
    this.translateSystem(lin, PageAccess.WRITE);
    this.translateSystem(lin + (4096 - off), PageAccess.WRITE);
    this.writeLinear32(lin, lo);
    this.writeLinear32(lin + 4, hi);
  }

  // ------------------------------------------------------------------ physical accesses

  readPhys8(pa: number): number {
    return this.bus.read8(pa, this.cpuIndex);
  }
  readPhys16(pa: number): number {
    return this.bus.read16(pa, this.cpuIndex);
  }
  /** As int32. */
  readPhys32(pa: number): number {
    return this.bus.read32(pa, this.cpuIndex) | 0;
  }
  /** Low half returned, high half in `rhi`. */
  readPhys64(pa: number): number {
    const lo = this.bus.read32(pa, this.cpuIndex) | 0;
    this.rhi = this.bus.read32(pa + 4, this.cpuIndex) | 0;
    return lo;
  }
  writePhys8(pa: number, v: number): void {
    this.bus.write8(pa, v & 0xff, this.cpuIndex);
  }
  writePhys16(pa: number, v: number): void {
    this.bus.write16(pa, v & 0xffff, this.cpuIndex);
  }
  writePhys32(pa: number, v: number): void {
    this.bus.write32(pa, v >>> 0, this.cpuIndex);
  }
  writePhys64(pa: number, lo: number, hi: number): void {
    this.bus.write32(pa, lo >>> 0, this.cpuIndex);
    this.bus.write32(pa + 4, hi >>> 0, this.cpuIndex);
  }

  // ------------------------------------------------------------------ segmentation

  /**
   * Checks a data access of `size` bytes at `offset` in segment `seg` and returns its linear
   * address. Outside 64-bit mode `offset` must already be truncated to the address size.
   */
  segLinear(seg: number, offset: number, size: number, write: boolean): number {
    const s = this.state;
    if (this.is64) return this.linear64(seg, offset);
    const ar = s.segAr[seg];
    if ((ar & FAST_SEG_MASK) === FAST_SEG_OK && offset + size - 1 <= s.segLimit[seg]) return (s.segBase[seg] + offset) >>> 0;
    return this.segLinearSlow(seg, offset, size, write);
  }

  private segLinearSlow(seg: number, offset: number, size: number, write: boolean): number {
    const s = this.state;
    const ar = s.segAr[seg];
    const vec = seg === Seg.SS ? Vec.SS : Vec.GP;
    if (!this.realOrV86) {
      if (ar & AR.UNUSABLE) this.fault(vec, 0);
      if (write) {
        if (ar & AR.CODE || (ar & AR.RW) === 0) this.fault(vec, 0);
      } else if ((ar & (AR.CODE | AR.RW)) === AR.CODE) this.fault(vec, 0);
    }
    const limit = s.segLimit[seg];
    if ((ar & (AR.CODE | AR.DC)) === AR.DC && (ar & AR.S) !== 0) {
      const upper = ar & AR.DB ? 0xffffffff : 0xffff;
      if (offset <= limit || offset + size - 1 > upper) this.fault(vec, 0);
    } else if (offset + size - 1 > limit) this.fault(vec, 0);
    return (s.segBase[seg] + offset) >>> 0;
  }

  /** 64-bit mode: FS/GS base + offset, canonical check (#SS(0) for SS, else #GP(0)). */
  linear64(seg: number, offset: number): number {
    let lin = offset;
    if (seg >= Seg.FS) lin += this.state.segBase[seg];
    if (lin < -0x800000000000 || lin >= 0x800000000000) {
      // Outside the canonical range, unless the 64-bit sum wrapped around.
      lin = wrap64(lin);
      if (lin < -0x800000000000 || lin >= 0x800000000000) this.fault(seg === Seg.SS ? Vec.SS : Vec.GP, 0);
    }
    return lin;
  }

  // ------------------------------------------------------------------ segmented accesses (public contract)

  read8(seg: number, offset: number): number {
    return this.lread8(this.segLinear(seg, offset, 1, false));
  }
  read16(seg: number, offset: number): number {
    return this.lread16(this.segLinear(seg, offset, 2, false));
  }
  /** As int32. */
  read32(seg: number, offset: number): number {
    return this.lread32(this.segLinear(seg, offset, 4, false));
  }
  /** Low half returned, high half in `rhi`. */
  read64(seg: number, offset: number): number {
    return this.lread64(this.segLinear(seg, offset, 8, false));
  }
  write8(seg: number, offset: number, v: number): void {
    this.lwrite8(this.segLinear(seg, offset, 1, true), v);
  }
  write16(seg: number, offset: number, v: number): void {
    this.lwrite16(this.segLinear(seg, offset, 2, true), v);
  }
  write32(seg: number, offset: number, v: number): void {
    this.lwrite32(this.segLinear(seg, offset, 4, true), v);
  }
  write64(seg: number, offset: number, lo: number, hi: number): void {
    this.lwrite64(this.segLinear(seg, offset, 8, true), lo, hi);
  }

  // ------------------------------------------------------------------ effective addresses

  /**
   * Linear address of a memory operand, with every segmentation check for an access of `size`
   * bytes. `nextRip` must be the address of the next instruction (RIP-relative addressing).
   */
  memLinear(m: MemOperand, size: number, write: boolean): number {
    if (this.is64) return this.linear64(m.segment, this.ea64(m));
    return this.segLinear(m.segment, this.eaOffset(m), size, write);
  }

  /** Effective address (offset) outside 64-bit mode, truncated to the address size. */
  eaOffset(m: MemOperand): number {
    const lo = this.lo;
    let a = m.disp;
    if (m.base >= 0) a = (a + lo[m.base]) | 0;
    if (m.addrSize === 32) {
      if (m.index >= 0) a = (a + Math.imul(lo[m.index], m.scale)) | 0;
      return a >>> 0;
    }
    if (m.index >= 0) a = (a + lo[m.index]) | 0;
    return a & 0xffff;
  }

  /** Exact halves of the last `ea64` result (for LEA). */
  eaLo = 0;
  eaHi = 0;

  /**
   * Effective address in 64-bit mode as a signed number (not yet canonical-checked; no segment
   * base). The exact 64-bit value is left in `eaLo`/`eaHi` (the number is exact when canonical).
   */
  ea64(m: MemOperand): number {
    let l: number;
    let h: number;
    if (m.addrSize === 64) {
      if (m.ripRel) {
        const v = this.state.rip + m.disp;
        this.eaLo = v | 0;
        this.eaHi = Math.floor(v / TWO32) | 0;
        return v;
      }
      if (m.index < 0 && m.base >= 0 && m.dispHi === m.disp >> 31) {
        // base + sign-extended disp (the common case): one carry/borrow into the high half.
        const s = (this.lo[m.base] >>> 0) + m.disp;
        const hb = this.hi[m.base];
        h = s < 0 ? (hb - 1) | 0 : s >= TWO32 ? (hb + 1) | 0 : hb;
        l = s >>> 0;
        this.eaLo = l | 0;
        this.eaHi = h;
        return h * TWO32 + l;
      }
      l = m.disp >>> 0;
      h = m.dispHi;
      if (m.base >= 0) {
        l += this.lo[m.base] >>> 0;
        h += this.hi[m.base];
      }
      if (m.index >= 0) {
        const il = this.lo[m.index];
        const ih = this.hi[m.index];
        const sh = m.scale === 1 ? 0 : m.scale === 2 ? 1 : m.scale === 4 ? 2 : 3;
        l += (il << sh) >>> 0;
        h += sh === 0 ? ih : (ih << sh) | (il >>> (32 - sh));
      }
      h = (h + (l >= TWO32 ? (l >= 2 * TWO32 ? 2 : 1) : 0)) | 0;
      l = l >>> 0;
      this.eaLo = l | 0;
      this.eaHi = h;
      return h * TWO32 + l;
    }
    // 67h in 64-bit mode: 32-bit effective address, zero-extended.
    let a: number;
    if (m.ripRel) a = (this.state.rip + m.disp) >>> 0;
    else {
      a = m.disp;
      if (m.base >= 0) a += this.lo[m.base];
      if (m.index >= 0) a += this.lo[m.index] * m.scale;
      a = a >>> 0;
    }
    this.eaLo = a | 0;
    this.eaHi = 0;
    return a;
  }

  // ------------------------------------------------------------------ stack

  /** Linear address for a stack access of `n` bytes at stack offset `sp` (already wrapped to the stack size). */
  stackLinear(sp: number, n: number, write: boolean): number {
    if (this.is64) return this.linear64(Seg.SS, sp);
    return this.segLinear(Seg.SS, sp, n, write);
  }

  /** The stack pointer as an offset of the stack-address size (64-bit: sign-extended number). */
  getSp(): number {
    if (this.stackSize === 32) return this.lo[4] >>> 0;
    if (this.stackSize === 16) return this.lo[4] & 0xffff;
    return this.hi[4] * TWO32 + (this.lo[4] >>> 0);
  }

  /** Stack offset `sp + delta` wrapped to the stack-address size. */
  spAdd(sp: number, delta: number): number {
    if (this.stackSize === 32) return (sp + delta) >>> 0;
    if (this.stackSize === 16) return (sp + delta) & 0xffff;
    return wrap64(sp + delta);
  }

  /** Writes the stack pointer (only the stack-address-size part). */
  setSp(sp: number): void {
    if (this.stackSize === 32) {
      this.lo[4] = sp;
      this.hi[4] = 0;
    } else if (this.stackSize === 16) this.lo[4] = (this.lo[4] & ~0xffff) | (sp & 0xffff);
    else {
      this.lo[4] = sp | 0;
      this.hi[4] = Math.floor(sp / TWO32) | 0;
    }
  }

  /** Pushes `n` = 2/4/8 bytes (lo, hi for 8). Memory first, then RSP. */
  pushN(n: number, v: number, hi: number): void {
    const sp = this.spAdd(this.getSp(), -n);
    const lin = this.stackLinear(sp, n, true);
    if (n === 4) this.lwrite32(lin, v);
    else if (n === 8) this.lwrite64(lin, v, hi);
    else this.lwrite16(lin, v);
    this.setSp(sp);
  }

  /** Pops `n` = 2/4/8 bytes: returns the low part (16: zero-extended; 32/64: int32), high half of 8 in `rhi`. */
  popN(n: number): number {
    const sp = this.getSp();
    const lin = this.stackLinear(sp, n, false);
    let v: number;
    if (n === 4) v = this.lread32(lin);
    else if (n === 8) v = this.lread64(lin);
    else v = this.lread16(lin);
    this.setSp(this.spAdd(sp, n));
    return v;
  }

  push16(v: number): void {
    this.pushN(2, v, 0);
  }
  push32(v: number): void {
    this.pushN(4, v, 0);
  }
  push64(lo: number, hi: number): void {
    this.pushN(8, lo, hi);
  }
  pop16(): number {
    return this.popN(2);
  }
  /** As int32. */
  pop32(): number {
    return this.popN(4);
  }
  /** Low half returned, high half in `rhi`. */
  pop64(): number {
    return this.popN(8);
  }
}

/** Wraps an integer-valued number to a signed 64-bit value (exact within ±2^53, approximate beyond — only for out-of-range addresses). */
export function wrap64(v: number): number {
  const t = 18446744073709551616;
  if (v >= 9223372036854775808) return v - t;
  if (v < -9223372036854775808) return v + t;
  return v;
}
