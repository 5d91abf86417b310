import type { ApicCpuPort, ApicInterruptMessage, ApicIpiBus, ApicTimeBackend } from '@latelaunch/kernel';
import { ApicFabric, LocalApic, type LocalApicOptions } from '../src/index.js';

/** A deterministic virtual clock with absolute scheduling (same contract as machine-x86's VirtualClock). */
export class TestClock implements ApicTimeBackend {
  t = 0;
  private seq = 0;
  private readonly events = new Map<number, { time: number; seq: number; cb: (time: number) => void }>();
  now(): number {
    return this.t;
  }
  schedule(time: number, cb: (time: number) => void): number {
    if (time < this.t) throw new Error(`schedule in the past: ${time} < ${this.t}`);
    const h = this.seq++;
    this.events.set(h, { time, seq: h, cb });
    return h;
  }
  cancel(handle: number): boolean {
    return this.events.delete(handle);
  }
  get pending(): number {
    return this.events.size;
  }
  /** Advances to `target`, firing due events in (time, seq) order, each at its own time. */
  advanceTo(target: number): void {
    for (;;) {
      let next: { time: number; seq: number; cb: (time: number) => void } | undefined;
      let key = -1;
      for (const [k, e] of this.events) if (e.time <= target && (next === undefined || e.time < next.time || (e.time === next.time && e.seq < next.seq))) [next, key] = [e, k];
      if (next === undefined) break;
      this.events.delete(key);
      this.t = next.time;
      next.cb(next.time);
    }
    this.t = target;
  }
  advance(ticks: number): void {
    this.advanceTo(this.t + ticks);
  }
}

/** Records what the APIC signals to its processor. */
export class RecordingCpu implements ApicCpuPort {
  readonly events: string[] = [];
  interrupts = 0;
  onInterrupt(): void {
    this.interrupts++;
  }
  onNmi(): void {
    this.events.push('nmi');
  }
  onInit(): void {
    this.events.push('init');
  }
  onSipi(vector: number): void {
    this.events.push(`sipi:${vector.toString(16)}`);
  }
  onExtInt(): void {
    this.events.push('extint');
  }
  onSmi(): void {
    this.events.push('smi');
  }
}

export class RecordingBus implements ApicIpiBus {
  readonly sent: ApicInterruptMessage[] = [];
  readonly eois: number[] = [];
  sendIpi(m: ApicInterruptMessage): void {
    this.sent.push(m);
  }
  eoiBroadcast(vector: number): void {
    this.eois.push(vector);
  }
}

export function single(options: Partial<LocalApicOptions> = {}) {
  const clock = new TestClock();
  const cpu = new RecordingCpu();
  const bus = new RecordingBus();
  const apic = new LocalApic({ apicId: 0, bsp: true, ...options, bus, time: clock, cpu });
  return { apic, clock, cpu, bus };
}

/** `n` APICs with IDs `ids` on one ApicFabric and one clock. */
export function cluster(ids: readonly number[] = [0, 1, 2, 3], options: Partial<LocalApicOptions> = {}) {
  const clock = new TestClock();
  const fabric = new ApicFabric();
  const cpus = ids.map(() => new RecordingCpu());
  const apics = ids.map((id, i) => new LocalApic({ apicId: id, bsp: i === 0, ...options, bus: fabric, time: clock, cpu: cpus[i] }));
  for (const a of apics) fabric.attach(a);
  return { apics, cpus, fabric, clock };
}

export const R = {
  ID: 0x20, VER: 0x30, TPR: 0x80, APR: 0x90, PPR: 0xa0, EOI: 0xb0, RRD: 0xc0, LDR: 0xd0, DFR: 0xe0, SVR: 0xf0,
  ISR: 0x100, TMR: 0x180, IRR: 0x200, ESR: 0x280, CMCI: 0x2f0, ICRLO: 0x300, ICRHI: 0x310,
  TIMER: 0x320, THERMAL: 0x330, PERF: 0x340, LINT0: 0x350, LINT1: 0x360, ERROR: 0x370, TICR: 0x380, TCCR: 0x390, TDCR: 0x3e0,
} as const;

export const rd = (a: LocalApic, off: number): number => a.mmioRead(off, 4);
export const wr = (a: LocalApic, off: number, v: number): void => a.mmioWrite(off, v, 4);

/** Software-enables an xAPIC (SVR = 0x1FF). */
export function enable(a: LocalApic): void {
  if (a.mode === 'x2apic') a.writeMsr(0x80f, 0x1ffn);
  else wr(a, R.SVR, 0x1ff);
}

/** Switches an xAPIC to x2APIC mode. */
export function toX2(a: LocalApic): void {
  const r = a.writeMsr(0x1b, a.readApicBase() | (1n << 10n));
  if (!r.ok) throw new Error(r.reason);
}

/** RDMSR value or throws. */
export function rdmsr(a: LocalApic, i: number): bigint {
  const r = a.readMsr(i);
  if (!r.ok) throw new Error(r.reason);
  return r.value;
}
export function wrmsr(a: LocalApic, i: number, v: bigint | number): void {
  const r = a.writeMsr(i, BigInt(v));
  if (!r.ok) throw new Error(r.reason);
}
export function gpOnWrite(a: LocalApic, i: number, v: bigint | number): boolean {
  return !a.writeMsr(i, BigInt(v)).ok;
}
export function gpOnRead(a: LocalApic, i: number): boolean {
  return !a.readMsr(i).ok;
}

/** Sends a fixed interrupt to the APIC directly (as the fabric would). */
export function fixed(a: LocalApic, vector: number, trigger: 'edge' | 'level' = 'edge'): void {
  a.deliver({ mode: 0, vector, destination: a.apicId, destMode: 'physical', shorthand: 0, level: true, trigger, sourceApicId: -1, x2apic: a.mode === 'x2apic' });
}
