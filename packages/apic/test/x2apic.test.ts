import { describe, expect, it } from 'vitest';
import { EsrBit, X2ApicMsr as M } from '../src/index.js';
import { R, enable, fixed, gpOnRead, gpOnWrite, rd, rdmsr, single, toX2, wr, wrmsr } from './helpers.js';

const EN = 1n << 11n;
const EXTD = 1n << 10n;
const BSP = 1n << 8n;
const BASE = 0xfee00000n;

describe('IA32_APIC_BASE and mode transitions (SDM 11.12.5)', () => {
  it('reads base | EN | BSP at reset; BSP is read-only', () => {
    const { apic } = single();
    expect(rdmsr(apic, 0x1b)).toBe(BASE | EN | BSP);
    wrmsr(apic, 0x1b, BASE | EN);
    expect(rdmsr(apic, 0x1b)).toBe(BASE | EN | BSP);
    const ap = single({ bsp: false }).apic;
    wrmsr(ap, 0x1b, BASE | EN | BSP);
    expect(rdmsr(ap, 0x1b)).toBe(BASE | EN);
  });

  it('reserved bits (0–7, 9, above MAXPHYADDR) → #GP; EXTD without x2APIC support → #GP', () => {
    const { apic } = single({ maxPhysAddrBits: 36 });
    for (const bad of [BASE | EN | 1n, BASE | EN | (1n << 9n), EN | (1n << 36n), EN | (1n << 63n)]) expect(gpOnWrite(apic, 0x1b, bad)).toBe(true);
    expect(gpOnWrite(single({ x2apic: false }).apic, 0x1b, BASE | EN | EXTD)).toBe(true);
  });

  it('legal: xAPIC → x2APIC, x2APIC → disabled, disabled → xAPIC, xAPIC → disabled', () => {
    const { apic } = single();
    wrmsr(apic, 0x1b, BASE | EN | EXTD);
    expect(apic.mode).toBe('x2apic');
    wrmsr(apic, 0x1b, BASE);
    expect(apic.mode).toBe('disabled');
    wrmsr(apic, 0x1b, BASE | EN);
    expect(apic.mode).toBe('xapic');
    wrmsr(apic, 0x1b, BASE);
    expect(apic.mode).toBe('disabled');
  });

  it('illegal: x2APIC → xAPIC, disabled → x2APIC, EXTD without EN — typed #GP, state unchanged', () => {
    const { apic } = single();
    toX2(apic);
    const r = apic.writeMsr(0x1b, BASE | EN);
    expect(r).toMatchObject({ ok: false, fault: 'gp' });
    expect(apic.mode).toBe('x2apic');
    wrmsr(apic, 0x1b, BASE);
    expect(apic.writeMsr(0x1b, BASE | EN | EXTD)).toMatchObject({ ok: false, fault: 'gp' });
    expect(apic.mode).toBe('disabled');
    expect(gpOnWrite(apic, 0x1b, BASE | EXTD)).toBe(true);
    expect(rdmsr(apic, 0x1b)).toBe(BASE | BSP);
  });

  it('relocation moves the MMIO page; disabled or x2APIC APICs decode no page', () => {
    const { apic } = single();
    wrmsr(apic, 0x1b, 0xfed00000n | EN);
    expect(apic.mmioBase).toBe(0xfed00000);
    expect(rdmsr(apic, 0x1b)).toBe(0xfed00000n | EN | BSP);
    wrmsr(apic, 0x1b, 0xfed00000n);
    expect(apic.mmioBase).toBeNull();
    expect(rd(apic, R.VER)).toBe(0);
    wrmsr(apic, 0x1b, 0xfee00000n | EN | 0n);
    toX2(apic);
    expect(apic.mmioBase).toBeNull();
  });

  it('disabling and re-enabling returns every register to its reset state', () => {
    const { apic, clock } = single({ apicId: 3 });
    enable(apic);
    wr(apic, R.ID, 0x09000000);
    wr(apic, R.TPR, 0x20);
    wr(apic, R.LDR, 0x01000000);
    wr(apic, R.DFR, 0x0fffffff);
    wr(apic, R.LINT1, 0x400);
    wr(apic, R.TICR, 1000);
    fixed(apic, 0x80);
    apic.acknowledge();
    fixed(apic, 0x90);
    wrmsr(apic, 0x1b, BASE);
    wrmsr(apic, 0x1b, BASE | EN);
    expect(rd(apic, R.ID)).toBe(0x03000000);
    expect([R.TPR, R.LDR, R.TICR, R.TCCR, R.ISR + 0x40, R.IRR + 0x40].map((r) => rd(apic, r))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(rd(apic, R.DFR)).toBe(0xffffffff);
    expect(rd(apic, R.SVR)).toBe(0xff);
    expect(rd(apic, R.LINT1)).toBe(0x10000);
    expect(clock.pending).toBe(0);
  });

  it('xAPIC → x2APIC keeps the state and derives the x2APIC ID and LDR', () => {
    const { apic } = single({ apicId: 0x25 });
    enable(apic);
    wr(apic, R.TPR, 0x30);
    wr(apic, R.LINT0, 0x700);
    fixed(apic, 0x99);
    toX2(apic);
    expect(rdmsr(apic, M.ID)).toBe(0x25n);
    expect(rdmsr(apic, M.LDR)).toBe((2n << 16n) | (1n << 5n)); // cluster = ID[19:4], bit = 1 << ID[3:0]
    expect(rdmsr(apic, M.TPR)).toBe(0x30n);
    expect(rdmsr(apic, M.LVT_LINT0)).toBe(0x700n);
    expect(rdmsr(apic, M.IRR0 + 4)).toBe(1n << 25n);
    expect(rdmsr(apic, M.SVR)).toBe(0x1ffn);
  });

  it('x2APIC IDs use all 32 bits', () => {
    const { apic } = single({ apicId: 0x12345 });
    expect(rd(apic, R.ID)).toBe(0x45000000);
    toX2(apic);
    expect(rdmsr(apic, M.ID)).toBe(0x12345n);
    expect(rdmsr(apic, M.LDR)).toBe((0x1234n << 16n) | (1n << 5n));
  });
});

describe('x2APIC MSR interface (SDM 11.12.1)', () => {
  it('x2APIC MSRs #GP outside x2APIC mode; non-APIC MSRs #GP', () => {
    const { apic } = single();
    expect(gpOnRead(apic, M.ID)).toBe(true);
    expect(gpOnWrite(apic, M.TPR, 0)).toBe(true);
    expect(gpOnRead(apic, 0x10)).toBe(true);
    toX2(apic);
    expect(gpOnRead(apic, 0x900)).toBe(true);
  });

  it('exactly the architectural registers are readable in 0x800–0x8FF', () => {
    const { apic } = single();
    toX2(apic);
    const readable: number[] = [];
    for (let i = 0x800; i <= 0x8ff; i++) if (apic.readMsr(i).ok) readable.push(i);
    const expected = [0x802, 0x803, 0x808, 0x80a, 0x80d, 0x80f];
    for (let i = 0x810; i <= 0x828; i++) expected.push(i);
    expected.push(0x82f, 0x830, 0x832, 0x833, 0x834, 0x835, 0x836, 0x837, 0x838, 0x839, 0x83e);
    expect(readable).toEqual(expected);
  });

  it('reads every register at its MSR', () => {
    const { apic } = single({ apicId: 7 });
    toX2(apic);
    enable(apic);
    expect(rdmsr(apic, M.VERSION)).toBe(0x01060014n);
    wrmsr(apic, M.TPR, 0x45);
    expect(rdmsr(apic, M.TPR)).toBe(0x45n);
    expect(rdmsr(apic, M.PPR)).toBe(0x45n);
    wrmsr(apic, M.TIMER_DIVIDE, 0xb);
    expect(rdmsr(apic, M.TIMER_DIVIDE)).toBe(0xbn);
    wrmsr(apic, M.TIMER_INITIAL, 0xffffffffn);
    expect(rdmsr(apic, M.TIMER_INITIAL)).toBe(0xffffffffn);
    expect(rdmsr(apic, M.TIMER_CURRENT)).toBe(0xffffffffn);
    for (const [msr, v] of [[M.LVT_TIMER, 0x300ffn], [M.LVT_THERMAL, 0x107ffn], [M.LVT_PERF, 0x107ffn], [M.LVT_LINT0, 0x1a7ffn], [M.LVT_LINT1, 0x1a7ffn], [M.LVT_ERROR, 0x100ffn], [M.LVT_CMCI, 0x107ffn]] as const) {
      wrmsr(apic, msr, v);
      expect(rdmsr(apic, msr)).toBe(v);
    }
    fixed(apic, 0xf1, 'level');
    expect(rdmsr(apic, M.IRR0 + 7)).toBe(1n << 17n);
    expect(rdmsr(apic, M.TMR0 + 7)).toBe(1n << 17n);
    expect(rdmsr(apic, M.ISR0 + 7)).toBe(0n);
    expect(rdmsr(apic, M.ESR)).toBe(0n);
  });

  it('read-only registers #GP on write: ID, version, PPR, LDR, ISR, TMR, IRR, current count', () => {
    const { apic } = single();
    toX2(apic);
    for (const msr of [M.ID, M.VERSION, M.PPR, M.LDR, M.ISR0, M.ISR0 + 7, M.TMR0, M.IRR0 + 3, M.TIMER_CURRENT]) expect(gpOnWrite(apic, msr, 0), `0x${msr.toString(16)}`).toBe(true);
  });

  it('write-only registers #GP on read: EOI, SELF IPI', () => {
    const { apic } = single();
    toX2(apic);
    expect(gpOnRead(apic, M.EOI)).toBe(true);
    expect(gpOnRead(apic, M.SELF_IPI)).toBe(true);
  });

  it('registers that do not exist in x2APIC mode #GP both ways: DFR, APR, RRD, ICR high, unused indices', () => {
    const { apic } = single();
    toX2(apic);
    for (const msr of [0x80e /* DFR */, 0x809 /* APR */, 0x80c /* RRD */, 0x831 /* ICR high */, 0x800, 0x801, 0x804, 0x829, 0x83a, 0x840, 0x8ff]) {
      expect(gpOnRead(apic, msr), `rd 0x${msr.toString(16)}`).toBe(true);
      expect(gpOnWrite(apic, msr, 0), `wr 0x${msr.toString(16)}`).toBe(true);
    }
  });

  it('reserved bits #GP (RsvdZ): bits 63:32, TPR, SVR, LVT, divide, SELF IPI, ICR', () => {
    const { apic } = single();
    toX2(apic);
    enable(apic);
    const cases: [number, bigint][] = [
      [M.TPR, 1n << 32n],
      [M.TPR, 0x100n],
      [M.SVR, 0x400n],
      [M.SVR, 0x2000n],
      [M.LVT_TIMER, 1n << 18n], // TSC-deadline not supported: bit 18 reserved
      [M.LVT_TIMER, 0x700n],
      [M.LVT_ERROR, 0x400n],
      [M.LVT_LINT0, 1n << 17n],
      [M.LVT_THERMAL, 0x2000n],
      [M.TIMER_DIVIDE, 0x4n],
      [M.TIMER_INITIAL, 1n << 32n],
      [M.SELF_IPI, 0x100n],
      [M.ICR, 1n << 12n],
      [M.ICR, 1n << 13n],
      [M.ICR, 1n << 16n],
      [M.ICR, 1n << 20n],
    ];
    for (const [msr, v] of cases) expect(gpOnWrite(apic, msr, v), `0x${msr.toString(16)} ← 0x${v.toString(16)}`).toBe(true);
    // Read-only LVT bits (delivery status, remote IRR) are not reserved: accepted and ignored.
    wrmsr(apic, M.LVT_LINT0, 0x5000n | 0x30n);
    expect(rdmsr(apic, M.LVT_LINT0)).toBe(0x30n);
  });

  it('EOI and ESR writes must be 0; ESR write-before-read', () => {
    const { apic } = single();
    toX2(apic);
    enable(apic);
    expect(gpOnWrite(apic, M.EOI, 1)).toBe(true);
    expect(gpOnWrite(apic, M.ESR, 1)).toBe(true);
    fixed(apic, 0x40);
    expect(apic.acknowledge()).toBe(0x40);
    wrmsr(apic, M.EOI, 0);
    expect(apic.isrBit(0x40)).toBe(false);
    wrmsr(apic, M.SELF_IPI, 0x0f);
    expect(rdmsr(apic, M.ESR)).toBe(0n);
    wrmsr(apic, M.ESR, 0);
    expect(rdmsr(apic, M.ESR)).toBe(BigInt(EsrBit.SEND_ILLEGAL_VECTOR | EsrBit.RECEIVED_ILLEGAL_VECTOR));
  });

  it('the 64-bit ICR reads back with the 32-bit destination', () => {
    const { apic, bus } = single();
    toX2(apic);
    enable(apic);
    wrmsr(apic, M.ICR, (0x00012345n << 32n) | 0x4031n);
    expect(rdmsr(apic, M.ICR)).toBe((0x00012345n << 32n) | 0x4031n);
    expect(bus.sent[0]).toMatchObject({ mode: 0, vector: 0x31, destination: 0x12345, destMode: 'physical', x2apic: true });
  });

  it('SELF IPI sets IRR of this APIC without using the bus', () => {
    const { apic, bus, cpu } = single();
    toX2(apic);
    enable(apic);
    wrmsr(apic, M.SELF_IPI, 0x77);
    expect(apic.irrBit(0x77)).toBe(true);
    expect(apic.tmrBit(0x77)).toBe(false);
    expect(bus.sent).toHaveLength(0);
    expect(cpu.interrupts).toBe(1);
  });

  it('the MMIO page is not decoded in x2APIC mode', () => {
    const { apic } = single();
    toX2(apic);
    enable(apic);
    wr(apic, R.TPR, 0x50);
    expect(rdmsr(apic, M.TPR)).toBe(0n);
    expect(rd(apic, R.SVR)).toBe(0);
  });

  it('INIT keeps x2APIC mode and the ID; registers go to their INIT state', () => {
    const { apic } = single({ apicId: 0x21 });
    toX2(apic);
    enable(apic);
    wrmsr(apic, M.TPR, 0x20);
    apic.initReset();
    expect(apic.mode).toBe('x2apic');
    expect(rdmsr(apic, M.ID)).toBe(0x21n);
    expect(rdmsr(apic, M.LDR)).toBe((2n << 16n) | 2n);
    expect(rdmsr(apic, M.TPR)).toBe(0n);
    expect(rdmsr(apic, M.SVR)).toBe(0xffn);
  });
});
