import { expect, test } from 'vitest';
import { createMachine } from '../src/index.js';

test('cli; hlt stops the run even while device timers keep the clock busy', () => {
  const m = createMachine();
  let ticks = 0;
  const periodic = (): void => {
    ticks++;
    m.clock.scheduleIn(1000, periodic); // a free-running device timer
  };
  m.clock.scheduleIn(1000, periodic);
  m.loadFlat(Uint8Array.from([0xfa, 0xf4]), 0x100000); // cli; hlt
  m.startProcessor(0, { mode: 'protected32', entry: 0x100000 });
  const r = m.run();
  expect(r.reason).toBe('all-halted');
  expect(r.cpus[0].activity).toBe('hlt');
  expect(ticks).toBe(0);
  // A timed NMI can still wake it: the clock jumps past the device timer events to it.
  m.scheduleEvent({ cpu: 0, kind: 'nmi', atTime: 50_000 });
  const r2 = m.run({ maxInstructions: 10 });
  expect(ticks).toBe(50);
  expect(r2.time).toBeGreaterThanOrEqual(50_000);
  expect(r2.cpus[0].activity).not.toBe('hlt'); // (no IDT: the NMI ends in a triple fault, which is fine here)
});

test('sti; hlt with a device timer that interrupts nobody stops as idle after maxIdleTime of virtual time', () => {
  const m = createMachine();
  let ticks = 0;
  const periodic = (): void => {
    ticks++;
    m.clock.scheduleIn(1_000_000, periodic); // 1 ms device timer, not wired to any interrupt
  };
  m.clock.scheduleIn(1_000_000, periodic);
  m.loadFlat(Uint8Array.from([0xfb, 0xf4]), 0x100000); // sti; hlt
  m.startProcessor(0, { mode: 'protected32', entry: 0x100000 });
  const r = m.run({ maxIdleTime: 50_000_000 });
  expect(r.reason).toBe('idle');
  expect(r.cpus[0].activity).toBe('hlt');
  expect(r.cpus[0].interruptsEnabled).toBe(true);
  expect(ticks).toBe(50); // 50 ms of idle virtual time, 1 ms per tick
});
