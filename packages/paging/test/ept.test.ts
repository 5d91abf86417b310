import { describe, expect, it } from 'vitest';
import {
  Cr0,
  Cr4,
  Efer,
  EptAccessFlag,
  EptQual,
  EptResult,
  EptWalker,
  Fault,
  Mmu,
  PageAccess,
  PageAccessFlag,
  createPagingControl,
  createTranslator,
  translateEpt,
} from '../src/index.js';
import { A, D, EPT_A, EPT_D, EPT_IPAT, EPT_WB, ER, EW, EX, P, RW, RWX, TableBuilder, TestMemory, US, result } from './helpers.js';

const { READ, WRITE, EXEC } = PageAccess;
const EPT_ROOT = 0x80_0000;
const EPTP = EPT_ROOT | (3 << 3) | 6;
const EPTP_AD = EPTP | 0x40;

function eptSetup() {
  const mem = new TestMemory();
  const b = new TableBuilder(mem, EPT_ROOT, 4, 0x90_0000);
  return { mem, b };
}

describe('EPT translation', () => {
  it('translates 4 KiB, 2 MiB and 1 GiB pages and records memory type and ignore-PAT', () => {
    const { mem, b } = eptSetup();
    b.map(0x1000, 0x5_0000_3000, RWX | EPT_WB | EPT_IPAT, RWX);
    b.map(0x20_0000, 0x4060_0000, ER | EX | (4n << 3n), RWX, 2);
    b.map(0x4000_0000, 0x1_c000_0000, ER, RWX, 3);
    let r = translateEpt(mem, EPTP, 0x1234, READ);
    expect(r).toMatchObject({ fault: 0, physical: 0x5_0000_3234, memoryType: 6, ignorePat: true, pageShift: 12, permissions: 7 });
    r = translateEpt(mem, EPTP, 0x21_2345, EXEC);
    expect(r).toMatchObject({ fault: 0, physical: 0x4061_2345, memoryType: 4, ignorePat: false, pageShift: 21, permissions: 5 });
    r = translateEpt(mem, EPTP, 0x7fff_fff8, READ);
    expect(r).toMatchObject({ fault: 0, physical: 0x1_ffff_fff8, memoryType: 0, pageShift: 30, permissions: 1 });
  });

  it('reports violations with the access, the AND of R/W/X over the entries used, and the caller bits', () => {
    const { mem, b } = eptSetup();
    b.map(0x1000, 0x3000, ER | EPT_WB, RWX);
    b.map(0x2000, 0x4000, EX | EPT_WB, RWX); // execute-only
    b.map(0x40_0000, 0x5000, RWX | EPT_WB, ER | EX); // the upper levels deny writes
    const q = (gpa: number, access: number, extra = 0) => {
      const r = translateEpt(mem, EPTP, gpa, access, { qualification: extra });
      return r.fault === 0 ? 'ok' : [r.fault, r.errorCode, r.physical];
    };
    expect(q(0x1000, READ)).toBe('ok');
    expect(q(0x1008, WRITE)).toEqual([Fault.EPT_VIOLATION, EptQual.WRITE | EptQual.READABLE, 0x1008]);
    expect(q(0x1008, EXEC)).toEqual([Fault.EPT_VIOLATION, EptQual.FETCH | EptQual.READABLE, 0x1008]);
    expect(q(0x2000, EXEC)).toBe('ok');
    expect(q(0x2000, READ, EptQual.LINEAR_VALID | EptQual.FINAL)).toEqual([Fault.EPT_VIOLATION, 0x1 | 0x20 | 0x80 | 0x100, 0x2000]);
    expect(q(0x40_0000, WRITE)).toEqual([Fault.EPT_VIOLATION, 0x2 | 0x8 | 0x20, 0x40_0000]);
    // Not present at the PDE: nothing was readable (the AND includes the empty entry).
    expect(q(0x4000_0000, READ)).toEqual([Fault.EPT_VIOLATION, 0x1, 0x4000_0000]);
    expect(q(0x8000_0000_0000, WRITE)).toEqual([Fault.EPT_VIOLATION, 0x2, 0x8000_0000_0000]);
  });

  it('tells misconfigurations from violations', () => {
    const { mem, b } = eptSetup();
    const leaf = b.map(0x1000, 0x3000, RWX | EPT_WB, RWX);
    const pde = b.entryAddress(0x1000, 2, RWX);
    const pml4e = b.entryAddress(0x1000, 4, RWX);
    const fault = (addr: number, value: bigint, access: number = READ, walker = new EptWalker()) => {
      const keep = mem.read64(addr);
      mem.write64(addr, value);
      const r = new EptResult();
      const code = walker.translate(mem, EPTP, 0x1000, access, 0, 46, r) ? 0 : r.fault;
      mem.write64(addr, keep);
      return code;
    };
    const M = Fault.EPT_MISCONFIG;
    expect(fault(leaf, 0x3000n | EW | EPT_WB)).toBe(M); // write-only
    expect(fault(leaf, 0x3000n | EW | EX | EPT_WB)).toBe(M); // write/execute
    expect(fault(leaf, 0x3000n | EX | EPT_WB, EXEC)).toBe(0); // execute-only is supported…
    expect(fault(leaf, 0x3000n | EX | EPT_WB, EXEC, new EptWalker({ executeOnly: false }))).toBe(M); // …unless it is not
    for (const mt of [2n, 3n, 7n]) expect(fault(leaf, 0x3000n | RWX | (mt << 3n))).toBe(M);
    expect(fault(leaf, 0x3000n | RWX | EPT_WB | (1n << 46n))).toBe(M); // bit MAXPHYADDR
    expect(fault(leaf, 0x3000n | RWX | EPT_WB | (1n << 52n))).toBe(0); // 62:52 ignored
    expect(fault(leaf, 0x3000n | RWX | EPT_WB | 0x80n)).toBe(0); // bit 7 of a PTE is ignored
    expect(fault(leaf, 0x3000n | 0x38n)).toBe(Fault.EPT_VIOLATION); // not present: the other bits do not matter
    expect(fault(pml4e, mem.read64(pml4e) | 0x80n)).toBe(M); // PS in a PML4E
    expect(fault(pml4e, mem.read64(pml4e) | 0x8n)).toBe(M); // bits 7:3 of a PML4E
    expect(fault(pde, mem.read64(pde) | 0x40n)).toBe(M); // bits 6:3 of a non-leaf PDE
    // A misconfiguration below an entry that already denies the access still wins.
    expect(fault(pde, (mem.read64(pde) & ~7n) | ER, WRITE)).toBe(Fault.EPT_VIOLATION);
    mem.write64(leaf, 0x3000n | EW);
    expect(fault(pde, (mem.read64(pde) & ~7n) | ER, WRITE)).toBe(M);
    mem.write64(leaf, 0x3000n | RWX | EPT_WB);
    // Large leaves: reserved address bits, and 1 GiB pages only when supported.
    const big = b.map(0x8000_0000, 0x4000_0000, RWX | EPT_WB, RWX, 3);
    expect(translateEpt(mem, EPTP, 0x8000_0010, READ).physical).toBe(0x4000_0010);
    const check = (addr: number, v: bigint, gpa: number, w = new EptWalker()) => {
      const keep = mem.read64(addr);
      mem.write64(addr, v);
      const r = new EptResult();
      const ok = w.translate(mem, EPTP, gpa, READ, 0, 46, r);
      mem.write64(addr, keep);
      return ok ? 0 : r.fault;
    };
    expect(check(big, 0x4000_0000n | RWX | EPT_WB | 0x80n | 0x1000n, 0x8000_0000)).toBe(M);
    expect(check(big, 0x4000_0000n | RWX | EPT_WB | 0x80n, 0x8000_0000, new EptWalker({ gbPages: false }))).toBe(M);
    const two = b.map(0x1_0000_0000, 0x20_0000, RWX | EPT_WB, RWX, 2);
    expect(check(two, 0x20_0000n | RWX | EPT_WB | 0x80n | 0x10_0000n, 0x1_0000_0000)).toBe(M);
    expect(check(two, 0x20_0000n | RWX | EPT_WB | 0x80n, 0x1_0000_0000)).toBe(0);
  });

  it('sets accessed and dirty flags only when EPTP bit 6 enables them', () => {
    const { mem, b } = eptSetup();
    const leaf = b.map(0x1000, 0x3000, RWX | EPT_WB, RWX);
    const pml4e = b.entryAddress(0x1000, 4, RWX);
    translateEpt(mem, EPTP, 0x1000, WRITE);
    expect(mem.read64(leaf)).toBe(0x3000n | RWX | EPT_WB);
    translateEpt(mem, EPTP_AD, 0x1000, READ);
    expect(mem.read64(leaf)).toBe(0x3000n | RWX | EPT_WB | EPT_A);
    expect(mem.read64(pml4e) & EPT_A).toBe(EPT_A);
    expect(translateEpt(mem, EPTP_AD, 0x1000, READ | PageAccessFlag.PROBE).dirty).toBe(false);
    translateEpt(mem, EPTP_AD, 0x1000, WRITE | PageAccessFlag.PROBE);
    expect(mem.read64(leaf) & EPT_D).toBe(0n);
    expect(translateEpt(mem, EPTP_AD, 0x1000, WRITE).dirty).toBe(true);
    expect(mem.read64(leaf)).toBe(0x3000n | RWX | EPT_WB | EPT_A | EPT_D);
    expect(mem.read64(pml4e) & EPT_D).toBe(0n);
    // Guest paging-structure accesses count as writes with A/D on: W needed, qualification bits 0 and 1, dirty set.
    const ro = b.map(0x5000, 0x6000, ER | EPT_WB, RWX);
    let r = translateEpt(mem, EPTP_AD, 0x5000, READ | EptAccessFlag.STRUCTURE);
    expect([r.fault, r.errorCode]).toEqual([Fault.EPT_VIOLATION, 0x1 | 0x2 | 0x8]);
    r = translateEpt(mem, EPTP, 0x5000, READ | EptAccessFlag.STRUCTURE);
    expect(r.fault).toBe(0);
    mem.write64(ro, 0x6000n | ER | EW | EPT_WB);
    translateEpt(mem, EPTP_AD, 0x5000, READ | EptAccessFlag.STRUCTURE);
    expect(mem.read64(ro) & (EPT_A | EPT_D)).toBe(EPT_A | EPT_D);
  });

  it('walks 5-level EPT when EPTP bits 5:3 = 4', () => {
    const mem = new TestMemory();
    const b = new TableBuilder(mem, EPT_ROOT, 5, 0x90_0000);
    b.map(0x1_0000_0000_0000, 0x7000, RWX | EPT_WB, RWX);
    expect(translateEpt(mem, EPT_ROOT | (4 << 3) | 6, 0x1_0000_0000_0010, READ).physical).toBe(0x7010);
  });
});

