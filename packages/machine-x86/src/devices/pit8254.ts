/**
 * The 8254 programmable interval timer (Intel 82C54 datasheet; register behaviour as QEMU's
 * `i8254`) and port 0x61 ("system control port B": channel 2 gate and output), which OSes use to
 * calibrate their TSC and local APIC timers.
 *
 * - Ports 0x40–0x42: channel data; 0x43: control word. Control word: bits 7:6 channel (3 =
 *   read-back), 5:4 access (0 = counter latch, 1 LSB, 2 MSB, 3 LSB then MSB), 3:1 mode (6/7 alias
 *   2/3), bit 0 BCD (stored and reported in the status byte; counting is always binary).
 *   Read-back (0b11 CNT̅ ST̅ C2 C1 C0 0): latches the count and/or the status byte (bit 7 output,
 *   bit 6 null count, bits 5:0 the control bits) of the selected channels; the status is read first.
 * - A count of 0 means 65536. Counting is in virtual time at 1.193182 MHz:
 *   `ticks = floor(ns × 1193182 / 10^9)`, exact integer arithmetic; writing the count (re)starts
 *   counting at the current tick (the one-clock load delay of the hardware is not modelled).
 * - Modes: 0 interrupt on terminal count (output low until the count reaches 0, then high; the
 *   counter keeps wrapping), 1 hardware-retriggerable one-shot (started by a gate rising edge),
 *   2 rate generator (output low for one clock when the counter reaches 1; period = count),
 *   3 square wave (high for ceil(count/2), low for floor(count/2) clocks), 4 software-triggered
 *   strobe, 5 hardware-triggered strobe.
 * - Power-on: no channel is programmed and every output is high; a control word sets the output
 *   as the datasheet says (low in mode 0, high otherwise) and stops the counter until a count is
 *   written. (QEMU starts channel 0 in mode 3; SeaBIOS reprograms it anyway.)
 * - Gates: channels 0 and 1 always high; channel 2 from port 0x61 bit 0. Gate low suspends counting
 *   in modes 0 and 4, and forces the output high and stops counting in modes 2 and 3; a rising edge
 *   reloads the count in modes 1, 2, 3 and 5.
 * - Channel 0's output drives IRQ0: with a clock connected, every output transition is scheduled as
 *   a clock event and reported to {@link Pit8254.onOutput} listeners (the machine wires them to the
 *   8259's IRQ0 and the I/O APIC's pin 2); in mode 2 the one-clock low pulse is reported as low
 *   then high at the end of each period (the rising edge is what the 8259 latches).
 * - Port 0x61: bit 0 channel 2 gate (R/W), bit 1 speaker data enable (R/W), bits 2–3 parity/channel
 *   check enables (R/W, no effect), bit 4 refresh toggle (flips every 15.085 µs of virtual time),
 *   bit 5 channel 2 output, bits 6–7 0 (no IOCHK/SERR).
 */
import { InvalidArgumentError } from '@latelaunch/kernel';
import { inject, injectable } from 'tsyringe';
import type { Bus } from '../bus/bus.js';
import type { VirtualClock } from '../clock/virtual-clock.js';
import { Attachment, bytePorts, optionsToken, type BusDevice } from './device.js';
import { nsForTicks, ticksAt, type ClockedDevice } from './pm-timer.js';

/** PIT input clock in Hz. */
export const PIT_HZ = 1_193_182;
/** Refresh-toggle half period of port 0x61 bit 4, in ns. */
export const PORT61_REFRESH_NS = 15_085;

export interface Pit8254Options {
  /** Base port. Default 0x40. */
  readonly base?: number;
  /** Port of system control port B, or null for none. Default 0x61. */
  readonly port61?: number | null;
  /** Device name. Default `pit`. */
  readonly name?: string;
  readonly clock?: VirtualClock;
}

/** Injection token for {@link Pit8254Options}. */
export const Pit8254OptionsToken = optionsToken<Pit8254Options>('Pit8254Options');

/** Access modes (control word bits 5:4) and the read/write state machine: 1 LSB, 2 MSB, 3 LSB then MSB (4 = its second byte). */
const RW_MSB = 2;
const RW_WORD0 = 3;
const RW_WORD1 = 4;

