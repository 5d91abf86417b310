/**
 * CMOS RAM and real-time clock (Motorola MC146818A register set, as QEMU's `mc146818rtc`).
 *
 * - Port 0x70: index (bits 6:0) and **NMI disable** (bit 7, recorded in {@link CmosRtc.nmiDisabled};
 *   listeners via {@link CmosRtc.onNmiMask} — the machine may gate NMIs with it). Reads of 0x70
 *   return 0xFF (the register is write-only on PC chipsets).
 * - Port 0x71: the byte at the index (128 bytes).
 * - Time registers (0x00 seconds, 0x02 minutes, 0x04 hours, 0x06 day of week 1–7 with Sunday = 1,
 *   0x07 day of month, 0x08 month, 0x09 year mod 100, 0x32 century) come from a deterministic
 *   virtual epoch (`epochSeconds`, Unix seconds, default 2024-01-01T00:00:00Z) plus the virtual
 *   time elapsed; BCD or binary and 24/12-hour (bit 7 = PM) per register B. Software may set the
 *   time (writes to the time registers); while register B's SET bit is 1 the clock does not
 *   advance. Alarm registers (0x01, 0x03, 0x05) are plain storage.
 * - Register A (0x0A): 0x26 (32.768 kHz time base, 1024 Hz rate); bit 7 UIP (update in progress)
 *   reads 1 during the last 244 µs of each virtual second. Register B (0x0B): default 0x02 (24-hour,
 *   BCD). Register C (0x0C): interrupt flags, always 0 — periodic, alarm and update interrupts
 *   (IRQ8) are not modelled. Register D (0x0D): 0x80 (valid RAM and time).
 * - Memory-size bytes as QEMU's `pc_cmos_init` writes them for SeaBIOS: 0x15/0x16 base memory in KiB
 *   (640), 0x17/0x18 and 0x30/0x31 extended memory above 1 MiB in KiB (below 4 GiB, capped at
 *   65535), 0x34/0x35 memory between 16 MiB and 4 GiB in 64 KiB units (capped at 65535),
 *   0x5B–0x5D memory above 4 GiB in 64 KiB units (24 bits), 0x5F processor count − 1. The
 *   classic AT checksum of 0x10–0x2D is at 0x2E (high) / 0x2F (low).
 */
import { InvalidArgumentError } from '@latelaunch/kernel';
import { inject, injectable } from 'tsyringe';
import type { Bus } from '../bus/bus.js';
import type { VirtualClock } from '../clock/virtual-clock.js';
import { Attachment, bytePorts, optionsToken, type BusDevice } from './device.js';
import type { ClockedDevice } from './pm-timer.js';

export interface CmosRtcOptions {
  /** Index port (data = +1). Default 0x70. */
  readonly base?: number;
  /** Unix seconds at virtual time 0. Default 1704067200 (2024-01-01T00:00:00Z). */
  readonly epochSeconds?: number;
  /** RAM below 4 GiB in bytes (the PC layout's `lowMemoryEnd`). Default 0: the size bytes read 0 except base memory. */
  readonly ramBelow4G?: number;
  /** RAM above 4 GiB in bytes. Default 0. */
  readonly ramAbove4G?: number;
  /** Processors (byte 0x5F = count − 1). Default 1. */
  readonly cpus?: number;
  readonly name?: string;
  readonly clock?: VirtualClock;
}

/** Injection token for {@link CmosRtcOptions}. */
export const CmosRtcOptionsToken = optionsToken<CmosRtcOptions>('CmosRtcOptions');

export const CMOS_DEFAULT_EPOCH = 1_704_067_200;

