import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@latelaunch/kernel';
import { LocalApic, type LocalApicCapturedState } from '../src/index.js';
import { R, RecordingBus, RecordingCpu, TestClock, enable, fixed, rd, rdmsr, single, toX2, wr } from './helpers.js';

function busy() {
  const s = single({ apicId: 6 });
  const { apic, clock } = s;
  enable(apic);
  wr(apic, R.TPR, 0x21);
  wr(apic, R.LDR, 0x40000000);
  wr(apic, R.DFR, 0x0fffffff);
  wr(apic, R.LINT1, 0x400);
  wr(apic, R.ERROR, 0xfe);
  wr(apic, R.TDCR, 0x1); // ÷4 → 40 ticks per count
  wr(apic, R.TIMER, 0x20030);
  wr(apic, R.TICR, 1000);
  fixed(apic, 0x90);
  expect(apic.acknowledge()).toBe(0x90);
  fixed(apic, 0x31, 'level');
  fixed(apic, 0xa1);
  wr(apic, R.ICRHI, 0x05000000);
  wr(apic, R.ICRLO, 0x000400fd); // self IPI
  clock.advance(12_345);
  return s;
}

describe('late-launch capture/restore', () => {
  it('captures every register the hand-over needs, as plain data', () => {
    const { apic } = busy();
    const c = apic.captureState();
    expect(JSON.parse(JSON.stringify(c))).toEqual(c);
    expect(c).toMatchObject({
      format: 'latelaunch.apic.captured/1',
      mode: 'xapic',
      apicBase: 0xfee00900,
      apicId: 6,
      version: 0x01060014,
      tpr: 0x21,
      ppr: 0x90,
      ldr: 0x40000000,
      dfr: 0x0fffffff,
      svr: 0x1ff,
      icrLow: 0x000400fd,
      icrHigh: 0x05000000,
      timerInitial: 1000,
      timerDivide: 1,
    });
    expect(c.isr[4]).toBe(1 << 16);
    expect(c.irr[1]).toBe(1 << 17);
    expect(c.tmr[1]).toBe(1 << 17);
    expect(c.irr[5]).toBe(1 << 1);
    expect(c.irr[7]).toBe(1 << 29);
    expect(c.lvt).toEqual([0x20030, 0x10000, 0x10000, 0x10000, 0x400, 0xfe, 0x10000]);
    expect(c.timerCurrent).toBe(1000 - Math.floor(12_345 / 40));
    expect(c.timerPhase).toBe(12_345 % 40);
  });

  it('a virtual APIC restored on another clock reads the same registers and continues the countdown exactly', () => {
    const { apic, clock } = busy();
    const c = apic.captureState();
    const vclock = new TestClock();
    vclock.advanceTo(5_000_000); // the hypervisor's clock is elsewhere
    const vcpu = new RecordingCpu();
    const v = new LocalApic({ apicId: 99, bus: new RecordingBus(), time: vclock, cpu: vcpu });
    v.restoreState(c);
    expect(v.captureState()).toEqual(c);
    const regs: number[] = [R.ID, R.VER, R.TPR, R.APR, R.PPR, R.LDR, R.DFR, R.SVR, R.ESR, R.ICRLO, R.ICRHI, R.TIMER, R.LINT0, R.LINT1, R.ERROR, R.TICR, R.TCCR, R.TDCR];
    for (let i = 0; i < 8; i++) regs.push(R.ISR + i * 16, R.TMR + i * 16, R.IRR + i * 16);
    expect(regs.map((r) => rd(v, r))).toEqual(regs.map((r) => rd(apic, r)));
    // Drain both (same operations), then both continue in lockstep: same current count at every
    // later tick, same expiry times.
    const drain = (a: LocalApic): void => {
      wr(a, R.TPR, 0);
      for (let i = 0; i < 16; i++) {
        while (a.pendingVector() >= 0) a.acknowledge();
        wr(a, R.EOI, 0);
      }
    };
    drain(apic);
    drain(v);
    const firesA: number[] = [];
    const firesV: number[] = [];
    for (let d = 1; d <= 90_000; d += 7) {
      clock.advanceTo(12_345 + d);
      vclock.advanceTo(5_000_000 + d);
      expect(rd(v, R.TCCR)).toBe(rd(apic, R.TCCR));
      for (const [a, f] of [[apic, firesA], [v, firesV]] as const) {
        if (a.irrBit(0x30)) {
          f.push(d);
          drain(a);
        }
      }
    }
    expect(firesV).toEqual(firesA);
    expect(firesA.length).toBe(2);
  });

  it('property: for any timer programming and capture instant, the restored timer tracks the original', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.constantFrom(0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xa, 0xb),
        fc.boolean(),
        fc.integer({ min: 0, max: 400_000 }),
        fc.array(fc.integer({ min: 0, max: 50_000 }), { minLength: 1, maxLength: 6 }),
        (initial, dcr, periodic, captureAt, steps) => {
          const { apic, clock } = single();
          enable(apic);
          wr(apic, R.TDCR, dcr);
          wr(apic, R.TIMER, (periodic ? 0x20000 : 0) | 0x10030); // masked: count only
          wr(apic, R.TICR, initial);
          clock.advanceTo(captureAt);
          const c = apic.captureState();
          const vclock = new TestClock();
          vclock.advanceTo(1_000_003);
          const v = new LocalApic({ apicId: 0, bus: new RecordingBus(), time: vclock, cpu: new RecordingCpu() });
          v.restoreState(c);
          let d = 0;
          for (const s of steps) {
            d += s;
            clock.advanceTo(captureAt + d);
            vclock.advanceTo(1_000_003 + d);
            expect(rd(v, R.TCCR)).toBe(rd(apic, R.TCCR));
          }
        },
      ),
      { numRuns: 200, seed: 42 },
    );
  });

  it('an expiry due at the capture instant is taken before capturing (not lost)', () => {
    const { apic, clock } = single();
    enable(apic);
    wr(apic, R.TDCR, 0xb);
    wr(apic, R.TIMER, 0x20035);
    wr(apic, R.TICR, 4);
    clock.t = 40; // time moved without running the event yet (the event is due now)
    const c = apic.captureState();
    expect(c.irr[1]).toBe(1 << 21);
    expect(c.timerCurrent).toBe(4);
    expect(c.timerPhase).toBe(0);
  });

  it('x2APIC state round-trips (32-bit ID, derived LDR)', () => {
    const { apic } = single({ apicId: 0x1234 });
    toX2(apic);
    enable(apic);
    const c = apic.captureState();
    const v = single({ apicId: 0 }).apic;
    v.restoreState(c);
    expect(v.mode).toBe('x2apic');
    expect(rdmsr(v, 0x802)).toBe(0x1234n);
    expect(rdmsr(v, 0x80d)).toBe(rdmsr(apic, 0x80d));
    expect(v.mmioBase).toBeNull();
  });

  it('rejects malformed captured states with a typed error', () => {
    const v = single().apic;
    expect(() => v.restoreState({} as LocalApicCapturedState)).toThrowError(InvalidArgumentError);
    const c = busy().apic.captureState();
    expect(() => v.restoreState({ ...c, isr: [0] })).toThrowError(/isr/);
    expect(() => v.restoreState({ ...c, tpr: -1 })).toThrowError(/tpr/);
  });
});

