/**
 * Register operands of the assembler DSL: every general-purpose register of every width,
 * segment, control and debug registers, and `rip` (for RIP-relative memory operands).
 */
import { AsmError } from './errors.js';

export type RegKind = 'gpr' | 'seg' | 'cr' | 'dr' | 'rip';
export type Scale = 1 | 2 | 4 | 8;

/** One register. Compare by identity: every register is a singleton constant of this module. */
export class Register {
  /** Intel name, lower case (`eax`, `r8b`, `cr3`, ...). */
  readonly name: string;
  readonly kind: RegKind;
  /** Width in bits (8/16/32/64 for GPRs, 16 for segment registers, 64 for CR/DR/RIP). */
  readonly size: number;
  /** Register number as encoded (0..15; segment registers es=0 cs=1 ss=2 ds=3 fs=4 gs=5). */
  readonly num: number;
  /** `spl`, `bpl`, `sil`, `dil`: byte registers that need a REX prefix. */
  readonly rexByte: boolean;
  /** `ah`, `ch`, `dh`, `bh`: byte registers that cannot be encoded with a REX prefix. */
  readonly highByte: boolean;
  /** @internal */
  constructor(name: string, kind: RegKind, size: number, num: number, flags: { rexByte?: boolean; highByte?: boolean } = {}) {
    this.name = name;
    this.kind = kind;
    this.size = size;
    this.num = num;
    this.rexByte = flags.rexByte ?? false;
    this.highByte = flags.highByte ?? false;
  }
  /** This register as a scaled index of a memory operand: `dword(ebx, esi.scale(4), 8)` is `[ebx+esi*4+8]`. */
  scale(factor: Scale): ScaledIndex {
    return new ScaledIndex(this, factor);
  }
  /** Whether using this register requires a REX prefix (64-bit code only). */
  get needsRex(): boolean {
    return (this.kind === 'gpr' && (this.num >= 8 || this.rexByte || this.size === 64)) || ((this.kind === 'cr' || this.kind === 'dr') && this.num >= 8);
  }
  toString(): string {
    return this.name;
  }
}

/** `reg * scale` inside a memory operand. */
export class ScaledIndex {
  readonly reg: Register;
  readonly scale: Scale;
  constructor(reg: Register, scale: Scale) {
    if (reg.kind !== 'gpr' || reg.size === 8) throw new AsmError('invalid-operands', `${reg.name} cannot be an index register`);
    if (scale !== 1 && scale !== 2 && scale !== 4 && scale !== 8) throw new AsmError('invalid-operands', `scale must be 1, 2, 4 or 8, got ${String(scale)}`);
    this.reg = reg;
    this.scale = scale;
  }
}

const gpr = (name: string, size: number, num: number, flags?: { rexByte?: boolean; highByte?: boolean }) => new Register(name, 'gpr', size, num, flags);

