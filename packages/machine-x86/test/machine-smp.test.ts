// The QEMU-compatible platform profile on the machine (platform: 'qemu'): local APICs with
// INIT/SIPI start-up of the application processors, fw_cfg, the LAPIC timer, snapshots.
import { describe, expect, test } from 'vitest';
import { InvalidArgumentError } from '@latelaunch/kernel';
import { Assembler, al, ax, bh, bl, ds, dword, dx, eax, ebx, ecx, edx, mem } from '@latelaunch/x86-isa';
import { createMachine, Machine } from '../src/index.js';
import { asm32, idt32 } from './machine-helpers.js';

const CODE = 0x100000;
const DATA = 0x200000;
const COUNTER = 0x7000; // the APs' LOCK INC target (reachable from real mode with DS = 0)
const TRAMPOLINE = 0x8000; // SIPI vector 0x08
const APIC = 0xfee00000;

/** 16-bit real-mode stub: DS = 0, LOCK INC dword [COUNTER], CLI, HLT. */
function trampoline(): Uint8Array {
  const a = new Assembler({ bits: 16, org: TRAMPOLINE });
  a.xor(ax, ax);
  a.mov(ds, ax);
  a.lock().inc(dword(COUNTER));
  a.cli();
  a.label('halt');
  a.hlt();
  a.jmp('halt');
  return a.assemble().bytes;
}

/** BSP: enable its APIC, INIT + SIPI + SIPI (broadcast or per AP), spin until COUNTER = cpus - 1 (budgeted), exit with COUNTER. */
function starter(cpus: number, how: 'shorthand' | 'physical') {
  return asm32(CODE, (a) => {
    a.mov(dword(APIC + 0xf0), 0x1ff); // SVR: software enable
    const send = (dest: number, low: number) => {
      a.mov(dword(APIC + 0x310), dest << 24);
      a.mov(dword(APIC + 0x300), low);
    };
    if (how === 'shorthand') {
      send(0, 0x000c4500); // INIT, assert, all excluding self
      send(0, 0x000c4608); // start-up, vector 0x08
      send(0, 0x000c4608); // the second SIPI of the MP protocol (ignored by a started AP)
    } else {
      for (let id = 1; id < cpus; id++) {
        send(id, 0x00004500);
        send(id, 0x00004608);
        send(id, 0x00004608);
      }
    }
    a.mov(ecx, 1_000_000);
    a.label('wait');
    a.cmp(dword(COUNTER), cpus - 1);
    a.je('done');
    a.pause();
    a.dec(ecx);
    a.jnz('wait');
    a.mov(al, 0x7e); // timeout
    a.out(0xf4, al);
    a.label('done');
    a.mov(eax, dword(COUNTER));
    a.out(0xf4, al);
  });
}

function smpMachine(cpus: number): Machine {
  const m = createMachine({ cpus, platform: 'qemu' });
  m.loadFlat(trampoline(), TRAMPOLINE);
  return m;
}

describe("platform 'qemu': application processors start with INIT/SIPI", () => {
  for (const cpus of [2, 4]) {
    for (const how of ['shorthand', 'physical'] as const) {
      test(`${cpus} CPUs, ${how === 'shorthand' ? 'all-excluding-self shorthand' : 'each AP by physical APIC ID'}: every AP reports exactly once`, () => {
        const m = smpMachine(cpus);
        m.loadFlat(starter(cpus, how).bytes, CODE);
        m.startProcessor(0, { mode: 'protected32', entry: CODE });
        expect(m.summaries().slice(1).every((c) => c.activity === 'wait-for-sipi')).toBe(true);
        const r = m.run({ maxInstructions: 5_000_000 });
        expect(r.reason).toBe('debug-exit');
        expect(r.exit!.value).toBe(cpus - 1);
        // Let the APs finish their HLT; nobody increments twice.
        m.run({ maxInstructions: 10_000 });
        expect(m.memory.read32(COUNTER)).toBe(cpus - 1);
        for (const c of m.summaries().slice(1)) {
          expect(c.activity).toBe('hlt');
          expect(c.mode).toBe('real');
          expect(c.cs).toBe(0x0800);
        }
        // APIC IDs = processor index, BSP flag on processor 0 only.
        expect(m.localApics!.apics.map((a) => a.apicId)).toEqual([...Array(cpus).keys()]);
        expect(m.localApics!.apics.map((a) => (a.readApicBase() & 0x100n) !== 0n)).toEqual([...Array(cpus).keys()].map((i) => i === 0));
      });
    }
  }

  test('without the platform, the APIC page is not there (default machine unchanged)', () => {
    const m = createMachine({ cpus: 2 });
    expect(m.localApics).toBeNull();
    expect(m.platformDevices).toBeNull();
    expect(m.bus.read32(APIC + 0x30)).toBe(0xffffffff);
  });
});

