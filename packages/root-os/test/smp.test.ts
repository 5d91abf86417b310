// SMP bring-up (INIT-SIPI-SIPI timed with the ACPI PM timer) and the workload (LAPIC timer ticks,
// checksum loop, ping IPIs, NMIs) of the root OS on the 'qemu' platform, in the three modes.
import 'reflect-metadata';
import { describe, expect, test } from 'vitest';
import { JsonLinesSink, TraceBus } from '@latelaunch/kernel';
import {
  AP_TSS_SELECTOR_BASE,
  PING_VECTOR,
  ROOT_OS_MODES,
  SMP_ADDRESS,
  SmpHeaderOffsets,
  createRootOsMachine,
  readProcessorStatus,
  readSmpSummary,
  type ProcessorStatus,
  type RootOsMachine,
  type RootOsMachineOptions,
} from '../src/index.js';

/** Boots with `smp: true` and runs until the BSP has printed `running` (bring-up done). */
function bootSmp(options: Omit<RootOsMachineOptions, 'smp'>): RootOsMachine {
  const os = createRootOsMachine({ ...options, smp: true });
  for (let i = 0; i < 40 && !os.console().includes('running\n'); i++) os.run(250_000);
  expect(os.console()).toContain('running\n');
  return os;
}

function expectAdvancing(before: ProcessorStatus[], after: ProcessorStatus[]): void {
  expect(after.map((p) => p.apicId)).toEqual(before.map((p) => p.apicId));
  for (let i = 0; i < after.length; i++) {
    const b = before[i];
    const a = after[i];
    expect(a.online, `APIC ${a.apicId} online`).toBe(true);
    expect(a.ticks, `APIC ${a.apicId} ticks`).toBeGreaterThan(b.ticks);
    expect(a.passes, `APIC ${a.apicId} passes`).toBeGreaterThan(b.passes);
    expect(a.checksum, `APIC ${a.apicId} checksum`).not.toBe(b.checksum);
  }
}

describe.each(ROOT_OS_MODES)('%s mode, default machine (4 processors, 2 nodes, 1 GiB)', (mode) => {
  test('every processor comes up, ticks and checksums advance, pings are answered', () => {
    const os = bootSmp({ mode });
    expect(os.console()).toBe('boot\ndiscovered\nsmp-up 4/4\nrunning\n');
    const summary = readSmpSummary(os.machine.memory);
    expect(summary).toEqual({ valid: true, expected: 4, online: 4, timedOut: 0, bspApicId: 0, phase: 'running' });
    os.run(1_000_000);
    const first = os.processorStatus();
    expect(first.map((p) => p.apicId)).toEqual([0, 1, 2, 3]);
    os.run(1_000_000);
    const second = readProcessorStatus(os.machine.memory);
    expectAdvancing(first, second);
    // The BSP's ping after the bring-up: one pong on each AP, none on the BSP.
    expect(second.map((p) => p.pongs)).toEqual([0, 1, 1, 1]);
    // Every processor runs in the root mode with its own TSS (busy descriptor 0x30 + APIC ID × 16).
    const s = os.machine.run({ maxInstructions: 1 });
    const expectedMode = mode === 'long' ? 'long64' : 'protected32';
    expect(s.cpus.map((c) => c.mode)).toEqual([expectedMode, expectedMode, expectedMode, expectedMode]);
    expect(s.cpus.every((c) => c.paging)).toBe(true);
    for (const id of [1, 2, 3]) expect(os.machine.memory.read8(os.image.symbols.gdt + AP_TSS_SELECTOR_BASE + id * 16 + 5), `TSS of APIC ${id}`).toBe(0x8b);
    // Injected ping IPIs (fixed vector 0x41) reach each AP's APIC and are answered once each.
    for (const cpu of [1, 2, 3]) os.machine.scheduleEvent({ cpu, kind: 'interrupt', vector: PING_VECTOR, atInstruction: os.machine.retired(cpu) + 1000 + cpu * 17 });
    os.run(200_000);
    expect(os.processorStatus().map((p) => p.pongs)).toEqual([0, 2, 2, 2]);
    expect(os.machine.memory.read32(os.image.symbols.fatal_count)).toBe(0);
  });
});

