/**
 * The VMX instructions (SDM Vol. 3C ch. 32 "VMX Instruction Reference"; Vol. 2 INVEPT, INVVPID):
 * VMXON, VMXOFF, VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE, VMLAUNCH, VMRESUME, VMCALL, INVEPT,
 * INVVPID — with the pseudocode's order of checks: #UD (outside VMX operation / wrong mode), VM
 * exit (VMX non-root operation), #GP(0) (CPL > 0), then VMsucceed / VMfailInvalid /
 * VMfailValid(error number) in RFLAGS and the VM-instruction error field (32.2 "Conventions").
 *
 * The same semantics are available to TypeScript host software as intrinsics (`VmxIntrinsics` in
 * vmx.ts), which call the operand-level functions below.
 */
import { Op, type DecodedInstruction } from '@latelaunch/x86-isa';
import type { Processor } from '../cpu/processor.js';
import { AR, Cr0, Cr4, Efer, Flag, Seg, STATUS_FLAGS, Vec } from '../cpu/state.js';
import { Msr, msrStored } from '../cpu/msr.js';
import { linAdd } from '../cpu/system.js';
import { isCanonical } from '../cpu/segments.js';
import { eptPointerValid, EptVpidCap, VMCS_REVISION_ID } from './controls.js';
import { EXIT_REASON, VMX_ERROR, VM_INSTRUCTION_ERRORS } from './vmcs-fields.js';
import { F, slotCode, slotReadOnly, SLOT_NATURAL, SLOT_WIDTH, type VmcsData } from './vmcs.js';
import { vmEntry } from './entry.js';
import { memoryInstrInfo } from './non-root.js';
import type { VmxUnit } from './unit.js';

const TWO32 = 4294967296;

/** Outcome of a VMX instruction (what RFLAGS reports). */
export const VmxStatus = { SUCCEED: 0, FAIL_INVALID: 1, FAIL_VALID: 2 } as const;
export type VmxStatus = (typeof VmxStatus)[keyof typeof VmxStatus];

const NAMES: Partial<Record<number, string>> = {
  [Op.VMXON]: 'VMXON', [Op.VMXOFF]: 'VMXOFF', [Op.VMCLEAR]: 'VMCLEAR', [Op.VMPTRLD]: 'VMPTRLD', [Op.VMPTRST]: 'VMPTRST',
  [Op.VMREAD]: 'VMREAD', [Op.VMWRITE]: 'VMWRITE', [Op.VMLAUNCH]: 'VMLAUNCH', [Op.VMRESUME]: 'VMRESUME', [Op.VMCALL]: 'VMCALL',
  [Op.INVEPT]: 'INVEPT', [Op.INVVPID]: 'INVVPID',
};

const EXIT_OF: Partial<Record<number, number>> = {
  [Op.VMXON]: EXIT_REASON.VMXON, [Op.VMXOFF]: EXIT_REASON.VMXOFF, [Op.VMCLEAR]: EXIT_REASON.VMCLEAR, [Op.VMPTRLD]: EXIT_REASON.VMPTRLD,
  [Op.VMPTRST]: EXIT_REASON.VMPTRST, [Op.VMREAD]: EXIT_REASON.VMREAD, [Op.VMWRITE]: EXIT_REASON.VMWRITE, [Op.VMLAUNCH]: EXIT_REASON.VMLAUNCH,
  [Op.VMRESUME]: EXIT_REASON.VMRESUME, [Op.VMCALL]: EXIT_REASON.VMCALL, [Op.INVEPT]: EXIT_REASON.INVEPT, [Op.INVVPID]: EXIT_REASON.INVVPID,
};

// ---------------------------------------------------------------------------- RFLAGS conventions (32.2)

export function vmSucceed(p: Processor): VmxStatus {
  p.setStatus(STATUS_FLAGS, 0);
  return VmxStatus.SUCCEED;
}

export function vmFailInvalid(u: VmxUnit, what: string): VmxStatus {
  u.p.setStatus(STATUS_FLAGS, Flag.CF);
  traceFail(u, what, 0);
  return VmxStatus.FAIL_INVALID;
}

export function vmFailValid(u: VmxUnit, what: string, error: number): VmxStatus {
  u.p.setStatus(STATUS_FLAGS, Flag.ZF);
  u.setInstructionError(error);
  traceFail(u, what, error);
  return VmxStatus.FAIL_VALID;
}

