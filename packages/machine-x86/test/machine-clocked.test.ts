import { expect, test } from 'vitest';
import { AcpiPmTimer, createMachine, ticksAt, PM_TIMER_HZ } from '../src/index.js';

test('clocked devices (ACPI PM timer) follow the machine clock', () => {
  const pm = new AcpiPmTimer();
  const m = createMachine({ devices: [pm] });
  m.loadFlat(Uint8Array.from([0xeb, 0xfe]), 0x100000); // jmp $
  m.startProcessor(0, { mode: 'protected32', entry: 0x100000 });
  m.run({ maxInstructions: 1_000_000 });
  expect(m.clock.now()).toBe(1_000_000);
  expect(m.bus.in32(pm.port) & 0xffffff).toBe(ticksAt(1_000_000, PM_TIMER_HZ) & 0xffffff);
});
