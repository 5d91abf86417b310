import { Tokens, definePlugin, type AddressTranslatorFactory, type PagingControl, type PagingWalker, type PhysicalMemory, type SystemConfig } from '@latelaunch/kernel';
import { inject, injectAll, injectable, type DependencyContainer } from 'tsyringe';
import { z } from 'zod';
import { Mmu, indexWalkers, type MmuOptions } from './mmu.js';
import { EptWalker } from './walkers/ept.js';
import { Ia32eWalker } from './walkers/ia32e.js';
import { Legacy32Walker } from './walkers/legacy32.js';
import { PaeWalker } from './walkers/pae.js';

/** Options of `paging.mmu` (`config.plugins['paging.mmu']`). */
export const MmuPluginConfigSchema = z
  .object({
    /** Direct-mapped TLB entries per processor: a power of two from 16 to 65536. */
    tlbEntries: z
      .number()
      .int()
      .min(16)
      .max(65536)
      .refine((n) => (n & (n - 1)) === 0, { message: 'must be a power of two' })
      .default(4096),
    /** false = no TLB at all (every access walks; debugging only, not architectural). */
    caching: z.boolean().default(true),
  })
  .strict();

/** Options of `paging.ia32e-walker`. */
export const Ia32eWalkerPluginConfigSchema = z.object({ /** 1 GiB pages (CPUID Page1GB). */ gbPages: z.boolean().default(true) }).strict();

/** Options of `paging.ept-walker`. */
export const EptWalkerPluginConfigSchema = z
  .object({
    /** Execute-only EPT translations (IA32_VMX_EPT_VPID_CAP bit 0). */
    executeOnly: z.boolean().default(true),
    /** 1 GiB EPT pages (IA32_VMX_EPT_VPID_CAP bit 17). */
    gbPages: z.boolean().default(true),
  })
  .strict();

function options<T>(config: SystemConfig, id: string): T {
  return (config.plugins[id] ?? {}) as T;
}

/**
 * The `AddressTranslatorFactory` of `paging.mmu`: one {@link Mmu} per logical processor, over
 * every composed `PagingWalker` (resolved with `injectAll`).
 */
@injectable()
export class MmuFactory implements AddressTranslatorFactory {
  readonly name = 'mmu';
  readonly description = 'TLB (PCID/VPID/EPT-tagged) + walkers + EPT composition';
  readonly options: MmuOptions;

  constructor(
    @injectAll(Tokens.PagingWalker) readonly walkers: PagingWalker[],
    @inject(Tokens.Config) config?: SystemConfig,
  ) {
    indexWalkers(walkers); // duplicates and foreign walkers fail at composition, not at the first CR write
    this.options = config ? options<MmuOptions>(config, 'paging.mmu') : {};
  }

  create(control: PagingControl, memory: PhysicalMemory): Mmu {
    return new Mmu(control, memory, this.walkers, this.options);
  }
}

/** `paging.legacy32-walker`: 32-bit paging (4 KiB, 4 MiB with PSE, PSE-36). */
export const legacy32WalkerPlugin = definePlugin({
  id: 'paging.legacy32-walker',
  provides: ['PagingWalker'],
  description: '32-bit paging walker: 4 KiB and 4 MiB (CR4.PSE, PSE-36) pages',
  register(c: DependencyContainer) {
    c.register(Tokens.PagingWalker, { useValue: new Legacy32Walker() });
  },
});

/** `paging.pae-walker`: PAE paging (PDPTE registers, 4 KiB and 2 MiB, NX). */
export const paeWalkerPlugin = definePlugin({
  id: 'paging.pae-walker',
  provides: ['PagingWalker'],
  description: 'PAE paging walker: PDPTE registers, 4 KiB and 2 MiB pages, XD',
  register(c: DependencyContainer) {
    c.register(Tokens.PagingWalker, { useValue: new PaeWalker() });
  },
});

/** `paging.ia32e-walker`: 4-level IA-32e paging (4 KiB, 2 MiB, 1 GiB). */
export const ia32eWalkerPlugin = definePlugin({
  id: 'paging.ia32e-walker',
  provides: ['PagingWalker'],
  description: '4-level IA-32e paging walker: 4 KiB, 2 MiB and 1 GiB pages, XD',
  configSchema: Ia32eWalkerPluginConfigSchema,
  register(c: DependencyContainer, config: SystemConfig) {
    const o = options<z.output<typeof Ia32eWalkerPluginConfigSchema>>(config, 'paging.ia32e-walker');
    c.register(Tokens.PagingWalker, { useValue: new Ia32eWalker({ levels: 4, gbPages: o.gbPages }) });
  },
});

/** `paging.ept-walker`: EPT (4/5-level, R/W/X, A/D, misconfiguration vs violation). */
export const eptWalkerPlugin = definePlugin({
  id: 'paging.ept-walker',
  provides: ['PagingWalker'],
  description: 'EPT walker: R/W/X, 2 MiB/1 GiB pages, accessed/dirty flags, violations and misconfigurations',
  configSchema: EptWalkerPluginConfigSchema,
  register(c: DependencyContainer, config: SystemConfig) {
    const o = options<z.output<typeof EptWalkerPluginConfigSchema>>(config, 'paging.ept-walker');
    c.register(Tokens.PagingWalker, { useValue: new EptWalker(o) });
  },
});

/** `paging.mmu`: the per-processor translator factory (TLB, permission checks, A/D, EPT composition). */
export const mmuPlugin = definePlugin({
  id: 'paging.mmu',
  provides: ['AddressTranslatorFactory'],
  requires: ['PagingWalker'],
  description: 'per-processor MMU: walker selection by CR0.PG/CR4.PAE/EFER.LMA, PCID/VPID-tagged TLB, EPT composition',
  configSchema: MmuPluginConfigSchema,
  register(c: DependencyContainer) {
    c.registerSingleton(Tokens.AddressTranslatorFactory, MmuFactory);
  },
});

/** Every paging plugin: the four walkers (32-bit, PAE, 4-level, EPT) and the MMU. */
export const pagingPlugins = [legacy32WalkerPlugin, paeWalkerPlugin, ia32eWalkerPlugin, eptWalkerPlugin, mmuPlugin] as const;
