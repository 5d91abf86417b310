import { hex } from '../memory/layout.js';
import type { PcMemoryLayout } from '../memory/pc-layout.js';
import { EM_386, checkPlacement, isElf, parseElf, type LoadTarget, type LoadedSegment } from './elf.js';
import { ImageFormatError } from './errors.js';

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
/** EAX at kernel entry. */
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
/** The header must lie entirely within this many bytes from the start of the image, 4-byte aligned. */
export const MULTIBOOT_SEARCH_LIMIT = 8192;

/** Header flags. */
export const MultibootHeaderFlags = {
  PageAlignModules: 1 << 0,
  MemoryInfo: 1 << 1,
  VideoMode: 1 << 2,
  AddressFields: 1 << 16,
} as const;

/** Info-structure flags set by this loader. */
export const MultibootInfoFlags = {
  Memory: 1 << 0,
  BootDevice: 1 << 1,
  Cmdline: 1 << 2,
  Modules: 1 << 3,
  Mmap: 1 << 6,
  BootLoaderName: 1 << 9,
} as const;

/** Byte offsets in the multiboot v1 information structure. */
export const MultibootInfoOffsets = {
  flags: 0,
  memLower: 4,
  memUpper: 8,
  bootDevice: 12,
  cmdline: 16,
  modsCount: 20,
  modsAddr: 24,
  syms: 28,
  mmapLength: 44,
  mmapAddr: 48,
  drivesLength: 52,
  drivesAddr: 56,
  configTable: 60,
  bootLoaderName: 64,
  apmTable: 68,
  vbeControlInfo: 72,
  framebufferAddr: 88,
  /** Size of the structure including the framebuffer fields. */
  size: 116,
} as const;

export interface MultibootAddressFields {
  readonly headerAddr: number;
  readonly loadAddr: number;
  readonly loadEndAddr: number;
  readonly bssEndAddr: number;
  readonly entryAddr: number;
}

export interface MultibootHeader {
  /** File offset of the header. */
  readonly offset: number;
  readonly flags: number;
  readonly checksum: number;
  /** Present when flag bit 16 is set. */
  readonly addresses?: MultibootAddressFields;
}

/**
 * Finds the multiboot v1 header: a 4-byte-aligned magic 0x1BADB002 in the first 8192 bytes whose
 * magic + flags + checksum ≡ 0 (mod 2^32). A magic with a wrong checksum is skipped (as GRUB does);
 * if no valid header exists, the error says whether a magic was seen.
 */
