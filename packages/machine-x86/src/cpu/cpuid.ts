/**
 * The CPUID model (SDM Vol. 2A "CPUID—CPU Identification", Vol. 3A 9.x topology, 10.12 x2APIC).
 *
 * One `CpuidModel` describes the processor *model* shared by every logical processor of the
 * machine; per-processor values (the initial APIC ID in leaf 1 EBX[31:24] and the x2APIC ID in
 * leaf 0xB EDX) come from the `apicId` argument of {@link CpuidModel.query}.
 *
 * Values reported (defaults; every feature bit is a documented, overridable config field):
 * - Leaf 0: max basic leaf 0x0B, vendor "GenuineIntel".
 * - Leaf 1: EAX = signature (family 6, model 0x55, stepping 4 → 0x00050654); EBX = brand index 0,
 *   CLFLUSH line 8 (×8 = 64 bytes), logical-processor ID space per package, initial APIC ID;
 *   ECX = VMX(5), CX16(13), x2APIC(21) (HYPERVISOR(31) = 0: bare metal);
 *   EDX = FPU DE PSE TSC MSR PAE CX8 APIC SEP MTRR PGE CMOV PAT FXSR (+ HTT when >1 thread per package).
 *   MMX/SSE/SSE2 are *not* advertised by default: the interpreter has no SIMD instructions.
 * - Leaf 2: "no legacy descriptors, use leaf 4" (0xFF descriptor).
 * - Leaf 4: deterministic cache parameters: L1d 32 KiB, L1i 32 KiB (per core), L2 1 MiB (per core),
 *   L3 (per package, 1.375 MiB per core); EAX[31:26] = cores per package − 1.
 * - Leaf 7.0: EBX = 0, ECX = UMIP(2) (the interpreter implements CR4.UMIP), EDX = 0.
 * - Leaf 0xB: x2APIC topology, level 0 = SMT, level 1 = core, EDX = x2APIC ID.
 * - Leaves 3, 5, 6, 8, 9, 0xA (inside the basic range, not modelled): all zero.
 * - 0x80000000: max extended leaf 0x80000008. 0x80000001: ECX LAHF(0); EDX SYSCALL(11) NX(20)
 *   RDTSCP(27) LM(29) (+ Page1GB(26) if configured). 0x80000002–4: brand string.
 *   0x80000006: L2 line/size. 0x80000007: EDX invariant TSC(8). 0x80000008: EAX = MAXPHYADDR
 *   (default 39) | linear bits (48) << 8.
 * - Any leaf above the basic or extended maximum — including the hypervisor range 0x40000000–
 *   0x4FFFFFFF, which no physical processor implements — returns the data of the highest basic
 *   leaf, as Intel processors do. A hypervisor (VMX non-root CPUID exits) reports its own
 *   0x40000000 leaves; {@link CpuidModel.setHypervisorLeaves} lets a *virtual* model do the same.
 * - IA32_MISC_ENABLE effects: bit 22 (limit CPUID maxval) caps leaf 0 EAX at 2; bit 34 (XD disable)
 *   clears NX in 0x80000001 EDX.
 */
import { Cr4 } from './state.js';

/** Feature switches of the model. Defaults listed in the file header. */
export interface CpuidFeatures {
  vmx: boolean;
  x2apic: boolean;
  nx: boolean;
  longMode: boolean;
  /** 1-GByte pages in 4-level paging (depends on the paging plugin). */
  page1gb: boolean;
  /** PSE/PGE/PAT/PAE/DE in leaf 1 EDX (the paging plugin is expected to implement them). */
  pse: boolean;
  pge: boolean;
  pat: boolean;
  /** CMPXCHG16B. */
  cx16: boolean;
  /** MMX / SSE / SSE2 (false: the interpreter has no SIMD instructions). */
  mmx: boolean;
  sse: boolean;
  sse2: boolean;
  /** User-mode instruction prevention (CR4.UMIP): SGDT/SIDT/SLDT/SMSW/STR at CPL > 0 → #GP(0). */
  umip: boolean;
  /** RDTSCP and IA32_TSC_AUX. */
  rdtscp: boolean;
  /** Report the hypervisor-present bit (leaf 1 ECX[31]); a virtual model for guests sets it. */
  hypervisor: boolean;
}

export interface CpuidConfig {
  family: number;
  model: number;
  stepping: number;
  /** Logical processors per core (2 = hyper-threading). */
  threadsPerCore: number;
  /** Cores per package. */
  coresPerPackage: number;
  /** MAXPHYADDR, CPUID.80000008H:EAX[7:0]. */
  maxPhysAddrBits: number;
  /** Linear-address width, CPUID.80000008H:EAX[15:8] (48: 4-level paging). */
  linearAddrBits: number;
  /** Brand string (at most 47 characters; NUL-padded to 48 bytes). */
  brand: string;
  features: CpuidFeatures;
}

