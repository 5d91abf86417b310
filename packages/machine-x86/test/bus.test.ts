import { ErrorCodes, InvalidArgumentError } from '@latelaunch/kernel';
import { describe, expect, it } from 'vitest';
import { Bus, BusConflictError, NO_INITIATOR, SparseMemory, type AccessSize, type MmioHandler, type PortHandler } from '../src/index.js';

const G = 2 ** 32;
function makeBus() {
  const memory = new SparseMemory({ ranges: [{ base: 0, size: 0x100000 }, { base: G, size: 0x10000 }] });
  return new Bus(memory);
}

/** A port device that logs accesses and answers `port * 0x01010101` truncated to the size. */
function recordingPorts(log: string[]): PortHandler {
  return {
    read(port, size, initiator) {
      log.push(`in${size * 8} ${port.toString(16)} cpu${initiator}`);
      return Number((BigInt(port) * 0x01010101n) & ((1n << BigInt(size * 8)) - 1n));
    },
    write(port, size, value, initiator) {
      log.push(`out${size * 8} ${port.toString(16)}=${value.toString(16)} cpu${initiator}`);
    },
  };
}

/** An MMIO device with 16 bytes of registers. */
function registerFile(log: string[]): MmioHandler & { regs: Uint8Array } {
  const regs = new Uint8Array(16);
  return {
    regs,
    read(offset: number, size: AccessSize) {
      log.push(`r${size} +${offset}`);
      let v = 0;
      for (let i = size - 1; i >= 0; i--) v = v * 256 + regs[offset + i];
      return v;
    },
    write(offset: number, size: AccessSize, value: number) {
      log.push(`w${size} +${offset}=${value.toString(16)}`);
      for (let i = 0; i < size; i++) regs[offset + i] = (value >>> (8 * i)) & 0xff;
    },
  };
}

describe('port I/O', () => {
  it('unclaimed ports read all-ones at every width; writes are ignored', () => {
    const bus = makeBus();
    expect(bus.in8(0x1234)).toBe(0xff);
    expect(bus.in16(0x1234)).toBe(0xffff);
    expect(bus.in32(0x1234)).toBe(0xffffffff);
    expect(bus.in32(0xfffe)).toBe(0xffffffff); // wraps past the end: still unclaimed
    bus.out32(0x1234, 0);
  });

  it('dispatches whole accesses to the owner and passes the initiator', () => {
    const bus = makeBus();
    const log: string[] = [];
    bus.registerPorts(0x100, 4, recordingPorts(log), 'dev');
    expect(bus.in8(0x101, 2)).toBe(0x01);
    expect(bus.in16(0x100)).toBe(0x0100);
    expect(bus.in32(0x100)).toBe(0x01010100);
    bus.out16(0x102, 0x1ffff);
    expect(log).toEqual(['in8 101 cpu2', 'in16 100 cpu-1', 'in32 100 cpu-1', 'out16 102=ffff cpu-1']);
    expect(bus.portOwner(0x103)).toBe('dev');
    expect(bus.portOwner(0x104)).toBeUndefined();
  });

  it('splits accesses that straddle owners into byte accesses (unclaimed bytes read 0xFF)', () => {
    const bus = makeBus();
    const log: string[] = [];
    bus.registerPorts(0x200, 1, recordingPorts(log), 'a');
    bus.registerPorts(0x201, 1, recordingPorts(log), 'b');
    // 0x200 -> 0x00 (0x200 * 0x01010101 & 0xff), 0x201 -> 0x01, 0x202/0x203 unclaimed
    expect(bus.in32(0x200)).toBe(0xffff0100);
    bus.out32(0x1ff, 0xaabbccdd);
    expect(log.slice(2)).toEqual(['out8 200=cc cpu-1', 'out8 201=bb cpu-1']);
  });

  it('refuses overlapping and out-of-range claims with typed errors; unregister frees the range', () => {
    const bus = makeBus();
    const reg = bus.registerPorts(0x3f8, 8, recordingPorts([]), 'com1');
    try {
      bus.registerPorts(0x3fc, 8, recordingPorts([]), 'other');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(BusConflictError);
      expect(e).toBeInstanceOf(InvalidArgumentError);
      const c = e as BusConflictError;
      expect(c.code).toBe(ErrorCodes.InvalidArgument);
      expect([c.space, c.owner, c.existingOwner, c.existingBase, c.existingSize]).toEqual(['port', 'other', 'com1', 0x3f8, 8]);
    }
    expect(() => bus.registerPorts(0xfffe, 4, recordingPorts([]), 'x')).toThrow(InvalidArgumentError);
    expect(() => bus.registerPorts(0, 0, recordingPorts([]), 'x')).toThrow(InvalidArgumentError);
    expect(bus.portMap()).toEqual([{ base: 0x3f8, size: 8, owner: 'com1' }]);
    reg.unregister();
    reg.unregister();
    expect(bus.portMap()).toEqual([]);
    bus.registerPorts(0x3fc, 8, recordingPorts([]), 'other');
  });
});

