import { describe, expect, it } from 'vitest';
import { Cr0, Cr4, Efer, Fault, PageAccess, createPagingControl, createTranslator } from '../src/index.js';
import { EPT_WB, G, P, PS, RW, RWX, TableBuilder, TestMemory, US, result } from './helpers.js';

const { READ, WRITE } = PageAccess;
const UP = P | RW | US;
const EPT_ROOT = 0x80_0000;

function setup(opts: { pge?: boolean; pcide?: boolean; caching?: boolean } = {}) {
  const mem = new TestMemory();
  const c = createPagingControl({
    cr3: 0x10_0000,
    cr4: Cr4.PAE | (opts.pge ? Cr4.PGE : 0) | (opts.pcide ? Cr4.PCIDE : 0),
    efer: Efer.LME | Efer.LMA | Efer.NXE,
  });
  const t = createTranslator(c, mem, { caching: opts.caching });
  const a = new TableBuilder(mem, 0x10_0000, 4, 0x11_0000); // address space A
  const b = new TableBuilder(mem, 0x20_0000, 4, 0x21_0000); // address space B
  c.cr0 = Cr0.PE | Cr0.PG | Cr0.WP;
  t.controlRegisterWritten('cr0', Cr0.PE);
  const phys = (linear: number, access: number = READ, cpl = 0) => {
    c.cpl = cpl;
    const r = result();
    return t.translate(linear, access, false, r) ? r.physical : -r.errorCode - 1000 * r.fault;
  };
  const movCr3 = (value: number, noFlush = false) => {
    const old = c.cr3;
    c.cr3 = value;
    expect(t.controlRegisterWritten('cr3', old, noFlush)).toBe(true);
  };
  const movCr4 = (value: number) => {
    const old = c.cr4;
    c.cr4 = value;
    expect(t.controlRegisterWritten('cr4', old)).toBe(true);
  };
  return { mem, c, t, a, b, phys, movCr3, movCr4 };
}

const NOT_PRESENT = -14000; // phys() of a not-present #PF with error code 0

