/**
 * Property test: guest paging (32-bit, PAE, 4-level) under EPT, against the reference models
 * composed the way the SDM describes it (every guest paging-structure access, every guest A/D
 * update, the PAE PDPTE loads and the final access are guest-physical accesses translated by EPT).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Cr0, Cr4, Efer, EptWalker, Ia32eWalker, Legacy32Walker, Mmu, PaeWalker, PageAccess, createPagingControl } from '../src/index.js';
import { TableBuilder, TestMemory } from './helpers.js';
import { bit, coverage, geometry, refPdptes, refTranslate, span, type RefControl, type RefOutcome } from './reference.js';

const OFF = 0x1000_0000; // host = guest-physical + OFF
const TABLES = 10;
const GT = (k: number) => 0x10_0000 + k * 0x1000; // guest tables (guest-physical)
const GD = (k: number) => 0x20_0000 + k * 0x1000; // guest data pages
const EPT_ROOT = 0x80_0000;
const SLOTS_9 = [0, 1, 2, 511];
const SLOTS_10 = [0, 1, 2, 1023];

type Mode = 'legacy32' | 'pae' | 'ia32e4';

const guestEntryArb = fc.record({
  present: fc.nat(9),
  target: fc.oneof(
    { weight: 8, arbitrary: fc.nat(TABLES - 1).map((k) => BigInt(GT(k))) },
    { weight: 2, arbitrary: fc.nat(7).map((k) => BigInt(GD(k))) },
    { weight: 1, arbitrary: fc.nat(63).map((k) => BigInt(k) << 30n) },
  ),
  flags: fc.nat(0x7f).map((f) => ((f & 0x3f) << 1) | (f & 0x40 ? 0x100 : 0)),
  ps: fc.nat(5),
  extraBit: fc.oneof({ weight: 12, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 9, max: 63 }) }),
  xd: fc.nat(6),
});

const eptLeafArb = fc.record({
  rwx: fc.oneof({ weight: 10, arbitrary: fc.constant(7) }, { weight: 3, arbitrary: fc.nat(7) }),
  memType: fc.oneof({ weight: 12, arbitrary: fc.constant(6) }, { weight: 1, arbitrary: fc.nat(7) }),
});

const scenarioArb = fc.record({
  mode: fc.constantFrom<Mode>('legacy32', 'pae', 'ia32e4'),
  ad: fc.boolean(),
  nxe: fc.boolean(),
  wp: fc.boolean(),
  smep: fc.boolean(),
  smap: fc.boolean(),
  pse: fc.boolean(),
  caching: fc.boolean(),
  cr3Table: fc.nat(TABLES - 1),
  guest: fc.array(guestEntryArb, { minLength: TABLES * 4, maxLength: TABLES * 4 }),
  ept: fc.array(eptLeafArb, { minLength: TABLES + 8, maxLength: TABLES + 8 }),
  accesses: fc.array(
    fc.record({
      idx: fc.array(fc.nat(3), { minLength: 4, maxLength: 4 }),
      offset: fc.nat(4095),
      kind: fc.constantFrom<'r' | 'w' | 'x'>('r', 'w', 'x'),
      cpl: fc.constantFrom(0, 3),
      implicit: fc.boolean(),
      ac: fc.boolean(),
    }),
    { minLength: 1, maxLength: 20 },
  ),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

function run(s: Scenario): void {
  const M = 46;
  const mem = new TestMemory();
  const legacy = s.mode === 'legacy32';
  // Guest tables (guest-physical addresses inside, stored at host = gpa + OFF).
  s.guest.forEach((g, n) => {
    let v = g.target | BigInt(g.flags) | (g.present < 9 ? 1n : 0n);
    if (g.ps === 0) v = (v & ~span(12, 29)) | 0x80n;
    if (g.extraBit !== null) v |= bit(g.extraBit);
    if (g.xd === 0) v |= bit(63);
    const table = GT(Math.floor(n / 4)) + OFF;
    if (legacy) mem.write32(table + SLOTS_10[n % 4] * 4, Number(v & 0xffffffffn));
    else mem.write64(table + SLOTS_9[n % 4] * 8, v);
  });
  if (s.mode === 'pae') {
    // Keep the PDPT loadable: clear reserved bits of the first three PDPTEs.
    for (let i = 0; i < 3; i++) {
      const at = GT(s.cr3Table) + OFF + SLOTS_9[i] * 8;
      mem.write64(at, mem.read64(at) & ~(span(1, 2) | span(5, 8) | span(M, 63)));
    }
  }
  // EPT: valid upper levels, random 4 KiB leaves for the guest table and data pages.
  const ept = new TableBuilder(mem, EPT_ROOT, 4, EPT_ROOT + 0x1000);
  const pages = [...Array.from({ length: TABLES }, (_, k) => GT(k)), ...Array.from({ length: 8 }, (_, k) => GD(k))];
  pages.forEach((gpa, k) => ept.map(gpa, gpa + OFF, BigInt(s.ept[k].rwx) | (BigInt(s.ept[k].memType) << 3n), 0x7n));
  const eptp = EPT_ROOT | (3 << 3) | 6 | (s.ad ? 0x40 : 0);
  const refMem = mem.clone();

  const lma = s.mode === 'ia32e4';
  const cr3 = GT(s.cr3Table);
  const c = createPagingControl({
    cr3,
    cr4: (legacy ? 0 : Cr4.PAE) | (s.pse ? Cr4.PSE : 0) | (s.smep ? Cr4.SMEP : 0) | (s.smap ? Cr4.SMAP : 0),
    efer: (lma ? Efer.LME | Efer.LMA : 0) | (s.nxe ? Efer.NXE : 0),
    maxPhysAddrBits: M,
  });
  const t = new Mmu(c, mem, [new Legacy32Walker(), new PaeWalker(), new Ia32eWalker(), new EptWalker()], { caching: s.caching, tlbEntries: 64 });
  t.setVpid(1);
  t.setEpt(eptp);
  c.cr0 = Cr0.PE | Cr0.PG | (s.wp ? Cr0.WP : 0);
  const enabled = t.controlRegisterWritten('cr0', Cr0.PE);
  const o = { M, executeOnly: true, gbPages: true };
  const ref: RefControl = { mode: s.mode, M, pse: s.pse, nxe: s.nxe, wp: s.wp, smep: s.smep, smap: s.smap, gbPages: true, cr3: BigInt(cr3), pdptes: [], ept: { eptp: BigInt(eptp), o } };
  if (s.mode === 'pae') {
    const p = refPdptes(refMem, BigInt(cr3), M, ref.ept);
    if (!Array.isArray(p)) {
      expect(enabled).toBe(false);
      const f = t.controlFault;
      const got: RefOutcome = f.fault === 13 ? null! : { ok: false, fault: f.fault, code: f.errorCode, gpa: BigInt(f.physical) };
      expect(p === null ? f.fault : got).toEqual(p === null ? 13 : p);
      expect(mem.dump()).toEqual(refMem.dump());
      return;
    }
    ref.pdptes = p;
  }
  expect(enabled).toBe(true);

  const out = { physical: 0, fault: 0, errorCode: 0 };
  for (const a of s.accesses) {
    const levels = geometry(s.mode === 'pae' ? 'ia32e4' : s.mode).filter((l) => s.mode !== 'pae' || l.kind !== 'top');
    let lin = BigInt(a.offset);
    levels.forEach((L, d) => {
      const idx = s.mode === 'pae' && L.kind === 'pdpt' ? a.idx[d] : (L.bits === 10 ? SLOTS_10 : SLOTS_9)[a.idx[d]];
      lin |= BigInt(idx) << BigInt(L.shift);
    });
    if (lma) lin = BigInt.asUintN(64, BigInt.asIntN(48, lin));
    const expected = refTranslate(refMem, ref, { linear: lin, kind: a.kind, cpl: a.cpl, implicit: a.implicit, ac: a.ac, stack: false });
    c.cpl = a.cpl;
    c.ac = a.ac;
    const kind = a.kind === 'r' ? PageAccess.READ : a.kind === 'w' ? PageAccess.WRITE : PageAccess.EXEC;
    const ok = t.translate(lma ? Number(BigInt.asIntN(64, lin)) : Number(lin), kind, a.implicit, out);
    const got: RefOutcome = ok
      ? { ok: true, physical: BigInt(out.physical) }
      : out.fault < 0
        ? { ok: false, fault: out.fault, code: out.errorCode, gpa: BigInt(out.physical) }
        : { ok: false, fault: out.fault, code: out.errorCode };
    expect(got, `${s.mode} linear 0x${lin.toString(16)} ${a.kind} cpl${a.cpl}`).toEqual(expected);
  }
  expect(mem.dump()).toEqual(refMem.dump());
}

describe('guest paging under EPT against the composed reference models', () => {
  it('agrees on results, #PF error codes, EPT violations (address, qualification) and all A/D side effects', () => {
    coverage.clear();
    fc.assert(fc.property(scenarioArb, run), { numRuns: 300, seed: 0x2e57 });
    for (const k of ['nested:ok', 'nested:ept-violation', 'nested:ept-misconfig', 'ia32e4:protection', 'pae:protection', 'legacy32:protection']) {
      expect(coverage.get(k) ?? 0, k).toBeGreaterThan(3);
    }
  });
});
