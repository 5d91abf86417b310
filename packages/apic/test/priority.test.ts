import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { R, enable, fixed, rd, single, toX2, wr, wrmsr } from './helpers.js';

describe('PPR and acceptance (SDM 11.8.3)', () => {
  it('PPR = TPR when TPR class ≥ ISRV class, else ISRV class with sub-class 0', () => {
    const { apic } = single();
    enable(apic);
    wr(apic, R.TPR, 0x35);
    expect(rd(apic, R.PPR)).toBe(0x35);
    fixed(apic, 0x62);
    expect(apic.acknowledge()).toBe(0x62);
    expect(rd(apic, R.PPR)).toBe(0x60);
    wr(apic, R.TPR, 0x6a);
    expect(rd(apic, R.PPR)).toBe(0x6a);
    wr(apic, R.TPR, 0x7a);
    expect(rd(apic, R.PPR)).toBe(0x7a);
  });

  it('an interrupt is delivered only when its class is above PPR[7:4]', () => {
    const { apic, cpu } = single();
    enable(apic);
    wr(apic, R.TPR, 0x50);
    fixed(apic, 0x5f);
    expect(apic.pendingVector()).toBe(-1);
    expect(cpu.interrupts).toBe(0);
    wr(apic, R.TPR, 0x4f);
    expect(cpu.interrupts).toBe(1); // lowering TPR signals the processor
    expect(apic.pendingVector()).toBe(0x5f);
  });

  it('higher vectors first; a nested higher class interrupts, a same class waits for EOI', () => {
    const { apic } = single();
    enable(apic);
    fixed(apic, 0x41);
    fixed(apic, 0x45);
    expect(apic.acknowledge()).toBe(0x45);
    expect(apic.pendingVector()).toBe(-1); // 0x41 same class as ISR 0x45
    fixed(apic, 0x81);
    expect(apic.acknowledge()).toBe(0x81);
    wr(apic, R.EOI, 0);
    expect(apic.isrBit(0x81)).toBe(false);
    expect(apic.isrBit(0x45)).toBe(true);
    wr(apic, R.EOI, 0);
    expect(apic.acknowledge()).toBe(0x41);
  });

  it('an edge interrupt raised twice while pending is merged; once in service it can pend again', () => {
    const { apic } = single();
    enable(apic);
    fixed(apic, 0x33);
    fixed(apic, 0x33);
    expect(apic.acknowledge()).toBe(0x33);
    expect(apic.pendingVector()).toBe(-1);
    fixed(apic, 0x33);
    expect(apic.irrBit(0x33) && apic.isrBit(0x33)).toBe(true);
  });

  it('acknowledge after the interrupt was withdrawn returns the spurious vector and leaves ISR alone', () => {
    const { apic } = single();
    enable(apic);
    wr(apic, R.SVR, 0x1ef);
    fixed(apic, 0x40);
    expect(apic.pendingVector()).toBe(0x40);
    wr(apic, R.TPR, 0xf0); // raised between the INTR check and INTA
    expect(apic.acknowledge()).toBe(0xef);
    expect(apic.isrBit(0x40) || apic.isrBit(0xef)).toBe(false);
    expect(apic.irrBit(0x40)).toBe(true);
    expect(apic.spuriousCount).toBe(1);
  });

  it('CR8 ↔ TPR: CR8[3:0] = TPR[7:4]', () => {
    const { apic } = single();
    wr(apic, R.TPR, 0xa7);
    expect(apic.readTpr()).toBe(0xa);
    apic.writeTpr(0x3);
    expect(rd(apic, R.TPR)).toBe(0x30);
    apic.writeTpr(0x1f);
    expect(rd(apic, R.TPR)).toBe(0xf0);
  });

  it('APR follows SDM 11.6.2.4', () => {
    const { apic } = single();
    enable(apic);
    wr(apic, R.TPR, 0x57);
    expect(rd(apic, R.APR)).toBe(0x57);
    fixed(apic, 0x91);
    expect(rd(apic, R.APR)).toBe(0x90);
  });

  it('software-disabled APICs hold IRR/ISR but accept no new fixed interrupts', () => {
    const { apic } = single();
    enable(apic);
    fixed(apic, 0x60);
    wr(apic, R.SVR, 0xff);
    fixed(apic, 0x70);
    expect(apic.irrBit(0x60)).toBe(true);
    expect(apic.irrBit(0x70)).toBe(false);
    expect(apic.acknowledge()).toBe(0x60);
  });
});

