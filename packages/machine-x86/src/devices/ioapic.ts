/**
 * The I/O APIC (Intel 82093AA datasheet; register set of QEMU's `ioapic`, version 0x20, which adds
 * the EOI register at offset 0x40).
 *
 * MMIO window (default base 0xFEC00000, 4 KiB claimed): IOREGSEL at +0x00 (the register index,
 * bits 7:0), IOWIN at +0x10 (the selected 32-bit register), EOI at +0x40 (write a vector: same as
 * an EOI broadcast, {@link IoApic.eoi}). Other offsets read 0 and ignore writes. Accesses narrower
 * than 32 bits read/write the corresponding bytes of the dword.
 *
 * Indirect registers: 0x00 ID (bits 31:24; 8 bits kept — the 82093AA has 4, xAPIC systems with
 * more than 16 agents use 8), 0x01 version (0x20 | max redirection entry << 16), 0x02 arbitration
 * (reads the ID), 0x10 + 2n / 0x11 + 2n redirection entry n (low / high dword). Unknown indices read 0.
 *
 * Redirection entry (64 bits): vector 7:0, delivery mode 10:8, destination mode 11, delivery
 * status 12 (RO), polarity 13, remote IRR 14 (RO), trigger mode 15 (1 = level), mask 16,
 * destination 63:56. Reset: every entry masked, everything else 0.
 *
 * Pins: `setIrq(pin, level)` gives the *logical* state of the input (true = asserted); the
 * polarity bit is stored for software but not applied (as QEMU does — the board wiring is
 * modelled by whoever calls setIrq). Edge-triggered: a rising edge on an unmasked pin sends one
 * message; edges on a masked pin are ignored (82093AA: "not delivered or held pending").
 * Level-triggered: while the pin is asserted, unmasked and remote IRR is clear, a message is
 * sent and remote IRR set; an EOI for the entry's vector clears remote IRR and, if the pin is
 * still asserted, sends again. Unmasking an asserted level pin sends it. Delivery is synchronous,
 * so delivery status always reads 0. NMI, SMI, INIT and ExtINT entries are sent as edges (no
 * remote IRR), as the datasheet requires those modes to be edge-triggered.
 */
import { InvalidArgumentError } from '@latelaunch/kernel';
import { inject, injectable } from 'tsyringe';
import type { AccessSize, Bus } from '../bus/bus.js';
import { optionsToken, type BusDevice } from './device.js';
import type { BusRegistration } from '../bus/bus.js';

/** Delivery modes of a redirection entry (= the local APIC ICR encodings). */
export const IoApicDeliveryMode = {
  Fixed: 0,
  LowestPriority: 1,
  Smi: 2,
  Nmi: 4,
  Init: 5,
  ExtInt: 7,
} as const;

/** One interrupt message sent by the I/O APIC to the local APICs. */
export interface IoApicMessage {
  /** Destination field (bits 63:56): an APIC ID (physical) or a logical destination set. */
  readonly destination: number;
  readonly destMode: 'physical' | 'logical';
  /** {@link IoApicDeliveryMode} (bits 10:8). */
  readonly deliveryMode: number;
  readonly vector: number;
  readonly trigger: 'edge' | 'level';
  /** The input pin that caused the message (for traces). */
  readonly pin: number;
  /** The I/O APIC's ID. */
  readonly ioApicId: number;
}

/**
 * Where the I/O APIC sends its messages. The machine wires it to the local APICs (e.g. converting
 * to the kernel's `ApicInterruptMessage` with no shorthand, `level: true`, `sourceApicId: -1`), and
 * routes EOI broadcasts of level-triggered vectors back to {@link IoApic.eoi}.
 */
export interface InterruptDeliveryBackend {
  deliver(message: IoApicMessage): void;
}

