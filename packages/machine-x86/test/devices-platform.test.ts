import { Tokens, composeSystem } from '@latelaunch/kernel';
import { describe, expect, it } from 'vitest';
import {
  AcpiPmTimer,
  Bus,
  CmosReg,
  CmosRtc,
  FwCfg,
  FwCfgKey,
  IoApic,
  IoApicDeliveryMode,
  Pic8259Pair,
  Pit8254,
  PIT_HZ,
  PM_TIMER_HZ,
  SparseMemory,
  VirtualClock,
  cmosRtcPlugin,
  fwCfgPlugin,
  ioApicPlugin,
  isBusDevice,
  isClockedDevice,
  nsForTicks,
  pic8259Plugin,
  pit8254Plugin,
  pmTimerPlugin,
  ticksAt,
  type IoApicMessage,
} from '../src/index.js';

const newBus = (): Bus => new Bus(new SparseMemory({ ranges: [{ base: 0, size: 0x100000 }] }));

// ------------------------------------------------------------------------------------ I/O APIC

describe('I/O APIC', () => {
  const setup = () => {
    const bus = newBus();
    const sent: IoApicMessage[] = [];
    const io = new IoApic({ id: 4, backend: { deliver: (m) => sent.push(m) } });
    io.attach(bus);
    const sel = (r: number) => bus.write32(0xfec00000, r);
    const rd = (r: number) => {
      sel(r);
      return bus.read32(0xfec00010);
    };
    const wr = (r: number, v: number) => {
      sel(r);
      bus.write32(0xfec00010, v);
    };
    return { bus, io, sent, rd, wr };
  };

  it('ID, version (max redirection entry 23), arbitration and IOREGSEL readback', () => {
    const { bus, rd, wr, io } = setup();
    expect(rd(0) >>> 0).toBe(0x04000000);
    expect(rd(1)).toBe(0x00170020);
    expect(rd(2) >>> 0).toBe(0x04000000);
    wr(0, 0x0a000000);
    expect(io.ioApicId).toBe(10);
    expect(bus.read32(0xfec00000)).toBe(0);
    bus.write8(0xfec00000, 0x12);
    expect(bus.read8(0xfec00000)).toBe(0x12);
    expect(rd(0x50)).toBe(0); // beyond the table
  });

  it('redirection entries reset masked; RO bits ignored; 64-bit layout', () => {
    const { rd, wr, io } = setup();
    for (let pin = 0; pin < 24; pin++) {
      expect(rd(0x10 + 2 * pin)).toBe(0x10000);
      expect(rd(0x11 + 2 * pin)).toBe(0);
    }
    wr(0x10 + 2 * 5, 0x0001_f9ff); // everything incl. delivery status (12) and remote IRR (14)
    wr(0x11 + 2 * 5, 0xffffffff);
    expect(rd(0x10 + 2 * 5)).toBe(0x0001_a9ff);
    expect(rd(0x11 + 2 * 5) >>> 0).toBe(0xff000000);
    expect(io.entry(5)).toEqual({
      vector: 0xff,
      deliveryMode: 1,
      destMode: 'logical',
      deliveryStatus: false,
      activeLow: true,
      remoteIrr: false,
      trigger: 'level',
      masked: true,
      destination: 0xff,
    });
  });

  it('edge: one message per rising edge, masked edges are dropped', () => {
    const { io, sent, wr } = setup();
    wr(0x10 + 2 * 2, 0x30); // vector 0x30, fixed, physical, edge, unmasked
    wr(0x11 + 2 * 2, 0x01000000); // destination APIC 1
    io.setIrq(2, true);
    io.setIrq(2, true); // no new edge
    io.setIrq(2, false);
    io.pulseIrq(2);
    expect(sent).toEqual([
      { destination: 1, destMode: 'physical', deliveryMode: 0, vector: 0x30, trigger: 'edge', pin: 2, ioApicId: 4 },
      { destination: 1, destMode: 'physical', deliveryMode: 0, vector: 0x30, trigger: 'edge', pin: 2, ioApicId: 4 },
    ]);
    wr(0x10 + 2 * 2, 0x10030); // masked
    io.pulseIrq(2);
    wr(0x10 + 2 * 2, 0x30); // unmask: the edge is not held pending
    expect(sent).toHaveLength(2);
  });

  it('level: remote IRR set on delivery, cleared by EOI broadcast, re-sent while asserted', () => {
    const { bus, io, sent, rd, wr } = setup();
    wr(0x10 + 2 * 9, 0x8000 | 0x41); // level, vector 0x41
    io.setIrq(9, true);
    expect(sent).toHaveLength(1);
    expect(sent[0].trigger).toBe('level');
    expect(rd(0x10 + 2 * 9) & 0x4000).toBe(0x4000);
    io.setIrq(9, true); // still remote IRR: nothing
    expect(sent).toHaveLength(1);
    io.eoi(0x42); // other vector: nothing
    expect(io.entry(9).remoteIrr).toBe(true);
    io.eoi(0x41); // still asserted: re-sent, remote IRR set again
    expect(sent).toHaveLength(2);
    expect(io.entry(9).remoteIrr).toBe(true);
    io.setIrq(9, false);
    bus.write32(0xfec00040, 0x41); // EOI register (version 0x20)
    expect(io.entry(9).remoteIrr).toBe(false);
    expect(sent).toHaveLength(2);
    // Masked level: held by the line; unmasking sends.
    wr(0x10 + 2 * 9, 0x18041);
    io.setIrq(9, true);
    expect(sent).toHaveLength(2);
    wr(0x10 + 2 * 9, 0x8041);
    expect(sent).toHaveLength(3);
  });

  it('logical / lowest-priority messages carry the entry fields; reserved modes send nothing', () => {
    const { io, sent, wr } = setup();
    wr(0x10 + 2 * 4, 0x2000 | 0x800 | 0x100 | 0x51); // active low, logical, lowest priority
    wr(0x11 + 2 * 4, 0x0f000000);
    io.pulseIrq(4);
    expect(sent).toEqual([{ destination: 0x0f, destMode: 'logical', deliveryMode: IoApicDeliveryMode.LowestPriority, vector: 0x51, trigger: 'edge', pin: 4, ioApicId: 4 }]);
    expect(io.entry(4).activeLow).toBe(true);
    wr(0x10 + 2 * 6, 0x300 | 0x52); // delivery mode 3: reserved
    io.pulseIrq(6);
    expect(sent).toHaveLength(1);
    io.setIrq(99, true); // no such pin: ignored
    expect(io.delivered).toBe(1);
  });

  it('NMI / ExtINT entries are sent as edges; snapshots restore', () => {
    const { io, sent, wr } = setup();
    wr(0x10, (IoApicDeliveryMode.ExtInt << 8) | 0x8000);
    io.setIrq(0, true);
    expect(sent[0]).toMatchObject({ deliveryMode: 7, trigger: 'edge' });
    expect(io.entry(0).remoteIrr).toBe(false);
    const s = io.saveState();
    wr(0x10, 0x10000);
    io.loadState(s);
    expect(io.entry(0).masked).toBe(false);
    expect(() => io.loadState({})).toThrow();
  });
});

