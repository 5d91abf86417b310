import { describe, expect, it } from 'vitest';
import { LocalApic } from '../src/index.js';
import { R, RecordingBus, RecordingCpu, TestClock, enable, rd, single, wr, wrmsr } from './helpers.js';

describe('LINT0/LINT1 and the external NMI line', () => {
  it('LINT1 is masked at reset: the NMI line does nothing until programmed as NMI', () => {
    const { apic, cpu } = single();
    enable(apic);
    apic.raiseNmiLine();
    expect(cpu.events).toEqual([]);
    wr(apic, R.LINT1, 0x400); // NMI delivery, unmasked (what the BIOS/OS programs)
    apic.raiseNmiLine();
    apic.raiseNmiLine();
    expect(cpu.events).toEqual(['nmi', 'nmi']);
  });

  it('edge-triggered: only a rising edge fires', () => {
    const { apic, cpu } = single();
    enable(apic);
    wr(apic, R.LINT1, 0x400);
    apic.setLint(1, true);
    apic.setLint(1, true);
    apic.setLint(1, false);
    expect(cpu.events).toEqual(['nmi']);
  });

  it('with the APIC globally disabled LINT1 is the NMI pin and LINT0 the INTR pin', () => {
    const { apic, cpu } = single();
    wrmsr(apic, 0x1b, 0xfee00000n);
    apic.raiseNmiLine();
    apic.setLint(0, true);
    expect(cpu.events).toEqual(['nmi', 'extint']);
  });

  it('a fixed edge-triggered LINT0 raises its vector', () => {
    const { apic } = single();
    enable(apic);
    wr(apic, R.LINT0, 0x0051);
    apic.setLint(0, true);
    expect(apic.pendingVector()).toBe(0x51);
    expect(apic.tmrBit(0x51)).toBe(false);
  });

  it('a level-triggered fixed LINT holds remote IRR until EOI and re-fires while still asserted', () => {
    const { apic, bus } = single();
    enable(apic);
    wr(apic, R.LINT0, 0x8052);
    apic.setLint(0, true);
    expect(rd(apic, R.LINT0)).toBe(0xc052); // remote IRR
    expect(apic.acknowledge()).toBe(0x52);
    apic.setLint(0, true);
    expect(apic.irrBit(0x52)).toBe(false);
    wr(apic, R.EOI, 0);
    expect(apic.irrBit(0x52)).toBe(true); // still asserted: accepted again
    expect(bus.eois).toEqual([]); // local level source: no broadcast
    expect(apic.acknowledge()).toBe(0x52);
    apic.setLint(0, false);
    wr(apic, R.EOI, 0);
    expect(rd(apic, R.LINT0)).toBe(0x8052);
    expect(apic.pendingVector()).toBe(-1);
  });

  it('masked LINT inputs do nothing; INIT and SMI delivery modes', () => {
    const { apic, cpu } = single();
    enable(apic);
    wr(apic, R.LINT0, 0x10053);
    apic.setLint(0, true);
    expect(apic.pendingVector()).toBe(-1);
    wr(apic, R.LINT1, 0x500);
    apic.raiseNmiLine();
    wr(apic, R.LINT1, 0x200);
    apic.raiseNmiLine();
    expect(cpu.events).toEqual(['init', 'smi']);
  });

  it('LINT0 as ExtINT (virtual wire): the vector and the INTA cycle come from the 8259, bypassing priority', () => {
    const clock = new TestClock();
    const cpu = new RecordingCpu();
    let pic = -1;
    let acks = 0;
    const apic = new LocalApic({ apicId: 0, bus: new RecordingBus(), time: clock, cpu, extInt: { pendingVector: () => pic, acknowledge: () => (acks++, pic) } });
    enable(apic);
    wr(apic, R.LINT0, 0x700);
    wr(apic, R.TPR, 0xff);
    pic = 0x08;
    apic.setLint(0, true);
    expect(cpu.events).toEqual(['extint']);
    expect(apic.pendingVector()).toBe(0x08);
    expect(apic.acknowledge()).toBe(0x08);
    expect(acks).toBe(1);
    expect(apic.isrBit(0x08)).toBe(false);
    apic.setLint(0, false);
    expect(apic.pendingVector()).toBe(-1);
    wr(apic, R.LINT0, 0x10700);
    apic.setLint(0, true);
    expect(apic.pendingVector()).toBe(-1);
  });

  it('an ExtINT message latches until the INTA cycle', () => {
    const cpu = new RecordingCpu();
    const apic = new LocalApic({ apicId: 0, bus: new RecordingBus(), time: new TestClock(), cpu, extInt: { pendingVector: () => 0x20, acknowledge: () => 0x20 } });
    enable(apic);
    expect(apic.pendingVector()).toBe(-1);
    apic.deliver({ mode: 7, vector: 0, destination: 0, destMode: 'physical', shorthand: 0, level: true, trigger: 'edge', sourceApicId: -1, x2apic: false });
    expect(cpu.events).toEqual(['extint']);
    expect(apic.pendingVector()).toBe(0x20);
    expect(apic.acknowledge()).toBe(0x20);
    expect(apic.pendingVector()).toBe(-1);
  });

  it('initReset: registers to their INIT state, software-written xAPIC ID and IA32_APIC_BASE kept', () => {
    const { apic } = single({ apicId: 2 });
    enable(apic);
    wrmsr(apic, 0x1b, 0xfed00800n);
    wr(apic, R.ID, 0x0c000000);
    wr(apic, R.LINT1, 0x400);
    wr(apic, R.TICR, 50);
    apic.initReset();
    expect(rd(apic, R.ID)).toBe(0x0c000000);
    expect(apic.mmioBase).toBe(0xfed00000);
    expect([rd(apic, R.SVR), rd(apic, R.LINT1), rd(apic, R.TCCR), rd(apic, R.DFR)]).toEqual([0xff, 0x10000, 0, 0xffffffff]);
  });
});
