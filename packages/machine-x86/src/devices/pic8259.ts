/**
 * The cascaded 8259A programmable interrupt controller pair of a PC (Intel 8259A datasheet; the
 * behaviour follows QEMU's `i8259`, which PC software is tested against).
 *
 * Ports: master 0x20 (command) / 0x21 (data), slave 0xA0 / 0xA1; the slave's output drives the
 * master's IRQ2 (cascade). ELCR (edge/level control, PIIX/ICH) at 0x4D0 (master, IRQs 3–7) and
 * 0x4D1 (slave, IRQs 9–12, 14, 15): a 1 bit makes the IRQ level-triggered.
 *
 * - ICW1 (command port, bit 4 set) starts initialisation: IMR, ISR, priority rotation, special
 *   mask and poll mode are cleared; IRR keeps only level-triggered requests; then ICW2 (vector
 *   base, bits 7:3), ICW3 (unless ICW1 bit 1 "single"), ICW4 (if ICW1 bit 0: bit 1 auto-EOI,
 *   bit 4 special fully nested mode) on the data port. ICW1 bit 3 (level-triggered mode of the
 *   ISA-era chip) is ignored, as QEMU does: use the ELCR.
 * - OCW1 (data port after init): the interrupt mask register. Writing 0xFF to both masks disables
 *   the pair (what an OS does before switching to the I/O APIC).
 * - OCW2 (command, bits 4:3 = 00): bits 7:5 — 001 non-specific EOI, 011 specific EOI (bits 2:0),
 *   101 rotate on non-specific EOI, 111 rotate on specific EOI, 110 set priority (bits 2:0 become
 *   the lowest priority), 100/000 set/clear rotate in auto-EOI mode, 010 no-op.
 * - OCW3 (command, bits 4:3 = 01): bit 1 = 1 selects the register the command port reads (bit 0:
 *   0 IRR, 1 ISR); bit 2 poll (the next read of either port returns 0x80 | IRQ and acknowledges
 *   it, or 0); bits 6:5 = 11/10 set/clear special mask mode.
 * - Edge-triggered IRQs latch on a rising edge; level-triggered (ELCR) ones follow the line.
 *   Priority: IRQ (priority_add) highest, rotating; an IRQ is signalled when it is requested, not
 *   masked, and of higher priority than every in-service one.
 * - INTA: {@link Pic8259Pair.acknowledge} returns the vector (ICW2 base + IRQ; a request that
 *   went away is the spurious IRQ 7 of the chip), sets ISR (unless auto-EOI) and clears an edge
 *   IRR bit. {@link Pic8259Pair.pendingVector} is the side-effect-free peek. The master's INTR output
 *   is reported through {@link Pic8259Pair.onIntr} (the machine wires it to the BSP's LINT0,
 *   ExtINT) and {@link Pic8259Pair.intr}.
 *
 * Initial state: by default the state SeaBIOS leaves when it hands over to a kernel — master
 * vector base 0x08, slave 0x70, ICW4 present (8086 mode), every IRQ masked except the cascade
 * (IRQ2). `initialState: 'reset'` gives the chip's own power-on state (base 0, nothing masked,
 * not initialised).
 */
import { InvalidArgumentError } from '@latelaunch/kernel';
import { inject, injectable } from 'tsyringe';
import type { Bus } from '../bus/bus.js';
import { Attachment, bytePorts, optionsToken, type BusDevice } from './device.js';

export interface Pic8259Options {
  /** Master command port. Default 0x20 (data port = +1). */
  readonly masterBase?: number;
  /** Slave command port. Default 0xA0. */
  readonly slaveBase?: number;
  /** ELCR ports (2) base, or null for none. Default 0x4D0. */
  readonly elcrBase?: number | null;
  /** `'bios'` (default): as SeaBIOS leaves it (bases 0x08/0x70, all masked but IRQ2). `'reset'`: power-on. */
  readonly initialState?: 'bios' | 'reset';
  /** Device name. Default `pic`. */
  readonly name?: string;
}

/** Injection token for {@link Pic8259Options}. */
export const Pic8259OptionsToken = optionsToken<Pic8259Options>('Pic8259Options');

/** ELCR bits that can be set (IRQ0, 1, 2, 8 and 13 are always edge). */
const ELCR_MASK = [0xf8, 0xde] as const;

