// Paging wired into event delivery (issue 5): the IDT is read through the processor's
// translation, so a not-present IDT page during NMI delivery produces #PF, then #DF (a #PF while
// delivering #PF), then a triple fault (a fault while delivering #DF) → shutdown, with the SDM
// error codes — while the other processor keeps running.
import { describe, expect, test } from 'vitest';
import { TraceBus, type TraceRecord } from '@latelaunch/kernel';
import { al, cr0, cr3, cr4, dword, eax, mem } from '@latelaunch/x86-isa';
import { createMachine } from '../src/index.js';
import { asm32, pagingFactory } from './machine-helpers.js';

const CODE = 0x100000;
const PD = 0x300000;
const IDT_LINEAR = 0x00800000; // PDE[2] stays not present

describe('paging during event delivery', () => {
  test('not-present IDT page on NMI delivery: #PF → #DF → triple fault → shutdown; CPU 1 keeps running', () => {
    const trace = new TraceBus();
    const records: TraceRecord[] = [];
    trace.subscribe((r) => records.push(r), ['cpu.exception', 'cpu.interrupt', 'cpu.shutdown']);
    const m = createMachine({ cpus: 2, translatorFactory: pagingFactory, trace, quantum: 10 });
    const prog = asm32(CODE, (a) => {
      a.mov(dword(PD), 0x83); // 4 MiB page: identity for 0–4 MiB, supervisor, writable
      a.mov(eax, PD);
      a.mov(cr3, eax);
      a.mov(eax, cr4);
      a.or(eax, 0x10); // PSE
      a.mov(cr4, eax);
      a.mov(eax, cr0);
      a.or(eax, 0x80000000); // PG
      a.mov(cr0, eax);
      a.lidt(mem('idtr'));
      a.label('wait');
      a.hlt(); // IF = 0: only the NMI wakes it
      a.jmp('wait');
      a.align(8);
      a.label('idtr');
      a.dw(0x7ff);
      a.dd(IDT_LINEAR);
    });
    const other = asm32(CODE + 0x1000, (a) => {
      a.label('loop');
      a.inc(dword(0x200000));
      a.cmp(dword(0x200000), 5000);
      a.jne('loop');
      a.mov(al, 9);
      a.out(0xf4, al);
    });
    m.loadFlat(prog.bytes, CODE);
    m.loadFlat(other.bytes, CODE + 0x1000);
    m.startProcessor(0, { mode: 'protected32', entry: CODE });
    m.startProcessor(1, { mode: 'protected32', entry: CODE + 0x1000 });
    m.scheduleEvent({ cpu: 0, kind: 'nmi', atTime: 2_000 });
    const r = m.run({ maxInstructions: 1_000_000 });

    const cpu0 = records.filter((x) => x.cpu === 0).map((x) => `${x.kind}:${(x.data as { vector: number }).vector}:${(x.data as { errorCode?: number }).errorCode ?? ''}`);
    // NMI delivery starts; reading its gate faults (#PF, not present, read, supervisor: error code 0);
    // reading the #PF gate faults again → #DF(0); reading the #DF gate faults → shutdown.
    expect(cpu0).toEqual(['cpu.interrupt:2:', 'cpu.exception:14:0', 'cpu.exception:8:0', 'cpu.shutdown:14:']); // shutdown names the fault that hit #DF delivery
    expect(r.cpus[0].activity).toBe('shutdown');
    // CR2 holds the IDT linear address that faulted.
    const cr2 = m.processors[0].state.cr2;
    expect(cr2).toBeGreaterThanOrEqual(IDT_LINEAR);
    expect(cr2).toBeLessThan(IDT_LINEAR + 0x800);
    // The machine kept running the other processor to its debug exit.
    expect(r.reason).toBe('debug-exit');
    expect(r.exit!.value).toBe(9);
    expect(m.memory.read32(0x200000)).toBe(5000);
  });
});