describe.each(ROOT_OS_MODES)('processor counts (%s mode)', (mode) => {
  for (const cpus of [1, 2, 7]) {
    test(`${cpus} processor${cpus === 1 ? '' : 's'}`, () => {
      const os = bootSmp({ mode, firmware: { cpus, numa: cpus === 1 ? 1 : 2 } });
      expect(os.console()).toBe(`boot\ndiscovered\nsmp-up ${cpus}/${cpus}\nrunning\n`);
      os.run(500_000);
      const first = os.processorStatus();
      expect(first).toHaveLength(cpus);
      os.run(500_000 * cpus);
      expectAdvancing(first, os.processorStatus());
      expect(os.processorStatus().map((p) => p.pongs)).toEqual([...Array(cpus).keys()].map((i) => (i === 0 ? 0 : 1)));
    });
  }

  test('64 processors', () => {
    const os = bootSmp({ mode, firmware: { cpus: 64 } });
    expect(os.console()).toBe('boot\ndiscovered\nsmp-up 64/64\nrunning\n');
    os.run(3_000_000);
    const first = os.processorStatus();
    expect(first).toHaveLength(64);
    os.run(3_000_000);
    expectAdvancing(first, os.processorStatus());
    expect(os.processorStatus().filter((p) => p.pongs === 1)).toHaveLength(63);
  });

});

describe('processor counts (long mode)', () => {
  test('a processor that never answers is reported as timed out (PM-timer timeout), the others run', () => {
    // Firmware with 4 enabled processors, a machine with only 3: APIC ID 3 never starts.
    const os = bootSmp({ mode: 'long', firmware: { cpus: 4 }, cpus: 3 });
    expect(os.console()).toBe('boot\ndiscovered\nsmp-up 3/4\nrunning\n');
    const summary = readSmpSummary(os.machine.memory);
    expect(summary.timedOut).toBe(1);
    expect(summary.online).toBe(3);
    const st = os.processorStatus();
    expect(st.map((p) => `${p.apicId}:${p.state}`)).toEqual(['0:online', '1:online', '2:online', '3:timed-out']);
    // The wait was measured: at least the 100 ms timeout of virtual time (plus 10 ms + 2 × 200 µs).
    expect(os.machine.run({ maxInstructions: 1 }).time).toBeGreaterThan(110_000_000);
    os.run(1_000_000);
    expectAdvancing(st.slice(0, 3), os.processorStatus().slice(0, 3));
  });
});

