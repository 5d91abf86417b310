import { describe, expect, test } from 'vitest';
import { TraceBus, type TraceRecord } from '@latelaunch/kernel';
import { al, cr2, dword, eax, edi, esi, esp, mem, qword, rax, rbx, rcx, rsp, nativeServiceBytes } from '@latelaunch/x86-isa';
import { createMachine, NativeServiceError, NativeServiceFaultError, NativeServiceRegistry, type Machine } from '../src/index.js';
import { BOOT_PD_ADDRESS } from '../src/machine/boot.js';
import { asm32, asm64, idt32, idt64, pagingFactory } from './machine-helpers.js';

const CODE = 0x100000;
const DATA = 0x200000;

function traced(): { trace: TraceBus; records: TraceRecord[] } {
  const trace = new TraceBus();
  const records: TraceRecord[] = [];
  trace.subscribe((r) => records.push(r), ['cpu.native', 'cpu.native.log', 'cpu.exception']);
  return { trace, records };
}

describe('NativeServiceRegistry', () => {
  test('registration rules', () => {
    const r = new NativeServiceRegistry();
    r.register(0x10, 'a', () => {});
    expect(() => r.register(0x10, 'b', () => {})).toThrow(/already registered as 'a'/);
    expect(() => r.register(0x10000, 'c', () => {})).toThrow(/0\.\.0xFFFF/);
    expect(() => new NativeServiceRegistry({ faultPolicy: 'x' as never })).toThrow(/faultPolicy/);
    r.register(2, 'b', () => {}, 'second');
    expect(r.list()).toEqual([{ service: 2, name: 'b', description: 'second' }, { service: 0x10, name: 'a' }]);
    expect(r.unregister(2)).toBe(true);
    expect(r.get(2)).toBeUndefined();
  });

  test('32-bit: a service reads a string, writes memory and returns in EAX; traced', () => {
    const services = new NativeServiceRegistry();
    services.register(0x10, 'upper', (ctx) => {
      const s = ctx.readString(ctx.getReg32(6));
      ctx.trace('upper', { length: s.length });
      ctx.writeBytes(ctx.getReg32(7), new TextEncoder().encode(s.toUpperCase() + '\0'));
      ctx.setReg32(0, s.length);
      expect(ctx.bits).toBe(32);
      expect(ctx.cpu).toBe(0);
      expect(ctx.service).toBe(0x10);
    });
    const { trace, records } = traced();
    const m = createMachine({ nativeServices: services, trace });
    const prog = asm32(CODE, (a) => {
      a.mov(esi, 'str');
      a.mov(edi, DATA);
      a.label('call');
      a.native(0x10);
      a.mov(dword(DATA + 0x100), eax);
      a.mov(al, 1);
      a.out(0xf4, al);
      a.label('str');
      a.asciz('hello, native');
    });
    m.loadFlat(prog.bytes, CODE);
    m.startProcessor(0, { mode: 'protected32', entry: CODE });
    const r = m.run({ maxInstructions: 100 });
    expect(r.reason).toBe('debug-exit');
    expect(r.instructions).toBe(6);
    expect(new TextDecoder().decode(m.memory.readBytes(DATA, 13))).toBe('HELLO, NATIVE');
    expect(m.memory.read32(DATA + 0x100)).toBe(13);
    expect(records.map((x) => [x.kind, x.cpu, x.data])).toEqual([
      ['cpu.native.log', 0, { service: 0x10, name: 'upper', message: 'upper', data: { length: 13 } }],
      ['cpu.native', 0, { service: 0x10, name: 'upper', rip: prog.address('call'), outcome: 'ok' }],
    ]);
    expect(services.calls).toBe(1);
  });

  test('an unregistered service is #UD at the native instruction', () => {
    const { trace, records } = traced();
    const m = createMachine({ trace });
    const prog = asm32(CODE, (a) => {
      a.lidt(mem('idtr'));
      a.label('call');
      a.native(0x77);
      a.label('spin');
      a.jmp('spin');
      a.label('ud');
      a.mov(eax, dword(esp));
      a.mov(dword(DATA), eax);
      a.mov(al, 6);
      a.out(0xf4, al);
      a.label('other');
      a.mov(al, 0x7f);
      a.out(0xf4, al);
      idt32(a, 32, (v) => (v === 6 ? 'ud' : 'other'));
    });
    m.loadFlat(prog.bytes, CODE);
    m.startProcessor(0, { mode: 'protected32', entry: CODE });
    const r = m.run({ maxInstructions: 100 });
    expect(r.exit!.value).toBe(6);
    expect(m.memory.read32(DATA)).toBe(prog.address('call'));
    expect(records[0]).toMatchObject({ kind: 'cpu.native', data: { service: 0x77, outcome: 'unknown', vector: 6 } });
  });
});

