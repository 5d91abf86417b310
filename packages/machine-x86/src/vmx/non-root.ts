/**
 * VMX non-root operation (SDM Vol. 3C ch. 26): which instructions and events cause VM exits, with
 * the exit qualification and instruction information of each (28.2.1, Tables 28-1 … 28-14), and
 * the changed behaviour of instructions that do not exit (CR0/CR4 read shadows and guest/host
 * masks, TSC offsetting, RDTSCP enabling).
 *
 * The interpreter calls these hooks through `p.vmxGuest` (cpu/vmx-hooks.ts) while a guest runs;
 * event interception (exception bitmap), triple faults and INIT arrive through the processor's
 * system-context hooks, installed once per processor (vmx.ts).
 */
import type { TranslationResult } from '@latelaunch/kernel';
import { Form, Op, Prefix, type DecodedInstruction } from '@latelaunch/x86-isa';
import type { Processor } from '../cpu/processor.js';
import type { NonRootHooks } from '../cpu/vmx-hooks.js';
import { Activity, Cr0, Flag, Vec } from '../cpu/state.js';
import { EventKind } from '../cpu/exceptions.js';
import { pushesErrorCode } from '../cpu/exception-classes.js';
import { linearNoChecks } from '../cpu/system.js';
import { VM_EXIT } from '../cpu/fault.js';
import { sys } from '../cpu/system-context.js';
import { ExitCtl, Pin, Proc, Proc2 } from './controls.js';
import { EXIT_REASON } from './vmcs-fields.js';
import { F, type VmcsData } from './vmcs.js';
import { IntrType, intrTypeOf, resetExitInfo, secondary, vmExit } from './exit.js';
import type { VmxUnit } from './unit.js';

const TWO32 = 4294967296;

/** Address-size code of instruction information (0 = 16, 1 = 32, 2 = 64). */
function addrCode(size: number): number {
  return size === 16 ? 0 : size === 32 ? 1 : 2;
}

/**
 * The memory-operand part of the VM-exit instruction-information field (Tables 28-9 … 28-14):
 * scaling 1:0, address size 9:7, segment 17:15, index 21:18 (+ invalid 22), base 26:23 (+ invalid 27).
 */
export function memoryInstrInfo(i: DecodedInstruction): number {
  const scale = i.scale === 8 ? 3 : i.scale === 4 ? 2 : i.scale === 2 ? 1 : 0;
  let info = scale | (addrCode(i.addrSize) << 7) | ((i.segment & 7) << 15);
  info |= i.index >= 0 ? (i.index & 15) << 18 : 1 << 22;
  info |= i.base >= 0 ? (i.base & 15) << 23 : 1 << 27;
  return info >>> 0;
}

/** Exit qualification of an instruction with a memory operand: the displacement (sign-extended). */
export function displacement(i: DecodedInstruction): number {
  return i.isMem ? i.disp | 0 : 0;
}

/** The non-root hooks of one processor. */
export class NonRoot implements NonRootHooks {
  nmiExiting = false;
  extIntExiting = false;
  private v: VmcsData | null = null;
  private pin = 0;
  private proc = 0;
  private proc2 = 0;
  private cr0Mask = 0;
  private cr0Shadow = 0;
  private cr4Mask = 0;
  private cr4Shadow = 0;
  private tscOff = 0n;

  constructor(private readonly u: VmxUnit) {}

  /** Caches the controls of the VMCS being entered (they cannot change while the guest runs). */
  configure(v: VmcsData): void {
    this.v = v;
    this.pin = v.u32(F.PIN_BASED_VM_EXEC_CONTROL);
    this.proc = v.u32(F.CPU_BASED_VM_EXEC_CONTROL);
    this.proc2 = secondary(v);
    this.nmiExiting = (this.pin & Pin.NMI_EXITING) !== 0;
    this.extIntExiting = (this.pin & Pin.EXTERNAL_INTERRUPT_EXITING) !== 0;
    this.cr0Mask = v.u32(F.CR0_GUEST_HOST_MASK) | 0;
    this.cr0Shadow = v.u32(F.CR0_READ_SHADOW) | 0;
    this.cr4Mask = v.u32(F.CR4_GUEST_HOST_MASK) | 0;
    this.cr4Shadow = v.u32(F.CR4_READ_SHADOW) | 0;
    this.tscOff = this.proc & Proc.USE_TSC_OFFSETTING ? BigInt.asIntN(64, v.big(F.TSC_OFFSET)) : 0n;
  }

