import { Cr4, TWO32 } from '../constants.js';
import type { LinearWalker, WalkState } from '../walk.js';

/**
 * 32-bit paging (SDM Vol. 3A 4.3): a page directory of 1024 4-byte PDEs at CR3[31:12]; 4 KiB
 * pages through a page table, or 4 MiB pages when CR4.PSE = 1 and PDE.PS = 1, with PSE-36:
 * PDE bits 20:13 supply physical-address bits 39:32 (up to MAXPHYADDR, at most 40 bits).
 * 32-bit entries have no XD bit and, apart from the 4 MiB PDE, no reserved bits.
 */
export class Legacy32Walker implements LinearWalker {
  readonly name = 'legacy32';
  readonly mode = 'legacy32' as const;
  readonly description = '32-bit paging: 4 KiB pages, 4 MiB pages with CR4.PSE (PSE-36 up to MAXPHYADDR, max 40 bits)';

  walk(w: WalkState, linear: number): boolean {
    const c = w.control;
    const lin = linear >>> 0;
    if (!w.read32(((c.cr3 & 0xfffff000) >>> 0) + ((lin >>> 22) << 2))) return false;
    const pde = w.lo;
    if ((pde & 1) === 0) return w.notPresent();
    if ((pde & 0x80) !== 0 && (c.cr4 & Cr4.PSE) !== 0) {
      // 4 MiB page. Bit 21 is reserved, and so are the PSE-36 bits at or above MAXPHYADDR (capped at 40).
      const m = Math.min(c.maxPhysAddrBits, 40) - 32;
      const rsvd = 0x200000 | (0x1fe000 & ~((1 << (13 + m)) - 1));
      if ((pde & rsvd) !== 0) return w.reserved();
      w.pageBase = ((pde & 0xffc00000) >>> 0) + ((pde >>> 13) & 0xff) * TWO32;
      w.pageShift = 22;
      w.perm = ((pde & 6) >>> 1) | ((pde & 0x40) >>> 3);
      w.global = (pde & 0x100) !== 0;
      w.cacheBits = ((pde >>> 3) & 3) | ((pde >>> 10) & 4);
      return true;
    }
    if (!w.read32(((pde & 0xfffff000) >>> 0) + ((lin >>> 10) & 0xffc))) return false;
    const pte = w.lo;
    if ((pte & 1) === 0) return w.notPresent();
    w.pageBase = (pte & 0xfffff000) >>> 0;
    w.pageShift = 12;
    w.perm = ((pde & pte & 6) >>> 1) | ((pte & 0x40) >>> 3);
    w.global = (pte & 0x100) !== 0;
    w.cacheBits = ((pte >>> 3) & 3) | ((pte >>> 5) & 4);
    return true;
  }
}