// ------------------------------------------------------------------------------------ 8259

describe('8259 PIC pair', () => {
  const init = (bus: Bus, masterBase = 0x20, slaveBase = 0x28, autoEoi = false) => {
    bus.out8(0x20, 0x11); // ICW1: edge, cascade, ICW4
    bus.out8(0x21, masterBase);
    bus.out8(0x21, 0x04); // slave on IRQ2
    bus.out8(0x21, autoEoi ? 0x03 : 0x01);
    bus.out8(0xa0, 0x11);
    bus.out8(0xa1, slaveBase);
    bus.out8(0xa1, 0x02);
    bus.out8(0xa1, autoEoi ? 0x03 : 0x01);
  };
  const setup = (opts = {}) => {
    const bus = newBus();
    const pic = new Pic8259Pair(opts);
    pic.attach(bus);
    const intr: boolean[] = [];
    pic.onIntr((l) => intr.push(l));
    return { bus, pic, intr };
  };

  it('BIOS-like initial state; ICW1–ICW4 sequence sets bases and clears masks', () => {
    const { bus, pic } = setup();
    expect(pic.chip(0)).toMatchObject({ vectorBase: 0x08, imr: 0xfb, initialized: true });
    expect(pic.chip(1)).toMatchObject({ vectorBase: 0x70, imr: 0xff });
    expect(bus.in8(0x21)).toBe(0xfb);
    init(bus);
    expect(pic.chip(0)).toMatchObject({ vectorBase: 0x20, imr: 0, initialized: true, autoEoi: false });
    expect(pic.chip(1)).toMatchObject({ vectorBase: 0x28, imr: 0 });
    bus.out8(0x21, 0xa5);
    expect(bus.in8(0x21)).toBe(0xa5);
    const reset = new Pic8259Pair({ initialState: 'reset' });
    expect(reset.chip(0)).toMatchObject({ vectorBase: 0, imr: 0 });
  });

  it('edge IRQ → INTR → INTA vector → ISR; non-specific EOI', () => {
    const { bus, pic, intr } = setup();
    init(bus);
    pic.setIrq(1, true);
    expect(pic.intr).toBe(true);
    expect(intr).toEqual([true]);
    expect(bus.in8(0x20)).toBe(0x02); // IRR (default read register)
    expect(pic.pendingVector()).toBe(0x21);
    expect(pic.acknowledge()).toBe(0x21);
    expect(pic.intr).toBe(false);
    bus.out8(0x20, 0x0b); // OCW3: read ISR
    expect(bus.in8(0x20)).toBe(0x02);
    pic.setIrq(1, false);
    pic.setIrq(1, true); // new edge while in service: requested, not signalled (same priority)
    expect(pic.intr).toBe(false);
    bus.out8(0x20, 0x20); // EOI
    expect(bus.in8(0x20)).toBe(0x00); // ISR empty
    expect(pic.intr).toBe(true);
    bus.out8(0x20, 0x0a); // OCW3: read IRR
    expect(bus.in8(0x20)).toBe(0x02);
  });

  it('priority: lower IRQ wins and preempts; specific EOI; rotation', () => {
    const { bus, pic } = setup();
    init(bus);
    pic.setIrq(5, true);
    pic.setIrq(3, true);
    expect(pic.acknowledge()).toBe(0x23);
    expect(pic.intr).toBe(false); // IRQ5 is lower priority than in-service IRQ3
    pic.setIrq(1, true);
    expect(pic.intr).toBe(true); // IRQ1 preempts
    expect(pic.acknowledge()).toBe(0x21);
    bus.out8(0x20, 0x63); // specific EOI IRQ3
    expect(pic.chip(0).isr).toBe(0x02);
    bus.out8(0x20, 0x20); // EOI: IRQ1
    expect(pic.acknowledge()).toBe(0x25);
    bus.out8(0x20, 0xa0); // rotate on non-specific EOI: IRQ5 becomes lowest
    expect(pic.chip(0).lowestPriorityIrq).toBe(5);
    pic.setIrq(5, false);
    pic.setIrq(4, false);
    pic.setIrq(4, true);
    pic.setIrq(6, true);
    expect(pic.acknowledge()).toBe(0x26); // 6 now outranks 4
    bus.out8(0x20, 0xc7); // set priority: IRQ7 lowest → IRQ0 highest
    expect(pic.chip(0).lowestPriorityIrq).toBe(7);
  });

  it('masks: OCW1 0xFF on both chips silences everything (legacy disable)', () => {
    const { bus, pic } = setup();
    init(bus);
    bus.out8(0xa1, 0xff);
    bus.out8(0x21, 0xff);
    expect(pic.fullyMasked).toBe(true);
    for (let irq = 0; irq < 16; irq++) pic.setIrq(irq, true);
    expect(pic.intr).toBe(false);
    expect(pic.pendingVector()).toBe(-1);
    expect(pic.acknowledge()).toBe(0x27); // spurious IRQ7
    bus.out8(0x21, 0xfe); // unmask IRQ0: its latched request shows
    expect(pic.acknowledge()).toBe(0x20);
  });

  it('cascade: slave IRQ via master IRQ2; EOI to both', () => {
    const { bus, pic } = setup();
    init(bus);
    pic.setIrq(12, true);
    expect(pic.intr).toBe(true);
    expect(pic.pendingVector()).toBe(0x2c);
    expect(pic.acknowledge()).toBe(0x2c);
    expect(pic.chip(0).isr).toBe(0x04);
    expect(pic.chip(1).isr).toBe(0x10);
    bus.out8(0xa0, 0x20);
    bus.out8(0x20, 0x20);
    expect(pic.chip(0).isr | pic.chip(1).isr).toBe(0);
    // Slave masked → nothing.
    pic.setIrq(12, false);
    bus.out8(0xa1, 0x10);
    pic.setIrq(12, true);
    expect(pic.intr).toBe(false);
  });

  it('auto-EOI, poll mode, ELCR level triggering, snapshots', () => {
    const { bus, pic } = setup();
    init(bus, 0x20, 0x28, true);
    pic.setIrq(4, true);
    expect(pic.acknowledge()).toBe(0x24);
    expect(pic.chip(0).isr).toBe(0);
    // Poll.
    pic.setIrq(6, true);
    bus.out8(0x20, 0x0c);
    expect(bus.in8(0x20)).toBe(0x86);
    bus.out8(0x20, 0x0c);
    expect(bus.in8(0x20)).toBe(0);
    // ELCR: IRQ 10 level.
    bus.out8(0x4d1, 0x04);
    expect(bus.in8(0x4d1)).toBe(0x04);
    bus.out8(0x4d0, 0xff);
    expect(bus.in8(0x4d0)).toBe(0xf8);
    pic.setIrq(10, true);
    expect(pic.acknowledge()).toBe(0x2a);
    expect(pic.chip(1).irr & 0x04).toBe(0x04); // level: IRR follows the line, not cleared by INTA
    pic.setIrq(10, false);
    expect(pic.chip(1).irr & 0x04).toBe(0);
    bus.out8(0x4d0, 0x20); // IRQ5 level on the master
    pic.setIrq(5, true);
    expect(pic.acknowledge()).toBe(0x25);
    expect(pic.intr).toBe(true); // still asserted, auto-EOI: requested again
    pic.setIrq(5, false);
    expect(pic.intr).toBe(false);
    const s = pic.saveState();
    pic.setIrq(3, true);
    pic.loadState(s);
    expect(pic.intr).toBe(false);
    expect(pic.chip(0).irr & 0x08).toBe(0);
  });
});