/** A 4-level guest whose tables live in guest-physical memory that EPT maps at +0x1000_0000 (identity pages too). */
function nested(opts: { ad?: boolean } = {}) {
  const mem = new TestMemory();
  const ept = new TableBuilder(mem, EPT_ROOT, 4, 0x90_0000);
  const OFF = 0x1000_0000;
  // Guest tables at guest-physical 0x10_0000.. (host +OFF); the guest builder works in host space.
  const guest = new TableBuilder(mem, 0x10_0000 + OFF, 4, 0x10_1000 + OFF);
  const c = createPagingControl({ cr3: 0x10_0000, cr4: Cr4.PAE, efer: Efer.LME | Efer.LMA | Efer.NXE });
  const t = createTranslator(c, mem);
  c.cr0 = Cr0.PE | Cr0.PG | Cr0.WP;
  t.controlRegisterWritten('cr0', Cr0.PE);
  t.setVpid(1);
  t.setEpt(opts.ad ? EPTP_AD : EPTP);
  const up = P | RW | US;
  /** Guest map: linear → guest-physical, with guest entries holding guest-physical addresses. */
  const gmap = (linear: number, gpa: number, flags = up) => guest.map(linear, gpa, flags, up);
  // The guest's entries hold guest-physical addresses; the builder writes them through host space.
  guest.entryAddress = function (this: TableBuilder, linear: number, level: number, upper: bigint): number {
    let table = this.root;
    for (let l = this.levels; l > level; l--) {
      const idx = Number((BigInt.asUintN(64, BigInt(linear)) >> BigInt(12 + 9 * (l - 1))) & 511n);
      const ea = table + idx * 8;
      let e = mem.read64(ea);
      if (e === 0n) {
        e = BigInt(this.alloc() - OFF) | upper;
        mem.write64(ea, e);
      }
      table = Number(e & 0xffffffffff000n) + OFF;
    }
    return table + Number((BigInt.asUintN(64, BigInt(linear)) >> BigInt(12 + 9 * (level - 1))) & 511n) * 8;
  };
  // EPT: guest-physical 0..64 MiB → host +OFF (4 KiB pages for the table area, 2 MiB elsewhere).
  for (let g = 0x10_0000; g < 0x20_0000; g += 0x1000) ept.map(g, g + OFF, RWX | EPT_WB, RWX);
  for (let g = 0x20_0000; g < 0x400_0000; g += 0x20_0000) ept.map(g, g + OFF, RWX | EPT_WB, RWX, 2);
  return { mem, ept, guest, c, t, gmap, OFF };
}

