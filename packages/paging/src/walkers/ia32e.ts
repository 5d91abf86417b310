import { Efer, TWO32, highReservedAbove } from '../constants.js';
import type { LinearWalker, WalkState } from '../walk.js';

export interface Ia32eWalkerOptions {
  /**
   * 4 (default, PML4) or 5 (PML5, CR4.LA57). The 5-level walker is not composed by default:
   * linear addresses are numbers, exact only up to 2^53 in magnitude, so 57-bit addresses beyond
   * that (the usual 5-level kernel half) cannot be expressed under the translator contract.
   */
  readonly levels?: 4 | 5;
  /** 1 GiB pages (CPUID.80000001H:EDX.Page1GB). Default true; when false PDPTE.PS is a reserved bit. */
  readonly gbPages?: boolean;
}

/**
 * IA-32e paging (SDM Vol. 3A 4.5): 4-level (PML4, PDPT, PD, PT) or 5-level (PML5 first) tables of
 * 8-byte entries at CR3[51:12]; 4 KiB, 2 MiB and 1 GiB pages; XD with EFER.NXE. Reserved bits:
 * 51:MAXPHYADDR everywhere, bit 63 when EFER.NXE = 0, PS in PML4E/PML5E, 29:13 in a 1 GiB PDPTE
 * and 20:13 in a 2 MiB PDE. Bits 62:52 are ignored (protection keys are not implemented).
 * The caller has checked canonicality; `linear` is the sign-extended number.
 */
export class Ia32eWalker implements LinearWalker {
  readonly name: string;
  readonly mode: 'ia32e-4level' | 'ia32e-5level';
  readonly description: string;
  readonly levels: 4 | 5;
  readonly gbPages: boolean;

  constructor(options: Ia32eWalkerOptions = {}) {
    this.levels = options.levels ?? 4;
    this.gbPages = options.gbPages ?? true;
    this.mode = this.levels === 5 ? 'ia32e-5level' : 'ia32e-4level';
    this.name = this.mode;
    this.description = `${this.levels}-level IA-32e paging: 4 KiB, 2 MiB${this.gbPages ? ' and 1 GiB' : ''} pages, XD with EFER.NXE`;
  }

  walk(w: WalkState, linear: number): boolean {
    const c = w.control;
    const lo = linear >>> 0;
    const hi = (linear - lo) / TWO32;
    const rsvdHi = highReservedAbove(c.maxPhysAddrBits) | ((c.efer & Efer.NXE) === 0 ? 0x80000000 : 0);
    let table = c.cr3 - (c.cr3 % 4096);
    let acc = 6;
    let xd = 0;
    for (let level: number = this.levels; level > 0; level--) {
      const index =
        level === 1 ? (lo >>> 12) & 511 : level === 2 ? (lo >>> 21) & 511 : level === 3 ? ((hi & 0x7f) << 2) | (lo >>> 30) : level === 4 ? (hi >>> 7) & 511 : (hi >>> 16) & 511;
      if (!w.read64(table + index * 8)) return false;
      const e = w.lo;
      const eh = w.hi;
      if ((e & 1) === 0) return w.notPresent();
      if ((eh & rsvdHi) !== 0) return w.reserved();
      acc &= e;
      xd |= eh;
      if (level === 1) {
        w.pageBase = ((e & 0xfffff000) >>> 0) + (eh & 0xfffff) * TWO32;
        w.pageShift = 12;
        w.cacheBits = ((e >>> 3) & 3) | ((e >>> 5) & 4);
        return this.leaf(w, e, acc, xd);
      }
      if ((e & 0x80) !== 0) {
        if (level >= 4) return w.reserved();
        if (level === 3) {
          if (!this.gbPages || (e & 0x3fffe000) !== 0) return w.reserved();
          w.pageBase = ((e & 0xc0000000) >>> 0) + (eh & 0xfffff) * TWO32;
          w.pageShift = 30;
        } else {
          if ((e & 0x1fe000) !== 0) return w.reserved();
          w.pageBase = ((e & 0xffe00000) >>> 0) + (eh & 0xfffff) * TWO32;
          w.pageShift = 21;
        }
        w.cacheBits = ((e >>> 3) & 3) | ((e >>> 10) & 4);
        return this.leaf(w, e, acc, xd);
      }
      table = ((e & 0xfffff000) >>> 0) + (eh & 0xfffff) * TWO32;
    }
    return false; // unreachable: level 1 always returns
  }

  private leaf(w: WalkState, e: number, acc: number, xd: number): boolean {
    w.perm = ((acc & 6) >>> 1) | ((e & 0x40) >>> 3) | ((xd >>> 31) << 2);
    w.global = (e & 0x100) !== 0;
    return true;
  }
}
