import type { InjectionToken } from 'tsyringe';
import type {
  AddressTranslatorFactory,
  Device,
  ExitHandler,
  Firmware,
  GuestLoader,
  Hypervisor,
  LocalApicModel,
  HardwareVirtualization,
  Machine,
  NmiInhibitionStrategy,
  PagingWalker,
  PhysicalMemory,
  ProcessorModel,
  RootOsImage,
} from './extension-points.js';
import type { TraceSink, TraceBus } from './trace.js';
import type { Rng } from './rng.js';
import type { SystemConfig } from './config.js';

/** A symbol token that remembers the type it resolves to (for `container.resolve`). */
export type Token<T> = InjectionToken<T> & symbol;

function token<T>(name: string): Token<T> {
  // Symbol.for: two copies of this package in one process still agree on every token.
  return Symbol.for(`latelaunch.${name}`) as Token<T>;
}

/**
 * Injection tokens. Every extension point has a token named after its interface; the rest are
 * services the kernel itself provides to every plugin.
 */
export const Tokens = {
  // Extension points (see ExtensionPoints for cardinality).
  Machine: token<Machine>('Machine'),
  PhysicalMemory: token<PhysicalMemory>('PhysicalMemory'),
  ProcessorModel: token<ProcessorModel>('ProcessorModel'),
  PagingWalker: token<PagingWalker>('PagingWalker'),
  AddressTranslatorFactory: token<AddressTranslatorFactory>('AddressTranslatorFactory'),
  LocalApicModel: token<LocalApicModel>('LocalApicModel'),
  HardwareVirtualization: token<HardwareVirtualization>('HardwareVirtualization'),
  Device: token<Device>('Device'),
  Firmware: token<Firmware>('Firmware'),
  RootOsImage: token<RootOsImage>('RootOsImage'),
  Hypervisor: token<Hypervisor>('Hypervisor'),
  ExitHandler: token<ExitHandler>('ExitHandler'),
  NmiInhibitionStrategy: token<NmiInhibitionStrategy>('NmiInhibitionStrategy'),
  GuestLoader: token<GuestLoader>('GuestLoader'),
  TraceSink: token<TraceSink>('TraceSink'),
  // Selections made from the config by composeSystem.
  ActiveNmiStrategy: token<NmiInhibitionStrategy>('ActiveNmiStrategy'),
  EnabledExitHandlers: token<readonly ExitHandler[]>('EnabledExitHandlers'),
  EnabledDevices: token<readonly Device[]>('EnabledDevices'),
  // Kernel services.
  Config: token<SystemConfig>('Config'),
  TraceBus: token<TraceBus>('TraceBus'),
  Rng: token<Rng>('Rng'),
  /** Only inside a VM scope: the VM's id. */
  VmId: token<string>('VmId'),
} as const;

export type TokenName = keyof typeof Tokens;
