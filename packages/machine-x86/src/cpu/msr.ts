/**
 * The model-specific registers of a logical processor (SDM Vol. 4 "Model-Specific Registers",
 * Vol. 3A 2.2.1 EFER, 11.11 MTRRs, 11.12 PAT; Vol. 2 RDMSR/WRMSR).
 *
 * Values live in `CpuState` (EFER in `state.efer`, FS/GS bases in the segment caches, the rest in
 * `state.msr`) so capture, snapshots and VMX see one copy. Implemented here:
 *
 * | MSR | index | notes |
 * |---|---|---|
 * | IA32_TIME_STAMP_COUNTER | 0x10 | `state.msr[0x10]` holds the offset against the machine TSC source |
 * | IA32_PLATFORM_ID | 0x17 | read-only 0 |
 * | IA32_APIC_BASE | 0x1B | default 0xFEE00900 (BSP) / 0xFEE00800; reserved bits and the x2APIC state transitions of SDM 10.12.5 → #GP; BSP read-only. An APIC model takes it over with `registerMsr` |
 * | IA32_FEATURE_CONTROL | 0x3A | default 0 (unlocked); bits 0 (lock) and 2 (VMX outside SMX) writable; any write when locked → #GP |
 * | IA32_BIOS_SIGN_ID | 0x8B | plain storage |
 * | IA32_MTRRCAP | 0xFE | read-only: 8 variable ranges, fixed ranges, WC |
 * | IA32_SYSENTER_CS/ESP/EIP | 0x174–0x176 | ESP/EIP must be canonical |
 * | IA32_MISC_ENABLE | 0x1A0 | default 0x1801; bits 0, 3, 16, 18, 22 (limit CPUID maxval), 23, 34 (XD disable) writable; 7, 11, 12 read-only (writes ignored) |
 * | IA32_MTRR_PHYSBASE/PHYSMASK0–7 | 0x200–0x20F | type and reserved-bit checks (MAXPHYADDR) |
 * | IA32_MTRR_FIX* | 0x250, 0x258, 0x259, 0x268–0x26F | every byte a valid type |
 * | IA32_PAT | 0x277 | default 0x0007040600070406; every entry a valid type (2, 3, ≥ 8 → #GP) |
 * | IA32_MTRR_DEF_TYPE | 0x2FF | type, FE (10), E (11) |
 * | IA32_EFER | 0xC0000080 | SCE/LME/NXE per the CPUID model; LMA read-only (written value ignored); changing LME while CR0.PG = 1 → #GP |
 * | IA32_STAR / LSTAR / CSTAR / FMASK | 0xC0000081–84 | LSTAR/CSTAR canonical; FMASK keeps bits 31:0 (as Bochs; bits 63:32 ignored) |
 * | IA32_FS_BASE / GS_BASE / KERNEL_GS_BASE | 0xC0000100–102 | canonical; FS/GS bases are the segment caches |
 * | IA32_TSC_AUX | 0xC0000103 | bits 63:32 reserved |
 *
 * Anything else is #GP(0) unless an extension registered a handler (`registerMsr`: x2APIC MSRs
 * 0x800–0x8FF and IA32_TSC_DEADLINE from the APIC issue, IA32_VMX_* from the VMX issue).
 * SYSENTER_CS is truncated to 32 bits (no #GP for bits 63:32), as Bochs does.
 */
import type { Processor } from './processor.js';
import { Cr0, Efer, Seg, Vec } from './state.js';
import { sys } from './system-context.js';

export const Msr = {
  TSC: 0x10,
  PLATFORM_ID: 0x17,
  APIC_BASE: 0x1b,
  FEATURE_CONTROL: 0x3a,
  BIOS_SIGN_ID: 0x8b,
  MTRRCAP: 0xfe,
  SYSENTER_CS: 0x174,
  SYSENTER_ESP: 0x175,
  SYSENTER_EIP: 0x176,
  MISC_ENABLE: 0x1a0,
  MTRR_PHYSBASE0: 0x200,
  MTRR_FIX64K_00000: 0x250,
  MTRR_FIX16K_80000: 0x258,
  MTRR_FIX16K_A0000: 0x259,
  MTRR_FIX4K_C0000: 0x268,
  PAT: 0x277,
  MTRR_DEF_TYPE: 0x2ff,
  EFER: 0xc0000080,
  STAR: 0xc0000081,
  LSTAR: 0xc0000082,
  CSTAR: 0xc0000083,
  FMASK: 0xc0000084,
  FS_BASE: 0xc0000100,
  GS_BASE: 0xc0000101,
  KERNEL_GS_BASE: 0xc0000102,
  TSC_AUX: 0xc0000103,
} as const;

const M64 = (1n << 64n) - 1n;
export const APIC_BASE_DEFAULT = 0xfee00000n;
const APIC_BSP = 1n << 8n;
const APIC_EXTD = 1n << 10n;
const APIC_EN = 1n << 11n;
const MISC_ENABLE_DEFAULT = 0x1801n;
const MISC_ENABLE_WRITABLE = (1n << 0n) | (1n << 3n) | (1n << 16n) | (1n << 18n) | (1n << 22n) | (1n << 23n) | (1n << 34n);
const MISC_ENABLE_RO = (1n << 7n) | (1n << 11n) | (1n << 12n);
const PAT_DEFAULT = 0x0007040600070406n;
const MTRRCAP_VALUE = 8n | (1n << 8n) | (1n << 10n);