interface ChipRegs {
  irr: number;
  imr: number;
  isr: number;
  lastIrr: number;
  priorityAdd: number;
  irqBase: number;
  readIsr: boolean;
  poll: boolean;
  specialMask: boolean;
  initState: number;
  autoEoi: boolean;
  rotateOnAutoEoi: boolean;
  specialFullyNested: boolean;
  init4: boolean;
  single: boolean;
  elcr: number;
}

const freshChip = (): ChipRegs => ({
  irr: 0,
  imr: 0,
  isr: 0,
  lastIrr: 0,
  priorityAdd: 0,
  irqBase: 0,
  readIsr: false,
  poll: false,
  specialMask: false,
  initState: 0,
  autoEoi: false,
  rotateOnAutoEoi: false,
  specialFullyNested: false,
  init4: false,
  single: false,
  elcr: 0,
});

class PicState {
  constructor(
    readonly chips: readonly Readonly<ChipRegs>[],
    readonly lines: number,
    readonly intr: boolean,
  ) {
    Object.freeze(this);
  }
}

/** Decoded registers of one chip (tests, traces). */
export interface Pic8259ChipView {
  readonly irr: number;
  readonly isr: number;
  readonly imr: number;
  readonly vectorBase: number;
  readonly elcr: number;
  readonly initialized: boolean;
  readonly autoEoi: boolean;
  readonly lowestPriorityIrq: number;
}

@injectable()
export class Pic8259Pair implements BusDevice {
  readonly name: string;
  readonly description = 'cascaded 8259A PIC pair';
  readonly masterBase: number;
  readonly slaveBase: number;
  readonly elcrBase: number | null;
  private readonly initialState: 'bios' | 'reset';
  private chips: [ChipRegs, ChipRegs] = [freshChip(), freshChip()];
  /** Current level of the 16 input lines (bit per IRQ). */
  private lines = 0;
  private intrLevel = false;
  private listeners: ((level: boolean) => void)[] = [];
  private readonly attachment = new Attachment();

  constructor(@inject(Pic8259OptionsToken) options: Pic8259Options = {}) {
    this.masterBase = options.masterBase ?? 0x20;
    this.slaveBase = options.slaveBase ?? 0xa0;
    this.elcrBase = options.elcrBase === undefined ? 0x4d0 : options.elcrBase;
    this.initialState = options.initialState ?? 'bios';
    for (const p of [this.masterBase, this.slaveBase, ...(this.elcrBase === null ? [] : [this.elcrBase])]) {
      if (!Number.isInteger(p) || p < 0 || p > 0xfffe) throw new InvalidArgumentError(`pic port ${p} is outside the port space`);
    }
    this.name = options.name ?? 'pic';
    this.reset();
  }

  attach(bus: Bus): void {
    this.attachment.release();
    this.attachment.ports(bus, this.masterBase, 2, bytePorts((p) => this.readPort(0, p - this.masterBase), (p, v) => this.writePort(0, p - this.masterBase, v)), `${this.name}-master`);
    this.attachment.ports(bus, this.slaveBase, 2, bytePorts((p) => this.readPort(1, p - this.slaveBase), (p, v) => this.writePort(1, p - this.slaveBase, v)), `${this.name}-slave`);
    if (this.elcrBase !== null) {
      const base = this.elcrBase;
      this.attachment.ports(
        bus,
        base,
        2,
        bytePorts(
          (p) => this.chips[p - base].elcr,
          (p, v) => {
            const i = p - base;
            this.chips[i].elcr = v & ELCR_MASK[i];
            this.update();
          },
        ),
        `${this.name}-elcr`,
      );
    }
  }

  detach(): void {
    this.attachment.release();
  }

  reset(): void {
    this.chips = [freshChip(), freshChip()];
    this.lines = 0;
    if (this.initialState === 'bios') {
      const [m, s] = this.chips;
      m.irqBase = 0x08;
      s.irqBase = 0x70;
      m.init4 = s.init4 = true;
      m.imr = 0xfb;
      s.imr = 0xff;
    }
    this.setIntr(false);
    this.update();
  }

  // ------------------------------------------------------------------ lines and INTA