describe("platform 'qemu': devices", () => {
  test('fw_cfg reports the CPU count (selector 0x05, 16-bit write; two data bytes)', () => {
    const m = createMachine({ cpus: 4, platform: 'qemu' });
    const prog = asm32(CODE, (a) => {
      a.mov(dx, 0x510);
      a.mov(ax, 0x05);
      a.out(dx, ax);
      a.mov(dx, 0x511);
      a.xor(ebx, ebx);
      a.in(al, dx);
      a.mov(bl, al);
      a.in(al, dx);
      a.mov(bh, al);
      a.mov(dword(DATA), ebx);
      a.mov(al, 0x10);
      a.out(0xf4, al);
    });
    m.loadFlat(prog.bytes, CODE);
    m.startProcessor(0, { mode: 'protected32', entry: CODE });
    expect(m.run({ maxInstructions: 1000 }).reason).toBe('debug-exit');
    expect(m.memory.read32(DATA)).toBe(4);
    const kinds = m.devices.map((d) => d.constructor.name);
    for (const k of ['Uart16550', 'DebugExitDevice', 'PostCodePort', 'Pic8259Pair', 'Pit8254', 'CmosRtc', 'AcpiPmTimer', 'FwCfg', 'IoApic']) expect(kinds).toContain(k);
    expect(kinds.filter((k) => k === 'Uart16550')).toHaveLength(1);
  });

  /** LAPIC timer one-shot (÷1, count 1000) → vector 0x40 → handler counts and EOIs; the BSP HLTs until then. */
  function timerProgram() {
    return asm32(CODE, (a) => {
      a.lidt(mem('idtr'));
      a.mov(dword(APIC + 0xf0), 0x1ff);
      a.mov(dword(APIC + 0x3e0), 0xb); // divide by 1
      a.mov(dword(APIC + 0x320), 0x40); // LVT timer: one-shot, vector 0x40
      a.mov(dword(APIC + 0x380), 1000); // initial count
      a.sti();
      a.label('idle');
      a.hlt();
      a.cmp(dword(DATA), 0);
      a.je('idle');
      a.mov(eax, dword(DATA));
      a.add(eax, 0x20);
      a.out(0xf4, al);
      a.label('timer');
      a.inc(dword(DATA));
      a.mov(dword(APIC + 0xb0), 0); // EOI
      a.iret();
      a.label('other');
      a.mov(al, 0x7f);
      a.out(0xf4, al);
      idt32(a, 0x41, (v) => (v === 0x40 ? 'timer' : 'other'));
    });
  }

  test('the LAPIC timer interrupt reaches an IDT handler (one-shot, vector 0x40, EOI at 0xFEE000B0)', () => {
    const m = createMachine({ cpus: 1, platform: 'qemu' });
    m.loadFlat(timerProgram().bytes, CODE);
    m.startProcessor(0, { mode: 'protected32', entry: CODE });
    const r = m.run({ maxInstructions: 100_000 });
    expect(r.reason).toBe('debug-exit');
    expect(r.exit!.value).toBe(0x21);
    expect(m.memory.read32(DATA)).toBe(1);
    expect(r.time).toBeGreaterThanOrEqual(10_000); // 1000 counts × 10 ticks
    expect(m.localApics!.apics[0].isrBit(0x40)).toBe(false);
  });

  test('machine snapshots include the local APIC states', () => {
    const m = createMachine({ cpus: 1, platform: 'qemu' });
    m.loadFlat(timerProgram().bytes, CODE);
    m.startProcessor(0, { mode: 'protected32', entry: CODE });
    // Run until the timer is armed and the processor halts.
    m.run({ maxInstructions: 7 });
    const snap = m.snapshot();
    expect(snap.apics).toHaveLength(1);
    const first = m.run({ maxInstructions: 100_000 });
    m.restore(snap);
    expect(m.localApics!.apics[0].mmioRead(0x390, 4)).toBeGreaterThan(900); // the countdown is back
    const second = m.run({ maxInstructions: 100_000 });
    expect(second.reason).toBe('debug-exit');
    expect(second.exit).toEqual(first.exit);
    expect(second.time).toBe(first.time);
    expect(second.instructions).toBe(first.instructions);
  });
});

