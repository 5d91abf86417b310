/**
 * @latelaunch/apic — the local APIC (SDM Vol. 3A ch. 11): xAPIC MMIO page and x2APIC MSRs,
 * priorities and acceptance, IPIs through a pluggable delivery backend, LVT and timer in virtual
 * time, late-launch capture/restore. The same class serves as the hypervisor's virtual APIC.
 */
export { LocalApic } from './local-apic.js';
export type { ApicMode, LocalApicOptions, LocalApicInit, LocalApicCapturedState } from './local-apic.js';
export { ApicFabric, chooseLowestPriority } from './fabric.js';
export type { LowestPriorityCandidate, FabricDelivery, ApicFabricOptions } from './fabric.js';
export { localApicPlugin, LocalApicFactory, LocalApicPluginConfigSchema } from './plugin.js';
export type { LocalApicPluginConfig, LocalApicModelOptions, LocalApicFactoryCreateOptions } from './plugin.js';
export {
  ApicReg,
  X2ApicMsr,
  DeliveryMode,
  Shorthand,
  EsrBit,
  Lvt,
  LVT_MASKED,
  TimerMode,
  SVR_APIC_ENABLED,
  SVR_FOCUS_DISABLED,
  SVR_EOI_BROADCAST_SUPPRESSION,
  APIC_DEFAULT_BASE,
  timerDivisor,
} from './constants.js';
export type {
  ApicAccessResult,
  ApicCpuPort,
  ApicExternalInterruptSource,
  ApicInterruptMessage,
  ApicIpiBus,
  ApicTimeBackend,
  LocalApicBackends,
  LocalApicDevice,
} from '@latelaunch/kernel';
