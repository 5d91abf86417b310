/**
 * Example: the real-mode SIPI trampoline an application processor starts in. The OS copies it to
 * vector*4096 (below 1 MiB), patches `tramp_cr3` and `ap_entry`, and sends INIT-SIPI-SIPI with
 * that vector. It loads a GDT, enters protected mode, takes a per-CPU stack, enables paging and
 * long mode, and jumps to the 64-bit AP entry.
 */
import { Assembler } from '../assembler.js';
import { sym } from '../expr.js';
import { dword, fword, mem, qword } from '../memory.js';
import { ax, cr0, cr3, cr4, cs, ds, eax, ecx, es, esp, rip, ss } from '../registers.js';

// #region sipi-trampoline
export function sipiTrampoline(vector = 0x08): Assembler {
  const base = vector * 4096; // the processor starts at CS = vector << 8, IP = 0
  const a = new Assembler({ bits: 16, org: base });
  a.label('trampoline');
  a.cli();
  a.cld();
  a.mov(ax, cs);
  a.mov(ds, ax);
  // real-mode offsets are relative to the segment base: label minus 'trampoline'
  a.lgdt(fword(sym('gdtr').sub('trampoline'))); // fword: the 66h form with a 32-bit base
  a.mov(eax, cr0);
  a.or(eax, 1); // CR0.PE
  a.mov(cr0, eax);
  a.jmpFar(0x08, 'pm32', 32); // ptr16:32: flat code segment, linear address of pm32

  a.bits(32);
  a.label('pm32');
  a.mov(ax, 0x10);
  a.mov(ds, ax);
  a.mov(es, ax);
  a.mov(ss, ax);
  a.mov(eax, 0x1000); // each processor takes the next 4 KiB stack
  a.lock().xadd(dword('next_stack'), eax);
  a.lea(esp, mem(eax, 0x1000));
  a.mov(eax, dword('tramp_cr3'));
  a.mov(cr3, eax);
  a.mov(eax, cr4);
  a.or(eax, 1 << 5); // PAE
  a.mov(cr4, eax);
  a.mov(ecx, 0xc0000080);
  a.rdmsr();
  a.or(eax, 1 << 8); // EFER.LME
  a.wrmsr();
  a.mov(eax, cr0);
  a.or(eax, 0x80000000); // PG
  a.mov(cr0, eax);
  a.jmpFar(0x18, 'lm64');

  a.bits(64);
  a.label('lm64');
  a.jmp(qword(rip, 'ap_entry'));

  a.align(8);
  a.label('gdt');
  a.dq(0);
  a.gdtEntry(0, 0xfffff, 0x9a, 0xc); // 0x08: 32-bit code
  a.gdtEntry(0, 0xfffff, 0x92, 0xc); // 0x10: data
  a.gdtEntry(0, 0xfffff, 0x9a, 0xa); // 0x18: 64-bit code
  a.label('gdt_end');
  a.label('gdtr');
  a.dw(sym('gdt_end').sub('gdt').sub(1));
  a.dd('gdt');
  a.align(4);
  a.label('tramp_cr3');
  a.dd(0); // patched by the OS
  a.label('next_stack');
  a.dd(0x90000); // patched by the OS
  a.label('ap_entry');
  a.dq(0); // patched by the OS
  return a;
}
// #endregion sipi-trampoline
