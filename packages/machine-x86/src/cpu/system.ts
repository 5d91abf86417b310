/**
 * System instructions (SDM Vol. 2 per instruction; Vol. 3A 2.5 control registers, 17.2 debug
 * registers, 16.5 I/O permission bit map, 2.8 system instruction summary).
 *
 * - Descriptor tables: LGDT/LIDT (CPL 0 in protected mode; 24-bit base with 16-bit operand size;
 *   64-bit canonical base in 64-bit mode), SGDT/SIDT/SLDT/STR/SMSW (CR4.UMIP: #GP(0) at CPL > 0),
 *   LLDT/LTR (segments.ts), LAR/LSL/VERR/VERW (ZF).
 * - Control registers: MOV to CR0 (reserved bits 31:0 ignored, ET forced to 1, bits 63:32 → #GP;
 *   PG without PE, NW without CD, PG with LME but without PAE or with CS.L = 1, clearing PG in
 *   64-bit mode → #GP(0); EFER.LMA follows PG when LME = 1), CR3 (bits ≥ MAXPHYADDR → #GP in
 *   IA-32e mode), CR4 (bits the CPUID model does not support → #GP; clearing PAE with LMA = 1 →
 *   #GP), CR8 ↔ interrupt-controller TPR (bits 63:4 → #GP). Every write re-syncs `pagingControl`,
 *   tells the translator (false → old value restored, #GP(0)) and calls `modeChanged()`.
 *   LMSW (cannot clear PE), CLTS.
 * - Debug registers: MOV DR with DR4/DR5 aliasing DR6/DR7 when CR4.DE = 0 (#UD when 1), DR7.GD →
 *   #DB (DR6.BD set), DR6/DR7 fixed bits, bits 63:32 of DR6/DR7 → #GP. Breakpoints themselves are
 *   not acted upon (debug-exception generation is not modelled).
 * - MSRs (msr.ts), RDTSC/RDTSCP (CR4.TSD), CPUID (cpuid.ts), INVLPG, INVD/WBINVD (no caches: no-ops).
 * - FXSAVE/FXRSTOR: #UD if CR0.EM, #NM if CR0.TS, #GP(0) unless the linear address is 16-byte
 *   aligned, MXCSR reserved bits (MXCSR_MASK = 0xFFBF) → #GP(0). The image is kept verbatim (the
 *   interpreter has no x87/SSE arithmetic); FXSAVE stores bytes 0–287 (0–463 in 64-bit mode).
 * - HLT (CPL 0), CLI/STI (CPL ≤ IOPL in protected mode; STI shadow when IF was 0), IN/OUT with
 *   the I/O permission bitmap when CPL > IOPL.
 * - VMX instructions: forwarded to the installed VMX implementation (`configureProcessor({vmx})`),
 *   #UD without one (as on a processor outside VMX operation, where VMCALL/VMXOFF/… are #UD).
 */
import { NotImplementedError, type ExtendedAddressTranslator } from '@latelaunch/kernel';
import { Form, Op, OP_NAMES, type DecodedInstruction } from '@latelaunch/x86-isa';
import type { Processor } from './processor.js';
import { Activity, AR, Cr0, Cr4, Efer, Flag, Seg, Vec } from './state.js';
import { D, isCanonical, loadLdtr, loadTr, readDescriptor, tableLinear } from './segments.js';
import { Msr, msrStored, readMsr, readTsc, writeMsr } from './msr.js';
import { sys } from './system-context.js';
import { beginShadow } from './interrupts.js';
import type { CpuidResult } from './cpuid.js';

const TWO32 = 4294967296;
/** CR0 bits that exist (PE MP EM TS ET NE WP AM NW CD PG); the others are ignored on write and read as 0. */
const CR0_VALID = Cr0.PE | Cr0.MP | Cr0.EM | Cr0.TS | Cr0.ET | Cr0.NE | Cr0.WP | Cr0.AM | Cr0.NW | Cr0.CD | Cr0.PG;
/** MXCSR bits supported (no DAZ): the MXCSR_MASK FXSAVE reports. */
export const MXCSR_MASK = 0xffbf;

const cpuidOut: CpuidResult = { eax: 0, ebx: 0, ecx: 0, edx: 0 };

