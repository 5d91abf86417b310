import { InvalidArgumentError } from '@latelaunch/kernel';
import { container } from 'tsyringe';
import { describe, expect, it } from 'vitest';
import { Bus, SparseMemory, Uart16550, Uart16550OptionsToken } from '../src/index.js';

const COM1 = 0x3f8;
const [THR, IER, IIR, LCR, MCR, LSR, MSR, SCR] = [0, 1, 2, 3, 4, 5, 6, 7].map((o) => COM1 + o);
const FCR = IIR;

function setup() {
  const bus = new Bus(new SparseMemory({ ranges: [{ base: 0, size: 0x10000 }] }));
  const uart = new Uart16550();
  uart.attach(bus);
  return { bus, uart };
}

function print(bus: Bus, s: string) {
  for (const ch of Buffer.from(s, 'utf8')) {
    while ((bus.in8(LSR) & 0x20) === 0);
    bus.out8(THR, ch);
  }
}

describe('16550 UART', () => {
  it('defaults: COM1 at 0x3F8, IRQ 4, name com1; other bases get their COM name', () => {
    const { uart } = setup();
    expect([uart.name, uart.base, uart.irq]).toEqual(['com1', 0x3f8, 4]);
    expect(new Uart16550({ base: 0x2f8 }).name).toBe('com2');
    expect(new Uart16550({ base: 0x2f8 }).irq).toBe(3);
    expect(new Uart16550({ base: 0x500 }).name).toBe('uart@500');
    expect(() => new Uart16550({ base: 0x10000 })).toThrow(InvalidArgumentError);
  });

  it('captures transmitted bytes as text and calls listeners', () => {
    const { bus, uart } = setup();
    const got: number[] = [];
    uart.onTransmit((b) => got.push(b));
    print(bus, 'hello, wörld\n');
    expect(uart.text).toBe('hello, wörld\n');
    expect(uart.transmittedLength).toBe(14);
    expect(got.length).toBe(14);
    expect([...uart.bytes().subarray(0, 5)]).toEqual([...Buffer.from('hello')]);
    uart.clearOutput();
    expect(uart.text).toBe('');
  });

  it('LSR: THRE and TEMT always set; DR follows the input queue', () => {
    const { bus, uart } = setup();
    expect(bus.in8(LSR)).toBe(0x60);
    uart.receive('ok');
    expect(uart.pendingInput).toBe(2);
    expect(bus.in8(LSR)).toBe(0x61);
    expect(bus.in8(THR)).toBe(0x6f);
    expect(bus.in8(THR)).toBe(0x6b);
    expect(bus.in8(LSR)).toBe(0x60);
    bus.out8(LSR, 0); // factory test register: ignored
    expect(bus.in8(LSR)).toBe(0x60);
  });

  it('DLAB switches offsets 0/1 to the divisor latch without transmitting', () => {
    const { bus, uart } = setup();
    bus.out8(IER, 0x05);
    bus.out8(LCR, 0x80);
    bus.out8(THR, 0x01); // DLL
    bus.out8(IER, 0x00); // DLM
    expect(bus.in8(THR)).toBe(0x01);
    expect(bus.in8(IER)).toBe(0x00);
    bus.out8(LCR, 0x03); // 8N1, DLAB off
    expect(uart.divisor).toBe(1);
    expect(uart.baudRate).toBe(115200);
    expect(uart.lineFormat).toEqual({ dataBits: 8, parity: 'none', stopBits: 1 });
    expect(bus.in8(IER)).toBe(0x05); // IER untouched by the DLM write
    expect(uart.text).toBe('');
    bus.out8(LCR, 0x1f); // 8 bits, 2 stop, even parity
    expect(uart.lineFormat).toEqual({ dataBits: 8, parity: 'even', stopBits: 2 });
    expect(bus.in8(LCR)).toBe(0x1f);
  });

  it('scratch register holds any byte; MCR keeps 5 bits; IER keeps 4 bits', () => {
    const { bus } = setup();
    for (const v of [0x00, 0x55, 0xaa, 0xff]) {
      bus.out8(SCR, v);
      expect(bus.in8(SCR)).toBe(v);
    }
    bus.out8(MCR, 0xff);
    expect(bus.in8(MCR)).toBe(0x1f);
    bus.out8(MCR, 0);
    bus.out8(IER, 0xff);
    expect(bus.in8(IER)).toBe(0x0f);
  });

  it('IIR: no interrupt by default; FIFO bits with FCR enable; priorities RDA > THRE; reading IIR clears THRE', () => {
    const { bus, uart } = setup();
    expect(bus.in8(IIR)).toBe(0x01);
    bus.out8(FCR, 0x07);
    expect(bus.in8(IIR)).toBe(0xc1);
    bus.out8(FCR, 0x00);
    bus.out8(IER, 0x02); // enable THRE: THR is empty, so it is pending at once
    expect(bus.in8(IIR)).toBe(0x02);
    expect(bus.in8(IIR)).toBe(0x01); // cleared by the read
    bus.out8(THR, 0x41); // transmit completes instantly: THRE pending again
    uart.receive([0x42]);
    bus.out8(IER, 0x03);
    expect(bus.in8(IIR)).toBe(0x04); // received data outranks THRE
    expect(bus.in8(THR)).toBe(0x42);
    expect(bus.in8(IIR)).toBe(0x02);
    expect(bus.in8(IIR)).toBe(0x01);
  });

  it('drives the IRQ output when an interrupt is pending and OUT2 is set', () => {
    const { bus, uart } = setup();
    const levels: boolean[] = [];
    uart.onIrq((l) => levels.push(l));
    uart.receive('x');
    bus.out8(IER, 0x01);
    expect(uart.irqLevel).toBe(false); // OUT2 clear: gated
    bus.out8(MCR, 0x08);
    expect(uart.irqLevel).toBe(true);
    bus.in8(THR);
    expect(uart.irqLevel).toBe(false);
    expect(levels).toEqual([true, false]);
  });

  it('loopback: THR goes to the receive side and MCR shows in MSR (Linux 8250 probe)', () => {
    const { bus, uart } = setup();
    expect(bus.in8(MSR) & 0xf0).toBe(0xb0);
    bus.out8(MCR, 0x10 | 0x0a); // LOOP | RTS | OUT2
    expect(bus.in8(MSR) & 0xf0).toBe(0x90);
    bus.out8(MCR, 0x1f);
    expect(bus.in8(MSR) & 0xf0).toBe(0xf0);
    bus.out8(THR, 0x5a);
    expect(uart.text).toBe('');
    expect(bus.in8(LSR) & 1).toBe(1);
    expect(bus.in8(THR)).toBe(0x5a);
  });

  it('FCR bit 1 clears pending input', () => {
    const { bus, uart } = setup();
    uart.receive('abc');
    bus.out8(FCR, 0x03);
    expect(uart.pendingInput).toBe(0);
    expect(bus.in8(LSR) & 1).toBe(0);
  });

  it('16/32-bit port accesses are split into register accesses', () => {
    const { bus } = setup();
    bus.out8(SCR, 0x77);
    expect(bus.in16(MSR)).toBe(0x77b0);
    expect(bus.in32(0x3fc) >>> 24).toBe(0x77);
  });

  it('snapshots registers, input and output; restoring truncates the captured text', () => {
    const { bus, uart } = setup();
    print(bus, 'one ');
    bus.out8(SCR, 1);
    uart.receive('q');
    const s = uart.saveState();
    print(bus, 'two ');
    bus.out8(SCR, 2);
    bus.in8(THR);
    const s2 = uart.saveState();
    uart.loadState(s);
    expect(uart.text).toBe('one ');
    expect(bus.in8(SCR)).toBe(1);
    expect(uart.pendingInput).toBe(1);
    print(bus, 'three');
    expect(uart.text).toBe('one three');
    uart.loadState(s2);
    expect(uart.text).toBe('one two ');
    expect(uart.pendingInput).toBe(0);
    uart.loadState(s);
    expect(uart.text).toBe('one ');
    expect(() => uart.loadState({})).toThrow(InvalidArgumentError);
  });

  it('thousands of snapshots with output in between stay exact', () => {
    const { bus, uart } = setup();
    const states: unknown[] = [];
    for (let i = 0; i < 2000; i++) {
      bus.out8(THR, 0x30 + (i % 10));
      states.push(uart.saveState());
    }
    for (const i of [1999, 5, 1000, 0]) {
      uart.loadState(states[i]);
      expect(uart.transmittedLength).toBe(i + 1);
      expect(uart.text.at(-1)).toBe(String(i % 10));
      bus.out8(THR, 0x21); // diverge
    }
    uart.loadState(states[1999]);
    expect(uart.text.slice(0, 12)).toBe('012345678901');
  });

  it('reset and detach', () => {
    const { bus, uart } = setup();
    bus.out8(SCR, 9);
    bus.out8(LCR, 0x83);
    uart.reset();
    expect(bus.in8(SCR)).toBe(0);
    uart.detach();
    expect(bus.in8(SCR)).toBe(0xff);
    expect(bus.portOwner(COM1)).toBeUndefined();
  });

  it('is constructible by tsyringe with injected options', () => {
    const child = container.createChildContainer();
    child.register(Uart16550OptionsToken, { useValue: { base: 0x2f8, name: 'console' } });
    const u = child.resolve(Uart16550);
    expect([u.name, u.base]).toEqual(['console', 0x2f8]);
  });
});