export function findMultibootHeader(image: Uint8Array): MultibootHeader {
  if (!(image instanceof Uint8Array)) throw new ImageFormatError('no-multiboot-header', 'kernel image must be a Uint8Array');
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const limit = Math.min(image.length, MULTIBOOT_SEARCH_LIMIT);
  let sawMagic = -1;
  for (let off = 0; off + 12 <= limit; off += 4) {
    if (dv.getUint32(off, true) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = dv.getUint32(off + 4, true);
    const checksum = dv.getUint32(off + 8, true);
    if (((MULTIBOOT_HEADER_MAGIC + flags + checksum) >>> 0) !== 0) {
      if (sawMagic < 0) sawMagic = off;
      continue;
    }
    if ((flags & MultibootHeaderFlags.AddressFields) === 0) return Object.freeze({ offset: off, flags, checksum });
    if (off + 32 > image.length) throw new ImageFormatError('truncated', `multiboot header at ${hex(off)} is truncated (address fields missing)`);
    const addresses = Object.freeze({
      headerAddr: dv.getUint32(off + 12, true),
      loadAddr: dv.getUint32(off + 16, true),
      loadEndAddr: dv.getUint32(off + 20, true),
      bssEndAddr: dv.getUint32(off + 24, true),
      entryAddr: dv.getUint32(off + 28, true),
    });
    return Object.freeze({ offset: off, flags, checksum, addresses });
  }
  if (sawMagic >= 0) throw new ImageFormatError('bad-checksum', `multiboot magic at ${hex(sawMagic)} has a bad checksum`);
  throw new ImageFormatError('no-multiboot-header', `no multiboot header in the first ${MULTIBOOT_SEARCH_LIMIT} bytes`);
}

/** A segment register as the processor issue applies it. `accessRights` uses the VMCS layout. */
export interface SegmentRegisterState {
  readonly selector: number;
  readonly base: number;
  readonly limit: number;
  /** Type[3:0] S[4] DPL[6:5] P[7] AVL[12] L[13] D/B[14] G[15] (VMCS guest access-rights format). */
  readonly accessRights: number;
}

/** The processor state a multiboot loader promises at kernel entry (plain data). */
export interface InitialProcessorState {
  readonly mode: 'protected32';
  readonly eax: number;
  readonly ebx: number;
  readonly ecx: number;
  readonly edx: number;
  readonly esi: number;
  readonly edi: number;
  readonly ebp: number;
  /** Undefined by the specification; set to 0x7C00 so a premature push lands in free low RAM. */
  readonly esp: number;
  readonly eip: number;
  /** 0x2: IF = 0, VM = 0 (interrupts off). */
  readonly eflags: number;
  /** PE | ET; PG = 0 (paging off). */
  readonly cr0: number;
  readonly cr2: number;
  readonly cr3: number;
  readonly cr4: number;
  readonly efer: number;
  readonly cs: SegmentRegisterState;
  readonly ds: SegmentRegisterState;
  readonly es: SegmentRegisterState;
  readonly fs: SegmentRegisterState;
  readonly gs: SegmentRegisterState;
  readonly ss: SegmentRegisterState;
  readonly tr: SegmentRegisterState;
  readonly ldtr: SegmentRegisterState;
  readonly gdtr: { readonly base: number; readonly limit: number };
  readonly idtr: { readonly base: number; readonly limit: number };
}

export interface MultibootLoadOptions {
  /** PC memory map (mem_lower/mem_upper and the mmap come from it). */
  readonly layout: PcMemoryLayout;
  /** Kernel command line (`--append`). Default empty. */
  readonly cmdline?: string;
  /** Default `latelaunch`. */
  readonly bootLoaderName?: string;
  /** Where the boot information goes. Default {@link MULTIBOOT_INFO_ADDRESS}, or right after the kernel if that collides. */
  readonly infoAddress?: number;
}

/** Default base of the boot-information area (free conventional memory, above the real-mode area). */
export const MULTIBOOT_INFO_ADDRESS = 0x10000;
/** Initial ESP (see {@link InitialProcessorState.esp}). */
export const MULTIBOOT_INITIAL_ESP = 0x7c00;

/** Layout of the boot-information area, relative to its base. */
export const MultibootAreaLayout = {
  info: 0,
  gdt: 0x80,
  mmap: 0xa0,
} as const;

export interface MultibootBootInfo {
  /** Base of the boot-information area; EBX. */
  readonly address: number;
  /** Bytes used from `address`. */
  readonly size: number;
  readonly gdtAddress: number;
  readonly mmapAddress: number;
  readonly mmapLength: number;
  readonly modsAddress: number;
  readonly cmdlineAddress: number;
  readonly bootLoaderNameAddress: number;
  readonly flags: number;
}

export interface MultibootLoadResult {
  readonly header: MultibootHeader;
  /** How the image was loaded. */
  readonly format: 'elf' | 'aout-kludge';
  readonly entry: number;
  readonly segments: readonly LoadedSegment[];
  /** Lowest and one-past-highest kernel address (bss included). */
  readonly kernelStart: number;
  readonly kernelEnd: number;
  readonly info: MultibootBootInfo;
  readonly state: InitialProcessorState;
  /** Header requests this loader ignored (e.g. a video mode). */
  readonly warnings: readonly string[];
}

const KNOWN_REQUIRED_FLAGS = MultibootHeaderFlags.PageAlignModules | MultibootHeaderFlags.MemoryInfo | MultibootHeaderFlags.VideoMode;

interface Placement {
  readonly address: number;
  readonly offset: number;
  readonly fileSize: number;
  readonly memSize: number;
}

/** Plans where the kernel's bytes go (without writing anything). */
function planKernel(image: Uint8Array, header: MultibootHeader): { format: 'elf' | 'aout-kludge'; entry: number; parts: Placement[] } {
  const a = header.addresses;
  if (a !== undefined) {
    if (a.loadAddr > a.headerAddr) throw new ImageFormatError('bad-address-fields', `load_addr ${hex(a.loadAddr)} is above header_addr ${hex(a.headerAddr)}`);
    const offset = header.offset - (a.headerAddr - a.loadAddr);
    if (offset < 0) throw new ImageFormatError('bad-address-fields', `header_addr - load_addr (${hex(a.headerAddr - a.loadAddr)}) exceeds the header's file offset ${hex(header.offset)}`);
    let size: number;
    if (a.loadEndAddr === 0) size = image.length - offset;
    else {
      if (a.loadEndAddr < a.loadAddr) throw new ImageFormatError('bad-address-fields', `load_end_addr ${hex(a.loadEndAddr)} is below load_addr ${hex(a.loadAddr)}`);
      size = a.loadEndAddr - a.loadAddr;
    }
    if (offset + size > image.length) throw new ImageFormatError('truncated', `a.out-kludge load range needs ${hex(offset + size)} bytes, file has ${hex(image.length)}`);
    let memSize = size;
    if (a.bssEndAddr !== 0) {
      if (a.bssEndAddr < a.loadAddr + size) throw new ImageFormatError('bad-address-fields', `bss_end_addr ${hex(a.bssEndAddr)} is below the end of the loaded data ${hex(a.loadAddr + size)}`);
      memSize = a.bssEndAddr - a.loadAddr;
    }
    if (memSize === 0) throw new ImageFormatError('bad-address-fields', 'a.out-kludge load range is empty');
    return { format: 'aout-kludge', entry: a.entryAddr, parts: [{ address: a.loadAddr, offset, fileSize: size, memSize }] };
  }
  if (!isElf(image)) throw new ImageFormatError('bad-magic', 'multiboot kernel without address fields (flag bit 16) must be an ELF32 image');
  const elf = parseElf(image);
  if (elf.elfClass !== 32) throw new ImageFormatError('unsupported-class', 'multiboot v1 kernels must be ELF32 (this is ELF64)');
  if (elf.machine !== EM_386) throw new ImageFormatError('unsupported-machine', `multiboot ELF e_machine is ${elf.machine}, expected EM_386 (3)`);
  if (elf.loadSegments.length === 0) throw new ImageFormatError('no-loadable-segments', 'multiboot ELF has no PT_LOAD segment');
  // GRUB 2 semantics: an entry inside a segment's virtual range is translated to its physical address.
  let entry = elf.entry;
  for (const ph of elf.loadSegments) {
    if (ph.vaddr !== ph.paddr && entry >= ph.vaddr && entry < ph.vaddr + ph.memsz) {
      entry = entry - ph.vaddr + ph.paddr;
      break;
    }
  }
  return {
    format: 'elf',
    entry,
    parts: elf.loadSegments.map((ph) => ({ address: ph.paddr, offset: ph.offset, fileSize: ph.filesz, memSize: ph.memsz })),
  };
}

function overlaps(a0: number, a1: number, parts: readonly Placement[]): boolean {
  return parts.some((p) => a0 < p.address + p.memSize && p.address < a1);
}

const flatSegment = (selector: number, accessRights: number): SegmentRegisterState =>
  Object.freeze({ selector, base: 0, limit: 0xffffffff, accessRights });

/**
 * Loads a multiboot v1 kernel like QEMU's `-kernel`: finds the header, loads the image (the a.out-kludge
 * address fields when flag bit 16 is set, else the ELF32 PT_LOAD segments at their physical addresses),
 * writes the boot information and returns the processor state promised at entry.
 *
 * Boot-information area (default base 0x10000, in free conventional memory; if the kernel overlaps it,
 * the next 4 KiB boundary after the kernel's end):
 *
 * | offset | contents                                                             |
 * |--------|----------------------------------------------------------------------|
 * | 0x00   | multiboot_info (116 bytes, rest of the first 128 bytes zero)         |
 * | 0x80   | flat GDT: null, code 0x08 (base 0, 4 GiB, 32-bit), data 0x10         |
 * | 0xA0   | mmap: 24 bytes per E820 entry (size=20, base_addr, length, type)     |
 * | …      | module list (empty; mods_addr points here), cmdline, boot_loader_name |
 *
 * Info flags: mem_lower/mem_upper (bit 0), cmdline (2, always, may be empty), mods (3, count 0),
 * mmap (6), boot_loader_name (9).
 */
export function loadMultiboot(target: LoadTarget, image: Uint8Array, options: MultibootLoadOptions): MultibootLoadResult {
  const header = findMultibootHeader(image);
  const warnings: string[] = [];
  const required = header.flags & 0xffff;
  const unknown = required & ~KNOWN_REQUIRED_FLAGS;
  if (unknown !== 0) throw new ImageFormatError('unsupported-flags', `multiboot header requires unsupported features (flags ${hex(unknown)})`);
  if ((header.flags & MultibootHeaderFlags.VideoMode) !== 0) warnings.push('video mode requested (flag bit 2): no framebuffer is provided');

  const plan = planKernel(image, header);
  plan.parts.forEach((p, i) => checkPlacement(target, p.address, p.memSize, `kernel segment ${i}`));
  const kernelStart = Math.min(...plan.parts.map((p) => p.address));
  const kernelEnd = Math.max(...plan.parts.map((p) => p.address + p.memSize));

  // Boot information: sizes first, then the place.
  const encoder = new TextEncoder();
  const cmdline = encoder.encode(`${options.cmdline ?? ''}\0`);
  const name = encoder.encode(`${options.bootLoaderName ?? 'latelaunch'}\0`);
  const e820 = options.layout.e820;
  const mmapLength = e820.length * 24;
  const modsOff = MultibootAreaLayout.mmap + mmapLength;
  const cmdlineOff = modsOff; // the module list is empty: its address is where it would start
  const nameOff = cmdlineOff + cmdline.length;
  const size = nameOff + name.length;

  let base: number;
  if (options.infoAddress !== undefined) {
    base = options.infoAddress;
    if (!Number.isInteger(base) || base < 0 || base % 16 !== 0) throw new ImageFormatError('address-out-of-range', `infoAddress ${base} must be a 16-byte aligned address`);
    if (overlaps(base, base + size, plan.parts)) throw new ImageFormatError('overlap', `boot information at ${hex(base)} overlaps the kernel`);
  } else {
    base = MULTIBOOT_INFO_ADDRESS;
    if (overlaps(base, base + size, plan.parts)) base = Math.ceil(kernelEnd / 4096) * 4096;
  }
  if (base + size > 0x100000000) throw new ImageFormatError('overlap', `boot information does not fit below 4 GiB (at ${hex(base)})`);
  checkPlacement(target, base, size, 'boot information');

  // Load the kernel.
  for (const p of plan.parts) {
    target.writeBytes(p.address, image.subarray(p.offset, p.offset + p.fileSize));
    if (p.memSize > p.fileSize) target.fill(p.address + p.fileSize, p.memSize - p.fileSize, 0);
  }

  // Build the area in a buffer, then write it.
  const area = new Uint8Array(size);
  const dv = new DataView(area.buffer);
  const O = MultibootInfoOffsets;
  const flags = MultibootInfoFlags.Memory | MultibootInfoFlags.Cmdline | MultibootInfoFlags.Modules | MultibootInfoFlags.Mmap | MultibootInfoFlags.BootLoaderName;
  dv.setUint32(O.flags, flags, true);
  dv.setUint32(O.memLower, options.layout.lowerMemoryKiB, true);
  dv.setUint32(O.memUpper, Math.min(options.layout.upperMemoryKiB, 0xffffffff), true);
  dv.setUint32(O.cmdline, base + cmdlineOff, true);
  dv.setUint32(O.modsCount, 0, true);
  dv.setUint32(O.modsAddr, base + modsOff, true);
  dv.setUint32(O.mmapLength, mmapLength, true);
  dv.setUint32(O.mmapAddr, base + MultibootAreaLayout.mmap, true);
  dv.setUint32(O.bootLoaderName, base + nameOff, true);
  // GDT: null, flat code, flat data.
  dv.setBigUint64(MultibootAreaLayout.gdt + 8, 0x00cf9b000000ffffn, true);
  dv.setBigUint64(MultibootAreaLayout.gdt + 16, 0x00cf93000000ffffn, true);
  e820.forEach((e, i) => {
    const o = MultibootAreaLayout.mmap + i * 24;
    dv.setUint32(o, 20, true);
    dv.setBigUint64(o + 4, BigInt(e.base), true);
    dv.setBigUint64(o + 12, BigInt(e.length), true);
    dv.setUint32(o + 20, e.type, true);
  });
  area.set(cmdline, cmdlineOff);
  area.set(name, nameOff);
  target.writeBytes(base, area);

  const code = flatSegment(0x08, 0xc09b);
  const data = flatSegment(0x10, 0xc093);
  const state: InitialProcessorState = Object.freeze({
    mode: 'protected32',
    eax: MULTIBOOT_BOOTLOADER_MAGIC,
    ebx: base,
    ecx: 0,
    edx: 0,
    esi: 0,
    edi: 0,
    ebp: 0,
    esp: MULTIBOOT_INITIAL_ESP,
    eip: plan.entry,
    eflags: 0x2,
    cr0: 0x11,
    cr2: 0,
    cr3: 0,
    cr4: 0,
    efer: 0,
    cs: code,
    ds: data,
    es: data,
    fs: data,
    gs: data,
    ss: data,
    tr: Object.freeze({ selector: 0, base: 0, limit: 0xffff, accessRights: 0x8b }),
    ldtr: Object.freeze({ selector: 0, base: 0, limit: 0xffff, accessRights: 0x82 }),
    gdtr: Object.freeze({ base: base + MultibootAreaLayout.gdt, limit: 23 }),
    idtr: Object.freeze({ base: 0, limit: 0xffff }),
  });

  return Object.freeze({
    header,
    format: plan.format,
    entry: plan.entry,
    segments: Object.freeze(plan.parts.map((p) => Object.freeze({ address: p.address, fileSize: p.fileSize, memSize: p.memSize }))),
    kernelStart,
    kernelEnd,
    info: Object.freeze({
      address: base,
      size,
      gdtAddress: base + MultibootAreaLayout.gdt,
      mmapAddress: base + MultibootAreaLayout.mmap,
      mmapLength,
      modsAddress: base + modsOff,
      cmdlineAddress: base + cmdlineOff,
      bootLoaderNameAddress: base + nameOff,
      flags,
    }),
    state,
    warnings: Object.freeze(warnings),
  });
}
