/**
 * The boot-information structure the firmware hands the OS: multiboot v1 `multiboot_info` in
 * exactly the byte layout of the loader's boot-information area (`loadMultiboot`), plus a
 * latelaunch extension carrying the RSDP address.
 *
 * | offset | contents |
 * |---|---|
 * | 0x00 | `multiboot_info` (116 bytes): flags 0x24D (mem, cmdline, mods, mmap, boot_loader_name), mem_lower, mem_upper, cmdline, mods_count 0, mods_addr, mmap_length, mmap_addr, boot_loader_name |
 * | 0x74 | **extension**: u32 magic 0x5746_4C4C (bytes `"LLFW"`) |
 * | 0x78 | u32 RSDP physical address |
 * | 0x7C | u32 E820 entry count |
 * | 0x80 | flat GDT (null, 0x08 code, 0x10 data), as the loader writes it |
 * | 0xA0 | mmap: per E820 entry `size = 20`, `base_addr` (u64), `length` (u64), `type` (u32) |
 * | after | cmdline (NUL-terminated), boot-loader name (NUL-terminated) |
 *
 * The extension lives in bytes the multiboot specification leaves unused (the structure ends at
 * 0x74), so a plain multiboot kernel ignores it. `loadMultiboot` writes its own area (zeroing
 * 0x74–0x7F); {@link stampRsdpExtension} adds the extension to it afterwards.
 */
import { MultibootAreaLayout, MultibootInfoFlags, MultibootInfoOffsets } from '../loader/multiboot.js';
import type { E820Entry } from '../memory/pc-layout.js';

/** Bytes "LLFW" read as a little-endian u32. */
export const BOOT_INFO_EXTENSION_MAGIC = 0x57464c4c;
export const BootInfoExtensionOffsets = { magic: 0x74, rsdpAddress: 0x78, e820Count: 0x7c } as const;

export interface BootInfoInput {
  readonly address: number;
  readonly e820: readonly E820Entry[];
  readonly lowerMemoryKiB: number;
  readonly upperMemoryKiB: number;
  readonly cmdline: string;
  readonly bootLoaderName: string;
  readonly rsdpAddress: number;
}

export interface BootInfo {
  readonly address: number;
  readonly size: number;
  readonly bytes: Uint8Array;
  readonly mmapAddress: number;
  readonly mmapLength: number;
  readonly cmdlineAddress: number;
  readonly bootLoaderNameAddress: number;
  readonly flags: number;
}

/** Encodes the boot-information area (nothing is written). */
export function encodeBootInfo(input: BootInfoInput): BootInfo {
  const enc = new TextEncoder();
  const cmdline = enc.encode(`${input.cmdline}\0`);
  const name = enc.encode(`${input.bootLoaderName}\0`);
  const mmapLength = input.e820.length * 24;
  const cmdlineOff = MultibootAreaLayout.mmap + mmapLength;
  const nameOff = cmdlineOff + cmdline.length;
  const size = nameOff + name.length;
  const bytes = new Uint8Array(size);
  const dv = new DataView(bytes.buffer);
  const O = MultibootInfoOffsets;
  const base = input.address;
  const flags = MultibootInfoFlags.Memory | MultibootInfoFlags.Cmdline | MultibootInfoFlags.Modules | MultibootInfoFlags.Mmap | MultibootInfoFlags.BootLoaderName;
  dv.setUint32(O.flags, flags, true);
  dv.setUint32(O.memLower, input.lowerMemoryKiB, true);
  dv.setUint32(O.memUpper, Math.min(input.upperMemoryKiB, 0xffffffff), true);
  dv.setUint32(O.cmdline, base + cmdlineOff, true);
  dv.setUint32(O.modsCount, 0, true);
  dv.setUint32(O.modsAddr, base + cmdlineOff, true);
  dv.setUint32(O.mmapLength, mmapLength, true);
  dv.setUint32(O.mmapAddr, base + MultibootAreaLayout.mmap, true);
  dv.setUint32(O.bootLoaderName, base + nameOff, true);
  dv.setUint32(BootInfoExtensionOffsets.magic, BOOT_INFO_EXTENSION_MAGIC, true);
  dv.setUint32(BootInfoExtensionOffsets.rsdpAddress, input.rsdpAddress, true);
  dv.setUint32(BootInfoExtensionOffsets.e820Count, input.e820.length, true);
  dv.setBigUint64(MultibootAreaLayout.gdt + 8, 0x00cf9b000000ffffn, true);
  dv.setBigUint64(MultibootAreaLayout.gdt + 16, 0x00cf93000000ffffn, true);
  input.e820.forEach((e, i) => {
    const o = MultibootAreaLayout.mmap + i * 24;
    dv.setUint32(o, 20, true);
    dv.setBigUint64(o + 4, BigInt(e.base), true);
    dv.setBigUint64(o + 12, BigInt(e.length), true);
    dv.setUint32(o + 20, e.type, true);
  });
  bytes.set(cmdline, cmdlineOff);
  bytes.set(name, nameOff);
  return {
    address: base,
    size,
    bytes,
    mmapAddress: base + MultibootAreaLayout.mmap,
    mmapLength,
    cmdlineAddress: base + cmdlineOff,
    bootLoaderNameAddress: base + nameOff,
    flags,
  };
}

/** Something bytes can be written to (`SparseMemory`, `Bus`-backed writers). */
export interface ByteWriter {
  writeBytes(pa: number, bytes: Uint8Array): void;
}

/** Writes the latelaunch extension (magic, RSDP, E820 count) into a multiboot info area at `infoAddress`. */
export function stampRsdpExtension(memory: ByteWriter, infoAddress: number, rsdpAddress: number, e820Count: number): void {
  const b = new Uint8Array(12);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, BOOT_INFO_EXTENSION_MAGIC, true);
  dv.setUint32(4, rsdpAddress, true);
  dv.setUint32(8, e820Count, true);
  memory.writeBytes(infoAddress + BootInfoExtensionOffsets.magic, b);
}

/** Reads the extension back: the RSDP address, or null when the magic is absent. */
export function readRsdpExtension(read: (pa: number, length: number) => Uint8Array, infoAddress: number): number | null {
  const b = read(infoAddress + BootInfoExtensionOffsets.magic, 8);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return dv.getUint32(0, true) === BOOT_INFO_EXTENSION_MAGIC ? dv.getUint32(4, true) : null;
}