// ------------------------------------------------------------------------------------ PM timer

describe('ACPI PM timer', () => {
  it('counts at 3.579545 MHz in virtual time (exact integer arithmetic)', () => {
    const clock = new VirtualClock();
    const bus = newBus();
    const t = new AcpiPmTimer({ clock });
    t.attach(bus);
    expect(bus.in32(0x608)).toBe(0);
    clock.advance(1_000_000_000);
    expect(bus.in32(0x608)).toBe(PM_TIMER_HZ);
    clock.advance(279_000); // 279 µs → floor(279 × 3.579545) = 998
    expect(t.value()).toBe(PM_TIMER_HZ + 998);
    expect(ticksAt(10 ** 15, PM_TIMER_HZ)).toBe(3_579_545 * 10 ** 6);
    expect(ticksAt(nsForTicks(12345, PM_TIMER_HZ), PM_TIMER_HZ)).toBe(12345);
    expect(ticksAt(nsForTicks(12345, PM_TIMER_HZ) - 1, PM_TIMER_HZ)).toBe(12344);
  });

  it('24-bit wraps at 2^24, 32-bit at 2^32; byte lanes', () => {
    const clock = new VirtualClock();
    const t24 = new AcpiPmTimer({ clock });
    const t32 = new AcpiPmTimer({ clock, bits: 32, port: 0xb008 });
    const bus = newBus();
    t24.attach(bus);
    t32.attach(bus);
    const wrap24 = nsForTicks(2 ** 24, PM_TIMER_HZ);
    clock.advanceTo(wrap24 - 1);
    expect(bus.in32(0x608)).toBe(0xffffff);
    expect(bus.in8(0x60b)).toBe(0); // top byte of a 24-bit timer
    clock.advanceTo(wrap24);
    expect(bus.in32(0x608)).toBe(0);
    expect(bus.in32(0xb008)).toBe(2 ** 24);
    clock.advanceTo(nsForTicks(2 ** 32 + 0x123456, PM_TIMER_HZ));
    expect(bus.in32(0xb008)).toBe(0x123456);
    const v = t32.value();
    expect(bus.in8(0xb008)).toBe(v & 0xff);
    expect(bus.in8(0xb009)).toBe((v >>> 8) & 0xff);
    expect(bus.in16(0xb00a)).toBe(v >>> 16);
    bus.out32(0xb008, 0); // writes ignored
    expect(t32.value()).toBe(v);
    expect(isClockedDevice(t32)).toBe(true);
  });
});