export function execSystem(p: Processor, i: DecodedInstruction): void {
  const s = p.state;
  switch (i.op) {
    case Op.LGDT:
    case Op.LIDT:
      lgdtLidt(p, i, i.op === Op.LIDT);
      return;
    case Op.SGDT:
    case Op.SIDT:
      umip(p);
      if (p.vmxGuest !== null && p.vmxGuest.instruction(p, i)) return;
      sgdtSidt(p, i, i.op === Op.SIDT);
      return;
    case Op.LLDT:
    case Op.LTR: {
      if (p.realOrV86) p.fault(Vec.UD);
      if (p.cpl !== 0) p.fault(Vec.GP, 0);
      if (p.vmxGuest !== null && p.vmxGuest.instruction(p, i)) return;
      const sel = readSelector(p, i);
      if (i.op === Op.LLDT) loadLdtr(p, sel);
      else loadTr(p, sel);
      return;
    }
    case Op.SLDT:
    case Op.STR:
      if (p.realOrV86) p.fault(Vec.UD);
      umip(p);
      if (p.vmxGuest !== null && p.vmxGuest.instruction(p, i)) return;
      storeWord(p, i, s.segSel[i.op === Op.SLDT ? Seg.LDTR : Seg.TR], 0);
      return;
    case Op.SMSW:
      umip(p);
      {
        const cr0 = p.vmxGuest !== null ? p.vmxGuest.readCr(0, s.cr0) : s.cr0;
        storeWord(p, i, cr0 & 0xffff, cr0);
      }
      return;
    case Op.LMSW: {
      privileged(p);
      const v = readSelector(p, i);
      if (p.vmxGuest !== null && p.vmxGuest.instruction(p, i)) return;
      // Loads PE, MP, EM, TS; PE can be set but not cleared.
      writeCr0(p, (s.cr0 & ~0xe) | (v & 0xf) | (s.cr0 & Cr0.PE), 0);
      return;
    }
    case Op.CLTS:
      privileged(p);
      if (p.vmxGuest !== null) {
        if (p.vmxGuest.instruction(p, i)) return;
        s.cr0 = p.vmxGuest.writeCr(0, s.cr0, s.cr0 & ~Cr0.TS);
      } else s.cr0 &= ~Cr0.TS;
      p.syncPagingControl();
      return;
    case Op.LAR:
    case Op.LSL:
    case Op.VERR:
    case Op.VERW:
      if (p.realOrV86) p.fault(Vec.UD);
      verify(p, i);
      return;
    case Op.MOV_CR:
      privileged(p);
      if (p.vmxGuest !== null && p.vmxGuest.instruction(p, i)) return;
      if (i.form === Form.C_R) movToCr(p, i.reg, p.lo[i.rm], p.is64 ? p.hi[i.rm] : 0);
      else movFromCr(p, i);
      return;
    case Op.MOV_DR:
      // MOV-DR exiting has priority over the CPL and CR4.DE checks (SDM 26.1.3).
      if (p.vmxGuest !== null && p.vmxGuest.instruction(p, i)) return;
      movDr(p, i);
      return;
    case Op.SWAPGS: {
      privileged(p);
      const kgs = msrStored(p, Msr.KERNEL_GS_BASE);
      s.msr.set(Msr.KERNEL_GS_BASE, BigInt.asUintN(64, BigInt(s.segBase[Seg.GS])));
      s.segBase[Seg.GS] = Number(BigInt.asIntN(64, kgs));
      return;
    }
    case Op.RDMSR: {
      privileged(p);
      if (p.vmxGuest !== null && p.vmxGuest.instruction(p, i)) return;
      const v = readMsr(p, p.lo[1] >>> 0);
      p.setReg32(0, Number(v & 0xffffffffn) | 0);
      p.setReg32(2, Number((v >> 32n) & 0xffffffffn) | 0);
      return;
    }
    case Op.WRMSR:
      privileged(p);
      if (p.vmxGuest !== null && p.vmxGuest.instruction(p, i)) return;
      writeMsr(p, p.lo[1] >>> 0, (BigInt(p.lo[2] >>> 0) << 32n) | BigInt(p.lo[0] >>> 0));
      return;
    case Op.RDTSC:
    case Op.RDTSCP: {
      if (s.cr4 & Cr4.TSD && p.cpl !== 0 && !p.realOrV86) p.fault(Vec.GP, 0);
      if (i.op === Op.RDTSCP && (!sys(p).cpuid.config.features.rdtscp || (p.vmxGuest !== null && !p.vmxGuest.rdtscpEnabled()))) p.fault(Vec.UD);
      if (p.vmxGuest !== null && p.vmxGuest.instruction(p, i)) return;
      const t = readTsc(p);
      p.setReg32(0, Number(t & 0xffffffffn) | 0);
      p.setReg32(2, Number(t >> 32n) | 0);
      if (i.op === Op.RDTSCP) p.setReg32(1, Number(msrStored(p, Msr.TSC_AUX) & 0xffffffffn) | 0);
      return;
    }
    case Op.CPUID: {
      if (p.vmxGuest !== null && p.vmxGuest.instruction(p, i)) return;
      const c = sys(p);
      const leaf = p.lo[0] >>> 0;
      c.cpuid.query(leaf, p.lo[1], c.apicId, cpuidOut, msrStored(p, Msr.MISC_ENABLE, 0x1801n));
      // CPUID.1:EDX.APIC reflects IA32_APIC_BASE.EN (SDM Vol. 3A 10.4.3).
      if (leaf === 1 && (readMsr(p, Msr.APIC_BASE) & (1n << 11n)) === 0n) cpuidOut.edx &= ~(1 << 9);
      p.setReg32(0, cpuidOut.eax | 0);
      p.setReg32(3, cpuidOut.ebx | 0);
      p.setReg32(1, cpuidOut.ecx | 0);
      p.setReg32(2, cpuidOut.edx | 0);
      return;
    }
    case Op.INVLPG:
      privileged(p);
      if (p.vmxGuest !== null && p.vmxGuest.instruction(p, i)) return;
      p.invalidatePage(linearNoChecks(p, i));
      return;
    case Op.INVD:
    case Op.WBINVD:
      privileged(p);
      if (p.vmxGuest !== null && p.vmxGuest.instruction(p, i)) return;
      return;
    case Op.LFENCE:
    case Op.MFENCE:
    case Op.SFENCE:
      // One processor executes at a time, in program order: fences have nothing to order.
      return;
    case Op.FXSAVE:
    case Op.FXRSTOR:
      fx(p, i, i.op === Op.FXSAVE);
      return;
    case Op.HLT:
      privileged(p);
      if (p.vmxGuest !== null && p.vmxGuest.instruction(p, i)) return;
      s.activity = Activity.HLT;
      p.eventsPending = true;
      return;
    case Op.CLI:
    case Op.STI:
      if (!p.realOrV86 && p.cpl > iopl(p)) p.fault(Vec.GP, 0);
      if (i.op === Op.CLI) s.rflags &= ~Flag.IF;
      else {
        if ((s.rflags & Flag.IF) === 0) {
          s.rflags |= Flag.IF;
          beginShadow(p, true, false);
        }
        p.eventsPending = true;
      }
      return;
    case Op.IN:
    case Op.OUT:
      inOut(p, i);
      return;
    case Op.VMXON:
    case Op.VMXOFF:
    case Op.VMCLEAR:
    case Op.VMPTRLD:
    case Op.VMPTRST:
    case Op.VMREAD:
    case Op.VMWRITE:
    case Op.VMLAUNCH:
    case Op.VMRESUME:
    case Op.VMCALL:
    case Op.INVEPT:
    case Op.INVVPID: {
      const vmx = sys(p).vmx;
      if (vmx === null) p.fault(Vec.UD);
      vmx(p, i);
      return;
    }
    default:
      throw new NotImplementedError(`instruction ${OP_NAMES[i.op] ?? i.op}`, 'not dispatched by the interpreter core nor by SYSTEM');
  }
}