  // ------------------------------------------------------------------ exits

  /** Exit for an instruction: guest RIP = the instruction, with its length. */
  private exitInstr(p: Processor, i: DecodedInstruction, reason: number, qualification: number, info = 0): true {
    const u = this.u;
    resetExitInfo(u);
    u.exitQualification = qualification;
    u.exitInstrLen = i.length;
    u.exitInstrInfo = info;
    vmExit(u, reason, p.instrStart);
    return true;
  }

  instruction(p: Processor, i: DecodedInstruction): boolean {
    const proc = this.proc;
    switch (i.op) {
      case Op.CPUID:
        return this.exitInstr(p, i, EXIT_REASON.CPUID, 0);
      case Op.HLT:
        return (proc & Proc.HLT_EXITING) !== 0 && this.exitInstr(p, i, EXIT_REASON.HLT, 0);
      case Op.INVD:
        return this.exitInstr(p, i, EXIT_REASON.INVD, 0);
      case Op.WBINVD:
        return (this.proc2 & Proc2.WBINVD_EXITING) !== 0 && this.exitInstr(p, i, EXIT_REASON.WBINVD, 0);
      case Op.INVLPG:
        return (proc & Proc.INVLPG_EXITING) !== 0 && this.exitInstr(p, i, EXIT_REASON.INVLPG, linearNoChecks(p, i));
      case Op.RDTSC:
        return (proc & Proc.RDTSC_EXITING) !== 0 && this.exitInstr(p, i, EXIT_REASON.RDTSC, 0);
      case Op.RDTSCP:
        return (proc & Proc.RDTSC_EXITING) !== 0 && this.exitInstr(p, i, EXIT_REASON.RDTSCP, 0);
      case Op.RDMSR:
      case Op.WRMSR:
        return this.msr(p, i);
      case Op.MOV_CR:
        return this.movCr(p, i);
      case Op.CLTS:
        // Exits when CR0.TS is host-owned and the shadow's TS is 1 (access type 2).
        return (this.cr0Mask & this.cr0Shadow & Cr0.TS) !== 0 && this.exitInstr(p, i, EXIT_REASON.CONTROL_REGISTER_ACCESS, 2 << 4);
      case Op.LMSW:
        return this.lmsw(p, i);
      case Op.MOV_DR:
        return (proc & Proc.MOV_DR_EXITING) !== 0 && this.exitInstr(p, i, EXIT_REASON.MOV_DR, (i.reg & 7) | (i.form === Form.R_D ? 1 << 4 : 0) | ((i.rm & 15) << 8));
      case Op.LGDT:
      case Op.LIDT:
      case Op.SGDT:
      case Op.SIDT:
        return (this.proc2 & Proc2.DESCRIPTOR_TABLE_EXITING) !== 0 && this.descriptorTable(p, i, true);
      case Op.LLDT:
      case Op.LTR:
      case Op.SLDT:
      case Op.STR:
        return (this.proc2 & Proc2.DESCRIPTOR_TABLE_EXITING) !== 0 && this.descriptorTable(p, i, false);
      default:
        return false;
    }
  }

  /** Every VMX instruction in non-root operation exits (reasons 18–27, 50, 53). */
  vmxInstruction(p: Processor, i: DecodedInstruction, reason: number, info: number): void {
    this.exitInstr(p, i, reason, displacement(i), info);
  }

  private msr(p: Processor, i: DecodedInstruction): boolean {
    const write = i.op === Op.WRMSR;
    const reason = write ? EXIT_REASON.WRMSR : EXIT_REASON.RDMSR;
    if (!(this.proc & Proc.USE_MSR_BITMAPS)) return this.exitInstr(p, i, reason, 0);
    const ecx = p.lo[1] >>> 0;
    let offset: number;
    if (ecx <= 0x1fff) offset = 0;
    else if (ecx >= 0xc0000000 && ecx <= 0xc0001fff) offset = 1024;
    else return this.exitInstr(p, i, reason, 0);
    if (write) offset += 2048;
    const bit = ecx & 0x1fff;
    const v = this.v as VmcsData;
    const byte = p.bus.read8(v.num(F.MSR_BITMAP) + offset + (bit >>> 3), p.cpuIndex);
    return ((byte >>> (bit & 7)) & 1) === 1 && this.exitInstr(p, i, reason, 0);
  }

