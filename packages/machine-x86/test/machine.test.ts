import { describe, expect, test } from 'vitest';
import { composeSystem, JsonLinesSink, Tokens, TraceBus, traceRecordToJson, type TraceRecord } from '@latelaunch/kernel';
import { pagingPlugins } from '@latelaunch/paging';
import { al, cr0, cr3, cr4, dword, dx, ebx, ecx, edx, eax, esp, mem, rax, type Assembler } from '@latelaunch/x86-isa';
import { createMachine, debugExitPlugin, Machine, machinePlugin, postCodePlugin, uart16550Plugin, type MachineOptions } from '../src/index.js';
import { MissingPagingPluginError } from '../src/cpu/translator-standin.js';
import { PostCodePort } from '../src/devices/post-code.js';
import { asm32, asm64, idt32, pagingFactory } from './machine-helpers.js';

const CODE = 0x100000;
const DATA = 0x200000;

// ---------------------------------------------------------------- programs

/** `lidt; [sti;] N× inc ebx; exit 0x10` with an NMI (2) and vector 0x40 handler that store the saved EIP and EBX and exit 1 / 2. */
function eventProgram(options: { sti?: boolean; incs?: number } = {}) {
  const incs = options.incs ?? 200;
  return asm32(CODE, (a) => {
    a.label('start');
    a.lidt(mem('idtr'));
    if (options.sti) a.sti();
    a.label('incs');
    for (let k = 0; k < incs; k++) a.inc(ebx);
    a.mov(al, 0x10);
    a.out(0xf4, al);
    a.label('spin');
    a.jmp('spin');
    for (const [name, code] of [
      ['nmi', 1],
      ['intr', 2],
    ] as const) {
      a.label(name);
      a.mov(eax, dword(esp));
      a.mov(dword(DATA), eax);
      a.mov(dword(DATA + 4), ebx);
      a.mov(al, code);
      a.out(0xf4, al);
      a.jmp('spin');
    }
    a.label('other');
    a.mov(al, 0x7f);
    a.out(0xf4, al);
    a.jmp('spin');
    idt32(a, 0x41, (v) => (v === 2 ? 'nmi' : v === 0x40 ? 'intr' : 'other'));
  });
}

function spinlockProgram(iterations: number, locked: boolean) {
  const LOCK = DATA;
  const COUNTER = DATA + 4;
  const DONE = DATA + 8;
  return asm32(CODE, (a) => {
    a.mov(ecx, iterations);
    a.label('loop');
    if (locked) {
      a.label('spin');
      a.xor(eax, eax);
      a.mov(edx, 1);
      a.lock().cmpxchg(dword(LOCK), edx);
      a.jnz('spin');
    }
    a.mov(ebx, dword(COUNTER));
    a.inc(ebx);
    a.nop();
    a.nop();
    a.mov(dword(COUNTER), ebx);
    if (locked) a.mov(dword(LOCK), 0);
    a.dec(ecx);
    a.jnz('loop');
    a.lock().inc(dword(DONE));
    a.cli();
    a.hlt();
  });
}

function twoCpuSpinlock(options: MachineOptions, iterations = 300, locked = true): Machine {
  const m = createMachine({ cpus: 2, memoryMiB: 16, ...options });
  const prog = spinlockProgram(iterations, locked);
  m.loadFlat(prog.bytes, CODE);
  m.startProcessor(0, { mode: 'protected32', entry: CODE, stack: 0x6000 });
  m.startProcessor(1, { mode: 'protected32', entry: CODE, stack: 0x5000 });
  return m;
}

function recordTrace(trace: TraceBus, withSeq = true): string[] {
  const lines: string[] = [];
  trace.subscribe((r: TraceRecord) => {
    if (withSeq) lines.push(traceRecordToJson(r));
    else {
      const { seq: _seq, ...rest } = r as TraceRecord & { seq: number };
      lines.push(JSON.stringify(rest));
    }
  });
  return lines;
}

// ---------------------------------------------------------------- tests

