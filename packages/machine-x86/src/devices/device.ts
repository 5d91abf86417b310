import type { Device, Token } from '@latelaunch/kernel';
import type { AccessSize, Bus, BusRegistration, PortHandler } from '../bus/bus.js';
import type { Snapshottable } from './snapshottable.js';

/**
 * A device the machine attaches to its bus. `attach` claims the device's ports/MMIO ranges (throws
 * `BusConflictError` on a clash); `detach` releases them; `reset` is the power-on state.
 */
export interface BusDevice extends Device, Snapshottable {
  attach(bus: Bus): void;
  detach(): void;
  reset(): void;
}

/** True when `d` (e.g. something resolved from `Tokens.Device`) can be attached to a {@link Bus}. */
export function isBusDevice(d: unknown): d is BusDevice {
  const x = d as Partial<BusDevice> | null;
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof x.name === 'string' &&
    typeof x.attach === 'function' &&
    typeof x.detach === 'function' &&
    typeof x.saveState === 'function'
  );
}

/** Token of a device-options object, for constructor injection with `@inject`. */
export function optionsToken<T>(name: string): Token<T> {
  return Symbol.for(`latelaunch.machine-x86.${name}`) as Token<T>;
}

/**
 * Port handler for a device made of 8-bit registers: wider accesses are split into byte accesses,
 * lowest port first (as an ISA bus does).
 */
export function bytePorts(readByte: (port: number) => number, writeByte: (port: number, value: number) => void): PortHandler {
  return {
    read(port: number, size: AccessSize): number {
      let v = 0;
      for (let i = 0; i < size; i++) v += (readByte(port + i) & 0xff) * 2 ** (8 * i);
      return v;
    },
    write(port: number, size: AccessSize, value: number): void {
      for (let i = 0; i < size; i++) writeByte(port + i, (value >>> (8 * i)) & 0xff);
    },
  };
}

/** Holds a device's bus registrations. */
export class Attachment {
  private regs: BusRegistration[] = [];

  get attached(): boolean {
    return this.regs.length !== 0;
  }

  ports(bus: Bus, base: number, size: number, handler: PortHandler, owner: string): void {
    this.regs.push(bus.registerPorts(base, size, handler, owner));
  }

  release(): void {
    for (const r of this.regs) r.unregister();
    this.regs = [];
  }
}
