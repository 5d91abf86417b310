import { describe, expect, it } from 'vitest';
import { Cr0, Cr4, Efer, Fault, PageAccess, createPagingControl, createTranslator, type Mmu } from '../src/index.js';
import { A, D, G, P, PS, RW, TestMemory, US, XD, result } from './helpers.js';
import type { PagingControl } from '@latelaunch/kernel';

const { READ, WRITE, EXEC } = PageAccess;

function enablePaging(t: Mmu, c: PagingControl, cr0 = Cr0.PE | Cr0.PG): boolean {
  const old = c.cr0;
  c.cr0 = cr0;
  return t.controlRegisterWritten('cr0', old);
}

function go(t: Mmu, c: PagingControl, linear: number, access: number, cpl = 0, implicit = false) {
  c.cpl = cpl;
  const r = result();
  const ok = t.translate(linear, access, implicit, r);
  return { ok, ...r };
}

describe('32-bit paging', () => {
  function setup(cr4 = 0, maxPhysAddrBits = 36) {
    const mem = new TestMemory();
    const c = createPagingControl({ cr3: 0x1000, cr4, maxPhysAddrBits });
    const t = createTranslator(c, mem, { caching: false });
    // PDE[1] (0x00400000..0x007fffff) → page table at 0x2000; PTE[5] → 0x7000.
    mem.write32(0x1000 + 1 * 4, 0x2000 | 0x7);
    mem.write32(0x2000 + 5 * 4, 0x7000 | 0x7);
    expect(enablePaging(t, c)).toBe(true);
    expect(t.mode).toBe('legacy32');
    return { mem, c, t };
  }

  it('translates a 4 KiB page and sets A on both levels, D on the PTE only for writes', () => {
    const { mem, c, t } = setup();
    expect(go(t, c, 0x405abc, READ)).toEqual({ ok: true, physical: 0x7abc, fault: 0, errorCode: 0 });
    expect(mem.read32(0x1004)).toBe(0x2000 | 0x7 | 0x20);
    expect(mem.read32(0x2014)).toBe(0x7000 | 0x7 | 0x20);
    expect(go(t, c, 0x405abc, WRITE).ok).toBe(true);
    expect(mem.read32(0x1004)).toBe(0x2000 | 0x7 | 0x20); // no D on a PDE that references a page table
    expect(mem.read32(0x2014)).toBe(0x7000 | 0x7 | 0x60);
  });

  it('reports not-present faults with the right error code and leaves A clear', () => {
    const { mem, c, t } = setup();
    expect(go(t, c, 0x406000, READ)).toMatchObject({ ok: false, fault: Fault.PF, errorCode: 0 });
    expect(go(t, c, 0x406000, WRITE, 3)).toMatchObject({ ok: false, fault: Fault.PF, errorCode: 0x6 });
    expect(go(t, c, 0x00001000, READ, 3)).toMatchObject({ fault: Fault.PF, errorCode: 0x4 });
    // 32-bit paging, no SMEP: the I/D bit is never set.
    expect(go(t, c, 0x406000, EXEC)).toMatchObject({ fault: Fault.PF, errorCode: 0 });
    expect(mem.read32(0x1004) & 0x20).toBe(0); // the walk faulted: no accessed flag
  });

  it('maps 4 MiB pages with CR4.PSE and ignores PS without it', () => {
    const { mem, c, t } = setup(Cr4.PSE);
    mem.write32(0x1000 + 2 * 4, 0x00c00000 | 0x83);
    expect(go(t, c, 0x812345, WRITE).physical).toBe(0xc12345);
    expect(mem.read32(0x1008)).toBe(0x00c00000 | 0x83 | 0x60);

    const old = c.cr4;
    c.cr4 = 0;
    expect(t.controlRegisterWritten('cr4', old)).toBe(true);
    mem.write32(0x1008, 0x00c00000 | 0x83);
    // Without PSE the PDE points to a page table at 0x00c00000 (empty): not present.
    expect(go(t, c, 0x812345, READ)).toMatchObject({ ok: false, fault: Fault.PF, errorCode: 0 });
    mem.write32(0x00c00000 + 0x12 * 4, 0x9000 | 0x1);
    expect(go(t, c, 0x812345, READ).physical).toBe(0x9345);
  });

  it('PSE-36: PDE bits 20:13 give physical bits up to MAXPHYADDR (capped at 40); above it and bit 21 are reserved', () => {
    const { mem, c, t } = setup(Cr4.PSE, 36);
    mem.write32(0x1008, 0x00c00000 | (0x5 << 13) | 0x83);
    expect(go(t, c, 0x812345, READ).physical).toBe(0x5_00c12345);
    mem.write32(0x1008, 0x00c00000 | (0x15 << 13) | 0x83); // bit 36 with MAXPHYADDR 36
    expect(go(t, c, 0x812345, READ)).toMatchObject({ ok: false, fault: Fault.PF, errorCode: 0x9 });
    c.maxPhysAddrBits = 40;
    expect(go(t, c, 0x812345, READ).physical).toBe(0x15_00c12345);
    c.maxPhysAddrBits = 52; // PSE-36 stops at 40 bits
    mem.write32(0x1008, 0x00c00000 | (0xff << 13) | 0x83);
    expect(go(t, c, 0x812345, READ).physical).toBe(0xff_00c12345);
    mem.write32(0x1008, 0x00c00000 | (1 << 21) | 0x83);
    expect(go(t, c, 0x812345, WRITE, 3)).toMatchObject({ ok: false, fault: Fault.PF, errorCode: 0x8 | 0x4 | 0x2 | 0x1 });
  });

  it('applies U/S and R/W with CR0.WP, and the I/D bit only with SMEP', () => {
    const { mem, c, t } = setup();
    mem.write32(0x2018, 0x8000 | 0x1); // PTE[6]: supervisor, read-only
    expect(go(t, c, 0x406000, READ, 3)).toMatchObject({ ok: false, errorCode: 0x5 });
    expect(go(t, c, 0x406000, WRITE, 0).ok).toBe(true); // WP = 0: supervisor writes ignore R/W
    expect(enablePaging(t, c, Cr0.PE | Cr0.PG | Cr0.WP)).toBe(true);
    expect(go(t, c, 0x406000, WRITE, 0)).toMatchObject({ ok: false, errorCode: 0x3 });
    mem.write32(0x2018, 0x8000 | 0x5); // user, read-only
    expect(go(t, c, 0x406000, WRITE, 3)).toMatchObject({ ok: false, errorCode: 0x7 });
    expect(go(t, c, 0x406000, EXEC, 0).ok).toBe(true);
    const old = c.cr4;
    c.cr4 = Cr4.SMEP;
    t.controlRegisterWritten('cr4', old);
    expect(go(t, c, 0x406000, EXEC, 0)).toMatchObject({ ok: false, errorCode: 0x11 });
    expect(go(t, c, 0x407000, EXEC, 0)).toMatchObject({ ok: false, errorCode: 0x10 });
  });
});

