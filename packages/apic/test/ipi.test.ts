import { describe, expect, it } from 'vitest';
import { MemorySink, TraceBus } from '@latelaunch/kernel';
import { ApicFabric, DeliveryMode, EsrBit, chooseLowestPriority, type LocalApic } from '../src/index.js';
import { R, cluster, enable, rd, rdmsr, toX2, wr, wrmsr } from './helpers.js';

/** Sends an xAPIC IPI from `a`: ICR high = destination << 24, then ICR low. */
function ipi(a: LocalApic, dest: number, low: number): void {
  wr(a, R.ICRHI, dest << 24);
  wr(a, R.ICRLO, low);
}
const LOGICAL = 1 << 11;
const LEVEL_ASSERT = 1 << 14;
const LEVEL_TRIGGER = 1 << 15;
const SH_SELF = 1 << 18;
const SH_ALL = 2 << 18;
const SH_OTHERS = 3 << 18;
const mode = (m: number) => m << 8;

function receivers(apics: readonly LocalApic[], vector: number): number[] {
  return apics.filter((a) => a.irrBit(vector)).map((a) => a.apicId);
}

function setup(ids = [0, 1, 2, 3]) {
  const s = cluster(ids);
  for (const a of s.apics) enable(a);
  return s;
}

describe('fixed IPIs: destinations (SDM 11.6.2)', () => {
  it('physical: one APIC by ID; 0xFF broadcasts', () => {
    const { apics, cpus } = setup();
    ipi(apics[0], 2, 0x40);
    expect(receivers(apics, 0x40)).toEqual([2]);
    expect(cpus[2].interrupts).toBe(1);
    ipi(apics[0], 0xff, 0x41);
    expect(receivers(apics, 0x41)).toEqual([0, 1, 2, 3]);
    ipi(apics[1], 9, 0x42);
    expect(receivers(apics, 0x42)).toEqual([]);
  });

  it('logical flat model: LDR bitmap AND destination', () => {
    const { apics } = setup();
    apics.forEach((a, i) => wr(a, R.LDR, (1 << i) << 24));
    ipi(apics[0], 0b1010, 0x50 | LOGICAL);
    expect(receivers(apics, 0x50)).toEqual([1, 3]);
    ipi(apics[0], 0xff, 0x51 | LOGICAL);
    expect(receivers(apics, 0x51)).toEqual([0, 1, 2, 3]);
    ipi(apics[0], 0, 0x52 | LOGICAL);
    expect(receivers(apics, 0x52)).toEqual([]);
  });

  it('logical cluster model: cluster nibble must match (0xF = all clusters), member bits AND', () => {
    const { apics } = setup();
    // APIC i: cluster i >> 1, member bit 1 << (i & 1)
    apics.forEach((a, i) => {
      wr(a, R.DFR, 0x0fffffff);
      wr(a, R.LDR, (((i >> 1) << 4) | (1 << (i & 1))) << 24);
    });
    ipi(apics[0], 0x12, 0x60 | LOGICAL);
    expect(receivers(apics, 0x60)).toEqual([3]);
    ipi(apics[0], 0x03, 0x61 | LOGICAL);
    expect(receivers(apics, 0x61)).toEqual([0, 1]);
    ipi(apics[0], 0xf1, 0x62 | LOGICAL);
    expect(receivers(apics, 0x62)).toEqual([0, 2]);
  });

  it('x2APIC physical (32-bit IDs, 0xFFFFFFFF broadcast) and logical cluster (ID[19:4] cluster, 1 << ID[3:0])', () => {
    const { apics } = setup([0x10, 0x11, 0x20, 0x123]);
    for (const a of apics) toX2(a);
    const icr = (dest: number, low: number) => wrmsr(apics[0], 0x830, (BigInt(dest) << 32n) | BigInt(low));
    icr(0x123, 0x70);
    expect(receivers(apics, 0x70)).toEqual([0x123]);
    icr(0xffffffff, 0x71);
    expect(receivers(apics, 0x71)).toEqual([0x10, 0x11, 0x20, 0x123]);
    icr((1 << 16) | 0b11, 0x72 | LOGICAL); // cluster 1, members 0 and 1
    expect(receivers(apics, 0x72)).toEqual([0x10, 0x11]);
    icr((0x12 << 16) | (1 << 3), 0x73 | LOGICAL);
    expect(receivers(apics, 0x73)).toEqual([0x123]);
    icr((2 << 16) | 0b10, 0x74 | LOGICAL); // cluster 2 member 1: nobody
    expect(receivers(apics, 0x74)).toEqual([]);
    expect(rdmsr(apics[3], 0x80d)).toBe((0x12n << 16n) | 8n);
  });

  it('shorthands: self, all including self, all excluding self (destination field ignored)', () => {
    const { apics } = setup();
    ipi(apics[1], 3, 0x80 | SH_SELF);
    expect(receivers(apics, 0x80)).toEqual([1]);
    ipi(apics[1], 3, 0x81 | SH_ALL);
    expect(receivers(apics, 0x81)).toEqual([0, 1, 2, 3]);
    ipi(apics[1], 3, 0x82 | SH_OTHERS);
    expect(receivers(apics, 0x82)).toEqual([0, 2, 3]);
  });

  it('level-triggered fixed IPIs set TMR', () => {
    const { apics } = setup();
    ipi(apics[0], 1, 0x90 | LEVEL_ASSERT | LEVEL_TRIGGER);
    expect(apics[1].tmrBit(0x90)).toBe(true);
  });

  it('hardware-disabled APICs receive nothing and match no destination', () => {
    const { apics, cpus } = setup();
    wrmsr(apics[2], 0x1b, 0xfee00000n);
    ipi(apics[0], 0xff, 0x41);
    ipi(apics[0], 0, SH_OTHERS | mode(DeliveryMode.NMI));
    expect(receivers(apics, 0x41)).toEqual([0, 1, 3]);
    expect(cpus[2].events).toEqual([]);
  });

  it('illegal vectors: the sender sets "send illegal vector", receivers "received illegal vector"', () => {
    const { apics } = setup();
    ipi(apics[0], 1, 0x0c);
    wr(apics[0], R.ESR, 0);
    wr(apics[1], R.ESR, 0);
    expect(rd(apics[0], R.ESR)).toBe(EsrBit.SEND_ILLEGAL_VECTOR);
    expect(rd(apics[1], R.ESR)).toBe(EsrBit.RECEIVED_ILLEGAL_VECTOR);
    expect(apics[1].irrBit(0x0c)).toBe(false);
  });
});