describe('Machine: boot modes', () => {
  test('32-bit flat protected mode: UART output and debug exit', () => {
    const m = createMachine();
    const prog = asm32(CODE, (a: Assembler) => {
      a.mov(dx, 0x3f8);
      for (const ch of 'ok\n') {
        a.mov(al, ch.charCodeAt(0));
        a.out(dx, al);
      }
      a.mov(al, 7);
      a.out(0xf4, al);
    });
    m.loadFlat(prog.bytes, CODE);
    m.startProcessor(0, { mode: 'protected32', entry: CODE });
    const r = m.run({ maxInstructions: 1000 });
    expect(r.reason).toBe('debug-exit');
    expect(r.exit).toEqual({ value: 7, status: 15, exitCode: 15 });
    expect(m.uart!.text).toBe('ok\n');
    expect(r.cpus[0].mode).toBe('protected32');
    expect(r.instructions).toBe(r.cpus[0].retired);
  });

  test('real mode', () => {
    const m = createMachine();
    const bytes = Uint8Array.from([0xb0, 0x55, 0xe6, 0x80, 0xfa, 0xf4]); // mov al,0x55; out 0x80,al; cli; hlt
    m.loadFlat(bytes, 0x7c00);
    m.startProcessor(0, { mode: 'real', entry: 0x7c00 });
    const r = m.run({ maxInstructions: 100 });
    expect(r.reason).toBe('all-halted');
    expect(r.cpus[0]).toMatchObject({ mode: 'real', activity: 'hlt', rip: 0x7c06, retired: 4 });
    const post = m.devices.find((d) => d instanceof PostCodePort) as PostCodePort;
    expect(post.lastCode).toBe(0x55);
  });

  test('64-bit mode with identity page tables (paging translator)', () => {
    const m = createMachine({ translatorFactory: pagingFactory });
    const prog = asm64(CODE, (a) => {
      a.mov(rax, 0x123456789abcdefn);
      a.mov(mem(DATA), rax);
      a.mov(al, 3);
      a.out(0xf4, al);
    });
    m.loadFlat(prog.bytes, CODE);
    m.startProcessor(0, { mode: 'long64', entry: CODE });
    const r = m.run({ maxInstructions: 100 });
    expect(r.reason).toBe('debug-exit');
    expect(r.exit!.status).toBe(7);
    expect(r.cpus[0]).toMatchObject({ mode: 'long64', paging: true });
    expect(m.memory.read64(DATA)).toBe(0x123456789abcdefn);
  });

  test('64-bit mode without a paging translator is a typed error', () => {
    const m = createMachine();
    expect(() => m.startProcessor(0, { mode: 'long64', entry: CODE })).toThrow(MissingPagingPluginError);
  });
});

