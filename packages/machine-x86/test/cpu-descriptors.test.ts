import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeGate, descriptorAr, descriptorBase, descriptorLimit, encodeDescriptor, type Gate } from '../src/cpu/descriptors.js';
import { combineExceptions, Combine, exceptionClass, ExceptionClass, pushesErrorCode } from '../src/cpu/exception-classes.js';
import { AR, CpuState, Seg, Vec, Activity, Reg } from '../src/cpu/state.js';

describe('segment descriptors (SDM 3.4.5)', () => {
  it('decodes the classic flat 4 GiB code and data descriptors', () => {
    // 0x00CF9A000000FFFF: base 0, limit 0xFFFFF, G=1, D=1, P=1, DPL0, code exec/read.
    expect(descriptorBase(0x0000ffff, 0x00cf9a00)).toBe(0);
    expect(descriptorLimit(0x0000ffff, 0x00cf9a00)).toBe(0xffffffff);
    expect(descriptorAr(0x00cf9a00)).toBe(AR.G | AR.DB | AR.P | AR.S | AR.CODE | AR.RW);
    // 64-bit code: 0x00AF9A000000FFFF (L=1, D=0).
    expect(descriptorAr(0x00af9a00) & (AR.L | AR.DB)).toBe(AR.L);
    // Byte-granular limit, split base.
    expect(descriptorBase(0x5678_0067, 0x12_00_89_34 | 0)).toBe(0x12345678);
    expect(descriptorLimit(0x5678_0067, 0x12008934)).toBe(0x67);
  });

  it('encode/decode round-trips every base, limit and attribute combination', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xfffff }), fc.integer({ min: 0, max: 0xff }), fc.integer({ min: 0, max: 0xf }), (base, limit, lowAr, high) => {
        const ar = lowAr | (high << 12);
        const [lo, hi] = encodeDescriptor(base, limit, ar);
        expect(descriptorBase(lo, hi)).toBe(base);
        expect(descriptorAr(hi)).toBe(ar);
        expect(descriptorLimit(lo, hi)).toBe(ar & AR.G ? limit * 4096 + 0xfff : limit);
      }),
    );
  });

  it('decodes 32- and 64-bit gates, with canonical high-half targets as negative numbers', () => {
    const g: Gate = { type: 0, dpl: 0, present: false, selector: 0, offset: 0, ist: 0 };
    // 32-bit interrupt gate, selector 0x08, offset 0x00101234, DPL 3, present.
    decodeGate(0x0008_1234, 0x0010_ee00, 0, false, g);
    expect(g).toEqual({ type: 0xe, dpl: 3, present: true, selector: 8, offset: 0x00101234, ist: 0 });
    // 64-bit trap gate to 0xFFFFFFFF80001000 with IST 2.
    decodeGate(0x0010_1000, 0x8000_8f02 | 0, 0xffffffff | 0, true, g);
    expect(g.type).toBe(0xf);
    expect(g.ist).toBe(2);
    expect(g.offset).toBe(-0x7ffff000);
    expect(BigInt.asUintN(64, BigInt(g.offset))).toBe(0xffffffff80001000n);
  });
});

describe('exception classes and #DF (SDM Tables 6-4, 6-5)', () => {
  it('classifies vectors', () => {
    for (const v of [Vec.DE, Vec.TS, Vec.NP, Vec.SS, Vec.GP]) expect(exceptionClass(v)).toBe(ExceptionClass.CONTRIBUTORY);
    expect(exceptionClass(Vec.PF)).toBe(ExceptionClass.PAGE_FAULT);
    for (const v of [Vec.DB, Vec.NMI, Vec.BP, Vec.OF, Vec.BR, Vec.UD, Vec.NM, Vec.MF, Vec.AC, Vec.MC, Vec.XM, 0x20, 0xff]) expect(exceptionClass(v)).toBe(ExceptionClass.BENIGN);
  });

  it('follows Table 6-5 exactly', () => {
    const B = Vec.UD, C = Vec.GP, P = Vec.PF;
    const table: [number, number, Combine][] = [
      [B, B, Combine.SERIAL], [B, C, Combine.SERIAL], [B, P, Combine.SERIAL],
      [C, B, Combine.SERIAL], [C, C, Combine.DOUBLE_FAULT], [C, P, Combine.SERIAL],
      [P, B, Combine.SERIAL], [P, C, Combine.DOUBLE_FAULT], [P, P, Combine.DOUBLE_FAULT],
      [Vec.DF, B, Combine.TRIPLE_FAULT], [Vec.DF, C, Combine.TRIPLE_FAULT], [Vec.DF, P, Combine.TRIPLE_FAULT],
      [Vec.NMI, P, Combine.SERIAL],
    ];
    for (const [a, b, want] of table) expect([a, b, combineExceptions(a, b)]).toEqual([a, b, want]);
  });

  it('knows which exceptions push an error code', () => {
    const withCode = [8, 10, 11, 12, 13, 14, 17, 21];
    for (let v = 0; v < 32; v++) expect([v, pushesErrorCode(v)]).toEqual([v, withCode.includes(v)]);
  });
});

describe('CpuState reset (SDM Table 10-1)', () => {
  it('starts at F000:FFF0 with base FFFF0000 in real mode', () => {
    const s = new CpuState();
    s.reset('power-on', 0x000806f1);
    expect(s.segSel[Seg.CS]).toBe(0xf000);
    expect(s.segBase[Seg.CS]).toBe(0xffff0000);
    expect(s.rip).toBe(0xfff0);
    expect(s.rflags).toBe(2);
    expect(s.cr0 >>> 0).toBe(0x60000010);
    expect(s.lo[Reg.RDX]).toBe(0x000806f1);
    expect(s.dr[6]).toBe(0xffff0ff0);
    expect(s.dr[7]).toBe(0x400);
    expect(s.cpl).toBe(0);
    expect(s.activity).toBe(Activity.ACTIVE);
    expect(s.protectedMode).toBe(false);
    expect(s.is64).toBe(false);
  });

  it('INIT keeps CD/NW and the MSRs, clears the rest', () => {
    const s = new CpuState();
    s.reset();
    s.cr0 = 0x80000011 | 0;
    s.msr.set(0xc0000081, 123n);
    s.setReg64(Reg.R15, 0xdeadbeefcafebaben);
    s.reset('init');
    expect(s.cr0 >>> 0).toBe(0x00000010);
    expect(s.msr.get(0xc0000081)).toBe(123n);
    expect(s.getReg64(Reg.R15)).toBe(0n);
  });

  it('keeps 64-bit register values exactly', () => {
    const s = new CpuState();
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.integer({ min: 0, max: 15 }), (v, r) => {
        s.setReg64(r, v);
        return s.getReg64(r) === v;
      }),
    );
  });
});
