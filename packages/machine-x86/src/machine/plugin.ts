import { InvalidArgumentError, Tokens, definePlugin, type AddressTranslatorFactory, type Device, type SystemConfig, type TraceBus } from '@latelaunch/kernel';
import { instanceCachingFactory, type DependencyContainer } from 'tsyringe';
import { z } from 'zod';
import { isBusDevice, type BusDevice } from '../devices/device.js';
import { Machine } from './machine.js';
import type { ProcessorVirtualization } from '../vmx/vmx.js';

/** Options of `machine-x86.machine` (`config.plugins['machine-x86.machine']`). */
export const MachinePluginConfigSchema = z
  .object({
    /** Scheduler quantum (instructions per slice). */
    quantum: z.number().int().min(1).max(1_000_000_000).default(1000),
    /** Virtual ticks (ns) per retired instruction. */
    ticksPerInstruction: z.number().min(0).max(1e6).default(1),
    /** Per-instruction trace events (`machine.step`). */
    traceInstructions: z.boolean().default(false),
    /** `'qemu'`: the QEMU-compatible platform profile (local APICs, 8259, PIT, CMOS, PM timer, fw_cfg, I/O APIC); null: none. */
    platform: z.enum(['qemu']).nullable().default(null),
  })
  .strict()
  .default({ quantum: 1000, ticksPerInstruction: 1, traceInstructions: false, platform: null });

export type MachinePluginConfig = z.output<typeof MachinePluginConfigSchema>;

/**
 * Provides the {@link Machine} (`Tokens.Machine`, one per system, built on first resolution) and its
 * bus as `Tokens.PhysicalMemory`. Shape from `config.machine` (cpus, memoryMiB) and `config.seed`;
 * the trace bus is the system's. Hardware virtualization is `Tokens.HardwareVirtualization` when a
 * plugin provides it (`vmxPlugin`), else none. Paging uses `Tokens.AddressTranslatorFactory` when a paging plugin
 * registered one (else the stand-in: paging off only). Devices are `Tokens.EnabledDevices` (those
 * that can attach to a bus).
 */
export const machinePlugin = definePlugin({
  id: 'machine-x86.machine',
  provides: ['Machine', 'PhysicalMemory'],
  description: 'the simulated x86 machine: processors, memory, bus, clock, scheduler',
  configSchema: MachinePluginConfigSchema,
  register(container: DependencyContainer, config: SystemConfig) {
    const opts = config.plugins['machine-x86.machine'] as MachinePluginConfig;
    const build = instanceCachingFactory<Machine>((c) => {
      const factory = c.isRegistered(Tokens.AddressTranslatorFactory, true) ? c.resolve<AddressTranslatorFactory>(Tokens.AddressTranslatorFactory) : null;
      const enabled: readonly Device[] = c.isRegistered(Tokens.EnabledDevices, true) ? c.resolve(Tokens.EnabledDevices) : [];
      const devices: BusDevice[] = enabled.filter(isBusDevice);
      const hv = c.isRegistered(Tokens.HardwareVirtualization, true) ? (c.resolve(Tokens.HardwareVirtualization) as Partial<ProcessorVirtualization>) : null;
      if (hv !== null && typeof hv.attach !== 'function') throw new InvalidArgumentError(`machine-x86.machine: the HardwareVirtualization provider '${String(hv.name)}' cannot attach to machine-x86 processors`);
      return new Machine({
        cpus: config.machine.cpus,
        memoryMiB: config.machine.memoryMiB,
        seed: config.seed,
        trace: c.resolve<TraceBus>(Tokens.TraceBus),
        translatorFactory: factory,
        devices,
        quantum: opts.quantum,
        ticksPerInstruction: opts.ticksPerInstruction,
        traceInstructions: opts.traceInstructions,
        platform: opts.platform,
        virtualization: hv as ProcessorVirtualization | null,
      });
    });
    container.register(Tokens.Machine, { useFactory: build });
    container.register(Tokens.PhysicalMemory, { useFactory: (c) => (c.resolve(Tokens.Machine) as Machine).bus });
  },
});