/** CMOS register indices. */
export const CmosReg = {
  Seconds: 0x00,
  SecondsAlarm: 0x01,
  Minutes: 0x02,
  MinutesAlarm: 0x03,
  Hours: 0x04,
  HoursAlarm: 0x05,
  DayOfWeek: 0x06,
  DayOfMonth: 0x07,
  Month: 0x08,
  Year: 0x09,
  A: 0x0a,
  B: 0x0b,
  C: 0x0c,
  D: 0x0d,
  BaseMemLo: 0x15,
  BaseMemHi: 0x16,
  ExtMemLo: 0x17,
  ExtMemHi: 0x18,
  ChecksumHi: 0x2e,
  ChecksumLo: 0x2f,
  ExtMem2Lo: 0x30,
  ExtMem2Hi: 0x31,
  Century: 0x32,
  Mem16MLo: 0x34,
  Mem16MHi: 0x35,
  HighMem0: 0x5b,
  HighMem1: 0x5c,
  HighMem2: 0x5d,
  SmpCount: 0x5f,
} as const;

const REG_B_SET = 0x80;
const REG_B_BINARY = 0x04;
const REG_B_24H = 0x02;
const UIP_WINDOW_NS = 244_000;

class CmosState {
  constructor(
    readonly ram: Uint8Array,
    readonly index: number,
    readonly nmiDisabled: boolean,
    readonly baseSeconds: number,
    readonly baseNs: number,
    readonly frozen: number,
  ) {
    Object.freeze(this);
  }
}

const toBcd = (v: number): number => ((Math.floor(v / 10) % 10) << 4) | v % 10;
const fromBcd = (v: number): number => (v >> 4) * 10 + (v & 0xf);

@injectable()
export class CmosRtc implements BusDevice, ClockedDevice {
  readonly name: string;
  readonly description = 'CMOS RAM and MC146818 RTC';
  readonly base: number;
  readonly epochSeconds: number;
  private readonly options: CmosRtcOptions;
  private ram = new Uint8Array(128);
  private index = 0;
  private nmiOff = false;
  /** Time: seconds = baseSeconds + floor((now - baseNs) / 1e9), unless frozen (≥ 0, SET bit). */
  private baseSeconds: number;
  private baseNs = 0;
  private frozen = -1;
  private clock: VirtualClock | null;
  private nmiListeners: ((disabled: boolean) => void)[] = [];
  private readonly attachment = new Attachment();

  constructor(@inject(CmosRtcOptionsToken) options: CmosRtcOptions = {}) {
    this.options = options;
    this.base = options.base ?? 0x70;
    this.epochSeconds = options.epochSeconds ?? CMOS_DEFAULT_EPOCH;
    if (!Number.isInteger(this.base) || this.base < 0 || this.base > 0xfffe) throw new InvalidArgumentError(`cmos base ${this.base} is outside the port space`);
    if (!Number.isInteger(this.epochSeconds) || this.epochSeconds < 0 || this.epochSeconds >= 4102444800 * 2) throw new InvalidArgumentError(`cmos epochSeconds ${this.epochSeconds} is not a valid time`);
    this.name = options.name ?? 'cmos';
    this.clock = options.clock ?? null;
    this.baseSeconds = this.epochSeconds;
    this.reset();
  }

  connectClock(clock: VirtualClock): void {
    this.clock = clock;
  }

  attach(bus: Bus): void {
    this.attachment.release();
    this.attachment.ports(
      bus,
      this.base,
      2,
      bytePorts(
        (p) => (p === this.base ? 0xff : this.readData()),
        (p, v) => (p === this.base ? this.writeIndex(v) : this.writeData(v)),
      ),
      this.name,
    );
  }

  detach(): void {
    this.attachment.release();
  }