describe('Machine: scheduled events land on exact instruction boundaries', () => {
  for (const quantum of [1, 7, 1000]) {
    for (const target of [0, 1]) {
      for (const n of [1, 2, 57, 150]) {
        test(`NMI on cpu ${target} after ${n} retired instructions (quantum ${quantum})`, () => {
          const m = createMachine({ cpus: 2, quantum });
          const prog = eventProgram();
          m.loadFlat(prog.bytes, CODE);
          m.startProcessor(target, { mode: 'protected32', entry: CODE });
          m.startProcessor(1 - target, { mode: 'protected32', entry: prog.address('spin') });
          m.scheduleEvent({ cpu: target, kind: 'nmi', atInstruction: n });
          const r = m.run({ maxInstructions: 100_000 });
          expect(r.reason).toBe('debug-exit');
          expect(r.exit!.value).toBe(1);
          // Instruction n+1 (1-based) is the (n-1)-th INC after the LIDT.
          expect(m.memory.read32(DATA)).toBe(prog.address('incs') + (n - 1));
          expect(m.memory.read32(DATA + 4)).toBe(n - 1);
        });
      }
    }
  }

  test('maskable interrupt at an exact count, and the STI shadow', () => {
    for (const n of [2, 3, 10]) {
      const m = createMachine({ quantum: 4 });
      const prog = eventProgram({ sti: true });
      m.loadFlat(prog.bytes, CODE);
      m.startProcessor(0, { mode: 'protected32', entry: CODE });
      m.scheduleEvent({ cpu: 0, kind: 'interrupt', vector: 0x40, atInstruction: n });
      const r = m.run({ maxInstructions: 10_000 });
      expect(r.exit!.value).toBe(2);
      // lidt (1), sti (2): an interrupt raised after the STI waits one more instruction (the shadow).
      const delivered = n === 2 ? 3 : n;
      expect(m.memory.read32(DATA)).toBe(prog.address('incs') + (delivered - 2));
      expect(m.interruptController(0).inService()).toEqual([0x40]);
    }
  });

  test('INIT and SIPI wake a processor waiting for SIPI in real mode at vector × 4096', () => {
    const m = createMachine({ cpus: 2 });
    m.loadFlat(Uint8Array.from([0xb0, 0x42, 0xe6, 0x80, 0xfa, 0xf4]), 0x8000); // mov al,0x42; out 0x80,al; cli; hlt
    m.loadFlat(Uint8Array.from([0xfa, 0xf4]), CODE); // cli; hlt
    m.startProcessor(0, { mode: 'protected32', entry: CODE });
    expect(m.summaries()[1].activity).toBe('wait-for-sipi');
    m.scheduleEvent({ cpu: 1, kind: 'init', atTime: 500 });
    m.scheduleEvent({ cpu: 1, kind: 'sipi', vector: 0x08, atTime: 1000 });
    const r = m.run();
    expect(r.reason).toBe('all-halted');
    expect(r.time).toBeGreaterThanOrEqual(1000);
    expect(r.cpus[1]).toMatchObject({ activity: 'hlt', mode: 'real', cs: 0x0800, rip: 6, retired: 4 });
    expect((m.devices.find((d) => d instanceof PostCodePort) as PostCodePort).lastCode).toBe(0x42);
  });

  test('events in the past and bad vectors are refused', () => {
    const m = createMachine();
    expect(() => m.scheduleEvent({ cpu: 0, kind: 'interrupt', vector: 3, atInstruction: 5 })).toThrow(/16\.\.255/);
    expect(() => m.scheduleEvent({ cpu: 2, kind: 'nmi', atInstruction: 5 })).toThrow(/does not exist/);
    expect(() => m.scheduleEvent({ cpu: 0, kind: 'nmi' })).toThrow(/exactly one/);
  });
});

describe('Machine: multiprocessor', () => {
  test('two processors increment a shared counter under a LOCK CMPXCHG spinlock: exact count', () => {
    for (const quantum of [3, 5, 64]) {
      const m = twoCpuSpinlock({ quantum }, 300, true);
      const r = m.run({ maxInstructions: 1_000_000 });
      expect(r.reason).toBe('all-halted');
      expect(m.memory.read32(DATA + 4)).toBe(600);
      expect(m.memory.read32(DATA + 8)).toBe(2);
      expect(m.memory.read32(DATA)).toBe(0);
      expect(r.cpus.map((c) => c.activity)).toEqual(['hlt', 'hlt']);
    }
  });

  test('without the lock, interleaving loses updates (the scheduler really interleaves)', () => {
    const m = twoCpuSpinlock({ quantum: 3 }, 300, false);
    m.run({ maxInstructions: 1_000_000 });
    expect(m.memory.read32(DATA + 4)).toBeLessThan(600);
    expect(m.memory.read32(DATA + 8)).toBe(2);
  });

  test('128 processors run round-robin and all halt', () => {
    const m = createMachine({ cpus: 128, memoryMiB: 16, quantum: 16 });
    const prog = asm32(CODE, (a) => {
      a.mov(ecx, 50);
      a.label('l');
      a.lock().inc(dword(DATA));
      a.dec(ecx);
      a.jnz('l');
      a.cli();
      a.hlt();
    });
    m.loadFlat(prog.bytes, CODE);
    for (let i = 0; i < 128; i++) m.startProcessor(i, { mode: 'protected32', entry: CODE });
    const r = m.run({ maxInstructions: 1_000_000 });
    expect(r.reason).toBe('all-halted');
    expect(m.memory.read32(DATA)).toBe(128 * 50);
    expect(r.instructions).toBe(128 * (1 + 150 + 2));
  });
});