describe('lowest-priority delivery (deterministic arbitration)', () => {
  it('goes to the lowest PPR; ties to the lowest APIC ID', () => {
    const { apics } = setup([4, 2, 7, 5]);
    apics.forEach((a) => wr(a, R.LDR, 0x01000000));
    wr(apics[0], R.TPR, 0x20);
    wr(apics[1], R.TPR, 0x30);
    wr(apics[2], R.TPR, 0x10);
    wr(apics[3], R.TPR, 0x10);
    ipi(apics[0], 0x01, 0x40 | LOGICAL | mode(DeliveryMode.LOWEST_PRIORITY));
    expect(receivers(apics, 0x40)).toEqual([5]);
    for (let i = 0; i < 5; i++) ipi(apics[1], 0x01, 0x50 | LOGICAL | mode(DeliveryMode.LOWEST_PRIORITY));
    expect(receivers(apics, 0x50)).toEqual([5]); // same answer every time
    wr(apics[3], R.TPR, 0x11);
    ipi(apics[0], 0x01, 0x60 | LOGICAL | mode(DeliveryMode.LOWEST_PRIORITY));
    expect(receivers(apics, 0x60)).toEqual([7]);
  });

  it('a focus processor (vector already pending or in service, focus checking on) wins', () => {
    const { apics } = setup();
    apics.forEach((a) => wr(a, R.LDR, 0x01000000));
    wr(apics[3], R.TPR, 0xe0);
    wr(apics[3], R.SVR, 0x1ff); // focus checking enabled (bit 9 = 0)
    ipi(apics[0], 3, 0x45); // physical to APIC 3: pending there
    ipi(apics[0], 0x01, 0x45 | LOGICAL | mode(DeliveryMode.LOWEST_PRIORITY));
    expect(receivers(apics, 0x45)).toEqual([3]);
    wr(apics[3], R.SVR, 0x3ff); // focus checking disabled
    ipi(apics[0], 0x01, 0x45 | LOGICAL | mode(DeliveryMode.LOWEST_PRIORITY));
    expect(receivers(apics, 0x45)).toEqual([0, 3]);
  });

  it('software-disabled APICs are skipped when others can take it', () => {
    const { apics } = setup();
    wr(apics[0], R.SVR, 0xff);
    ipi(apics[1], 0xff, 0x46 | mode(DeliveryMode.LOWEST_PRIORITY));
    expect(receivers(apics, 0x46)).toEqual([1]);
  });

  it('chooseLowestPriority is a pure function of the candidates', () => {
    const c = (apicId: number, ppr: number, focus = false) => ({ apicId, ppr, isFocusFor: () => focus });
    expect(chooseLowestPriority([c(3, 0x20), c(1, 0x20), c(2, 0x30)], 0x40)?.apicId).toBe(1);
    expect(chooseLowestPriority([c(3, 0x20), c(1, 0x20), c(2, 0xf0, true)], 0x40)?.apicId).toBe(2);
    expect(chooseLowestPriority([], 0x40)).toBeUndefined();
  });
});