interface Channel {
  /** Reload value 1..65536, or 0 before the first count was written. */
  count: number;
  /** PIT tick at which the current count started. */
  loadTick: number;
  /** Ticks counted before the gate went low (modes 0/4), or -1 when not suspended. */
  pausedTicks: number;
  /** Modes 1/5: counting started by a gate edge. */
  triggered: boolean;
  mode: number;
  bcd: boolean;
  rwMode: number;
  readState: number;
  writeState: number;
  writeLatch: number;
  countLatched: number;
  latchedCount: number;
  statusLatched: boolean;
  status: number;
  gate: boolean;
  nullCount: boolean;
  /** A control word has been written since power-on (before that the output is high). */
  programmed: boolean;
}

const freshChannel = (gate: boolean): Channel => ({
  count: 0,
  loadTick: 0,
  pausedTicks: -1,
  triggered: false,
  mode: 0,
  bcd: false,
  rwMode: RW_WORD0,
  readState: RW_WORD0,
  writeState: RW_WORD0,
  writeLatch: 0,
  countLatched: 0,
  latchedCount: 0,
  statusLatched: false,
  status: 0,
  gate,
  nullCount: true,
  programmed: false,
});

class PitState {
  constructor(
    readonly channels: readonly Readonly<Channel>[],
    readonly port61: number,
    readonly out0: boolean,
    readonly event: number,
  ) {
    Object.freeze(this);
  }
}

@injectable()
export class Pit8254 implements BusDevice, ClockedDevice {
  readonly name: string;
  readonly description = '8254 PIT (1.193182 MHz) with port 0x61';
  readonly base: number;
  readonly port61: number | null;
  private channels: Channel[] = [freshChannel(true), freshChannel(true), freshChannel(false)];
  /** Writable bits 0–3 of port 0x61. */
  private port61Bits = 0;
  private clock: VirtualClock | null;
  private out0 = true;
  /** Pending clock event for channel 0, or -1. */
  private event = -1;
  private listeners: ((level: boolean) => void)[] = [];
  private readonly attachment = new Attachment();
  private readonly onEvent = (): void => {
    this.event = -1;
    this.refreshOutput0();
  };
  private readonly onPulse = (): void => {
    this.event = -1;
    this.setOut0(false);
    this.setOut0(true);
    this.refreshOutput0();
  };

  constructor(@inject(Pit8254OptionsToken) options: Pit8254Options = {}) {
    this.base = options.base ?? 0x40;
    this.port61 = options.port61 === undefined ? 0x61 : options.port61;
    if (!Number.isInteger(this.base) || this.base < 0 || this.base > 0xfffc) throw new InvalidArgumentError(`pit base ${this.base} is outside the port space`);
    this.name = options.name ?? 'pit';
    this.clock = options.clock ?? null;
  }

  connectClock(clock: VirtualClock): void {
    this.cancelEvent();
    this.clock = clock;
    this.refreshOutput0();
  }

  attach(bus: Bus): void {
    this.attachment.release();
    this.attachment.ports(bus, this.base, 4, bytePorts((p) => this.readPort(p - this.base), (p, v) => this.writePort(p - this.base, v)), this.name);
    if (this.port61 !== null) {
      this.attachment.ports(bus, this.port61, 1, bytePorts(() => this.readPort61(), (_p, v) => this.writePort61(v)), `${this.name}-port61`);
    }
  }

  detach(): void {
    this.attachment.release();
  }

  reset(): void {
    this.cancelEvent();
    this.channels = [freshChannel(true), freshChannel(true), freshChannel(false)];
    this.port61Bits = 0;
    this.setOut0(true);
  }

  /** Listener for channel 0's output (IRQ0). Returns the unsubscribe function. */
  onOutput(listener: (level: boolean) => void): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  // ------------------------------------------------------------------ time

  private nowTick(): number {
    return ticksAt(this.clock?.now() ?? 0, PIT_HZ);
  }

  /** Ticks counted by channel `c` (0 when not counting yet). */
  private elapsed(c: Channel, tick = this.nowTick()): number {
    if (c.pausedTicks >= 0) return c.pausedTicks;
    if ((c.mode === 1 || c.mode === 5) && !c.triggered) return 0;
    return Math.max(0, tick - c.loadTick);
  }

  /** Current counter value of channel `i` (QEMU `pit_get_count`). */
  counter(i: number): number {
    const c = this.channels[i];
    if (c.count === 0) return 0;
    const d = this.elapsed(c);
    switch (c.mode) {
      case 2:
        return c.count - (d % c.count);
      case 3:
        return (c.count - ((2 * d) % c.count)) & 0xffff;
      default:
        return (c.count - d) & 0xffff;
    }
  }