describe('Machine: stop conditions', () => {
  test('HLT with interrupts disabled on every processor stops the run', () => {
    const m = createMachine({ cpus: 3 });
    m.loadFlat(Uint8Array.from([0xfa, 0xf4]), CODE);
    m.startProcessor(0, { mode: 'protected32', entry: CODE });
    m.startProcessor(2, { mode: 'protected32', entry: CODE });
    const r = m.run();
    expect(r.reason).toBe('all-halted');
    expect(r.cpus.map((c) => c.activity)).toEqual(['hlt', 'wait-for-sipi', 'hlt']);
  });

  test('HLT with IF=1 waits for a timed interrupt (the clock skips ahead)', () => {
    const m = createMachine();
    const prog = asm32(CODE, (a) => {
      a.lidt(mem('idtr'));
      a.sti();
      a.hlt();
      a.mov(al, 2);
      a.out(0xf4, al);
      a.label('intr');
      a.iret();
      idt32(a, 0x41, () => 'intr');
    });
    m.loadFlat(prog.bytes, CODE);
    m.startProcessor(0, { mode: 'protected32', entry: CODE });
    m.scheduleEvent({ cpu: 0, kind: 'interrupt', vector: 0x40, atTime: 1_000_000 });
    const r = m.run();
    expect(r.reason).toBe('debug-exit');
    expect(r.exit!.value).toBe(2);
    expect(r.time).toBe(1_000_000 + 3); // iret, mov, out after the wake-up
  });

  test('a fault loop (a #UD handler that is UD2) cannot outlive the budget and does not starve other processors', () => {
    const m = createMachine({ cpus: 2, quantum: 50 });
    const prog = asm32(CODE, (a) => {
      a.lidt(mem('idtr'));
      a.label('bad');
      a.ud2();
      a.label('other');
      a.jmp('other');
      idt32(a, 0x20, (v) => (v === 6 ? 'bad' : 'other'));
    });
    const counter = asm32(CODE + 0x1000, (a) => {
      a.label('loop');
      a.inc(dword(DATA));
      a.jmp('loop');
    });
    m.loadFlat(prog.bytes, CODE);
    m.loadFlat(counter.bytes, CODE + 0x1000);
    m.startProcessor(0, { mode: 'protected32', entry: CODE });
    m.startProcessor(1, { mode: 'protected32', entry: CODE + 0x1000 });
    const r = m.run({ until: 'budget', maxInstructions: 10_000 });
    expect(r.reason).toBe('budget-exhausted');
    // Processor 0 retired only the LIDT; every later step was a #UD delivery that used budget.
    expect(r.cpus[0].retired).toBe(1);
    expect(r.cpus[1].retired).toBeGreaterThan(4_000);
  });

  test('budget: exact instruction count, and run(a); run(b) interleaves like run(a + b)', () => {
    const build = (trace: TraceBus) => {
      const m = createMachine({ cpus: 2, quantum: 7, trace, traceInstructions: true });
      const prog = spinlockProgram(1000, true);
      m.loadFlat(prog.bytes, CODE);
      m.startProcessor(0, { mode: 'protected32', entry: CODE });
      m.startProcessor(1, { mode: 'protected32', entry: CODE });
      return m;
    };
    const t1 = new TraceBus();
    const l1 = recordTrace(t1, false);
    const m1 = build(t1);
    const r1 = m1.run({ until: 'budget', maxInstructions: 1000 });
    expect(r1.reason).toBe('budget-exhausted');
    expect(r1.instructions).toBe(1000);
    const t2 = new TraceBus();
    const l2 = recordTrace(t2, false);
    const m2 = build(t2);
    m2.run({ maxInstructions: 333 });
    m2.run({ maxInstructions: 1 });
    m2.run({ maxInstructions: 666 });
    const steps = (l: string[]) => l.filter((x) => x.includes('machine.step'));
    expect(steps(l2)).toEqual(steps(l1));
    expect(steps(l1).length).toBe(1000);
    expect(m2.summaries()).toEqual(m1.summaries());
  });

  test('device time: a clock event fires at its exact instruction boundary', () => {
    const m = createMachine({ cpus: 2, quantum: 300 });
    m.loadFlat(Uint8Array.from([0xeb, 0xfe]), CODE); // jmp $
    m.startProcessor(0, { mode: 'protected32', entry: CODE });
    m.startProcessor(1, { mode: 'protected32', entry: CODE });
    const seen: [number, number, number][] = [];
    for (const t of [1, 299, 1001, 5000]) m.clock.schedule(t, (time) => seen.push([time, m.retired(0), m.retired(1)]));
    m.run({ maxInstructions: 6000 });
    // cpu 0 runs 0–299, cpu 1 300–599, cpu 0 600–899, …: one tick per retired instruction.
    expect(seen).toEqual([
      [1, 1, 0],
      [299, 299, 0],
      [1001, 600, 401],
      [5000, 2600, 2400],
    ]);
  });

  test('run options are validated', () => {
    const m = createMachine();
    expect(() => m.run({ until: 'budget' })).toThrow(/needs maxInstructions/);
    expect(() => m.run({ maxInstructions: -1 })).toThrow(/non-negative/);
    expect(() => m.run({ until: { port: 0x10000 } })).toThrow(/0\.\.0xFFFF/);
    expect(() => m.run({ until: 'never' as never })).toThrow(/unknown until/);
    expect(m.run({ maxInstructions: 0 }).reason).toBe('budget-exhausted');
  });

  test('until a port write', () => {
    const m = createMachine();
    m.loadFlat(Uint8Array.from([0xb0, 0x01, 0xe6, 0x80, 0xb0, 0x02, 0xe6, 0x80, 0xb0, 0x03, 0xe6, 0x80, 0xeb, 0xfe]), CODE);
    m.startProcessor(0, { mode: 'protected32', entry: CODE });
    const r = m.run({ until: { port: 0x80, value: 2 }, maxInstructions: 1000 });
    expect(r.reason).toBe('port-write');
    expect(r.portWrite).toEqual({ port: 0x80, value: 2, size: 1, cpu: 0 });
    expect(r.instructions).toBe(4);
    const r2 = m.run({ maxInstructions: 10 });
    expect(r2.reason).toBe('budget-exhausted');
  });
});

