/**
 * The ACPI power-management timer (ACPI spec 4.8.3.3 "Power Management Timer"): a free-running
 * counter at 3.579545 MHz, 24 bits wide (32 with the FADT's TMR_VAL_EXT), read-only, in the PM
 * I/O block. Default port 0x608 (PM base 0x600 + 8, as QEMU's ICH9 `q35` machine places it and as
 * `@latelaunch/acpi` writes PM_TMR_BLK by default).
 *
 * The value is derived from virtual time only: `floor(ns × 3579545 / 10^9) mod 2^bits`, counted
 * from virtual time 0, with exact integer arithmetic (no floating-point drift, deterministic).
 * Without a clock the counter reads as at time 0. Each of the 4 ports is one byte lane of the
 * 32-bit register: `in8(port + k)` returns byte k, `in16(port + 2)` bytes 2–3 (the top byte reads
 * 0 in 24-bit mode). Writes are ignored. Overflow status (TMR_STS) and the SCI are not modelled.
 */
import { InvalidArgumentError, type VirtualTimeSource } from '@latelaunch/kernel';
import { inject, injectable } from 'tsyringe';
import type { AccessSize, Bus } from '../bus/bus.js';
import type { VirtualClock } from '../clock/virtual-clock.js';
import { Attachment, optionsToken, type BusDevice } from './device.js';

/** PM timer frequency in Hz. */
export const PM_TIMER_HZ = 3_579_545;
/** Default PM timer port (ICH9 PM base 0x600 + 8). */
export const PM_TIMER_DEFAULT_PORT = 0x608;

/** A device whose state follows virtual time; the machine hands it the clock with {@link ClockedDevice.connectClock}. */
export interface ClockedDevice {
  connectClock(clock: VirtualClock): void;
}

/** True when `d` has `connectClock` (PM timer, PIT, CMOS/RTC). */
export function isClockedDevice(d: unknown): d is ClockedDevice {
  return typeof d === 'object' && d !== null && typeof (d as Partial<ClockedDevice>).connectClock === 'function';
}

/**
 * `floor(ns × hz / 10^9)` exactly for any safe-integer `ns` ≥ 0 and `hz` < 2^22 (the split keeps
 * every intermediate product below 2^53).
 */
export function ticksAt(ns: number, hz: number): number {
  const q = Math.floor(ns / 1e9);
  const r = ns - q * 1e9;
  return q * hz + Math.floor((r * hz) / 1e9);
}

/** The first nanosecond at which {@link ticksAt}(ns, hz) ≥ `ticks` (exact). */
export function nsForTicks(ticks: number, hz: number): number {
  const q = Math.floor(ticks / hz);
  const r = ticks - q * hz;
  return q * 1e9 + Math.ceil((r * 1e9) / hz);
}

export interface PmTimerOptions {
  /** First of the 4 ports. Default 0x608. */
  readonly port?: number;
  /** 24 (default) or 32 (TMR_VAL_EXT). */
  readonly bits?: 24 | 32;
  /** Device name. Default `pm-timer`. */
  readonly name?: string;
  /** Time source (the machine's `VirtualClock`); can be connected later. */
  readonly clock?: VirtualTimeSource;
}

/** Injection token for {@link PmTimerOptions}. */
export const PmTimerOptionsToken = optionsToken<PmTimerOptions>('PmTimerOptions');

class PmTimerState {
  constructor() {
    Object.freeze(this);
  }
}

@injectable()
export class AcpiPmTimer implements BusDevice, ClockedDevice {
  readonly name: string;
  readonly description = 'ACPI PM timer (3.579545 MHz)';
  readonly port: number;
  readonly bits: 24 | 32;
  private clock: VirtualTimeSource | null;
  private readonly attachment = new Attachment();

  constructor(@inject(PmTimerOptionsToken) options: PmTimerOptions = {}) {
    this.port = options.port ?? PM_TIMER_DEFAULT_PORT;
    this.bits = options.bits ?? 24;
    if (!Number.isInteger(this.port) || this.port < 0 || this.port > 0xfffc) throw new InvalidArgumentError(`pm-timer port ${this.port} must be 0..0xFFFC`);
    if (this.bits !== 24 && this.bits !== 32) throw new InvalidArgumentError(`pm-timer bits ${String(this.bits)} must be 24 or 32`);
    this.name = options.name ?? 'pm-timer';
    this.clock = options.clock ?? null;
  }

  connectClock(clock: VirtualTimeSource): void {
    this.clock = clock;
  }

  attach(bus: Bus): void {
    this.attachment.release();
    this.attachment.ports(
      bus,
      this.port,
      4,
      {
        read: (port: number, size: AccessSize) => {
          const v = this.value() / 2 ** ((port - this.port) * 8);
          return Math.floor(v) % 2 ** (8 * size);
        },
        write: () => undefined,
      },
      this.name,
    );
  }

  detach(): void {
    this.attachment.release();
  }

  reset(): void {
    // Free-running from virtual time 0: nothing to reset.
  }

  /** The counter now. */
  value(): number {
    return this.valueAt(this.clock?.now() ?? 0);
  }

  /** The counter at virtual time `ns`. */
  valueAt(ns: number): number {
    return ticksAt(ns, PM_TIMER_HZ) % 2 ** this.bits;
  }

  saveState(): unknown {
    return new PmTimerState();
  }

  loadState(state: unknown): void {
    if (!(state instanceof PmTimerState)) throw new InvalidArgumentError(`${this.name}.loadState: not a PM timer state`);
  }
}