export const DEFAULT_CPUID_FEATURES: Readonly<CpuidFeatures> = Object.freeze({
  vmx: true,
  x2apic: true,
  nx: true,
  longMode: true,
  page1gb: false,
  pse: true,
  pge: true,
  pat: true,
  cx16: true,
  mmx: false,
  sse: false,
  sse2: false,
  umip: true,
  rdtscp: true,
  hypervisor: false,
});

export const DEFAULT_CPUID_CONFIG: Readonly<CpuidConfig> = Object.freeze({
  family: 6,
  model: 0x55,
  stepping: 4,
  threadsPerCore: 1,
  coresPerPackage: 4,
  maxPhysAddrBits: 39,
  linearAddrBits: 48,
  brand: 'latelaunch simulated x86-64 processor',
  features: DEFAULT_CPUID_FEATURES,
});

/** Output registers of one CPUID query (caller-owned; reused to avoid allocation). */
export interface CpuidResult {
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

export type CpuidConfigInput = Partial<Omit<CpuidConfig, 'features'>> & { features?: Partial<CpuidFeatures> };

/** Number of bits needed to number `n` items (ceil(log2 n)); 0 for n ≤ 1. */
export function idBits(n: number): number {
  let b = 0;
  while (1 << b < n) b++;
  return b;
}

/** Leaf-1 EDX / ECX and 0x80000001 bits (SDM Vol. 2A Tables 3-10, 3-11). */
export const CpuidBit = {
  // leaf 1 EDX
  FPU: 1 << 0, VME: 1 << 1, DE: 1 << 2, PSE: 1 << 3, TSC: 1 << 4, MSR: 1 << 5, PAE: 1 << 6, MCE: 1 << 7, CX8: 1 << 8, APIC: 1 << 9,
  SEP: 1 << 11, MTRR: 1 << 12, PGE: 1 << 13, MCA: 1 << 14, CMOV: 1 << 15, PAT: 1 << 16, PSE36: 1 << 17, CLFSH: 1 << 19, MMX: 1 << 23,
  FXSR: 1 << 24, SSE: 1 << 25, SSE2: 1 << 26, HTT: 1 << 28,
  // leaf 1 ECX
  VMX: 1 << 5, CX16: 1 << 13, PCID: 1 << 17, X2APIC: 1 << 21, XSAVE: 1 << 26, HYPERVISOR: 1 << 31,
  // 0x80000001 EDX
  SYSCALL: 1 << 11, NX: 1 << 20, PAGE1GB: 1 << 26, RDTSCP: 1 << 27, LM: 1 << 29,
  // 0x80000001 ECX
  LAHF: 1 << 0,
  // leaf 7 ECX
  UMIP: 1 << 2,
} as const;

/** Hook for virtual models: leaves 0x40000000–0x4FFFFFFF. Return false to fall back to the default. */
export type HypervisorLeaves = (leaf: number, subleaf: number, out: CpuidResult) => boolean;

export class CpuidModel {
  readonly config: CpuidConfig;
  /** CPUID.1:EAX, also EDX after RESET/INIT (`CpuState.reset(kind, signature)`). */
  readonly signature: number;
  /** CR4 bits software may set on this model (others are reserved → #GP(0)). */
  readonly cr4ValidMask: number;
  /** EFER bits software may set (SCE, LME, NXE per features; LMA is read-only). */
  readonly eferValidMask: number;
  static readonly MAX_BASIC = 0x0b;
  static readonly MAX_EXTENDED = 0x80000008;
  private readonly brandWords: Uint32Array;
  private hypervisorLeaves: HypervisorLeaves | null = null;

