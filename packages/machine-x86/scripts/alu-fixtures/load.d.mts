// Types for load.mjs (the ALU fixture loader). See packages/machine-x86/FIXTURES.md.

export type AluMode = 32 | 64;

export interface AluCase {
  /** `${mode}/${family}/${index}`, stable across regenerations unless that family changes. */
  id: string;
  mode: AluMode;
  family: string;
  /** Operand size in bits (destination size for MOVZX/MOVSX/LEA/CBW...). */
  size: 8 | 16 | 32 | 64;
  /** Intel-syntax text of the instruction (informational; `bytes` is authoritative). */
  asm: string;
  /** What was fed to GNU as when it differs from `asm` ({load} pseudo-prefix or .byte). */
  asmSource?: string;
  /** The instruction's bytes exactly as executed (one instruction). */
  bytes: Uint8Array;
  /** Address of the instruction; present only for RIP-relative LEA. */
  rip?: bigint;
  /** Input GPRs (full registers: rax.. in 64-bit mode, eax.. in 32-bit mode). */
  in: Record<string, bigint>;
  /** Input RFLAGS (bit 1 and IF set). */
  flagsIn: number;
  /** Output GPRs, same keys as `in`; absent when `exception` is set. */
  out?: Record<string, bigint>;
  /** Raw host RFLAGS after the instruction (includes undefined flags as the host left them). */
  flagsOut?: number;
  /** The expected exception (only '#DE' for DIV/IDIV); registers and flags are then unchanged. */
  exception?: '#DE';
  /** RFLAGS bits (subset of 0xcd5) whose output value is architecturally defined. */
  definedFlags: number;
  /** Per register, output bits that are architecturally undefined (BSF/BSR zero source, SHLD/SHRD count > 16). */
  undefinedBits?: Record<string, bigint>;
}

export interface AluActualResult {
  regs: Record<string, bigint>;
  flags: number;
  exception?: undefined;
}

export interface AluActualException {
  exception: string;
}

export const FLAGS: Readonly<{ CF: number; PF: number; AF: number; ZF: number; SF: number; DF: number; OF: number }>;
export const DEFINABLE_FLAGS: number;
export const FORMAT_VERSION: number;
export const REGISTER_NAMES: Readonly<{ 64: readonly string[]; 32: readonly string[] }>;

export interface AluManifest {
  formatVersion: number;
  seed: string;
  host: { arch: string; vendor: string; cpuFamily: number; cpuModel: number; modelName: string; hypervisor: boolean };
  toolchain: { as: string; gcc: string };
  files: Record<string, { mode: AluMode; cases: number; bytes: number; jsonlBytes: number; jsonlSha256: string }>;
  counts: Record<'32' | '64', Record<string, number>>;
  total: number;
  [key: string]: unknown;
}

/** Raw JSON record as stored in alu-<mode>.jsonl.gz (hex strings for numbers). */
export interface AluRawRecord {
  id: string;
  mode: AluMode;
  family: string;
  size: 8 | 16 | 32 | 64;
  asm: string;
  asmSource?: string;
  bytes: string;
  rip?: string;
  in: Record<string, string>;
  flagsIn: string;
  out?: Record<string, string>;
  flagsOut?: string;
  exception?: '#DE';
  definedFlags: string;
  undefinedBits?: Record<string, string>;
}

export function aluFixturesDir(): string;
export function loadAluManifest(dir?: string): AluManifest;
export function readAluRecords(mode: AluMode, dir?: string): AluRawRecord[];
export function parseAluCase(raw: AluRawRecord): AluCase;
export function loadAluCases(options?: { mode?: AluMode; family?: string | string[]; dir?: string }): AluCase[];
export function compareAluResult(c: AluCase, actual: AluActualResult | AluActualException): string[];
