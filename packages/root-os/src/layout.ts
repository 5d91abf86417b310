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
/** Frames below this address are never handed out (real-mode area, firmware data, kernel, OS data, the per-AP stacks 0x200000–0x5FFFFF). */
export const PFA_RESERVED_BELOW = 0x600000;

/** Kernel heap header (one page between the allocator's bitmap and the SMP block); blocks live in frames from the page-frame allocator. */
export const HEAP_ADDRESS = 0x1c1000;
/** Largest single `kmalloc` request (bytes). */
export const HEAP_MAX_ALLOC = 0x100000;

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
  /** EDI = heap header address, ESI = allocator header address → EAX = free heap bytes, 0 if no frame. */
  HEAP_INIT: 0x0703,
  /** EDI = heap header address, ECX = size → EAX = 16-byte-aligned address, 0 if none. */
  KMALLOC: 0x0704,
  /** EDI = heap header address, ESI = address → EAX = 0 (freed) or 0xFFFFFFFF (invalid, heap untouched). */
  KFREE: 0x0705,
});

export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;

// ---------------------------------------------------------------- SMP (issue 7, second part)

/** Local APIC MMIO base (xAPIC) the OS programs. */
export const LAPIC_BASE = 0xfee00000;
/** Real-mode SIPI trampoline (copied there by the BSP): SIPI vector 0x08. */
export const TRAMPOLINE_ADDRESS = 0x8000;
export const SIPI_VECTOR = TRAMPOLINE_ADDRESS >> 12;
/** Highest APIC ID the OS brings up (xAPIC physical destinations; records are indexed by APIC ID). */
export const SMP_MAX_APIC_ID = 254;
/** SMP control block (header) and, from SMP_RECORDS_ADDRESS, one 64-byte record per APIC ID (0..255). */
export const SMP_ADDRESS = 0x1c2000;
export const SMP_RECORDS_ADDRESS = 0x1c2100;
export const SMP_RECORD_SIZE = 64;
export const SMP_MAGIC = 0x50534c4c; // "LLSP"
/** Header offsets (u32 each). */
export const SmpHeaderOffsets = Object.freeze({ magic: 0x00, version: 0x04, expected: 0x08, online: 0x0c, timedOut: 0x10, bspApicId: 0x14, phase: 0x18 });
/** Per-processor record offsets (u32 each). */
export const SmpRecordOffsets = Object.freeze({ state: 0x00, apicId: 0x04, ticks: 0x08, checksum: 0x0c, passes: 0x10, pongs: 0x14, nmis: 0x18, onlineAt: 0x1c });
/** Record states. */
export const SmpState = Object.freeze({ ABSENT: 0, STARTING: 1, ONLINE: 2, TIMED_OUT: 3 });
/** Phases of the header. */
export const SmpPhase = Object.freeze({ BRINGUP: 1, RUNNING: 2 });
/** Per-AP stacks: one 16 KiB block per APIC ID (DF stack 4 KiB, NMI stack 4 KiB, kernel stack 8 KiB). */
export const AP_AREA_ADDRESS = 0x200000;
export const AP_AREA_STRIDE = 0x4000;
/** Interrupt vectors of the workload. */
export const TIMER_VECTOR = 0x40;
export const PING_VECTOR = 0x41;
export const WAKE_VECTOR = 0x42;
/** First per-processor TSS selector: 0x30 + APIC ID × 16. */
export const AP_TSS_SELECTOR_BASE = 0x30;
/** PM timer ticks (3.579545 MHz) of the INIT-SIPI-SIPI waits and the bring-up timeout. */
export const PM_TICKS_10MS = 35795;
/** Longest halt between two PM-timer reads of a wait (1 ms). */
export const PM_TICKS_1MS = 3580;
export const PM_TICKS_200US = 716;
export const PM_TICKS_BRINGUP_TIMEOUT = 357954; // 100 ms
