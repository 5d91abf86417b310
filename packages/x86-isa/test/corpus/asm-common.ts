/**
 * The instruction-form corpus shared by the three modes. Every entry is written once, as a DSL
 * call; its GNU as text is derived by the assembler's own formatter (the listing), and the test
 * compares our bytes with GNU as's for that text. Mode-specific forms live in asm-16/32/64.ts.
 *
 * Labels used by the corpus: `back_near` (at the start), `back_far` (before a 300-byte pad at the
 * start), `fwd_near`, `fwd_far` (after a 300-byte pad at the end), `data_lbl` (data at the end).
 */
import {
  type Assembler,
  type Bits,
  CONDITIONS,
  type Condition,
  type Mem,
  type MemSize,
  type Register,
  sym,
  dword,
  al, cl, dl, bl, ah, ch, dh, bh,
  ax, cx, dx, bx, sp, bp, si, di,
  eax, ecx, edx, ebx, esp, ebp, esi, edi,
  rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15,
  spl, bpl, sil, dil, r8b, r9b, r10b, r11b, r12b, r13b, r14b, r15b,
  r8w, r9w, r10w, r11w, r12w, r13w, r14w, r15w,
  r8d, r9d, r10d, r11d, r12d, r13d, r14d, r15d,
  es, cs, ss, ds, fs, gs,
} from '../../src/index.js';

export interface ModeSpec {
  bits: Bits;
  /** Unsized address forms, exercised with many instructions. */
  addrs: Mem[];
}

export function regsOf(bits: Bits): Record<8 | 16 | 32 | 64, Register[]> {
  if (bits === 64) {
    return {
      8: [al, cl, dl, bl, spl, bpl, sil, dil, r8b, r9b, r10b, r11b, r12b, r13b, r14b, r15b, ah, ch, dh, bh],
      16: [ax, cx, dx, bx, sp, bp, si, di, r8w, r9w, r10w, r11w, r12w, r13w, r14w, r15w],
      32: [eax, ecx, edx, ebx, esp, ebp, esi, edi, r8d, r9d, r10d, r11d, r12d, r13d, r14d, r15d],
      64: [rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15],
    };
  }
  return { 8: [al, cl, dl, bl, ah, ch, dh, bh], 16: [ax, cx, dx, bx, sp, bp, si, di], 32: [eax, ecx, edx, ebx, esp, ebp, esi, edi], 64: [] };
}

const COND_LIST = Object.keys(CONDITIONS) as Condition[];
const CANONICAL: Condition[] = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];