describe('PAE paging', () => {
  const PDPT = 0x1020; // 32-byte aligned, not page aligned
  function setup(opts: { nxe?: boolean; m?: number } = {}) {
    const mem = new TestMemory();
    const c = createPagingControl({ cr3: PDPT, cr4: Cr4.PAE, efer: opts.nxe ? Efer.NXE : 0, maxPhysAddrBits: opts.m ?? 36 });
    const t = createTranslator(c, mem, { caching: false });
    mem.write64(PDPT + 0, 0x2000n | P);
    mem.write64(0x2000 + 1 * 8, 0x3000n | P | RW | US); // PD[1] → PT
    mem.write64(0x3000 + 0x1a * 8, 0x4_0000_7000n | P | RW | US); // PTE → above 4 GiB
    mem.write64(0x2000 + 2 * 8, 0x4060_0000n | P | RW | PS); // PD[2]: 2 MiB at 0x40600000
    return { mem, c, t };
  }

  it('loads the PDPTEs when paging is enabled and translates 4 KiB and 2 MiB pages', () => {
    const { mem, c, t } = setup();
    expect(enablePaging(t, c)).toBe(true);
    expect(t.mode).toBe('pae');
    expect([...c.pdpte]).toEqual([0x2001, 0, 0, 0, 0, 0, 0, 0]);
    expect(go(t, c, 0x0021a123, WRITE, 3).physical).toBe(0x4_0000_7123);
    expect(mem.read64(0x2008)).toBe(0x3000n | P | RW | US | A);
    expect(mem.read64(0x30d0)).toBe(0x4_0000_7000n | P | RW | US | A | D);
    expect(mem.read64(PDPT)).toBe(0x2001n); // PDPTEs have no accessed flag
    expect(go(t, c, 0x00412345, READ).physical).toBe(0x40612345);
    expect(go(t, c, 0x40000000, READ)).toMatchObject({ ok: false, fault: Fault.PF, errorCode: 0 }); // PDPTE[1] not present
  });

  it('rejects PDPTEs with reserved bits at the MOV (returns false, keeps the old PDPTE registers)', () => {
    const { mem, c, t } = setup();
    expect(enablePaging(t, c)).toBe(true);
    const before = [...c.pdpte];
    for (const bad of [0x3000n | P | 0x2n, 0x3000n | P | 0x20n, 0x3000n | P | 0x100n, 0x3000n | P | (1n << 36n), 0x3000n | P | XD]) {
      mem.write64(0x5000 + 8, bad);
      const old = c.cr3;
      c.cr3 = 0x5000;
      expect(t.controlRegisterWritten('cr3', old)).toBe(false);
      expect(t.controlFault).toMatchObject({ fault: Fault.GP, errorCode: 0 });
      expect([...c.pdpte]).toEqual(before);
      c.cr3 = old; // what the processor does: restore CR3, raise #GP(0)
    }
    // Reserved bits in a not-present PDPTE are fine; bits below MAXPHYADDR too.
    mem.write64(0x5000 + 8, 0x3000n | 0x2n);
    mem.write64(0x5000 + 16, 0x7_0000_0000n | P);
    c.cr3 = 0x5000;
    expect(t.controlRegisterWritten('cr3', PDPT)).toBe(true);
    expect(c.pdpte[4]).toBe(0x1);
    expect(c.pdpte[5]).toBe(7);
  });

  it('enabling paging with bad PDPTEs fails too', () => {
    const { mem, c, t } = setup();
    mem.write64(PDPT + 24, 0x9000n | P | 0x4n);
    expect(enablePaging(t, c)).toBe(false);
    expect(t.controlFault.fault).toBe(Fault.GP);
  });

  it('PDPTEs are registers: a change in memory is seen only after MOV CR3 or a reloading MOV CR4', () => {
    const { mem, c, t } = setup();
    enablePaging(t, c);
    mem.write64(PDPT, 0x6000n | P);
    mem.write64(0x6000 + 2 * 8, 0x7760_0000n | P | PS);
    expect(go(t, c, 0x00412345, READ).physical).toBe(0x40612345);
    let old = c.cr4;
    c.cr4 |= Cr4.PGE; // changing PGE in PAE mode reloads the PDPTEs
    expect(t.controlRegisterWritten('cr4', old)).toBe(true);
    expect(go(t, c, 0x00412345, READ).physical).toBe(0x77612345);
    mem.write64(PDPT, 0x2000n | P);
    old = c.cr4;
    c.cr4 |= Cr4.SMAP; // SMAP is not in the reload list
    t.controlRegisterWritten('cr4', old);
    expect(go(t, c, 0x00412345, READ).physical).toBe(0x77612345);
    t.controlRegisterWritten('cr3', c.cr3);
    expect(go(t, c, 0x00412345, READ).physical).toBe(0x40612345);
  });

  it('XD needs EFER.NXE (reserved otherwise) and sets I/D', () => {
    let s = setup({ nxe: true });
    enablePaging(s.t, s.c);
    s.mem.write64(0x2000 + 1 * 8, 0x3000n | P | RW | US | XD);
    expect(go(s.t, s.c, 0x0021a123, READ).ok).toBe(true);
    expect(go(s.t, s.c, 0x0021a123, EXEC, 3)).toMatchObject({ ok: false, errorCode: 0x1 | 0x4 | 0x10 });
    expect(go(s.t, s.c, 0x40000000, EXEC)).toMatchObject({ ok: false, errorCode: 0x10 }); // PAE + NXE: I/D on a not-present fetch
    s = setup({ nxe: false });
    enablePaging(s.t, s.c);
    s.mem.write64(0x2000 + 1 * 8, 0x3000n | P | RW | US | XD);
    expect(go(s.t, s.c, 0x0021a123, READ)).toMatchObject({ ok: false, errorCode: 0x9 });
    expect(go(s.t, s.c, 0x40000000, EXEC)).toMatchObject({ ok: false, errorCode: 0 }); // no NXE, no SMEP: no I/D
  });

  it('bits 62:MAXPHYADDR are reserved in PAE entries (unlike IA-32e, where 62:52 are ignored)', () => {
    const { mem, c, t } = setup({ m: 40 });
    enablePaging(t, c);
    mem.write64(0x3000 + 0x1a * 8, 0x4_0000_7000n | P | RW | US | (1n << 52n));
    expect(go(t, c, 0x0021a123, READ)).toMatchObject({ ok: false, errorCode: 0x9 });
    mem.write64(0x3000 + 0x1a * 8, 0x4_0000_7000n | P | RW | US | (1n << 40n));
    expect(go(t, c, 0x0021a123, READ)).toMatchObject({ ok: false, errorCode: 0x9 });
    mem.write64(0x3000 + 0x1a * 8, 0xff_0000_7000n | P | RW | US);
    expect(go(t, c, 0x0021a123, READ).physical).toBe(0xff_0000_7123);
    mem.write64(0x2000 + 2 * 8, 0x4060_0000n | P | PS | 0x2000n); // bit 13 of a 2 MiB PDE
    expect(go(t, c, 0x00412345, WRITE)).toMatchObject({ ok: false, errorCode: 0xb });
  });

  it('global and PAT bits are recorded by describe()', () => {
    const { mem, c, t } = setup();
    enablePaging(t, c);
    mem.write64(0x2000 + 2 * 8, 0x4060_0000n | P | PS | G | 0x1000n | 0x10n);
    const d = t.describe(0x00412345);
    expect(d).toMatchObject({ ok: true, physical: 0x40612345, pageSize: 2 ** 21, global: true, cache: { pwt: false, pcd: true, pat: true }, writable: false });
    expect(d.entries.map((e) => e.guestPhysical)).toEqual([0x2010]);
    expect(mem.read64(0x2010) & A).toBe(0n); // describe has no side effects
  });
});