  constructor(input: CpuidConfigInput = {}) {
    const features = { ...DEFAULT_CPUID_FEATURES, ...(input.features ?? {}) };
    const config: CpuidConfig = { ...DEFAULT_CPUID_CONFIG, ...input, features };
    if (!(config.threadsPerCore >= 1 && config.coresPerPackage >= 1)) throw new RangeError('CpuidModel: threadsPerCore and coresPerPackage must be ≥ 1');
    if (!(config.maxPhysAddrBits >= 32 && config.maxPhysAddrBits <= 52)) throw new RangeError('CpuidModel: maxPhysAddrBits must be in 32..52');
    if (config.brand.length > 47) throw new RangeError('CpuidModel: brand string longer than 47 characters');
    this.config = config;
    const f = config.family;
    const m = config.model;
    const famField = f > 0xf ? 0xf : f;
    const extFam = f > 0xf ? f - 0xf : 0;
    const useExtModel = f === 6 || f === 0xf;
    this.signature = ((config.stepping & 0xf) | ((m & 0xf) << 4) | (famField << 8) | (useExtModel ? ((m >>> 4) & 0xf) << 16 : 0) | ((extFam & 0xff) << 20)) >>> 0;
    let cr4 = Cr4.TSD | Cr4.DE | Cr4.PAE | Cr4.MCE | Cr4.PCE | Cr4.OSFXSR | Cr4.OSXMMEXCPT;
    if (features.pse) cr4 |= Cr4.PSE;
    if (features.pge) cr4 |= Cr4.PGE;
    if (features.vmx) cr4 |= Cr4.VMXE;
    if (features.umip) cr4 |= Cr4.UMIP;
    this.cr4ValidMask = cr4;
    this.eferValidMask = (features.longMode ? 0x1 | 0x100 : 0) | (features.nx ? 0x800 : 0);
    const bytes = new Uint8Array(48);
    for (let i = 0; i < config.brand.length; i++) bytes[i] = config.brand.charCodeAt(i) & 0x7f;
    this.brandWords = new Uint32Array(12);
    const dv = new DataView(bytes.buffer);
    for (let i = 0; i < 12; i++) this.brandWords[i] = dv.getUint32(i * 4, true);
  }

  /** Installs leaves 0x40000000–0x4FFFFFFF for a virtual model (a hypervisor's guests). */
  setHypervisorLeaves(fn: HypervisorLeaves | null): void {
    this.hypervisorLeaves = fn;
  }

  /** Bits of the SMT level of the APIC ID. */
  get smtBits(): number {
    return idBits(this.config.threadsPerCore);
  }
  /** Bits of the SMT + core levels (the package shift). */
  get packageShift(): number {
    return this.smtBits + idBits(this.config.coresPerPackage);
  }
  get threadsPerPackage(): number {
    return this.config.threadsPerCore * this.config.coresPerPackage;
  }

  /** APIC ID of logical processor `index` (threads of a core, then cores of a package, then packages). */
  apicIdOf(index: number): number {
    const { threadsPerCore, coresPerPackage } = this.config;
    const thread = index % threadsPerCore;
    const core = Math.floor(index / threadsPerCore) % coresPerPackage;
    const pkg = Math.floor(index / (threadsPerCore * coresPerPackage));
    return (pkg << this.packageShift) | (core << this.smtBits) | thread;
  }

  /**
   * Executes CPUID for leaf `eax`, subleaf `ecx` on the processor whose APIC ID is `apicId`.
   * `miscEnable` is that processor's IA32_MISC_ENABLE (bits 22 and 34 change the answers).
   */
  query(leaf: number, subleaf: number, apicId: number, out: CpuidResult, miscEnable = 0n): CpuidResult {
    leaf >>>= 0;
    subleaf >>>= 0;
    const limitMaxval = (miscEnable & (1n << 22n)) !== 0n;
    const xdDisabled = (miscEnable & (1n << 34n)) !== 0n;
    const maxBasic = limitMaxval ? 2 : CpuidModel.MAX_BASIC;
    if (leaf >= 0x40000000 && leaf <= 0x4fffffff && this.hypervisorLeaves && this.hypervisorLeaves(leaf, subleaf, out)) return out;
    if (leaf >= 0x80000000) {
      if (leaf > CpuidModel.MAX_EXTENDED) return this.basic(maxBasic, subleaf, apicId, out, maxBasic);
      return this.extended(leaf, out, xdDisabled);
    }
    if (leaf > maxBasic) leaf = maxBasic;
    return this.basic(leaf, subleaf, apicId, out, maxBasic);
  }