/** Emits the forms common to all modes. */
export function commonCorpus(a: Assembler, m: ModeSpec): void {
  const { bits } = m;
  const R = regsOf(bits);
  const sizes: (8 | 16 | 32 | 64)[] = bits === 64 ? [8, 16, 32, 64] : [8, 16, 32];
  const wsizes = sizes.filter((s) => s !== 8) as (16 | 32 | 64)[];
  const A = m.addrs;
  const at = (i: number, size?: MemSize) => A[i % A.length]!.withSize(size);
  const acc = (s: number) => R[s as 8]![0]!;
  const reg = (s: number, i: number) => {
    const list = R[s as 8]!.filter((r) => !(bits === 64 && r.highByte));
    return list[i % list.length]!;
  };
  const label = 'data_lbl';

  // ---------------------------------------------------------------- ALU
  const alu = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'] as const;
  alu.forEach((op, k) => {
    for (const s of sizes) {
      a[op](reg(s, k), reg(s, k + 3));
      a[op](reg(s, k + 1), at(k + s));
      a[op](at(k + s + 1, s as MemSize), reg(s, k + 2));
    }
    a[op](al, 1);
    a[op](al, 0xff);
    a[op](al, -128);
    a[op](bl, 0x7f);
    a[op](reg(8, k + 1), 0x80);
    for (const s of wsizes) {
      a[op](acc(s), 1);
      a[op](acc(s), 0x100);
      a[op](reg(s, k + 1), 127);
      a[op](reg(s, k + 2), 128);
      a[op](reg(s, k + 3), -128);
      a[op](reg(s, k + 1), -129);
      a[op](at(k + s, s as MemSize), 5);
      a[op](at(k + s + 2, s as MemSize), 0x1234);
      if (s !== 16 || bits === 16) {
        a[op](acc(s), label);
        a[op](reg(s, k + 5), label);
      }
    }
    a[op](at(k, 8), 0x80);
    a[op](ax, 0xffff);
    a[op](cx, 0xff80);
    a[op](dx, 0xff7f);
    a[op](eax, 0xffffffff);
    a[op](ecx, 0xffffff80);
    a[op](edx, 0x80000000);
  });

  // ---------------------------------------------------------------- TEST
  for (const s of sizes) {
    a.test(reg(s, 0), reg(s, 3));
    a.test(reg(s, 2), reg(s, 1));
    a.test(at(s, s as MemSize), reg(s, 1));
    a.test(reg(s, 5), at(s + 1, s as MemSize));
    a.test(acc(s), 1);
    a.test(reg(s, 3), 0x7f);
    a.test(at(s + 3, s as MemSize), 0x40);
  }

  // ---------------------------------------------------------------- MOV
  for (const s of sizes) {
    a.mov(reg(s, 1), reg(s, 6));
    a.mov(reg(s, 7), reg(s, 0));
    a.mov(reg(s, 3), 0);
    a.mov(reg(s, 5), 0x7f);
    a.mov(reg(s, 2), -1);
    a.mov(at(s, s as MemSize), 0x55);
    a.mov(at(s + 5, s as MemSize), -2);
  }
  a.mov(ax, 0xffff);
  a.mov(eax, 0xffffffff);
  a.mov(ecx, 0x12345678);
  a.mov(ebx, label);
  a.mov(esi, sym(label).add(8));
  if (bits === 16) a.mov(di, sym(label).sub(2));
  A.forEach((addr, i) => {
    const s = sizes[i % sizes.length]!;
    a.mov(reg(s, i + 1), addr.withSize(undefined));
    a.mov(addr.withSize(undefined), reg(s, i + 2));
    a.mov(addr.withSize(s as MemSize), i);
    a.lea(reg(wsizes[i % wsizes.length]!, i + 3), addr);
  });
  // segment registers
  for (const sr of bits === 64 ? [es, ss, ds, fs, gs] : [es, ss, ds, fs, gs]) {
    a.mov(sr, ax);
    a.mov(ax, sr);
    a.mov(sr, at(sr.num, 16));
    a.mov(at(sr.num + 1, 16), sr);
    a.mov(eax, sr);
  }
  a.mov(ds, ecx);
  a.mov(ebx, cs);
  a.mov(cx, cs);

  // ---------------------------------------------------------------- MOVZX / MOVSX
  for (const op of ['movzx', 'movsx'] as const) {
    for (const d of wsizes) {
      a[op](reg(d, 1), reg(8, 2));
      a[op](reg(d, 2), at(d, 8));
      if (d !== 16) {
        a[op](reg(d, 3), reg(16, 4));
        a[op](reg(d, 4), at(d + 1, 16));
      }
    }
  }

  // ---------------------------------------------------------------- XCHG
  for (const s of sizes) {
    a.xchg(reg(s, 1), reg(s, 2));
    a.xchg(at(s, s as MemSize), reg(s, 3));
    a.xchg(reg(s, 5), at(s + 1, s as MemSize));
  }
  for (const s of wsizes) {
    a.xchg(acc(s), reg(s, 3));
    a.xchg(reg(s, 6), acc(s));
  }
  a.xchg(ax, ax);
  a.xchg(al, al);

  // ---------------------------------------------------------------- PUSH / POP
  const stack = bits === 64 ? [16, 64] : [16, 32];
  for (const s of stack) {
    for (let i = 0; i < 8; i += 3) {
      a.push(reg(s, i));
      a.pop(reg(s, i + 1));
    }
    a.push(at(s, s as MemSize));
    a.pop(at(s + 1, s as MemSize));
  }
  a.push(0);
  a.push(127);
  a.push(128);
  a.push(-128);
  a.push(-129);
  a.push(0x1234);
  a.push(label);
  a.push(5, 16);
  a.push(0x1234, 16);
  a.push(fs);
  a.push(gs);
  a.pop(fs);
  a.pop(gs);
  a.pushf();
  a.popf();
  a.pushfw();
  a.popfw();
  a.enter(16, 0);
  a.enter(0x100, 1);
  a.leave();

  // ---------------------------------------------------------------- unary, mul/div
  for (const op of ['inc', 'dec', 'not', 'neg', 'mul', 'div', 'idiv', 'imul'] as const) {
    sizes.forEach((s, i) => {
      a[op](reg(s, i + 1));
      a[op](at(i + s, s as MemSize));
    });
    a[op](acc(16));
  }
  for (const s of wsizes) {
    a.imul(reg(s, 1), reg(s, 2));
    a.imul(reg(s, 3), at(s, s as MemSize));
    a.imul(reg(s, 1), reg(s, 2), 5);
    a.imul(reg(s, 2), reg(s, 3), -128);
    a.imul(reg(s, 1), reg(s, 5), 128);
    a.imul(reg(s, 4), at(s + 2, s as MemSize), 1000);
    a.imul(reg(s, 6), 7);
    a.imul(reg(s, 7), 0x300);
  }

  // ---------------------------------------------------------------- shifts and rotates
  const shifts = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'sal', 'shr', 'sar'] as const;
  shifts.forEach((op, k) => {
    const s = sizes[k % sizes.length]!;
    a[op](reg(s, k), 1);
    a[op](reg(s, k + 1), cl);
    a[op](reg(s, k + 2), 4);
    a[op](at(k, s as MemSize), 1);
    a[op](at(k + 1, s as MemSize), cl);
    a[op](at(k + 2, s as MemSize), 31);
  });
  for (const s of wsizes) {
    a.shld(reg(s, 0), reg(s, 1), 4);
    a.shld(at(s, s as MemSize), reg(s, 2), cl);
    a.shrd(reg(s, 3), reg(s, 6), cl);
    a.shrd(at(s + 1, s as MemSize), reg(s, 7), 12);
  }

  // ---------------------------------------------------------------- bit ops
  for (const op of ['bt', 'bts', 'btr', 'btc'] as const) {
    wsizes.forEach((s, i) => {
      a[op](reg(s, i), reg(s, i + 1));
      a[op](at(i + 3, s as MemSize), reg(s, i + 2));
      a[op](reg(s, i + 3), 5);
      a[op](at(i + 4, s as MemSize), 0x1f);
    });
  }
  for (const op of ['bsf', 'bsr'] as const) {
    wsizes.forEach((s, i) => {
      a[op](reg(s, i), reg(s, i + 2));
      a[op](reg(s, i + 1), at(i + 5, s as MemSize));
    });
  }

  // ---------------------------------------------------------------- SETcc / CMOVcc
  COND_LIST.forEach((cc, i) => {
    a.setcc(cc, i % 2 ? reg(8, i) : at(i, 8));
  });
  CANONICAL.forEach((cc, i) => {
    const s = wsizes[i % wsizes.length]!;
    a.cmovcc(cc, reg(s, i), i % 2 ? reg(s, i + 3) : at(i, s as MemSize));
  });
  a.sete(al).setnz(bl).cmovz(eax, ebx).cmovnae(ecx, dword(ebx)).cmovg(ax, m.addrs[2]!.withSize(16));

  // ---------------------------------------------------------------- conversions, flags, misc
  a.cbw().cwde().cwd().cdq();
  a.cld().std().clc().stc().cmc().cli().sti().hlt().lahf().sahf().pause().ud2();
  a.nop().int3().int(0x80).int(3).int(0).int(0xff);
  a.nop(ax).nop(eax).nop(at(0, 16)).nop(at(1, 32));

  // ---------------------------------------------------------------- string ops
  for (const op of ['movs', 'cmps', 'stos', 'lods', 'scas'] as const) {
    for (const sfx of ['b', 'w', 'd'] as const) (a as unknown as Record<string, () => Assembler>)[`${op}${sfx}`]!();
  }
  a.rep().movsb().rep().movsd().rep().stosw().repe().cmpsb().repne().scasb().repz().cmpsd().repnz().scasw().rep().lodsb();
  a.insb().insw().insd().outsb().outsw().outsd().rep().insb().rep().outsd();
  // segment override and address size of string instructions
  const other = bits === 64 ? 32 : bits === 32 ? 16 : 32;
  a.movsb({ seg: fs }).lodsw({ seg: gs });
  if (bits !== 64) a.cmpsd({ seg: es }).outsb({ seg: cs }).lodsb({ seg: ds }).movsd({ seg: ss });
  a.movsb({ addr: other }).stosd({ addr: other }).rep().movsw({ addr: other, seg: fs }).repne().scasb({ addr: other });
  a.rep().stosb({ addr: bits }).lodsd({ addr: other, seg: gs });

  // ---------------------------------------------------------------- I/O
  a.in(al, 0x60).in(ax, 0x70).in(eax, 0xff).in(al, dx).in(ax, dx).in(eax, dx);
  a.out(0x80, al).out(0x43, ax).out(0, eax).out(dx, al).out(dx, ax).out(dx, eax);

  // ---------------------------------------------------------------- system
  a.lgdt(at(0)).lidt(at(1)).sgdt(at(2)).sidt(at(3));
  a.lldt(ax).lldt(at(4, 16)).ltr(cx).ltr(at(5)).verr(dx).verw(at(6, 16)).lmsw(bx).lmsw(at(7, 16));
  a.sldt(ax).sldt(eax).sldt(at(8)).str(cx).str(edx).str(at(9, 16)).smsw(ax).smsw(ebx).smsw(at(10, 16));
  a.lar(eax, ebx).lar(ax, bx).lar(ecx, dx).lar(edx, at(11, 16)).lsl(eax, ecx).lsl(si, di).lsl(ebx, at(12, 16));
  a.clts().invd().wbinvd().invlpg(at(13)).invlpg(at(14, 8));
  a.rdmsr().wrmsr().rdtsc().rdtscp().cpuid().mfence().lfence().sfence();
  if (a.currentBits === 64) a.syscall();
  a.cmpxchg(at(0, 32), ecx).cmpxchg(at(1, 8), dl).cmpxchg(at(2, 16), bx).cmpxchg(ebx, esi);
  a.lock().cmpxchg(at(3, 32), edx).lock().cmpxchg8b(at(4, 64)).cmpxchg8b(at(5));
  a.xadd(at(6, 32), eax).lock().xadd(at(7, 16), cx).lock().xadd(at(8, 8), bl).xadd(ecx, edx);
  a.lock().add(at(9, 32), 1).lock().inc(at(10, 16)).lock().xchg(at(11, 32), eax).lock().bts(at(12, 32), 3).lock().or(at(13, 8), al);
  a.fxsave(at(0)).fxrstor(at(1));
  a.vmxoff().vmlaunch().vmresume().vmcall();
  a.vmxon(at(2)).vmclear(at(3, 64)).vmptrld(at(4)).vmptrst(at(5, 64));
  a.native(0).native(1).native(0xffff).native(0x1234);
}

