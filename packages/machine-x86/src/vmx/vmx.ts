/**
 * VMX as a processor extension: {@link attachVmx} wires one logical processor (instruction handler,
 * capability MSRs, event/triple-fault/INIT hooks), {@link vmxOf} gives TypeScript host software
 * (hypervisor-core) intrinsics that behave exactly like the instructions, and {@link vmxPlugin}
 * provides it to a composed system as the `HardwareVirtualization` extension point.
 */
import { definePlugin, Tokens, type ApicTimeBackend, type HardwareVirtualization, type SystemConfig } from '@latelaunch/kernel';
import type { DependencyContainer } from 'tsyringe';
import type { Processor } from '../cpu/processor.js';
import { Vec } from '../cpu/state.js';
import { configureProcessor, registerMsr, sys } from '../cpu/system-context.js';
import { vmxCapabilities, Proc2, SUPPORTED, type VmxCapabilities } from './controls.js';
import { HIGHEST_FIELD_INDEX } from './vmcs.js';
import { VMX_ERROR } from './vmcs-fields.js';
import { VmxUnit } from './unit.js';
import { cpl0, executeVmx, udOutsideOrWrongMode, vmFail, vmSucceed, vmxonGeneralProtection, vmxonUndefined, invept, invvpid, vmclear, vmlaunch, vmptrld, vmread, vmwrite, vmxoff, vmxon, VmxStatus } from './instructions.js';

/** A hardware-virtualization implementation the machine attaches to each processor. */
export interface ProcessorVirtualization extends HardwareVirtualization {
  /** Wires processor `p`; `time` drives timers such as the VMX-preemption timer (the machine clock). */
  attach(p: Processor, time: ApicTimeBackend | null): void;
}

const units = new WeakMap<Processor, VmxUnit>();
/** Capability descriptions are immutable: one per (CR4_FIXED1, secondary controls) shape. */
const capabilityCache = new Map<string, VmxCapabilities>();

/** Options of the VMX model. */
export interface VmxOptions {
  /** Run every VM-entry check on every entry (default false: checks whose inputs did not change since the last successful entry are skipped; the RIP check always runs). */
  alwaysCheck?: boolean;
}

/**
 * Attaches VMX to a processor: VMX instructions execute instead of #UD, IA32_VMX_* MSRs read
 * the capabilities, and the event hooks implement VM exits. EPT, VPID and unrestricted guest are
 * advertised only when the processor's translator offers the VMX context (the paging plugin).
 */
export function attachVmx(p: Processor, time: ApicTimeBackend | null = null, options: VmxOptions = {}): VmxUnit {
  const existing = units.get(p);
  if (existing !== undefined) return existing;
  const c = sys(p);
  const m = p.mmu as unknown as { ensureExtended?: unknown; setEpt?: unknown; factoryAvailable?: boolean };
  const hasTranslator = typeof m.setEpt === 'function' || (typeof m.ensureExtended === 'function' && m.factoryAvailable === true);
  const proc2 = hasTranslator ? SUPPORTED.proc2 : SUPPORTED.proc2 & ~(Proc2.ENABLE_EPT | Proc2.ENABLE_VPID | Proc2.UNRESTRICTED_GUEST);
  // Processors of one machine share the CPUID model: compute the capability MSRs once per shape.
  const key = `${c.cpuid.cr4ValidMask}:${proc2}`;
  let caps = capabilityCache.get(key);
  if (caps === undefined) {
    caps = vmxCapabilities(c.cpuid.cr4ValidMask, HIGHEST_FIELD_INDEX, proc2);
    capabilityCache.set(key, caps);
  }
  const u = new VmxUnit(p, caps, time);
  u.alwaysCheck = options.alwaysCheck ?? false;
  units.set(p, u);
  configureProcessor(p, { vmx: (proc, i) => executeVmx(u, proc, i) });
  for (const [index, value] of caps.msrs) {
    registerMsr(p, index, {
      read: () => value,
      write: (proc) => proc.fault(Vec.GP, 0), // read-only
    });
  }
  c.interceptEvent = (proc, vector, errorCode, kind, returnRip) => u.nonRoot && u.hooks.interceptEvent(proc, vector, errorCode, kind, returnRip);
  c.onTripleFault = (proc) => u.nonRoot && u.hooks.tripleFault(proc);
  // INIT is blocked in VMX root operation (stays pending) and causes a VM exit in non-root operation.
  c.onInit = (proc) => (u.nonRoot ? u.hooks.init(proc) : u.inVmx);
  return u;
}

/** The VMX unit of a processor (null when VMX is not attached). */
export function vmxUnitOf(p: Processor): VmxUnit | null {
  return units.get(p) ?? null;
}

/** The capabilities a processor's VMX reports. */
export function vmxCapabilitiesOf(p: Processor): VmxCapabilities | null {
  return units.get(p)?.caps ?? null;
}

/** The VMX model as a processor extension (stateless: units live per processor). */
export function createVmx(options: VmxOptions = {}): ProcessorVirtualization {
  return {
    name: 'vmx',
    technology: 'vmx',
    attach(p: Processor, time: ApicTimeBackend | null): void {
      attachVmx(p, time, options);
    },
  };
}

