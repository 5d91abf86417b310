import { Tokens, definePlugin, type LocalApicBackends, type LocalApicCreateOptions, type LocalApicModel, type SystemConfig } from '@latelaunch/kernel';
import { inject, injectable, type DependencyContainer } from 'tsyringe';
import { z } from 'zod';
import { LocalApic, type LocalApicOptions } from './local-apic.js';

/** Options of `apic.local-apic` (`config.plugins['apic.local-apic']`). */
export const LocalApicPluginConfigSchema = z
  .object({
    /** x2APIC support (IA32_APIC_BASE.EXTD, MSRs 0x800–0x8FF). */
    x2apic: z.boolean().default(true),
    /** EOI-broadcast suppression (version bit 24, SVR bit 12). */
    eoiBroadcastSuppression: z.boolean().default(true),
    /** Virtual-time ticks per APIC timer input clock, before the divider (10 = 100 MHz at 1 ns/tick). */
    ticksPerTimerClock: z.number().positive().finite().default(10),
  })
  .strict();

export type LocalApicPluginConfig = z.output<typeof LocalApicPluginConfigSchema>;

/** Model-level options (per-APIC ones come with `create`). */
export type LocalApicModelOptions = Partial<Pick<LocalApicOptions, 'x2apic' | 'eoiBroadcastSuppression' | 'ticksPerTimerClock' | 'version' | 'maxPhysAddrBits'>>;

/** Per-APIC options of {@link LocalApicFactory.create}. */
export interface LocalApicFactoryCreateOptions extends LocalApicCreateOptions {
  readonly maxPhysAddrBits?: number;
  readonly baseAddress?: number;
}

/**
 * The `LocalApicModel` of `apic.local-apic`: creates one {@link LocalApic} per (virtual)
 * processor with the caller's backends (the machine's fabric and clock, or a hypervisor's).
 */
@injectable()
export class LocalApicFactory implements LocalApicModel {
  readonly name = 'xapic-x2apic';
  readonly description = 'local APIC: xAPIC MMIO and x2APIC MSRs, IPIs, LVT and timer in virtual time';
  readonly supportsX2Apic: boolean;
  readonly options: LocalApicModelOptions;

  constructor(@inject(Tokens.Config) config?: SystemConfig) {
    const raw = config?.plugins['apic.local-apic'];
    this.options = raw === undefined ? {} : LocalApicPluginConfigSchema.parse(raw);
    this.supportsX2Apic = this.options.x2apic ?? true;
  }

  /** A factory without composition (tests, tools). */
  static withOptions(options: LocalApicModelOptions = {}): LocalApicFactory {
    const f = new LocalApicFactory();
    (f as { options: LocalApicModelOptions }).options = options;
    (f as { supportsX2Apic: boolean }).supportsX2Apic = options.x2apic ?? true;
    return f;
  }

  create(apicId: number, backends: LocalApicBackends, options: LocalApicFactoryCreateOptions = {}): LocalApic {
    return new LocalApic({ ...this.options, ...options, apicId, bus: backends.bus, time: backends.time, cpu: backends.cpu, extInt: backends.extInt });
  }
}

/** `apic.local-apic`: provides `Tokens.LocalApicModel`. */
export const localApicPlugin = definePlugin({
  id: 'apic.local-apic',
  provides: ['LocalApicModel'],
  description: 'local APIC model (xAPIC + x2APIC, IPIs, timer), reusable as the virtual APIC',
  configSchema: LocalApicPluginConfigSchema,
  register(c: DependencyContainer) {
    c.registerSingleton(Tokens.LocalApicModel, LocalApicFactory);
  },
});