// ------------------------------------------------------------------------------------ PIT

describe('8254 PIT and port 0x61', () => {
  const setup = () => {
    const clock = new VirtualClock();
    const bus = newBus();
    const pit = new Pit8254({ clock });
    pit.attach(bus);
    const out: [number, boolean][] = [];
    pit.onOutput((l) => out.push([clock.now(), l]));
    return { clock, bus, pit, out };
  };
  const tick = (n: number) => nsForTicks(n, PIT_HZ);

  it('mode 2 rate generator: counter, latch, IRQ0 pulses each period', () => {
    const { clock, bus, pit, out } = setup();
    bus.out8(0x43, 0x34); // ch0, lobyte/hibyte, mode 2
    bus.out8(0x40, 1000 & 0xff);
    bus.out8(0x40, 1000 >> 8);
    expect(pit.output(0)).toBe(true);
    clock.advanceTo(tick(250));
    bus.out8(0x43, 0x00); // latch ch0
    clock.advanceTo(tick(300));
    const lo = bus.in8(0x40);
    const hi = bus.in8(0x40);
    expect(lo | (hi << 8)).toBe(750);
    expect(pit.counter(0)).toBe(700);
    clock.advanceTo(tick(3000) + 10);
    // Three periods: low-high pulses at 1000, 2000, 3000 ticks.
    const rises = out.filter(([, l]) => l).map(([t]) => t);
    expect(rises).toEqual([tick(1000), tick(2000), tick(3000)]);
    expect(out.filter(([, l]) => !l)).toHaveLength(3);
  });

  it('mode 0 interrupt on terminal count; mode 3 square wave; 18.2 Hz default count', () => {
    const { clock, bus, pit, out } = setup();
    bus.out8(0x43, 0x30); // ch0 mode 0
    bus.out8(0x40, 100);
    bus.out8(0x40, 0);
    expect(pit.output(0)).toBe(false);
    clock.advanceTo(tick(99));
    expect(pit.output(0)).toBe(false);
    clock.advanceTo(tick(100));
    expect(pit.output(0)).toBe(true);
    expect(out).toEqual([
      [0, false], // the mode 0 control word drives OUT low
      [tick(100), true],
    ]);
    clock.advanceTo(tick(500));
    expect(out).toHaveLength(2); // stays high
    // Mode 3, count 0 = 65536 → 18.2 Hz.
    out.length = 0;
    bus.out8(0x43, 0x36);
    bus.out8(0x40, 0);
    bus.out8(0x40, 0);
    const start = pit.counter(0);
    expect(start).toBe(0); // 65536 & 0xffff
    const t0 = clock.now();
    clock.advance(1_000_000_000);
    const rises = out.filter(([, l]) => l).length;
    expect(rises).toBe(18); // 1193182 / 65536 = 18.2
    expect(out[0][1]).toBe(false);
    expect(out[0][0]).toBeGreaterThan(t0);
  });

  it('mode 3 with an odd count: high ⌈n/2⌉, low ⌊n/2⌋; mode 2 gate low forces the output high', () => {
    const { clock, bus, pit } = setup();
    bus.out8(0x43, 0xb6); // ch2 mode 3
    bus.out8(0x42, 5);
    bus.out8(0x42, 0);
    bus.out8(0x61, 0x01); // gate rising edge restarts at the current tick
    const t0 = Math.ceil((clock.now() * PIT_HZ) / 1e9);
    const levels: boolean[] = [];
    for (let k = 0; k < 10; k++) {
      clock.advanceTo(nsForTicks(t0 + k, PIT_HZ));
      levels.push(pit.output(2));
    }
    expect(levels).toEqual([true, true, true, false, false, true, true, true, false, false]);
    bus.out8(0x43, 0xb4); // ch2 mode 2, count 4
    bus.out8(0x42, 4);
    bus.out8(0x42, 0);
    const t1 = Math.floor((clock.now() * PIT_HZ) / 1e9);
    clock.advanceTo(nsForTicks(t1 + 3, PIT_HZ));
    expect(pit.output(2)).toBe(false); // counter at 1: the one-clock low
    bus.out8(0x61, 0x00);
    expect(pit.output(2)).toBe(true);
    expect(pit.counter(2)).toBe(4);
  });

  it('read-back command latches status and count', () => {
    const { bus } = setup();
    bus.out8(0x43, 0xb4); // ch2, lo/hi, mode 2
    bus.out8(0x42, 0x34);
    bus.out8(0x42, 0x12);
    bus.out8(0x43, 0xc8); // read-back: count + status of ch2
    expect(bus.in8(0x42)).toBe(0x80 | 0x34); // output high, not null, rw 3, mode 2
    // Gate of channel 2 is low (port 0x61 bit 0 = 0): the count has not moved.
    expect(bus.in8(0x42)).toBe(0x34);
    expect(bus.in8(0x42)).toBe(0x12);
  });

  it('port 0x61: channel 2 gate and output readback (TSC calibration loop)', () => {
    const { clock, bus, pit } = setup();
    expect(bus.in8(0x61) & 0x01).toBe(0);
    // Linux pit_calibrate_tsc: gate high, speaker off, mode 0, count 0xFFFF... here 11932 (10 ms).
    bus.out8(0x61, (bus.in8(0x61) & ~0x02) | 0x01);
    bus.out8(0x43, 0xb0);
    bus.out8(0x42, 11932 & 0xff);
    bus.out8(0x42, 11932 >> 8);
    expect(bus.in8(0x61) & 0x20).toBe(0);
    let polls = 0;
    while ((bus.in8(0x61) & 0x20) === 0) {
      clock.advance(1000);
      polls++;
    }
    expect(polls).toBe(Math.ceil(tick(11932) / 1000));
    expect(bus.in8(0x61) & 0x03).toBe(0x01);
    // Gate low suspends mode 0 counting.
    bus.out8(0x43, 0xb0);
    bus.out8(0x42, 100);
    bus.out8(0x42, 0);
    clock.advance(tick(40));
    bus.out8(0x61, 0x00);
    const frozen = pit.counter(2);
    clock.advance(tick(1000));
    expect(pit.counter(2)).toBe(frozen);
    expect(pit.output(2)).toBe(false);
    bus.out8(0x61, 0x01);
    clock.advance(tick(100));
    expect(pit.output(2)).toBe(true);
    // Refresh toggle follows virtual time.
    const a = bus.in8(0x61) & 0x10;
    clock.advance(15_085);
    expect(bus.in8(0x61) & 0x10).toBe(a ^ 0x10);
  });

  it('snapshots restore channel state together with the clock', () => {
    const { clock, bus, pit, out } = setup();
    bus.out8(0x43, 0x34);
    bus.out8(0x40, 100);
    bus.out8(0x40, 0);
    const cs = clock.saveState();
    const ps = pit.saveState();
    const n0 = out.length;
    clock.advanceTo(tick(1000) + 1);
    const n = out.length - n0;
    clock.loadState(cs);
    pit.loadState(ps);
    clock.advanceTo(tick(1000) + 1);
    expect(out.length - n0 - n).toBe(n);
    expect(n).toBe(20); // 10 periods × (low, high)
  });
});

