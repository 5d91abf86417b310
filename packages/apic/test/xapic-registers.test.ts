import { describe, expect, it } from 'vitest';
import { EsrBit, LVT_MASKED } from '../src/index.js';
import { R, enable, fixed, rd, single, wr } from './helpers.js';

describe('xAPIC MMIO registers: reset state (SDM 11.4.7.1)', () => {
  it('reads the documented reset values', () => {
    const { apic } = single({ apicId: 5 });
    expect(apic.mode).toBe('xapic');
    expect(apic.mmioBase).toBe(0xfee00000);
    expect(rd(apic, R.ID)).toBe(0x05000000);
    expect(rd(apic, R.VER)).toBe(0x01060014); // version 0x14, max LVT 6, EOI-broadcast suppression
    for (const r of [R.TPR, R.APR, R.PPR, R.LDR, R.ESR, R.ICRLO, R.ICRHI, R.TICR, R.TCCR, R.TDCR, R.RRD]) expect(rd(apic, r), `0x${r.toString(16)}`).toBe(0);
    expect(rd(apic, R.DFR)).toBe(0xffffffff);
    expect(rd(apic, R.SVR)).toBe(0xff);
    for (const r of [R.TIMER, R.THERMAL, R.PERF, R.LINT0, R.LINT1, R.ERROR, R.CMCI]) expect(rd(apic, r)).toBe(LVT_MASKED);
    for (let i = 0; i < 8; i++) for (const b of [R.ISR, R.TMR, R.IRR]) expect(rd(apic, b + i * 16)).toBe(0);
    expect(apic.softwareEnabled).toBe(false);
  });

  it('version without EOI-broadcast suppression clears bit 24 and SVR bit 12 is not writable', () => {
    const { apic } = single({ eoiBroadcastSuppression: false });
    expect(rd(apic, R.VER)).toBe(0x00060014);
    wr(apic, R.SVR, 0x11ff);
    expect(rd(apic, R.SVR)).toBe(0x1ff);
  });
});

