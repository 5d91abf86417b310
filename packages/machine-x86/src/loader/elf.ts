import { MAX_PHYSICAL_ADDRESS, hex } from '../memory/layout.js';
import { ImageFormatError } from './errors.js';

export const PT_LOAD = 1;
export const EM_386 = 3;
export const EM_X86_64 = 62;

export interface ElfProgramHeader {
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  /** As a number: exact below 2^53 (ELF32 always); see {@link vaddr64} for canonical high ELF64 addresses. */
  readonly vaddr: number;
  /** The exact virtual address. */
  readonly vaddr64: bigint;
  readonly paddr: number;
  readonly filesz: number;
  readonly memsz: number;
  readonly align: number;
}

export interface ElfImage {
  readonly elfClass: 32 | 64;
  /** e_type (2 = ET_EXEC). */
  readonly type: number;
  /** e_machine (3 = EM_386, 62 = EM_X86_64). */
  readonly machine: number;
  /** As a number: exact below 2^53 (ELF32 always); see {@link entry64} for higher-half ELF64 kernels. */
  readonly entry: number;
  /** The exact entry point. */
  readonly entry64: bigint;
  /** Every program header, in file order. */
  readonly programHeaders: readonly ElfProgramHeader[];
  /** The PT_LOAD headers with a non-zero memsz, in file order. */
  readonly loadSegments: readonly ElfProgramHeader[];
}

/** Where loaded bytes go: `SparseMemory` satisfies it. */
export interface LoadTarget {
  writeBytes(pa: number, bytes: Uint8Array): void;
  fill(pa: number, length: number, value?: number): void;
  /** True when every byte of the range is RAM. */
  isBacked(pa: number, length: number): boolean;
}

export interface LoadedSegment {
  /** Physical address of the first byte. */
  readonly address: number;
  readonly fileSize: number;
  readonly memSize: number;
}

export interface LoadedImage {
  readonly entry: number;
  readonly segments: readonly LoadedSegment[];
  /** Lowest loaded address. */
  readonly start: number;
  /** One past the highest loaded byte (bss included). */
  readonly end: number;
}

/** True when `bytes` starts with the ELF magic. */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

/**
 * Parses an ELF32 or ELF64 little-endian header and its program headers. Never reads outside
 * `bytes`; every inconsistency is an {@link ImageFormatError}.
 */
