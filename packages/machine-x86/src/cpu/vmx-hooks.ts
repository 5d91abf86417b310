/**
 * The seam between the interpreter and a hardware-virtualization implementation (the VMX plugin in
 * `src/vmx/`; an SVM plugin would implement the same). The interpreter never imports the VMX code:
 * while a processor is in VMX non-root operation, `p.vmxGuest` holds these hooks and the
 * instruction and event paths call them at the points the SDM fixes (after the checks that have
 * priority over VM exits, SDM Vol. 3C 26.1.1). Every hook that returns `true` has performed a VM
 * exit: the processor already holds the host state and the caller must stop what it was doing.
 * Hooks typed `never` perform the exit and throw the `VM_EXIT` sentinel (fault.ts), which the run
 * loop catches.
 */
import type { TranslationResult } from '@latelaunch/kernel';
import type { DecodedInstruction } from '@latelaunch/x86-isa';
import type { Processor } from './processor.js';

/** How a task switch was initiated (exit qualification bits 31:30, SDM Table 28-2). */
export const TaskSwitchSource = { CALL: 0, IRET: 1, JMP: 2, TASK_GATE: 3 } as const;

export interface NonRootHooks {
  /** "NMI exiting": NMIs are never delivered through the guest IDT (they cause VM exits). */
  readonly nmiExiting: boolean;
  /** "External-interrupt exiting": maskable interrupts are never delivered through the guest IDT. */
  readonly extIntExiting: boolean;
  /**
   * An instruction that may cause a VM exit (CPUID, HLT, INVD, WBINVD, INVLPG, RDTSC/RDTSCP,
   * RDMSR/WRMSR, MOV CR, CLTS, LMSW, MOV DR, descriptor-table instructions). Called after the
   * instruction's mode and privilege checks.
   */
  instruction(p: Processor, i: DecodedInstruction): boolean;
  /** IN/OUT/INS/OUTS after the I/O-permission check: `port`, `size` in bytes. */
  io(p: Processor, i: DecodedInstruction, port: number, size: number): boolean;
  /** CR0 or CR4 as guest software reads it (MOV from CR, SMSW): host-owned bits come from the read shadow. */
  readCr(cr: 0 | 4, actual: number): number;
  /** A non-exiting write of CR0/CR4 (MOV, CLTS, LMSW): host-owned bits keep their current value. */
  writeCr(cr: 0 | 4, current: number, requested: number): number;
  /** The TSC offset added to RDTSC/RDTSCP/RDMSR(IA32_TIME_STAMP_COUNTER) results (0n without offsetting). */
  tscOffset(): bigint;
  /** RDTSCP is enabled for the guest (secondary control); #UD otherwise. */
  rdtscpEnabled(): boolean;
  /** Boundary events of priority between debug traps and NMIs: VMX-preemption timer, NMI window, NMI exiting. */
  beforeNmi(p: Processor, stiShadow: boolean, movSsShadow: boolean): boolean;
  /** Boundary events of priority between NMIs and maskable interrupts: interrupt window, external-interrupt exiting. */
  beforeInterrupt(p: Processor, stiShadow: boolean, movSsShadow: boolean): boolean;
  /** A VMX boundary event (window, timer, exiting interrupt or NMI) may fire at the next boundary. */
  pending(p: Processor): boolean;
  /** A SIPI arrived while the guest is in wait-for-SIPI: VM exit (reason 4). */
  sipi(p: Processor, vector: number): boolean;
  /** A task switch (JMP/CALL to a TSS or task gate, IRET with NT, task gate in the IDT): VM exit (reason 9). */
  taskSwitch(p: Processor, selector: number, source: number): never;
  /** EPT violation or misconfiguration (reasons 48/49). */
  eptFault(p: Processor, linear: number, tr: TranslationResult): never;
}