export interface IoApicOptions {
  /** MMIO base. Default 0xFEC00000. */
  readonly base?: number;
  /** I/O APIC ID (register 0 bits 31:24). Default 0. */
  readonly id?: number;
  /** Number of input pins / redirection entries (1..240). Default 24. */
  readonly pins?: number;
  /** Global system interrupt of pin 0 (for the machine's GSI routing). Default 0. */
  readonly gsiBase?: number;
  /** Device name. Default `ioapic` (`ioapic@<hex base>` if the base is not the default). */
  readonly name?: string;
  /** Delivery backend; can also be set later with {@link IoApic.setBackend}. */
  readonly backend?: InterruptDeliveryBackend | null;
}

/** Injection token for {@link IoApicOptions}. */
export const IoApicOptionsToken = optionsToken<IoApicOptions>('IoApicOptions');

export const IOAPIC_DEFAULT_BASE = 0xfec00000;
export const IOAPIC_VERSION = 0x20;
/** Size of the claimed MMIO window. */
export const IOAPIC_MMIO_SIZE = 0x1000;
/** Register offsets in the MMIO window. */
export const IoApicMmio = { IOREGSEL: 0x00, IOWIN: 0x10, EOI: 0x40 } as const;
/** Indirect register indices. */
export const IoApicReg = { ID: 0x00, VERSION: 0x01, ARBITRATION: 0x02, REDTBL: 0x10 } as const;

const MASK_BIT = 1 << 16;
const TRIGGER_LEVEL = 1 << 15;
const REMOTE_IRR = 1 << 14;
const DELIVERY_STATUS = 1 << 12;
/** Low-dword bits software may write (everything but delivery status and remote IRR). */
const LOW_WRITABLE = 0x1ffff & ~(REMOTE_IRR | DELIVERY_STATUS);

class IoApicState {
  constructor(
    readonly regsel: number,
    readonly id: number,
    readonly lo: Uint32Array,
    readonly hi: Uint32Array,
    readonly pinLevel: Uint8Array,
  ) {
    Object.freeze(this);
  }
}

/** A decoded redirection-table entry (what tests and traces show). */
export interface RedirectionEntry {
  readonly vector: number;
  readonly deliveryMode: number;
  readonly destMode: 'physical' | 'logical';
  readonly deliveryStatus: boolean;
  readonly activeLow: boolean;
  readonly remoteIrr: boolean;
  readonly trigger: 'edge' | 'level';
  readonly masked: boolean;
  readonly destination: number;
}

@injectable()
export class IoApic implements BusDevice {
  readonly name: string;
  readonly description = 'I/O APIC (82093AA register set, version 0x20)';
  readonly base: number;
  readonly pins: number;
  readonly gsiBase: number;
  private id: number;
  private regsel = 0;
  private lo: Uint32Array;
  private hi: Uint32Array;
  private pinLevel: Uint8Array;
  private backend: InterruptDeliveryBackend | null;
  private registration: BusRegistration | null = null;
  private readonly initialId: number;
  /** Messages sent since construction (diagnostics). */
  delivered = 0;

  constructor(@inject(IoApicOptionsToken) options: IoApicOptions = {}) {
    this.base = options.base ?? IOAPIC_DEFAULT_BASE;
    this.pins = options.pins ?? 24;
    this.gsiBase = options.gsiBase ?? 0;
    this.initialId = options.id ?? 0;
    if (!Number.isInteger(this.base) || this.base < 0 || this.base % 16 !== 0) throw new InvalidArgumentError(`ioapic base ${this.base} must be a 16-byte aligned physical address`);
    if (!Number.isInteger(this.pins) || this.pins < 1 || this.pins > 240) throw new InvalidArgumentError(`ioapic pins ${this.pins} must be 1..240`);
    if (!Number.isInteger(this.initialId) || this.initialId < 0 || this.initialId > 0xff) throw new InvalidArgumentError(`ioapic id ${this.initialId} must be 0..255`);
    this.name = options.name ?? (this.base === IOAPIC_DEFAULT_BASE ? 'ioapic' : `ioapic@${this.base.toString(16)}`);
    this.backend = options.backend ?? null;
    this.id = this.initialId;
    this.lo = new Uint32Array(this.pins).fill(MASK_BIT);
    this.hi = new Uint32Array(this.pins);
    this.pinLevel = new Uint8Array(this.pins);
  }