/** VMfail(error): VMfailValid with a current VMCS, VMfailInvalid without one. */
export function vmFail(u: VmxUnit, what: string, error: number): VmxStatus {
  return u.current !== null ? vmFailValid(u, what, error) : vmFailInvalid(u, what);
}

function traceFail(u: VmxUnit, instruction: string, error: number): void {
  u.lastError = error;
  const t = u.trace;
  if (t !== null && t.wants('vmx.fail')) t.emit('vmx.fail', { instruction, error, message: error === 0 ? 'VMfailInvalid' : (VM_INSTRUCTION_ERRORS.get(error) ?? '') }, u.p.cpuIndex);
}

// ---------------------------------------------------------------------------- mode checks

/** #UD conditions shared by the VMX instructions other than VMXON and VMCALL. */
export function udOutsideOrWrongMode(u: VmxUnit): void {
  const p = u.p;
  const s = p.state;
  if (!u.inVmx || !(s.cr0 & Cr0.PE) || s.rflags & Flag.VM || (s.efer & Efer.LMA && !(s.segAr[Seg.CS] & AR.L))) p.fault(Vec.UD);
}

export function cpl0(p: Processor): void {
  if (p.cpl !== 0) p.fault(Vec.GP, 0);
}

/** Reads the 64-bit memory operand (VMXON, VMCLEAR, VMPTRLD) as an unsigned number. */
function readPointer(p: Processor, i: DecodedInstruction): number {
  const lin = p.memLinear(i, 8, false);
  const lo = p.lread32(lin);
  const hi = p.lread32(linAdd(p, lin, 4));
  return (hi >>> 0) * TWO32 + (lo >>> 0);
}

/** The operand is a valid VMCS/VMXON pointer: 4-KiB aligned, below 2^MAXPHYADDR. */
function pointerOk(u: VmxUnit, addr: number): boolean {
  return addr % 4096 === 0 && u.physOk(addr);
}

/** VMXON's #UD conditions besides a register operand: CR0.PE = 0, CR4.VMXE = 0, RFLAGS.VM = 1, compatibility mode. */
export function vmxonUndefined(u: VmxUnit): void {
  const s = u.p.state;
  if (!(s.cr0 & Cr0.PE) || !(s.cr4 & Cr4.VMXE) || s.rflags & Flag.VM || (s.efer & Efer.LMA && !(s.segAr[Seg.CS] & AR.L))) u.p.fault(Vec.UD);
}

/** VMXON outside VMX operation: #GP(0) at CPL > 0, with CR0/CR4 violating the fixed bits, or when IA32_FEATURE_CONTROL is unlocked or forbids VMX outside SMX. */
export function vmxonGeneralProtection(u: VmxUnit): void {
  const p = u.p;
  const s = p.state;
  cpl0(p);
  const fc = msrStored(p, Msr.FEATURE_CONTROL);
  const fixedOk = ((s.cr0 & u.caps.cr0Fixed0) >>> 0) === u.caps.cr0Fixed0 && (s.cr0 & ~u.caps.cr0Fixed1) === 0 && (s.cr4 & u.caps.cr4Fixed0) === u.caps.cr4Fixed0 && (s.cr4 & ~u.caps.cr4Fixed1) === 0;
  if (!fixedOk || (fc & 1n) === 0n || (fc & 4n) === 0n) p.fault(Vec.GP, 0);
}

// ---------------------------------------------------------------------------- the instruction handler