// ---------------------------------------------------------------------------- helpers

function iopl(p: Processor): number {
  return (p.state.rflags & Flag.IOPL) >>> Flag.IOPL_SHIFT;
}

/** CPL-0 instructions: #GP(0) otherwise (real mode is CPL 0). */
function privileged(p: Processor): void {
  if (p.cpl !== 0) p.fault(Vec.GP, 0);
}

/** CR4.UMIP: SGDT/SIDT/SLDT/SMSW/STR at CPL > 0 → #GP(0). */
function umip(p: Processor): void {
  if (p.state.cr4 & Cr4.UMIP && p.cpl > 0) p.fault(Vec.GP, 0);
}

/** Reads a 16-bit r/m operand (selector / MSW source). */
function readSelector(p: Processor, i: DecodedInstruction): number {
  if (!i.isMem) return p.lo[i.rm] & 0xffff;
  return p.lread16(p.memLinear(i, 2, false));
}

/** Stores a selector/MSW: memory 16 bits; a register gets `full` zero-extended to the operand size (16: low word only). */
function storeWord(p: Processor, i: DecodedInstruction, word: number, full: number): void {
  if (i.isMem) {
    p.lwrite16(p.memLinear(i, 2, true), word);
    return;
  }
  if (i.opSize === 16) p.setReg16(i.rm, word);
  else if (i.opSize === 32) p.setReg32(i.rm, full === 0 ? word : full);
  else p.setReg64(i.rm, full === 0 ? word : full, 0);
}