describe('guest paging under EPT (composition)', () => {
  it('translates linear → guest-physical → host-physical with 24 memory references per full miss', () => {
    const { mem, c, t, gmap, OFF } = nested();
    gmap(0x40_0000, 0x1f_0000); // a final page that EPT maps with a 4 KiB page
    const r = result();
    expect(t.translate(0x40_0123, READ, false, r)).toBe(true); // sets the guest A flags
    expect(r.physical).toBe(0x1f_0123 + OFF);
    t.flushAll(true);
    const before = mem.reads32;
    expect(t.translate(0x40_0123, READ, false, r)).toBe(true);
    expect((mem.reads32 - before) / 2).toBe(24);
    expect(t.describe(0x40_0123).entries.map((e) => e.hostPhysical - e.guestPhysical)).toEqual([OFF, OFF, OFF, OFF]);
    c.cpl = 3;
    expect(t.translate(0x40_0123, WRITE, false, r)).toBe(true);
    expect(t.describe(0x40_0000).entries[3].value).toBe(0x1f_0000n | P | RW | US | A | D);
  });

  it('an EPT violation on a guest paging-structure entry reports its guest-physical address and qualification bit 8 = 0', () => {
    const { mem, ept, t, gmap } = nested();
    gmap(0x40_0000, 0x30_0000);
    const pteGpa = t.describe(0x40_0000).entries[3].guestPhysical;
    const eptLeaf = ept.entryAddress(pteGpa, 1, RWX);
    mem.write64(eptLeaf, 0n);
    const r = result();
    expect(t.translate(0x40_0000, READ, false, r)).toBe(false);
    expect(r).toEqual({ fault: Fault.EPT_VIOLATION, physical: pteGpa, errorCode: EptQual.READ | EptQual.LINEAR_VALID });
    mem.write64(eptLeaf, BigInt(pteGpa - (pteGpa % 4096) + 0x1000_0000) | EW | EX);
    expect(t.translate(0x40_0000, READ, false, r)).toBe(false);
    expect(r).toMatchObject({ fault: Fault.EPT_MISCONFIG, physical: pteGpa, errorCode: 0 });
  });

  it('setting a guest accessed flag is an EPT write (violation when the table page is read-only)', () => {
    const { mem, ept, t, gmap, OFF } = nested();
    gmap(0x40_0000, 0x30_0000);
    const pteGpa = t.describe(0x40_0000).entries[3].guestPhysical;
    const page = pteGpa - (pteGpa % 4096);
    mem.write64(ept.entryAddress(pteGpa, 1, RWX), BigInt(page + OFF) | ER | EPT_WB);
    const r = result();
    expect(t.translate(0x40_0000, READ, false, r)).toBe(false);
    expect(r).toEqual({ fault: Fault.EPT_VIOLATION, physical: pteGpa, errorCode: EptQual.WRITE | EptQual.READABLE | EptQual.LINEAR_VALID });
    // Once A is set (by someone else) the read-only table is fine for reads.
    mem.write64(pteGpa + OFF, mem.read64(pteGpa + OFF) | A);
    expect(t.translate(0x40_0000, READ, false, r)).toBe(true);
  });

  it('with EPT A/D on, guest paging-structure reads are EPT writes (bits 0 and 1) and dirty the EPT leaf', () => {
    const { mem, ept, t, gmap, OFF } = nested({ ad: true });
    gmap(0x40_0000, 0x30_0000);
    const entries = t.describe(0x40_0000).entries;
    const r = result();
    expect(t.translate(0x40_0000, READ, false, r)).toBe(true);
    for (const e of entries) expect(mem.read64(ept.entryAddress(e.guestPhysical, 1, RWX)) & (EPT_A | EPT_D)).toBe(EPT_A | EPT_D);
    // The final page was only read: accessed, not dirty.
    expect(mem.read64(ept.entryAddress(0x30_0000, 2, RWX)) & (EPT_A | EPT_D)).toBe(EPT_A);
    const pdGpa = entries[2].guestPhysical;
    mem.write64(ept.entryAddress(pdGpa, 1, RWX), BigInt(pdGpa - (pdGpa % 4096) + OFF) | ER | EPT_WB);
    t.flushAll(true);
    expect(t.translate(0x40_0000, READ, false, r)).toBe(false);
    expect(r).toEqual({ fault: Fault.EPT_VIOLATION, physical: pdGpa, errorCode: 0x1 | 0x2 | 0x8 | 0x80 });
  });

  it('an EPT violation on the final address has bit 8 and the advanced linear-address bits', () => {
    const { mem, ept, c, t, gmap, OFF } = nested();
    gmap(0x40_0000, 0x5000, P | RW | US);
    gmap(0x40_1000, 0x6000, P);
    mem.write64(ept.entryAddress(0x5000, 1, RWX), BigInt(0x5000 + OFF) | ER | EPT_WB);
    mem.write64(ept.entryAddress(0x6000, 1, RWX), BigInt(0x6000 + OFF) | ER | EPT_WB);
    const r = result();
    c.cpl = 3;
    expect(t.translate(0x40_0010, WRITE, false, r)).toBe(false);
    expect(r).toEqual({ fault: Fault.EPT_VIOLATION, physical: 0x5010, errorCode: 0x2 | 0x8 | 0x80 | 0x100 | 0x200 | 0x400 });
    c.cpl = 0;
    expect(t.translate(0x40_1010, EXEC, false, r)).toBe(false);
    expect(r.errorCode).toBe(0x4 | 0x8 | 0x80 | 0x100);
    // The guest's own permissions come first: a user write to the read-only guest page is a #PF.
    c.cpl = 3;
    mem.write64(ept.entryAddress(0x6000, 1, RWX), 0n);
    expect(t.translate(0x40_1010, WRITE, false, r)).toBe(false);
    expect(r).toMatchObject({ fault: Fault.PF, errorCode: 0x7 });
  });

  it('with guest paging off (unrestricted guest) the linear address is the guest-physical one', () => {
    const { ept, mem, c, t, OFF } = nested();
    const old = c.cr0;
    c.cr0 = Cr0.PE;
    c.efer = 0;
    c.cr4 = 0;
    t.controlRegisterWritten('cr0', old);
    expect(t.mode).toBe('none');
    const r = result();
    expect(t.translate(0x12_3456, WRITE, false, r)).toBe(true);
    expect(r.physical).toBe(0x12_3456 + OFF);
    mem.write64(ept.entryAddress(0x12_3000, 1, RWX), BigInt(0x12_3000 + OFF) | ER | EPT_WB);
    t.invvpid(1, 1, 0);
    expect(t.translate(0x12_3456, WRITE, false, r)).toBe(false);
    expect(r.errorCode).toBe(0x2 | 0x8 | 0x80 | 0x100 | 0x200 | 0x400);
  });

  it('PAE guest: PDPTE loads go through EPT as reads without a linear address', () => {
    const { mem, ept, c, t, OFF } = nested();
    const old = c.cr0;
    c.cr0 = Cr0.PE;
    t.controlRegisterWritten('cr0', old);
    c.efer = 0;
    t.controlRegisterWritten('efer', Efer.LME | Efer.LMA | Efer.NXE);
    mem.write64(0x15_0000 + OFF, 0x16_0000n | P);
    mem.write64(0x16_0000 + OFF, 0x20_0000n | P | RW | 0x80n);
    c.cr3 = 0x15_0000;
    t.controlRegisterWritten('cr3', 0x10_0000);
    c.cr0 = Cr0.PE | Cr0.PG;
    expect(t.controlRegisterWritten('cr0', Cr0.PE)).toBe(true);
    expect(t.mode).toBe('pae');
    const r = result();
    expect(t.translate(0x1234, READ, false, r)).toBe(true);
    expect(r.physical).toBe(0x20_1234 + OFF);
    mem.write64(ept.entryAddress(0x17_0000, 1, RWX), 0n);
    c.cr3 = 0x17_0000;
    expect(t.controlRegisterWritten('cr3', 0x15_0000)).toBe(false);
    expect(t.controlFault).toEqual({ fault: Fault.EPT_VIOLATION, physical: 0x17_0000, errorCode: EptQual.READ });
    c.cr3 = 0x15_0000;
  });

  it('translateGuestPhysical uses the current EPT (identity without one)', () => {
    const { t, OFF } = nested();
    const r = result();
    expect(t.translateGuestPhysical(0x10_0008, WRITE, r)).toBe(true);
    expect(r.physical).toBe(0x10_0008 + OFF);
    expect(t.translateGuestPhysical(0x8000_0000, READ, r)).toBe(false);
    expect(r).toEqual({ fault: Fault.EPT_VIOLATION, physical: 0x8000_0000, errorCode: EptQual.READ });
    t.setEpt(null);
    expect(t.translateGuestPhysical(0x8000_0000, READ, r)).toBe(true);
    expect(r.physical).toBe(0x8000_0000);
  });

  it('an Mmu without an EPT walker refuses setEpt', () => {
    const t = new Mmu(createPagingControl(), new TestMemory(), []);
    expect(() => t.setEpt(EPTP)).toThrow(/no PagingWalker with mode 'ept'/);
  });
});
