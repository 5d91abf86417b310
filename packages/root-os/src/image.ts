/**
 * The root OS image, assembled with the x86-isa assembler from ONE source for the three modes:
 * the multiboot-style 32-bit entry, page tables (4-level / PAE / 32-bit with 4 MiB pages), the
 * switch to 64-bit code in long mode, the GDT with a TSS, the IDT (exception stubs 0–31 with a
 * fatal report on the serial console, an NMI counter, a spurious-interrupt handler), the serial
 * console, CPUID/IA32_APIC_BASE discovery by real instructions, and the calls of the discovery
 * and page-frame native services. The layout is in layout.ts and the README.
 */
import { InvalidArgumentError } from '@latelaunch/kernel';
import {
  Assembler,
  al,
  ax,
  byte,
  cl,
  cr0,
  cr2,
  cr3,
  cr4,
  ds,
  dword,
  qword,
  mem,
  dx,
  eax,
  ebp,
  ebx,
  ecx,
  edi,
  edx,
  es,
  esi,
  esp,
  fs,
  gs,
  rax,
  rbp,
  rbx,
  rcx,
  rdi,
  rdx,
  rip,
  rsi,
  rsp,
  ss,
  sym,
  type Program,
  type Register,
} from '@latelaunch/x86-isa';
import { InventoryOffsets } from './inventory.js';
import {
  BOOT_STACK_TOP,
  DF_STACK_TOP,
  IMAGE_BASE,
  IMAGE_MAX_SIZE,
  INVENTORY_ADDRESS,
  NMI_STACK_TOP,
  PD_ADDRESS,
  PDPT_ADDRESS,
  PFA_ADDRESS,
  PML4_ADDRESS,
  RootOsServices,
  Selectors,
} from './layout.js';

export type RootOsMode = 'long' | 'pae' | 'protected';
export const ROOT_OS_MODES: readonly RootOsMode[] = Object.freeze(['long', 'pae', 'protected']);

/** Deliberate faults placed after the `discovered` phase (test builds). */
export type RootOsTestFault = 'none' | 'ud2' | 'divide-error' | 'general-protection';

export interface RootOsImageOptions {
  readonly mode: RootOsMode;
  /** A deliberately faulting instruction executed after `discovered` (default `'none'`). */
  readonly testFault?: RootOsTestFault;
  /** Iterations of a busy loop after `discovered` (default 0): a window for scheduled events. */
  readonly spin?: number;
  /** Run the spin loop with interrupts enabled (STI … CLI), so scheduled maskable interrupts are taken. Default false. */
  readonly spinWithInterrupts?: boolean;
}

export interface RootOsImage {
  readonly mode: RootOsMode;
  readonly bytes: Uint8Array;
  /** Physical load address (flat image). */
  readonly loadAddress: number;
  /** Entry point: 32-bit flat protected mode, EAX = 0x2BADB002, EBX = boot info. */
  readonly entry: number;
  /** Symbol table (label → address). */
  readonly symbols: Readonly<Record<string, number>>;
  /** The assembled program (listing, GNU as source). */
  readonly program: Program;
}

const MB_MAGIC = 0x1badb002;
const MB_FLAGS = 0x00010003; // page-aligned modules, memory info, a.out address fields
const HAS_ERROR_CODE = new Set([8, 10, 11, 12, 13, 14, 17, 21, 29, 30]);
const CR0_PG = 0x80000000;
const CR4_PSE = 1 << 4;
const CR4_PAE = 1 << 5;
const IA32_EFER = 0xc0000080;
const IA32_APIC_BASE = 0x1b;
const TSS_SIZE = 104;

interface Regs {
  ax: Register;
  bx: Register;
  cx: Register;
  dx: Register;
  si: Register;
  di: Register;
  bp: Register;
  sp: Register;
}

