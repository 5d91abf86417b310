/** 64-bit corpus: REX registers, RIP-relative, imm64/imm32S, 32-bit addresses (67), 64-bit-only forms. */
import {
  Assembler, mem, byte, word, dword, fword, qword, tword, oword, sym, al, cl, bl, spl,
  bpl, sil, dil, r8b, r12b, r15b, ax, dx, r8w, r9w, r10w, r14w, eax, ecx,
  ebx, esp, esi, r8d, r9d, r10d, r11d, r12d, r13d, r15d, rax, rcx, rdx, rbx,
  rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15, es, ss,
  ds, fs, gs, cr0, cr2, cr3, cr4, cr8, dr0, dr6, dr7, rip,
} from '../../src/index.js';
import { branchCorpus, commonCorpus, type ModeSpec } from './asm-common.js';

export const ORIGIN64 = 0x200000n;

export const addrs64 = [
  mem(rax), mem(rcx), mem(rsp), mem(rbp), mem(r12), mem(r13), mem(r8), mem(r15, 8), mem(rax, 127), mem(rbx, 128), mem(rcx, -128),
  mem(rdx, -129), mem(rax, rbx.scale(2)), mem(rsp, rax), mem(rbp, r9.scale(8)), mem(r12, r13.scale(4), 0x40), mem(r13, r12),
  mem(rax, r12), mem(rsi.scale(4)), mem(r14.scale(8), 0x100), mem(0x1000), mem('data_lbl'), mem(rbx, 'data_lbl'),
  mem(rip, 'data_lbl'), mem(rip, 0x10), mem(rip, sym('data_lbl').add(4)), mem(rip, -4), mem(eax), mem(r8d, ecx.scale(2)), mem(esp),
  mem(esi.scale(4), 0x20), mem(fs, 0x28), mem(gs, rax), mem(es, rdi), mem(ss, rbp), mem(ss, r13), mem(ds, rsp), mem(ds, rax),
  mem(rdi, 0x7fffffff), mem(rsi, -0x80000000), mem(r11, r10.scale(1), 1), mem(r15, r15.scale(2)),
];