describe('Machine: determinism and snapshots', () => {
  test('same config and seed give byte-identical JSON-lines traces', () => {
    const runOnce = () => {
      const trace = new TraceBus();
      const lines: string[] = [];
      trace.attach(new JsonLinesSink((l) => lines.push(l)));
      const m = twoCpuSpinlock({ quantum: 5, trace, traceInstructions: true, seed: 42 }, 100, true);
      m.scheduleEvent({ cpu: 1, kind: 'nmi', atInstruction: 77 });
      const r = m.run({ maxInstructions: 200_000 });
      return { text: lines.join(''), r };
    };
    const a = runOnce();
    const b = runOnce();
    expect(a.text.length).toBeGreaterThan(10_000);
    expect(a.text).toBe(b.text);
    expect(a.text).toContain('"kind":"machine.event"');
    expect(a.text).toContain('"kind":"cpu.interrupt"');
  });

  test('a restored machine continues identically', () => {
    const trace = new TraceBus();
    const lines = recordTrace(trace, false);
    const m = twoCpuSpinlock({ quantum: 5, trace, traceInstructions: true }, 300, true);
    m.run({ maxInstructions: 2345 });
    m.scheduleEvent({ cpu: 0, kind: 'interrupt', vector: 0x50, atInstruction: m.retired(0) + 100 });
    m.scheduleEvent({ cpu: 1, kind: 'nmi', atTime: m.clock.now() + 999 });
    const snap = m.snapshot();
    const mark = lines.length;
    const first = m.run({ maxInstructions: 1_000_000 });
    const firstTrace = lines.slice(mark);
    const firstCounter = m.memory.read32(DATA + 4);
    for (let k = 0; k < 2; k++) {
      m.restore(snap);
      expect(m.memory.read32(DATA + 8)).toBe(0);
      const mark2 = lines.length;
      const again = m.run({ maxInstructions: 1_000_000 });
      expect(again).toEqual(first);
      expect(lines.slice(mark2)).toEqual(firstTrace);
      expect(m.memory.read32(DATA + 4)).toBe(firstCounter);
    }
    expect(firstTrace.length).toBeGreaterThan(1000);
  });

  test('snapshot of another machine is refused', () => {
    const a = createMachine();
    const b = createMachine();
    expect(() => b.restore(a.snapshot())).toThrow(/not taken from this machine/);
  });
});

