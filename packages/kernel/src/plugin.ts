import type { DependencyContainer } from 'tsyringe';
import type { z } from 'zod';
import type { SystemConfig, SystemConfigInput } from './config.js';
import { CompositionError, ErrorCodes, InvalidArgumentError } from './errors.js';
import { Tokens, type Token } from './tokens.js';

/** How many implementations an extension point takes. */
export type Cardinality = 'setter' | 'multi';

export interface ExtensionPointDescriptor {
  readonly token: Token<unknown>;
  readonly cardinality: Cardinality;
  readonly description: string;
  /** For multi points whose contributions are chosen by name from the config. */
  readonly selection?: {
    readonly configKey: 'nmiStrategy' | 'exitHandlers' | 'devices';
    readonly token: Token<unknown>;
    readonly mode: 'one' | 'many';
  };
}

/** Every extension point, keyed by the interface/token name. */
export const ExtensionPoints = {
  Machine: { token: Tokens.Machine, cardinality: 'setter', description: 'the simulated machine' },
  PhysicalMemory: { token: Tokens.PhysicalMemory, cardinality: 'setter', description: 'physical memory and bus' },
  ProcessorModel: { token: Tokens.ProcessorModel, cardinality: 'setter', description: 'processor model (CPUID, features, capability MSRs)' },
  PagingWalker: { token: Tokens.PagingWalker, cardinality: 'multi', description: 'address-translation walkers, one per paging structure' },
  AddressTranslatorFactory: { token: Tokens.AddressTranslatorFactory, cardinality: 'setter', description: 'per-processor MMU (TLB + walkers + EPT)' },
  LocalApicModel: { token: Tokens.LocalApicModel, cardinality: 'setter', description: 'local APIC model' },
  HardwareVirtualization: { token: Tokens.HardwareVirtualization, cardinality: 'setter', description: 'hardware virtualization of the processor (VMX)' },
  Device: {
    token: Tokens.Device,
    cardinality: 'multi',
    description: 'bus devices',
    selection: { configKey: 'devices', token: Tokens.EnabledDevices, mode: 'many' },
  },
  Firmware: { token: Tokens.Firmware, cardinality: 'setter', description: 'firmware (ACPI tables, memory map, OS entry)' },
  RootOsImage: { token: Tokens.RootOsImage, cardinality: 'setter', description: 'root OS image builder' },
  Hypervisor: { token: Tokens.Hypervisor, cardinality: 'setter', description: 'the late-launched hypervisor' },
  ExitHandler: {
    token: Tokens.ExitHandler,
    cardinality: 'multi',
    description: 'VM-exit handlers',
    selection: { configKey: 'exitHandlers', token: Tokens.EnabledExitHandlers, mode: 'many' },
  },
  NmiInhibitionStrategy: {
    token: Tokens.NmiInhibitionStrategy,
    cardinality: 'multi',
    description: 'NMI-inhibition strategies for the transition (one active)',
    selection: { configKey: 'nmiStrategy', token: Tokens.ActiveNmiStrategy, mode: 'one' },
  },
  GuestLoader: { token: Tokens.GuestLoader, cardinality: 'setter', description: 'additional-OS loader' },
  TraceSink: { token: Tokens.TraceSink, cardinality: 'multi', description: 'trace sinks' },
} as const satisfies Record<string, ExtensionPointDescriptor>;

export type ExtensionPointId = keyof typeof ExtensionPoints;

/**
 * A plugin: a small object with no import-time side effects. `register` binds implementations
 * into the system container; `registerVm` (optional) binds per-VM components into a VM's child
 * container when the VM is created.
 */
export interface Plugin {
  /** `'<package>.<name>'`, e.g. `'transition-nmi-strategies.idt-swap'`. */
  readonly id: string;
  /** Extension points this plugin fills. Composition checks that it registers exactly these. */
  readonly provides: readonly ExtensionPointId[];
  /** Extension points that must be filled (by anyone) for this plugin to work. */
  readonly requires?: readonly ExtensionPointId[];
  readonly description?: string;
  /** Schema for `config.plugins[id]`; the parsed value replaces the raw one before `register`. */
  readonly configSchema?: z.ZodType;
  register(container: DependencyContainer, config: SystemConfig): void;
  registerVm?(container: DependencyContainer, config: SystemConfig, vmId: string): void;
}

const PLUGIN_ID = /^[a-z0-9][a-z0-9-]*\.[a-z0-9][a-z0-9.-]*$/;

/** Identity function that checks the plugin's static shape early (at definition, not at compose). */
export function definePlugin<P extends Plugin>(plugin: P): P {
  if (!PLUGIN_ID.test(plugin.id)) {
    throw new InvalidArgumentError(`plugin id '${plugin.id}' must look like '<package>.<name>' (lower case, digits, '-')`);
  }
  for (const p of plugin.provides) {
    if (!(p in ExtensionPoints)) {
      throw new CompositionError(
        ErrorCodes.UnknownName,
        `plugin '${plugin.id}' provides unknown extension point '${p}'; known: ${Object.keys(ExtensionPoints).join(', ')}`,
      );
    }
  }
  return plugin;
}

/** A named composition: plugins plus the config they run with (e.g. `minimal`, `partitioning`). */
export interface Variant {
  readonly name: string;
  readonly description: string;
  readonly plugins: readonly Plugin[];
  readonly config: SystemConfigInput;
}
