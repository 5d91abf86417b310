/**
 * Property tests: random page-table trees (shared tables, cycles, large pages, reserved bits,
 * random permissions) walked by the implementation and by a deliberately simple reference model
 * written here from the SDM text — BigInt arithmetic, recursion, no typed arrays, no TLB.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Cr0, Cr4, Efer, EptResult, EptWalker, Ia32eWalker, Legacy32Walker, Mmu, PaeWalker, PageAccess, PageAccessFlag, createPagingControl } from '../src/index.js';
import { TestMemory } from './helpers.js';
import { bit, coverage, geometry, refEpt, refPdptes, refTranslate, see, span, type EptOutcome, type RefControl, type RefMode, type RefOutcome } from './reference.js';

// ------------------------------------------------------------------------------------------------
// Random trees

const TABLES = 12;
const TBASE = 0x10_0000;
const tableAddr = (k: number) => BigInt(TBASE + k * 0x1000);
/** Every table has entries only at these slots; generated addresses use only these indices. */
const SLOTS_9 = [0, 1, 2, 511];
const SLOTS_10 = [0, 1, 2, 1023];

const entryArb = fc.record({
  present: fc.nat(9),
  target: fc.oneof(
    { weight: 8, arbitrary: fc.nat(TABLES - 1).map(tableAddr) },
    { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 24n) - 1n }).map((x) => x << 12n) },
    { weight: 1, arbitrary: fc.nat(63).map((k) => BigInt(k) << 30n) },
  ),
  /** R/W, U/S, PWT, PCD, A, D (bits 1–6) and G (bit 8); PS separately. */
  flags: fc.nat(0x7f).map((f) => ((f & 0x3f) << 1) | (f & 0x40 ? 0x100 : 0)),
  ps: fc.nat(3),
  /** Large pages: mostly with a base aligned to 1 GiB (so that 2 MiB and 1 GiB leaves are not all reserved-bit faults). */
  align: fc.nat(3),
  pat: fc.boolean(),
  extraBit: fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 9, max: 63 }) }),
  xd: fc.nat(6),
});
type EntrySpec = typeof entryArb extends fc.Arbitrary<infer T> ? T : never;

function entryValue(s: EntrySpec): bigint {
  let v = s.target | BigInt(s.flags) | (s.present < 9 ? 1n : 0n);
  if (s.ps === 0) {
    v |= 0x80n;
    if (s.align !== 0) v &= ~span(12, 29);
  }
  if (s.pat) v |= 0x1000n;
  if (s.extraBit !== null) v |= bit(s.extraBit);
  if (s.xd === 0) v |= bit(63);
  return v;
}

const accessArb = fc.record({
  idx: fc.array(fc.nat(3), { minLength: 5, maxLength: 5 }),
  offset: fc.nat(4095),
  kind: fc.constantFrom<'r' | 'w' | 'x'>('r', 'w', 'x'),
  cpl: fc.constantFrom(0, 3),
  implicit: fc.boolean(),
  ac: fc.boolean(),
  stack: fc.boolean(),
  nonCanonical: fc.nat(9),
});