/** Executes one VMX instruction (installed as the processor's `vmx` handler). */
export function executeVmx(u: VmxUnit, p: Processor, i: DecodedInstruction): void {
  const name = NAMES[i.op] ?? 'VMX';
  const s = p.state;
  if (i.op === Op.VMXON) {
    if (!i.isMem) p.fault(Vec.UD);
    vmxonUndefined(u);
    if (u.nonRoot) return exitFor(u, p, i);
    if (!u.inVmx) {
      vmxonGeneralProtection(u);
      vmxon(u, readPointer(p, i), name);
      return;
    }
    cpl0(p);
    vmFail(u, name, VMX_ERROR.VMXON_IN_VMX_ROOT);
    return;
  }
  if (i.op === Op.VMCALL) {
    if (!u.inVmx) p.fault(Vec.UD);
    if (u.nonRoot) return exitFor(u, p, i);
    if (s.rflags & Flag.VM || (s.efer & Efer.LMA && !(s.segAr[Seg.CS] & AR.L))) p.fault(Vec.UD);
    cpl0(p);
    // No dual-monitor treatment of SMIs and SMM: VMCALL in VMX root operation fails.
    vmFail(u, name, VMX_ERROR.VMCALL_IN_VMX_ROOT);
    return;
  }
  udOutsideOrWrongMode(u);
  if (u.nonRoot) return exitFor(u, p, i);
  cpl0(p);
  switch (i.op) {
    case Op.VMXOFF:
      vmxoff(u);
      return;
    case Op.VMCLEAR:
      vmclear(u, readPointer(p, i), name);
      return;
    case Op.VMPTRLD:
      vmptrld(u, readPointer(p, i), name);
      return;
    case Op.VMPTRST: {
      const lin = p.memLinear(i, 8, true);
      const ptr = u.current === null ? -1 : u.current.address;
      p.probeWrite(lin, 8);
      if (ptr < 0) p.lwrite64(lin, -1, -1);
      else p.lwrite64(lin, ptr | 0, Math.floor(ptr / TWO32) | 0);
      vmSucceed(p);
      return;
    }
    case Op.VMREAD: {
      const enc = p.lo[i.reg] >>> 0;
      const encHi = p.is64 ? p.hi[i.reg] : 0;
      if (u.current === null) {
        vmFailInvalid(u, name);
        return;
      }
      const code = encHi === 0 ? slotCode(enc) : -1;
      if (code < 0) {
        vmFailValid(u, name, VMX_ERROR.UNSUPPORTED_VMCS_COMPONENT);
        return;
      }
      readField(u.current, code, p.is64);
      const size = p.is64 ? 64 : 32;
      p.writeE(i as never, size, fieldLo, fieldHi);
      vmSucceed(p);
      return;
    }
    case Op.VMWRITE: {
      const enc = p.lo[i.reg] >>> 0;
      const encHi = p.is64 ? p.hi[i.reg] : 0;
      const size = p.is64 ? 64 : 32;
      const lo = p.readE(i as never, size);
      const hi = p.is64 ? p.rhi : 0;
      if (u.current === null) {
        vmFailInvalid(u, name);
        return;
      }
      vmwrite(u, encHi === 0 ? enc : -1, lo, hi, name);
      return;
    }
    case Op.VMLAUNCH:
    case Op.VMRESUME:
      vmlaunch(u, i.op === Op.VMLAUNCH, name);
      return;
    case Op.INVEPT:
    case Op.INVVPID: {
      const type = p.is64 ? p.hi[i.reg] * TWO32 + (p.lo[i.reg] >>> 0) : p.lo[i.reg] >>> 0;
      const lin = p.memLinear(i, 16, false);
      const a = p.lread32(lin) >>> 0;
      const b = p.lread32(linAdd(p, lin, 4)) >>> 0;
      const c = p.lread32(linAdd(p, lin, 8)) >>> 0;
      const d = p.lread32(linAdd(p, lin, 12)) >>> 0;
      if (i.op === Op.INVEPT) invept(u, type, b * TWO32 + a, name); // bits 127:64 are reserved (not checked)
      else invvpid(u, type, b * TWO32 + a, ((d | 0) * TWO32) + c, name);
      return;
    }
    default:
      p.fault(Vec.UD);
  }
}

/** VMX instruction in VMX non-root operation: VM exit with its instruction information. */
function exitFor(u: VmxUnit, p: Processor, i: DecodedInstruction): void {
  let info = 0;
  switch (i.op) {
    case Op.VMXON:
    case Op.VMCLEAR:
    case Op.VMPTRLD:
    case Op.VMPTRST:
      info = memoryInstrInfo(i);
      break;
    case Op.VMREAD:
    case Op.VMWRITE:
      info = i.isMem ? memoryInstrInfo(i) : (1 << 10) | ((i.rm & 15) << 3) | ((i.addrSize === 16 ? 0 : i.addrSize === 32 ? 1 : 2) << 7);
      info = (info | ((i.reg & 15) << 28)) >>> 0;
      break;
    case Op.INVEPT:
    case Op.INVVPID:
      info = (memoryInstrInfo(i) | ((i.reg & 15) << 28)) >>> 0;
      break;
    default:
      info = 0;
  }
  u.hooks.vmxInstruction(p, i, EXIT_OF[i.op] ?? EXIT_REASON.VMCALL, info);
}