/** A 64-bit MSR value (bigint) as the sign-extended number used for linear addresses (exact for canonical values). */
export function msrToAddress(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}

/** Inverse of {@link msrToAddress}. */
export function addressToMsr(a: number): bigint {
  return BigInt.asUintN(64, BigInt(a));
}

function canonical(v: bigint): boolean {
  const s = BigInt.asIntN(64, v);
  return s >= -(1n << 47n) && s < 1n << 47n;
}

/** Stored value of an MSR kept in `state.msr` (default when never written). */
export function msrStored(p: Processor, index: number, dflt = 0n): bigint {
  const v = p.state.msr.get(index);
  return v === undefined ? dflt : v;
}

/** The current time-stamp counter (machine TSC source + IA32_TSC offset), 64 bits. */
export function readTsc(p: Processor): bigint {
  const offset = p.vmxGuest !== null ? p.vmxGuest.tscOffset() : 0n; // VMX "use TSC offsetting"
  return (BigInt(Math.floor(sys(p).tsc())) + msrStored(p, Msr.TSC) + offset) & M64;
}

export function apicBaseDefault(p: Processor): bigint {
  return APIC_BASE_DEFAULT | APIC_EN | (sys(p).bsp ? APIC_BSP : 0n);
}

function physMask(p: Processor): bigint {
  return (1n << BigInt(sys(p).cpuid.config.maxPhysAddrBits)) - 1n;
}

function validMtrrType(t: number): boolean {
  return t === 0 || t === 1 || t === 4 || t === 5 || t === 6;
}

function isMtrrFixed(i: number): boolean {
  return i === Msr.MTRR_FIX64K_00000 || i === Msr.MTRR_FIX16K_80000 || i === Msr.MTRR_FIX16K_A0000 || (i >= Msr.MTRR_FIX4K_C0000 && i <= 0x26f);
}

/** RDMSR semantics: the value, or #GP(0) for an unknown MSR. */
export function readMsr(p: Processor, index: number): bigint {
  index >>>= 0;
  const c = sys(p);
  const h = c.msrHandlers.get(index);
  if (h !== undefined) return h.read(p, index);
  const s = p.state;
  switch (index) {
    case Msr.TSC:
      return readTsc(p);
    case Msr.PLATFORM_ID:
      return 0n;
    case Msr.APIC_BASE:
      return msrStored(p, index, apicBaseDefault(p));
    case Msr.FEATURE_CONTROL:
    case Msr.BIOS_SIGN_ID:
    case Msr.SYSENTER_CS:
    case Msr.SYSENTER_ESP:
    case Msr.SYSENTER_EIP:
    case Msr.MTRR_DEF_TYPE:
    case Msr.STAR:
    case Msr.LSTAR:
    case Msr.CSTAR:
    case Msr.FMASK:
    case Msr.KERNEL_GS_BASE:
    case Msr.TSC_AUX:
      return msrStored(p, index);
    case Msr.MTRRCAP:
      return MTRRCAP_VALUE;
    case Msr.MISC_ENABLE:
      return msrStored(p, index, MISC_ENABLE_DEFAULT);
    case Msr.PAT:
      return msrStored(p, index, PAT_DEFAULT);
    case Msr.EFER:
      return BigInt(s.efer >>> 0);
    case Msr.FS_BASE:
      return addressToMsr(s.segBase[Seg.FS]);
    case Msr.GS_BASE:
      return addressToMsr(s.segBase[Seg.GS]);
    default:
      if ((index >= Msr.MTRR_PHYSBASE0 && index <= 0x20f) || isMtrrFixed(index)) return msrStored(p, index);
      return p.fault(Vec.GP, 0);
  }
}