describe('PM-timer waits', () => {
  /** Virtual time (ns since the clock's start) when `running` has been written, starting the clock at `start`. */
  function timeToRunning(start: number): number {
    const os = createRootOsMachine({ mode: 'long', smp: true });
    if (start > 0) os.machine.clock.advanceTo(start);
    for (let i = 0; i < 200 && !os.console().includes('running\n'); i++) os.machine.run({ until: { port: 0x3f8 }, maxInstructions: 5_000_000 });
    expect(os.console()).toBe('boot\ndiscovered\nsmp-up 4/4\nrunning\n');
    return os.machine.clock.now() - start;
  }

  test('INIT-SIPI-SIPI takes the 10 ms + 2 × 200 µs of the SDM, also across a 24-bit PM-timer wrap', () => {
    const normal = timeToRunning(0);
    expect(normal).toBeGreaterThan(10_400_000);
    expect(normal).toBeLessThan(14_000_000);
    // Start the clock 6 ms before the 24-bit counter wraps (2^24 / 3.579545 MHz ≈ 4.687 s): the
    // wrap falls inside the 10 ms INIT wait, which must still last 10 ms.
    const wrapNs = Math.ceil((2 ** 24 * 1e9) / 3579545);
    const wrapped = timeToRunning(wrapNs - 6_000_000);
    expect(wrapped).toBeGreaterThan(10_400_000);
    expect(Math.abs(wrapped - normal)).toBeLessThan(500_000);
  });

  test('the bring-up timeout lasts its 100 ms across a PM-timer wrap', () => {
    const run = (start: number) => {
      const os = createRootOsMachine({ mode: 'long', smp: true, firmware: { cpus: 4 }, cpus: 3 });
      if (start > 0) os.machine.clock.advanceTo(start);
      for (let i = 0; i < 200 && !os.console().includes('running\n'); i++) os.machine.run({ until: { port: 0x3f8 }, maxInstructions: 5_000_000 });
      expect(os.console()).toBe('boot\ndiscovered\nsmp-up 3/4\nrunning\n');
      return os.machine.clock.now() - start;
    };
    const normal = run(0);
    expect(normal).toBeGreaterThan(110_000_000);
    const wrapNs = Math.ceil((2 ** 24 * 1e9) / 3579545);
    const wrapped = run(wrapNs - 60_000_000); // the wrap falls inside the 100 ms timeout
    expect(Math.abs(wrapped - normal)).toBeLessThan(1_000_000);
  });
});

describe('determinism and events during the workload (long mode)', () => {
  test('NMIs at seeded random instruction counts on random processors are counted exactly once each', () => {
    let seed = 0x2545f491;
    const rand = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 0x100000000;
    };
    for (const mode of ROOT_OS_MODES) {
      const os = bootSmp({ mode });
      const expected = [0, 0, 0, 0];
      for (let k = 0; k < 12; k++) {
        const cpu = Math.floor(rand() * 4);
        expected[cpu]++;
        os.machine.scheduleEvent({ cpu, kind: 'nmi', atInstruction: os.machine.retired(cpu) + 1 + Math.floor(rand() * 150_000) });
      }
      os.run(1_200_000);
      expect(os.processorStatus().map((p) => p.nmis), mode).toEqual(expected);
      expect([0, 1, 2, 3].map((id) => os.nmiCount(id))).toEqual(expected);
      expect(os.machine.memory.read32(os.image.symbols.fatal_count)).toBe(0);
      expect(os.processorStatus().every((p) => p.online)).toBe(true);
    }
  });

  test('two runs with the same seed give identical traces', () => {
    const once = () => {
      const trace = new TraceBus();
      const lines: string[] = [];
      trace.attach(new JsonLinesSink((l) => lines.push(l)));
      const os = createRootOsMachine({ mode: 'long', smp: true, seed: 11, trace });
      os.machine.scheduleEvent({ cpu: 2, kind: 'nmi', atTime: 12_500_000 });
      os.run(2_500_000);
      expect(os.console()).toContain('running\n');
      return { trace: lines.join(''), status: JSON.stringify(os.processorStatus()) };
    };
    const a = once();
    expect(a.trace).toContain('"source":"nmi"');
    expect(a.trace.length).toBeGreaterThan(1000);
    const b = once();
    expect(b.status).toBe(a.status);
    expect(b.trace === a.trace).toBe(true);
  });

  test('a snapshot taken while running, restored twice, continues identically', () => {
    const os = bootSmp({ mode: 'long' });
    os.run(300_000);
    const snap = os.machine.snapshot();
    const continueRun = () => {
      const r = os.run(700_000);
      return JSON.stringify({ status: os.processorStatus(), console: os.console(), time: r.time, cpus: r.cpus, header: os.machine.memory.read32(SMP_ADDRESS + SmpHeaderOffsets.online) });
    };
    const reference = continueRun();
    os.machine.restore(snap);
    expect(continueRun()).toBe(reference);
    os.machine.restore(snap);
    expect(continueRun()).toBe(reference);
  });
});