  setBackend(backend: InterruptDeliveryBackend | null): void {
    this.backend = backend;
  }

  attach(bus: Bus): void {
    this.detach();
    this.registration = bus.registerMmio(
      this.base,
      IOAPIC_MMIO_SIZE,
      {
        read: (offset: number, size: AccessSize) => this.mmioRead(offset, size),
        write: (offset: number, size: AccessSize, value: number) => this.mmioWrite(offset, size, value),
      },
      this.name,
    );
  }

  detach(): void {
    this.registration?.unregister();
    this.registration = null;
  }

  reset(): void {
    this.id = this.initialId;
    this.regsel = 0;
    this.lo.fill(MASK_BIT);
    this.hi.fill(0);
    this.pinLevel.fill(0);
  }

  // ------------------------------------------------------------------ MMIO

  /** MMIO read at `offset` from the base (what the bus calls). */
  mmioRead(offset: number, size: AccessSize): number {
    const aligned = offset & ~3;
    let dword = 0;
    if (aligned === IoApicMmio.IOREGSEL) dword = this.regsel;
    else if (aligned === IoApicMmio.IOWIN) dword = this.readRegister(this.regsel);
    const shift = (offset & 3) * 8;
    const v = dword >>> shift;
    return size === 4 ? v >>> 0 : v & (size === 2 ? 0xffff : 0xff);
  }

  /** MMIO write at `offset` from the base. */
  mmioWrite(offset: number, size: AccessSize, value: number): void {
    const aligned = offset & ~3;
    const shift = (offset & 3) * 8;
    const mask = (size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff) * 2 ** shift;
    const merge = (old: number): number => ((old & ~mask) | ((value * 2 ** shift) & mask)) >>> 0;
    if (aligned === IoApicMmio.IOREGSEL) this.regsel = merge(this.regsel) & 0xff;
    else if (aligned === IoApicMmio.IOWIN) this.writeRegister(this.regsel, merge(this.readRegister(this.regsel)));
    else if (aligned === IoApicMmio.EOI) this.eoi(value & 0xff);
  }

  /** Reads indirect register `index`. */
  readRegister(index: number): number {
    if (index === IoApicReg.ID) return (this.id << 24) >>> 0;
    if (index === IoApicReg.VERSION) return (((this.pins - 1) << 16) | IOAPIC_VERSION) >>> 0;
    if (index === IoApicReg.ARBITRATION) return (this.id << 24) >>> 0;
    const n = index - IoApicReg.REDTBL;
    if (n >= 0 && n < 2 * this.pins) return (n & 1) === 0 ? this.lo[n >> 1] : this.hi[n >> 1];
    return 0;
  }

  /** Writes indirect register `index`. */
  writeRegister(index: number, value: number): void {
    if (index === IoApicReg.ID) {
      this.id = (value >>> 24) & 0xff;
      return;
    }
    const n = index - IoApicReg.REDTBL;
    if (n < 0 || n >= 2 * this.pins) return;
    const pin = n >> 1;
    if ((n & 1) === 1) {
      this.hi[pin] = value & 0xff000000;
      return;
    }
    const old = this.lo[pin];
    let lo = ((old & (REMOTE_IRR | DELIVERY_STATUS)) | (value & LOW_WRITABLE)) >>> 0;
    // An entry switched to edge triggering has no remote IRR.
    if ((lo & TRIGGER_LEVEL) === 0) lo &= ~REMOTE_IRR;
    this.lo[pin] = lo >>> 0;
    if ((old & MASK_BIT) !== 0 && (lo & MASK_BIT) === 0 && (lo & TRIGGER_LEVEL) !== 0 && this.pinLevel[pin] !== 0) this.service(pin);
  }

  // ------------------------------------------------------------------ pins

  /** The ID register's value (bits 31:24). */
  get ioApicId(): number {
    return this.id;
  }