describe('machinePlugin', () => {
  test('composes with device and paging plugins; PhysicalMemory is the bus', () => {
    const trace = new TraceBus();
    const system = composeSystem({
      plugins: [machinePlugin, uart16550Plugin, debugExitPlugin, postCodePlugin, ...pagingPlugins],
      config: { machine: { cpus: 2, memoryMiB: 32 }, plugins: { 'machine-x86.machine': { quantum: 50 } } },
      trace,
    });
    const m = system.container.resolve(Tokens.Machine) as Machine;
    expect(m).toBeInstanceOf(Machine);
    expect(m.cpuCount).toBe(2);
    expect(m.quantum).toBe(50);
    expect(system.container.resolve(Tokens.Machine)).toBe(m);
    expect(system.container.resolve(Tokens.PhysicalMemory)).toBe(m.bus);
    expect(m.devices.map((d) => d.name).sort()).toEqual(['com1', 'debug-exit', 'post-code']);
    expect(m.trace).toBe(trace);
    const prog = asm64(CODE, (a) => {
      a.mov(al, 9);
      a.out(0xf4, al);
    });
    m.loadFlat(prog.bytes, CODE);
    m.startProcessor(0, { mode: 'long64', entry: CODE });
    expect(m.run({ maxInstructions: 10 }).exit!.value).toBe(9);
  });

  test('a 32-bit kernel enables paging: the stand-in hands over to the composed paging translator', () => {
    const system = composeSystem({ plugins: [machinePlugin, debugExitPlugin, ...pagingPlugins], config: { machine: { cpus: 1, memoryMiB: 16 } } });
    const m = system.container.resolve(Tokens.Machine) as Machine;
    const PD = 0x300000;
    const prog = asm32(CODE, (a) => {
      // 4 MiB pages: identity for 0–4 MiB, and 0x40000000 → physical 0.
      a.mov(dword(PD), 0x83);
      a.mov(dword(PD + 0x100 * 4), 0x83);
      a.mov(eax, PD);
      a.mov(cr3, eax);
      a.mov(eax, cr4);
      a.or(eax, 0x10); // PSE
      a.mov(cr4, eax);
      a.mov(eax, cr0);
      a.or(eax, 0x80000000); // PG
      a.mov(cr0, eax);
      a.mov(dword(0x40200000 + 0x10), 0xcafe);
      a.mov(al, 4);
      a.out(0xf4, al);
    });
    m.loadFlat(prog.bytes, CODE);
    m.startProcessor(0, { mode: 'protected32', entry: CODE });
    const r = m.run({ maxInstructions: 100 });
    expect(r.exit!.value).toBe(4);
    expect(r.cpus[0].paging).toBe(true);
    expect(m.memory.read32(DATA + 0x10)).toBe(0xcafe);
  });

  test('without a paging plugin, enabling paging is a typed error', () => {
    const system = composeSystem({ plugins: [machinePlugin], config: { machine: { cpus: 1, memoryMiB: 16 } } });
    const m = system.container.resolve(Tokens.Machine) as Machine;
    expect(m.devices).toEqual([]);
    expect(() => m.startProcessor(0, { mode: 'long64', entry: CODE })).toThrow(MissingPagingPluginError);
  });
});
