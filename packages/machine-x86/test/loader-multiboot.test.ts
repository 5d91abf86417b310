import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ImageFormatError,
  MULTIBOOT_BOOTLOADER_MAGIC,
  SparseMemory,
  buildPcMemoryLayout,
  findMultibootHeader,
  loadMultiboot,
  type ImageErrorReason,
} from '../src/index.js';
import { buildElf, concat, multibootHeader, u32le } from './loader-fixtures.js';

const layout = buildPcMemoryLayout(128);
const mem = () => new SparseMemory({ ranges: layout.ranges });
const code = (n: number) => Uint8Array.from({ length: n }, (_, i) => 0x90 ^ (i & 0x0f));

function expectImageError(fn: () => unknown, reason: ImageErrorReason) {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ImageFormatError);
    expect((e as ImageFormatError).reason).toBe(reason);
    return;
  }
  expect.unreachable(`expected ImageFormatError(${reason})`);
}

/** An ELF32 multiboot kernel: header at the start of .text, text at 1 MiB, bss after it. */
function elfKernel(opts: { flags?: number; vaddrOffset?: number; entryOffset?: number; textPaddr?: number } = {}) {
  const text = concat(multibootHeader(opts.flags ?? 0x3), code(0x200));
  const p = opts.textPaddr ?? 0x100000;
  const off = opts.vaddrOffset ?? 0;
  return buildElf({
    entry: p + off + (opts.entryOffset ?? 12),
    segments: [
      { paddr: p, vaddr: p + off, data: text, memsz: text.length },
      { paddr: p + 0x1000, vaddr: p + 0x1000 + off, data: code(0x40), memsz: 0x3000 },
    ],
  });
}

describe('findMultibootHeader', () => {
  it('finds the header at any 4-byte offset below 8192 and nowhere else', () => {
    for (const at of [0, 4, 100, 8180]) {
      const img = new Uint8Array(9000);
      img.set(multibootHeader(0x10003, [0, 0, 0, 0, 0]).subarray(0, 12), at);
      expect(findMultibootHeader(img).offset).toBe(at);
    }
    const late = new Uint8Array(9000);
    late.set(multibootHeader(0), 8184); // would end beyond 8192
    expectImageError(() => findMultibootHeader(late), 'no-multiboot-header');
    const unaligned = new Uint8Array(100);
    unaligned.set(multibootHeader(0), 2);
    expectImageError(() => findMultibootHeader(unaligned), 'no-multiboot-header');
  });

  it('skips a magic with a bad checksum, and reports it when nothing valid follows', () => {
    const bad = multibootHeader(0);
    bad[8] ^= 1;
    expectImageError(() => findMultibootHeader(concat(bad, new Uint8Array(64))), 'bad-checksum');
    const h = findMultibootHeader(concat(bad, multibootHeader(0x2)));
    expect([h.offset, h.flags]).toEqual([12, 2]);
  });

  it('reads the address fields when flag bit 16 is set', () => {
    const h = findMultibootHeader(multibootHeader(0x10000, [0x100000, 0x100000, 0x101000, 0x102000, 0x100020]));
    expect(h.addresses).toEqual({ headerAddr: 0x100000, loadAddr: 0x100000, loadEndAddr: 0x101000, bssEndAddr: 0x102000, entryAddr: 0x100020 });
    expectImageError(() => findMultibootHeader(multibootHeader(0x10000)), 'truncated');
  });
});