describe('MMIO', () => {
  it('routes accesses inside a region to its handler, with offsets, and everything else to memory', () => {
    const bus = makeBus();
    const log: string[] = [];
    const dev = registerFile(log);
    bus.registerMmio(0xfee00, 16, dev, 'regs'); // inside RAM: MMIO wins
    bus.memory.write32(0xfee00, 0x11111111);
    bus.write32(0xfee04, 0xdeadbeef);
    expect(bus.read32(0xfee04)).toBe(0xdeadbeef);
    expect(bus.read8(0xfee07)).toBe(0xde);
    expect(bus.read32(0xfee00)).toBe(0); // the register, not the RAM under it
    expect(bus.read32(0xfee10)).toBe(0); // RAM right after the region
    bus.write32(0xfee10, 5);
    expect(bus.memory.read32(0xfee10)).toBe(5);
    expect(log).toEqual(['w4 +4=deadbeef', 'r4 +4', 'r1 +7', 'r4 +0']);
  });

  it('64-bit accesses become two 32-bit accesses, low dword first', () => {
    const bus = makeBus();
    const log: string[] = [];
    bus.registerMmio(0x2000, 16, registerFile(log), 'regs');
    bus.write64(0x2000, 0x1122334455667788n);
    expect(bus.read64(0x2000)).toBe(0x1122334455667788n);
    const out = [0, 0];
    bus.read64Pair(0x2000, out);
    expect(out).toEqual([0x55667788, 0x11223344]);
    expect(log.slice(0, 4)).toEqual(['w4 +0=55667788', 'w4 +4=11223344', 'r4 +0', 'r4 +4']);
  });

  it('splits accesses straddling a region edge into bytes', () => {
    const bus = makeBus();
    const log: string[] = [];
    bus.registerMmio(0x3000, 4, registerFile(log), 'regs');
    bus.memory.write32(0x2ffc, 0xaabbccdd);
    bus.write32(0x3002, 0x01020304); // two bytes to the device, two to RAM
    expect(log).toEqual(['w1 +2=4', 'w1 +3=3']);
    expect(bus.memory.read16(0x3004)).toBe(0x0102);
    expect(bus.read32(0x2ffe)).toBe(0x0000aabb);
  });

  it('answers "is MMIO" per page with a bitmap, low and high', () => {
    const bus = makeBus();
    expect(bus.isMmioPage(0xfee)).toBe(false);
    const r = bus.registerMmio(0xfee00ff0, 0x20, registerFile([]), 'apic'); // straddles two pages
    bus.registerMmio(G + 0x8000, 0x10, registerFile([]), 'high');
    expect(bus.isMmioPage(0xfee00)).toBe(true);
    expect(bus.isMmioPage(0xfee01)).toBe(true);
    expect(bus.isMmioPage(0xfee02)).toBe(false);
    expect(bus.isMmioPage((G + 0x8000) / 4096)).toBe(true);
    expect(bus.isMmio(0xfee00ff0)).toBe(true);
    expect(bus.isMmio(0xfee00fef)).toBe(false);
    expect(bus.isMmio(G + 0x8010)).toBe(false);
    const e = bus.memory.epoch;
    r.unregister();
    expect(bus.memory.epoch).not.toBe(e); // cached page arrays must be re-checked
    expect(bus.isMmioPage(0xfee00)).toBe(false);
    expect(bus.mmioMap()).toEqual([{ base: G + 0x8000, size: 0x10, owner: 'high' }]);
  });

  it('a page stays MMIO while another region still touches it', () => {
    const bus = makeBus();
    const a = bus.registerMmio(0x5000, 0x10, registerFile([]), 'a');
    bus.registerMmio(0x5800, 0x10, registerFile([]), 'b');
    a.unregister();
    expect(bus.isMmioPage(5)).toBe(true);
    expect(bus.isMmio(0x5000)).toBe(false);
  });

  it('unclaimed, unbacked physical addresses read all-ones through the bus', () => {
    const bus = makeBus();
    expect(bus.read32(0x200000)).toBe(0xffffffff);
    expect(bus.read64(G + 0x10000)).toBe(0xffffffffffffffffn);
  });

  it('refuses overlapping MMIO regions with a typed error and passes the initiator', () => {
    const bus = makeBus();
    bus.registerMmio(0xfec00000, 0x1000, registerFile([]), 'ioapic');
    try {
      bus.registerMmio(0xfec00800, 0x1000, registerFile([]), 'x');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(BusConflictError);
      expect((e as BusConflictError).space).toBe('mmio');
      expect((e as BusConflictError).existingOwner).toBe('ioapic');
    }
    expect(() => bus.registerMmio(-1, 1, registerFile([]), 'x')).toThrow(InvalidArgumentError);
    expect(() => bus.registerMmio(0, 0, registerFile([]), 'x')).toThrow(InvalidArgumentError);
    const seen: number[] = [];
    bus.registerMmio(0xfee00000, 0x1000, { read: (_o, _s, cpu) => (seen.push(cpu), 0), write: (_o, _s, _v, cpu) => seen.push(cpu) }, 'apic');
    bus.read32(0xfee00020, 3);
    bus.write32(0xfee000b0, 0, 1);
    bus.read8(0xfee00000);
    expect(seen).toEqual([3, 1, NO_INITIATOR]);
  });
});
