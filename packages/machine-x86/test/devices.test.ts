import { ConfigError, InvalidArgumentError, Tokens, composeSystem, isLatelaunchError } from '@latelaunch/kernel';
import { container } from 'tsyringe';
import { describe, expect, it } from 'vitest';
import {
  Bus,
  BusConflictError,
  DebugExitDevice,
  DebugExitOptionsToken,
  PostCodePort,
  SparseMemory,
  Uart16550,
  debugExitPlugin,
  debugExitStatus,
  isBusDevice,
  postCodePlugin,
  uart16550Plugin,
  type BusDevice,
  type ExitRequest,
} from '../src/index.js';

const newBus = () => new Bus(new SparseMemory({ ranges: [{ base: 0, size: 0x10000 }] }));

describe('debug-exit (QEMU isa-debug-exit)', () => {
  it('status is (value << 1) | 1 for every width, without overflow', () => {
    expect(debugExitStatus(0)).toBe(1);
    expect(debugExitStatus(1)).toBe(3);
    expect(debugExitStatus(0x10)).toBe(0x21);
    expect(debugExitStatus(0x7f)).toBe(0xff);
    expect(debugExitStatus(0xffffffff)).toBe(0x1ffffffff);
  });

  it('a write to 0xF4 requests an exit the run loop can poll, and calls listeners once', () => {
    const bus = newBus();
    const dev = new DebugExitDevice();
    dev.attach(bus);
    const seen: ExitRequest[] = [];
    dev.onExit((r) => seen.push(r));
    expect(dev.exitRequested).toBe(false);
    expect(dev.exitRequest).toBeNull();
    bus.out8(0xf4, 0x10);
    expect(dev.exitRequested).toBe(true);
    expect(dev.exitRequest).toEqual({ value: 0x10, status: 0x21, exitCode: 0x21 });
    bus.out8(0xf4, 0x20); // first request wins
    expect(seen).toEqual([{ value: 0x10, status: 0x21, exitCode: 0x21 }]);
    expect(bus.in8(0xf4)).toBe(0xff);
    dev.reset();
    expect(dev.exitRequested).toBe(false);
  });

  it('32-bit writes keep the full value; exitCode is the low byte of the status', () => {
    const bus = newBus();
    const dev = new DebugExitDevice();
    dev.attach(bus);
    bus.out32(0xf4, 0x80000001);
    expect(dev.exitRequest).toEqual({ value: 0x80000001, status: 0x100000003, exitCode: 3 });
    dev.reset();
    bus.out16(0xf4, 0x1234);
    expect(dev.exitRequest?.value).toBe(0x1234);
  });

  it('iobase/iosize are configurable; the port range is claimed exclusively', () => {
    const bus = newBus();
    const dev = new DebugExitDevice({ iobase: 0x501, iosize: 2 });
    dev.attach(bus);
    expect(bus.portOwner(0x502)).toBe('debug-exit');
    expect(bus.portOwner(0x503)).toBeUndefined();
    expect(() => new DebugExitDevice({ iobase: 0x500 }).attach(bus)).toThrow(BusConflictError);
    expect(() => new DebugExitDevice({ iosize: 3 as 4 })).toThrow(InvalidArgumentError);
    bus.out8(0x502, 1);
    expect(dev.exitRequest?.status).toBe(3);
  });

  it('snapshots the request', () => {
    const dev = new DebugExitDevice();
    const s = dev.saveState();
    dev.write(5);
    const s2 = dev.saveState();
    dev.loadState(s);
    expect(dev.exitRequested).toBe(false);
    dev.loadState(s2);
    expect(dev.exitRequest?.status).toBe(11);
    expect(() => dev.loadState(null)).toThrow(InvalidArgumentError);
  });

  it('resolves through tsyringe with injected options', () => {
    const c = container.createChildContainer();
    c.register(DebugExitOptionsToken, { useValue: { iobase: 0x600, iosize: 1 } });
    const d = c.resolve(DebugExitDevice);
    expect([d.iobase, d.iosize]).toEqual([0x600, 1]);
  });
});