/** Linear address of a memory operand without segment checks (INVLPG). */
export function linearNoChecks(p: Processor, i: DecodedInstruction): number {
  if (p.is64) {
    let a = p.ea64(i);
    if (i.segment >= Seg.FS) a += p.state.segBase[i.segment];
    return a;
  }
  return (p.state.segBase[i.segment] + p.eaOffset(i)) >>> 0;
}

/** Linear address + offset in the current address width. */
export function linAdd(p: Processor, lin: number, k: number): number {
  return p.is64 ? lin + k : (lin + k) >>> 0;
}

// ---------------------------------------------------------------------------- descriptor tables

function lgdtLidt(p: Processor, i: DecodedInstruction, idt: boolean): void {
  privileged(p);
  if (p.vmxGuest !== null && p.vmxGuest.instruction(p, i)) return;
  const s = p.state;
  const lin = p.memLinear(i, p.is64 ? 10 : 6, false);
  const limit = p.lread16(lin);
  let base: number;
  if (p.is64) {
    const lo = p.lread32(linAdd(p, lin, 2));
    const hi = p.lread32(linAdd(p, lin, 6));
    base = hi * TWO32 + (lo >>> 0);
    if (!isCanonical(base)) p.fault(Vec.GP, 0);
  } else {
    base = p.lread32(linAdd(p, lin, 2)) >>> 0;
    if (i.opSize === 16) base &= 0xffffff;
  }
  if (idt) {
    s.idtrBase = base;
    s.idtrLimit = limit;
  } else {
    s.gdtrBase = base;
    s.gdtrLimit = limit;
  }
}

function sgdtSidt(p: Processor, i: DecodedInstruction, idt: boolean): void {
  const s = p.state;
  const base = idt ? s.idtrBase : s.gdtrBase;
  const limit = idt ? s.idtrLimit : s.gdtrLimit;
  const lin = p.memLinear(i, p.is64 ? 10 : 6, true);
  p.probeWrite(lin, p.is64 ? 10 : 6);
  p.lwrite16(lin, limit);
  if (p.is64) p.lwrite64(linAdd(p, lin, 2), base | 0, Math.floor(base / TWO32) | 0);
  else p.lwrite32(linAdd(p, lin, 2), base | 0);
}

// ---------------------------------------------------------------------------- LAR / LSL / VERR / VERW

const LAR_TYPES_LEGACY = [1, 2, 3, 4, 5, 9, 0xb, 0xc];
const LAR_TYPES_LONG = [2, 9, 0xb, 0xc];
const LSL_TYPES_LEGACY = [1, 2, 3, 9, 0xb];
const LSL_TYPES_LONG = [2, 9, 0xb];

