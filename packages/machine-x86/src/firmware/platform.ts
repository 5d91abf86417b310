/**
 * The QEMU-compatible PC platform profile (DESIGN §5): which devices sit at which addresses, and a
 * helper that instantiates and wires them.
 *
 * | device | where | IRQ |
 * |---|---|---|
 * | 16550A UART `com1` | ports 0x3F8–0x3FF | ISA 4 |
 * | isa-debug-exit | ports 0xF4–0xF7 | – |
 * | POST port | 0x80 | – |
 * | 8259 pair | 0x20/0x21, 0xA0/0xA1, ELCR 0x4D0/0x4D1 | INTR → BSP LINT0 (ExtINT) |
 * | 8254 PIT + port 0x61 | 0x40–0x43, 0x61 | channel 0 → ISA 0 (8259 IRQ0, I/O APIC GSI 2 via the MADT override) |
 * | CMOS/RTC | 0x70/0x71 | (ISA 8, not modelled) |
 * | ACPI PM timer | 0x608–0x60B (or the FADT's) | – |
 * | fw_cfg | 0x510/0x511 | – |
 * | I/O APIC | MMIO 0xFEC00000, 4 KiB | 24 pins, GSI base 0 |
 * | local APICs (xAPIC) | MMIO 0xFEE00000 | created by the machine (`@latelaunch/apic`) |
 *
 * ISA interrupts reach both controllers, as on a PC: the 8259 input `irq` and I/O APIC pin
 * `isaIrqToGsi[irq] - gsiBase`. Which one the OS uses is its choice (it masks the other).
 */
import type { VirtualClock } from '../clock/virtual-clock.js';
import { CmosRtc } from '../devices/cmos-rtc.js';
import { DebugExitDevice } from '../devices/debug-exit.js';
import type { BusDevice } from '../devices/device.js';
import { FwCfg } from '../devices/fw-cfg.js';
import { IoApic } from '../devices/ioapic.js';
import { Pic8259Pair } from '../devices/pic8259.js';
import { Pit8254 } from '../devices/pit8254.js';
import { AcpiPmTimer } from '../devices/pm-timer.js';
import { PostCodePort } from '../devices/post-code.js';
import { Uart16550 } from '../devices/uart16550.js';
import type { E820Entry } from '../memory/pc-layout.js';
import type { FirmwareResult } from './firmware.js';

export type PlatformDeviceKind = 'uart16550' | 'debug-exit' | 'post-code' | 'pic8259' | 'pit8254' | 'cmos-rtc' | 'pm-timer' | 'fw-cfg' | 'ioapic' | 'local-apic';

export interface PlatformDeviceSpec {
  readonly kind: PlatformDeviceKind;
  readonly name: string;
  /** Port ranges `[base, size]`. */
  readonly ports: readonly (readonly [number, number])[];
  /** MMIO range `[base, size]`, if any. */
  readonly mmio: readonly [number, number] | null;
  /** ISA IRQ the device raises, if any. */
  readonly irq: number | null;
  /** Constructor options of the device class. */
  readonly options: Readonly<Record<string, unknown>>;
}

export interface PlatformProfile {
  readonly name: 'qemu-pc';
  readonly devices: readonly PlatformDeviceSpec[];
  /** ISA IRQ → GSI. */
  readonly isaIrqToGsi: readonly number[];
  readonly localApicAddress: number;
}

export interface QemuPlatformConfig {
  /** Take everything (processors, memory, PM timer, I/O APICs, E820, IRQ routing) from a built firmware. */
  readonly firmware?: FirmwareResult;
  readonly cpus?: number;
  readonly maxCpus?: number;
  /** RAM below / above 4 GiB in bytes (without `firmware`). Default 128 MiB / 0. */
  readonly ramBelow4G?: number;
  readonly ramAbove4G?: number;
  readonly pmTimer?: { readonly port: number; readonly width: 24 | 32 } | null;
  readonly e820?: readonly E820Entry[];
  /** Unix seconds of the RTC at virtual time 0. */
  readonly rtcEpochSeconds?: number;
  /** Without the debug-exit / POST devices. Default both present. */
  readonly debugExit?: boolean;
  readonly postCode?: boolean;
}