/** WRMSR semantics (value is masked to 64 bits): reserved-bit and transition checks → #GP(0). */
export function writeMsr(p: Processor, index: number, value: bigint): void {
  index >>>= 0;
  value &= M64;
  const c = sys(p);
  const h = c.msrHandlers.get(index);
  if (h !== undefined) {
    h.write(p, index, value);
    return;
  }
  const s = p.state;
  switch (index) {
    case Msr.TSC:
      s.msr.set(Msr.TSC, (value - BigInt(Math.floor(c.tsc()))) & M64);
      return;
    case Msr.PLATFORM_ID:
    case Msr.MTRRCAP:
      return p.fault(Vec.GP, 0);
    case Msr.APIC_BASE: {
      const old = msrStored(p, index, apicBaseDefault(p));
      const allowed = (physMask(p) & ~0xfffn) | APIC_EN | APIC_BSP | (c.cpuid.config.features.x2apic ? APIC_EXTD : 0n);
      if (value & ~allowed) p.fault(Vec.GP, 0);
      const en = (value & APIC_EN) !== 0n;
      const extd = (value & APIC_EXTD) !== 0n;
      const oldEn = (old & APIC_EN) !== 0n;
      const oldExtd = (old & APIC_EXTD) !== 0n;
      if (extd && !en) p.fault(Vec.GP, 0); // invalid state
      if (oldExtd && oldEn && en && !extd) p.fault(Vec.GP, 0); // x2APIC → xAPIC
      if (!oldEn && en && extd) p.fault(Vec.GP, 0); // disabled → x2APIC
      s.msr.set(index, (value & ~APIC_BSP) | (old & APIC_BSP));
      return;
    }
    case Msr.FEATURE_CONTROL: {
      const old = msrStored(p, index);
      if (old & 1n) p.fault(Vec.GP, 0);
      const allowed = 1n | (c.cpuid.config.features.vmx ? 4n : 0n);
      if (value & ~allowed) p.fault(Vec.GP, 0);
      s.msr.set(index, value);
      return;
    }
    case Msr.BIOS_SIGN_ID:
    case Msr.STAR:
      s.msr.set(index, value);
      return;
    case Msr.SYSENTER_CS:
    case Msr.FMASK:
      s.msr.set(index, value & 0xffffffffn);
      return;
    case Msr.SYSENTER_ESP:
    case Msr.SYSENTER_EIP:
    case Msr.LSTAR:
    case Msr.CSTAR:
    case Msr.KERNEL_GS_BASE:
      if (!canonical(value)) p.fault(Vec.GP, 0);
      s.msr.set(index, value);
      return;
    case Msr.FS_BASE:
    case Msr.GS_BASE:
      if (!canonical(value)) p.fault(Vec.GP, 0);
      s.segBase[index === Msr.FS_BASE ? Seg.FS : Seg.GS] = msrToAddress(value);
      p.flushFastTlb();
      return;
    case Msr.TSC_AUX:
      if (value >> 32n) p.fault(Vec.GP, 0);
      s.msr.set(index, value);
      return;
    case Msr.MISC_ENABLE: {
      const old = msrStored(p, index, MISC_ENABLE_DEFAULT);
      if (value & ~(MISC_ENABLE_WRITABLE | MISC_ENABLE_RO)) p.fault(Vec.GP, 0);
      s.msr.set(index, (value & MISC_ENABLE_WRITABLE) | (old & MISC_ENABLE_RO));
      return;
    }
    case Msr.PAT:
      for (let i = 0; i < 8; i++) {
        const t = Number((value >> BigInt(8 * i)) & 0xffn);
        if (t > 7 || t === 2 || t === 3) p.fault(Vec.GP, 0);
      }
      s.msr.set(index, value);
      return;
    case Msr.MTRR_DEF_TYPE:
      if (value & ~0xcffn || !validMtrrType(Number(value & 0xffn))) p.fault(Vec.GP, 0);
      s.msr.set(index, value);
      return;
    case Msr.EFER:
      writeEfer(p, value);
      return;
    default:
      if (index >= Msr.MTRR_PHYSBASE0 && index <= 0x20f) {
        const pm = physMask(p);
        if (index & 1) {
          if (value & ~((pm & ~0xfffn) | 0x800n)) p.fault(Vec.GP, 0);
        } else if (value & ~((pm & ~0xfffn) | 0xffn) || !validMtrrType(Number(value & 0xffn))) p.fault(Vec.GP, 0);
        s.msr.set(index, value);
        return;
      }
      if (isMtrrFixed(index)) {
        for (let i = 0; i < 8; i++) if (!validMtrrType(Number((value >> BigInt(8 * i)) & 0xffn))) p.fault(Vec.GP, 0);
        s.msr.set(index, value);
        return;
      }
      p.fault(Vec.GP, 0);
  }
}

/** WRMSR to IA32_EFER (SDM Vol. 3A 2.2.1, 9.8.5; Vol. 2 WRMSR). */
export function writeEfer(p: Processor, value: bigint): void {
  const s = p.state;
  const c = sys(p);
  let valid = c.cpuid.eferValidMask;
  if (msrStored(p, Msr.MISC_ENABLE, MISC_ENABLE_DEFAULT) & (1n << 34n)) valid &= ~Efer.NXE;
  // LMA is read-only: whatever is written there is ignored.
  if (value & ~BigInt(valid | Efer.LMA)) p.fault(Vec.GP, 0);
  const v = Number(value) & valid;
  const old = s.efer;
  if ((v ^ old) & Efer.LME && s.cr0 & Cr0.PG) p.fault(Vec.GP, 0);
  s.efer = (v & ~Efer.LMA) | (old & Efer.LMA);
  if (!p.controlRegisterWritten('efer', old)) {
    s.efer = old;
    p.modeChanged();
    p.fault(Vec.GP, 0);
  }
  p.modeChanged();
}

/** Sign-extended number of a 64-bit MSR holding an address (LSTAR, KERNEL_GS_BASE, …). */
export function msrAddress(p: Processor, index: number): number {
  return msrToAddress(msrStored(p, index));
}