describe('POST code port 0x80', () => {
  it('records the last code, reads return it (0xFF before any write)', () => {
    const bus = newBus();
    const post = new PostCodePort();
    post.attach(bus);
    const codes: number[] = [];
    post.onCode((c) => codes.push(c));
    expect(bus.in8(0x80)).toBe(0xff);
    bus.out8(0x80, 0x12);
    bus.out8(0x80, 0x34);
    expect(post.lastCode).toBe(0x34);
    expect(bus.in8(0x80)).toBe(0x34);
    expect(post.writes).toBe(2);
    expect(post.history).toEqual([0x12, 0x34]);
    expect(codes).toEqual([0x12, 0x34]);
    bus.out16(0x80, 0xabcd); // low byte to 0x80, high byte to the unclaimed 0x81
    expect(post.lastCode).toBe(0xcd);
  });

  it('keeps a bounded history and snapshots it', () => {
    const post = new PostCodePort({ historySize: 3 });
    for (let i = 1; i <= 5; i++) post.write(i);
    expect(post.history).toEqual([3, 4, 5]);
    const s = post.saveState();
    post.write(6);
    post.loadState(s);
    expect([post.lastCode, post.writes, post.history]).toEqual([5, 5, [3, 4, 5]]);
    post.reset();
    expect([post.lastCode, post.writes, post.history]).toEqual([0xff, 0, []]);
  });
});

describe('device plugins', () => {
  it('compose into Tokens.Device / EnabledDevices with their default names', () => {
    const system = composeSystem({ plugins: [uart16550Plugin, debugExitPlugin, postCodePlugin] });
    const devices = system.resolveAll(Tokens.Device);
    expect(devices.map((d) => d.name)).toEqual(['com1', 'debug-exit', 'post-code']);
    expect(devices.every(isBusDevice)).toBe(true);
    const enabled = system.resolve(Tokens.EnabledDevices);
    expect(enabled.map((d) => d.name)).toEqual(['com1', 'debug-exit', 'post-code']);
    expect(enabled[0]).toBeInstanceOf(Uart16550);
    // Same instances on every resolution.
    expect(system.resolveAll(Tokens.Device)[0]).toBe(enabled[0]);
    // Attachable to a bus together.
    const bus = newBus();
    for (const d of enabled as unknown as BusDevice[]) d.attach(bus);
    expect(bus.portMap().map((p) => p.owner)).toEqual(['post-code', 'debug-exit', 'com1']);
  });

  it('take options from config.plugins and select by name', () => {
    const system = composeSystem({
      plugins: [uart16550Plugin, debugExitPlugin, postCodePlugin],
      config: {
        devices: ['com2', 'exit'],
        plugins: {
          'machine-x86.uart16550': { uarts: [{ base: 0x3f8 }, { base: 0x2f8 }] },
          'machine-x86.debug-exit': { iobase: 0x501, iosize: 2, name: 'exit' },
        },
      },
    });
    const enabled = system.resolve(Tokens.EnabledDevices) as unknown as BusDevice[];
    expect(enabled.map((d) => d.name)).toEqual(['com2', 'exit']);
    expect((enabled[1] as DebugExitDevice).iobase).toBe(0x501);
  });

  it('bad plugin options are config errors with paths', () => {
    try {
      composeSystem({ plugins: [uart16550Plugin], config: { plugins: { 'machine-x86.uart16550': { uarts: [{ base: 0x10000 }] } } } });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect(isLatelaunchError(e)).toBe(true);
      expect((e as ConfigError).issues[0].path).toContain('config.plugins.machine-x86.uart16550');
    }
  });

  it('plugins have stable ids and provide Device', () => {
    expect([uart16550Plugin.id, debugExitPlugin.id, postCodePlugin.id]).toEqual(['machine-x86.uart16550', 'machine-x86.debug-exit', 'machine-x86.post-code']);
    for (const p of [uart16550Plugin, debugExitPlugin, postCodePlugin]) expect(p.provides).toEqual(['Device']);
  });
});