describe('TLB', () => {
  it('keeps a stale translation after a PTE change until INVLPG (as hardware may)', () => {
    const { mem, t, a, phys } = setup();
    const pte = a.map(0x40_0000, 0x9000, UP);
    expect(phys(0x40_0123)).toBe(0x9123);
    mem.write64(pte, 0xa000n | UP);
    expect(phys(0x40_0123)).toBe(0x9123); // stale
    t.invalidatePage(0x40_0fff);
    expect(phys(0x40_0123)).toBe(0xa123);
    mem.write64(pte, 0n);
    expect(phys(0x40_0123)).toBe(0xa123); // still cached: not-present is not seen either
    t.invalidatePage(0x40_0000);
    expect(phys(0x40_0123)).toBe(NOT_PRESENT);
  });

  it('hits cost no memory references; a miss walks', () => {
    const { mem, t, a, phys } = setup();
    a.map(0x40_0000, 0x9000, UP);
    phys(0x40_0000);
    const reads = mem.reads32;
    const walks = t.walks;
    for (let i = 0; i < 100; i++) phys(0x40_0000 + i);
    expect(mem.reads32).toBe(reads);
    expect(t.walks).toBe(walks);
  });

  it('caching: false walks every time (debugging mode)', () => {
    const { mem, t, a, phys } = setup({ caching: false });
    const pte = a.map(0x40_0000, 0x9000, UP);
    phys(0x40_0000);
    mem.write64(pte, 0xa000n | UP);
    expect(phys(0x40_0000)).toBe(0xa000);
    expect(t.walks).toBe(2);
    t.setCaching(true);
    phys(0x40_0000);
    mem.write64(pte, 0x9000n | UP);
    expect(phys(0x40_0000)).toBe(0xa000);
  });

  it('a MOV to CR3 flushes non-global entries; global ones survive only with CR4.PGE', () => {
    const { mem, c, a, phys, movCr3, movCr4 } = setup({ pge: true });
    const g = a.map(0x40_0000, 0x9000, UP | G);
    const n = a.map(0x40_1000, 0xa000, UP);
    phys(0x40_0000);
    phys(0x40_1000);
    mem.write64(g, 0x19000n | UP | G);
    mem.write64(n, 0x1a000n | UP);
    movCr3(c.cr3);
    expect(phys(0x40_0000)).toBe(0x9000); // global: survives
    expect(phys(0x40_1000)).toBe(0x1a000);
    movCr4(c.cr4 & ~Cr4.PGE); // toggling PGE flushes everything, globals included
    expect(phys(0x40_0000)).toBe(0x19000);
    mem.write64(g, 0x29000n | UP | G);
    movCr3(c.cr3); // without PGE, G is ignored
    expect(phys(0x40_0000)).toBe(0x29000);
  });

  it('global pages are seen from every address space and PCID', () => {
    const { c, a, b, phys, movCr3, movCr4 } = setup({ pge: true });
    a.map(0x40_0000, 0x9000, UP | G);
    b.map(0x40_0000, 0xb000, UP);
    phys(0x40_0000);
    movCr3(0x20_0000);
    expect(phys(0x40_0000)).toBe(0x9000); // the global translation from A, not B's own
    movCr4(c.cr4 | Cr4.PCIDE);
    movCr3(0x20_0000 | 5, true);
    expect(phys(0x40_0000)).toBe(0x9000);
  });

  it('PCIDs: switching with the no-flush bit keeps each address space cached; without it flushes the new PCID', () => {
    const { mem, c, a, b, phys, movCr3, movCr4 } = setup();
    movCr4(c.cr4 | Cr4.PCIDE);
    const pa = a.map(0x40_0000, 0x9000, UP);
    b.map(0x40_0000, 0xb000, UP);
    movCr3(0x10_0000 | 1);
    expect(phys(0x40_0000)).toBe(0x9000);
    movCr3(0x20_0000 | 2);
    expect(phys(0x40_0000)).toBe(0xb000); // tagged: PCID 1's entry is not used for PCID 2 (same slot, replaced)
    phys(0x40_0000);
    mem.write64(pa, 0x19000n | UP);
    movCr3(0x10_0000 | 1, true);
    expect(phys(0x40_0000)).toBe(0x19000); // the slot held PCID 2's entry: A's was evicted, walk again
    mem.write64(pa, 0x29000n | UP);
    a.map(0x40_1000, 0x7000, UP);
    phys(0x40_1000);
    movCr3(0x20_0000 | 2, true);
    movCr3(0x10_0000 | 1, true);
    expect(phys(0x40_0000)).toBe(0x19000); // stale: the no-flush switch kept PCID 1's entries
    movCr3(0x10_0000 | 1, false);
    expect(phys(0x40_0000)).toBe(0x29000);
  });

  it('INVPCID: individual address, single context, all contexts (with and without globals)', () => {
    const { mem, c, a, b, phys, movCr3, movCr4, t } = setup({ pge: true });
    movCr4(c.cr4 | Cr4.PCIDE);
    movCr3(0x10_0000 | 1);
    const p1 = a.map(0x40_0000, 0x9000, UP);
    const p2 = a.map(0x40_1000, 0xa000, UP);
    const pg = a.map(0x40_2000, 0xc000, UP | G);
    b.map(0x50_0000, 0xd000, UP);
    phys(0x40_0000);
    phys(0x40_1000);
    phys(0x40_2000);
    mem.write64(p1, 0x19000n | UP);
    mem.write64(p2, 0x1a000n | UP);
    mem.write64(pg, 0x1c000n | UP | G);
    movCr3(0x20_0000 | 2, true);
    t.invalidatePcid(0, 1, 0x40_0000);
    movCr3(0x10_0000 | 1, true);
    expect(phys(0x40_0000)).toBe(0x19000);
    expect(phys(0x40_1000)).toBe(0xa000);
    t.invalidatePcid(1, 1, 0);
    expect(phys(0x40_1000)).toBe(0x1a000);
    expect(phys(0x40_2000)).toBe(0xc000); // single-context invalidation keeps globals
    t.invalidatePcid(3, 0, 0);
    expect(phys(0x40_2000)).toBe(0xc000);
    t.invalidatePcid(2, 0, 0);
    expect(phys(0x40_2000)).toBe(0x1c000);
  });

  it('INVLPG drops every 4 KiB piece of a large page', () => {
    const { mem, a, t, phys } = setup();
    const pde = a.map(0x40_0000, 0x20_0000, UP, UP, 2);
    expect(phys(0x40_1000)).toBe(0x20_1000);
    expect(phys(0x5f_f000)).toBe(0x3f_f000);
    mem.write64(pde, 0x60_0000n | UP | PS);
    expect(phys(0x40_1000)).toBe(0x20_1000);
    t.invalidatePage(0x48_0000);
    expect(phys(0x40_1000)).toBe(0x60_1000);
    expect(phys(0x5f_f000)).toBe(0x7f_f000);
  });

  it('a write through a cached clean entry walks again to set D; a cached read-only entry is re-checked', () => {
    const { mem, a, t, phys } = setup();
    const pte = a.map(0x40_0000, 0x9000, UP);
    phys(0x40_0000, READ);
    const walks = t.walks;
    expect(phys(0x40_0000, WRITE)).toBe(0x9000);
    expect(t.walks).toBe(walks + 1);
    expect(mem.read64(pte) & 0x40n).toBe(0x40n);
    phys(0x40_0000, WRITE);
    expect(t.walks).toBe(walks + 1);
    // Cached read-only, then made writable: the failing hit falls back to a walk, which succeeds.
    const ro = a.map(0x40_1000, 0xa000, P | US);
    phys(0x40_1000, READ, 3);
    mem.write64(ro, 0xa000n | UP);
    expect(phys(0x40_1000, WRITE, 3)).toBe(0xa000);
  });

  it('permission checks on hits use the current CPL, CR0.WP and SMAP/AC', () => {
    const { mem, c, a, t, phys, movCr4 } = setup();
    a.map(0x40_0000, 0x9000, P | RW); // supervisor page
    a.map(0x40_1000, 0xa000, P | US); // user read-only
    phys(0x40_0000);
    phys(0x40_1000);
    expect(phys(0x40_0000, READ, 3)).toBe(-1000 * Fault.PF - 0x5);
    expect(phys(0x40_1000, WRITE, 0)).toBe(-1000 * Fault.PF - 0x3);
    const old = c.cr0;
    c.cr0 &= ~Cr0.WP;
    t.controlRegisterWritten('cr0', old);
    expect(phys(0x40_1000, WRITE, 0)).toBe(0xa000);
    movCr4(c.cr4 | Cr4.SMAP);
    expect(phys(0x40_1000, READ, 0)).toBe(-1000 * Fault.PF - 0x1);
    c.ac = true;
    expect(phys(0x40_1000, READ, 0)).toBe(0xa000);
    const r = result();
    expect(t.translate(0x40_1000, READ, true, r)).toBe(false); // implicit supervisor accesses ignore AC
    expect(r.errorCode).toBe(0x1);
    c.cpl = 3;
    expect(t.translate(0x40_1000, READ, true, r)).toBe(false); // implicit at CPL 3: a supervisor access (U/S = 0)
    expect(r.errorCode).toBe(0x1);
    void mem;
  });

  it('CR0.PG 1→0 and EFER.NXE changes flush; flushAll(false) keeps globals', () => {
    const { mem, c, a, t, phys, movCr3 } = setup({ pge: true });
    const g = a.map(0x40_0000, 0x9000, UP | G);
    phys(0x40_0000);
    mem.write64(g, 0x19000n | UP | G);
    t.flushAll(false);
    expect(phys(0x40_0000)).toBe(0x9000);
    let old = c.efer;
    c.efer &= ~Efer.NXE;
    t.controlRegisterWritten('efer', old);
    expect(phys(0x40_0000)).toBe(0x19000);
    mem.write64(g, 0x29000n | UP | G);
    old = c.cr0;
    c.cr0 = Cr0.PE;
    c.efer &= ~Efer.LMA;
    t.controlRegisterWritten('cr0', old);
    expect(phys(0x40_0000)).toBe(0x40_0000);
    c.efer |= Efer.LMA;
    c.cr0 = old;
    t.controlRegisterWritten('cr0', Cr0.PE);
    expect(phys(0x40_0000)).toBe(0x29000);
    mem.write64(g, 0x39000n | UP | G);
    t.flushAll(true);
    movCr3(c.cr3);
    expect(phys(0x40_0000)).toBe(0x39000);
  });

  it('a page fault drops the faulting entry', () => {
    const { mem, a, phys } = setup();
    const pte = a.map(0x40_0000, 0x9000, P | US);
    phys(0x40_0000, READ, 3);
    mem.write64(pte, 0xa000n | P | US);
    expect(phys(0x40_0000, WRITE, 3)).toBe(-1000 * Fault.PF - 0x7); // hit fails, walk faults, entry dropped
    expect(phys(0x40_0000, READ, 3)).toBe(0xa000);
  });

  it('survives tag exhaustion (65536 address-space switches) without resurrecting stale entries', () => {
    const { mem, c, a, phys, movCr3 } = setup();
    const pte = a.map(0x40_0000, 0x9000, UP);
    phys(0x40_0000);
    for (let i = 0; i < 70_000; i++) {
      if (i === 1000) mem.write64(pte, 0xa000n | UP);
      movCr3(0x10_0000);
      if (i === 1000) expect(phys(0x40_0000)).toBe(0xa000);
    }
    expect(c.cr3).toBe(0x10_0000);
    expect(phys(0x40_0000)).toBe(0xa000);
  });

  it('describe() reports whether the page is cached, without filling the TLB', () => {
    const { a, t, phys } = setup();
    a.map(0x40_0000, 0x9000, UP);
    expect(t.describe(0x40_0000).cached).toBe(false);
    expect(t.describe(0x40_0000).cached).toBe(false);
    phys(0x40_0000);
    expect(t.describe(0x40_0000).cached).toBe(true);
  });
});

