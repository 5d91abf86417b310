import { InvalidArgumentError } from '@latelaunch/kernel';
import { inject, injectable } from 'tsyringe';
import type { AccessSize, Bus } from '../bus/bus.js';
import { Attachment, optionsToken, type BusDevice } from './device.js';

export interface DebugExitOptions {
  /** First port. Default 0xF4 (as with QEMU's `-device isa-debug-exit,iobase=0xf4,iosize=0x04`). */
  readonly iobase?: number;
  /** Number of ports (1, 2 or 4). Default 4. */
  readonly iosize?: 1 | 2 | 4;
  /** Device name. Default `debug-exit`. */
  readonly name?: string;
}

/** Injection token for {@link DebugExitOptions}. */
export const DebugExitOptionsToken = optionsToken<DebugExitOptions>('DebugExitOptions');

/** What a guest asked for by writing the debug-exit port. */
export interface ExitRequest {
  /** The value written (zero-extended to the access size). */
  readonly value: number;
  /** QEMU's exit status `(value << 1) | 1` (up to 33 bits; never overflows). */
  readonly status: number;
  /** What a process exiting with `status` reports: `status & 0xff`. */
  readonly exitCode: number;
}

class DebugExitState {
  constructor(readonly request: ExitRequest | null) {
    Object.freeze(this);
  }
}

/** QEMU's exit status for a value written to isa-debug-exit: `(value << 1) | 1`, without 32-bit overflow. */
export function debugExitStatus(value: number): number {
  return (value >>> 0) * 2 + 1;
}

/**
 * QEMU's isa-debug-exit: any write of value `v` to its ports requests the end of the run with exit
 * status `(v << 1) | 1`. The machine's run loop polls {@link exitRequest} (or listens with
 * {@link onExit}) and stops; the first request wins until {@link reset}. Reads return all-ones.
 */
@injectable()
export class DebugExitDevice implements BusDevice {
  readonly name: string;
  readonly description = 'QEMU isa-debug-exit';
  readonly iobase: number;
  readonly iosize: 1 | 2 | 4;
  private request: ExitRequest | null = null;
  private listeners: ((request: ExitRequest) => void)[] = [];
  private readonly attachment = new Attachment();

  constructor(@inject(DebugExitOptionsToken) options: DebugExitOptions = {}) {
    this.iobase = options.iobase ?? 0xf4;
    this.iosize = options.iosize ?? 4;
    if (![1, 2, 4].includes(this.iosize)) throw new InvalidArgumentError(`debug-exit iosize ${this.iosize} must be 1, 2 or 4`);
    if (!Number.isInteger(this.iobase) || this.iobase < 0 || this.iobase + this.iosize > 0x10000) {
      throw new InvalidArgumentError(`debug-exit iobase ${this.iobase} is outside the port space`);
    }
    this.name = options.name ?? 'debug-exit';
  }

  attach(bus: Bus): void {
    this.attachment.release();
    this.attachment.ports(
      bus,
      this.iobase,
      this.iosize,
      {
        read: () => 0xffffffff,
        write: (_port: number, size: AccessSize, value: number) => this.write(value, size),
      },
      this.name,
    );
  }

  detach(): void {
    this.attachment.release();
  }

  reset(): void {
    this.request = null;
  }

  /** True once the guest has written the port. */
  get exitRequested(): boolean {
    return this.request !== null;
  }

  /** The pending exit request, or null. */
  get exitRequest(): ExitRequest | null {
    return this.request;
  }

  /** Called once per request (the first write after reset). Returns the unsubscribe function. */
  onExit(listener: (request: ExitRequest) => void): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** A write of `value` with access width `size` (what the port handler calls). */
  write(value: number, size: AccessSize = 1): void {
    if (this.request !== null) return;
    const v = size === 4 ? value >>> 0 : value & (size === 2 ? 0xffff : 0xff);
    const status = debugExitStatus(v);
    this.request = Object.freeze({ value: v, status, exitCode: status % 256 });
    for (const l of this.listeners) l(this.request);
  }

  saveState(): unknown {
    return new DebugExitState(this.request);
  }

  loadState(state: unknown): void {
    if (!(state instanceof DebugExitState)) throw new InvalidArgumentError(`${this.name}.loadState: not a debug-exit state`);
    this.request = state.request;
  }
}