// ------------------------------------------------------------------------------------ CMOS

describe('CMOS / RTC', () => {
  it('index register with NMI-disable bit; memory-size bytes as QEMU/SeaBIOS', () => {
    const bus = newBus();
    const cmos = new CmosRtc({ ramBelow4G: 0xc0000000, ramAbove4G: 0x40000000, cpus: 4 });
    cmos.attach(bus);
    const nmi: boolean[] = [];
    cmos.onNmiMask((d) => nmi.push(d));
    const rd = (i: number) => {
      bus.out8(0x70, i);
      return bus.in8(0x71);
    };
    expect(rd(CmosReg.BaseMemLo) | (rd(CmosReg.BaseMemHi) << 8)).toBe(640);
    expect(rd(0x17) | (rd(0x18) << 8)).toBe(65535);
    expect(rd(0x30) | (rd(0x31) << 8)).toBe(65535);
    expect(rd(0x34) | (rd(0x35) << 8)).toBe((0xc0000000 - 0x1000000) / 0x10000);
    expect(rd(0x5b) | (rd(0x5c) << 8) | (rd(0x5d) << 16)).toBe(0x4000);
    expect(rd(0x5f)).toBe(3);
    bus.out8(0x70, 0x80 | 0x0f);
    expect(cmos.nmiDisabled).toBe(true);
    expect(cmos.selectedIndex).toBe(0x0f);
    bus.out8(0x70, 0x0f);
    expect(cmos.nmiDisabled).toBe(false);
    expect(nmi).toEqual([true, false]);
    expect(bus.in8(0x70)).toBe(0xff);
    // A 64 MiB machine: extended memory 63 MiB in KiB.
    const small = new CmosRtc({ ramBelow4G: 64 << 20 });
    expect(small.read(0x17) | (small.read(0x18) << 8)).toBe(63 * 1024);
    expect(small.read(0x34) | (small.read(0x35) << 8)).toBe(48 * 16);
    // General-purpose bytes are writable.
    bus.out8(0x70, 0x40);
    bus.out8(0x71, 0x5a);
    expect(rd(0x40)).toBe(0x5a);
  });

  it('time registers from the virtual epoch: BCD / binary, 12-hour, status registers', () => {
    const clock = new VirtualClock();
    const epoch = Date.UTC(2025, 11, 31, 23, 59, 58) / 1000; // Wednesday
    const cmos = new CmosRtc({ clock, epochSeconds: epoch });
    expect(cmos.read(CmosReg.A)).toBe(0x26);
    expect(cmos.read(CmosReg.B)).toBe(0x02);
    expect(cmos.read(CmosReg.D)).toBe(0x80);
    expect(cmos.read(CmosReg.C)).toBe(0);
    expect([0, 2, 4, 6, 7, 8, 9, 0x32].map((i) => cmos.read(i))).toEqual([0x58, 0x59, 0x23, 0x04, 0x31, 0x12, 0x25, 0x20]);
    clock.advance(2_000_000_000);
    expect([0, 2, 4, 7, 8, 9].map((i) => cmos.read(i))).toEqual([0x00, 0x00, 0x00, 0x01, 0x01, 0x26]);
    // UIP during the last 244 µs of a second.
    clock.advance(999_800_000);
    expect(cmos.read(CmosReg.A) & 0x80).toBe(0x80);
    clock.advance(200_000);
    expect(cmos.read(CmosReg.A) & 0x80).toBe(0);
    // Binary, 12-hour mode.
    cmos.write(CmosReg.B, 0x04);
    clock.advance(13 * 3600 * 1e9);
    expect(cmos.read(CmosReg.Hours)).toBe(0x80 | 1); // 13:00 → 1 PM
    expect(cmos.read(CmosReg.Year)).toBe(26);
  });

  it('software sets the time (SET bit freezes the clock)', () => {
    const clock = new VirtualClock();
    const cmos = new CmosRtc({ clock });
    cmos.write(CmosReg.B, 0x82); // SET, 24h, BCD
    cmos.write(CmosReg.Hours, 0x10);
    cmos.write(CmosReg.Minutes, 0x30);
    cmos.write(CmosReg.Seconds, 0x00);
    clock.advance(5e9);
    expect(cmos.read(CmosReg.Seconds)).toBe(0);
    cmos.write(CmosReg.B, 0x02);
    clock.advance(5e9);
    expect(cmos.read(CmosReg.Seconds)).toBe(0x05);
    expect(cmos.read(CmosReg.Hours)).toBe(0x10);
    const s = cmos.saveState();
    clock.advance(60e9);
    cmos.loadState(s);
    expect(new Date(cmos.currentSeconds() * 1000).toISOString()).toBe('2024-01-01T10:31:05.000Z');
  });
});

