import { describe, expect, it } from 'vitest';
import { Cr0, Cr4, Efer, Fault, Ia32eWalker, Mmu, PageAccess, PageAccessFlag, createPagingControl, createTranslator, defaultWalkers } from '../src/index.js';
import { A, D, P, PCD, PS, PWT, RW, TableBuilder, TestMemory, US, XD, result } from './helpers.js';
import type { PagingControl } from '@latelaunch/kernel';

const { READ, WRITE, EXEC } = PageAccess;
const UP = P | RW | US;

function setup(opts: { nxe?: boolean; m?: number; la57?: boolean; walkers?: ConstructorParameters<typeof Mmu>[2]; cr3?: number } = {}) {
  const mem = new TestMemory();
  const root = opts.cr3 ?? 0x10_0000;
  const c = createPagingControl({
    cr3: root,
    cr4: Cr4.PAE | (opts.la57 ? Cr4.LA57 : 0),
    efer: Efer.LME | Efer.LMA | (opts.nxe === false ? 0 : Efer.NXE),
    maxPhysAddrBits: opts.m ?? 46,
  });
  const t = opts.walkers ? new Mmu(c, mem, opts.walkers, { caching: false }) : createTranslator(c, mem, { caching: false });
  const b = new TableBuilder(mem, root, opts.la57 ? 5 : 4);
  c.cr0 = Cr0.PE | Cr0.PG | Cr0.WP;
  expect(t.controlRegisterWritten('cr0', Cr0.PE)).toBe(true);
  return { mem, c, t, b };
}

function go(t: Mmu, c: PagingControl, linear: number, access: number, cpl = 0) {
  c.cpl = cpl;
  const r = result();
  const ok = t.translate(linear, access, false, r);
  return { ok, ...r };
}