export function parseElf(bytes: Uint8Array): ElfImage {
  if (!(bytes instanceof Uint8Array)) throw new ImageFormatError('bad-magic', 'ELF image must be a Uint8Array');
  if (!isElf(bytes)) throw new ImageFormatError('bad-magic', 'not an ELF file (missing \\x7fELF magic)');
  if (bytes.length < 16) throw new ImageFormatError('truncated', 'ELF identification is truncated');
  const cls = bytes[4];
  if (cls !== 1 && cls !== 2) throw new ImageFormatError('unsupported-class', `unsupported ELF class ${cls}`);
  if (bytes[5] !== 1) throw new ImageFormatError('unsupported-endianness', `unsupported ELF data encoding ${bytes[5]} (only little-endian)`);
  if (bytes[6] !== 1) throw new ImageFormatError('unsupported-version', `unsupported ELF version ${bytes[6]}`);
  const is64 = cls === 2;
  const ehsize = is64 ? 64 : 52;
  if (bytes.length < ehsize) throw new ImageFormatError('truncated', `ELF header is truncated (${bytes.length} < ${ehsize} bytes)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (o: number) => dv.getUint16(o, true);
  const u32 = (o: number) => dv.getUint32(o, true);
  /** A field that must be an exact number (offsets, sizes, physical addresses). */
  const addr = (o: number, what: string): number => {
    if (!is64) return u32(o);
    const v = dv.getBigUint64(o, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ImageFormatError('address-out-of-range', `${what} ${'0x' + v.toString(16)} does not fit`);
    return Number(v);
  };
  /** A virtual address: kept exact as a bigint, approximated as a number. */
  const vaddr = (o: number): bigint => (is64 ? dv.getBigUint64(o, true) : BigInt(u32(o)));
  const type = u16(16);
  const machine = u16(18);
  if (u32(20) !== 1) throw new ImageFormatError('unsupported-version', `unsupported ELF e_version ${u32(20)}`);
  const entry64 = vaddr(24);
  const phoff = addr(is64 ? 32 : 28, 'e_phoff');
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  const minEnt = is64 ? 56 : 32;
  if (phnum === 0xffff) throw new ImageFormatError('bad-program-headers', 'extended program header numbering (PN_XNUM) is not supported');
  if (phnum > 0 && phentsize < minEnt) throw new ImageFormatError('bad-program-headers', `e_phentsize ${phentsize} is smaller than ${minEnt}`);
  if (phnum > 0 && phoff + phnum * phentsize > bytes.length) {
    throw new ImageFormatError('truncated', `program header table [${hex(phoff)}, +${phnum}×${phentsize}) extends beyond the file (${bytes.length} bytes)`);
  }
  const programHeaders: ElfProgramHeader[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    const v64 = vaddr(o + (is64 ? 16 : 8));
    const ph: ElfProgramHeader = is64
      ? {
          type: u32(o),
          flags: u32(o + 4),
          offset: addr(o + 8, 'p_offset'),
          vaddr: Number(v64),
          vaddr64: v64,
          paddr: addr(o + 24, 'p_paddr'),
          filesz: addr(o + 32, 'p_filesz'),
          memsz: addr(o + 40, 'p_memsz'),
          align: Number(dv.getBigUint64(o + 48, true)),
        }
      : {
          type: u32(o),
          offset: u32(o + 4),
          vaddr: Number(v64),
          vaddr64: v64,
          paddr: u32(o + 12),
          filesz: u32(o + 16),
          memsz: u32(o + 20),
          flags: u32(o + 24),
          align: u32(o + 28),
        };
    if (ph.type === PT_LOAD) {
      if (ph.filesz > ph.memsz) throw new ImageFormatError('bad-segment', `segment ${i}: p_filesz ${hex(ph.filesz)} > p_memsz ${hex(ph.memsz)}`);
      if (ph.offset + ph.filesz > bytes.length) {
        throw new ImageFormatError('truncated', `segment ${i}: file data [${hex(ph.offset)}, +${hex(ph.filesz)}) extends beyond the file (${bytes.length} bytes)`);
      }
    }
    programHeaders.push(Object.freeze(ph));
  }
  const loadSegments = programHeaders.filter((p) => p.type === PT_LOAD && p.memsz > 0);
  return Object.freeze({
    elfClass: is64 ? 64 : 32,
    type,
    machine,
    entry: Number(entry64),
    entry64,
    programHeaders: Object.freeze(programHeaders),
    loadSegments: Object.freeze(loadSegments),
  });
}

export interface LoadElfOptions {
  /** Which header field gives the load address. Default `'paddr'` (as QEMU and GRUB load kernels). */
  readonly address?: 'paddr' | 'vaddr';
}

/** Checks that `[address, address + size)` is inside the physical address space and RAM. */
export function checkPlacement(target: LoadTarget, address: number, size: number, what: string): void {
  if (address + size > MAX_PHYSICAL_ADDRESS) throw new ImageFormatError('address-out-of-range', `${what} [${hex(address)}, +${hex(size)}) is beyond 2^52`);
  if (!target.isBacked(address, size)) throw new ImageFormatError('not-backed', `${what} [${hex(address)}, ${hex(address + size)}) is not inside RAM`);
}

/**
 * Parses and loads an ELF image: every PT_LOAD segment's file bytes at its physical (default) or
 * virtual address, then zeros up to memsz. Segments must lie inside RAM. Returns the entry point
 * unchanged (see the multiboot loader for entry translation).
 */
export function loadElf(target: LoadTarget, bytes: Uint8Array, options: LoadElfOptions = {}): LoadedImage & { readonly image: ElfImage } {
  const image = parseElf(bytes);
  if (image.loadSegments.length === 0) throw new ImageFormatError('no-loadable-segments', 'ELF image has no PT_LOAD segment');
  const field = options.address ?? 'paddr';
  const segments = image.loadSegments.map((ph, i) => {
    const address = ph[field];
    checkPlacement(target, address, ph.memsz, `segment ${i}`);
    return { ph, address };
  });
  for (const { ph, address } of segments) {
    target.writeBytes(address, bytes.subarray(ph.offset, ph.offset + ph.filesz));
    if (ph.memsz > ph.filesz) target.fill(address + ph.filesz, ph.memsz - ph.filesz, 0);
  }
  const loaded = segments.map(({ ph, address }) => Object.freeze({ address, fileSize: ph.filesz, memSize: ph.memsz }));
  return Object.freeze({
    image,
    entry: image.entry,
    segments: Object.freeze(loaded),
    start: Math.min(...loaded.map((s) => s.address)),
    end: Math.max(...loaded.map((s) => s.address + s.memSize)),
  });
}

/** Copies a flat binary to `address` (inside RAM). */
export function loadFlatBinary(target: LoadTarget, bytes: Uint8Array, address: number): LoadedImage {
  if (!Number.isInteger(address) || address < 0) throw new ImageFormatError('address-out-of-range', `load address ${address} is not a physical address`);
  checkPlacement(target, address, bytes.length, 'flat binary');
  target.writeBytes(address, bytes);
  const seg = Object.freeze({ address, fileSize: bytes.length, memSize: bytes.length });
  return Object.freeze({ entry: address, segments: Object.freeze([seg]), start: address, end: address + bytes.length });
}