  /** Output of channel `i` now. */
  output(i: number): boolean {
    return this.outputAt(this.channels[i], this.nowTick());
  }

  private outputAt(c: Channel, tick: number): boolean {
    if (c.count === 0) return !c.programmed || c.mode !== 0; // no count yet: mode 0 low after its control word, otherwise high
    const d = this.elapsed(c, tick);
    switch (c.mode) {
      case 0:
        return d >= c.count;
      case 1:
        return !c.triggered || d >= c.count;
      case 2:
        if (!c.gate) return true;
        return d % c.count !== c.count - 1;
      case 3:
        if (!c.gate) return true;
        return d % c.count < Math.ceil(c.count / 2);
      case 4:
        return d !== c.count;
      case 5:
        return !c.triggered || d !== c.count;
      default:
        return true;
    }
  }

  /** The next tick > `tick` at which channel 0's output changes, or -1 for never. */
  private nextTransition(c: Channel, tick: number): number {
    if (c.count === 0 || c.pausedTicks >= 0) return -1;
    if ((c.mode === 1 || c.mode === 5) && !c.triggered) return -1;
    const d = Math.max(0, tick - c.loadTick);
    let next: number;
    switch (c.mode) {
      case 0:
      case 1:
        next = d < c.count ? c.count : -1;
        break;
      case 2: {
        if (!c.gate) return -1;
        if (c.count === 1) return -1; // a count of 1 never pulses low
        const phase = d % c.count;
        next = phase < c.count - 1 ? d - phase + c.count - 1 : d - phase + c.count;
        break;
      }
      case 3: {
        if (!c.gate) return -1;
        const phase = d % c.count;
        const high = Math.ceil(c.count / 2);
        if (c.count === 1) return -1;
        next = phase < high ? d - phase + high : d - phase + c.count;
        break;
      }
      case 4:
      case 5:
        next = d < c.count ? c.count : d === c.count ? c.count + 1 : -1;
        break;
      default:
        return -1;
    }
    return next < 0 ? -1 : c.loadTick + next;
  }

  private cancelEvent(): void {
    if (this.event >= 0 && this.clock) this.clock.cancel(this.event);
    this.event = -1;
  }

  /** Recomputes channel 0's output and schedules its next transition. */
  private refreshOutput0(): void {
    this.cancelEvent();
    const c = this.channels[0];
    const tick = this.nowTick();
    this.setOut0(this.outputAt(c, tick));
    if (!this.clock) return;
    const next = this.nextTransition(c, tick);
    if (next < 0) return;
    if (c.mode === 2) {
      // The one-clock low pulse is reported as low-then-high at the end of each period.
      const k = Math.floor(Math.max(0, tick - c.loadTick) / c.count) + 1;
      this.event = this.clock.schedule(nsForTicks(c.loadTick + k * c.count, PIT_HZ), this.onPulse);
      return;
    }
    this.event = this.clock.schedule(nsForTicks(next, PIT_HZ), this.onEvent);
  }

  private setOut0(level: boolean): void {
    if (level === this.out0) return;
    this.out0 = level;
    for (const l of this.listeners) l(level);
  }

  // ------------------------------------------------------------------ ports

  /** Read of port `base + offset`. */
  readPort(offset: number): number {
    if (offset === 3) return 0xff; // the control word register is write-only
    const c = this.channels[offset];
    if (c.statusLatched) {
      c.statusLatched = false;
      return c.status;
    }
    if (c.countLatched !== 0) {
      switch (c.countLatched) {
        case RW_MSB:
          c.countLatched = 0;
          return (c.latchedCount >> 8) & 0xff;
        case RW_WORD0:
          c.countLatched = RW_MSB;
          return c.latchedCount & 0xff;
        default:
          c.countLatched = 0;
          return c.latchedCount & 0xff;
      }
    }
    const count = this.counter(offset);
    switch (c.readState) {
      case RW_MSB:
        return (count >> 8) & 0xff;
      case RW_WORD0:
        c.readState = RW_WORD1;
        return count & 0xff;
      case RW_WORD1:
        c.readState = RW_WORD0;
        return (count >> 8) & 0xff;
      default:
        return count & 0xff;
    }
  }

