import { Efer, TWO32, highReservedAbove } from '../constants.js';
import type { LinearWalker, WalkState } from '../walk.js';

/**
 * PAE paging (SDM Vol. 3A 4.4): the four PDPTE registers (`control.pdpte`, loaded and checked by
 * the translator when CR3 is written — see `Mmu.loadPdptes`), then a page directory and a page
 * table of 8-byte entries; 4 KiB and 2 MiB pages; XD (bit 63) with EFER.NXE. In PAE entries bits
 * 62:MAXPHYADDR are reserved, and bit 63 too when EFER.NXE = 0.
 */
export class PaeWalker implements LinearWalker {
  readonly name = 'pae';
  readonly mode = 'pae' as const;
  readonly description = 'PAE paging: PDPTE registers, 4 KiB and 2 MiB pages, XD with EFER.NXE';

  walk(w: WalkState, linear: number): boolean {
    const c = w.control;
    const lin = linear >>> 0;
    const i = (lin >>> 30) << 1;
    const plo = c.pdpte[i];
    if ((plo & 1) === 0) return w.notPresent();
    const rsvdHi = highReservedAbove(c.maxPhysAddrBits) | 0x7ff00000 | ((c.efer & Efer.NXE) === 0 ? 0x80000000 : 0);
    const pdBase = ((plo & 0xfffff000) >>> 0) + (c.pdpte[i + 1] & 0xfffff) * TWO32;
    if (!w.read64(pdBase + ((lin >>> 21) & 0x1ff) * 8)) return false;
    const pde = w.lo;
    const pdeHi = w.hi;
    if ((pde & 1) === 0) return w.notPresent();
    if ((pdeHi & rsvdHi) !== 0) return w.reserved();
    if ((pde & 0x80) !== 0) {
      if ((pde & 0x1fe000) !== 0) return w.reserved();
      w.pageBase = ((pde & 0xffe00000) >>> 0) + (pdeHi & 0xfffff) * TWO32;
      w.pageShift = 21;
      w.perm = ((pde & 6) >>> 1) | ((pde & 0x40) >>> 3) | ((pdeHi >>> 31) << 2);
      w.global = (pde & 0x100) !== 0;
      w.cacheBits = ((pde >>> 3) & 3) | ((pde >>> 10) & 4);
      return true;
    }
    if (!w.read64(((pde & 0xfffff000) >>> 0) + (pdeHi & 0xfffff) * TWO32 + ((lin >>> 12) & 0x1ff) * 8)) return false;
    const pte = w.lo;
    const pteHi = w.hi;
    if ((pte & 1) === 0) return w.notPresent();
    if ((pteHi & rsvdHi) !== 0) return w.reserved();
    w.pageBase = ((pte & 0xfffff000) >>> 0) + (pteHi & 0xfffff) * TWO32;
    w.pageShift = 12;
    w.perm = ((pde & pte & 6) >>> 1) | ((pte & 0x40) >>> 3) | (((pdeHi | pteHi) >>> 31) << 2);
    w.global = (pte & 0x100) !== 0;
    w.cacheBits = ((pte >>> 3) & 3) | ((pte >>> 5) & 4);
    return true;
  }
}

/** PDPTE reserved bits in the low dword: 2:1 and 8:5 (SDM Vol. 3A Table 4-8). */
export const PDPTE_RESERVED_LO = 0x1e6;

/** PDPTE reserved bits in the high dword: 63:MAXPHYADDR (bit 63 included: PDPTEs have no XD). */
export function pdpteReservedHi(maxPhysAddrBits: number): number {
  return highReservedAbove(maxPhysAddrBits) | 0xfff00000;
}