  /** Drives ISA IRQ `irq` (0–15; 2 is the cascade and is not a usable input). */
  setIrq(irq: number, level: boolean | number): void {
    if (!Number.isInteger(irq) || irq < 0 || irq > 15) return;
    const bit = 1 << irq;
    this.lines = level ? this.lines | bit : this.lines & ~bit;
    this.chipSetIrq(irq >> 3, irq & 7, !!level);
    this.update();
  }

  /** An edge on `irq`: raise then lower. */
  pulseIrq(irq: number): void {
    this.setIrq(irq, true);
    this.setIrq(irq, false);
  }

  /** The master's INTR output. */
  get intr(): boolean {
    return this.intrLevel;
  }

  /** Listener for INTR changes. Returns the unsubscribe function. */
  onIntr(listener: (level: boolean) => void): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** The vector an INTA cycle would return now, or -1 if INTR is low (no side effects). */
  pendingVector(): number {
    const m = this.chips[0];
    const irq = this.getIrq(0);
    if (irq < 0) return -1;
    if (irq === 2) {
      const irq2 = this.getIrq(1);
      return this.chips[1].irqBase + (irq2 >= 0 ? irq2 : 7);
    }
    return m.irqBase + irq;
  }

  /**
   * The INTA cycle: returns the vector and moves the IRQ to in-service (QEMU `pic_read_irq`).
   * Without a request, the master's spurious IRQ 7 vector.
   */
  acknowledge(): number {
    const [m, s] = this.chips;
    const irq = this.getIrq(0);
    let vector: number;
    if (irq >= 0) {
      if (irq === 2) {
        let irq2 = this.getIrq(1);
        if (irq2 >= 0) this.intack(1, irq2);
        else irq2 = 7;
        vector = s.irqBase + irq2;
      } else vector = m.irqBase + irq;
      this.intack(0, irq);
    } else vector = m.irqBase + 7;
    this.update();
    return vector;
  }

  /** Register view of chip 0 (master) or 1 (slave). */
  chip(index: 0 | 1): Pic8259ChipView {
    const c = this.chips[index];
    return {
      irr: c.irr,
      isr: c.isr,
      imr: c.imr,
      vectorBase: c.irqBase,
      elcr: c.elcr,
      initialized: c.initState === 0,
      autoEoi: c.autoEoi,
      lowestPriorityIrq: (c.priorityAdd + 7) & 7,
    };
  }

  /** True when both masks are 0xFF (the pair is disabled by software). */
  get fullyMasked(): boolean {
    return this.chips[0].imr === 0xff && this.chips[1].imr === 0xff;
  }

  // ------------------------------------------------------------------ ports

  /** Read of chip `i`'s port (0 command, 1 data). */
  readPort(i: number, addr: number): number {
    const c = this.chips[i];
    if (c.poll) {
      c.poll = false;
      return this.pollRead(i);
    }
    if (addr === 0) return c.readIsr ? c.isr : c.irr;
    return c.imr;
  }

  /** Write of chip `i`'s port. */
  writePort(i: number, addr: number, value: number): void {
    const c = this.chips[i];
    const v = value & 0xff;
    if (addr === 0) {
      if (v & 0x10) {
        // ICW1
        this.initReset(c);
        c.initState = 1;
        c.init4 = (v & 1) !== 0;
        c.single = (v & 2) !== 0;
      } else if (v & 0x08) {
        // OCW3
        if (v & 0x04) c.poll = true;
        if (v & 0x02) c.readIsr = (v & 1) !== 0;
        if (v & 0x40) c.specialMask = ((v >> 5) & 1) !== 0;
      } else {
        // OCW2
        const cmd = v >> 5;
        switch (cmd) {
          case 0:
          case 4:
            c.rotateOnAutoEoi = cmd === 4;
            break;
          case 1:
          case 5: {
            const priority = priorityOf(c, c.isr);
            if (priority !== 8) {
              const irq = (priority + c.priorityAdd) & 7;
              c.isr &= ~(1 << irq);
              if (cmd === 5) c.priorityAdd = (irq + 1) & 7;
            }
            break;
          }
          case 3:
            c.isr &= ~(1 << (v & 7));
            break;
          case 6:
            c.priorityAdd = (v + 1) & 7;
            break;
          case 7:
            c.isr &= ~(1 << (v & 7));
            c.priorityAdd = ((v & 7) + 1) & 7;
            break;
          default:
            break;
        }
      }
    } else {
      switch (c.initState) {
        case 0:
          c.imr = v;
          break;
        case 1:
          c.irqBase = v & 0xf8;
          c.initState = c.single ? (c.init4 ? 3 : 0) : 2;
          break;
        case 2:
          c.initState = c.init4 ? 3 : 0;
          break;
        case 3:
          c.specialFullyNested = ((v >> 4) & 1) !== 0;
          c.autoEoi = ((v >> 1) & 1) !== 0;
          c.initState = 0;
          break;
        default:
          break;
      }
    }
    this.update();
  }