  reset(): void {
    const o = this.options;
    const ram = new Uint8Array(128);
    ram[CmosReg.A] = 0x26;
    ram[CmosReg.B] = REG_B_24H;
    ram[CmosReg.D] = 0x80;
    const below = o.ramBelow4G ?? 0;
    const above = o.ramAbove4G ?? 0;
    const baseKiB = Math.min(640, Math.floor(below / 1024));
    ram[CmosReg.BaseMemLo] = baseKiB & 0xff;
    ram[CmosReg.BaseMemHi] = baseKiB >> 8;
    const ext = Math.min(65535, below > 0x100000 ? Math.floor((below - 0x100000) / 1024) : 0);
    ram[CmosReg.ExtMemLo] = ram[CmosReg.ExtMem2Lo] = ext & 0xff;
    ram[CmosReg.ExtMemHi] = ram[CmosReg.ExtMem2Hi] = ext >> 8;
    const m16 = Math.min(65535, below > 0x1000000 ? Math.floor((below - 0x1000000) / 0x10000) : 0);
    ram[CmosReg.Mem16MLo] = m16 & 0xff;
    ram[CmosReg.Mem16MHi] = m16 >> 8;
    const high = Math.floor(above / 0x10000);
    ram[CmosReg.HighMem0] = high & 0xff;
    ram[CmosReg.HighMem1] = (high >> 8) & 0xff;
    ram[CmosReg.HighMem2] = (high >> 16) & 0xff;
    ram[CmosReg.SmpCount] = Math.max(0, (o.cpus ?? 1) - 1) & 0xff;
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += ram[i];
    ram[CmosReg.ChecksumHi] = (sum >> 8) & 0xff;
    ram[CmosReg.ChecksumLo] = sum & 0xff;
    this.ram = ram;
    this.index = 0;
    this.nmiOff = false;
    this.baseSeconds = this.epochSeconds;
    this.baseNs = 0;
    this.frozen = -1;
  }

  /** True when the last write to port 0x70 had bit 7 set (NMIs masked at the chipset). */
  get nmiDisabled(): boolean {
    return this.nmiOff;
  }

  /** Called when the NMI-disable bit changes. Returns the unsubscribe function. */
  onNmiMask(listener: (disabled: boolean) => void): () => void {
    this.nmiListeners = [...this.nmiListeners, listener];
    return () => {
      this.nmiListeners = this.nmiListeners.filter((l) => l !== listener);
    };
  }

  /** The currently selected index. */
  get selectedIndex(): number {
    return this.index;
  }

  /** Unix seconds the RTC shows now. */
  currentSeconds(): number {
    if (this.frozen >= 0) return this.frozen;
    const now = this.clock?.now() ?? 0;
    return this.baseSeconds + Math.floor((now - this.baseNs) / 1e9);
  }

  writeIndex(value: number): void {
    this.index = value & 0x7f;
    const off = (value & 0x80) !== 0;
    if (off !== this.nmiOff) {
      this.nmiOff = off;
      for (const l of this.nmiListeners) l(off);
    }
  }

  /** Read of port 0x71. */
  readData(): number {
    return this.read(this.index);
  }

  /** Write of port 0x71. */
  writeData(value: number): void {
    this.write(this.index, value & 0xff);
  }

  /** CMOS byte `i` (time registers computed). */
  read(i: number): number {
    switch (i) {
      case CmosReg.Seconds:
      case CmosReg.Minutes:
      case CmosReg.Hours:
      case CmosReg.DayOfWeek:
      case CmosReg.DayOfMonth:
      case CmosReg.Month:
      case CmosReg.Year:
      case CmosReg.Century:
        return this.timeField(i, this.currentSeconds());
      case CmosReg.A: {
        const now = this.clock?.now() ?? 0;
        const phase = (((now - this.baseNs) % 1e9) + 1e9) % 1e9;
        const uip = this.frozen < 0 && this.clock !== null && phase >= 1e9 - UIP_WINDOW_NS;
        return (this.ram[CmosReg.A] & 0x7f) | (uip ? 0x80 : 0);
      }
      case CmosReg.C:
        return 0;
      case CmosReg.D:
        return 0x80;
      default:
        return this.ram[i & 0x7f];
    }
  }

  /** Writes CMOS byte `i`. */
  write(i: number, value: number): void {
    switch (i) {
      case CmosReg.Seconds:
      case CmosReg.Minutes:
      case CmosReg.Hours:
      case CmosReg.DayOfWeek:
      case CmosReg.DayOfMonth:
      case CmosReg.Month:
      case CmosReg.Year:
      case CmosReg.Century:
        this.setTimeField(i, value);
        return;
      case CmosReg.A:
        this.ram[i] = value & 0x7f;
        return;
      case CmosReg.B: {
        const wasSet = (this.ram[i] & REG_B_SET) !== 0;
        const set = (value & REG_B_SET) !== 0;
        if (!wasSet && set) this.frozen = this.currentSeconds();
        if (wasSet && !set) {
          this.baseSeconds = this.frozen;
          this.baseNs = this.clock?.now() ?? 0;
          this.frozen = -1;
        }
        this.ram[i] = value;
        return;
      }
      case CmosReg.C:
      case CmosReg.D:
        return;
      default:
        this.ram[i & 0x7f] = value;
    }
  }