export function corpus64(a: Assembler): void {
  const m: ModeSpec = { bits: 64, addrs: addrs64 };
  a.label('back_far');
  a.resb(300, 0x90);
  commonCorpus(a, m);
  a.cdqe().cqo().movsq().cmpsq().stosq().lodsq().scasq().rep().movsq().rep().stosq().repe().cmpsq();
  a.pushfq().popfq().iretq().retfq().retfq(16).retfd().sysret().sysretq().swapgs();
  a.mov(rax, 0).mov(rax, 0x7fffffff).mov(rax, 0x80000000).mov(rcx, -1).mov(r10, -0x80000000).mov(r11, -0x80000001);
  a.mov(rdx, 0x123456789abcdef0n).mov(r15, 0xffffffffffffffffn).mov(rax, 'data_lbl').mov(r9, sym('data_lbl').add(16));
  a.mov(eax, 0xffffffff).mov(r8d, 1).mov(r8w, 2).mov(r8b, 3).mov(sil, 4).mov(spl, bpl).mov(dil, al).mov(al, r15b);
  a.movabs(rax, 5).movabs(r11, 'data_lbl').movabs(rcx, 0x1122334455667788n);
  a.movabs(al, byte(0x1000)).movabs(ax, word(0x2000)).movabs(eax, dword(0x3000)).movabs(rax, qword('data_lbl'));
  a.movabs(byte(0x1000), al).movabs(qword(0x8000000000n), rax).movabs(dword(fs, 0x10), eax);
  a.mov(rax, qword(fs, 0x28)).mov(qword(gs, 0), rsp).mov(eax, dword(0x1000)).mov(al, byte('data_lbl'));
  a.movsxd(rax, ebx).movsxd(r8, dword(rip, 'data_lbl')).movsxd(rcx, r15d).movzx(r9, r12b).movsx(r10, word(r11)).movzx(r8d, bl);
  a.lea(rax, qword(rip, 'data_lbl')).lea(r12, mem(r13, r14.scale(8), -8)).lea(eax, mem(rip, 'back_near')).lea(ecx, mem(eax, ebx));
  a.push(r8).push(r15).pop(r9).pop(r12).push(qword(rip, 'data_lbl')).pop(qword(r13)).push(word(rax)).push(-2).push(0x7fffffff);
  a.inc(r8).dec(r15d).neg(r9w).not(r12b).mul(r10).imul(r11, r12).imul(r13, qword(r14), 0x10).div(qword(rsp)).idiv(r9d);
  a.add(r8, r9).add(r10, 0x1000).and(r11, -1).or(r12b, 1).xor(r13d, r13d).cmp(r14w, 0x7fff).sub(r15, qword(rip, 'data_lbl'));
  a.xchg(rax, rax).xchg(eax, eax).xchg(r8, rax).xchg(rax, r15).xchg(r8d, eax).xchg(ax, r9w).xchg(r10, r11).xchg(sil, dil);
  a.test(r8, r8).test(sil, 1).test(rax, 0x100).test(qword(r9), -1);
  a.shl(r8, 1).sar(r9d, cl).rol(r10w, 3).shrd(r11, r12, 7).shld(qword(r13), r14, cl);
  a.bt(r8, 63).bts(qword(r9), r10).bsf(r11, r12).bsr(r13d, dword(r14));
  a.setc(r8b).setnz(sil).cmove(r9, qword(r10)).cmovnz(r11d, r12d);
  a.mov(rax, cr0).mov(cr0, rax).mov(cr3, r8).mov(r9, cr2).mov(cr4, rdx).mov(cr8, rax).mov(rcx, cr8);
  a.mov(dr0, rax).mov(r10, dr6).mov(dr7, r11);
  a.mov(ds, r8w).mov(r9, ds).mov(fs, rax).mov(es, r10d).mov(ax, gs);
  a.sldt(rax).str(r8).smsw(rax).smsw(r9d).lar(rax, rbx).lsl(r8, r9).lldt(r10w).ltr(word(r11));
  a.lgdt(tword(rax)).lidt(mem(rip, 'data_lbl')).sgdt(mem(r8)).sidt(tword(rsp));
  a.invlpg(mem(r15)).invlpg(byte(rip, 'data_lbl'));
  a.cmpxchg16b(oword(rax)).lock().cmpxchg16b(oword(r8, 16)).lock().cmpxchg(qword(r9), r10).lock().xadd(qword(rip, 'data_lbl'), r11);
  a.fxsave64(mem(rax)).fxrstor64(mem(r12)).fxsave(mem(rsp, 16));
  a.vmread(rax, rbx).vmread(qword(r8), r9).vmwrite(r10, r11).vmwrite(rdx, qword(rip, 'data_lbl'));
  a.invept(rax, oword(rbx)).invvpid(r8, mem(r9)).vmptrld(qword(r10)).vmxon(mem(rip, 'data_lbl'));
  a.jmp(rax).jmp(r8).call(r15).jmp(qword(rip, 'data_lbl')).call(qword(rsp, 8)).call(qword(r12, r13.scale(8)));
  a.jmpFar(fword(rax)).jmpFar(tword(rbx)).jmpFar(dword(rcx)).callFar(fword(r8)).callFar(tword(r9, 8)).jmpFar(mem(rdx));
  a.nop(rax).nop(qword(r8)).nop(r9w);
  a.in(al, dx).out(dx, eax).lock().or(dword(rip, 'data_lbl'), 1);
  a.label('back_near');
  branchCorpus(a, m, 64);
  a.jrcxz('loops').jecxz('fwd_near').jrcxz('fwd_near');
  a.label('fwd_near');
  a.nop();
  a.resb(300, 0xcc);
  a.label('fwd_far');
  a.ret();
  a.label('data_lbl');
  a.dq(0x1122334455667788n);
}