  private movCr(p: Processor, i: DecodedInstruction): boolean {
    const cr = i.reg;
    const toCr = i.form === Form.C_R;
    const qual = cr | ((toCr ? 0 : 1) << 4) | ((i.rm & 15) << 8);
    const v = this.v as VmcsData;
    if (toCr) {
      const lo = p.lo[i.rm];
      const hi = p.is64 ? p.hi[i.rm] : 0;
      switch (cr) {
        case 0:
        case 4: {
          const mask = cr === 0 ? this.cr0Mask : this.cr4Mask;
          const shadow = cr === 0 ? this.cr0Shadow : this.cr4Shadow;
          const maskHi = v.hi[cr === 0 ? F.CR0_GUEST_HOST_MASK : F.CR4_GUEST_HOST_MASK];
          const shadowHi = v.hi[cr === 0 ? F.CR0_READ_SHADOW : F.CR4_READ_SHADOW];
          if (((lo ^ shadow) & mask) !== 0 || ((hi ^ shadowHi) & maskHi) !== 0) return this.exitInstr(p, i, EXIT_REASON.CONTROL_REGISTER_ACCESS, qual);
          return false;
        }
        case 3: {
          if (!(this.proc & Proc.CR3_LOAD_EXITING)) return false;
          const count = v.u32(F.CR3_TARGET_COUNT);
          const targets = [F.CR3_TARGET_VALUE0, F.CR3_TARGET_VALUE1, F.CR3_TARGET_VALUE2, F.CR3_TARGET_VALUE3];
          for (let k = 0; k < count && k < 4; k++) if (v.lo[targets[k]] === lo >>> 0 && v.hi[targets[k]] === hi >>> 0) return false;
          return this.exitInstr(p, i, EXIT_REASON.CONTROL_REGISTER_ACCESS, qual);
        }
        case 8:
          return (this.proc & Proc.CR8_LOAD_EXITING) !== 0 && this.exitInstr(p, i, EXIT_REASON.CONTROL_REGISTER_ACCESS, qual);
        default:
          return false;
      }
    }
    if (cr === 3) return (this.proc & Proc.CR3_STORE_EXITING) !== 0 && this.exitInstr(p, i, EXIT_REASON.CONTROL_REGISTER_ACCESS, qual);
    if (cr === 8) return (this.proc & Proc.CR8_STORE_EXITING) !== 0 && this.exitInstr(p, i, EXIT_REASON.CONTROL_REGISTER_ACCESS, qual);
    return false;
  }

  private lmsw(p: Processor, i: DecodedInstruction): boolean {
    const src = i.isMem ? p.lread16(p.memLinear(i, 2, false)) : p.lo[i.rm] & 0xffff;
    const mask = this.cr0Mask & 0xf;
    const shadow = this.cr0Shadow & 0xf;
    // MP/EM/TS: any host-owned bit that differs from the shadow; PE: host-owned, shadow 0, source 1.
    const exits = ((src ^ shadow) & mask & 0xe) !== 0 || (mask & 1 && !(shadow & 1) && src & 1);
    if (!exits) return false;
    const u = this.u;
    const qual = 0 | (3 << 4) | (i.isMem ? 1 << 6 : 0) | ((i.isMem ? 0 : i.rm & 15) << 8) | (src << 16);
    resetExitInfo(u);
    u.exitQualification = qual >>> 0;
    u.exitInstrLen = i.length;
    if (i.isMem) u.exitGuestLinear = p.memLinear(i, 2, false);
    vmExit(u, EXIT_REASON.CONTROL_REGISTER_ACCESS, p.instrStart);
    return true;
  }

