import { PageAccess, PageAccessFlag, type PhysicalMemory } from '@latelaunch/kernel';
import { EptAccessFlag, EptQual, Fault, TWO32, highReservedAbove } from '../constants.js';
import type { EptResult, EptTranslator } from '../walk.js';

export interface EptWalkerOptions {
  /** Execute-only translations (IA32_VMX_EPT_VPID_CAP bit 0). Default true; when false, X without R is a misconfiguration. */
  readonly executeOnly?: boolean;
  /** 1 GiB EPT pages (IA32_VMX_EPT_VPID_CAP bit 17). Default true; when false a PDPTE with bit 7 set is a misconfiguration. */
  readonly gbPages?: boolean;
}

/**
 * EPT (SDM Vol. 3C 29.3): guest-physical → host-physical through 4-level (EPTP bits 5:3 = 3) or
 * 5-level (= 4) EPT paging structures. Entry bits 2:0 are R/W/X (all zero = not present → EPT
 * violation); a present entry is misconfigured when it is write-only or write/execute (W without
 * R), execute-only without the capability, has reserved bits (51:MAXPHYADDR, 7:3 in a PML4E/PML5E,
 * 6:3 in a non-leaf PDPTE/PDE, 29:12 in a 1 GiB and 20:12 in a 2 MiB leaf) or is a leaf with a
 * reserved memory type (2, 3, 7). A violation's exit qualification (Table 28-7) reports the
 * access (bits 2:0), the AND of the R/W/X bits of the entries used (bits 5:3) and what the
 * caller passed for bits 7–11. With EPTP bit 6 the walker sets accessed (bit 8) in every entry
 * used and dirty (bit 9) in the leaf on writes; guest paging-structure accesses
 * (`EptAccessFlag.STRUCTURE`) are then treated as writes (qualification bits 0 and 1).
 * Not modelled: mode-based execute control (bit 10), suppress-#VE (bit 63 is ignored),
 * sub-page permissions, supervisor shadow stacks.
 */
export class EptWalker implements EptTranslator {
  readonly name = 'ept';
  readonly mode = 'ept' as const;
  readonly description: string;
  readonly executeOnly: boolean;
  readonly gbPages: boolean;
  private readonly addr = new Float64Array(5);
  private readonly entryLo = new Int32Array(5);

  constructor(options: EptWalkerOptions = {}) {
    this.executeOnly = options.executeOnly ?? true;
    this.gbPages = options.gbPages ?? true;
    this.description = `EPT: 4/5-level, R/W/X, 2 MiB${this.gbPages ? '/1 GiB' : ''} pages, A/D with EPTP bit 6${this.executeOnly ? ', execute-only' : ''}`;
  }

  translate(memory: PhysicalMemory, eptp: number, gpa: number, access: number, qualification: number, maxPhysAddrBits: number, out: EptResult): boolean {
    const kind = access & 3;
    const probe = (access & PageAccessFlag.PROBE) !== 0;
    const ad = (eptp & 0x40) !== 0;
    const structureWrite = ad && (access & EptAccessFlag.STRUCTURE) !== 0;
    const write = kind === PageAccess.WRITE || structureWrite;
    const accessQual = structureWrite ? EptQual.READ | EptQual.WRITE : kind === PageAccess.READ ? EptQual.READ : kind === PageAccess.WRITE ? EptQual.WRITE : EptQual.FETCH;
    const need = kind === PageAccess.EXEC ? 4 : write ? 2 : 1;
    const levels = ((eptp >>> 3) & 7) === 4 ? 5 : 4;
    const lo = gpa >>> 0;
    const hi = (gpa - lo) / TWO32;
    const rsvdHi = highReservedAbove(maxPhysAddrBits);
    let table = eptp - (eptp % 4096);
    let perm = 7;
    let n = 0;
    for (let level = levels; level > 0; level--) {
      const index =
        level === 1 ? (lo >>> 12) & 511 : level === 2 ? (lo >>> 21) & 511 : level === 3 ? ((hi & 0x7f) << 2) | (lo >>> 30) : level === 4 ? (hi >>> 7) & 511 : (hi >>> 16) & 511;
      const a = table + index * 8;
      const e = memory.read32(a) | 0;
      const eh = memory.read32(a + 4) | 0;
      this.addr[n] = a;
      this.entryLo[n] = e;
      n++;
      const rwx = e & 7;
      perm &= rwx;
      if (rwx === 0) return fail(out, gpa, Fault.EPT_VIOLATION, accessQual | qualification);
      if ((rwx & 3) === 2 || (rwx === 4 && !this.executeOnly) || (eh & rsvdHi) !== 0) return fail(out, gpa, Fault.EPT_MISCONFIG, 0);
      let shift = 0;
      if (level === 1) shift = 12;
      else if (level >= 4) {
        if ((e & 0xf8) !== 0) return fail(out, gpa, Fault.EPT_MISCONFIG, 0);
      } else if ((e & 0x80) !== 0) {
        if (level === 3 ? !this.gbPages || (e & 0x3ffff000) !== 0 : (e & 0x1ff000) !== 0) return fail(out, gpa, Fault.EPT_MISCONFIG, 0);
        shift = level === 3 ? 30 : 21;
      } else if ((e & 0x78) !== 0) return fail(out, gpa, Fault.EPT_MISCONFIG, 0);
      if (shift === 0) {
        table = ((e & 0xfffff000) >>> 0) + (eh & 0xfffff) * TWO32;
        continue;
      }
      const memoryType = (e >>> 3) & 7;
      if (memoryType === 2 || memoryType === 3 || memoryType === 7) return fail(out, gpa, Fault.EPT_MISCONFIG, 0);
      if ((perm & need) === 0) return fail(out, gpa, Fault.EPT_VIOLATION, accessQual | (perm << 3) | qualification);
      let dirty = !ad || (e & 0x200) !== 0;
      if (ad && !probe) {
        for (let k = 0; k < n; k++) {
          const v = this.entryLo[k];
          const want = v | 0x100 | (k === n - 1 && write ? 0x200 : 0);
          if (want !== v) memory.write32(this.addr[k], want);
        }
        if (write) dirty = true;
      }
      const mask = shift === 12 ? 0xfffff000 : shift === 21 ? 0xffe00000 : 0xc0000000;
      out.physical = ((e & mask) >>> 0) + (eh & 0xfffff) * TWO32 + (lo & ~mask);
      out.fault = 0;
      out.errorCode = 0;
      out.memoryType = memoryType;
      out.ignorePat = (e & 0x40) !== 0;
      out.pageShift = shift;
      out.permissions = perm;
      out.dirty = dirty;
      return true;
    }
    return false; // unreachable: level 1 always ends the walk
  }
}

function fail(out: EptResult, gpa: number, fault: number, qualification: number): false {
  out.physical = gpa;
  out.fault = fault;
  out.errorCode = qualification;
  return false;
}
