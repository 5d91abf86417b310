/**
 * Per-processor wiring the SYSTEM half of the interpreter needs beyond the architectural state:
 * the interrupt controller (local APIC), the CPUID model, the TSC source, the trace bus, MSR
 * extensions (x2APIC MSRs, VMX capability MSRs) and the VMX instruction hook.
 *
 * It lives in a side table keyed by the processor (created with defaults on first use), so the
 * machine configures a processor with {@link configureProcessor} without the interpreter core
 * having to know these types.
 *
 * NOTE(system→core): if `Processor` grows fields `interruptController` / `cpuid` / `tsc`, this
 * table can become those fields; every SYSTEM file reads them only through `sys(p)`.
 */
import type { TraceBus } from '@latelaunch/kernel';
import type { DecodedInstruction } from '@latelaunch/x86-isa';
import type { Processor } from './processor.js';
import { CpuidModel } from './cpuid.js';
import { NullInterruptController, type InterruptController } from './interrupt-controller.js';
import type { EventInterceptor, TripleFaultHandler } from './exceptions.js';

/** An MSR implemented outside msr.ts (x2APIC registers, VMX capabilities…). `write` may `p.fault(...)`. */
export interface MsrHandler {
  read(p: Processor, index: number): bigint;
  write(p: Processor, index: number, value: bigint): void;
}

/** Executes a VMX instruction (VMXON … INVVPID, VMCALL). Installed by the VMX issue; default #UD. */
export type VmxInstructionHandler = (p: Processor, insn: DecodedInstruction) => void;

export interface ProcessorSystemOptions {
  interruptController?: InterruptController;
  cpuid?: CpuidModel;
  /** Initial APIC ID (CPUID.1:EBX[31:24], leaf 0xB EDX). Default: `cpuid.apicIdOf(p.cpuIndex)`. */
  apicId?: number;
  /** The machine's time-stamp counter source (virtual clock). Default: retired-instruction count. */
  tsc?: () => number;
  trace?: TraceBus | null;
  vmx?: VmxInstructionHandler | null;
  /** Whether this is the bootstrap processor (IA32_APIC_BASE.BSP). Default: index 0. */
  bsp?: boolean;
}

const DEFAULT_CPUID = new CpuidModel();

export class SystemContext {
  interruptController: InterruptController = new NullInterruptController();
  cpuid: CpuidModel = DEFAULT_CPUID;
  apicId: number;
  tsc: () => number;
  trace: TraceBus | null = null;
  vmx: VmxInstructionHandler | null = null;
  bsp: boolean;
  readonly msrHandlers = new Map<number, MsrHandler>();
  /** VMX: intercept events before delivery (exception bitmap, external-interrupt/NMI exiting). True = consumed. */
  interceptEvent: EventInterceptor | null = null;
  /** VMX non-root: a triple fault is a VM exit. True = handled (no shutdown). */
  onTripleFault: TripleFaultHandler | null = null;
  /**
   * VMX: INIT is blocked in VMX root operation and causes a VM exit in non-root operation. True =
   * the hook handled it (it leaves `state.initPending` as it wants); false = normal INIT.
   */
  onInit: ((p: Processor) => boolean) | null = null;
  /** The STI/MOV-SS shadow in `CpuState` was already seen at a boundary (it ends at the next one). See interrupts.ts. */
  shadowSeen = false;

  constructor(p: Processor) {
    this.apicId = this.cpuid.apicIdOf(p.cpuIndex);
    p.pagingControl.maxPhysAddrBits = this.cpuid.config.maxPhysAddrBits;
    this.tsc = () => p.state.retired;
    this.bsp = p.cpuIndex === 0;
  }
}

const contexts = new WeakMap<Processor, SystemContext>();

/** The processor's system context (created with defaults on first use). */
export function sys(p: Processor): SystemContext {
  let c = contexts.get(p);
  if (c === undefined) {
    c = new SystemContext(p);
    contexts.set(p, c);
  }
  return c;
}

/** Wires a processor to its APIC, CPUID model, TSC source, trace bus and VMX implementation. */
export function configureProcessor(p: Processor, o: ProcessorSystemOptions): SystemContext {
  const c = sys(p);
  if (o.interruptController) c.interruptController = o.interruptController;
  if (o.cpuid) {
    c.cpuid = o.cpuid;
    c.apicId = o.cpuid.apicIdOf(p.cpuIndex);
    p.pagingControl.maxPhysAddrBits = o.cpuid.config.maxPhysAddrBits;
  }
  if (o.apicId !== undefined) c.apicId = o.apicId;
  if (o.tsc) c.tsc = o.tsc;
  if (o.trace !== undefined) c.trace = o.trace;
  if (o.vmx !== undefined) c.vmx = o.vmx;
  if (o.bsp !== undefined) c.bsp = o.bsp;
  return c;
}

/** Registers an MSR handler on one processor (replaces msr.ts's own handling of that index). */
export function registerMsr(p: Processor, index: number, handler: MsrHandler): void {
  sys(p).msrHandlers.set(index >>> 0, handler);
}