/**
 * Branches: backward and forward to near and far labels, jcc of every condition (short and
 * relaxed-near), indirect forms; LOOP family and calls. `backLabels` must already be defined.
 */
export function branchCorpus(a: Assembler, m: ModeSpec, wsize: 16 | 32 | 64): void {
  const R = regsOf(m.bits);
  const r = R[wsize]!;
  CANONICAL.forEach((cc, i) => {
    a.jcc(cc, i % 2 ? 'back_near' : 'fwd_near');
    a.jcc(cc, i % 2 ? 'back_far' : 'fwd_far');
  });
  for (const cc of ['c', 'nae', 'nb', 'nc', 'z', 'nz', 'na', 'nbe', 'pe', 'po', 'nge', 'nl', 'ng', 'nle'] as Condition[]) a.jcc(cc, 'fwd_near');
  a.jz('fwd_far', 'near').jnz('back_near', 'near').jmp('back_near', 'near');
  a.jmp('back_near').jmp('back_far').jmp('fwd_near').jmp('fwd_far');
  a.jmp('fwd_near', 'short');
  a.call('back_near').call('fwd_far').call(sym('fwd_near').add(2));
  a.jmp(r[1]!).call(r[2]!).jmp(m.addrs[3]!.withSize(wsize)).call(m.addrs[4]!.withSize(wsize));
  a.label('loops');
  a.jecxz('loops');
  a.loop('loops').loope('loops').loopne('loops').loopz('loops').loopnz('loops');
  a.ret().ret(8).ret(0).retf().retf(4).iret();
}