describe('native services in 64-bit mode (through paging)', () => {
  function machine64(services: NativeServiceRegistry, trace?: TraceBus): { m: Machine; call: number } {
    const m = createMachine({ nativeServices: services, translatorFactory: pagingFactory, trace });
    const prog = asm64(CODE, (a) => {
      a.lidt(mem('idtr'));
      a.mov(rax, 0x1122334455667788n);
      a.mov(rbx, 0x0101010101010101n);
      a.label('call');
      a.native(0x20);
      a.mov(qword(DATA + 0x100), rcx);
      a.mov(qword(DATA + 0x108), rax);
      a.mov(al, 1);
      a.out(0xf4, al);
      a.label('pf');
      a.mov(rax, qword(rsp));
      a.mov(qword(DATA + 0x200), rax); // error code
      a.mov(rax, qword(rsp, 8));
      a.mov(qword(DATA + 0x208), rax); // saved RIP
      a.mov(rax, cr2);
      a.mov(qword(DATA + 0x210), rax);
      a.mov(al, 14);
      a.out(0xf4, al);
      a.label('other');
      a.mov(al, 0x7f);
      a.out(0xf4, al);
      idt64(a, 32, (v) => (v === 14 ? 'pf' : 'other'));
    });
    m.loadFlat(prog.bytes, CODE);
    m.startProcessor(0, { mode: 'long64', entry: CODE, stack: 0x6ff0 });
    // Unmap 4 MiB–6 MiB (PD entry 2) so services can fault inside RAM.
    m.memory.write64(BOOT_PD_ADDRESS + 2 * 8, 0n);
    return { m, call: prog.address('call') };
  }

  test('64-bit registers, and a 32-bit register write zero-extends', () => {
    const services = new NativeServiceRegistry();
    services.register(0x20, 'add', (ctx) => {
      expect(ctx.bits).toBe(64);
      ctx.setReg(1, ctx.getReg(0) + ctx.getReg(3));
      ctx.setReg32(0, 0xffffffff);
    });
    const { m } = machine64(services);
    const r = m.run({ maxInstructions: 100 });
    expect(r.exit!.value).toBe(1);
    expect(m.memory.read64(DATA + 0x100)).toBe(0x1122334455667788n + 0x0101010101010101n);
    expect(m.memory.read64(DATA + 0x108)).toBe(0xffffffffn);
  });

  test("faultPolicy 'error': a fault stops the run with a typed error naming the service", () => {
    const services = new NativeServiceRegistry();
    services.register(0x20, 'reader', (ctx) => {
      ctx.readBytes(0x400010, 4);
    });
    const { trace, records } = traced();
    const { m, call } = machine64(services, trace);
    let err: unknown;
    try {
      m.run({ maxInstructions: 100 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NativeServiceFaultError);
    const f = err as NativeServiceFaultError;
    expect(f.message).toMatch(/native service 0x20 'reader' on processor 0 faulted: vector 14/);
    expect([f.service, f.serviceName, f.vector, f.cpu, f.rip]).toEqual([0x20, 'reader', 14, 0, call]);
    // Stopped at the native instruction, which did not retire.
    expect(m.processors[0].state.rip).toBe(call);
    expect(m.retired(0)).toBe(3);
    expect(m.totalInstructions).toBe(3);
    expect(records.some((x) => x.kind === 'cpu.native' && (x.data as { outcome: string }).outcome === 'fault')).toBe(true);
  });

  test("faultPolicy 'deliver': the guest gets the #PF of the access at the native instruction; writes never commit partially", () => {
    const services = new NativeServiceRegistry({ faultPolicy: 'deliver' });
    services.register(0x20, 'writer', (ctx) => {
      ctx.writeBytes(0x3ffff8, new Uint8Array(16).fill(0xaa)); // crosses into the unmapped 4 MiB page
    });
    const { m, call } = machine64(services);
    const r = m.run({ maxInstructions: 100 });
    expect(r.exit!.value).toBe(14);
    expect(m.memory.read64(DATA + 0x200)).toBe(2n); // #PF error code: write, not present
    expect(m.memory.read64(DATA + 0x208)).toBe(BigInt(call));
    expect(m.memory.read64(DATA + 0x210)).toBe(0x400000n);
    expect(m.memory.readBytes(0x3ffff8, 8)).toEqual(new Uint8Array(8)); // nothing written
  });

  test('a service that throws is a NativeServiceError naming the service', () => {
    const services = new NativeServiceRegistry();
    services.register(0x20, 'buggy', () => {
      throw new Error('boom');
    });
    const { m } = machine64(services);
    expect(() => m.run({ maxInstructions: 100 })).toThrow(NativeServiceError);
    expect(() => m.run({ maxInstructions: 100 })).toThrow(/native service 0x20 'buggy' on processor 0 failed: boom/);
  });

  test('the native-service encoding is the x86-isa one', () => {
    expect([...nativeServiceBytes(32, 0x20)]).toEqual([0x0f, 0xb9, 0x80, 0x20, 0x00, 0x4c, 0x4c]);
  });
});
