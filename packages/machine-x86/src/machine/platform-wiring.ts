/**
 * The QEMU-compatible platform profile on a {@link Machine} (`new Machine({ platform: 'qemu' })`,
 * DESIGN §5): one local APIC per processor (`@latelaunch/apic`, APIC ID = the processor's initial
 * APIC ID — the machine's `apicIds`, by default the processor index — the BSP
 * flag on processor 0) connected by an `ApicFabric`, timed by the machine clock; each processor's
 * xAPIC page at 0xFEE00000 (accesses from processor i reach APIC i) and its x2APIC MSRs
 * (IA32_APIC_BASE, 0x800–0x8FF); and the profile's devices that the machine does not already have
 * (8259 pair → BSP LINT0, PIT, CMOS, PM timer, fw_cfg, I/O APIC → the fabric).
 */
import type { ApicInterruptMessage } from '@latelaunch/kernel';
import { ApicFabric, LocalApic } from '@latelaunch/apic';
import type { AccessSize, Bus } from '../bus/bus.js';
import type { VirtualClock } from '../clock/virtual-clock.js';
import { raiseInit, raiseNmi, raiseSipi, signalInterrupt } from '../cpu/interrupts.js';
import type { Processor } from '../cpu/processor.js';
import { Vec } from '../cpu/state.js';
import { configureProcessor, registerMsr, type MsrHandler } from '../cpu/system-context.js';
import type { BusDevice } from '../devices/device.js';
import { Uart16550 } from '../devices/uart16550.js';
import { createPlatformDevices, qemuPlatformProfile, type PlatformDevices } from '../firmware/platform.js';
import type { PcMemoryLayout } from '../memory/pc-layout.js';

/** Platform profiles a machine can be built with. */
export type MachinePlatform = 'qemu';

export const LOCAL_APIC_BASE = 0xfee00000;

/** The kinds the machine already provides itself (its own UART, debug-exit and POST devices are reused). */
const MACHINE_OWN_KINDS = new Set(['uart16550', 'debug-exit', 'post-code', 'local-apic']);

/**
 * The profile's devices except those the machine already has (UART, debug-exit, POST port), for
 * `cpus` processors and the machine's memory layout.
 */
export function createQemuPlatformDevices(
  cpus: number,
  layout: PcMemoryLayout,
  clock: VirtualClock,
  pmTimer?: { readonly port: number; readonly width: 24 | 32 } | null,
): PlatformDevices {
  const profile = qemuPlatformProfile({ cpus, ramBelow4G: layout.lowMemoryEnd, ramAbove4G: layout.highMemorySize, e820: layout.e820, ...(pmTimer !== undefined ? { pmTimer } : {}) });
  return createPlatformDevices({ ...profile, devices: profile.devices.filter((d) => !MACHINE_OWN_KINDS.has(d.kind)) }, { clock });
}

/** What {@link wireLocalApics} built. */
export interface LocalApicWiring {
  readonly apics: readonly LocalApic[];
  readonly fabric: ApicFabric;
}

/**
 * Creates and wires one local APIC per processor (see the file comment). `devices` are the
 * machine's devices: a UART among them has its IRQ wired to the platform's ISA interrupt lines.
 * `apicIds[i]` is processor i's APIC ID (LocalApic ID and initial APIC ID; default i).
 */
export function wireLocalApics(
  processors: readonly Processor[],
  bus: Bus,
  clock: VirtualClock,
  platform: PlatformDevices,
  devices: readonly BusDevice[],
  apicIds?: readonly number[],
): LocalApicWiring {
  const fabric = new ApicFabric();
  const apics: LocalApic[] = [];
  processors.forEach((p, i) => {
    const apicId = apicIds?.[i] ?? i;
    const apic = new LocalApic({
      apicId,
      bsp: i === 0,
      bus: fabric,
      time: clock,
      extInt: i === 0 && platform.pic ? platform.pic : undefined,
      cpu: {
        onInterrupt: () => signalInterrupt(p),
        onNmi: () => raiseNmi(p),
        onInit: () => raiseInit(p),
        onSipi: (v) => raiseSipi(p, v),
        onExtInt: () => signalInterrupt(p),
      },
    });
    apics.push(apic);
    fabric.attach(apic);
    const ctx = configureProcessor(p, { interruptController: apic, apicId, bsp: i === 0 });
    // The APIC's INIT reset happens when the processor takes the INIT (a VMX hook installed later
    // replaces this one: INIT is blocked/exits there).
    const previous = ctx.onInit;
    ctx.onInit = (q) => {
      if (previous !== null && previous(q)) return true;
      apic.initReset();
      return false;
    };
    const msr: MsrHandler = {
      read: (q, index) => {
        const r = apic.readMsr(index);
        if (!r.ok) return q.fault(Vec.GP, 0);
        return r.value;
      },
      write: (q, index, value) => {
        if (!apic.writeMsr(index, value).ok) q.fault(Vec.GP, 0);
      },
    };
    registerMsr(p, 0x1b, msr);
    for (let k = 0x800; k <= 0x8ff; k++) registerMsr(p, k, msr);
  });
  // xAPIC pages: one MMIO region, dispatched on the initiating processor (non-processor
  // initiators reach the BSP's). An APIC not decoding the page there (x2APIC, disabled,
  // relocated) reads all-ones and ignores writes.
  const apicFor = (initiator: number): LocalApic | null => {
    const a = apics[initiator] ?? apics[0];
    return a.mmioBase === LOCAL_APIC_BASE ? a : null;
  };
  bus.registerMmio(
    LOCAL_APIC_BASE,
    0x1000,
    {
      read: (offset: number, size: AccessSize, initiator: number) => {
        const a = apicFor(initiator);
        return a ? a.mmioRead(offset, size) : size === 4 ? 0xffffffff : (1 << (size * 8)) - 1;
      },
      write: (offset: number, size: AccessSize, value: number, initiator: number) => {
        apicFor(initiator)?.mmioWrite(offset, value, size);
      },
    },
    'local-apic',
  );
  // 8259 INTR → BSP LINT0; I/O APIC messages → the fabric, level EOIs back.
  const bsp = apics[0];
  platform.pic?.onIntr((level) => bsp.setLint(0, level));
  for (const io of platform.ioApics) {
    io.setBackend({
      deliver: (m) => {
        const msg: ApicInterruptMessage = {
          mode: m.deliveryMode,
          vector: m.vector,
          destination: m.destination,
          destMode: m.destMode,
          shorthand: 0,
          level: true,
          trigger: m.trigger,
          sourceApicId: -1,
          x2apic: false,
        };
        fabric.sendIpi(msg);
      },
    });
    fabric.onEoi((vector) => io.eoi(vector));
  }
  for (const d of devices) {
    if (d instanceof Uart16550) {
      const irq = d.irq;
      d.onIrq((level) => platform.setIsaIrq(irq, level));
    }
  }
  return { apics, fabric };
}
