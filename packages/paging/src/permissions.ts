import { PageAccess } from '@latelaunch/kernel';
import { Cr0, Cr4, Efer, PfError, Perm } from './constants.js';

/**
 * Access-rights rules of SDM Vol. 3A 4.6, for one access against one permission summary
 * ({@link Perm} bits). `user` is a user-mode access (CPL 3 and not an implicit supervisor
 * access); `acExplicit` is EFLAGS.AC = 1 on an explicit access (what lets a supervisor access
 * user pages under SMAP). The guest XD bit only reaches `perm` when EFER.NXE = 1 (it is a
 * reserved bit otherwise), so NXE is not a parameter. `forHit` additionally requires the dirty
 * flags to be set for writes (a TLB entry whose D is clear cannot complete a write: the
 * translator walks again to set D).
 */
export function accessAllowed(access: number, user: boolean, acExplicit: boolean, perm: number, wp: boolean, smep: boolean, smap: boolean, forHit: boolean): boolean {
  const w = (perm & Perm.W) !== 0;
  const u = (perm & Perm.U) !== 0;
  const xd = (perm & Perm.XD) !== 0;
  if (user) {
    if (!u) return false;
    if (access === PageAccess.WRITE && !w) return false;
    if (access === PageAccess.EXEC && xd) return false;
  } else if (access === PageAccess.READ) {
    if (u && smap && !acExplicit) return false;
  } else if (access === PageAccess.WRITE) {
    if (u && smap && !acExplicit) return false;
    if (wp && !w) return false;
  } else if (access === PageAccess.EXEC) {
    if (xd) return false;
    if (u && smep) return false;
  } else return false;
  // EPT (all four bits are set without EPT).
  if (access === PageAccess.READ && (perm & Perm.ER) === 0) return false;
  if (access === PageAccess.WRITE && (perm & Perm.EW) === 0) return false;
  if (access === PageAccess.EXEC && (perm & Perm.EX) === 0) return false;
  if (forHit && access === PageAccess.WRITE && (perm & (Perm.D | Perm.ED)) !== (Perm.D | Perm.ED)) return false;
  return true;
}

/** Index of an access kind in the permission table: `(access & 3) << 2 | user << 1 | acExplicit`. */
export function accessKind(access: number, user: boolean, acExplicit: boolean): number {
  return ((access & 3) << 2) | (user ? 2 : 0) | (acExplicit ? 1 : 0);
}

const hitTables: (Uint8Array | undefined)[] = [];

/**
 * The permission table (4096 bytes: 16 access kinds × 256 permission summaries) for CR0.WP,
 * CR4.SMEP and CR4.SMAP: `table[kind << 8 | perm]` is 1 when a TLB entry with `perm` satisfies
 * the access without a walk. The eight tables are built on first use and shared (read-only).
 */
export function hitTable(cr0: number, cr4: number): Uint8Array {
  const wp = (cr0 & Cr0.WP) !== 0;
  const smep = (cr4 & Cr4.SMEP) !== 0;
  const smap = (cr4 & Cr4.SMAP) !== 0;
  const key = (wp ? 1 : 0) | (smep ? 2 : 0) | (smap ? 4 : 0);
  let table = hitTables[key];
  if (table) return table;
  table = new Uint8Array(4096);
  for (let kind = 0; kind < 16; kind++) {
    const access = kind >>> 2;
    for (let perm = 0; perm < 256; perm++) {
      table[(kind << 8) | perm] = accessAllowed(access, (kind & 2) !== 0, (kind & 1) !== 0, perm, wp, smep, smap, true) ? 1 : 0;
    }
  }
  hitTables[key] = table;
  return table;
}

/**
 * The #PF error code of a fault (SDM Vol. 3A 4.7): `base` is P/RSVD from the walk (0 for a
 * not-present entry, P|RSVD for a reserved bit, P for a protection violation); W/R from the
 * access, U/S for user-mode accesses, I/D for instruction fetches when CR4.SMEP = 1 or
 * (CR4.PAE = 1 and EFER.NXE = 1).
 */
export function pageFaultErrorCode(base: number, access: number, user: boolean, cr4: number, efer: number): number {
  let code = base;
  if (access === PageAccess.WRITE) code |= PfError.W;
  if (user) code |= PfError.U;
  if (access === PageAccess.EXEC && ((cr4 & Cr4.SMEP) !== 0 || ((cr4 & Cr4.PAE) !== 0 && (efer & Efer.NXE) !== 0))) code |= PfError.ID;
  return code;
}
