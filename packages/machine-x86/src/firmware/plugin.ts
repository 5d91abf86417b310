import { Tokens, definePlugin, type Firmware, type SystemConfig } from '@latelaunch/kernel';
import type { DependencyContainer } from 'tsyringe';
import { z } from 'zod';
import type { SparseMemory } from '../memory/sparse-memory.js';
import { buildFirmware, firmwareMemoryLayout, type FirmwareResult, type FirmwareSource } from './firmware.js';
import type { PcMemoryLayout } from '../memory/pc-layout.js';

/** Options of `machine-x86.pc-firmware` (`config.plugins['machine-x86.pc-firmware']`). */
export const PcFirmwarePluginConfigSchema = z
  .object({
    /** Real tables (a directory like `../shared/acpi-corpus/<machine>`) instead of `config.machine`. */
    acpiDir: z.string().min(1).optional(),
    pmTimer: z.object({ port: z.number().int().min(1).max(0xfffc), bits: z.union([z.literal(24), z.literal(32)]) }).strict().nullable().optional(),
    cmdline: z.string().optional(),
  })
  .strict()
  .default({});

export type PcFirmwarePluginConfig = z.output<typeof PcFirmwarePluginConfigSchema>;

/** The firmware as a `Tokens.Firmware` component: its source and a `build` into memory. */
export class PcFirmware implements Firmware {
  readonly name = 'pc-firmware';
  readonly description = 'PC firmware: ACPI tables (generated or real), E820, boot information';
  constructor(readonly source: FirmwareSource) {}

  /** The RAM layout to create the machine's memory with. */
  layout(): PcMemoryLayout {
    return firmwareMemoryLayout(this.source);
  }

  build(memory?: SparseMemory): FirmwareResult {
    return buildFirmware(this.source, memory);
  }
}

/** The firmware source a system config describes (`config.machine` + this plugin's options). */
export function firmwareSourceFromConfig(config: SystemConfig): FirmwareSource {
  const o = (config.plugins['machine-x86.pc-firmware'] ?? {}) as PcFirmwarePluginConfig;
  if (o.acpiDir) return { acpiDir: o.acpiDir, memoryMiB: config.machine.memoryMiB, ...(o.cmdline !== undefined ? { cmdline: o.cmdline } : {}) };
  const m = config.machine;
  return {
    cpus: m.cpus,
    maxCpus: m.possibleCpus ?? m.cpus,
    hyperThreading: m.hyperThreading,
    memoryMiB: m.memoryMiB,
    numa: m.numaNodes,
    ...(o.pmTimer !== undefined ? { pmTimer: o.pmTimer } : {}),
    ...(o.cmdline !== undefined ? { cmdline: o.cmdline } : {}),
  };
}

/** Provides a {@link PcFirmware} for `config.machine` (or `acpiDir`) as `Tokens.Firmware`. */
export const pcFirmwarePlugin = definePlugin({
  id: 'machine-x86.pc-firmware',
  provides: ['Firmware'],
  description: 'PC firmware: ACPI RSDP/XSDT/MADT/SRAT/SLIT/FADT (generated from config.machine or relocated real tables), E820, multiboot boot info',
  configSchema: PcFirmwarePluginConfigSchema,
  register(container: DependencyContainer, config: SystemConfig) {
    container.register(Tokens.Firmware, { useValue: new PcFirmware(firmwareSourceFromConfig(config)) });
  },
});
