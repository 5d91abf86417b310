import { InvalidArgumentError, TraceBus } from '@latelaunch/kernel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TICKS_PER_SECOND, VirtualClock } from '../src/index.js';

describe('VirtualClock', () => {
  it('starts at 0, moves only when advanced, and counts instructions at the configured cost', () => {
    const c = new VirtualClock({ ticksPerInstruction: 3 });
    expect(c.now()).toBe(0);
    c.advance(10);
    c.advanceInstructions(4);
    expect(c.now()).toBe(22);
    c.advanceInstructions();
    expect(c.now()).toBe(25);
    expect(TICKS_PER_SECOND).toBe(1e9);
    expect(() => c.advance(-1)).toThrow(InvalidArgumentError);
    expect(() => c.advanceTo(5)).toThrow(InvalidArgumentError);
    expect(() => new VirtualClock({ ticksPerInstruction: -1 })).toThrow(InvalidArgumentError);
  });

  it('fires events in (time, insertion) order, each with now() = its time', () => {
    const c = new VirtualClock();
    const log: string[] = [];
    const cb = (t: number, d: number) => log.push(`${d}@${t}/${c.now()}`);
    c.schedule(30, cb, 1);
    c.schedule(10, cb, 2);
    c.schedule(30, cb, 3);
    c.schedule(20, cb, 4);
    c.schedule(10, cb, 5);
    expect(c.nextEventTime()).toBe(10);
    c.advance(25);
    expect(log).toEqual(['2@10/10', '5@10/10', '4@20/20']);
    expect(c.now()).toBe(25);
    c.advanceTo(30);
    expect(log.slice(3)).toEqual(['1@30/30', '3@30/30']);
    expect(c.pending).toBe(0);
    expect(c.nextEventTime()).toBe(Infinity);
  });

  it('events scheduled by callbacks at the current time fire in the same advance, after earlier ones', () => {
    const c = new VirtualClock();
    const log: string[] = [];
    c.schedule(5, (t) => {
      log.push(`a@${t}`);
      c.schedule(t, () => log.push('a-child'));
      c.scheduleIn(3, () => log.push(`a-later@${c.now()}`));
    });
    c.schedule(5, () => log.push('b'));
    c.advance(100);
    expect(log).toEqual(['a@5', 'b', 'a-child', 'a-later@8']);
  });

  it('cancel removes exactly the event; stale handles are refused', () => {
    const c = new VirtualClock({ capacity: 4 });
    const log: number[] = [];
    const hs = [1, 2, 3, 4, 5, 6].map((i) => c.schedule(i, () => log.push(i)));
    expect(c.cancel(hs[2])).toBe(true);
    expect(c.cancel(hs[2])).toBe(false);
    expect(c.cancel(hs[0])).toBe(true);
    c.advance(10);
    expect(log).toEqual([2, 4, 5, 6]);
    const h = c.schedule(20, () => log.push(20));
    expect(c.cancel(hs[5])).toBe(false); // its slot may be reused by h: sequence check refuses it
    expect(c.cancel(12345)).toBe(false);
    c.advance(10);
    expect(log).toEqual([2, 4, 5, 6, 20]);
    expect(c.cancel(h)).toBe(false);
  });

  it('refuses events in the past', () => {
    const c = new VirtualClock();
    c.advance(10);
    expect(() => c.schedule(9, () => {})).toThrow(InvalidArgumentError);
    expect(() => c.schedule(NaN, () => {})).toThrow(InvalidArgumentError);
    c.schedule(10, () => {});
    expect(c.runDue()).toBe(1);
  });

  it('skipToNextEvent jumps idle time', () => {
    const c = new VirtualClock();
    expect(c.skipToNextEvent()).toBe(false);
    let fired = 0;
    c.schedule(1_000_000, () => fired++);
    expect(c.skipToNextEvent()).toBe(true);
    expect([c.now(), fired]).toEqual([1_000_000, 1]);
  });

  it('is a VirtualTimeSource for the trace bus', () => {
    const c = new VirtualClock();
    const bus = new TraceBus(c);
    const times: number[] = [];
    bus.subscribe((r) => times.push(r.time));
    c.advance(42);
    bus.emit('vm.created', { vmId: 'x' });
    expect(times).toEqual([42]);
  });

  it('property: firing order equals a sort by (time, sequence), with random cancels', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ t: fc.integer({ min: 0, max: 50 }), cancel: fc.boolean() }), { maxLength: 200 }),
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 10 }),
        (evs, steps) => {
          const c = new VirtualClock({ capacity: 4 });
          const fired: number[] = [];
          const handles = evs.map((e, i) => c.schedule(e.t, () => fired.push(i)));
          evs.forEach((e, i) => e.cancel && c.cancel(handles[i]));
          for (const s of steps) c.advance(s);
          c.advanceTo(Math.max(c.now(), 60));
          const expected = evs
            .map((e, i) => ({ ...e, i }))
            .filter((e) => !e.cancel)
            .sort((a, b) => a.t - b.t || a.i - b.i)
            .map((e) => e.i);
          expect(fired).toEqual(expected);
        },
      ),
      { numRuns: 200, seed: 7 },
    );
  });

  it('two identical runs produce identical event traces (determinism)', () => {
    const run = () => {
      const c = new VirtualClock();
      const trace: string[] = [];
      const periodic = (t: number, d: number) => {
        trace.push(`${d}:${t}`);
        if (t < 5000) c.schedule(t + 100 + (d % 7), periodic, d);
      };
      for (let d = 0; d < 10; d++) c.schedule(d * 13, periodic, d);
      for (let i = 0; i < 600; i++) c.advanceInstructions(10);
      return trace.join(',');
    };
    expect(run()).toBe(run());
  });

  it('does not allocate new heap storage in steady state', () => {
    const c = new VirtualClock({ capacity: 8 });
    const noop = () => {};
    for (let i = 0; i < 8; i++) c.schedule(i, noop);
    const internals = c as unknown as { heap: Int32Array; times: Float64Array };
    const heap = internals.heap;
    const times = internals.times;
    for (let i = 0; i < 10000; i++) {
      c.advance(1);
      c.schedule(c.now() + 8, noop);
    }
    expect(internals.heap).toBe(heap);
    expect(internals.times).toBe(times);
  });

  it('saveState/loadState restore time, pending events, order and handles', () => {
    const c = new VirtualClock({ capacity: 4 });
    const log: string[] = [];
    c.advance(5);
    const h1 = c.schedule(10, (t) => log.push(`a${t}`));
    c.schedule(10, (t) => log.push(`b${t}`));
    c.schedule(7, (t) => log.push(`c${t}`));
    const s = c.saveState();
    c.advance(20);
    c.schedule(50, () => log.push('late'));
    expect(log).toEqual(['c7', 'a10', 'b10']);
    c.loadState(s);
    expect(c.now()).toBe(5);
    expect(c.pending).toBe(3);
    expect(c.cancel(h1)).toBe(true);
    c.advance(100);
    expect(log).toEqual(['c7', 'a10', 'b10', 'c7', 'b10']);
    c.loadState(s);
    const h = c.schedule(8, () => log.push('new')); // sequence continues from the saved counter
    c.advance(100);
    expect(log.slice(5)).toEqual(['c7', 'new', 'a10', 'b10']);
    expect(c.cancel(h)).toBe(false);
    expect(() => c.loadState({})).toThrow(InvalidArgumentError);
  });
});
