import { InvalidArgumentError } from '@latelaunch/kernel';
import { inject, injectable } from 'tsyringe';
import type { Bus } from '../bus/bus.js';
import { Attachment, bytePorts, optionsToken, type BusDevice } from './device.js';
import { OutputBuffer, OutputMark } from './output-buffer.js';

export interface Uart16550Options {
  /** First of the 8 I/O ports. Default 0x3F8 (COM1). */
  readonly base?: number;
  /** Device name (unique among devices). Default `com1`..`com4` for the standard bases, else `uart@<base>`. */
  readonly name?: string;
  /** ISA IRQ line the machine wires the interrupt output to (informational). Default 4 for 0x3F8/0x3E8, 3 otherwise. */
  readonly irq?: number;
}

/** Injection token for {@link Uart16550Options}. */
export const Uart16550OptionsToken = optionsToken<Uart16550Options>('Uart16550Options');

// Register offsets.
const RBR_THR_DLL = 0;
const IER_DLM = 1;
const IIR_FCR = 2;
const LCR = 3;
const MCR = 4;
const LSR = 5;
const MSR = 6;
const SCR = 7;

// Bits.
const IER_ERBFI = 0x01; // received data available
const IER_ETBEI = 0x02; // THR empty
const IER_ELSI = 0x04; // receiver line status
const IER_EDSSI = 0x08; // modem status
const LCR_DLAB = 0x80;
const MCR_DTR = 0x01;
const MCR_RTS = 0x02;
const MCR_OUT1 = 0x04;
const MCR_OUT2 = 0x08;
const MCR_LOOP = 0x10;
const LSR_DR = 0x01;
const LSR_ERRORS = 0x1e; // OE | PE | FE | BI
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
const IIR_NO_INT = 0x01;
const IIR_RLS = 0x06;
const IIR_RDA = 0x04;
const IIR_THRE = 0x02;
const IIR_MS = 0x00;
const IIR_FIFO = 0xc0;
const FCR_ENABLE = 0x01;
const FCR_CLEAR_RX = 0x02;
const MSR_CTS = 0x10;
const MSR_DSR = 0x20;
const MSR_RI = 0x40;
const MSR_DCD = 0x80;
const MSR_DELTAS = 0x0f;

/** Input clock / 16: the baud rate for divisor 1. */
export const UART_BASE_BAUD = 115200;

const STANDARD_NAMES: Record<number, string> = { 0x3f8: 'com1', 0x2f8: 'com2', 0x3e8: 'com3', 0x2e8: 'com4' };

class UartState {
  constructor(
    readonly regs: Readonly<{ ier: number; lcr: number; mcr: number; lsrErrors: number; msr: number; scr: number; dll: number; dlm: number; fcr: number }>,
    readonly thrIpending: boolean,
    readonly rx: readonly number[],
    readonly output: OutputMark,
    readonly irqLevel: boolean,
  ) {
    Object.freeze(this);
  }
}

/**
 * A 16550A UART (serial console). Transmission is instantaneous: LSR always reports THRE and
 * TEMT, and every byte written to THR is appended to {@link text}/{@link bytes} and passed to the
 * {@link onTransmit} listeners. Input is queued with {@link receive}; RBR pops it and LSR.DR tells
 * whether any is left. Loopback (MCR bit 4) routes THR to the receive queue and MCR to MSR, as the
 * Linux 8250 probe expects.
 *
 * Interrupts: IIR reports the highest-priority pending cause (line status > received data > THR
 * empty > modem status); bits 7:6 are set while FIFOs are enabled. The interrupt output
 * ({@link irqLevel}) is the pending state gated by MCR.OUT2, as on PC hardware.
 */
@injectable()
export class Uart16550 implements BusDevice {
  readonly name: string;
  readonly description = '16550A UART';
  readonly base: number;
  readonly irq: number;

  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private lsrErrors = 0;
  private msr = MSR_DCD | MSR_DSR | MSR_CTS;
  private scr = 0;
  private dll = 0x0c; // 9600 baud until the guest programs it
  private dlm = 0;
  private fcr = 0;
  private thrIpending = false;
  private rx: number[] = [];
  private readonly out = new OutputBuffer();
  private level = false;
  private readonly attachment = new Attachment();
  private transmitListeners: ((byte: number) => void)[] = [];
  private irqListeners: ((level: boolean) => void)[] = [];