  /** Write of port `base + offset`. */
  writePort(offset: number, value: number): void {
    const v = value & 0xff;
    if (offset === 3) {
      const ch = v >> 6;
      if (ch === 3) {
        for (let i = 0; i < 3; i++) {
          if ((v & (2 << i)) === 0) continue;
          const c = this.channels[i];
          if ((v & 0x20) === 0) this.latchCount(i);
          if ((v & 0x10) === 0 && !c.statusLatched) {
            c.status = ((this.output(i) ? 0x80 : 0) | (c.nullCount ? 0x40 : 0) | (c.rwMode << 4) | (c.mode << 1) | (c.bcd ? 1 : 0)) & 0xff;
            c.statusLatched = true;
          }
        }
        return;
      }
      const c = this.channels[ch];
      const access = (v >> 4) & 3;
      if (access === 0) {
        this.latchCount(ch);
        return;
      }
      c.rwMode = access;
      c.readState = access;
      c.writeState = access;
      c.mode = (v >> 1) & 7;
      if (c.mode > 5) c.mode -= 4;
      c.bcd = (v & 1) !== 0;
      c.programmed = true;
      // A control word stops the counter until a new count is written (output: low in mode 0, else high).
      c.count = 0;
      c.nullCount = true;
      c.pausedTicks = -1;
      c.triggered = false;
      if (ch === 0) this.refreshOutput0();
      return;
    }
    const c = this.channels[offset];
    switch (c.writeState) {
      case RW_MSB:
        this.loadCount(offset, v << 8);
        break;
      case RW_WORD0:
        c.writeLatch = v;
        c.writeState = RW_WORD1;
        break;
      case RW_WORD1:
        this.loadCount(offset, c.writeLatch | (v << 8));
        c.writeState = RW_WORD0;
        break;
      default:
        this.loadCount(offset, v);
        break;
    }
  }

  private latchCount(i: number): void {
    const c = this.channels[i];
    if (c.countLatched !== 0) return;
    c.latchedCount = this.counter(i);
    c.countLatched = c.rwMode;
  }

  private loadCount(i: number, value: number): void {
    const c = this.channels[i];
    c.count = value === 0 ? 0x10000 : value;
    c.loadTick = this.nowTick();
    c.nullCount = false;
    c.pausedTicks = -1;
    if ((c.mode === 0 || c.mode === 4) && !c.gate) c.pausedTicks = 0;
    if ((c.mode === 2 || c.mode === 3) && !c.gate) c.pausedTicks = 0;
    if (i === 0) this.refreshOutput0();
  }

  /** Sets the gate of channel `i` (channel 2: port 0x61 bit 0). */
  setGate(i: number, level: boolean): void {
    const c = this.channels[i];
    if (c.gate === level) return;
    const tick = this.nowTick();
    c.gate = level;
    if (c.count !== 0) {
      switch (c.mode) {
        case 0:
        case 4:
          if (!level) c.pausedTicks = this.elapsed(c, tick);
          else if (c.pausedTicks >= 0) {
            c.loadTick = tick - c.pausedTicks;
            c.pausedTicks = -1;
          }
          break;
        case 2:
        case 3:
          if (!level) c.pausedTicks = 0;
          else {
            c.pausedTicks = -1;
            c.loadTick = tick;
          }
          break;
        case 1:
        case 5:
          if (level) {
            c.triggered = true;
            c.loadTick = tick;
          }
          break;
        default:
          break;
      }
    }
    if (i === 0) this.refreshOutput0();
  }

  /** Port 0x61 read. */
  readPort61(): number {
    const ns = this.clock?.now() ?? 0;
    const refresh = Math.floor(ns / PORT61_REFRESH_NS) % 2 === 1 ? 0x10 : 0;
    return (this.port61Bits & 0x0f) | refresh | (this.output(2) ? 0x20 : 0);
  }

  /** Port 0x61 write. */
  writePort61(value: number): void {
    this.port61Bits = value & 0x0f;
    this.setGate(2, (value & 1) !== 0);
  }

  // ------------------------------------------------------------------ snapshots

  saveState(): unknown {
    return new PitState(
      this.channels.map((c) => Object.freeze({ ...c })),
      this.port61Bits,
      this.out0,
      this.event,
    );
  }

  loadState(state: unknown): void {
    if (!(state instanceof PitState)) throw new InvalidArgumentError(`${this.name}.loadState: not a PIT state`);
    this.channels = state.channels.map((c) => ({ ...c }));
    this.port61Bits = state.port61;
    this.out0 = state.out0;
    // The clock's own snapshot holds the pending event (restored together in a machine snapshot).
    this.event = state.event;
  }
}