// ---------------------------------------------------------------------------- operand-level semantics

export function vmxon(u: VmxUnit, addr: number, name = 'VMXON'): VmxStatus {
  if (!pointerOk(u, addr)) return vmFailInvalid(u, name);
  const rev = u.readPhys32(addr);
  if ((rev & 0x7fffffff) !== VMCS_REVISION_ID || rev & 0x80000000) return vmFailInvalid(u, name);
  const p = u.p;
  u.inVmx = true;
  p.initBlocked = true;
  u.vmxonPointer = addr;
  u.current = null;
  p.cr0Fixed0 = u.caps.cr0Fixed0 | 0;
  p.cr0Fixed1 = u.caps.cr0Fixed1 | 0;
  p.cr4Fixed0 = u.caps.cr4Fixed0 | 0;
  p.cr4Fixed1 = u.caps.cr4Fixed1 | 0;
  return vmSucceed(p);
}

export function vmxoff(u: VmxUnit): VmxStatus {
  const p = u.p;
  u.inVmx = false;
  p.initBlocked = false;
  u.current = null;
  for (const v of u.cache.values()) if (v.launched) v.afterVmxoff = true;
  p.cr0Fixed0 = 0;
  p.cr0Fixed1 = -1;
  p.cr4Fixed0 = 0;
  p.cr4Fixed1 = -1;
  if (p.state.initPending) p.eventsPending = true; // INIT is no longer blocked
  return vmSucceed(p);
}

export function vmclear(u: VmxUnit, addr: number, name = 'VMCLEAR'): VmxStatus {
  if (!pointerOk(u, addr)) return vmFail(u, name, VMX_ERROR.VMCLEAR_INVALID_ADDRESS);
  if (addr === u.vmxonPointer) return vmFail(u, name, VMX_ERROR.VMCLEAR_VMXON_POINTER);
  const v = u.cache.get(addr);
  if (v !== undefined) {
    v.launched = false;
    u.flush(v);
    u.cache.delete(addr);
  } else u.writePhys32(addr + 8, 0);
  if (u.current !== null && u.current.address === addr) u.current = null;
  return vmSucceed(u.p);
}

export function vmptrld(u: VmxUnit, addr: number, name = 'VMPTRLD'): VmxStatus {
  if (!pointerOk(u, addr)) return vmFail(u, name, VMX_ERROR.VMPTRLD_INVALID_ADDRESS);
  if (addr === u.vmxonPointer) return vmFail(u, name, VMX_ERROR.VMPTRLD_VMXON_POINTER);
  const rev = u.readPhys32(addr);
  if ((rev & 0x7fffffff) !== VMCS_REVISION_ID || rev & 0x80000000) return vmFail(u, name, VMX_ERROR.VMPTRLD_INCORRECT_VMCS_REVISION_ID);
  u.current = u.load(addr);
  return vmSucceed(u.p);
}

/** VMREAD result (low/high 32 bits of the destination). */
let fieldLo = 0;
let fieldHi = 0;

/** Reads the field selected by a slot code into fieldLo/fieldHi (zero-extended to the operand size). */
function readField(v: VmcsData, code: number, is64: boolean): void {
  const slot = code >>> 1;
  if (code & 1) {
    fieldLo = v.hi[slot] | 0;
    fieldHi = 0;
    return;
  }
  const w = SLOT_WIDTH[slot];
  fieldLo = w === 16 ? v.lo[slot] & 0xffff : v.lo[slot] | 0;
  fieldHi = w === 64 && is64 ? v.hi[slot] | 0 : 0;
}

/** VMREAD as an intrinsic: the 64-bit value, or null on failure (RFLAGS/VM-instruction error set as the instruction does). */
export function vmread(u: VmxUnit, encoding: number, name = 'VMREAD'): bigint | null {
  if (u.current === null) {
    vmFailInvalid(u, name);
    return null;
  }
  const code = slotCode(encoding);
  if (code < 0) {
    vmFailValid(u, name, VMX_ERROR.UNSUPPORTED_VMCS_COMPONENT);
    return null;
  }
  readField(u.current, code, true);
  vmSucceed(u.p);
  return (BigInt(fieldHi >>> 0) << 32n) | BigInt(fieldLo >>> 0);
}

