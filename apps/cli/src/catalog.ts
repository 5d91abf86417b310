import type { ExtensionPointId, Plugin, SystemConfigInput } from '@latelaunch/kernel';
import { traceSinkPlugin } from '@latelaunch/kernel';
import { allStrategyPlugins } from '@latelaunch/transition-nmi-strategies';

/** One plugin the CLI knows, with the package it comes from and whether it works yet. */
export interface CatalogEntry {
  readonly plugin: Plugin;
  readonly package: string;
  /** `ready`: fully usable. `partial`: registers, but the capability named in `missing` throws NotImplementedError. */
  readonly status: 'ready' | 'partial';
  readonly missing?: string;
}

/** Every plugin shipped in this repository, in load order. */
export function pluginCatalog(): CatalogEntry[] {
  return [
    { plugin: traceSinkPlugin(() => {}), package: '@latelaunch/kernel', status: 'ready' },
    ...allStrategyPlugins.map(
      (plugin): CatalogEntry => ({
        plugin,
        package: '@latelaunch/transition-nmi-strategies',
        status: 'partial',
        missing: 'transition code emission (emitTransition)',
      }),
    ),
  ];
}

/** A named composition (DESIGN §3): the extension points it needs, and its config. */
export interface VariantSpec {
  readonly name: string;
  readonly description: string;
  readonly requires: readonly ExtensionPointId[];
  readonly config: SystemConfigInput;
}

const HYPERVISOR_STACK: ExtensionPointId[] = [
  'Machine',
  'PhysicalMemory',
  'ProcessorModel',
  'PagingWalker',
  'AddressTranslatorFactory',
  'LocalApicModel',
  'Firmware',
  'RootOsImage',
  'Hypervisor',
  'ExitHandler',
  'NmiInhibitionStrategy',
];

export const variants: readonly VariantSpec[] = [
  {
    name: 'minimal',
    description: 'only what hosting the root OS transparently needs',
    requires: HYPERVISOR_STACK,
    config: { guests: 0, nmiStrategy: 'idt-swap' },
  },
  {
    name: 'partitioning',
    description: 'guests get dedicated processors',
    requires: [...HYPERVISOR_STACK, 'GuestLoader'],
    config: { guests: 1, nmiStrategy: 'idt-swap' },
  },
  {
    name: 'time-sliced',
    description: 'virtual processors share physical ones',
    requires: [...HYPERVISOR_STACK, 'GuestLoader'],
    config: { guests: 2, nmiStrategy: 'temp-idt' },
  },
];

/** Which of a variant's extension points no catalog plugin provides yet. */
export function unfilledPoints(spec: VariantSpec, catalog: readonly CatalogEntry[]): ExtensionPointId[] {
  const provided = new Set(catalog.flatMap((e) => e.plugin.provides));
  return spec.requires.filter((p) => !provided.has(p));
}