function verify(p: Processor, i: DecodedInstruction): void {
  const sel = readSelector(p, i);
  let ok = (sel & 0xfffc) !== 0 && readDescriptor(p, sel);
  if (ok) {
    const ar = D.ar;
    const dpl = (ar & AR.DPL_MASK) >>> AR.DPL_SHIFT;
    const dplOk = dpl >= p.cpl && dpl >= (sel & 3);
    const conformingCode = (ar & (AR.S | AR.CODE | AR.DC)) === (AR.S | AR.CODE | AR.DC);
    const long = (p.state.efer & Efer.LMA) !== 0;
    switch (i.op) {
      case Op.LAR:
      case Op.LSL:
        if (ar & AR.S) ok = conformingCode || dplOk;
        else {
          const types = i.op === Op.LAR ? (long ? LAR_TYPES_LONG : LAR_TYPES_LEGACY) : long ? LSL_TYPES_LONG : LSL_TYPES_LEGACY;
          ok = types.includes(ar & 0xf) && dplOk;
        }
        break;
      case Op.VERR:
        if ((ar & AR.S) === 0 || (ar & (AR.CODE | AR.RW)) === AR.CODE) ok = false;
        else ok = conformingCode || dplOk;
        break;
      default: // VERW
        ok = (ar & (AR.S | AR.CODE | AR.RW)) === (AR.S | AR.RW) && dplOk;
    }
  }
  p.setStatus(Flag.ZF, ok ? Flag.ZF : 0);
  if (!ok) return;
  if (i.op === Op.LAR) {
    const v = i.opSize === 16 ? D.hi & 0xff00 : D.hi & 0x00ffff00; // bits 19:16 (limit) as hardware and Bochs return them
    p.setReg(i.reg, i.opSize, v, 0);
  } else if (i.op === Op.LSL) {
    p.setReg(i.reg, i.opSize, D.limit | 0, 0);
  }
}

// ---------------------------------------------------------------------------- control registers

/** MOV to CR0 / LMSW. `value` is bits 31:0, `hi` bits 63:32 (64-bit mode). */
export function writeCr0(p: Processor, value: number, hi: number): void {
  const s = p.state;
  if (hi !== 0) p.fault(Vec.GP, 0);
  let v = (value & CR0_VALID) | Cr0.ET;
  // VMX non-root: host-owned bits (guest/host mask) keep their value; VMX operation: fixed bits.
  if (p.vmxGuest !== null) v = p.vmxGuest.writeCr(0, s.cr0, v);
  if ((v & p.cr0Fixed0) !== p.cr0Fixed0 || (v & ~p.cr0Fixed1) !== 0) p.fault(Vec.GP, 0);
  if (v & Cr0.PG && !(v & Cr0.PE)) p.fault(Vec.GP, 0);
  if (v & Cr0.NW && !(v & Cr0.CD)) p.fault(Vec.GP, 0);
  const old = s.cr0;
  const oldEfer = s.efer;
  let efer = s.efer;
  if (v & Cr0.PG && !(old & Cr0.PG) && s.efer & Efer.LME) {
    if (!(s.cr4 & Cr4.PAE)) p.fault(Vec.GP, 0);
    if (s.segAr[Seg.CS] & AR.L) p.fault(Vec.GP, 0);
    efer |= Efer.LMA;
  }
  if (!(v & Cr0.PG) && old & Cr0.PG) {
    if (p.is64) p.fault(Vec.GP, 0);
    efer &= ~Efer.LMA;
  }
  s.cr0 = v;
  s.efer = efer;
  if (!p.controlRegisterWritten('cr0', old)) {
    // The translator kept its state (kernel contract): put the old values back and re-sync.
    s.cr0 = old;
    s.efer = oldEfer;
    p.modeChanged();
    controlWriteFailed(p);
  }
  p.modeChanged();
}

/**
 * A control-register write the translator refused: #GP(0) for invalid PAE PDPTEs, or — when the
 * translator reports an EPT violation/misconfiguration while loading them (kernel
 * `ExtendedAddressTranslator.controlFault`, fault −1/−2) — the processor's EPT-fault path (VM exit).
 */
function controlWriteFailed(p: Processor): never {
  const cf = (p.mmu as Partial<ExtendedAddressTranslator>).controlFault;
  if (cf !== undefined && cf.fault < 0) return p.onEptFault(0, cf);
  return p.fault(Vec.GP, 0);
}