describe('4-level IA-32e paging', () => {
  it('translates 4 KiB, 2 MiB and 1 GiB pages, low and high half', () => {
    const { c, t, b } = setup();
    b.map(0x0000_7fff_ffff_f000, 0x1234_5678_9000, UP);
    b.map(0x0000_0040_0020_0000, 0x0000_0003_0060_0000, UP, UP, 2);
    b.map(-(2 ** 31), 0x0000_0002_4000_0000, P | RW, UP, 3); // 0xffffffff80000000
    b.map(-(2 ** 47), 0x5000, P, UP); // 0xffff800000000000
    expect(go(t, c, 0x0000_7fff_ffff_fabc, READ, 3).physical).toBe(0x1234_5678_9abc);
    expect(go(t, c, 0x0000_0040_0021_2345, WRITE, 3).physical).toBe(0x0000_0003_0061_2345);
    expect(go(t, c, -(2 ** 31) + 0x1234_5678, WRITE).physical).toBe(0x0000_0002_4000_0000 + 0x1234_5678);
    expect(go(t, c, -(2 ** 47) + 0x10, READ).physical).toBe(0x5010);
    expect(t.describe(-(2 ** 31)).pageSize).toBe(2 ** 30);
  });

  it('sets A on all four levels and D on the leaf (of any size) for writes', () => {
    const { mem, c, t, b } = setup();
    const pte = b.map(0x40_0000, 0x9000, UP);
    const gb = b.map(0x80_0000_0000, 0x4000_0000, UP, UP, 3);
    expect(go(t, c, 0x40_0000, READ).ok).toBe(true);
    const walked = t.describe(0x40_0000).entries;
    expect(walked).toHaveLength(4);
    for (const e of walked) expect(e.value & A).toBe(A);
    expect(mem.read64(pte) & D).toBe(0n);
    expect(go(t, c, 0x40_0000, WRITE).ok).toBe(true);
    expect(mem.read64(pte)).toBe(0x9000n | UP | A | D);
    for (const e of t.describe(0x40_0000).entries.slice(0, 3)) expect(e.value & D).toBe(0n);
    go(t, c, 0x80_1234_5678, WRITE);
    expect(mem.read64(gb)).toBe(0x4000_0000n | UP | PS | A | D);
  });

  it('checks canonicality: #GP, or #SS for stack accesses; INVLPG of a non-canonical address is a no-op', () => {
    const { c, t } = setup();
    for (const bad of [2 ** 47, 2 ** 63 - 4096 * 2 ** 20, -(2 ** 47) - 4096, -(2 ** 63)]) {
      expect(go(t, c, bad, READ)).toMatchObject({ ok: false, fault: Fault.GP, errorCode: 0 });
      expect(go(t, c, bad, WRITE | PageAccessFlag.STACK)).toMatchObject({ ok: false, fault: Fault.SS, errorCode: 0 });
    }
    expect(go(t, c, 2 ** 47 - 1, READ).fault).toBe(Fault.PF);
    expect(go(t, c, -(2 ** 47), READ).fault).toBe(Fault.PF);
    expect(() => t.invalidatePage(2 ** 47)).not.toThrow();
  });

  it('reserved bits per level give RSVD | P and stop the walk', () => {
    const { mem, c, t, b } = setup({ m: 40 });
    const pte = b.map(0x40_0000, 0x9000, UP);
    const pde = b.entryAddress(0x40_0000, 2, UP);
    const pml4e = b.entryAddress(0x40_0000, 4, UP);
    const rsvd = (addr: number, bits: bigint, access: number = READ, cpl = 0) => {
      const keep = mem.read64(addr);
      mem.write64(addr, keep | bits);
      const r = go(t, c, 0x40_0000, access, cpl);
      mem.write64(addr, keep);
      return r;
    };
    expect(rsvd(pte, 1n << 40n)).toMatchObject({ ok: false, fault: Fault.PF, errorCode: 0x9 });
    expect(rsvd(pte, 1n << 51n, WRITE, 3)).toMatchObject({ errorCode: 0xf });
    expect(rsvd(pml4e, PS)).toMatchObject({ errorCode: 0x9 }); // PS is reserved in a PML4E
    expect(rsvd(pte, 1n << 52n).ok).toBe(true); // 62:52 ignored
    expect(rsvd(pte, 0x7fn << 56n).ok).toBe(true);
    expect(rsvd(pte, 1n << 39n).physical).toBe(2 ** 39 + 0x9000);
    expect(mem.read64(pde) & A).toBe(A);
    // 2 MiB and 1 GiB leaves: bits 20:13 / 29:13 are reserved, bit 12 is PAT.
    const big = b.map(0x8000_0000, 0x4000_0000, UP, UP, 3);
    expect(go(t, c, 0x8000_0000, READ).physical).toBe(0x4000_0000);
    mem.write64(big, 0x4000_0000n | UP | PS | 0x2000_0000n);
    expect(go(t, c, 0x8000_0000, READ).errorCode).toBe(0x9);
    mem.write64(big, 0x4000_0000n | UP | PS | 0x1000n);
    expect(go(t, c, 0x8000_0000, READ).ok).toBe(true);
    const two = b.map(0x1_0000_0000, 0x20_0000, UP, UP, 2);
    mem.write64(two, 0x20_0000n | UP | PS | 0x10_0000n);
    expect(go(t, c, 0x1_0000_0000, EXEC).errorCode).toBe(0x9 | 0x10);
  });

  it('treats PDPTE.PS as reserved without 1 GiB page support', () => {
    const { c, t, b } = setup({ walkers: [new Ia32eWalker({ gbPages: false })] });
    b.map(0x8000_0000, 0x4000_0000, UP, UP, 3);
    expect(go(t, c, 0x8000_0000, READ)).toMatchObject({ ok: false, errorCode: 0x9 });
  });

  it('XD at any level forbids fetches; without EFER.NXE bit 63 is reserved', () => {
    let s = setup();
    s.b.map(0x40_0000, 0x9000, UP, UP | XD);
    expect(go(s.t, s.c, 0x40_0000, READ, 3).ok).toBe(true);
    expect(go(s.t, s.c, 0x40_0000, EXEC, 3)).toMatchObject({ ok: false, errorCode: 0x15 });
    expect(go(s.t, s.c, 0x40_0000, EXEC, 0)).toMatchObject({ ok: false, errorCode: 0x11 });
    s = setup({ nxe: false });
    s.b.map(0x40_0000, 0x9000, UP | XD, UP);
    expect(go(s.t, s.c, 0x40_0000, READ)).toMatchObject({ ok: false, errorCode: 0x9 });
    expect(go(s.t, s.c, 0x41_0000, EXEC)).toMatchObject({ ok: false, errorCode: 0 }); // no NXE, no SMEP: no I/D
  });

  it('CR3 low bits: PWT/PCD without PCIDE, a PCID with it — never part of the table address', () => {
    const s = setup();
    s.b.map(0x40_0000, 0x9000, UP | PWT | PCD);
    s.c.cr3 = 0x10_0000 | 0x18;
    expect(s.t.controlRegisterWritten('cr3', 0x10_0000)).toBe(true);
    expect(go(s.t, s.c, 0x40_0000, READ).physical).toBe(0x9000);
    expect(s.t.describe(0x40_0000).cache).toEqual({ pwt: true, pcd: true, pat: false });
    expect(s.t.currentPcid).toBe(0);
    const old = s.c.cr4;
    s.c.cr3 = 0x10_0000;
    s.c.cr4 |= Cr4.PCIDE;
    s.t.controlRegisterWritten('cr4', old);
    s.c.cr3 = 0x10_0000 | 0xabc;
    s.t.controlRegisterWritten('cr3', 0x10_0000);
    expect(s.t.currentPcid).toBe(0xabc);
    expect(go(s.t, s.c, 0x40_0000, READ).physical).toBe(0x9000);
  });

  it('walks tables above 4 GiB and maps frames up to MAXPHYADDR', () => {
    const mem = new TestMemory();
    const c = createPagingControl({ cr3: 0x3_0000_0000, cr4: Cr4.PAE, efer: Efer.LME | Efer.LMA, maxPhysAddrBits: 52 });
    const t = new Mmu(c, mem, defaultWalkers());
    const b = new TableBuilder(mem, 0x3_0000_0000, 4, 0xf_ffff_0000_0000);
    b.map(0x1000, 0xf_ffff_ffff_f000, UP);
    c.cr0 = Cr0.PE | Cr0.PG;
    t.controlRegisterWritten('cr0', Cr0.PE);
    expect(go(t, c, 0x1fff, READ).physical).toBe(0xf_ffff_ffff_ffff);
  });
});