/** fw_cfg's NUMA array: node index (position in `nodes`) per APIC ID, 0 … max APIC ID. */
function nodeOfApicId(processors: readonly { apicId: number; node: number | null }[], nodes: readonly number[]): number[] {
  const limit = Math.min(0x10000, Math.max(...processors.map((p) => p.apicId)) + 1);
  const out = new Array<number>(limit).fill(0);
  for (const p of processors) if (p.apicId < limit) out[p.apicId] = Math.max(0, nodes.indexOf(p.node ?? -1));
  return out;
}

/** The device list of QEMU's `pc` machine as latelaunch models it. */
export function qemuPlatformProfile(config: QemuPlatformConfig = {}): PlatformProfile {
  const fw = config.firmware;
  const enabledCpus = fw ? fw.processors.filter((p) => p.enabled).length : (config.cpus ?? 1);
  const maxCpus = fw ? fw.processors.length : (config.maxCpus ?? enabledCpus);
  const below = fw ? fw.layout.lowMemoryEnd : (config.ramBelow4G ?? 128 * 0x100000);
  const above = fw ? fw.layout.highMemorySize : (config.ramAbove4G ?? 0);
  const pm = fw ? fw.pmTimer : config.pmTimer === undefined ? { port: 0x608, width: 24 as const } : config.pmTimer;
  const e820 = fw ? fw.e820 : config.e820;
  const ioApics = fw ? fw.ioApics : [{ id: maxCpus < 0xff ? maxCpus : 0, address: 0xfec00000, gsiBase: 0 }];
  const isaIrqToGsi = fw ? fw.isaIrqToGsi : [2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
  const numa = fw?.numa;
  const devices: PlatformDeviceSpec[] = [
    { kind: 'uart16550', name: 'com1', ports: [[0x3f8, 8]], mmio: null, irq: 4, options: { base: 0x3f8, irq: 4 } },
  ];
  if (config.debugExit ?? true) devices.push({ kind: 'debug-exit', name: 'debug-exit', ports: [[0xf4, 4]], mmio: null, irq: null, options: { iobase: 0xf4, iosize: 4 } });
  if (config.postCode ?? true) devices.push({ kind: 'post-code', name: 'post-code', ports: [[0x80, 1]], mmio: null, irq: null, options: { port: 0x80 } });
  devices.push(
    { kind: 'pic8259', name: 'pic', ports: [[0x20, 2], [0xa0, 2], [0x4d0, 2]], mmio: null, irq: null, options: { masterBase: 0x20, slaveBase: 0xa0, elcrBase: 0x4d0 } },
    { kind: 'pit8254', name: 'pit', ports: [[0x40, 4], [0x61, 1]], mmio: null, irq: 0, options: { base: 0x40, port61: 0x61 } },
    {
      kind: 'cmos-rtc',
      name: 'cmos',
      ports: [[0x70, 2]],
      mmio: null,
      irq: 8,
      options: { base: 0x70, ramBelow4G: below, ramAbove4G: above, cpus: enabledCpus, ...(config.rtcEpochSeconds !== undefined ? { epochSeconds: config.rtcEpochSeconds } : {}) },
    },
  );
  if (pm) devices.push({ kind: 'pm-timer', name: 'pm-timer', ports: [[pm.port, 4]], mmio: null, irq: null, options: { port: pm.port, bits: pm.width } });
  devices.push({
    kind: 'fw-cfg',
    name: 'fw-cfg',
    ports: [[0x510, 2]],
    mmio: null,
    irq: null,
    options: {
      base: 0x510,
      ramSize: below + above,
      cpus: enabledCpus,
      maxCpus,
      ...(e820 ? { e820 } : {}),
      ...(numa && fw
        ? {
            numa: {
              nodeOfApicId: nodeOfApicId(fw.processors, numa.nodes.map((n) => n.node)),
              nodeMemory: numa.nodes.map((n) => n.memoryBytes),
            },
          }
        : {}),
    },
  });
  ioApics.forEach((io, i) =>
    devices.push({
      kind: 'ioapic',
      name: i === 0 ? 'ioapic' : `ioapic${i}`,
      ports: [],
      mmio: [io.address, 0x1000],
      irq: null,
      options: { base: io.address, id: io.id, gsiBase: io.gsiBase, pins: 24, name: i === 0 ? 'ioapic' : `ioapic${i}` },
    }),
  );
  const localApicAddress = fw?.localApicAddress ?? 0xfee00000;
  devices.push({ kind: 'local-apic', name: 'lapic', ports: [], mmio: [localApicAddress, 0x1000], irq: null, options: { base: localApicAddress, count: maxCpus } });
  return Object.freeze({ name: 'qemu-pc', devices: Object.freeze(devices), isaIrqToGsi: Object.freeze([...isaIrqToGsi]), localApicAddress });
}

/** The devices of a profile, instantiated and wired (the local APICs excepted). */
export interface PlatformDevices {
  /** Every instantiated device, in profile order: attach each to the bus. */
  readonly devices: readonly BusDevice[];
  readonly uart: Uart16550 | null;
  readonly debugExit: DebugExitDevice | null;
  readonly postCode: PostCodePort | null;
  readonly pic: Pic8259Pair | null;
  readonly pit: Pit8254 | null;
  readonly cmos: CmosRtc | null;
  readonly pmTimer: AcpiPmTimer | null;
  readonly fwCfg: FwCfg | null;
  readonly ioApics: readonly IoApic[];
  /** Drives ISA IRQ `irq` on the 8259 and on the I/O APIC pin it is routed to. */
  setIsaIrq(irq: number, level: boolean): void;
}

/**
 * Instantiates the profile's devices (not the local APICs), connects the time-driven ones to
 * `clock`, and wires ISA interrupts: PIT channel 0 → IRQ0, UART → its IRQ, each to the 8259 and to
 * the I/O APIC pin of `isaIrqToGsi`. The caller attaches `devices` to its bus, sets the I/O APICs'
 * delivery backend and connects the 8259's INTR to the BSP (`pic.onIntr`).
 */
export function createPlatformDevices(profile: PlatformProfile, options: { clock?: VirtualClock } = {}): PlatformDevices {
  const out: BusDevice[] = [];
  let uart: Uart16550 | null = null;
  let debugExit: DebugExitDevice | null = null;
  let postCode: PostCodePort | null = null;
  let pic: Pic8259Pair | null = null;
  let pit: Pit8254 | null = null;
  let cmos: CmosRtc | null = null;
  let pmTimer: AcpiPmTimer | null = null;
  let fwCfg: FwCfg | null = null;
  const ioApics: IoApic[] = [];
  const o = (s: PlatformDeviceSpec): never => s.options as never;
  for (const s of profile.devices) {
    switch (s.kind) {
      case 'uart16550':
        out.push((uart = new Uart16550(o(s))));
        break;
      case 'debug-exit':
        out.push((debugExit = new DebugExitDevice(o(s))));
        break;
      case 'post-code':
        out.push((postCode = new PostCodePort(o(s))));
        break;
      case 'pic8259':
        out.push((pic = new Pic8259Pair(o(s))));
        break;
      case 'pit8254':
        out.push((pit = new Pit8254(o(s))));
        break;
      case 'cmos-rtc':
        out.push((cmos = new CmosRtc(o(s))));
        break;
      case 'pm-timer':
        out.push((pmTimer = new AcpiPmTimer(o(s))));
        break;
      case 'fw-cfg':
        out.push((fwCfg = new FwCfg(o(s))));
        break;
      case 'ioapic': {
        const io = new IoApic(o(s));
        ioApics.push(io);
        out.push(io);
        break;
      }
      default:
        break;
    }
  }
  const setIsaIrq = (irq: number, level: boolean): void => {
    pic?.setIrq(irq, level);
    const gsi = profile.isaIrqToGsi[irq] ?? irq;
    for (const io of ioApics) if (gsi >= io.gsiBase && gsi < io.gsiBase + io.pins) io.setIrq(gsi - io.gsiBase, level);
  };
  pit?.onOutput((level) => setIsaIrq(0, level));
  if (uart) {
    const irq = uart.irq;
    uart.onIrq((level) => setIsaIrq(irq, level));
  }
  if (options.clock) for (const d of [pit, cmos, pmTimer]) d?.connectClock(options.clock);
  return { devices: out, uart, debugExit, postCode, pic, pit, cmos, pmTimer, fwCfg, ioApics, setIsaIrq };
}
