/**
 * Architectural bit positions used by the walkers (SDM Vol. 3A chapter 4 and Vol. 3C chapter 29),
 * and the numeric conventions of this package (fault numbers, permission summary bits).
 */

/** CR0 bits that paging looks at. `PG` is bit 31: test it with `(cr0 & Cr0.PG) !== 0`. */
export const Cr0 = { PE: 0x1, WP: 0x1_0000, NW: 0x2000_0000, CD: 0x4000_0000, PG: 0x8000_0000 | 0 } as const;

/** CR4 bits that paging looks at. */
export const Cr4 = {
  PSE: 1 << 4,
  PAE: 1 << 5,
  PGE: 1 << 7,
  LA57: 1 << 12,
  PCIDE: 1 << 17,
  SMEP: 1 << 20,
  SMAP: 1 << 21,
  PKE: 1 << 22,
} as const;

/** IA32_EFER bits that paging looks at. */
export const Efer = { LME: 1 << 8, LMA: 1 << 10, NXE: 1 << 11 } as const;

/** Values of `TranslationResult.fault`. */
export const Fault = {
  NONE: 0,
  /** #SS(0): non-canonical stack access in IA-32e mode (access had `PageAccessFlag.STACK`). */
  SS: 12,
  /** #GP(0): non-canonical address in IA-32e mode; also "invalid PDPTEs" in `controlFault`. */
  GP: 13,
  /** #PF with `errorCode` as below; the processor loads CR2 with the linear address. */
  PF: 14,
  /** EPT violation: `errorCode` is the exit qualification, `physical` the guest-physical address. */
  EPT_VIOLATION: -1,
  /** EPT misconfiguration: `physical` is the guest-physical address, `errorCode` 0. */
  EPT_MISCONFIG: -2,
} as const;

/** #PF error-code bits (SDM Vol. 3A Figure 4-12). PK, SS, HLAT and SGX bits are never set. */
export const PfError = { P: 0x1, W: 0x2, U: 0x4, RSVD: 0x8, ID: 0x10 } as const;

/** EPT-violation exit-qualification bits (SDM Vol. 3C Table 28-7). Bit 12 (NMI unblocking due to IRET) is the processor's. */
export const EptQual = {
  READ: 0x1,
  WRITE: 0x2,
  FETCH: 0x4,
  /** The AND of the R bits of the EPT entries used (bit 3), W (bit 4), X (bit 5). */
  READABLE: 0x8,
  WRITABLE: 0x10,
  EXECUTABLE: 0x20,
  /** Bit 7: the guest linear address field is valid (the access was for a linear address). */
  LINEAR_VALID: 0x80,
  /** Bit 8 (with bit 7): the access was to the translation of the linear address (1) rather than a guest paging-structure entry (0). */
  FINAL: 0x100,
  /** Bits 9–11 (advanced information, with bits 7 and 8): the guest translation was user-mode / writable / execute-disable. */
  USER_LINEAR: 0x200,
  WRITABLE_LINEAR: 0x400,
  XD_LINEAR: 0x800,
  NMI_UNBLOCKING: 0x1000,
} as const;

/**
 * Flags OR-ed into the access given to an EPT walk (in addition to `PageAccess` and `PageAccessFlag.PROBE`).
 * `STRUCTURE`: an access to a guest paging-structure entry — a read, but treated as a write (W
 * permission, dirty flag, qualification bits 0 and 1) when EPTP bit 6 enables accessed/dirty flags.
 */
export const EptAccessFlag = { STRUCTURE: 0x10 } as const;

/** EPT memory types (EPT leaf bits 5:3, EPTP bits 2:0). 2, 3 and 7 are reserved. */
export const EptMemoryType = { UC: 0, WC: 1, WT: 4, WP: 5, WB: 6 } as const;

/**
 * The permission summary of a translation, as cached in a TLB entry (8 bits):
 * guest R/W (AND over all levels), guest U/S (AND), guest XD (OR, only with EFER.NXE), guest
 * leaf dirty; EPT R, W, X (AND over the EPT levels) and EPT leaf dirty. Without EPT the four EPT
 * bits are all set.
 */
export const Perm = {
  W: 0x1,
  U: 0x2,
  XD: 0x4,
  D: 0x8,
  ER: 0x10,
  EW: 0x20,
  EX: 0x40,
  ED: 0x80,
  /** All four EPT bits. */
  EPT_ALL: 0xf0,
} as const;

/** Internal: 2^32 as a float multiplier. */
export const TWO32 = 4294967296;

/** Mask of the high dword of an entry whose bits are reserved because they are at or above MAXPHYADDR (only up to bit 51). */
export function highReservedAbove(maxPhysAddrBits: number): number {
  const m = maxPhysAddrBits - 32;
  if (m >= 20) return 0;
  return (0xfffff & ~((1 << m) - 1)) | 0;
}

/** Mask of the address bits 51:32 that are below MAXPHYADDR. */
export function highAddressMask(maxPhysAddrBits: number): number {
  const m = maxPhysAddrBits - 32;
  if (m >= 20) return 0xfffff;
  return (1 << m) - 1;
}