describe('xAPIC MMIO registers: read/write semantics', () => {
  it('ID is writable in bits 31:24 only', () => {
    const { apic } = single();
    wr(apic, R.ID, 0xabcdef12);
    expect(rd(apic, R.ID)).toBe(0xab000000);
    expect(apic.apicId).toBe(0xab);
  });

  it('TPR bits 7:0, LDR bits 31:24, DFR bits 31:28 (27:0 read as ones), ICR high bits 31:24', () => {
    const { apic } = single();
    wr(apic, R.TPR, 0x1234);
    expect(rd(apic, R.TPR)).toBe(0x34);
    wr(apic, R.LDR, 0x12345678);
    expect(rd(apic, R.LDR)).toBe(0x12000000);
    wr(apic, R.DFR, 0x00000000);
    expect(rd(apic, R.DFR)).toBe(0x0fffffff);
    wr(apic, R.DFR, 0xf0000000);
    expect(rd(apic, R.DFR)).toBe(0xffffffff);
    wr(apic, R.ICRHI, 0x12345678);
    expect(rd(apic, R.ICRHI)).toBe(0x12000000);
  });

  it('SVR: vector, enable, focus and suppression bits; other bits reserved', () => {
    const { apic } = single();
    wr(apic, R.SVR, 0xffffffff);
    expect(rd(apic, R.SVR)).toBe(0x13ff);
    expect(apic.softwareEnabled).toBe(true);
  });

  it('LVT entries keep only their defined bits; delivery status and remote IRR are read-only', () => {
    const { apic } = single();
    enable(apic);
    const cases: [number, number][] = [
      [R.TIMER, 0x000300ff], // no TSC-deadline: bit 18 reserved
      [R.THERMAL, 0x000107ff],
      [R.PERF, 0x000107ff],
      [R.LINT0, 0x0001a7ff],
      [R.LINT1, 0x0001a7ff],
      [R.ERROR, 0x000100ff],
      [R.CMCI, 0x000107ff],
    ];
    for (const [r, mask] of cases) {
      wr(apic, r, 0xffffffff);
      expect(rd(apic, r), `0x${r.toString(16)}`).toBe(mask);
      wr(apic, r, 0x20);
      expect(rd(apic, r)).toBe(0x20);
    }
  });

  it('software disable (SVR bit 8 = 0) sets every LVT mask and keeps them set', () => {
    const { apic } = single();
    enable(apic);
    wr(apic, R.LINT1, 0x400);
    wr(apic, R.TIMER, 0x30);
    wr(apic, R.SVR, 0xff);
    expect(rd(apic, R.LINT1)).toBe(0x10400);
    expect(rd(apic, R.TIMER)).toBe(0x10030);
    wr(apic, R.TIMER, 0x31);
    expect(rd(apic, R.TIMER)).toBe(0x10031);
    enable(apic);
    wr(apic, R.TIMER, 0x31);
    expect(rd(apic, R.TIMER)).toBe(0x31);
  });

  it('timer registers: initial count 32 bits, divide bits 0,1,3, current count read-only', () => {
    const { apic } = single();
    wr(apic, R.TDCR, 0xffffffff);
    expect(rd(apic, R.TDCR)).toBe(0xb);
    wr(apic, R.TICR, 0xffffffff);
    expect(rd(apic, R.TICR)).toBe(0xffffffff);
    expect(rd(apic, R.TCCR)).toBe(0xffffffff);
    wr(apic, R.TCCR, 5);
    expect(rd(apic, R.TCCR)).toBe(0xffffffff);
  });

  it('read-only registers ignore writes (version, APR, PPR, ISR, TMR, IRR)', () => {
    const { apic } = single();
    enable(apic);
    fixed(apic, 0x41, 'level');
    const before = [R.VER, R.APR, R.PPR, R.ISR + 0x20, R.TMR + 0x20, R.IRR + 0x20].map((r) => rd(apic, r));
    for (const r of [R.VER, R.APR, R.PPR, R.ISR + 0x20, R.TMR + 0x20, R.IRR + 0x20, R.RRD]) wr(apic, r, 0xffffffff);
    expect([R.VER, R.APR, R.PPR, R.ISR + 0x20, R.TMR + 0x20, R.IRR + 0x20].map((r) => rd(apic, r))).toEqual(before);
    expect(before[4]).toBe(2); // TMR bit 0x41
    expect(before[5]).toBe(2); // IRR bit 0x41
    expect(rd(apic, R.ESR)).toBe(0);
  });

  it('EOI is write-only (reads 0) and any value written is an EOI', () => {
    const { apic } = single();
    enable(apic);
    fixed(apic, 0x50);
    expect(apic.acknowledge()).toBe(0x50);
    expect(rd(apic, R.ISR + 0x20)).toBe(0x10000);
    wr(apic, R.EOI, 0xdeadbeef);
    expect(rd(apic, R.ISR + 0x20)).toBe(0);
    expect(rd(apic, R.EOI)).toBe(0);
  });

  it('reserved offsets read 0, ignore writes and set ESR "illegal register address"', () => {
    const { apic } = single();
    enable(apic);
    for (const off of [0x000, 0x010, 0x040, 0x290, 0x2e0, 0x3a0, 0x3f0, 0x400, 0xff0]) {
      expect(rd(apic, off)).toBe(0);
      wr(apic, off, 0xffffffff);
      expect(rd(apic, off)).toBe(0);
    }
    expect(rd(apic, R.ESR)).toBe(0);
    wr(apic, R.ESR, 0);
    expect(rd(apic, R.ESR)).toBe(EsrBit.ILLEGAL_REGISTER_ADDRESS);
  });

  it('bytes 4–15 of a register slot read 0; sub-dword reads extract bytes; unaligned or narrow writes are ignored', () => {
    const { apic } = single({ apicId: 0x7e });
    expect(apic.mmioRead(R.ID + 3, 1)).toBe(0x7e);
    expect(apic.mmioRead(R.ID + 2, 2)).toBe(0x7e00);
    expect(apic.mmioRead(R.ID + 4, 4)).toBe(0);
    expect(apic.mmioRead(R.ID, 8)).toBe(0x7e000000);
    wr(apic, R.TPR + 4, 0xff);
    apic.mmioWrite(R.TPR, 0xff, 1);
    expect(rd(apic, R.TPR)).toBe(0);
  });

  it('ICR: writable bits, delivery status always idle after the write (synchronous fabric)', () => {
    const { apic, bus } = single();
    enable(apic);
    wr(apic, R.ICRHI, 0x03000000);
    wr(apic, R.ICRLO, 0xffffffff & ~0x700); // fixed, vector 0xff, every other bit
    expect(rd(apic, R.ICRLO)).toBe(0x000cc8ff);
    expect(rd(apic, R.ICRLO) & (1 << 12)).toBe(0);
    expect(bus.sent).toEqual([
      { mode: 0, vector: 0xff, destination: 3, destMode: 'logical', shorthand: 3, level: true, trigger: 'level', sourceApicId: 0, x2apic: false },
    ]);
  });
});

describe('ESR write-before-read (SDM 11.5.3)', () => {
  it('errors accumulate internally; an ESR write latches them into the readable ESR and clears the accumulator', () => {
    const { apic } = single();
    enable(apic);
    fixed(apic, 3); // received illegal vector
    expect(rd(apic, R.ESR)).toBe(0);
    wr(apic, R.ESR, 0x12345678); // any value
    expect(rd(apic, R.ESR)).toBe(EsrBit.RECEIVED_ILLEGAL_VECTOR);
    wr(apic, R.ICRLO, 0x00040005); // self shorthand, fixed vector 5: send + receive illegal
    expect(rd(apic, R.ESR)).toBe(EsrBit.RECEIVED_ILLEGAL_VECTOR);
    wr(apic, R.ESR, 0);
    expect(rd(apic, R.ESR)).toBe(EsrBit.RECEIVED_ILLEGAL_VECTOR | EsrBit.SEND_ILLEGAL_VECTOR);
    wr(apic, R.ESR, 0);
    expect(rd(apic, R.ESR)).toBe(0);
    expect(apic.irrBit(3) || apic.irrBit(5)).toBe(false); // never set IRR bits 0–15
  });

  it('an unmasked LVT error entry raises its vector when an error is recorded', () => {
    const { apic } = single();
    enable(apic);
    wr(apic, R.ERROR, 0xee);
    fixed(apic, 7);
    expect(apic.irrBit(0xee)).toBe(true);
    expect(apic.pendingVector()).toBe(0xee);
  });

  it('an illegal error vector records "received illegal vector" without recursing', () => {
    const { apic } = single();
    enable(apic);
    wr(apic, R.ERROR, 0x02);
    fixed(apic, 1);
    wr(apic, R.ESR, 0);
    expect(rd(apic, R.ESR)).toBe(EsrBit.RECEIVED_ILLEGAL_VECTOR);
    expect(apic.pendingVector()).toBe(-1);
  });
});