describe('EOI', () => {
  it('EOI with an empty ISR does nothing', () => {
    const { apic, bus } = single();
    enable(apic);
    wr(apic, R.EOI, 0);
    expect(bus.eois).toEqual([]);
  });

  it('level-triggered vectors are broadcast on EOI, unless SVR bit 12 suppresses it; edge ones never', () => {
    const { apic, bus } = single();
    enable(apic);
    fixed(apic, 0x61, 'level');
    fixed(apic, 0x52);
    apic.acknowledge();
    wr(apic, R.EOI, 0);
    expect(bus.eois).toEqual([0x61]);
    apic.acknowledge();
    wr(apic, R.EOI, 0);
    expect(bus.eois).toEqual([0x61]);
    wr(apic, R.SVR, 0x11ff);
    fixed(apic, 0x61, 'level');
    apic.acknowledge();
    wr(apic, R.EOI, 0);
    expect(bus.eois).toEqual([0x61]);
  });

  it('an EOI that unblocks a pending interrupt signals the processor', () => {
    const { apic, cpu } = single();
    enable(apic);
    fixed(apic, 0x44);
    apic.acknowledge();
    fixed(apic, 0x43);
    const before = cpu.interrupts;
    wr(apic, R.EOI, 0);
    expect(cpu.interrupts).toBe(before + 1);
  });
});

/** The tiny reference model: 256 IRR/ISR flags and a TPR. */
class Reference {
  irr = new Set<number>();
  isr = new Set<number>();
  tpr = 0;
  private static max(s: Set<number>): number {
    return s.size ? Math.max(...s) : -1;
  }
  ppr(): number {
    const isrv = Reference.max(this.isr);
    const c = isrv < 0 ? 0 : isrv & 0xf0;
    return (this.tpr & 0xf0) >= c ? this.tpr : c;
  }
  pending(): number {
    const v = Reference.max(this.irr);
    return v >= 0 && (v & 0xf0) > (this.ppr() & 0xf0) ? v : -1;
  }
  ack(spurious: number): number {
    const v = this.pending();
    if (v < 0) return spurious;
    this.irr.delete(v);
    this.isr.add(v);
    return v;
  }
  eoi(): void {
    const v = Reference.max(this.isr);
    if (v >= 0) this.isr.delete(v);
  }
}

type Op = { k: 'raise'; v: number } | { k: 'ack' } | { k: 'eoi' } | { k: 'tpr'; v: number } | { k: 'cr8'; v: number };
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('raise' as const), v: fc.integer({ min: 0, max: 255 }) }),
  fc.constant({ k: 'ack' as const }),
  fc.constant({ k: 'eoi' as const }),
  fc.record({ k: fc.constant('tpr' as const), v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ k: fc.constant('cr8' as const), v: fc.integer({ min: 0, max: 15 }) }),
);

describe('property: the APIC agrees with the reference model of IRR/ISR/TPR', () => {
  for (const x2 of [false, true]) {
    it(`${x2 ? 'x2APIC' : 'xAPIC'}: pendingVector, acknowledge, PPR, IRR/ISR after any sequence`, () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
          const { apic } = single();
          if (x2) toX2(apic);
          enable(apic);
          const ref = new Reference();
          for (const o of ops) {
            switch (o.k) {
              case 'raise':
                fixed(apic, o.v);
                if (o.v >= 16) ref.irr.add(o.v);
                break;
              case 'ack':
                expect(apic.acknowledge()).toBe(ref.ack(0xff));
                break;
              case 'eoi':
                if (x2) wrmsr(apic, 0x80b, 0);
                else wr(apic, R.EOI, 0);
                ref.eoi();
                break;
              case 'tpr':
                if (x2) wrmsr(apic, 0x808, o.v);
                else wr(apic, R.TPR, o.v);
                ref.tpr = o.v;
                break;
              case 'cr8':
                apic.writeTpr(o.v);
                ref.tpr = o.v << 4;
                break;
            }
            expect(apic.pendingVector()).toBe(ref.pending());
            expect(apic.ppr).toBe(ref.ppr());
            expect(apic.readTpr()).toBe(ref.tpr >> 4);
          }
          const all = [...Array(256).keys()];
          expect(all.filter((v) => apic.irrBit(v))).toEqual([...ref.irr].sort((a, b) => a - b));
          expect(all.filter((v) => apic.isrBit(v))).toEqual([...ref.isr].sort((a, b) => a - b));
        }),
        { numRuns: 300, seed: 0x5eed },
      );
    });
  }
});