  constructor(@inject(Uart16550OptionsToken) options: Uart16550Options = {}) {
    const base = options.base ?? 0x3f8;
    if (!Number.isInteger(base) || base < 0 || base > 0xfff8) throw new InvalidArgumentError(`UART base port ${base} must be in 0..0xfff8`);
    this.base = base;
    this.name = options.name ?? STANDARD_NAMES[base] ?? `uart@${base.toString(16)}`;
    this.irq = options.irq ?? (base === 0x3f8 || base === 0x3e8 ? 4 : 3);
  }

  attach(bus: Bus): void {
    this.attachment.release();
    this.attachment.ports(
      bus,
      this.base,
      8,
      bytePorts(
        (p) => this.readRegister(p - this.base),
        (p, v) => this.writeRegister(p - this.base, v),
      ),
      this.name,
    );
  }

  detach(): void {
    this.attachment.release();
  }

  reset(): void {
    this.ier = 0;
    this.lcr = 0;
    this.mcr = 0;
    this.lsrErrors = 0;
    this.msr = MSR_DCD | MSR_DSR | MSR_CTS;
    this.scr = 0;
    this.dll = 0x0c;
    this.dlm = 0;
    this.fcr = 0;
    this.thrIpending = false;
    this.rx = [];
    this.updateIrq();
  }

  // ---------------------------------------------------------------- host side

  /** Everything transmitted so far, decoded as UTF-8. */
  get text(): string {
    return this.out.text();
  }

  /** Everything transmitted so far (a copy). */
  bytes(): Uint8Array {
    return this.out.bytes();
  }

  /** Number of bytes transmitted so far. */
  get transmittedLength(): number {
    return this.out.length;
  }

  /** Forgets the captured output (not part of the guest-visible state). */
  clearOutput(): void {
    this.out.clear();
  }

  /** Called with every transmitted byte. Returns the unsubscribe function. */
  onTransmit(listener: (byte: number) => void): () => void {
    this.transmitListeners = [...this.transmitListeners, listener];
    return () => {
      this.transmitListeners = this.transmitListeners.filter((l) => l !== listener);
    };
  }

  /** Called when the interrupt output changes level. Returns the unsubscribe function. */
  onIrq(listener: (level: boolean) => void): () => void {
    this.irqListeners = [...this.irqListeners, listener];
    return () => {
      this.irqListeners = this.irqListeners.filter((l) => l !== listener);
    };
  }

  /** Queues input for the guest (bytes, or a string encoded as UTF-8). */
  receive(input: string | Uint8Array | readonly number[]): void {
    const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
    for (const b of bytes) this.rx.push(b & 0xff);
    this.updateIrq();
  }

  /** Bytes queued for the guest and not read yet. */
  get pendingInput(): number {
    return this.rx.length;
  }

  /** Current level of the interrupt output. */
  get irqLevel(): boolean {
    return this.level;
  }

  /** Programmed divisor latch (0 means 65536 on real parts). */
  get divisor(): number {
    return (this.dlm << 8) | this.dll;
  }

  /** Baud rate from the divisor latch. */
  get baudRate(): number {
    return UART_BASE_BAUD / (this.divisor || 0x10000);
  }

  /** Line format from LCR: data bits, parity, stop bits. */
  get lineFormat(): { dataBits: number; parity: 'none' | 'odd' | 'even' | 'mark' | 'space'; stopBits: 1 | 1.5 | 2 } {
    const dataBits = 5 + (this.lcr & 3);
    const parity = (this.lcr & 0x08) === 0 ? 'none' : (['odd', 'even', 'mark', 'space'] as const)[(this.lcr >> 4) & 3];
    const stopBits = (this.lcr & 0x04) === 0 ? 1 : dataBits === 5 ? 1.5 : 2;
    return { dataBits, parity, stopBits };
  }

  // ---------------------------------------------------------------- registers