  private descriptorTable(p: Processor, i: DecodedInstruction, gdtIdt: boolean): boolean {
    let identity: number;
    switch (i.op) {
      case Op.SGDT:
      case Op.SLDT:
        identity = 0;
        break;
      case Op.SIDT:
      case Op.STR:
        identity = 1;
        break;
      case Op.LGDT:
      case Op.LLDT:
        identity = 2;
        break;
      default:
        identity = 3;
    }
    let info = identity << 28;
    if (i.isMem) info |= memoryInstrInfo(i);
    else info |= (1 << 10) | ((i.rm & 15) << 3) | (addrCode(i.addrSize) << 7);
    if (gdtIdt && i.opSize !== 16) info |= 1 << 11;
    return this.exitInstr(p, i, gdtIdt ? EXIT_REASON.GDTR_IDTR_ACCESS : EXIT_REASON.LDTR_TR_ACCESS, displacement(i), info >>> 0);
  }

  io(p: Processor, i: DecodedInstruction, port: number, size: number): boolean {
    const proc = this.proc;
    let exits: boolean;
    if (proc & Proc.USE_IO_BITMAPS) {
      exits = false;
      const v = this.v as VmcsData;
      for (let k = 0; k < size; k++) {
        const pt = port + k;
        if (pt > 0xffff) {
          exits = true; // wraps around: exits (SDM 26.1.3)
          break;
        }
        const base = pt < 0x8000 ? v.num(F.IO_BITMAP_A) : v.num(F.IO_BITMAP_B);
        const bit = pt & 0x7fff;
        if ((p.bus.read8(base + (bit >>> 3), p.cpuIndex) >>> (bit & 7)) & 1) {
          exits = true;
          break;
        }
      }
    } else exits = (proc & Proc.UNCONDITIONAL_IO_EXITING) !== 0;
    if (!exits) return false;
    const string = i.op === Op.INS || i.op === Op.OUTS;
    const isIn = i.op === Op.IN || i.op === Op.INS;
    const rep = string && (i.prefixes & (Prefix.REP | Prefix.REPNE)) !== 0;
    const imm = i.form === Form.A_I || i.form === Form.I_A;
    const u = this.u;
    resetExitInfo(u);
    u.exitQualification = ((size - 1) | (isIn ? 1 << 3 : 0) | (string ? 1 << 4 : 0) | (rep ? 1 << 5 : 0) | (imm ? 1 << 6 : 0) | (port << 16)) >>> 0;
    u.exitInstrLen = i.length;
    if (string) {
      // Instruction information (IA32_VMX_BASIC[54] = 1): address size 9:7, segment 17:15 (OUTS).
      u.exitInstrInfo = (addrCode(i.addrSize) << 7) | ((isIn ? 0 : i.segment & 7) << 15);
      u.exitGuestLinear = stringLinear(p, i, isIn);
    }
    vmExit(u, EXIT_REASON.IO_INSTRUCTION, p.instrStart);
    return true;
  }

  readCr(cr: 0 | 4, actual: number): number {
    const mask = cr === 0 ? this.cr0Mask : this.cr4Mask;
    const shadow = cr === 0 ? this.cr0Shadow : this.cr4Shadow;
    return (actual & ~mask) | (shadow & mask);
  }

  writeCr(cr: 0 | 4, current: number, requested: number): number {
    const mask = cr === 0 ? this.cr0Mask : this.cr4Mask;
    return (requested & ~mask) | (current & mask);
  }

  tscOffset(): bigint {
    return this.tscOff;
  }

  rdtscpEnabled(): boolean {
    return (this.proc2 & Proc2.ENABLE_RDTSCP) !== 0;
  }

  // ------------------------------------------------------------------ boundary events

  beforeNmi(p: Processor, stiShadow: boolean, movSsShadow: boolean): boolean {
    const u = this.u;
    const s = p.state;
    const act = s.activity;
    // VMX-preemption timer (active and HLT; not in shutdown or wait-for-SIPI).
    if (this.pin & Pin.PREEMPTION_TIMER && (act === Activity.ACTIVE || act === Activity.HLT) && u.pollTimer()) {
      resetExitInfo(u);
      u.timerExpired = false;
      vmExit(u, EXIT_REASON.VMX_PREEMPTION_TIMER_EXPIRED, s.rip);
      return true;
    }
    // NMI window: no virtual-NMI blocking, no MOV SS (nor STI) blocking; not in wait-for-SIPI.
    if (this.proc & Proc.NMI_WINDOW_EXITING && !s.nmiBlocked && !movSsShadow && !stiShadow && act !== Activity.WAIT_FOR_SIPI) {
      resetExitInfo(u);
      vmExit(u, EXIT_REASON.NMI_WINDOW, s.rip);
      return true;
    }
    // NMI exiting: physical NMI blocking decides (the unit's copy under "virtual NMIs").
    if (this.nmiExiting && s.nmiPending && !movSsShadow) {
      const blocked = this.pin & Pin.VIRTUAL_NMIS ? u.physNmiBlocked : s.nmiBlocked;
      if (!blocked) {
        s.nmiPending = false;
        resetExitInfo(u);
        u.exitIntrInfo = (0x80000000 | (IntrType.NMI << 8) | Vec.NMI) >>> 0;
        u.exitByNmi = true;
        vmExit(u, EXIT_REASON.EXCEPTION_OR_NMI, s.rip);
        return true;
      }
    }
    return false;
  }