describe('NMI, INIT, SIPI, SMI IPIs', () => {
  it('NMI to one APIC, and self-NMI through the self shorthand (no bus round trip)', () => {
    const { apics, cpus, fabric } = setup();
    const routed: number[][] = [];
    fabric.onDelivery = (d) => routed.push([...d.targets]);
    ipi(apics[0], 2, mode(DeliveryMode.NMI) | LEVEL_ASSERT);
    expect(cpus.map((c) => c.events)).toEqual([[], [], ['nmi'], []]);
    ipi(apics[1], 0, mode(DeliveryMode.NMI) | SH_SELF | LEVEL_ASSERT);
    expect(cpus[1].events).toEqual(['nmi']);
    expect(routed).toEqual([[2]]);
  });

  it('INIT then SIPI with the vector to all excluding self (the AP start-up sequence)', () => {
    const { apics, cpus } = setup();
    ipi(apics[0], 0, mode(DeliveryMode.INIT) | LEVEL_ASSERT | SH_OTHERS);
    ipi(apics[0], 0, mode(DeliveryMode.INIT) | LEVEL_TRIGGER | SH_ALL); // INIT level de-assert: ignored
    ipi(apics[0], 0, mode(DeliveryMode.STARTUP) | 0x9a | LEVEL_ASSERT | SH_OTHERS);
    expect(cpus.map((c) => c.events)).toEqual([[], ['init', 'sipi:9a'], ['init', 'sipi:9a'], ['init', 'sipi:9a']]);
  });

  it('INIT/SIPI to one APIC by physical ID; SMI', () => {
    const { apics, cpus } = setup();
    ipi(apics[0], 3, mode(DeliveryMode.INIT) | LEVEL_ASSERT);
    ipi(apics[0], 3, mode(DeliveryMode.STARTUP) | 0x08);
    ipi(apics[0], 1, mode(DeliveryMode.SMI));
    expect(cpus[3].events).toEqual(['init', 'sipi:8']);
    expect(cpus[1].events).toEqual(['smi']);
  });

  it('NMI/INIT/SIPI are delivered to software-disabled APICs; reserved delivery modes are not sent', () => {
    const { apics, cpus, fabric } = setup();
    wr(apics[2], R.SVR, 0xff);
    ipi(apics[0], 2, mode(DeliveryMode.INIT) | LEVEL_ASSERT);
    ipi(apics[0], 2, mode(DeliveryMode.STARTUP) | 0x10);
    ipi(apics[0], 2, mode(DeliveryMode.NMI));
    expect(cpus[2].events).toEqual(['init', 'sipi:10', 'nmi']);
    let count = 0;
    fabric.onDelivery = () => count++;
    ipi(apics[0], 2, mode(3) | 0x40);
    ipi(apics[0], 2, mode(7) | 0x40);
    expect(count).toBe(0);
  });

  it('ExtINT messages (from an I/O APIC) latch ExtINT and signal onExtInt', () => {
    const { cpus, fabric } = setup();
    fabric.sendIpi({ mode: DeliveryMode.EXTINT, vector: 0, destination: 1, destMode: 'physical', shorthand: 0, level: true, trigger: 'edge', sourceApicId: -1, x2apic: false });
    expect(cpus[1].events).toEqual(['extint']);
  });

  it('the fabric traces routed messages and EOI broadcasts', () => {
    const trace = new TraceBus();
    const sink = new MemorySink();
    trace.attach(sink);
    const fabric = new ApicFabric({ trace });
    fabric.sendIpi({ mode: DeliveryMode.NMI, vector: 0, destination: 0xff, destMode: 'physical', shorthand: 0, level: true, trigger: 'edge', sourceApicId: -1, x2apic: false });
    fabric.eoiBroadcast(0x61, 2);
    expect(sink.records.map((r) => [r.kind, r.data])).toEqual([
      ['apic.ipi', { source: -1, mode: 4, vector: 0, destination: 0xff, destMode: 'physical', shorthand: 0, targets: [] }],
      ['apic.eoi', { source: 2, vector: 0x61 }],
    ]);
  });

  it('EOI broadcasts reach fabric listeners', () => {
    const fabric = new ApicFabric();
    const seen: number[] = [];
    fabric.onEoi((v) => seen.push(v));
    fabric.eoiBroadcast(0x61, 0);
    expect(seen).toEqual([0x61]);
  });
});