/** UNCHECKED_WRITES: GUEST_RIP (its check runs on every entry) and GUEST_RSP (no check) do not invalidate cached VM-entry checks. */

export function vmwrite(u: VmxUnit, encoding: number, lo: number, hi: number, name = 'VMWRITE'): VmxStatus {
  const v = u.current;
  if (v === null) return vmFailInvalid(u, name);
  const code = encoding < 0 ? -1 : slotCode(encoding);
  if (code < 0) return vmFailValid(u, name, VMX_ERROR.UNSUPPORTED_VMCS_COMPONENT);
  const slot = code >>> 1;
  if (slotReadOnly(slot)) return vmFailValid(u, name, VMX_ERROR.VMWRITE_READ_ONLY_VMCS_COMPONENT);
  if (code & 1) v.hi[slot] = lo >>> 0;
  else {
    const w = SLOT_WIDTH[slot];
    v.lo[slot] = w === 16 ? lo & 0xffff : lo >>> 0;
    if (w === 64) v.hi[slot] = SLOT_NATURAL[slot] && !u.p.is64 ? 0 : hi >>> 0;
  }
  if (slot !== F.GUEST_RIP && slot !== F.GUEST_RSP) v.writes++; // (see UNCHECKED_WRITES)
  return vmSucceed(u.p);
}

export function vmlaunch(u: VmxUnit, launch: boolean, name = launch ? 'VMLAUNCH' : 'VMRESUME'): VmxStatus {
  const v = u.current;
  const p = u.p;
  if (v === null) return vmFailInvalid(u, name);
  if (p.state.blockingByMovSs) return vmFailValid(u, name, VMX_ERROR.ENTRY_EVENTS_BLOCKED_BY_MOV_SS);
  if (launch && v.launched) return vmFailValid(u, name, VMX_ERROR.VMLAUNCH_NONCLEAR_VMCS);
  if (!launch && !v.launched) return vmFailValid(u, name, VMX_ERROR.VMRESUME_NONLAUNCHED_VMCS);
  if (!launch && v.afterVmxoff) return vmFailValid(u, name, VMX_ERROR.VMRESUME_AFTER_VMXOFF);
  p.syncToState();
  const error = vmEntry(u, launch);
  if (error !== 0) return vmFailValid(u, name, error);
  return VmxStatus.SUCCEED; // RFLAGS is the guest's (or the host's after a VM-entry failure exit)
}

export function invept(u: VmxUnit, type: number, eptp: number, name = 'INVEPT'): VmxStatus {
  const caps = u.caps.msrs.get(0x48c) ?? 0n;
  const supported = (type === 1 && (caps & EptVpidCap.INVEPT_SINGLE) !== 0n) || (type === 2 && (caps & EptVpidCap.INVEPT_ALL) !== 0n);
  if (!supported) return vmFail(u, name, VMX_ERROR.INVALID_OPERAND_TO_INVEPT_INVVPID);
  if (type === 1 && !eptPointerValid(eptp, u.maxPhys)) return vmFail(u, name, VMX_ERROR.INVALID_OPERAND_TO_INVEPT_INVVPID);
  const mmu = u.translator();
  if (mmu !== null) mmu.invept(type, eptp);
  u.p.flushFastTlb();
  return vmSucceed(u.p);
}

export function invvpid(u: VmxUnit, type: number, descLow: number, linear: number, name = 'INVVPID'): VmxStatus {
  const vpid = descLow % 65536;
  const reservedNonZero = Math.floor(descLow / 65536) !== 0;
  if (type > 3 || reservedNonZero) return vmFail(u, name, VMX_ERROR.INVALID_OPERAND_TO_INVEPT_INVVPID);
  if (type !== 2 && vpid === 0) return vmFail(u, name, VMX_ERROR.INVALID_OPERAND_TO_INVEPT_INVVPID);
  if (type === 0 && !isCanonical(linear)) return vmFail(u, name, VMX_ERROR.INVALID_OPERAND_TO_INVEPT_INVVPID);
  const mmu = u.translator();
  if (mmu !== null) mmu.invvpid(type, vpid, linear);
  u.p.flushFastTlb();
  return vmSucceed(u.p);
}