  /** Reads register `offset` (0..7) with its side effects. */
  readRegister(offset: number): number {
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case RBR_THR_DLL: {
        if (dlab) return this.dll;
        const b = this.rx.length ? this.rx.shift()! : 0;
        this.updateIrq();
        return b;
      }
      case IER_DLM:
        return dlab ? this.dlm : this.ier;
      case IIR_FCR: {
        const iir = this.computeIir();
        if ((iir & 0x0f) === IIR_THRE) {
          this.thrIpending = false;
          this.updateIrq();
        }
        return iir | ((this.fcr & FCR_ENABLE) !== 0 ? IIR_FIFO : 0);
      }
      case LCR:
        return this.lcr;
      case MCR:
        return this.mcr;
      case LSR: {
        const v = this.lsr();
        if (this.lsrErrors !== 0) {
          this.lsrErrors = 0;
          this.updateIrq();
        }
        return v;
      }
      case MSR: {
        const v = this.currentMsr();
        if ((this.msr & MSR_DELTAS) !== 0) {
          this.msr &= ~MSR_DELTAS;
          this.updateIrq();
        }
        return v;
      }
      case SCR:
        return this.scr;
      default:
        return 0xff;
    }
  }

  /** Writes register `offset` (0..7) with its side effects. */
  writeRegister(offset: number, value: number): void {
    value &= 0xff;
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case RBR_THR_DLL:
        if (dlab) this.dll = value;
        else this.transmit(value);
        break;
      case IER_DLM:
        if (dlab) this.dlm = value;
        else {
          const old = this.ier;
          this.ier = value & 0x0f;
          // Enabling the THRE interrupt while THR is empty (always) raises it.
          if ((this.ier & IER_ETBEI) !== 0 && (old & IER_ETBEI) === 0) this.thrIpending = true;
        }
        break;
      case IIR_FCR:
        if ((value & FCR_CLEAR_RX) !== 0) this.rx = [];
        this.fcr = value & 0xc9; // enable, DMA mode, trigger level; clear bits self-reset
        break;
      case LCR:
        this.lcr = value;
        break;
      case MCR:
        this.mcr = value & 0x1f;
        break;
      case LSR: // factory test register: writes ignored
      case MSR:
        break;
      case SCR:
        this.scr = value;
        break;
    }
    this.updateIrq();
  }

  private transmit(byte: number): void {
    this.thrIpending = false;
    if ((this.mcr & MCR_LOOP) !== 0) {
      this.rx.push(byte);
    } else {
      this.out.push(byte);
      for (const l of this.transmitListeners) l(byte);
    }
    // Transmission is instantaneous: THR is empty again.
    if ((this.ier & IER_ETBEI) !== 0) this.thrIpending = true;
  }

  private lsr(): number {
    return (this.rx.length !== 0 ? LSR_DR : 0) | this.lsrErrors | LSR_THRE | LSR_TEMT;
  }

  private currentMsr(): number {
    if ((this.mcr & MCR_LOOP) === 0) return this.msr;
    const m = this.mcr;
    return (
      (this.msr & MSR_DELTAS) |
      ((m & MCR_RTS) !== 0 ? MSR_CTS : 0) |
      ((m & MCR_DTR) !== 0 ? MSR_DSR : 0) |
      ((m & MCR_OUT1) !== 0 ? MSR_RI : 0) |
      ((m & MCR_OUT2) !== 0 ? MSR_DCD : 0)
    );
  }

  private computeIir(): number {
    const ier = this.ier;
    if ((ier & IER_ELSI) !== 0 && (this.lsrErrors & LSR_ERRORS) !== 0) return IIR_RLS;
    if ((ier & IER_ERBFI) !== 0 && this.rx.length !== 0) return IIR_RDA;
    if ((ier & IER_ETBEI) !== 0 && this.thrIpending) return IIR_THRE;
    if ((ier & IER_EDSSI) !== 0 && (this.msr & MSR_DELTAS) !== 0) return IIR_MS;
    return IIR_NO_INT;
  }

  private updateIrq(): void {
    const level = (this.computeIir() & IIR_NO_INT) === 0 && (this.mcr & MCR_OUT2) !== 0;
    if (level !== this.level) {
      this.level = level;
      for (const l of this.irqListeners) l(level);
    }
  }

  // ---------------------------------------------------------------- snapshots

  saveState(): unknown {
    return new UartState(
      Object.freeze({ ier: this.ier, lcr: this.lcr, mcr: this.mcr, lsrErrors: this.lsrErrors, msr: this.msr, scr: this.scr, dll: this.dll, dlm: this.dlm, fcr: this.fcr }),
      this.thrIpending,
      Object.freeze([...this.rx]),
      this.out.mark(),
      this.level,
    );
  }

  /** Restores registers, input queue and captured output. The IRQ level is restored silently. */
  loadState(state: unknown): void {
    if (!(state instanceof UartState)) throw new InvalidArgumentError(`${this.name}.loadState: not a UART state`);
    ({ ier: this.ier, lcr: this.lcr, mcr: this.mcr, lsrErrors: this.lsrErrors, msr: this.msr, scr: this.scr, dll: this.dll, dlm: this.dlm, fcr: this.fcr } = state.regs);
    this.thrIpending = state.thrIpending;
    this.rx = [...state.rx];
    this.out.reset(state.output);
    this.level = state.irqLevel;
  }
}