const scenarioArb = fc.record({
  mode: fc.constantFrom<RefMode>('legacy32', 'pae', 'ia32e4', 'ia32e5'),
  M: fc.constantFrom(36, 39, 40, 46, 52),
  pse: fc.boolean(),
  nxe: fc.boolean(),
  wp: fc.boolean(),
  smep: fc.boolean(),
  smap: fc.boolean(),
  pge: fc.boolean(),
  gbPages: fc.boolean(),
  caching: fc.boolean(),
  cr3Table: fc.nat(TABLES - 1),
  cleanPdpt: fc.nat(4),
  cr3Low: fc.nat(127),
  entries: fc.array(entryArb, { minLength: TABLES * 4, maxLength: TABLES * 4 }),
  accesses: fc.array(accessArb, { minLength: 1, maxLength: 25 }),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

function linearFor(mode: RefMode, a: Scenario['accesses'][number]): bigint {
  const levels = geometry(mode === 'pae' ? 'ia32e4' : mode).filter((l) => mode !== 'pae' || l.kind !== 'top');
  let lin = BigInt(a.offset);
  levels.forEach((L, d) => {
    const slots = L.bits === 10 ? SLOTS_10 : SLOTS_9;
    const idx = mode === 'pae' && L.kind === 'pdpt' ? a.idx[d] : slots[a.idx[d]];
    lin |= BigInt(idx) << BigInt(L.shift);
  });
  if (mode === 'ia32e4' || mode === 'ia32e5') {
    const width = mode === 'ia32e5' ? 57 : 48;
    lin = BigInt.asUintN(64, BigInt.asIntN(width, lin)); // canonical
    // Numbers are exact only up to 2^53: keep 5-level addresses within ±2^52.
    if (mode === 'ia32e5') lin = BigInt.asUintN(64, BigInt.asIntN(53, lin));
    if (a.nonCanonical === 0) lin = mode === 'ia32e5' ? bit(56) | (lin & 0xfffn) : lin ^ bit(50);
  }
  return lin;
}

function build(s: Scenario): { mem: TestMemory; legacy: boolean } {
  const mem = new TestMemory();
  if (s.mode === 'pae' && s.cleanPdpt !== 0) {
    // Mostly loadable PDPTEs (reserved bits cleared), so that PAE walks get going.
    for (const slot of [0, 1, 2]) {
      const n = s.cr3Table * 4 + slot;
      const e = s.entries[n];
      s = { ...s, entries: s.entries.map((x, i) => (i === n ? { ...e, flags: 0, ps: 1, pat: false, extraBit: null, xd: 1, target: e.target & span(12, s.M - 1) } : x)) };
    }
  }
  const legacy = s.mode === 'legacy32';
  const slots = legacy ? SLOTS_10 : SLOTS_9;
  s.entries.forEach((spec, n) => {
    const table = tableAddr(Math.floor(n / 4));
    const slot = slots[n % 4];
    const v = entryValue(spec);
    if (legacy) mem.write32(Number(table) + slot * 4, Number(v & 0xffffffffn));
    else mem.write64(Number(table) + slot * 8, v);
  });
  return { mem, legacy };
}

function runScenario(s: Scenario): void {
  const { mem } = build(s);
  if (s.mode === 'pae' && s.cleanPdpt !== 0) s = { ...s, cr3Low: 0 };
  const refMem = mem.clone();
  const pae = s.mode !== 'legacy32';
  const lma = s.mode === 'ia32e4' || s.mode === 'ia32e5';
  // PAE's CR3 is 32-byte aligned; 4-level/32-bit CR3 low bits are PWT/PCD/ignored.
  const cr3 = Number(tableAddr(s.cr3Table)) + (s.mode === 'pae' ? (s.cr3Low < 96 ? 0 : s.cr3Low & 0x60) : lma || s.mode === 'legacy32' ? s.cr3Low & 0x18 : 0);
  const c = createPagingControl({
    cr3,
    cr4: (pae ? Cr4.PAE : 0) | (s.pse ? Cr4.PSE : 0) | (s.smep ? Cr4.SMEP : 0) | (s.smap ? Cr4.SMAP : 0) | (s.pge ? Cr4.PGE : 0) | (s.mode === 'ia32e5' ? Cr4.LA57 : 0),
    efer: (lma ? Efer.LME | Efer.LMA : 0) | (s.nxe ? Efer.NXE : 0),
    maxPhysAddrBits: s.M,
  });
  const walkers = [new Legacy32Walker(), new PaeWalker(), new Ia32eWalker({ levels: s.mode === 'ia32e5' ? 5 : 4, gbPages: s.gbPages })];
  const t = new Mmu(c, mem, walkers, { caching: s.caching, tlbEntries: 64 });
  c.cr0 = Cr0.PE | Cr0.PG | (s.wp ? Cr0.WP : 0);
  const enabled = t.controlRegisterWritten('cr0', Cr0.PE);
  const ref: RefControl = { mode: s.mode, M: s.M, pse: s.pse, nxe: s.nxe, wp: s.wp, smep: s.smep, smap: s.smap, gbPages: s.gbPages, cr3: BigInt(cr3), pdptes: [] };
  if (s.mode === 'pae') {
    const p = refPdptes(refMem, BigInt(cr3), s.M) as bigint[] | null;
    see(p ? 'pae:pdptes-valid' : 'pae:pdptes-invalid');
    expect(enabled).toBe(p !== null);
    if (!p) return;
    ref.pdptes = p;
  } else expect(enabled).toBe(true);

  const out = { physical: 0, fault: 0, errorCode: 0 };
  for (const a of s.accesses) {
    const lin = linearFor(s.mode, a);
    const access = { linear: lin, kind: a.kind, cpl: a.cpl, implicit: a.implicit, ac: a.ac, stack: a.stack };
    const expected = refTranslate(refMem, ref, access);
    c.cpl = a.cpl;
    c.ac = a.ac;
    const kind = a.kind === 'r' ? PageAccess.READ : a.kind === 'w' ? PageAccess.WRITE : PageAccess.EXEC;
    const asNumber = lma ? Number(BigInt.asIntN(64, lin)) : Number(lin);
    const ok = t.translate(asNumber, kind | (a.stack ? PageAccessFlag.STACK : 0), a.implicit, out);
    const got: RefOutcome = ok ? { ok: true, physical: BigInt(out.physical) } : { ok: false, fault: out.fault, code: out.errorCode };
    expect(got, `${s.mode} linear 0x${lin.toString(16)} ${a.kind} cpl${a.cpl}${a.implicit ? ' implicit' : ''}`).toEqual(expected);
  }
  expect(mem.dump()).toEqual(refMem.dump());
}

describe('linear walkers against the reference model', () => {
  it('agree on results, error codes and accessed/dirty side effects for random trees', () => {
    coverage.clear();
    fc.assert(fc.property(scenarioArb, runScenario), { numRuns: 600, seed: 0x5eed });
    const expected = [
      ...['legacy32', 'pae', 'ia32e4', 'ia32e5'].flatMap((m) => [`${m}:ok-12`, `${m}:not-present`, `${m}:protection`]),
      ...['pae', 'ia32e4', 'ia32e5'].map((m) => `${m}:reserved`),
      'legacy32:ok-22',
      'legacy32:reserved',
      'pae:ok-21',
      'ia32e4:ok-21',
      'ia32e4:ok-30',
      'ia32e5:ok-30',
      'ia32e4:non-canonical',
      'ia32e5:non-canonical',
      'pae:pdptes-valid',
      'pae:pdptes-invalid',
    ];
    for (const k of expected) expect(coverage.get(k) ?? 0, k).toBeGreaterThan(3);
  });

  it('also with a fresh random seed each run', () => {
    fc.assert(fc.property(scenarioArb, runScenario), { numRuns: 150 });
  });
});

const eptEntryArb = fc.record({
  rwx: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 6, arbitrary: fc.constant(7) }, { weight: 4, arbitrary: fc.nat(7) }),
  target: entryArb.map((e) => e.target),
  memType: fc.oneof({ weight: 5, arbitrary: fc.constant(6) }, { weight: 2, arbitrary: fc.nat(7) }),
  large: fc.nat(5),
  ipat: fc.boolean(),
  ad: fc.nat(3),
  extraBit: fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 3, max: 63 }) }),
});