export function writeCr3(p: Processor, lo: number, hi: number): void {
  const s = p.state;
  let v: number;
  if (p.is64) {
    const maxPhys = sys(p).cpuid.config.maxPhysAddrBits;
    v = (hi >>> 0) * TWO32 + (lo >>> 0);
    if (v >= 2 ** maxPhys) p.fault(Vec.GP, 0);
  } else v = lo >>> 0;
  const old = s.cr3;
  s.cr3 = v;
  if (!p.controlRegisterWritten('cr3', old)) {
    s.cr3 = old;
    p.syncPagingControl();
    controlWriteFailed(p);
  }
}

export function writeCr4(p: Processor, lo: number, hi: number): void {
  const s = p.state;
  let v = lo >>> 0;
  if (hi !== 0 || v & ~sys(p).cpuid.cr4ValidMask) p.fault(Vec.GP, 0);
  if (p.vmxGuest !== null) v = p.vmxGuest.writeCr(4, s.cr4, v) >>> 0;
  if (s.efer & Efer.LMA && !(v & Cr4.PAE)) p.fault(Vec.GP, 0);
  // VMX operation: CR4_FIXED0/1 (clearing VMXE → #GP(0)).
  if ((v & p.cr4Fixed0) !== p.cr4Fixed0 || (v & ~p.cr4Fixed1) !== 0) p.fault(Vec.GP, 0);
  const old = s.cr4;
  s.cr4 = v;
  if (!p.controlRegisterWritten('cr4', old)) {
    s.cr4 = old;
    p.modeChanged();
    controlWriteFailed(p);
  }
  p.modeChanged();
}

export function writeCr8(p: Processor, lo: number, hi: number): void {
  if (hi !== 0 || lo & ~0xf) p.fault(Vec.GP, 0);
  p.state.cr8 = lo;
  sys(p).interruptController.writeTpr(lo);
  p.eventsPending = true;
}

function movToCr(p: Processor, cr: number, lo: number, hi: number): void {
  switch (cr) {
    case 0:
      writeCr0(p, lo, hi);
      return;
    case 2:
      p.state.cr2 = p.is64 ? hi * TWO32 + (lo >>> 0) : lo >>> 0;
      return;
    case 3:
      writeCr3(p, lo, hi);
      return;
    case 4:
      writeCr4(p, lo, hi);
      return;
    default:
      writeCr8(p, lo, hi);
  }
}

function movFromCr(p: Processor, i: DecodedInstruction): void {
  const s = p.state;
  let v: number;
  switch (i.reg) {
    case 0:
      v = (p.vmxGuest !== null ? p.vmxGuest.readCr(0, s.cr0) : s.cr0) >>> 0;
      break;
    case 2:
      v = s.cr2;
      break;
    case 3:
      v = s.cr3;
      break;
    case 4:
      v = (p.vmxGuest !== null ? p.vmxGuest.readCr(4, s.cr4) : s.cr4) >>> 0;
      break;
    default:
      v = sys(p).interruptController.readTpr();
      s.cr8 = v;
  }
  if (p.is64) p.setReg64(i.rm, v | 0, Math.floor(v / TWO32) | 0);
  else p.setReg32(i.rm, v | 0);
}

// ---------------------------------------------------------------------------- debug registers

function movDr(p: Processor, i: DecodedInstruction): void {
  const s = p.state;
  privileged(p);
  let n = i.reg;
  if (n === 4 || n === 5) {
    if (s.cr4 & Cr4.DE) p.fault(Vec.UD);
    n += 2;
  }
  if (s.dr[7] & 0x2000) {
    // General detect: #DB (fault) with DR6.BD; GD is cleared on entry to the handler.
    s.dr[6] = (s.dr[6] | 0x2000) >>> 0;
    s.dr[7] = (s.dr[7] & ~0x2000) >>> 0;
    p.fault(Vec.DB);
  }
  if (i.form === Form.R_D) {
    const v = s.dr[n];
    if (p.is64) p.setReg64(i.rm, v | 0, Math.floor(v / TWO32) | 0);
    else p.setReg32(i.rm, v | 0);
    return;
  }
  const lo = p.lo[i.rm];
  const hi = p.is64 ? p.hi[i.rm] : 0;
  if (n < 4) {
    s.dr[n] = p.is64 ? hi * TWO32 + (lo >>> 0) : lo >>> 0;
    return;
  }
  if (hi !== 0) p.fault(Vec.GP, 0);
  if (n === 6) s.dr[6] = ((lo & 0xe00f) | 0xffff0ff0) >>> 0;
  else s.dr[7] = ((lo & 0xffff23ff) | 0x400) >>> 0;
}