  beforeInterrupt(p: Processor, stiShadow: boolean, movSsShadow: boolean): boolean {
    const u = this.u;
    const s = p.state;
    const act = s.activity;
    if (act === Activity.SHUTDOWN || act === Activity.WAIT_FOR_SIPI) return false;
    // Interrupt window: IF = 1 and no STI / MOV SS blocking.
    if (this.proc & Proc.INTERRUPT_WINDOW_EXITING && s.rflags & Flag.IF && !stiShadow && !movSsShadow) {
      resetExitInfo(u);
      vmExit(u, EXIT_REASON.INTERRUPT_WINDOW, s.rip);
      return true;
    }
    // External-interrupt exiting: RFLAGS.IF does not block these exits; the shadows do.
    if (this.extIntExiting && !stiShadow && !movSsShadow) {
      const ic = sys(p).interruptController;
      if (ic.pendingVector() >= 0) {
        resetExitInfo(u);
        const v = this.v as VmcsData;
        if (v.u32(F.VM_EXIT_CONTROLS) & ExitCtl.ACK_INTERRUPT_ON_EXIT) {
          const vector = ic.acknowledge();
          if (vector >= 0) u.exitIntrInfo = (0x80000000 | (IntrType.EXTERNAL << 8) | vector) >>> 0;
        }
        vmExit(u, EXIT_REASON.EXTERNAL_INTERRUPT, s.rip);
        return true;
      }
    }
    return false;
  }

  pending(p: Processor): boolean {
    const s = p.state;
    if (this.pin & Pin.PREEMPTION_TIMER && this.u.pollTimer()) return true;
    if (this.proc & Proc.NMI_WINDOW_EXITING && !s.nmiBlocked) return true;
    if (this.proc & Proc.INTERRUPT_WINDOW_EXITING && s.rflags & Flag.IF) return true;
    if (this.nmiExiting && s.nmiPending) return true;
    return this.extIntExiting && sys(p).interruptController.pendingVector() >= 0;
  }

  sipi(p: Processor, vector: number): boolean {
    const u = this.u;
    p.state.sipiVector = -1;
    resetExitInfo(u);
    u.exitQualification = vector & 0xff;
    vmExit(u, EXIT_REASON.STARTUP_IPI, p.state.rip);
    return true;
  }

  taskSwitch(p: Processor, selector: number, source: number): never {
    const u = this.u;
    const vectoring = p.vectoringValid;
    resetExitInfo(u);
    u.exitQualification = ((selector & 0xffff) | (source << 30)) >>> 0;
    u.exitInstrLen = vectoring ? 0 : p.state.rip >= p.instrStart ? instrLength(p) : 0;
    vmExit(u, EXIT_REASON.TASK_SWITCH, vectoring ? p.state.rip : p.instrStart);
    throw VM_EXIT;
  }

  eptFault(p: Processor, linear: number, tr: TranslationResult): never {
    const u = this.u;
    resetExitInfo(u);
    if (tr.fault === -2) {
      u.exitGuestPhysical = tr.physical;
      vmExit(u, EXIT_REASON.EPT_MISCONFIGURATION, this.faultRip(p));
    } else {
      u.exitQualification = tr.errorCode | (this.iretUnblocked(p) ? 0x1000 : 0);
      u.exitGuestPhysical = tr.physical;
      if (tr.errorCode & 0x80) u.exitGuestLinear = linear;
      vmExit(u, EXIT_REASON.EPT_VIOLATION, this.faultRip(p));
    }
    throw VM_EXIT;
  }