// 8-bit
export const al = gpr('al', 8, 0);
export const cl = gpr('cl', 8, 1);
export const dl = gpr('dl', 8, 2);
export const bl = gpr('bl', 8, 3);
export const ah = gpr('ah', 8, 4, { highByte: true });
export const ch = gpr('ch', 8, 5, { highByte: true });
export const dh = gpr('dh', 8, 6, { highByte: true });
export const bh = gpr('bh', 8, 7, { highByte: true });
export const spl = gpr('spl', 8, 4, { rexByte: true });
export const bpl = gpr('bpl', 8, 5, { rexByte: true });
export const sil = gpr('sil', 8, 6, { rexByte: true });
export const dil = gpr('dil', 8, 7, { rexByte: true });
export const r8b = gpr('r8b', 8, 8);
export const r9b = gpr('r9b', 8, 9);
export const r10b = gpr('r10b', 8, 10);
export const r11b = gpr('r11b', 8, 11);
export const r12b = gpr('r12b', 8, 12);
export const r13b = gpr('r13b', 8, 13);
export const r14b = gpr('r14b', 8, 14);
export const r15b = gpr('r15b', 8, 15);
// 16-bit
export const ax = gpr('ax', 16, 0);
export const cx = gpr('cx', 16, 1);
export const dx = gpr('dx', 16, 2);
export const bx = gpr('bx', 16, 3);
export const sp = gpr('sp', 16, 4);
export const bp = gpr('bp', 16, 5);
export const si = gpr('si', 16, 6);
export const di = gpr('di', 16, 7);
export const r8w = gpr('r8w', 16, 8);
export const r9w = gpr('r9w', 16, 9);
export const r10w = gpr('r10w', 16, 10);
export const r11w = gpr('r11w', 16, 11);
export const r12w = gpr('r12w', 16, 12);
export const r13w = gpr('r13w', 16, 13);
export const r14w = gpr('r14w', 16, 14);
export const r15w = gpr('r15w', 16, 15);
// 32-bit
export const eax = gpr('eax', 32, 0);
export const ecx = gpr('ecx', 32, 1);
export const edx = gpr('edx', 32, 2);
export const ebx = gpr('ebx', 32, 3);
export const esp = gpr('esp', 32, 4);
export const ebp = gpr('ebp', 32, 5);
export const esi = gpr('esi', 32, 6);
export const edi = gpr('edi', 32, 7);
export const r8d = gpr('r8d', 32, 8);
export const r9d = gpr('r9d', 32, 9);
export const r10d = gpr('r10d', 32, 10);
export const r11d = gpr('r11d', 32, 11);
export const r12d = gpr('r12d', 32, 12);
export const r13d = gpr('r13d', 32, 13);
export const r14d = gpr('r14d', 32, 14);
export const r15d = gpr('r15d', 32, 15);
// 64-bit
export const rax = gpr('rax', 64, 0);
export const rcx = gpr('rcx', 64, 1);
export const rdx = gpr('rdx', 64, 2);
export const rbx = gpr('rbx', 64, 3);
export const rsp = gpr('rsp', 64, 4);
export const rbp = gpr('rbp', 64, 5);
export const rsi = gpr('rsi', 64, 6);
export const rdi = gpr('rdi', 64, 7);
export const r8 = gpr('r8', 64, 8);
export const r9 = gpr('r9', 64, 9);
export const r10 = gpr('r10', 64, 10);
export const r11 = gpr('r11', 64, 11);
export const r12 = gpr('r12', 64, 12);
export const r13 = gpr('r13', 64, 13);
export const r14 = gpr('r14', 64, 14);
export const r15 = gpr('r15', 64, 15);
// segment
export const es = new Register('es', 'seg', 16, 0);
export const cs = new Register('cs', 'seg', 16, 1);
export const ss = new Register('ss', 'seg', 16, 2);
export const ds = new Register('ds', 'seg', 16, 3);
export const fs = new Register('fs', 'seg', 16, 4);
export const gs = new Register('gs', 'seg', 16, 5);
// control
export const cr0 = new Register('cr0', 'cr', 64, 0);
export const cr1 = new Register('cr1', 'cr', 64, 1);
export const cr2 = new Register('cr2', 'cr', 64, 2);
export const cr3 = new Register('cr3', 'cr', 64, 3);
export const cr4 = new Register('cr4', 'cr', 64, 4);
export const cr5 = new Register('cr5', 'cr', 64, 5);
export const cr6 = new Register('cr6', 'cr', 64, 6);
export const cr7 = new Register('cr7', 'cr', 64, 7);
export const cr8 = new Register('cr8', 'cr', 64, 8);
// debug
export const dr0 = new Register('dr0', 'dr', 64, 0);
export const dr1 = new Register('dr1', 'dr', 64, 1);
export const dr2 = new Register('dr2', 'dr', 64, 2);
export const dr3 = new Register('dr3', 'dr', 64, 3);
export const dr4 = new Register('dr4', 'dr', 64, 4);
export const dr5 = new Register('dr5', 'dr', 64, 5);
export const dr6 = new Register('dr6', 'dr', 64, 6);
export const dr7 = new Register('dr7', 'dr', 64, 7);
/** The instruction pointer, usable only as the base of a 64-bit memory operand: `qword(rip, 'label')`. */
export const rip = new Register('rip', 'rip', 64, 5);

const ALL: readonly Register[] = [
  al, cl, dl, bl, ah, ch, dh, bh, spl, bpl, sil, dil, r8b, r9b, r10b, r11b, r12b, r13b, r14b, r15b,
  ax, cx, dx, bx, sp, bp, si, di, r8w, r9w, r10w, r11w, r12w, r13w, r14w, r15w,
  eax, ecx, edx, ebx, esp, ebp, esi, edi, r8d, r9d, r10d, r11d, r12d, r13d, r14d, r15d,
  rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15,
  es, cs, ss, ds, fs, gs,
  cr0, cr1, cr2, cr3, cr4, cr5, cr6, cr7, cr8,
  dr0, dr1, dr2, dr3, dr4, dr5, dr6, dr7,
  rip,
];

/** Every register by name (`registers.eax`, `registers['r8b']`). */
export const registers: Readonly<Record<string, Register>> = Object.freeze(Object.fromEntries(ALL.map((r) => [r.name, r])));

/** The general-purpose register of `size` bits with number `num` (`gprOf(32, 3)` is `ebx`); for code generators. */
export function gprOf(size: 8 | 16 | 32 | 64, num: number): Register {
  const r = ALL.find((x) => x.kind === 'gpr' && x.size === size && x.num === num && !x.highByte);
  if (!r) throw new AsmError('invalid-operands', `no ${size}-bit general-purpose register number ${num}`);
  return r;
}
