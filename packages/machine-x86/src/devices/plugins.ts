import { Tokens, definePlugin, type SystemConfig } from '@latelaunch/kernel';
import type { DependencyContainer } from 'tsyringe';
import { z } from 'zod';
import { DebugExitDevice } from './debug-exit.js';
import { PostCodePort } from './post-code.js';
import { Uart16550 } from './uart16550.js';

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