  // ------------------------------------------------------------------ internals

  private initReset(c: ChipRegs): void {
    c.lastIrr = 0;
    c.irr &= c.elcr;
    c.imr = 0;
    c.isr = 0;
    c.priorityAdd = 0;
    c.irqBase = 0;
    c.readIsr = false;
    c.poll = false;
    c.specialMask = false;
    c.initState = 0;
    c.autoEoi = false;
    c.rotateOnAutoEoi = false;
    c.specialFullyNested = false;
    c.init4 = false;
    c.single = false;
  }

  private chipSetIrq(i: number, irq: number, level: boolean): void {
    const c = this.chips[i];
    const mask = 1 << irq;
    if (c.elcr & mask) {
      if (level) {
        c.irr |= mask;
        c.lastIrr |= mask;
      } else {
        c.irr &= ~mask;
        c.lastIrr &= ~mask;
      }
    } else if (level) {
      if ((c.lastIrr & mask) === 0) c.irr |= mask;
      c.lastIrr |= mask;
    } else c.lastIrr &= ~mask;
  }

  /** The IRQ chip `i` signals, or -1 (QEMU `pic_get_irq`). */
  private getIrq(i: number): number {
    const c = this.chips[i];
    const priority = priorityOf(c, c.irr & ~c.imr);
    if (priority === 8) return -1;
    let mask = c.isr;
    if (c.specialMask) mask &= ~c.imr;
    if (c.specialFullyNested && i === 0) mask &= ~(1 << 2);
    const current = priorityOf(c, mask);
    return priority < current ? (priority + c.priorityAdd) & 7 : -1;
  }

  private intack(i: number, irq: number): void {
    const c = this.chips[i];
    if (c.autoEoi) {
      if (c.rotateOnAutoEoi) c.priorityAdd = (irq + 1) & 7;
    } else c.isr |= 1 << irq;
    if ((c.elcr & (1 << irq)) === 0) c.irr &= ~(1 << irq);
  }

  private pollRead(i: number): number {
    const irq = this.getIrq(i);
    if (irq < 0) {
      this.update();
      return 0;
    }
    this.intack(i, irq);
    if (i === 1) {
      // The slave's request is no longer pending at the master's cascade input.
      this.chipSetIrq(0, 2, false);
    }
    this.update();
    return irq | 0x80;
  }

  /** Propagates the slave's output to IRQ2 and recomputes INTR. */
  private update(): void {
    this.chipSetIrq(0, 2, this.getIrq(1) >= 0);
    this.setIntr(this.getIrq(0) >= 0);
  }

  private setIntr(level: boolean): void {
    if (level === this.intrLevel) return;
    this.intrLevel = level;
    for (const l of this.listeners) l(level);
  }

  // ------------------------------------------------------------------ snapshots

  saveState(): unknown {
    return new PicState([Object.freeze({ ...this.chips[0] }), Object.freeze({ ...this.chips[1] })], this.lines, this.intrLevel);
  }

  loadState(state: unknown): void {
    if (!(state instanceof PicState)) throw new InvalidArgumentError(`${this.name}.loadState: not a PIC state`);
    this.chips = [{ ...state.chips[0] }, { ...state.chips[1] }];
    this.lines = state.lines;
    this.setIntr(state.intr);
  }
}

/** QEMU `get_priority`: 0 = highest; 8 = none of `mask`. */
function priorityOf(c: ChipRegs, mask: number): number {
  if ((mask & 0xff) === 0) return 8;
  let priority = 0;
  while ((mask & (1 << ((priority + c.priorityAdd) & 7))) === 0) priority++;
  return priority;
}
