/** 32-bit corpus: SIB forms, disp8/disp32 boundaries, moffs, 16-bit operands/addresses, far forms. */
import {
  Assembler, mem, byte, word, dword, fword, qword, sym, al, ax, bx, bp, si, eax,
  ecx, edx, ebx, esp, ebp, esi, edi, es, cs, ss, ds, fs, gs, cr0,
  cr2, cr3, cr4, dr0, dr3, dr6, dr7,
} from '../../src/index.js';
import { branchCorpus, commonCorpus, type ModeSpec } from './asm-common.js';

export const ORIGIN32 = 0x100000n;

export const addrs32 = [
  mem(eax), mem(ecx), mem(esp), mem(ebp), mem(ebp, 0), mem(esi, 1), mem(edi, 127), mem(eax, 128), mem(ebx, -128), mem(ecx, -129),
  mem(edx, 0x12345678), mem(eax, esi.scale(2)), mem(esp, eax), mem(ebp, edi.scale(8)), mem(esp, esi.scale(4), 0x40),
  mem(eax, ebx, -4), mem(esi.scale(4)), mem(edi.scale(8), 0x100), mem(esi.scale(1)), mem(0x1000), mem(0xffffffff),
  mem('data_lbl'), mem(ebx, 'data_lbl'), mem(esi.scale(4), 'data_lbl'), mem(ebp, ecx.scale(2), sym('data_lbl').add(8)),
  mem(es, eax), mem(ss, ebp), mem(ds, ebp), mem(ss, esp, 8), mem(fs, 0x30), mem(gs, eax, 4), mem(cs, ebx), mem(ds, eax),
  mem(eax, 0xffffffff), mem(ebx, 0xffffff80), mem(ecx, 0xffffff7f), mem(bx, si), mem(bp, 8), mem(0x7ffffffc),
];

export function corpus32(a: Assembler): void {
  const m: ModeSpec = { bits: 32, addrs: addrs32 };
  a.label('back_far');
  a.resb(300, 0x90);
  commonCorpus(a, m);
  a.pusha().popa().pushad().popad().pushaw().popaw();
  a.push(es).push(cs).push(ss).push(ds).pop(es).pop(ss).pop(ds);
  a.push(ax).pop(bx).push(word(ebx)).pop(word(esi, 4)).push(dword(esp, 4)).push(0x12345678).push(-1, 16).push('data_lbl');
  a.pushfd().popfd().into().iretd().iretw().retfd().retfw().retfw(2);
  a.inc(eax).inc(ax).dec(ebp).dec(edi).inc(byte(eax)).dec(dword(esp));
  a.mov(eax, cr0).mov(cr0, eax).mov(cr3, ebx).mov(ecx, cr2).mov(cr4, edx).mov(esi, cr3);
  a.mov(dr0, eax).mov(edi, dr3).mov(dr7, ecx).mov(edx, dr6);
  a.mov(al, byte(0x1000)).mov(ax, word(0x2000)).mov(eax, dword('data_lbl')).mov(dword(0x10), eax).mov(byte(es, 0x20), al);
  a.mov(dword(fs, 0x30), eax).mov(eax, dword(gs, 'data_lbl')).mov(ax, word(bx, si)).mov(eax, dword(ds, 0x40));
  a.mov(eax, dword(ebx, 0x1000)).mov(ecx, dword(0x1000)).mov(dword(0x1000), ebx);
  a.lgdt(fword(eax)).lidt(fword('data_lbl')).lgdt(mem('data_lbl')).sgdt(fword(esi)).sidt(mem(esp, 2));
  a.jmpFar(0x08, 'back_near').jmpFar(0x08, 0x1234, 16).callFar(0x10, 0x1000).callFar(0x1b, 0x12345678).jmpFar(0x18, sym('data_lbl').add(4));
  a.jmpFar(fword(eax)).jmpFar(dword(ebx)).callFar(fword(ebp, 4)).callFar(dword('data_lbl')).jmpFar(mem(edi));
  a.jmp(eax).jmp(dword(ebx)).call(dword(esi, 2)).call(edi).jmp(ax).call(word(eax)).jmp(dword(ebx, esi.scale(4), 'data_lbl'));
  a.vmread(eax, ebx).vmread(dword(esp), ecx).vmwrite(edx, esi).vmwrite(edi, dword(ebx)).invept(eax, mem(ebx)).invvpid(ecx, mem(esi, 8)).invept(edx, mem('data_lbl'));
  a.cmpxchg8b(qword(ebx)).lock().cmpxchg8b(qword(fs, esi));
  a.movsw().rep().movsw().stosw().lodsw();
  a.label('back_near');
  branchCorpus(a, m, 32);
  a.jecxz('loops').jcxz('fwd_near').jecxz('fwd_near');
  a.label('fwd_near');
  a.nop();
  a.resb(300, 0xcc);
  a.label('fwd_far');
  a.ret();
  a.label('data_lbl');
  a.dd(0x11223344, 0x55667788);
}

