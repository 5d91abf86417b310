import { describe, expect, it } from 'vitest';
import { timerDivisor } from '../src/index.js';
import { R, enable, gpOnWrite, rd, single, toX2, wr } from './helpers.js';

// ticksPerTimerClock = 10 (default): one count lasts 10 × divisor ticks.
function timed(options = {}) {
  const s = single(options);
  enable(s.apic);
  return s;
}

describe('APIC timer in virtual time (SDM 11.5.4)', () => {
  it('divide configuration encodes 1..128', () => {
    expect([0, 1, 2, 3, 8, 9, 0xa, 0xb].map(timerDivisor)).toEqual([2, 4, 8, 16, 32, 64, 128, 1]);
  });

  it('one-shot: counts down, fires once at initial × period, then reads 0', () => {
    const { apic, clock } = timed();
    wr(apic, R.TDCR, 0xb); // ÷1 → 10 ticks per count
    wr(apic, R.TIMER, 0x40);
    wr(apic, R.TICR, 100);
    expect(rd(apic, R.TCCR)).toBe(100);
    clock.advance(9);
    expect(rd(apic, R.TCCR)).toBe(100);
    clock.advance(1);
    expect(rd(apic, R.TCCR)).toBe(99);
    clock.advance(989);
    expect(rd(apic, R.TCCR)).toBe(1);
    expect(apic.irrBit(0x40)).toBe(false);
    clock.advance(1);
    expect(apic.irrBit(0x40)).toBe(true);
    expect(rd(apic, R.TCCR)).toBe(0);
    apic.acknowledge();
    wr(apic, R.EOI, 0);
    clock.advance(10_000);
    expect(apic.irrBit(0x40)).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('periodic: reloads from the initial count and fires every initial × period', () => {
    const { apic, clock } = timed();
    wr(apic, R.TDCR, 0x0); // ÷2 → 20 ticks per count
    wr(apic, R.TIMER, 0x20041);
    wr(apic, R.TICR, 5); // period 100 ticks
    const fired: number[] = [];
    for (let t = 1; t <= 350; t++) {
      clock.advanceTo(t);
      if (apic.irrBit(0x41)) {
        fired.push(t);
        apic.acknowledge();
        wr(apic, R.EOI, 0);
      }
    }
    expect(fired).toEqual([100, 200, 300]);
    expect(rd(apic, R.TCCR)).toBe(3); // 50 ticks into the 4th period: 5 − floor(50 / 20)
  });

  it.each([0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xa, 0xb])('divide value 0x%s: expiry at initial × 10 × divisor', (dcr) => {
    const { apic, clock } = timed();
    wr(apic, R.TDCR, dcr);
    wr(apic, R.TIMER, 0x42);
    wr(apic, R.TICR, 3);
    const end = 3 * 10 * timerDivisor(dcr);
    clock.advanceTo(end - 1);
    expect(apic.irrBit(0x42)).toBe(false);
    expect(rd(apic, R.TCCR)).toBe(1);
    clock.advanceTo(end);
    expect(apic.irrBit(0x42)).toBe(true);
  });

  it('a masked timer still counts (and reloads) but raises nothing', () => {
    const { apic, clock } = timed();
    wr(apic, R.TDCR, 0xb);
    wr(apic, R.TIMER, 0x30043);
    wr(apic, R.TICR, 10);
    clock.advance(250);
    expect(rd(apic, R.TCCR)).toBe(5);
    expect(apic.irrBit(0x43)).toBe(false);
    wr(apic, R.TIMER, 0x20043); // unmask: the next expiry raises
    clock.advance(50);
    expect(apic.irrBit(0x43)).toBe(true);
  });

  it('writing the initial count restarts the countdown; 0 stops it', () => {
    const { apic, clock } = timed();
    wr(apic, R.TDCR, 0xb);
    wr(apic, R.TIMER, 0x44);
    wr(apic, R.TICR, 10);
    clock.advance(55);
    expect(rd(apic, R.TCCR)).toBe(5);
    wr(apic, R.TICR, 20);
    expect(rd(apic, R.TCCR)).toBe(20);
    clock.advance(199);
    expect(apic.irrBit(0x44)).toBe(false);
    clock.advance(1);
    expect(apic.irrBit(0x44)).toBe(true);
    wr(apic, R.TICR, 10);
    wr(apic, R.TICR, 0);
    expect(rd(apic, R.TCCR)).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('changing the divider keeps the current count and continues at the new rate', () => {
    const { apic, clock } = timed();
    wr(apic, R.TDCR, 0xb); // 10 ticks per count
    wr(apic, R.TIMER, 0x45);
    wr(apic, R.TICR, 10);
    clock.advance(40);
    wr(apic, R.TDCR, 0x0); // 20 ticks per count
    expect(rd(apic, R.TCCR)).toBe(6);
    clock.advance(119);
    expect(apic.irrBit(0x45)).toBe(false);
    clock.advance(1);
    expect(apic.irrBit(0x45)).toBe(true);
  });

  it('switching one-shot → periodic mid-count keeps counting and then reloads', () => {
    const { apic, clock } = timed();
    wr(apic, R.TDCR, 0xb);
    wr(apic, R.TIMER, 0x46);
    wr(apic, R.TICR, 10);
    clock.advance(35);
    wr(apic, R.TIMER, 0x20046);
    expect(rd(apic, R.TCCR)).toBe(7);
    clock.advance(65);
    expect(apic.irrBit(0x46)).toBe(true);
    expect(rd(apic, R.TCCR)).toBe(10);
  });

  it('TSC-deadline is not supported (CPUID.1:ECX[24] = 0): bit 18 is reserved — ignored in xAPIC, #GP in x2APIC', () => {
    const { apic, clock } = timed();
    wr(apic, R.TDCR, 0xb);
    wr(apic, R.TIMER, 0x40047); // mode 10b → bit 18 dropped → one-shot
    expect(rd(apic, R.TIMER)).toBe(0x47);
    wr(apic, R.TICR, 2);
    clock.advance(20);
    expect(apic.irrBit(0x47)).toBe(true);
    wr(apic, R.TIMER, 0x60047); // mode 11b → periodic
    expect(rd(apic, R.TIMER)).toBe(0x20047);
    toX2(apic);
    expect(gpOnWrite(apic, 0x832, 0x40047)).toBe(true);
    expect(apic.readMsr(0x6e0).ok).toBe(false); // IA32_TSC_DEADLINE is not an APIC MSR here
  });

  it('an illegal timer vector records "received illegal vector"', () => {
    const { apic, clock } = timed();
    wr(apic, R.TDCR, 0xb);
    wr(apic, R.TIMER, 0x05);
    wr(apic, R.TICR, 1);
    clock.advance(10);
    wr(apic, R.ESR, 0);
    expect(rd(apic, R.ESR)).toBe(0x40);
  });

  it('ticksPerTimerClock scales the timer', () => {
    const { apic, clock } = timed({ ticksPerTimerClock: 1 });
    wr(apic, R.TDCR, 0xb);
    wr(apic, R.TIMER, 0x48);
    wr(apic, R.TICR, 7);
    clock.advance(7);
    expect(apic.irrBit(0x48)).toBe(true);
  });
});
