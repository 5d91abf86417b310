import { Tokens, definePlugin, type SystemConfig } from '@latelaunch/kernel';
import type { DependencyContainer } from 'tsyringe';
import { z } from 'zod';
import { DebugExitDevice } from './debug-exit.js';
import { PostCodePort } from './post-code.js';
import { Uart16550 } from './uart16550.js';
import { IoApic } from './ioapic.js';
import { Pic8259Pair } from './pic8259.js';
import { AcpiPmTimer } from './pm-timer.js';
import { Pit8254 } from './pit8254.js';
import { CmosRtc } from './cmos-rtc.js';
import { FwCfg } from './fw-cfg.js';

const port = z.number().int().min(0).max(0xffff);

/** Options of `machine-x86.uart16550` (`config.plugins['machine-x86.uart16550']`). */
export const Uart16550PluginConfigSchema = z
  .object({
    /** One UART per entry. Default: COM1 at 0x3F8. */
    uarts: z
      .array(z.object({ base: port.max(0xfff8), name: z.string().min(1).optional(), irq: z.number().int().min(0).max(255).optional() }).strict())
      .min(1)
      .default([{ base: 0x3f8 }]),
  })
  .strict()
  .default({ uarts: [{ base: 0x3f8 }] });

/** Options of `machine-x86.debug-exit`. */
export const DebugExitPluginConfigSchema = z
  .object({
    iobase: port.default(0xf4),
    iosize: z.union([z.literal(1), z.literal(2), z.literal(4)]).default(4),
    name: z.string().min(1).optional(),
  })
  .strict()
  .default({ iobase: 0xf4, iosize: 4 });

/** Options of `machine-x86.post-code`. */
export const PostCodePluginConfigSchema = z
  .object({ port: port.default(0x80), name: z.string().min(1).optional(), historySize: z.number().int().min(0).max(65536).optional() })
  .strict()
  .default({ port: 0x80 });

function options<T>(config: SystemConfig, id: string): T {
  return config.plugins[id] as T;
}

/** Contributes one {@link Uart16550} per configured UART to `Tokens.Device` (default: `com1` at 0x3F8). */
export const uart16550Plugin = definePlugin({
  id: 'machine-x86.uart16550',
  provides: ['Device'],
  description: '16550A UART serial ports (default COM1 at 0x3F8)',
  configSchema: Uart16550PluginConfigSchema,
  register(container: DependencyContainer, config: SystemConfig) {
    const { uarts } = options<z.output<typeof Uart16550PluginConfigSchema>>(config, 'machine-x86.uart16550');
    for (const u of uarts) container.register(Tokens.Device, { useValue: new Uart16550(u) });
  },
});

/** Contributes a {@link DebugExitDevice} (`debug-exit` at 0xF4) to `Tokens.Device`. */
export const debugExitPlugin = definePlugin({
  id: 'machine-x86.debug-exit',
  provides: ['Device'],
  description: 'QEMU isa-debug-exit port (default 0xF4, 4 ports)',
  configSchema: DebugExitPluginConfigSchema,
  register(container: DependencyContainer, config: SystemConfig) {
    container.register(Tokens.Device, { useValue: new DebugExitDevice(options(config, 'machine-x86.debug-exit')) });
  },
});

/** Contributes a {@link PostCodePort} (`post-code` at 0x80) to `Tokens.Device`. */
export const postCodePlugin = definePlugin({
  id: 'machine-x86.post-code',
  provides: ['Device'],
  description: 'POST code port 0x80',
  configSchema: PostCodePluginConfigSchema,
  register(container: DependencyContainer, config: SystemConfig) {
    container.register(Tokens.Device, { useValue: new PostCodePort(options(config, 'machine-x86.post-code')) });
  },
});

// ---------------------------------------------------------------- PC platform devices (issue 6)

/** Options of `machine-x86.ioapic`. */
export const IoApicPluginConfigSchema = z
  .object({
    base: z.number().int().min(0).max(0xfffff000).default(0xfec00000),
    id: z.number().int().min(0).max(255).default(0),
    pins: z.number().int().min(1).max(240).default(24),
    gsiBase: z.number().int().min(0).default(0),
    name: z.string().min(1).optional(),
  })
  .strict()
  .default({ base: 0xfec00000, id: 0, pins: 24, gsiBase: 0 });

/** Options of `machine-x86.pic8259`. */
export const Pic8259PluginConfigSchema = z
  .object({
    masterBase: port.default(0x20),
    slaveBase: port.default(0xa0),
    elcrBase: port.nullable().default(0x4d0),
    initialState: z.enum(['bios', 'reset']).default('bios'),
    name: z.string().min(1).optional(),
  })
  .strict()
  .default({ masterBase: 0x20, slaveBase: 0xa0, elcrBase: 0x4d0, initialState: 'bios' });