const eptScenarioArb = fc.record({
  M: fc.constantFrom(36, 39, 46, 52),
  executeOnly: fc.boolean(),
  gbPages: fc.boolean(),
  levels5: fc.nat(4),
  ad: fc.boolean(),
  root: fc.nat(TABLES - 1),
  entries: fc.array(eptEntryArb, { minLength: TABLES * 4, maxLength: TABLES * 4 }),
  accesses: fc.array(
    fc.record({
      idx: fc.array(fc.nat(3), { minLength: 5, maxLength: 5 }),
      offset: fc.nat(4095),
      kind: fc.constantFrom<'r' | 'w' | 'x'>('r', 'w', 'x'),
      structure: fc.boolean(),
      probe: fc.nat(5),
      extra: fc.constantFrom(0, 0x80, 0x180, 0x780),
    }),
    { minLength: 1, maxLength: 25 },
  ),
});

describe('EPT walker against the reference model', () => {
  it('agrees on translations, violations with qualifications, misconfigurations and A/D side effects', () => {
    coverage.clear();
    fc.assert(
      fc.property(eptScenarioArb, (s) => {
        const mem = new TestMemory();
        s.entries.forEach((e, n) => {
          // Memory type and ignore-PAT are reserved in non-leaf entries: give them to large pages and to half of the rest.
          const leafish = e.large === 0 || e.large === 1;
          let v = e.target | BigInt(e.rwx) | (leafish ? BigInt(e.memType) << 3n : 0n);
          if (e.large === 0) v = (v & ~span(12, 29)) | 0x80n;
          if (e.ipat && leafish) v |= 0x40n;
          if (e.ad === 0) v |= 0x100n;
          if (e.ad === 1) v |= 0x300n;
          if (e.extraBit !== null) v |= bit(e.extraBit);
          mem.write64(TBASE + Math.floor(n / 4) * 0x1000 + SLOTS_9[n % 4] * 8, v);
        });
        const refMem = mem.clone();
        const levels = s.levels5 === 0 ? 5 : 4;
        const eptp = Number(tableAddr(s.root)) | ((levels - 1) << 3) | 6 | (s.ad ? 0x40 : 0);
        const walker = new EptWalker({ executeOnly: s.executeOnly, gbPages: s.gbPages });
        const out = new EptResult();
        for (const a of s.accesses) {
          let gpa = BigInt(a.offset);
          for (let l = 0; l < levels; l++) gpa |= BigInt(SLOTS_9[a.idx[l]]) << BigInt(12 + 9 * l);
          if (levels === 5) gpa &= span(0, 52); // keep it a safe integer
          const probe = a.probe === 0;
          const expected = refEpt(refMem, BigInt(eptp), gpa, a.kind, a.structure, probe, a.extra, s);
          const access = (a.kind === 'r' ? PageAccess.READ : a.kind === 'w' ? PageAccess.WRITE : PageAccess.EXEC) | (a.structure ? 0x10 : 0) | (probe ? PageAccessFlag.PROBE : 0);
          const ok = walker.translate(mem, eptp, Number(gpa), access, a.extra, s.M, out);
          const got: EptOutcome = ok
            ? { fault: 0, physical: BigInt(out.physical), memoryType: out.memoryType, ignorePat: out.ignorePat, pageShift: out.pageShift, permissions: out.permissions, dirty: out.dirty }
            : out.fault === -1
              ? { fault: -1, qualification: out.errorCode, physical: BigInt(out.physical) }
              : { fault: -2, physical: BigInt(out.physical) };
          expect(got, `gpa 0x${gpa.toString(16)} ${a.kind}${a.structure ? ' structure' : ''}`).toEqual(expected);
        }
        expect(mem.dump()).toEqual(refMem.dump());
      }),
      { numRuns: 400, seed: 0xe97 },
    );
    const expected = ['ok-12', 'ok-21', 'ok-30', 'violation-not-present', 'violation-permission'].concat(
      ['write-without-read', 'execute-only', 'maxphyaddr', 'reserved', 'memory-type'].map((w) => `misconfig-${w}`),
    );
    for (const k of expected) expect(coverage.get(`ept:${k}`) ?? 0, k).toBeGreaterThan(3);
  });
});