describe('machine snapshots (saveState/loadState)', () => {
  it('restores every register and the timer deadline; stale timer events are harmless', () => {
    const { apic, clock } = busy();
    const saved = apic.saveState();
    expect(Object.isFrozen(saved)).toBe(true);
    const at = clock.now();
    const before = apic.captureState();
    // Diverge: more interrupts, new timer programming, time passes.
    wr(apic, R.TPR, 0);
    apic.acknowledge();
    wr(apic, R.TICR, 3);
    clock.advance(50);
    // Load into the same APIC (the clock is not rewound: use a fresh one at the same time).
    apic.loadState(saved);
    const c = apic.captureState();
    expect({ ...c, timerCurrent: 0, timerPhase: 0 }).toEqual({ ...before, timerCurrent: 0, timerPhase: 0 });
    // Loading into a fresh APIC on a clock at the saved time reproduces the capture exactly.
    const clock2 = new TestClock();
    clock2.advanceTo(at);
    const fresh = new LocalApic({ apicId: 0, bus: new RecordingBus(), time: clock2, cpu: new RecordingCpu() });
    fresh.loadState(saved);
    expect(fresh.captureState()).toEqual(before);
    clock2.advance(1_000_000);
    expect(fresh.irrBit(0x30)).toBe(true);
  });

  it('rejects foreign values', () => {
    expect(() => single().apic.loadState({ format: 'nope' })).toThrowError(InvalidArgumentError);
    expect(() => single().apic.loadState(null)).toThrowError(InvalidArgumentError);
  });
});