// ---------------------------------------------------------------------------- FXSAVE / FXRSTOR

const fxTemp = new Uint8Array(512);

function fx(p: Processor, i: DecodedInstruction, save: boolean): void {
  const s = p.state;
  if (s.cr0 & Cr0.EM) p.fault(Vec.UD);
  if (s.cr0 & Cr0.TS) p.fault(Vec.NM);
  const lin = p.memLinear(i, 512, save);
  if (lin % 16 !== 0) p.fault(Vec.GP, 0);
  const bytes = p.is64 ? 464 : 288;
  const img = s.fxsave;
  if (save) {
    img[28] = MXCSR_MASK & 0xff;
    img[29] = MXCSR_MASK >>> 8;
    img[30] = 0;
    img[31] = 0;
    p.probeWrite(lin, 512);
    for (let k = 0; k < bytes; k += 4) p.lwrite32(linAdd(p, lin, k), img[k] | (img[k + 1] << 8) | (img[k + 2] << 16) | (img[k + 3] << 24));
    return;
  }
  for (let k = 0; k < bytes; k += 4) {
    const v = p.lread32(linAdd(p, lin, k));
    fxTemp[k] = v;
    fxTemp[k + 1] = v >>> 8;
    fxTemp[k + 2] = v >>> 16;
    fxTemp[k + 3] = v >>> 24;
  }
  const mxcsr = fxTemp[24] | (fxTemp[25] << 8) | (fxTemp[26] << 16) | (fxTemp[27] << 24);
  if (mxcsr & ~MXCSR_MASK) p.fault(Vec.GP, 0);
  for (let k = 0; k < bytes; k++) if (k < 28 || k >= 32) img[k] = fxTemp[k];
}

// ---------------------------------------------------------------------------- I/O

/**
 * I/O permission check for IN/OUT/INS/OUTS (SDM Vol. 1 18.5): in protected mode with CPL > IOPL,
 * every bit for `port .. port+size-1` in the TSS I/O permission bitmap must be clear; the TSS must
 * be a 32/64-bit TSS whose limit covers the map base (offset 0x66) and the two bitmap bytes read.
 * #GP(0) otherwise. Real mode: always allowed.
 */
export function checkIoPermission(p: Processor, port: number, size: number): void {
  if (p.realOrV86 && (p.state.rflags & Flag.VM) === 0) return;
  if (p.cpl <= iopl(p)) return;
  const s = p.state;
  const trAr = s.segAr[Seg.TR];
  const type = trAr & 0xf;
  if (trAr & AR.UNUSABLE || (type !== 9 && type !== 0xb)) p.fault(Vec.GP, 0);
  const limit = s.segLimit[Seg.TR];
  if (limit < 0x67) p.fault(Vec.GP, 0);
  const base = s.segBase[Seg.TR];
  const mapBase = p.readLinear16(tableLinear(p, base, 0x66));
  const off = mapBase + (port >>> 3);
  if (off + 1 > limit) p.fault(Vec.GP, 0);
  const bits = p.readLinear16(tableLinear(p, base, off));
  const mask = ((1 << size) - 1) << (port & 7);
  if (bits & mask) p.fault(Vec.GP, 0);
}

function inOut(p: Processor, i: DecodedInstruction): void {
  const port = i.form === Form.A_I || i.form === Form.I_A ? i.imm & 0xff : p.lo[2] & 0xffff;
  const size = i.opSize === 8 ? 1 : i.opSize === 16 ? 2 : 4;
  checkIoPermission(p, port, size);
  if (p.vmxGuest !== null && p.vmxGuest.io(p, i, port, size)) return;
  if (i.op === Op.IN) {
    const v = p.bus.portRead(port, size, p.cpuIndex);
    if (size === 1) p.setReg8(0, v);
    else if (size === 2) p.setReg16(0, v);
    else p.setReg32(0, v | 0);
  } else {
    const v = size === 1 ? p.lo[0] & 0xff : size === 2 ? p.lo[0] & 0xffff : p.lo[0] >>> 0;
    p.bus.portWrite(port, size, v, p.cpuIndex);
  }
}
