import type { ExtensionPointId, Plugin, SystemConfigInput } from '@latelaunch/kernel';
import { traceSinkPlugin } from '@latelaunch/kernel';
import { localApicPlugin } from '@latelaunch/apic';
import {
  cmosRtcPlugin,
  debugExitPlugin,
  fwCfgPlugin,
  ioApicPlugin,
  machinePlugin,
  vmxPlugin,
  pcFirmwarePlugin,
  pic8259Plugin,
  pit8254Plugin,
  pmTimerPlugin,
  postCodePlugin,
  uart16550Plugin,
} from '@latelaunch/machine-x86';
import { pagingPlugins } from '@latelaunch/paging';
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
  const ready = (pkg: string) => (plugin: Plugin): CatalogEntry => ({ plugin, package: pkg, status: 'ready' });
  return [
    { plugin: traceSinkPlugin(() => {}), package: '@latelaunch/kernel', status: 'ready' },
    ...[machinePlugin, vmxPlugin, uart16550Plugin, debugExitPlugin, postCodePlugin, ioApicPlugin, pic8259Plugin, pmTimerPlugin, pit8254Plugin, cmosRtcPlugin, fwCfgPlugin, pcFirmwarePlugin].map(
      ready('@latelaunch/machine-x86'),
    ),
    ...pagingPlugins.map(ready('@latelaunch/paging')),
    ready('@latelaunch/apic')(localApicPlugin),
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
  'HardwareVirtualization',
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