/** Builds the root OS image for a mode. */
export function buildRootOsImage(options: RootOsImageOptions): RootOsImage {
  const mode = options?.mode;
  if (!ROOT_OS_MODES.includes(mode)) throw new InvalidArgumentError(`root-os mode '${String(mode)}' is not one of ${ROOT_OS_MODES.join(', ')}`);
  const testFault = options.testFault ?? 'none';
  if (!['none', 'ud2', 'divide-error', 'general-protection'].includes(testFault)) throw new InvalidArgumentError(`unknown testFault '${String(testFault)}'`);
  const spin = options.spin ?? 0;
  if (!Number.isInteger(spin) || spin < 0 || spin > 0xffffffff) throw new InvalidArgumentError(`spin ${spin} must be an integer in 0..2^32-1`);

  const long = mode === 'long';
  const W = long ? 8 : 4;
  const R: Regs = long
    ? { ax: rax, bx: rbx, cx: rcx, dx: rdx, si: rsi, di: rdi, bp: rbp, sp: rsp }
    : { ax: eax, bx: ebx, cx: ecx, dx: edx, si: esi, di: edi, bp: ebp, sp: esp };
  /** A dword variable of the image (RIP-relative in 64-bit code). */
  const v32 = (label: string) => (long ? dword(rip, label) : dword(label));

  const a = new Assembler({ bits: 32, org: IMAGE_BASE });
  a.label('image_start');
  a.label('mb_header');
  a.dd(MB_MAGIC, MB_FLAGS, (-(MB_MAGIC + MB_FLAGS)) >>> 0);
  a.dd('mb_header', 'image_start', 'load_end', 'load_end', 'entry');

  // ---------------------------------------------------------------- 32-bit entry (every mode)
  a.label('entry');
  a.cli();
  a.cld();
  a.mov(esp, BOOT_STACK_TOP);
  a.mov(dword('boot_info'), ebx);
  a.mov(dword('entry_eax'), eax);
  a.lgdt(mem('gdtr'));
  a.jmpFar(Selectors.CODE32, 'entry_reload');
  a.label('entry_reload');
  a.mov(ax, Selectors.DATA);
  a.mov(ds, ax).mov(es, ax).mov(ss, ax).mov(fs, ax).mov(gs, ax);

  // Page tables: zero them, then identity-map the low 4 GiB.
  const zero = (from: number, bytes: number) => {
    a.mov(edi, from);
    a.xor(eax, eax);
    a.mov(ecx, bytes / 4);
    a.rep().stosd();
  };
  if (mode === 'protected') {
    zero(PD_ADDRESS, 0x1000);
    a.xor(ecx, ecx);
    a.label('map_pd32');
    a.mov(eax, ecx);
    a.shl(eax, 22);
    a.or(eax, 0x83); // present, writable, 4 MiB page
    a.mov(dword(ecx.scale(4), PD_ADDRESS), eax);
    a.inc(ecx);
    a.cmp(ecx, 1024);
    a.jb('map_pd32');
  } else {
    if (long) zero(PML4_ADDRESS, 0x6000);
    else zero(PDPT_ADDRESS, 0x5000);
    if (long) a.mov(dword(PML4_ADDRESS), PDPT_ADDRESS | 3);
    // PDPTEs: long mode → present + writable; PAE → present only (R/W is reserved there)
    for (let i = 0; i < 4; i++) a.mov(dword(PDPT_ADDRESS + i * 8), (PD_ADDRESS + i * 0x1000) | (long ? 3 : 1));
    a.xor(ecx, ecx);
    a.label('map_pd64');
    a.mov(eax, ecx);
    a.shl(eax, 21);
    a.or(eax, 0x83); // present, writable, 2 MiB page
    a.mov(dword(ecx.scale(8), PD_ADDRESS), eax);
    a.inc(ecx);
    a.cmp(ecx, 2048);
    a.jb('map_pd64');
  }

  // Paging on.
  a.mov(eax, cr4);
  a.or(eax, mode === 'protected' ? CR4_PSE : CR4_PAE);
  a.mov(cr4, eax);
  a.mov(eax, mode === 'long' ? PML4_ADDRESS : mode === 'pae' ? PDPT_ADDRESS : PD_ADDRESS);
  a.mov(cr3, eax);
  if (long) {
    a.mov(ecx, IA32_EFER);
    a.rdmsr();
    a.or(eax, 1 << 8); // EFER.LME
    a.wrmsr();
  }
  a.mov(eax, cr0);
  a.or(eax, CR0_PG);
  a.mov(cr0, eax);
  if (long) {
    a.jmpFar(Selectors.CODE64, 'kernel_main');
    a.bits(64);
  } else {
    a.jmp('kernel_main');
  }

  // ---------------------------------------------------------------- common kernel (32- or 64-bit)
  a.label('kernel_main');
  if (long) {
    a.mov(ax, Selectors.DATA);
    a.mov(ds, ax).mov(es, ax).mov(ss, ax).mov(fs, ax).mov(gs, ax);
    a.mov(rsp, BOOT_STACK_TOP);
  }
  a.mov(ax, Selectors.TSS);
  a.ltr(ax);
  a.lidt(long ? mem(rip, 'idtr') : mem('idtr'));
  a.mov(esi, 'msg_boot');
  a.call('puts');

  // Discovery: firmware tables and E820 (native service), CPUID and IA32_APIC_BASE (real instructions).
  a.mov(edi, INVENTORY_ADDRESS);
  a.mov(esi, v32('boot_info'));
  a.mov(edx, v32('entry_eax'));
  a.native(RootOsServices.DISCOVER);
  a.mov(v32('anomaly_count'), eax);
  a.call('collect_cpuid');
  a.mov(edi, INVENTORY_ADDRESS);
  a.mov(esi, dword(R.di, InventoryOffsets.anomalyText + 4));
  a.add(R.si, R.di);
  a.call('puts'); // firmware anomalies, one line each (empty when there are none)

  // Page-frame allocator over the E820 map (state: header + bitmap in OS memory).
  a.mov(edi, PFA_ADDRESS);
  a.mov(esi, v32('boot_info'));
  a.native(RootOsServices.PFA_INIT);
  a.mov(v32('pfa_free_at_init'), eax);
  a.mov(edi, PFA_ADDRESS);
  a.native(RootOsServices.PFA_ALLOC);
  a.mov(v32('first_frame'), eax);

  a.mov(esi, 'msg_discovered');
  a.call('puts');

  if (spin > 0) {
    if (options.spinWithInterrupts) a.sti();
    a.mov(ecx, spin);
    a.label('spin');
    a.dec(ecx);
    a.jnz('spin');
    if (options.spinWithInterrupts) a.cli();
  }
  a.label('test_fault');
  if (testFault === 'ud2') a.ud2();
  else if (testFault === 'divide-error') {
    a.xor(edx, edx);
    a.xor(eax, eax);
    a.xor(ecx, ecx);
    a.div(ecx);
  } else if (testFault === 'general-protection') {
    a.mov(ax, 0x48); // beyond the GDT limit → #GP(0x48)
    a.mov(ds, ax);
  }
  a.label('idle');
  a.cli();
  a.hlt();
  a.jmp('idle');

  // collect_cpuid: the CPUID/APIC section of the inventory, by real instructions.
  a.label('collect_cpuid');
  const I = (off: number) => dword(R.di, off);
  const O = InventoryOffsets;
  a.mov(edi, INVENTORY_ADDRESS);
  a.mov(ebp, 1);
  a.xor(eax, eax);
  a.cpuid();
  a.mov(I(O.cpuidMaxLeaf), eax);
  a.mov(I(O.cpuidVendor), ebx);
  a.mov(I(O.cpuidVendor + 4), edx);
  a.mov(I(O.cpuidVendor + 8), ecx);
  a.mov(esi, eax);
  a.mov(eax, 1);
  a.cpuid();
  a.mov(I(O.cpuid1Eax), eax);
  a.mov(I(O.cpuid1Ebx), ebx);
  a.mov(I(O.cpuid1Ecx), ecx);
  a.mov(I(O.cpuid1Edx), edx);
  a.cmp(esi, 0xb);
  a.jb('cpuid_no_b');
  a.mov(eax, 0xb);
  a.xor(ecx, ecx);
  a.cpuid();
  a.mov(I(O.cpuidB0Eax), eax);
  a.mov(I(O.cpuidB0Ebx), ebx);
  a.mov(I(O.cpuidBEdx), edx);
  a.mov(eax, 0xb);
  a.mov(ecx, 1);
  a.cpuid();
  a.mov(I(O.cpuidB1Eax), eax);
  a.mov(I(O.cpuidB1Ebx), ebx);
  a.or(ebp, 2);
  a.label('cpuid_no_b');
  a.mov(eax, 0x80000000);
  a.cpuid();
  a.mov(I(O.cpuidMaxExtLeaf), eax);
  a.mov(esi, eax);
  a.cmp(esi, 0x80000001);
  a.jb('cpuid_no_ext');
  a.mov(eax, 0x80000001);
  a.cpuid();
  a.mov(I(O.cpuidExt1Edx), edx);
  a.cmp(esi, 0x80000008);
  a.jb('cpuid_no_ext');
  a.mov(eax, 0x80000008);
  a.cpuid();
  a.mov(I(O.cpuidExt8Eax), eax);
  a.or(ebp, 4);
  a.label('cpuid_no_ext');
  a.mov(ecx, IA32_APIC_BASE);
  a.rdmsr();
  a.mov(I(O.apicBase), eax);
  a.mov(I(O.apicBase + 4), edx);
  a.mov(I(O.cpuidValid), ebp);
  a.ret();

  // Serial console (COM1 at 0x3F8): putc (AL), puts (string at SI), print_hex (value in AX).
  a.label('putc');
  a.push(R.dx);
  a.push(R.ax);
  a.mov(dx, 0x3fd);
  a.label('putc_wait');
  a.in(al, dx);
  a.test(al, 0x20); // LSR.THRE
  a.jz('putc_wait');
  a.pop(R.ax);
  a.mov(dx, 0x3f8);
  a.out(dx, al);
  a.pop(R.dx);
  a.ret();

  a.label('puts');
  a.movzx(eax, byte(R.si));
  a.test(al, al);
  a.jz('puts_done');
  a.call('putc');
  a.inc(R.si);
  a.jmp('puts');
  a.label('puts_done');
  a.ret();

  a.label('print_hex');
  a.mov(R.di, R.ax);
  a.mov(al, 0x30);
  a.call('putc');
  a.mov(al, 0x78);
  a.call('putc');
  a.mov(ecx, W * 2);
  a.xor(ebx, ebx);
  a.label('print_hex_loop');
  a.dec(ecx);
  a.mov(R.ax, R.di);
  a.push(R.cx);
  a.shl(ecx, 2);
  a.shr(R.ax, cl);
  a.pop(R.cx);
  a.and(eax, 0xf);
  a.jnz('print_hex_digit');
  a.test(ebx, ebx);
  a.jnz('print_hex_digit');
  a.test(ecx, ecx);
  a.jnz('print_hex_next');
  a.label('print_hex_digit');
  a.mov(ebx, 1);
  a.movzx(eax, byte(R.ax, 'hex_digits'));
  a.call('putc');
  a.label('print_hex_next');
  a.test(ecx, ecx);
  a.jnz('print_hex_loop');
  a.ret();

  // Exception stubs 0–31: [error code (or a dummy 0)], vector, then the common fatal report.
  for (let vec = 0; vec < 32; vec++) {
    a.label(`isr${vec}`);
    if (!HAS_ERROR_CODE.has(vec)) a.push(0);
    a.push(vec);
    a.jmp('fatal_common');
  }
  a.label('fatal_common');
  a.mov(R.bp, R.sp);
  a.mov(esi, 'msg_fatal_vector');
  a.call('puts');
  a.mov(R.ax, (long ? (qword(rbp, 0)) : dword(ebp, 0)));
  a.call('print_hex');
  a.mov(esi, 'msg_fatal_error');
  a.call('puts');
  a.mov(R.ax, long ? qword(rbp, W) : dword(ebp, W));
  a.call('print_hex');
  a.mov(esi, 'msg_fatal_rip');
  a.call('puts');
  a.mov(R.ax, long ? qword(rbp, 2 * W) : dword(ebp, 2 * W));
  a.call('print_hex');
  a.mov(esi, 'msg_fatal_cr2');
  a.call('puts');
  a.mov(R.ax, cr2);
  a.call('print_hex');
  a.mov(al, 0x0a);
  a.call('putc');
  a.mov(eax, dword(R.bp, 0));
  a.mov(v32('fatal_vector'), eax);
  a.lock().inc(v32('fatal_count'));
  a.label('fatal_halt');
  a.cli();
  a.hlt();
  a.jmp('fatal_halt');

  // NMI: count it for this processor (index = initial APIC ID from CPUID.1:EBX[31:24]).
  a.label('nmi_handler');
  for (const r of [R.ax, R.bx, R.cx, R.dx]) a.push(r);
  a.mov(eax, 1);
  a.cpuid();
  a.shr(ebx, 24);
  a.lock().inc(dword(R.bx.scale(4), 'nmi_counts'));
  for (const r of [R.dx, R.cx, R.bx, R.ax]) a.pop(r);
  if (long) a.iretq();
  else a.iretd();

  // Spurious interrupt (vector 0xFF): no EOI, just count it.
  a.label('spurious_handler');
  a.lock().inc(v32('spurious_count'));
  if (long) a.iretq();
  else a.iretd();

  // ---------------------------------------------------------------- data
  a.align(16);
  a.label('gdt');
  a.dq(0);
  a.gdtEntry(0, 0xfffff, 0x9a, 0xc); // 0x08 code32
  a.gdtEntry(0, 0xfffff, 0x92, 0xc); // 0x10 data
  a.gdtEntry(0, 0xfffff, 0x9a, 0xa); // 0x18 code64
  a.gdtEntry('tss', TSS_SIZE - 1, 0x89, 0); // 0x20 available TSS (32- or 64-bit by mode)
  a.dd(sym('tss').shr(32), 0); // 64-bit TSS descriptor upper half (a null slot in 32-bit modes)
  a.label('gdt_end');
  a.align(8);
  a.label('gdtr');
  a.dw(sym('gdt_end').sub('gdt').sub(1));
  a.dd('gdt');

  a.align(16);
  a.label('tss');
  if (long) {
    a.dd(0);
    a.dq(BOOT_STACK_TOP, 0, 0, 0); // RSP0..2, reserved
    a.dq(NMI_STACK_TOP, DF_STACK_TOP, 0, 0, 0, 0, 0); // IST1 (NMI), IST2 (#DF), IST3..7
    a.dq(0);
    a.dw(0, TSS_SIZE); // T, I/O map base (no bitmap)
  } else {
    a.dd(0, BOOT_STACK_TOP, Selectors.DATA); // link, ESP0, SS0
    a.fill(22, 4, 0);
    a.dw(0, TSS_SIZE);
  }
  a.label('tss_end');

  a.align(16);
  a.label('idt');
  for (let vec = 0; vec < 256; vec++) {
    const target = vec === 2 ? 'nmi_handler' : vec === 0xff ? 'spurious_handler' : vec < 32 ? `isr${vec}` : null;
    if (long) {
      if (target) a.idtGate64(target, Selectors.CODE64, 0x8e, vec === 2 ? 1 : vec === 8 ? 2 : 0);
      else a.dq(0, 0);
    } else if (target) a.idtGate32(target, Selectors.CODE32, 0x8e);
    else a.dq(0);
  }
  a.label('idt_end');
  a.align(8);
  a.label('idtr');
  a.dw(sym('idt_end').sub('idt').sub(1));
  if (long) a.dq('idt');
  else a.dd('idt');

  a.align(8);
  a.label('boot_info');
  a.dd(0);
  a.label('entry_eax');
  a.dd(0);
  a.label('anomaly_count');
  a.dd(0);
  a.label('pfa_free_at_init');
  a.dd(0);
  a.label('first_frame');
  a.dd(0);
  a.label('fatal_count');
  a.dd(0);
  a.label('fatal_vector');
  a.dd(0xffffffff);
  a.label('spurious_count');
  a.dd(0);
  a.align(16);
  a.label('nmi_counts');
  a.fill(256, 4, 0);
  a.label('hex_digits');
  a.ascii('0123456789abcdef');
  a.label('msg_boot');
  a.asciz('boot\n');
  a.label('msg_discovered');
  a.asciz('discovered\n');
  a.label('msg_fatal_vector');
  a.asciz('fatal: vector ');
  a.label('msg_fatal_error');
  a.asciz(' error ');
  a.label('msg_fatal_rip');
  a.asciz(' rip ');
  a.label('msg_fatal_cr2');
  a.asciz(' cr2 ');
  a.align(16);
  a.label('load_end');

  const program = a.assemble();
  if (program.bytes.length > IMAGE_MAX_SIZE) throw new InvalidArgumentError(`root-os image is ${program.bytes.length} bytes, more than ${IMAGE_MAX_SIZE}`);
  const symbols: Record<string, number> = {};
  for (const [name, value] of program.symbols) symbols[name] = Number(value);
  return Object.freeze({ mode, bytes: program.bytes, loadAddress: IMAGE_BASE, entry: program.address('entry'), symbols: Object.freeze(symbols), program });
}
