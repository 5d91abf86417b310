/**
 * Example: the entry of a root OS image. The firmware loads the image and enters it like a
 * multiboot loader (32-bit flat protected mode, paging off, boot-info pointer in ebx); the entry
 * builds identity-mapped page tables, loads a GDT, enables PAE and long mode, and far-jumps to
 * 64-bit code, which calls the OS main (here a native service).
 */
import { Assembler } from '../assembler.js';
import { sym } from '../expr.js';
import { dword, mem } from '../memory.js';
import { ax, cr0, cr3, cr4, ds, eax, ebx, ecx, edi, es, esp, rsp, ss } from '../registers.js';

// #region root-os-entry
const MB_MAGIC = 0x1badb002;
const MB_FLAGS = 0x00010003; // page-aligned modules, memory info, address fields present
const CODE64 = 0x08;
const DATA = 0x10;

export function rootOsEntry(org = 0x100000): Assembler {
  const a = new Assembler({ bits: 32, org });
  a.label('image_start');
  // multiboot header: the address fields are label values, resolved after layout
  a.label('mb_header');
  a.dd(MB_MAGIC, MB_FLAGS, (-(MB_MAGIC + MB_FLAGS)) >>> 0);
  a.dd('mb_header', 'image_start', 'load_end', 'bss_end', 'entry');

  a.label('entry'); // 32-bit flat protected mode, paging off, ebx = boot info
  a.cli();
  a.mov(esp, 'stack_top');
  a.mov(edi, ebx); // keep the boot-info pointer: first argument of the OS main
  a.lgdt(mem('gdtr'));

  // identity-map the first GiB with 2 MiB pages
  a.mov(eax, sym('pdpt').or(0x3));
  a.mov(dword('pml4'), eax);
  a.mov(eax, sym('pd').or(0x3));
  a.mov(dword('pdpt'), eax);
  a.xor(ecx, ecx);
  a.label('.map');
  a.mov(eax, ecx);
  a.shl(eax, 21);
  a.or(eax, 0x83); // present, writable, 2 MiB page
  a.mov(dword(ecx.scale(8), 'pd'), eax);
  a.inc(ecx);
  a.cmp(ecx, 512);
  a.jb('.map');

  a.mov(eax, 'pml4');
  a.mov(cr3, eax);
  a.mov(eax, cr4);
  a.or(eax, 1 << 5); // CR4.PAE
  a.mov(cr4, eax);
  a.mov(ecx, 0xc0000080); // IA32_EFER
  a.rdmsr();
  a.or(eax, 1 << 8); // EFER.LME
  a.wrmsr();
  a.mov(eax, cr0);
  a.or(eax, 0x80000001); // CR0.PG | CR0.PE
  a.mov(cr0, eax);
  a.jmpFar(CODE64, 'long_mode');

  a.bits(64);
  a.label('long_mode');
  a.mov(ax, DATA);
  a.mov(ds, ax);
  a.mov(es, ax);
  a.mov(ss, ax);
  a.mov(rsp, 'stack_top');
  a.call('os_main');
  a.label('halt');
  a.hlt();
  a.jmp('halt');
  a.label('os_main');
  a.native(0x0001); // the OS main is a native service
  a.ret();

  a.align(8);
  a.label('gdt');
  a.dq(0);
  a.gdtEntry(0, 0xfffff, 0x9a, 0xa); // 0x08: 64-bit code (G, L)
  a.gdtEntry(0, 0xfffff, 0x92, 0xc); // 0x10: data (G, D/B)
  a.label('gdt_end');
  a.label('gdtr');
  a.dw(sym('gdt_end').sub('gdt').sub(1));
  a.dd('gdt');
  a.label('load_end');

  a.align(4096);
  a.label('pml4');
  a.resb(4096);
  a.label('pdpt');
  a.resb(4096);
  a.label('pd');
  a.resb(4096);
  a.resb(0x4000); // boot stack
  a.label('stack_top');
  a.label('bss_end');
  return a;
}
// #endregion root-os-entry
