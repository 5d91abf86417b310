/** 16-bit corpus: 16-bit ModRM forms, 32-bit operands/addresses with 66/67, real-mode specifics. */
import {
  Assembler, mem, byte, word, dword, fword, sym, al, ax, bx, sp, bp, si, di,
  eax, ecx, edx, ebx, esp, ebp, esi, edi, es, cs, ss, ds, fs, gs,
  cr0, cr2, cr3, cr4, dr0, dr1, dr6, dr7,
} from '../../src/index.js';
import { branchCorpus, commonCorpus, type ModeSpec } from './asm-common.js';

export const ORIGIN16 = 0x1000n;

export const addrs16 = [
  mem(bx, si), mem(bx, di), mem(bp, si), mem(bp, di), mem(si), mem(di), mem(bp), mem(bx),
  mem(bx, si, 1), mem(bp, di, 127), mem(si, 128), mem(di, -128), mem(bp, -129), mem(bx, 0x7fff), mem(bx, si, 0xffff),
  mem(bp, si, 0x8000), mem(0x1234), mem(0), mem('data_lbl'), mem(bx, 'data_lbl'), mem(bp, di, sym('data_lbl').add(2)),
  mem(si, bx), mem(di, bp, 4), mem(es, bx), mem(ss, bp), mem(ds, bp, si), mem(fs, 0x10), mem(gs, di, 2), mem(cs, bx, si),
  mem(eax), mem(esp), mem(ebp), mem(ebx, esi.scale(4), 8), mem(ecx, 200), mem(esi.scale(2), 0x10),
];

export function corpus16(a: Assembler): void {
  const m: ModeSpec = { bits: 16, addrs: addrs16 };
  a.label('back_far');
  a.resb(300, 0x90);
  commonCorpus(a, m);
  // 16-bit specifics
  a.pusha().popa().pushad().popad().pushaw().popaw();
  a.push(es).push(cs).push(ss).push(ds).pop(es).pop(ss).pop(ds);
  a.push(eax).pop(ebx).push(dword(bx)).pop(dword(si, 4)).push(0x12345678, 32).push(-1, 32).push('data_lbl', 32);
  a.pushfd().popfd().into().iretd().iretw().retfd().retfd(8).retfw();
  a.inc(ax).inc(eax).dec(si).dec(edi).inc(al).dec(byte(bx));
  a.mov(eax, cr0).mov(cr0, eax).mov(cr3, ebx).mov(ecx, cr2).mov(cr4, edx).mov(esi, cr4);
  a.mov(dr0, eax).mov(edi, dr1).mov(dr7, ecx).mov(edx, dr6);
  a.mov(al, byte(0x1000)).mov(ax, word(0x2000)).mov(eax, dword('data_lbl')).mov(word(0x10), ax).mov(byte(es, 0x20), al).mov(dword(0x30), eax);
  a.mov(ax, word(bx, 0x1000)).mov(al, byte(eax));
  a.lgdt(fword(bx)).lidt(fword('data_lbl')).lgdt(mem('data_lbl')).sgdt(fword(si));
  a.jmpFar(0x08, 'back_near').jmpFar(0x08, 'fwd_far', 32).callFar(0x10, 0x1000).callFar(0xf000, 0xfff0).jmpFar(0x18, sym('data_lbl').add(4), 32);
  a.jmpFar(dword(bx)).jmpFar(fword(bx, si)).callFar(dword(bp, 4)).callFar(fword('data_lbl')).jmpFar(mem(di));
  a.jmp(ax).jmp(word(bx)).call(word(si, 2)).call(di).jmp(eax).call(eax);
  a.vmread(eax, ebx).vmread(dword(bx), ecx).vmwrite(edx, esi).vmwrite(edi, dword(ebx)).invept(eax, mem(bx)).invvpid(ecx, mem(esi));
  a.movsd().rep().movsd().stosd().lodsd();
  a.mov(esp, ebp).add(esp, 4).sub(sp, 2).xchg(eax, ebx);
  a.label('back_near');
  branchCorpus(a, m, 16);
  a.jcxz('loops').jecxz('fwd_near').jcxz('fwd_near');
  a.label('fwd_near');
  a.nop();
  a.resb(300, 0xcc);
  a.label('fwd_far');
  a.ret();
  a.label('data_lbl');
  a.dd(0x11223344, 0x55667788);
}