// ------------------------------------------------------------------------------------ fw_cfg

describe('QEMU fw_cfg', () => {
  const setup = () => {
    const bus = newBus();
    const fw = new FwCfg({ ramSize: 1 << 30, cpus: 4, maxCpus: 8, e820: [{ base: 0, length: 0x9fc00, type: 1 }], numa: { nodeOfApicId: [0, 0, 1, 1, 0, 0, 1, 1], nodeMemory: [512 << 20, 512 << 20] } });
    fw.attach(bus);
    const read = (key: number, n: number) => {
      bus.out16(0x510, key);
      return Array.from({ length: n }, () => bus.in8(0x511));
    };
    return { bus, fw, read };
  };

  it('signature, ID, RAM size, CPU counts', () => {
    const { read } = setup();
    expect(String.fromCharCode(...read(FwCfgKey.Signature, 4))).toBe('QEMU');
    expect(read(FwCfgKey.Id, 4)).toEqual([1, 0, 0, 0]);
    expect(read(FwCfgKey.RamSize, 8)).toEqual([0, 0, 0, 0x40, 0, 0, 0, 0]);
    expect(read(FwCfgKey.NbCpus, 2)).toEqual([4, 0]);
    expect(read(FwCfgKey.MaxCpus, 2)).toEqual([8, 0]);
    const numa = read(FwCfgKey.Numa, 8 * 11);
    expect(numa[0]).toBe(2);
    expect(numa[8 * 3]).toBe(1); // APIC ID 2 on node 1
    expect(numa[8 * 9 + 3]).toBe(0x20); // node 0 memory 512 MiB
  });

  it('unknown selectors and reads past the end read 0; a selector write resets the offset', () => {
    const { bus, read } = setup();
    expect(read(0x1234, 4)).toEqual([0, 0, 0, 0]);
    expect(read(FwCfgKey.Signature, 6)).toEqual([0x51, 0x45, 0x4d, 0x55, 0, 0]);
    bus.out16(0x510, 0);
    bus.in8(0x511);
    bus.in8(0x511);
    bus.out16(0x510, 0); // reset
    expect(bus.in8(0x511)).toBe(0x51);
    bus.out8(0x510, 0x00); // 8-bit selector write also resets
    expect(bus.in8(0x511)).toBe(0x51);
    bus.out8(0x511, 0x99); // data writes ignored
    expect(bus.in8(0x511)).toBe(0x45);
  });

  it('snapshots keep the selector and the offset', () => {
    const { bus, fw } = setup();
    bus.out16(0x510, 0);
    bus.in8(0x511);
    const st = fw.saveState();
    bus.in8(0x511);
    bus.in8(0x511);
    fw.loadState(st);
    expect(bus.in8(0x511)).toBe(0x45);
    expect(() => fw.loadState(null)).toThrow();
    // A 16-bit read at 0x510: selector lane 0, data lane = next byte.
    expect(bus.in16(0x510)).toBe(0x4d00);
  });

  it('file directory (big-endian) with etc/e820', () => {
    const { read, fw } = setup();
    const dir = read(FwCfgKey.FileDir, 4 + 64);
    expect(dir.slice(0, 4)).toEqual([0, 0, 0, 1]);
    expect(dir.slice(4, 8)).toEqual([0, 0, 0, 20]);
    expect(dir.slice(8, 10)).toEqual([0, 0x20]);
    expect(String.fromCharCode(...dir.slice(12, 20))).toBe('etc/e820');
    const e820 = read(0x20, 20);
    expect(e820.slice(8, 12)).toEqual([0x00, 0xfc, 0x09, 0]);
    expect(e820[16]).toBe(1);
    expect(fw.files.map((f) => f.name)).toEqual(['etc/e820']);
    expect(() => fw.addFile('etc/e820', new Uint8Array(1))).toThrow();
  });
});

// ------------------------------------------------------------------------------------ plugins

describe('platform device plugins', () => {
  it('contribute named devices to Tokens.Device', () => {
    const plugins = [ioApicPlugin, pic8259Plugin, pmTimerPlugin, pit8254Plugin, cmosRtcPlugin, fwCfgPlugin];
    const system = composeSystem({ plugins, config: { plugins: { 'machine-x86.pm-timer': { bits: 32 } } } });
    const devices = system.resolveAll(Tokens.Device);
    expect(devices.map((d) => d.name).sort()).toEqual(['cmos', 'fw-cfg', 'ioapic', 'pic', 'pit', 'pm-timer']);
    expect(devices.every(isBusDevice)).toBe(true);
    const pm = devices.find((d) => d.name === 'pm-timer') as AcpiPmTimer;
    expect(pm.bits).toBe(32);
  });
});