describe('loadMultiboot: ELF32 kernels', () => {
  it('loads segments at p_paddr, zeroes bss, and returns the promised processor state', () => {
    const m = mem();
    m.fill(0x101000, 0x4000, 0xcc); // dirty RAM where bss goes
    const img = elfKernel();
    const r = loadMultiboot(m, img, { layout, cmdline: 'console=ttyS0' });
    expect(r.format).toBe('elf');
    expect([r.kernelStart, r.kernelEnd, r.entry]).toEqual([0x100000, 0x104000, 0x10000c]);
    expect(u32le(m.readBytes(0x100000, 4), 0)).toBe(0x1badb002);
    expect(m.readBytes(0x101040, 0x2fc0).every((b) => b === 0)).toBe(true);
    expect(m.read8(0x104000)).toBe(0xcc);
    expect(r.state).toMatchObject({
      mode: 'protected32',
      eax: MULTIBOOT_BOOTLOADER_MAGIC,
      ebx: 0x10000,
      eip: 0x10000c,
      eflags: 0x2,
      cr0: 0x11,
      cr3: 0,
      cr4: 0,
      efer: 0,
      cs: { selector: 0x08, base: 0, limit: 0xffffffff, accessRights: 0xc09b },
      ss: { selector: 0x10, base: 0, limit: 0xffffffff, accessRights: 0xc093 },
      gdtr: { base: 0x10080, limit: 23 },
    });
    expect(r.state.cr0 & 0x80000000).toBe(0); // paging off
    expect(r.state.eflags & 0x200).toBe(0); // interrupts off
    for (const s of ['ds', 'es', 'fs', 'gs'] as const) expect(r.state[s]).toEqual(r.state.ss);
    // The GDT the selectors refer to really is in memory.
    expect(m.read64(0x10080)).toBe(0n);
    expect(m.read64(0x10088)).toBe(0x00cf9b000000ffffn);
    expect(m.read64(0x10090)).toBe(0x00cf93000000ffffn);
    expect(r.warnings).toEqual([]);
  });

  it('writes the multiboot information structure byte by byte', () => {
    const m = mem();
    const r = loadMultiboot(m, elfKernel(), { layout, cmdline: 'console=ttyS0 x=1' });
    const base = 0x10000;
    // Expected area, built independently of the implementation's constants.
    const exp = new Uint8Array(0x105);
    const dv = new DataView(exp.buffer);
    dv.setUint32(0, 0x24d, true); // flags: mem, cmdline, mods, mmap, boot_loader_name
    dv.setUint32(4, 639, true); // mem_lower (KiB)
    dv.setUint32(8, 127 * 1024, true); // mem_upper (KiB from 1 MiB)
    dv.setUint32(12, 0, true); // boot_device (flag clear)
    dv.setUint32(16, base + 0xe8, true); // cmdline
    dv.setUint32(20, 0, true); // mods_count
    dv.setUint32(24, base + 0xe8, true); // mods_addr
    dv.setUint32(44, 72, true); // mmap_length: 3 entries × 24
    dv.setUint32(48, base + 0xa0, true); // mmap_addr
    dv.setUint32(64, base + 0xfa, true); // boot_loader_name
    dv.setBigUint64(0x88, 0x00cf9b000000ffffn, true); // GDT code
    dv.setBigUint64(0x90, 0x00cf93000000ffffn, true); // GDT data
    const entries: [number, number, number][] = [
      [0, 0x9fc00, 1],
      [0x9fc00, 0x60400, 2],
      [0x100000, 0x7f00000, 1],
    ];
    entries.forEach(([b, l, t], i) => {
      const o = 0xa0 + i * 24;
      dv.setUint32(o, 20, true);
      dv.setBigUint64(o + 4, BigInt(b), true);
      dv.setBigUint64(o + 12, BigInt(l), true);
      dv.setUint32(o + 20, t, true);
    });
    exp.set(new TextEncoder().encode('console=ttyS0 x=1\0latelaunch\0'), 0xe8);
    expect([...m.readBytes(base, exp.length)]).toEqual([...exp]);
    expect(r.info).toEqual({
      address: base,
      size: 0x105,
      gdtAddress: base + 0x80,
      mmapAddress: base + 0xa0,
      mmapLength: 72,
      modsAddress: base + 0xe8,
      cmdlineAddress: base + 0xe8,
      bootLoaderNameAddress: base + 0xfa,
      flags: 0x24d,
    });
  });

  it('mmap reflects memory above 4 GiB; mem_upper stops at the PCI hole', () => {
    const big = buildPcMemoryLayout(4096);
    const m = new SparseMemory({ ranges: big.ranges });
    const r = loadMultiboot(m, elfKernel(), { layout: big, bootLoaderName: 'x' });
    expect(m.read32(r.info.address + 8)).toBe((0xc0000000 - 0x100000) / 1024);
    expect(m.read32(r.info.address + 44)).toBe(4 * 24);
    const last = r.info.mmapAddress + 3 * 24;
    expect([m.read32(last), m.read64(last + 4), m.read64(last + 12), m.read32(last + 20)]).toEqual([20, 2n ** 32n, 2n ** 30n, 1]);
    expect(m.read8(r.info.cmdlineAddress)).toBe(0); // empty command line, still present
    expect(m.readBytes(r.info.bootLoaderNameAddress, 2)).toEqual(new Uint8Array([0x78, 0]));
  });

  it('translates a higher-half entry point to its physical address (GRUB 2 semantics)', () => {
    const r = loadMultiboot(mem(), elfKernel({ vaddrOffset: 0xc0000000, entryOffset: 0x20 }), { layout });
    expect(r.entry).toBe(0x100020);
    expect(r.state.eip).toBe(0x100020);
    expect(r.segments[0].address).toBe(0x100000);
  });

  it('places the information after the kernel when the kernel occupies the default area', () => {
    const m = mem();
    const r = loadMultiboot(m, elfKernel({ textPaddr: 0xf000 }), { layout });
    expect(r.kernelEnd).toBe(0x13000);
    expect(r.info.address).toBe(0x13000);
    expect(r.state.ebx).toBe(0x13000);
    expectImageError(() => loadMultiboot(mem(), elfKernel({ textPaddr: 0xf000 }), { layout, infoAddress: 0x10000 }), 'overlap');
    const custom = loadMultiboot(mem(), elfKernel(), { layout, infoAddress: 0x9000 });
    expect(custom.info.address).toBe(0x9000);
    expectImageError(() => loadMultiboot(mem(), elfKernel(), { layout, infoAddress: 0x9004 }), 'address-out-of-range');
  });

  it('refuses ELF64, non-i386, unknown required flags and unbacked segments; warns about video', () => {
    const text = concat(multibootHeader(0), code(16));
    expectImageError(() => loadMultiboot(mem(), buildElf({ elfClass: 64, entry: 0x100000, segments: [{ paddr: 0x100000, data: text }] }), { layout }), 'unsupported-class');
    expectImageError(() => loadMultiboot(mem(), buildElf({ machine: 62, entry: 0x100000, segments: [{ paddr: 0x100000, data: text }] }), { layout }), 'unsupported-machine');
    expectImageError(() => loadMultiboot(mem(), elfKernel({ flags: 0x8 }), { layout }), 'unsupported-flags');
    expectImageError(() => loadMultiboot(mem(), elfKernel({ textPaddr: 0xa0000 }), { layout }), 'not-backed');
    expectImageError(() => loadMultiboot(mem(), concat(multibootHeader(0), code(64)), { layout }), 'bad-magic');
    expectImageError(() => loadMultiboot(mem(), code(64), { layout }), 'no-multiboot-header');
    const r = loadMultiboot(mem(), elfKernel({ flags: 0x7 }), { layout });
    expect(r.warnings).toHaveLength(1);
  });
});

