/**
 * The root OS memory layout: ONE source of truth shared by the image builder (x86 code), the native
 * services and the TypeScript readers. Every address is physical and identity-mapped in every mode.
 */

/** Physical address the image is loaded at (and assembled for). */
export const IMAGE_BASE = 0x100000;
/** Largest image (code + data) that fits below the stacks. */
export const IMAGE_MAX_SIZE = 0x70000;

/** Boot (BSP) stack: grows down from here. */
export const BOOT_STACK_TOP = 0x178000;
/** NMI stack (IST1 in long mode): 16 KiB below this top. */
export const NMI_STACK_TOP = 0x17c000;
/** Double-fault stack (IST2 in long mode). */
export const DF_STACK_TOP = 0x180000;

/** Page tables: PML4 (long), PDPT (long, PAE), four page directories (long, PAE) or one (protected). */
export const PML4_ADDRESS = 0x180000;
export const PDPT_ADDRESS = 0x181000;
export const PD_ADDRESS = 0x182000;
/** Bytes mapped by the identity map: the low 4 GiB in every mode (2 MiB pages long/PAE, 4 MiB protected). */
export const IDENTITY_MAP_BYTES = 0x100000000;

/** The discovery inventory (see inventory.ts for its layout). */
export const INVENTORY_ADDRESS = 0x190000;
export const INVENTORY_MAX_SIZE = 0x10000;

/** Page-frame allocator: header page, then a bitmap of the low 4 GiB (bit set = frame free). */
export const PFA_ADDRESS = 0x1a0000;
export const PFA_BITMAP_ADDRESS = 0x1a1000;
/** Frames tracked by the bitmap (4 GiB / 4 KiB). */
export const PFA_FRAMES = 0x100000;
export const PFA_BITMAP_BYTES = PFA_FRAMES / 8;
/** Frames below this address are never handed out (real-mode area, firmware data, kernel, OS data). */
export const PFA_RESERVED_BELOW = 0x200000;

/** Selectors of the OS GDT (the same in every mode). */
export const Selectors = Object.freeze({ CODE32: 0x08, DATA: 0x10, CODE64: 0x18, TSS: 0x20 });

/** Native-service numbers of the root OS. */
export const RootOsServices = Object.freeze({
  /** EDI = inventory address, ESI = boot-info address, EDX = EAX at entry → EAX = anomaly count. */
  DISCOVER: 0x0700,
  /** EDI = allocator header address, ESI = boot-info address → EAX = free frames. */
  PFA_INIT: 0x0701,
  /** EDI = allocator header address → EAX = physical address of a fresh 4 KiB frame, 0 if none. */
  PFA_ALLOC: 0x0702,
});

export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