  /** The exit is caused by a fault of an IRET that unblocked (virtual) NMIs, not while delivering an event (SDM 28.2.3 bit 12). */
  private iretUnblocked(p: Processor): boolean {
    return p.iretUnblockedNmi && !p.vectoringValid && p.iretAddress === p.instrStart;
  }

  /** Guest RIP of a fault-like exit: the instruction, or — during event delivery — where the event was being delivered. */
  private faultRip(p: Processor): number {
    return p.vectoringValid ? p.state.rip : p.instrStart;
  }

  // ------------------------------------------------------------------ events (system-context hooks)

  /** Exception bitmap (and #PF error-code mask/match) for hardware and software exceptions. */
  interceptEvent(p: Processor, vector: number, errorCode: number, kind: number, returnRip: number): boolean {
    const u = this.u;
    if (u.injecting) {
      u.injecting = false; // the injected event itself is not subject to the exception bitmap
      return false;
    }
    if (kind !== EventKind.EXCEPTION && kind !== EventKind.SOFTWARE_EXC) return false;
    if (vector >= 32) return false;
    const v = this.v as VmcsData;
    let exits = ((v.u32(F.EXCEPTION_BITMAP) >>> vector) & 1) === 1;
    if (vector === Vec.PF) {
      const match = ((errorCode & v.u32(F.PAGE_FAULT_ERROR_CODE_MASK)) >>> 0) === v.u32(F.PAGE_FAULT_ERROR_CODE_MATCH);
      if (!match) exits = !exits;
    }
    if (!exits) return false;
    const s = p.state;
    const hasErr = errorCode >= 0 && kind === EventKind.EXCEPTION && pushesErrorCode(vector);
    resetExitInfo(u);
    u.exitIntrInfo = (0x80000000 | (hasErr ? 0x800 : 0) | (intrTypeOf(kind) << 8) | vector | (this.iretUnblocked(p) && returnRip === p.instrStart && vector !== Vec.DF ? 0x1000 : 0)) >>> 0; // a fault (not a trap) of that IRET
    u.exitIntrError = hasErr ? errorCode : 0;
    let rip = returnRip;
    if (vector === Vec.PF) {
      // #PF exits leave CR2 alone; the address is the exit qualification.
      u.exitQualification = s.cr2;
      s.cr2 = p.cr2BeforeFault;
    } else if (vector === Vec.DB) {
      u.exitQualification = s.dr[6] & 0x600f; // B0–B3, BD, BS (DR6 as it would have been written)
    }
    if (kind === EventKind.SOFTWARE_EXC) {
      u.exitInstrLen = instrLength(p);
      rip = p.instrStart;
    }
    vmExit(u, EXIT_REASON.EXCEPTION_OR_NMI, rip);
    return true;
  }

  /** Triple fault: VM exit (reason 2) instead of shutdown. */
  tripleFault(p: Processor): boolean {
    const u = this.u;
    resetExitInfo(u);
    vmExit(u, EXIT_REASON.TRIPLE_FAULT, p.state.rip);
    return true;
  }

  /** INIT in non-root operation: VM exit (reason 3); the INIT is consumed. */
  init(p: Processor): boolean {
    const u = this.u;
    p.state.initPending = false;
    resetExitInfo(u);
    vmExit(u, EXIT_REASON.INIT_SIGNAL, p.state.rip);
    return true;
  }
}

/** Length of the instruction being executed (its start to the current RIP). */
function instrLength(p: Processor): number {
  const d = p.state.rip - p.instrStart;
  return d > 0 && d <= 15 ? d : d < 0 ? (d + TWO32) % TWO32 : d;
}

/** Linear address of the memory operand of INS (ES:rDI) / OUTS (seg:rSI). */
function stringLinear(p: Processor, i: DecodedInstruction, isIn: boolean): number {
  const reg = isIn ? 7 : 6;
  const seg = isIn ? 0 : i.segment;
  const a = i.addrSize;
  const off = a === 64 ? p.hi[reg] * TWO32 + (p.lo[reg] >>> 0) : a === 32 ? p.lo[reg] >>> 0 : p.lo[reg] & 0xffff;
  if (p.is64) return seg >= 4 ? p.state.segBase[seg] + off : off;
  return (p.state.segBase[seg] + off) >>> 0;
}