describe('loadMultiboot: a.out kludge (flag bit 16)', () => {
  // Image: 32 bytes of padding, header at file offset 32 (= header_addr 0x200020), code after it.
  function kludge(fields: [number, number, number, number, number], body = code(0x100)) {
    return concat(new Uint8Array(32).fill(0xab), multibootHeader(0x10000, fields), body);
  }

  it('loads from load_addr, zeroes up to bss_end_addr, and enters at entry_addr', () => {
    const m = mem();
    m.fill(0x200000, 0x2000, 0xcc);
    const img = kludge([0x200020, 0x200000, 0, 0x201800, 0x200040]); // load_end 0: whole file
    const r = loadMultiboot(m, img, { layout });
    expect(r.format).toBe('aout-kludge');
    expect([r.entry, r.kernelStart, r.kernelEnd]).toEqual([0x200040, 0x200000, 0x201800]);
    expect(m.readBytes(0x200000, img.length)).toEqual(img);
    expect(m.readBytes(0x200000 + img.length, 0x1800 - img.length).every((b) => b === 0)).toBe(true);
    expect(m.read8(0x201800)).toBe(0xcc);
  });

  it('honours load_end_addr and a header that is not at the load start', () => {
    const m = mem();
    const img = kludge([0x300010, 0x300000, 0x300080, 0, 0x300010]); // load from file offset 16, 0x80 bytes
    const r = loadMultiboot(m, img, { layout });
    expect(m.readBytes(0x300000, 0x80)).toEqual(img.subarray(16, 16 + 0x80));
    expect(m.read8(0x300080)).toBe(0);
    expect(r.segments).toEqual([{ address: 0x300000, fileSize: 0x80, memSize: 0x80 }]);
  });

  it('takes precedence over ELF headers when flag 16 is set', () => {
    const text = concat(multibootHeader(0x10000, [0x100000 + 0x54, 0x100000, 0, 0, 0x100060]), code(32));
    const elf = buildElf({ entry: 0x999999, segments: [{ paddr: 0x400000, data: text }] });
    // header_addr points at where the header lands when the file is loaded at 0x100000.
    const h = findMultibootHeader(elf);
    const fields: [number, number, number, number, number] = [0x100000 + h.offset, 0x100000, 0, 0, 0x100060];
    const fixed = elf.slice();
    fixed.set(multibootHeader(0x10000, fields), h.offset);
    const r = loadMultiboot(mem(), fixed, { layout });
    expect([r.format, r.entry, r.kernelStart]).toEqual(['aout-kludge', 0x100060, 0x100000]);
  });

  it('refuses inconsistent address fields', () => {
    expectImageError(() => loadMultiboot(mem(), kludge([0x200000, 0x200100, 0, 0, 0]), { layout }), 'bad-address-fields'); // load > header
    expectImageError(() => loadMultiboot(mem(), kludge([0x200100, 0x200000, 0, 0, 0]), { layout }), 'bad-address-fields'); // offset < 0
    expectImageError(() => loadMultiboot(mem(), kludge([0x200020, 0x200000, 0x1ff000, 0, 0]), { layout }), 'bad-address-fields');
    expectImageError(() => loadMultiboot(mem(), kludge([0x200020, 0x200000, 0x210000, 0, 0]), { layout }), 'truncated');
    expectImageError(() => loadMultiboot(mem(), kludge([0x200020, 0x200000, 0x200080, 0x200040, 0]), { layout }), 'bad-address-fields');
    expectImageError(() => loadMultiboot(mem(), kludge([0xfffff020, 0xfffff000, 0, 0, 0]), { layout }), 'not-backed');
  });
});

describe('loadMultiboot: robustness', () => {
  it('never throws anything but ImageFormatError on mutated kernels', () => {
    const seeds = [elfKernel(), concat(new Uint8Array(32), multibootHeader(0x10000, [0x200020, 0x200000, 0, 0x201000, 0x200040]), code(64))];
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 6 }),
        fc.option(fc.nat()),
        (seed, flips, cut) => {
          let img = seed.slice();
          for (const f of flips) img[f.at % img.length] = f.value;
          if (cut !== null) img = img.subarray(0, cut % (img.length + 1));
          try {
            loadMultiboot(mem(), img, { layout });
          } catch (e) {
            if (!(e instanceof ImageFormatError)) throw e;
          }
        },
      ),
      { numRuns: 400, seed: 11 },
    );
  });
});
