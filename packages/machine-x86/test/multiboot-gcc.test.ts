// A C kernel built with the host's gcc/binutils at test time runs unmodified as a multiboot v1
// kernel. Missing gcc/as/ld make this test FAIL (the build throws), never skip.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { composeSystem, Tokens, TraceBus, type TraceRecord } from '@latelaunch/kernel';
import { pagingPlugins } from '@latelaunch/paging';
import { createMachine, debugExitPlugin, machinePlugin, postCodePlugin, uart16550Plugin, type Machine } from '../src/index.js';
import { buildGccKernel, expectedSerial, KERNEL_EXIT_STATUS, KERNEL_EXIT_VALUE } from './multiboot-gcc-kernel.js';

let kernel: ReturnType<typeof buildGccKernel>;
beforeAll(() => {
  kernel = buildGccKernel();
});
afterAll(() => kernel?.cleanup());

const MEM_UPPER_128 = String(127 * 1024);

describe('multiboot kernel built with gcc', () => {
  test('prints on the UART, computes, and exits through port 0xF4', () => {
    const trace = new TraceBus();
    const runs: TraceRecord[] = [];
    trace.subscribe((r) => runs.push(r), ['machine.run']);
    const m = createMachine({ cpus: 2, memoryMiB: 128, trace });
    const loaded = m.bootMultiboot(kernel.bytes, { cmdline: 'console=ttyS0 answer=42' });
    expect(loaded.format).toBe('elf');
    expect(m.summaries()[0]).toMatchObject({ mode: 'protected32', paging: false, interruptsEnabled: false, rip: loaded.entry });
    expect(m.processors[0].state.lo[0] >>> 0).toBe(0x2badb002);
    expect(m.processors[0].state.lo[3] >>> 0).toBe(loaded.info.address);
    expect(m.summaries()[1].activity).toBe('wait-for-sipi');
    const r = m.run({ maxInstructions: 10_000_000 });
    expect(r.reason).toBe('debug-exit');
    expect(r.exit).toEqual({ value: KERNEL_EXIT_VALUE, status: KERNEL_EXIT_STATUS, exitCode: KERNEL_EXIT_STATUS });
    expect(m.uart!.text).toBe(expectedSerial('console=ttyS0 answer=42').replace('MEMUPPER', MEM_UPPER_128));
    expect(r.instructions).toBeGreaterThan(10_000);
    expect(runs.map((x) => (x.data as { phase: string }).phase)).toEqual(['start', 'stop']);
  });

  test('a kernel that returns halts with interrupts off: all-halted', () => {
    const m = createMachine({ cpus: 4, memoryMiB: 64 });
    m.bootMultiboot(kernel.bytes, { cmdline: 'halt' });
    const r = m.run({ maxInstructions: 10_000_000 });
    expect(r.reason).toBe('all-halted');
    expect(r.cpus.map((c) => c.activity)).toEqual(['hlt', 'wait-for-sipi', 'wait-for-sipi', 'wait-for-sipi']);
    expect(m.uart!.text).toBe(expectedSerial('halt').replace('MEMUPPER', String(63 * 1024)));
  });

  test('through the composed machine plugin (devices and paging from plugins); snapshot mid-run continues identically', () => {
    const system = composeSystem({
      plugins: [machinePlugin, uart16550Plugin, debugExitPlugin, postCodePlugin, ...pagingPlugins],
      config: { machine: { cpus: 2, memoryMiB: 128 } },
    });
    const m = system.container.resolve(Tokens.Machine) as Machine;
    m.bootMultiboot(kernel.bytes, { cmdline: '' });
    m.run({ maxInstructions: 20_000 });
    const snap = m.snapshot();
    const text0 = m.uart!.text;
    const first = m.run({ maxInstructions: 10_000_000 });
    const text1 = m.uart!.text;
    m.restore(snap);
    expect(m.uart!.text).toBe(text0);
    const second = m.run({ maxInstructions: 10_000_000 });
    expect(second).toEqual(first);
    expect(m.uart!.text).toBe(text1);
    expect(first.exit!.status).toBe(KERNEL_EXIT_STATUS);
  });
});