  private encode(v: number): number {
    return (this.ram[CmosReg.B] & REG_B_BINARY) !== 0 ? v : toBcd(v);
  }

  private decode(v: number): number {
    return (this.ram[CmosReg.B] & REG_B_BINARY) !== 0 ? v : fromBcd(v);
  }

  private timeField(i: number, seconds: number): number {
    const d = new Date(seconds * 1000);
    switch (i) {
      case CmosReg.Seconds:
        return this.encode(d.getUTCSeconds());
      case CmosReg.Minutes:
        return this.encode(d.getUTCMinutes());
      case CmosReg.Hours: {
        const h = d.getUTCHours();
        if ((this.ram[CmosReg.B] & REG_B_24H) !== 0) return this.encode(h);
        const h12 = h % 12 === 0 ? 12 : h % 12;
        return this.encode(h12) | (h >= 12 ? 0x80 : 0);
      }
      case CmosReg.DayOfWeek:
        return this.encode(d.getUTCDay() + 1);
      case CmosReg.DayOfMonth:
        return this.encode(d.getUTCDate());
      case CmosReg.Month:
        return this.encode(d.getUTCMonth() + 1);
      case CmosReg.Year:
        return this.encode(d.getUTCFullYear() % 100);
      default:
        return this.encode(Math.floor(d.getUTCFullYear() / 100));
    }
  }

  private setTimeField(i: number, value: number): void {
    const seconds = this.currentSeconds();
    const d = new Date(seconds * 1000);
    let [year, month, day, h, m, s] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
    switch (i) {
      case CmosReg.Seconds:
        s = this.decode(value);
        break;
      case CmosReg.Minutes:
        m = this.decode(value);
        break;
      case CmosReg.Hours:
        if ((this.ram[CmosReg.B] & REG_B_24H) !== 0) h = this.decode(value);
        else h = (this.decode(value & 0x7f) % 12) + ((value & 0x80) !== 0 ? 12 : 0);
        break;
      case CmosReg.DayOfMonth:
        day = this.decode(value);
        break;
      case CmosReg.Month:
        month = this.decode(value) - 1;
        break;
      case CmosReg.Year:
        year = Math.floor(year / 100) * 100 + this.decode(value);
        break;
      case CmosReg.Century:
        year = this.decode(value) * 100 + (year % 100);
        break;
      default:
        return; // day of week follows the date
    }
    const t = Math.floor(Date.UTC(year, month, day, h, m, s) / 1000);
    if (!Number.isFinite(t) || t < 0) return;
    if (this.frozen >= 0) {
      this.frozen = t;
      return;
    }
    const now = this.clock?.now() ?? 0;
    // Keep the sub-second phase.
    const elapsed = now - this.baseNs;
    this.baseNs = now - (elapsed % 1e9);
    this.baseSeconds = t;
  }

  saveState(): unknown {
    return new CmosState(this.ram.slice(), this.index, this.nmiOff, this.baseSeconds, this.baseNs, this.frozen);
  }

  loadState(state: unknown): void {
    if (!(state instanceof CmosState)) throw new InvalidArgumentError(`${this.name}.loadState: not a CMOS state`);
    this.ram = state.ram.slice();
    this.index = state.index;
    this.baseSeconds = state.baseSeconds;
    this.baseNs = state.baseNs;
    this.frozen = state.frozen;
    if (this.nmiOff !== state.nmiDisabled) {
      this.nmiOff = state.nmiDisabled;
      for (const l of this.nmiListeners) l(this.nmiOff);
    }
  }
}