  /** Drives input `pin` (0-based; `gsi - gsiBase`): true = asserted. */
  setIrq(pin: number, level: boolean | number): void {
    if (!Number.isInteger(pin) || pin < 0 || pin >= this.pins) return;
    const l = level ? 1 : 0;
    const was = this.pinLevel[pin];
    this.pinLevel[pin] = l;
    const lo = this.lo[pin];
    if ((lo & TRIGGER_LEVEL) !== 0 && this.isLevelCapable(lo)) {
      if (l) this.service(pin);
    } else if (l && !was && (lo & MASK_BIT) === 0) {
      this.send(pin, lo, 'edge');
    }
  }

  /** Asserts and deasserts `pin` (an edge). */
  pulseIrq(pin: number): void {
    this.setIrq(pin, true);
    this.setIrq(pin, false);
  }

  /** Current logical level of `pin`. */
  pinAsserted(pin: number): boolean {
    return this.pinLevel[pin] === 1;
  }

  /**
   * An EOI broadcast (the local APIC EOI of a level-triggered vector, or a write to the EOI
   * register): every level entry with this vector and remote IRR set gets remote IRR cleared and
   * is re-sent if its pin is still asserted.
   */
  eoi(vector: number): void {
    for (let pin = 0; pin < this.pins; pin++) {
      const lo = this.lo[pin];
      if ((lo & REMOTE_IRR) === 0 || (lo & 0xff) !== (vector & 0xff)) continue;
      this.lo[pin] = (lo & ~REMOTE_IRR) >>> 0;
      if (this.pinLevel[pin] !== 0) this.service(pin);
    }
  }

  /** Decoded redirection entry `pin`. */
  entry(pin: number): RedirectionEntry {
    const lo = this.lo[pin];
    return {
      vector: lo & 0xff,
      deliveryMode: (lo >>> 8) & 7,
      destMode: (lo & (1 << 11)) !== 0 ? 'logical' : 'physical',
      deliveryStatus: (lo & DELIVERY_STATUS) !== 0,
      activeLow: (lo & (1 << 13)) !== 0,
      remoteIrr: (lo & REMOTE_IRR) !== 0,
      trigger: (lo & TRIGGER_LEVEL) !== 0 ? 'level' : 'edge',
      masked: (lo & MASK_BIT) !== 0,
      destination: this.hi[pin] >>> 24,
    };
  }

  private isLevelCapable(lo: number): boolean {
    const mode = (lo >>> 8) & 7;
    return mode === IoApicDeliveryMode.Fixed || mode === IoApicDeliveryMode.LowestPriority;
  }

  private service(pin: number): void {
    const lo = this.lo[pin];
    if ((lo & MASK_BIT) !== 0 || (lo & REMOTE_IRR) !== 0) return;
    this.lo[pin] = (lo | REMOTE_IRR) >>> 0;
    this.send(pin, lo, 'level');
  }

  private send(pin: number, lo: number, trigger: 'edge' | 'level'): void {
    const mode = (lo >>> 8) & 7;
    if (mode === 3 || mode === 6) return; // reserved encodings: nothing is sent
    this.delivered++;
    this.backend?.deliver({
      destination: this.hi[pin] >>> 24,
      destMode: (lo & (1 << 11)) !== 0 ? 'logical' : 'physical',
      deliveryMode: mode,
      vector: lo & 0xff,
      trigger,
      pin,
      ioApicId: this.id,
    });
  }

  // ------------------------------------------------------------------ snapshots

  saveState(): unknown {
    return new IoApicState(this.regsel, this.id, this.lo.slice(), this.hi.slice(), this.pinLevel.slice());
  }

  loadState(state: unknown): void {
    if (!(state instanceof IoApicState) || state.lo.length !== this.pins) throw new InvalidArgumentError(`${this.name}.loadState: not an I/O APIC state of this device`);
    this.regsel = state.regsel;
    this.id = state.id;
    this.lo = state.lo.slice();
    this.hi = state.hi.slice();
    this.pinLevel = state.pinLevel.slice();
  }
}