/** Options of `machine-x86.pm-timer`. */
export const PmTimerPluginConfigSchema = z
  .object({ port: port.max(0xfffc).default(0x608), bits: z.union([z.literal(24), z.literal(32)]).default(24), name: z.string().min(1).optional() })
  .strict()
  .default({ port: 0x608, bits: 24 });

/** Options of `machine-x86.pit8254`. */
export const Pit8254PluginConfigSchema = z
  .object({ base: port.max(0xfffc).default(0x40), port61: port.nullable().default(0x61), name: z.string().min(1).optional() })
  .strict()
  .default({ base: 0x40, port61: 0x61 });

/** Options of `machine-x86.cmos-rtc`. */
export const CmosRtcPluginConfigSchema = z
  .object({
    base: port.default(0x70),
    epochSeconds: z.number().int().min(0).optional(),
    ramBelow4G: z.number().int().min(0).optional(),
    ramAbove4G: z.number().int().min(0).optional(),
    cpus: z.number().int().min(1).max(256).optional(),
    name: z.string().min(1).optional(),
  })
  .strict()
  .default({ base: 0x70 });

/** Options of `machine-x86.fw-cfg`. */
export const FwCfgPluginConfigSchema = z
  .object({
    base: port.default(0x510),
    ramSize: z.number().int().min(0).default(0),
    cpus: z.number().int().min(1).max(0xffff).default(1),
    maxCpus: z.number().int().min(1).max(0xffff).optional(),
    name: z.string().min(1).optional(),
  })
  .strict()
  .default({ base: 0x510, ramSize: 0, cpus: 1 });

/** Contributes an {@link IoApic} (`ioapic` at MMIO 0xFEC00000) to `Tokens.Device`. */
export const ioApicPlugin = definePlugin({
  id: 'machine-x86.ioapic',
  provides: ['Device'],
  description: 'I/O APIC (default MMIO 0xFEC00000, 24 pins)',
  configSchema: IoApicPluginConfigSchema,
  register(container: DependencyContainer, config: SystemConfig) {
    container.register(Tokens.Device, { useValue: new IoApic(options(config, 'machine-x86.ioapic')) });
  },
});

/** Contributes a {@link Pic8259Pair} (`pic` at 0x20/0xA0) to `Tokens.Device`. */
export const pic8259Plugin = definePlugin({
  id: 'machine-x86.pic8259',
  provides: ['Device'],
  description: 'cascaded 8259A PIC pair (0x20/0x21, 0xA0/0xA1, ELCR 0x4D0)',
  configSchema: Pic8259PluginConfigSchema,
  register(container: DependencyContainer, config: SystemConfig) {
    container.register(Tokens.Device, { useValue: new Pic8259Pair(options(config, 'machine-x86.pic8259')) });
  },
});

/** Contributes an {@link AcpiPmTimer} (`pm-timer` at 0x608) to `Tokens.Device`. */
export const pmTimerPlugin = definePlugin({
  id: 'machine-x86.pm-timer',
  provides: ['Device'],
  description: 'ACPI PM timer, 3.579545 MHz (default port 0x608, 24-bit)',
  configSchema: PmTimerPluginConfigSchema,
  register(container: DependencyContainer, config: SystemConfig) {
    container.register(Tokens.Device, { useValue: new AcpiPmTimer(options(config, 'machine-x86.pm-timer')) });
  },
});

/** Contributes a {@link Pit8254} (`pit` at 0x40–0x43 and port 0x61) to `Tokens.Device`. */
export const pit8254Plugin = definePlugin({
  id: 'machine-x86.pit8254',
  provides: ['Device'],
  description: '8254 PIT, 1.193182 MHz (0x40–0x43) with the port 0x61 gate',
  configSchema: Pit8254PluginConfigSchema,
  register(container: DependencyContainer, config: SystemConfig) {
    container.register(Tokens.Device, { useValue: new Pit8254(options(config, 'machine-x86.pit8254')) });
  },
});

/** Contributes a {@link CmosRtc} (`cmos` at 0x70/0x71) to `Tokens.Device`. */
export const cmosRtcPlugin = definePlugin({
  id: 'machine-x86.cmos-rtc',
  provides: ['Device'],
  description: 'CMOS RAM and MC146818 RTC (0x70/0x71)',
  configSchema: CmosRtcPluginConfigSchema,
  register(container: DependencyContainer, config: SystemConfig) {
    container.register(Tokens.Device, { useValue: new CmosRtc(options(config, 'machine-x86.cmos-rtc')) });
  },
});

/** Contributes a {@link FwCfg} (`fw-cfg` at 0x510/0x511) to `Tokens.Device`. */
export const fwCfgPlugin = definePlugin({
  id: 'machine-x86.fw-cfg',
  provides: ['Device'],
  description: 'QEMU fw_cfg I/O interface (0x510 selector, 0x511 data)',
  configSchema: FwCfgPluginConfigSchema,
  register(container: DependencyContainer, config: SystemConfig) {
    container.register(Tokens.Device, { useValue: new FwCfg(options(config, 'machine-x86.fw-cfg')) });
  },
});
