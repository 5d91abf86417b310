/** Builders for synthetic ELF and multiboot images used by the loader tests. */

export interface SegmentSpec {
  readonly paddr: number;
  readonly vaddr?: number;
  readonly data: Uint8Array;
  readonly memsz?: number;
  readonly type?: number;
  readonly flags?: number;
}

export interface ElfSpec {
  readonly entry: number;
  readonly segments: readonly SegmentSpec[];
  readonly machine?: number;
  readonly elfClass?: 32 | 64;
}

/** A minimal little-endian ELF executable: header, program headers, then each segment's data (16-byte aligned). */
export function buildElf(spec: ElfSpec): Uint8Array {
  const is64 = spec.elfClass === 64;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const phoff = ehsize;
  let off = phoff + phentsize * spec.segments.length;
  const offsets: number[] = [];
  for (const s of spec.segments) {
    off = Math.ceil(off / 16) * 16;
    offsets.push(off);
    off += s.data.length;
  }
  const out = new Uint8Array(off);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, 1, 1]);
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, spec.machine ?? (is64 ? 62 : 3), true);
  dv.setUint32(20, 1, true);
  if (is64) {
    dv.setBigUint64(24, BigInt(spec.entry), true);
    dv.setBigUint64(32, BigInt(phoff), true);
    dv.setUint16(52, ehsize, true);
    dv.setUint16(54, phentsize, true);
    dv.setUint16(56, spec.segments.length, true);
  } else {
    dv.setUint32(24, spec.entry, true);
    dv.setUint32(28, phoff, true);
    dv.setUint16(40, ehsize, true);
    dv.setUint16(42, phentsize, true);
    dv.setUint16(44, spec.segments.length, true);
  }
  spec.segments.forEach((s, i) => {
    const o = phoff + i * phentsize;
    const vaddr = s.vaddr ?? s.paddr;
    const memsz = s.memsz ?? s.data.length;
    if (is64) {
      dv.setUint32(o, s.type ?? 1, true);
      dv.setUint32(o + 4, s.flags ?? 5, true);
      dv.setBigUint64(o + 8, BigInt(offsets[i]), true);
      dv.setBigUint64(o + 16, BigInt(vaddr), true);
      dv.setBigUint64(o + 24, BigInt(s.paddr), true);
      dv.setBigUint64(o + 32, BigInt(s.data.length), true);
      dv.setBigUint64(o + 40, BigInt(memsz), true);
      dv.setBigUint64(o + 48, 0x1000n, true);
    } else {
      dv.setUint32(o, s.type ?? 1, true);
      dv.setUint32(o + 4, offsets[i], true);
      dv.setUint32(o + 8, vaddr, true);
      dv.setUint32(o + 12, s.paddr, true);
      dv.setUint32(o + 16, s.data.length, true);
      dv.setUint32(o + 20, memsz, true);
      dv.setUint32(o + 24, s.flags ?? 5, true);
      dv.setUint32(o + 28, 0x1000, true);
    }
    out.set(s.data, offsets[i]);
  });
  return out;
}

/** The 12-byte multiboot header (plus the address fields when given). */
export function multibootHeader(flags: number, addresses?: [number, number, number, number, number]): Uint8Array {
  const words = [0x1badb002, flags >>> 0, (-(0x1badb002 + flags) >>> 0) >>> 0, ...(addresses ?? [])];
  const out = new Uint8Array(words.length * 4);
  const dv = new DataView(out.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, true));
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function u32le(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, true);
}
