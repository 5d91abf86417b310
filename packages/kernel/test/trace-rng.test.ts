import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { JsonLinesSink, ManualClock, MemorySink, Rng, TraceBus, traceRecordToJson } from '../src/index.js';

describe('TraceBus', () => {
  it('delivers in emission order with increasing seq and virtual timestamps', () => {
    const clock = new ManualClock();
    const bus = new TraceBus(clock);
    const all = new MemorySink();
    bus.attach(all);
    const vmOnly: string[] = [];
    const unsub = bus.subscribe((r) => vmOnly.push(r.kind), ['vm.created']);
    bus.emit('vm.created', { vmId: 'a' });
    clock.advance(10);
    bus.emit('system.composed', { plugins: [] }, 3);
    bus.emit('vm.created', { vmId: 'b' });
    unsub();
    bus.emit('vm.created', { vmId: 'c' });
    expect(all.records.map((r) => [r.seq, r.time, r.kind, r.cpu])).toEqual([
      [0, 0, 'vm.created', undefined],
      [1, 10, 'system.composed', 3],
      [2, 10, 'vm.created', undefined],
      [3, 10, 'vm.created', undefined],
    ]);
    expect(vmOnly).toEqual(['vm.created', 'vm.created']);
    expect(bus.wants('vm.created')).toBe(true);
  });

  it('reports whether anybody listens to a kind', () => {
    const bus = new TraceBus();
    expect(bus.wants('vm.created')).toBe(false);
    const off = bus.subscribe(() => {}, ['vm.disposed']);
    expect(bus.wants('vm.created')).toBe(false);
    expect(bus.wants('vm.disposed')).toBe(true);
    off();
    expect(bus.wants('vm.disposed')).toBe(false);
  });

  it('writes JSON lines with a fixed key order and bigints as strings', () => {
    const lines: string[] = [];
    const bus = new TraceBus();
    bus.attach(new JsonLinesSink((l) => lines.push(l)));
    bus.emit('vm.created', { vmId: 'x' }, 1);
    bus.emit('system.composed', { plugins: ['p'] });
    expect(lines).toEqual([
      '{"seq":0,"time":0,"kind":"vm.created","cpu":1,"data":{"vmId":"x"}}\n',
      '{"seq":1,"time":0,"kind":"system.composed","data":{"plugins":["p"]}}\n',
    ]);
    expect(traceRecordToJson({ seq: 5, time: 7, kind: 'vm.created', data: { vmId: 'big', n: 1n << 70n } as never })).toBe(
      '{"seq":5,"time":7,"kind":"vm.created","data":{"vmId":"big","n":"1180591620717411303424"}}',
    );
  });

  it('rejects time going backwards', () => {
    expect(() => new ManualClock().advance(-1)).toThrow(RangeError);
  });
});

describe('Rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const seq = (seed: number | string) => {
      const r = new Rng(seed);
      return Array.from({ length: 8 }, () => r.u32());
    };
    expect(seq(42)).toEqual(seq(42));
    expect(seq('campaign')).toEqual(seq('campaign'));
    expect(seq(42)).not.toEqual(seq(43));
    expect(seq(0)).not.toEqual(seq(2 ** 32)); // high bits of the seed matter
    // Pinned values: a change to the generator is a visible, deliberate change.
    expect(seq(1)).toMatchInlineSnapshot(`
      [
        2442144158,
        3238099751,
        3819917871,
        2104621829,
        2021136066,
        4223536128,
        1515984730,
        2298887649,
      ]
    `);
  });

  it('matches the xoshiro128** reference output (state 1,2,3,4; computed by an independent Python model)', () => {
    const r = Rng.fromState([1, 2, 3, 4]);
    expect(Array.from({ length: 6 }, () => r.u32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
    const saved = new Rng(5);
    saved.u32();
    const resumed = Rng.fromState(saved.state);
    expect(resumed.u32()).toBe(saved.u32());
    expect(() => Rng.fromState([0, 0, 0, 0])).toThrow(RangeError);
  });

  it('int() stays in range and is roughly uniform', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 0, max: 1000 }), (seed, lo, span) => {
        const r = new Rng(seed);
        for (let i = 0; i < 20; i++) {
          const v = r.int(lo, lo + span);
          if (v < lo || v > lo + span || !Number.isInteger(v)) return false;
        }
        return true;
      }),
    );
    const r = new Rng(7);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) counts[r.int(0, 9)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    expect(() => r.int(5, 4)).toThrow(RangeError);
  });

  it('fork() gives independent streams that do not depend on draws from the parent', () => {
    const a = new Rng(9);
    const b = new Rng(9);
    b.u32();
    b.u32();
    const fa = new Rng(9).fork('scheduler');
    expect(Array.from({ length: 4 }, () => fa.u32())).toEqual(
      (() => {
        const f = new Rng(9).fork('scheduler');
        return Array.from({ length: 4 }, () => f.u32());
      })(),
    );
    expect(a.fork('x').u32()).not.toBe(a.fork('y').u32());
    const bytes = new Rng(3).fill(new Uint8Array(7));
    expect(bytes).toEqual(new Rng(3).fill(new Uint8Array(7)));
  });
});
