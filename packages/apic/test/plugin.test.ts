import { describe, expect, it } from 'vitest';
import { composeSystem, Tokens, type ApicTimeBackend, type LocalApicDevice } from '@latelaunch/kernel';
// Type-only: the processor's interface from machine-x86 (no runtime dependency on machine-x86).
import type { InterruptController } from '../../machine-x86/src/cpu/interrupt-controller.ts';
import type { VirtualClock } from '../../machine-x86/src/clock/virtual-clock.ts';
import { ApicFabric, LocalApic, LocalApicFactory, localApicPlugin } from '../src/index.js';
import { R, RecordingCpu, TestClock, enable, fixed, rd, wr } from './helpers.js';

describe('localApicPlugin', () => {
  it('provides Tokens.LocalApicModel; create() builds LocalApics with the given backends', () => {
    const system = composeSystem({ plugins: [localApicPlugin] });
    const model = system.resolve(Tokens.LocalApicModel);
    expect(model).toBeInstanceOf(LocalApicFactory);
    expect(model.name).toBe('xapic-x2apic');
    expect(model.supportsX2Apic).toBe(true);
    expect(system.resolve(Tokens.LocalApicModel)).toBe(model);
    const fabric = new ApicFabric();
    const clock = new TestClock();
    const cpu = new RecordingCpu();
    const apic: LocalApicDevice = model.create(3, { bus: fabric, time: clock, cpu }, { bsp: true });
    expect(apic).toBeInstanceOf(LocalApic);
    expect(apic.apicId).toBe(3);
    expect(apic.readMsr(0x1b)).toEqual({ ok: true, value: 0xfee00900n });
  });

  it('takes its options from config.plugins["apic.local-apic"]', () => {
    const system = composeSystem({ plugins: [localApicPlugin], config: { plugins: { 'apic.local-apic': { x2apic: false, ticksPerTimerClock: 1, eoiBroadcastSuppression: false } } } });
    const model = system.resolve(Tokens.LocalApicModel) as LocalApicFactory;
    expect(model.supportsX2Apic).toBe(false);
    const apic = model.create(0, { bus: new ApicFabric(), time: new TestClock(), cpu: new RecordingCpu() });
    expect(apic.ticksPerTimerClock).toBe(1);
    expect(rd(apic, R.VER)).toBe(0x00060014);
    expect(apic.writeMsr(0x1b, 0xfee00c00n).ok).toBe(false);
  });

  it('rejects bad options with a config error', () => {
    expect(() => composeSystem({ plugins: [localApicPlugin], config: { plugins: { 'apic.local-apic': { ticksPerTimerClock: 0 } } } })).toThrowError(/ticksPerTimerClock/);
  });

  it('withOptions builds a model without composition', () => {
    const m = LocalApicFactory.withOptions({ x2apic: false });
    expect(m.supportsX2Apic).toBe(false);
    expect(m.create(1, { bus: new ApicFabric(), time: new TestClock(), cpu: new RecordingCpu() }).supportsX2Apic).toBe(false);
  });
});

describe("LocalApic is the processor's InterruptController", () => {
  it("machine-x86's VirtualClock is an ApicTimeBackend (compile-time check)", () => {
    const asBackend = (c: VirtualClock): ApicTimeBackend => c;
    expect(typeof asBackend).toBe('function');
  });

  it('structurally: pendingVector / acknowledge / readTpr / writeTpr (CR8)', () => {
    const apic = new LocalApic({ apicId: 0, bus: new ApicFabric(), time: new TestClock(), cpu: new RecordingCpu() });
    const ic: InterruptController = apic; // compile-time check
    enable(apic);
    fixed(apic, 0x70);
    expect(ic.pendingVector()).toBe(0x70);
    ic.writeTpr(7);
    expect(ic.pendingVector()).toBe(-1);
    expect(ic.readTpr()).toBe(7);
    ic.writeTpr(6);
    expect(ic.acknowledge()).toBe(0x70);
    wr(apic, R.EOI, 0);
    expect(apic.isrBit(0x70)).toBe(false);
  });
});