describe("platform 'qemu': apicIds (each processor's APIC ID, e.g. a real MADT's)", () => {
  const ids = [32, 5, 100, 7];
  test('LocalApic IDs, CPUID leaf 1 / 0xB initial APIC IDs, BSP = the first; the APs start by those physical IDs', () => {
    const m = createMachine({ apicIds: ids, platform: 'qemu' });
    expect(m.processors).toHaveLength(4);
    m.loadFlat(trampoline(), TRAMPOLINE);
    const code = asm32(CODE, (a) => {
      a.mov(dword(APIC + 0xf0), 0x1ff);
      a.mov(eax, dword(APIC + 0x20)); // LAPIC ID register
      a.mov(dword(DATA), eax);
      a.mov(eax, 1);
      a.cpuid();
      a.mov(dword(DATA + 4), ebx);
      a.mov(eax, 0xb);
      a.xor(ecx, ecx);
      a.cpuid();
      a.mov(dword(DATA + 8), edx);
      for (const id of ids.slice(1)) {
        a.mov(dword(APIC + 0x310), id << 24);
        a.mov(dword(APIC + 0x300), 0x00004500);
        a.mov(dword(APIC + 0x300), 0x00004608);
        a.mov(dword(APIC + 0x300), 0x00004608);
      }
      a.mov(ecx, 1_000_000);
      a.label('wait');
      a.cmp(dword(COUNTER), ids.length - 1);
      a.je('done');
      a.pause();
      a.dec(ecx);
      a.jnz('wait');
      a.label('done');
      a.mov(eax, dword(COUNTER));
      a.out(0xf4, al);
    });
    m.loadFlat(code.bytes, CODE);
    m.startProcessor(0, { mode: 'protected32', entry: CODE });
    const r = m.run({ maxInstructions: 5_000_000 });
    expect(r.reason).toBe('debug-exit');
    expect(r.exit!.value).toBe(ids.length - 1);
    expect(m.memory.read32(DATA) >>> 24).toBe(32);
    expect(m.memory.read32(DATA + 4) >>> 24).toBe(32);
    expect(m.memory.read32(DATA + 8)).toBe(32);
    expect(m.localApics!.apics.map((a) => a.apicId)).toEqual(ids);
    expect(m.localApics!.apics.map((a) => (a.readApicBase() & 0x100n) !== 0n)).toEqual([true, false, false, false]);
  });

  test('without the platform, CPUID still reports the given IDs', () => {
    const m = createMachine({ apicIds: [9, 3] });
    const code = asm32(CODE, (a) => {
      a.mov(eax, 1);
      a.cpuid();
      a.mov(dword(DATA), ebx);
      a.mov(al, 0);
      a.out(0xf4, al);
    });
    m.loadFlat(code.bytes, CODE);
    m.startProcessor(0, { mode: 'protected32', entry: CODE });
    expect(m.run({ maxInstructions: 1000 }).reason).toBe('debug-exit');
    expect(m.memory.read32(DATA) >>> 24).toBe(9);
  });

  test.each([
    [{ apicIds: [0, 0] }, /twice/],
    [{ apicIds: [0, 255] }, /x2APIC/],
    [{ apicIds: [0, 300] }, /x2APIC/],
    [{ apicIds: [0, -1] }, /non-negative integer/],
    [{ apicIds: [0, 1.5] }, /non-negative integer/],
    [{ apicIds: [0, 1], cpus: 3 }, /2 entries for 3 processors/],
  ])('invalid %j → InvalidArgumentError', (options, message) => {
    expect(() => createMachine({ platform: 'qemu', ...options })).toThrow(InvalidArgumentError);
    expect(() => createMachine({ platform: 'qemu', ...options })).toThrow(message);
  });

  test('pmTimer: the PM timer at a real FADT port', () => {
    const m = createMachine({ platform: 'qemu', pmTimer: { port: 0x808, width: 24 } });
    expect(m.platformDevices!.pmTimer).not.toBeNull();
    expect(m.bus.portOwner(0x808)).toBe('pm-timer');
    expect(m.bus.portOwner(0x608)).toBeUndefined();
    m.clock.advance(1_000_000);
    expect(m.bus.portRead(0x808, 4)).toBe(3579);
    expect(createMachine({ platform: 'qemu', pmTimer: null }).platformDevices!.pmTimer).toBeNull();
    expect(createMachine({ platform: 'qemu' }).bus.portOwner(0x608)).toBe('pm-timer');
  });
});