/** Result of an intrinsic: the RFLAGS outcome and, for VMREAD, the value. */
export interface VmxResult {
  readonly status: 'succeed' | 'fail-invalid' | 'fail-valid';
  /** VM-instruction error number for `fail-valid`. */
  readonly error: number;
}

const STATUS_NAMES = ['succeed', 'fail-invalid', 'fail-valid'] as const;
const SUCCEEDED: VmxResult = Object.freeze({ status: 'succeed', error: 0 });

/**
 * VMX intrinsics for TypeScript host software running in VMX root operation (DESIGN §5
 * hypervisor-core): each call performs the instruction's checks (#UD / #GP through `p.fault`, so a
 * native service reports them like the instruction would) and its exact effects on the VMCS,
 * RFLAGS and the VM-instruction error field.
 */
export class VmxIntrinsics {
  constructor(readonly unit: VmxUnit) {}

  private get p(): Processor {
    return this.unit.p;
  }

  /** The instructions' #UD and #GP(0) conditions in VMX root operation (instructions.ts). */
  private rootChecks(): void {
    const u = this.unit;
    udOutsideOrWrongMode(u);
    if (u.nonRoot) throw new Error('VMX intrinsics are for host software (VMX root operation)');
    cpl0(this.p);
  }

  private result(status: VmxStatus): VmxResult {
    if (status === VmxStatus.SUCCEED) return SUCCEEDED;
    return { status: STATUS_NAMES[status], error: status === VmxStatus.FAIL_VALID ? this.unit.lastError : 0 };
  }

  vmxon(address: number): VmxResult {
    const u = this.unit;
    vmxonUndefined(u);
    if (u.inVmx) {
      this.rootChecks();
      return this.result(vmFail(u, 'VMXON', VMX_ERROR.VMXON_IN_VMX_ROOT));
    }
    vmxonGeneralProtection(u);
    return this.result(vmxon(u, address));
  }
  vmxoff(): VmxResult {
    this.rootChecks();
    return this.result(vmxoff(this.unit));
  }
  vmclear(address: number): VmxResult {
    this.rootChecks();
    return this.result(vmclear(this.unit, address));
  }
  vmptrld(address: number): VmxResult {
    this.rootChecks();
    return this.result(vmptrld(this.unit, address));
  }
  /** VMPTRST: the current-VMCS pointer (-1 = FFFFFFFF_FFFFFFFFH). */
  vmptrst(): number {
    this.rootChecks();
    vmSucceed(this.p);
    return this.unit.current === null ? -1 : this.unit.current.address;
  }
  /** VMREAD: the value (bigint), or null when the instruction fails (see `lastResult`). */
  vmread(encoding: number): bigint | null {
    this.rootChecks();
    return vmread(this.unit, encoding);
  }
  /** VMREAD as a number (exact for values below 2^53; natural-width addresses sign-extended). */
  vmreadNumber(encoding: number): number {
    const v = this.vmread(encoding);
    return v === null ? NaN : Number(BigInt.asIntN(64, v));
  }
  vmwrite(encoding: number, value: bigint | number): VmxResult {
    this.rootChecks();
    if (typeof value === 'number' && Number.isSafeInteger(value)) {
      // Two's-complement halves without BigInt (negative numbers are sign-extended addresses).
      const lo = value >>> 0;
      return this.result(vmwrite(this.unit, encoding, lo, Math.floor((value - lo) / 4294967296) >>> 0));
    }
    const big = BigInt.asUintN(64, typeof value === 'bigint' ? value : BigInt(value));
    return this.result(vmwrite(this.unit, encoding, Number(big & 0xffffffffn), Number(big >> 32n)));
  }
  vmlaunch(): VmxResult {
    this.rootChecks();
    return this.result(vmlaunch(this.unit, true));
  }
  vmresume(): VmxResult {
    this.rootChecks();
    return this.result(vmlaunch(this.unit, false));
  }
  invept(type: number, eptp: number): VmxResult {
    this.rootChecks();
    return this.result(invept(this.unit, type, eptp));
  }
  invvpid(type: number, vpid: number, linear = 0): VmxResult {
    this.rootChecks();
    return this.result(invvpid(this.unit, type, vpid, linear));
  }
}

/** Intrinsics for a processor with VMX attached. */
export function vmxOf(p: Processor): VmxIntrinsics {
  const u = units.get(p);
  if (u === undefined) throw new Error(`processor ${p.cpuIndex} has no VMX attached`);
  return new VmxIntrinsics(u);
}

/**
 * `machine-x86.vmx`: provides `HardwareVirtualization` (Intel VMX). The machine plugin attaches it
 * to every processor. Without this plugin a composed machine has no VMX (CPUID.1:ECX.VMX = 0).
 */
export const vmxPlugin = definePlugin({
  id: 'machine-x86.vmx',
  provides: ['HardwareVirtualization'],
  description: 'Intel VMX: VMX instructions, VMCS, VM entry checks, VM exits, EPT/VPID wiring',
  register(container: DependencyContainer, _config: SystemConfig) {
    container.register(Tokens.HardwareVirtualization, { useValue: createVmx() });
  },
});