  private basic(leaf: number, subleaf: number, apicId: number, out: CpuidResult, maxBasic: number): CpuidResult {
    const c = this.config;
    const f = c.features;
    out.eax = out.ebx = out.ecx = out.edx = 0;
    switch (leaf) {
      case 0:
        out.eax = maxBasic;
        out.ebx = 0x756e6547; // "Genu"
        out.edx = 0x49656e69; // "ineI"
        out.ecx = 0x6c65746e; // "ntel"
        break;
      case 1: {
        const perPackage = 1 << this.packageShift;
        out.eax = this.signature;
        out.ebx = ((8 << 8) | ((Math.min(perPackage, 255) & 0xff) << 16) | ((apicId & 0xff) << 24)) >>> 0;
        let ecx = 0;
        if (f.vmx) ecx |= CpuidBit.VMX;
        if (f.cx16) ecx |= CpuidBit.CX16;
        if (f.x2apic) ecx |= CpuidBit.X2APIC;
        if (f.hypervisor) ecx |= CpuidBit.HYPERVISOR;
        out.ecx = ecx >>> 0;
        let edx = CpuidBit.FPU | CpuidBit.DE | CpuidBit.TSC | CpuidBit.MSR | CpuidBit.PAE | CpuidBit.MCE | CpuidBit.CX8 | CpuidBit.APIC | CpuidBit.SEP | CpuidBit.MTRR | CpuidBit.CMOV | CpuidBit.FXSR;
        if (f.pse) edx |= CpuidBit.PSE;
        if (f.pge) edx |= CpuidBit.PGE;
        if (f.pat) edx |= CpuidBit.PAT;
        if (f.mmx) edx |= CpuidBit.MMX;
        if (f.sse) edx |= CpuidBit.SSE;
        if (f.sse2) edx |= CpuidBit.SSE2;
        if (this.threadsPerPackage > 1) edx |= CpuidBit.HTT;
        out.edx = edx >>> 0;
        break;
      }
      case 2:
        out.eax = 0x0000ff01; // one iteration; descriptor 0xFF: "use leaf 4"
        break;
      case 4: {
        // Deterministic cache parameters (SDM Vol. 2A Table 3-8, leaf 04H).
        const coresField = ((c.coresPerPackage - 1) & 0x3f) << 26;
        const caches: [number, number, number, number, number][] = [
          // [type, level, ways, sets, sharing logical processors]
          [1, 1, 8, 64, c.threadsPerCore],
          [2, 1, 8, 64, c.threadsPerCore],
          [3, 2, 16, 1024, c.threadsPerCore],
          [3, 3, 11, 2048 * c.coresPerPackage, this.threadsPerPackage],
        ];
        const e = caches[subleaf];
        if (!e) break; // EAX[4:0] = 0: no more caches
        const [type, level, ways, sets, sharing] = e;
        out.eax = (type | (level << 5) | (1 << 8) | (((1 << idBits(sharing)) - 1) << 14) | coresField) >>> 0;
        out.ebx = (63 | (0 << 12) | ((ways - 1) << 22)) >>> 0; // line size 64, 1 partition
        out.ecx = sets - 1;
        out.edx = level === 3 ? 0x2 : 0; // L3 inclusive
        break;
      }
      case 7:
        if (subleaf === 0) {
          out.eax = 0; // max subleaf
          out.ecx = f.umip ? CpuidBit.UMIP : 0;
        }
        break;
      case 0x0b: {
        // x2APIC topology enumeration (SDM Vol. 3A 10.12.8 / Vol. 2A leaf 0BH).
        out.ecx = subleaf & 0xff;
        out.edx = apicId >>> 0;
        if (subleaf === 0) {
          out.eax = this.smtBits;
          out.ebx = c.threadsPerCore;
          out.ecx |= 1 << 8;
        } else if (subleaf === 1) {
          out.eax = this.packageShift;
          out.ebx = this.threadsPerPackage;
          out.ecx |= 2 << 8;
        }
        break;
      }
      default:
        break; // 3, 5, 6, 8, 9, 0xA: not modelled (zero)
    }
    return out;
  }

  private extended(leaf: number, out: CpuidResult, xdDisabled: boolean): CpuidResult {
    const c = this.config;
    const f = c.features;
    out.eax = out.ebx = out.ecx = out.edx = 0;
    switch (leaf) {
      case 0x80000000:
        out.eax = CpuidModel.MAX_EXTENDED;
        break;
      case 0x80000001: {
        out.ecx = CpuidBit.LAHF;
        let edx = 0;
        if (f.longMode) edx |= CpuidBit.SYSCALL | CpuidBit.LM;
        if (f.nx && !xdDisabled) edx |= CpuidBit.NX;
        if (f.page1gb) edx |= CpuidBit.PAGE1GB;
        if (f.rdtscp) edx |= CpuidBit.RDTSCP;
        out.edx = edx >>> 0;
        break;
      }
      case 0x80000002:
      case 0x80000003:
      case 0x80000004: {
        const i = (leaf - 0x80000002) * 4;
        out.eax = this.brandWords[i];
        out.ebx = this.brandWords[i + 1];
        out.ecx = this.brandWords[i + 2];
        out.edx = this.brandWords[i + 3];
        break;
      }
      case 0x80000006:
        out.ecx = (64 | (6 << 12) | (1024 << 16)) >>> 0; // 64-byte lines, 8-way (encoding 6), 1024 KiB
        break;
      case 0x80000007:
        out.edx = 1 << 8; // invariant TSC
        break;
      case 0x80000008:
        out.eax = (c.maxPhysAddrBits & 0xff) | ((c.linearAddrBits & 0xff) << 8);
        break;
      default:
        break; // 0x80000005: reserved on Intel
    }
    return out;
  }
}