describe('TLB tagging with VPID and EPT', () => {
  function vmx() {
    const s = setup();
    const ept1 = new TableBuilder(s.mem, EPT_ROOT, 4, 0x90_0000);
    const ept2 = new TableBuilder(s.mem, 0xa0_0000, 4, 0xa1_0000);
    // Both EPTs map all guest tables identically; the final page differs.
    for (let g = 0x10_0000; g < 0x30_0000; g += 0x1000) {
      ept1.map(g, g, RWX | EPT_WB, RWX);
      ept2.map(g, g, RWX | EPT_WB, RWX);
    }
    ept1.map(0x9000, 0x1_0000_9000, RWX | EPT_WB, RWX);
    ept2.map(0x9000, 0x2_0000_9000, RWX | EPT_WB, RWX);
    s.a.map(0x40_0000, 0x9000, UP);
    const EPTP1 = EPT_ROOT | (3 << 3) | 6;
    const EPTP2 = 0xa0_0000 | (3 << 3) | 6;
    return { ...s, ept1, ept2, EPTP1, EPTP2 };
  }

  it('entries are tagged with the VPID: no flush between host and guest, and neither sees the other\'s entries', () => {
    const { mem, t, a, phys } = vmx();
    const pte = a.entryAddress(0x40_0000, 1, UP);
    expect(phys(0x40_0000)).toBe(0x9000); // VPID 0 (host)
    t.setVpid(1);
    mem.write64(pte, 0xa000n | UP);
    expect(phys(0x40_0000)).toBe(0xa000); // the guest walks: the host entry is not used
    mem.write64(pte, 0xb000n | UP);
    t.setVpid(0);
    expect(phys(0x40_0000)).toBe(0x9000); // the host entry survived the "VM entry" and "VM exit"
    t.setVpid(1);
    expect(phys(0x40_0000)).toBe(0xa000); // and the guest's too
    t.setVpid(2);
    expect(phys(0x40_0000)).toBe(0xb000);
  });

  it('INVVPID types: individual address, single context, all contexts, retaining globals', () => {
    const { mem, t, a, phys, c, movCr4 } = vmx();
    movCr4(c.cr4 | Cr4.PGE);
    const p1 = a.entryAddress(0x40_0000, 1, UP);
    const pg = a.map(0x40_1000, 0xc000, UP | G);
    t.setVpid(3);
    phys(0x40_0000);
    phys(0x40_1000);
    mem.write64(p1, 0xa000n | UP);
    mem.write64(pg, 0x1c000n | UP | G);
    t.invvpid(0, 4, 0x40_0000); // another VPID: no effect
    expect(phys(0x40_0000)).toBe(0x9000);
    t.invvpid(0, 3, 0x40_0000);
    expect(phys(0x40_0000)).toBe(0xa000);
    t.invvpid(3, 3, 0);
    expect(phys(0x40_1000)).toBe(0xc000);
    t.invvpid(2, 0, 0);
    expect(phys(0x40_1000)).toBe(0x1c000);
    mem.write64(pg, 0x2c000n | UP | G);
    t.invvpid(1, 3, 0);
    expect(phys(0x40_1000)).toBe(0x2c000);
  });

  it('combined mappings are tagged with the EPT context; INVEPT single and all contexts', () => {
    const { mem, t, ept1, phys, EPTP1, EPTP2 } = vmx();
    t.setVpid(1);
    t.setEpt(EPTP1);
    expect(phys(0x40_0000)).toBe(0x1_0000_9000);
    t.setEpt(EPTP2);
    expect(phys(0x40_0000)).toBe(0x2_0000_9000);
    const leaf = ept1.entryAddress(0x9000, 1, RWX);
    mem.write64(leaf, 0x3_0000_9000n | RWX | EPT_WB);
    t.setEpt(EPTP1);
    expect(phys(0x40_0010)).toBe(0x1_0000_9010); // stale combined mapping, kept across the EPTP switch
    t.invept(1, EPTP2);
    expect(phys(0x40_0010)).toBe(0x1_0000_9010);
    t.invept(1, EPTP1 | 0x40); // the EP4TA is what matters, not the other EPTP bits
    expect(phys(0x40_0010)).toBe(0x3_0000_9010);
    mem.write64(leaf, 0x5_0000_9000n | RWX | EPT_WB);
    t.invvpid(1, 2, 0); // another VPID: no effect
    expect(phys(0x40_0010)).toBe(0x3_0000_9010);
    t.setEpt(null);
    t.invept(2, 0); // all EPT contexts, whichever is current
    t.setEpt(EPTP1);
    expect(phys(0x40_0010)).toBe(0x5_0000_9010);
  });

  it('an EPT permission change is seen on the next miss only (stale combined mapping until INVEPT)', () => {
    const { mem, t, ept1, phys, EPTP1 } = vmx();
    t.setVpid(1);
    t.setEpt(EPTP1);
    expect(phys(0x40_0000, WRITE)).toBe(0x1_0000_9000);
    mem.write64(ept1.entryAddress(0x9000, 1, RWX), 0x1_0000_9000n | 1n | EPT_WB);
    expect(phys(0x40_0000, WRITE)).toBe(0x1_0000_9000);
    t.invept(1, EPTP1);
    expect(phys(0x40_0000, WRITE)).toBe(-1000 * Fault.EPT_VIOLATION - (0x2 | 0x8 | 0x80 | 0x100 | 0x200 | 0x400));
  });

  it('VM entry/exit with reloadControl: each context keeps its entries while its paging mode is unchanged', () => {
    const { mem, c, t, a } = vmx();
    const pte = a.entryAddress(0x40_0000, 1, UP);
    const host = { cr0: c.cr0, cr4: c.cr4, efer: c.efer };
    const r = result();
    const enter = (guest: Partial<typeof host>) => {
      Object.assign(c, host, guest);
      t.setVpid(1);
      t.reloadControl();
    };
    const exit = () => {
      Object.assign(c, host);
      t.setVpid(0);
      t.reloadControl();
    };
    // A guest with paging off caches identity translations under VPID 1.
    enter({ cr0: Cr0.PE, cr4: 0, efer: 0 });
    expect(t.mode).toBe('none');
    t.translate(0x40_0000, READ, false, r);
    expect(r.physical).toBe(0x40_0000);
    exit();
    t.translate(0x40_0000, READ, false, r);
    expect(r.physical).toBe(0x9000);
    // The hypervisor enters the guest with paging on: the identity entries must not be used.
    enter({});
    expect(t.mode).toBe('ia32e-4level');
    t.translate(0x40_0000, READ, false, r);
    expect(r.physical).toBe(0x9000);
    // Same mode again: no flush, so a later PTE change stays invisible to the guest (until INVVPID).
    exit();
    mem.write64(pte, 0xa000n | UP);
    enter({});
    t.translate(0x40_0000, READ, false, r);
    expect(r.physical).toBe(0x9000);
    t.invvpid(1, 1, 0);
    t.translate(0x40_0000, READ, false, r);
    expect(r.physical).toBe(0xa000);
  });
});