describe('5-level IA-32e paging (CR4.LA57, opt-in walker)', () => {
  it('walks a PML5 and accepts 57-bit canonical addresses (those representable as numbers: |linear| <= 2^53)', () => {
    const { c, t, b } = setup({ la57: true, walkers: [new Ia32eWalker({ levels: 5 })] });
    expect(t.mode).toBe('ia32e-5level');
    b.map(2 ** 53 - 4096, 0x9000, UP);
    b.map(-(2 ** 53), 0xa000, UP);
    b.map(0x40_0000, 0xb000, UP);
    expect(go(t, c, 2 ** 53 - 4096 + 5, READ).physical).toBe(0x9005);
    expect(go(t, c, -(2 ** 53) + 5, READ).physical).toBe(0xa005);
    expect(go(t, c, 0x40_0123, READ).physical).toBe(0xb123);
    expect(go(t, c, 2 ** 47, READ).fault).toBe(Fault.PF); // canonical with 57 bits
    expect(go(t, c, 2 ** 56, READ).fault).toBe(Fault.GP);
    expect(t.describe(-(2 ** 53)).entries).toHaveLength(5);
  });

  it('is not composed by default: turning paging on with LA57 says which walker is missing', () => {
    const mem = new TestMemory();
    const c = createPagingControl({ cr3: 0x1000, cr4: Cr4.PAE | Cr4.LA57, efer: Efer.LME | Efer.LMA });
    const t = createTranslator(c, mem);
    c.cr0 = Cr0.PG | Cr0.PE;
    expect(() => t.controlRegisterWritten('cr0', Cr0.PE)).toThrow(/ia32e-5level.*no PagingWalker/);
  });
});
