/**
 * The root OS image, assembled with the x86-isa assembler from ONE source for the three modes:
 * the multiboot-style 32-bit entry, page tables (4-level / PAE / 32-bit with 4 MiB pages), the
 * switch to 64-bit code in long mode, the GDT with a TSS, the IDT (exception stubs 0–31 with a
 * fatal report on the serial console, an NMI counter, a spurious-interrupt handler), the serial
 * console, CPUID/IA32_APIC_BASE discovery by real instructions, and the calls of the discovery
 * and page-frame native services. With `smp`: the SIPI trampoline, the AP entry (same paging
 * switch, per-processor TSS), the PM-timer-timed INIT-SIPI-SIPI bring-up, and the workload (LAPIC
 * timer ticks, checksum loop, ping IPIs). The layout is in layout.ts and the README.
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
  fword,
  word,
  cs,
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
  HEAP_ADDRESS,
  PML4_ADDRESS,
  RootOsServices,
  Selectors,
  AP_AREA_ADDRESS,
  AP_AREA_STRIDE,
  AP_TSS_SELECTOR_BASE,
  LAPIC_BASE,
  PING_VECTOR,
  PM_TICKS_10MS,
  PM_TICKS_1MS,
  PM_TICKS_200US,
  PM_TICKS_BRINGUP_TIMEOUT,
  SIPI_VECTOR,
  SMP_ADDRESS,
  SMP_MAGIC,
  SMP_MAX_APIC_ID,
  SMP_RECORDS_ADDRESS,
  SmpHeaderOffsets,
  SmpPhase,
  SmpRecordOffsets,
  SmpState,
  TIMER_VECTOR,
  TRAMPOLINE_ADDRESS,
  WAKE_VECTOR,
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
  /**
   * SMP bring-up and the workload after `discovered` (needs the `'qemu'` platform: local APICs, PM
   * timer): INIT-SIPI-SIPI to every enabled processor of the inventory, `smp-up N/M`, one ping IPI
   * per AP, `running`, then every processor runs the workload (LAPIC timer ticks, checksum loop)
   * forever. Default false (the BSP halts after `discovered`, as before).
   */
  readonly smp?: boolean;
  /** LAPIC timer initial count of the workload (periodic; default 5000). */
  readonly timerInitialCount?: number;
  /** LAPIC timer divide configuration register value (default 0xB: divide by 1). */
  readonly timerDivide?: number;
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
const AP_TSS_SIZE = 128;

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
  const timerCount = options.timerInitialCount ?? 5000;
  if (!Number.isInteger(timerCount) || timerCount < 1 || timerCount > 0xffffffff) throw new InvalidArgumentError(`timerInitialCount ${timerCount} must be an integer in 1..2^32-1`);
  const timerDivide = options.timerDivide ?? 0xb;
  if (![0, 1, 2, 3, 8, 9, 0xa, 0xb].includes(timerDivide)) throw new InvalidArgumentError(`timerDivide ${timerDivide} is not a divide configuration value`);
  if (!options.smp) {
    const program = assembleImage(options, mode, testFault, spin, null, timerCount, timerDivide);
    return finish(mode, program);
  }
  // Two passes: the trampoline needs the image's addresses (GDT, 32-bit AP entry), and the image
  // carries the trampoline bytes (same size in both passes, so the addresses do not move).
  const first = assembleImage(options, mode, testFault, spin, buildTrampoline(0, 0, 0).bytes, timerCount, timerDivide);
  const tramp = buildTrampoline(Number(first.address('gdt')), Number(first.address('gdt_end')) - Number(first.address('gdt')) - 1, Number(first.address('ap_entry32')));
  const program = assembleImage(options, mode, testFault, spin, tramp.bytes, timerCount, timerDivide);
  if (program.address('ap_entry32') !== first.address('ap_entry32') || program.address('gdt') !== first.address('gdt')) throw new Error('root-os: trampoline pass moved the image');
  return finish(mode, program);
}

/** The real-mode SIPI trampoline (at TRAMPOLINE_ADDRESS): load the OS GDT, CR0.PE, far jump to the image's 32-bit AP entry. */
export function buildTrampoline(gdtBase: number, gdtLimit: number, apEntry32: number): Program {
  const a = new Assembler({ bits: 16, org: TRAMPOLINE_ADDRESS });
  a.label('trampoline');
  a.cli();
  a.cld();
  a.mov(ax, cs);
  a.mov(ds, ax);
  a.lgdt(fword(sym('tramp_gdtr').sub('trampoline')));
  a.mov(eax, cr0);
  a.or(eax, 1);
  a.mov(cr0, eax);
  a.jmpFar(Selectors.CODE32, apEntry32, 32);
  a.align(8);
  a.label('tramp_gdtr');
  a.dw(gdtLimit);
  a.dd(gdtBase);
  return a.assemble();
}

function finish(mode: RootOsMode, program: Program): RootOsImage {
  if (program.bytes.length > IMAGE_MAX_SIZE) throw new InvalidArgumentError(`root-os image is ${program.bytes.length} bytes, more than ${IMAGE_MAX_SIZE}`);
  const symbols: Record<string, number> = {};
  for (const [name, value] of program.symbols) symbols[name] = Number(value);
  return Object.freeze({ mode, bytes: program.bytes, loadAddress: IMAGE_BASE, entry: Number(program.address('entry')), symbols: Object.freeze(symbols), program });
}

function assembleImage(options: RootOsImageOptions, mode: RootOsMode, testFault: RootOsTestFault, spin: number, trampoline: Uint8Array | null, timerCount: number, timerDivide: number): Program {
  const smp = trampoline !== null;

  const long = mode === 'long';
  const W = long ? 8 : 4;
  const R: Regs = long
    ? { ax: rax, bx: rbx, cx: rcx, dx: rdx, si: rsi, di: rdi, bp: rbp, sp: rsp }
    : { ax: eax, bx: ebx, cx: ecx, dx: edx, si: esi, di: edi, bp: ebp, sp: esp };
  /** A dword variable of the image (RIP-relative in 64-bit code). */
  const v32 = (label: string) => (long ? dword(rip, label) : dword(label));

  const a = new Assembler({ bits: 32, org: IMAGE_BASE });
  const rec = (reg: Register, field: keyof typeof SmpRecordOffsets) => dword(reg, SMP_RECORDS_ADDRESS + SmpRecordOffsets[field]);
  const hdr = (field: keyof typeof SmpHeaderOffsets) => dword(SMP_ADDRESS + SmpHeaderOffsets[field]);
  let uniq = 0;
  /** Loops over the enabled inventory processors: body gets the APIC ID in EBX (R.si = entry, R.bp = remaining; body must keep both). */
  const forEachEnabledProcessor = (body: (next: string) => void) => {
    const n = uniq++;
    a.mov(edi, INVENTORY_ADDRESS);
    a.movzx(ebp, word(R.di, InventoryOffsets.processors));
    a.mov(esi, dword(R.di, InventoryOffsets.processors + 4));
    a.add(R.si, R.di);
    a.label(`fep_loop${n}`);
    a.test(ebp, ebp);
    a.jz(`fep_done${n}`);
    a.test(dword(R.si, 8), 1); // enabled
    a.jz(`fep_next${n}`);
    a.mov(ebx, dword(R.si, 0));
    body(`fep_next${n}`);
    a.label(`fep_next${n}`);
    a.add(R.si, 16);
    a.dec(ebp);
    a.jmp(`fep_loop${n}`);
    a.label(`fep_done${n}`);
  };
  /** ICR send: destination APIC ID in EBX, low dword constant; waits for delivery status idle. Clobbers EAX, EDX. */
  const sendIpi = (low: number) => {
    const n = uniq++;
    a.mov(edx, LAPIC_BASE);
    a.mov(eax, ebx);
    a.shl(eax, 24);
    a.mov(dword(R.dx, 0x310), eax);
    a.mov(dword(R.dx, 0x300), low);
    a.label(`icr_wait${n}`);
    a.test(dword(R.dx, 0x300), 0x1000);
    a.jnz(`icr_wait${n}`);
  };
  const iret = () => (long ? a.iretq() : a.iretd());
  const emitSmp = () => {
    // ap_main: 64-bit (long) or 32-bit code with paging on; EBX = APIC ID.
    a.label('ap_main');
    if (long) {
      a.mov(ax, Selectors.DATA);
      a.mov(ds, ax).mov(es, ax).mov(ss, ax).mov(fs, ax).mov(gs, ax);
      a.mov(ebx, ebx);
      a.mov(eax, ebx);
      a.shl(eax, 14);
      a.add(eax, AP_AREA_ADDRESS + AP_AREA_STRIDE);
      a.mov(esp, eax); // zero-extends into RSP
    }
    a.mov(eax, ebx);
    a.shl(eax, 4);
    a.add(eax, AP_TSS_SELECTOR_BASE);
    a.ltr(ax);
    a.lidt(long ? mem(rip, 'idtr') : mem('idtr'));
    a.mov(eax, ebx);
    a.shl(eax, 6);
    a.mov(rec(R.ax, 'apicId'), ebx);
    a.mov(edx, LAPIC_BASE);
    a.mov(dword(R.dx, 0xf0), 0x1ff); // SVR: software enable, spurious vector 0xFF
    a.mov(rec(R.ax, 'state'), SmpState.ONLINE);
    // Halt until the BSP has finished the bring-up (phase RUNNING; its ping IPI wakes us). STI;HLT
    // is atomic (the STI shadow), so a wake-up between the check and the HLT is not lost.
    a.label('ap_wait_go');
    a.cli();
    a.cmp(hdr('phase'), SmpPhase.RUNNING);
    a.je('cpu_common');
    a.sti();
    a.hlt();
    a.jmp('ap_wait_go');

    // cpu_common (every processor, EBX = APIC ID): periodic LAPIC timer, STI, checksum loop forever.
    a.label('cpu_common');
    a.mov(edi, ebx);
    a.shl(edi, 6);
    a.mov(edx, LAPIC_BASE);
    a.mov(dword(R.dx, 0xf0), 0x1ff);
    a.mov(dword(R.dx, 0x3e0), timerDivide);
    a.mov(dword(R.dx, 0x320), 0x20000 | TIMER_VECTOR); // periodic
    a.mov(dword(R.dx, 0x380), timerCount);
    a.sti();
    a.label('compute');
    a.mov(esi, IMAGE_BASE);
    a.mov(ecx, 1024);
    a.mov(eax, rec(R.di, 'checksum'));
    a.label('compute_inner');
    a.rol(eax, 5);
    a.xor(eax, dword(R.si, 0));
    a.add(eax, ecx);
    a.add(R.si, 4);
    a.dec(ecx);
    a.jnz('compute_inner');
    a.mov(rec(R.di, 'checksum'), eax);
    a.inc(rec(R.di, 'passes'));
    a.jmp('compute');

    // Interrupt handlers: timer tick, ping (pong counter), wake (EOI only). Record by LAPIC ID.
    const counting = (label: string, field: keyof typeof SmpRecordOffsets | null) => {
      a.label(label);
      a.push(R.ax);
      a.push(R.dx);
      a.mov(edx, LAPIC_BASE);
      if (field) {
        a.mov(eax, dword(R.dx, 0x20));
        a.shr(eax, 24);
        a.shl(eax, 6);
        a.lock().inc(rec(R.ax, field));
      }
      a.mov(dword(R.dx, 0xb0), 0); // EOI
      a.pop(R.dx);
      a.pop(R.ax);
      iret();
    };
    counting('timer_handler', 'ticks');
    counting('ping_handler', 'pongs');
    counting('wake_handler', null);

    // pm_read → EAX (masked to the timer's width); EDI = port. Clobbers EDX.
    a.label('pm_read');
    a.mov(edx, edi);
    a.in(eax, dx);
    a.cmp(byte(R.bx, InventoryOffsets.pmTimerWidth), 32);
    a.je('pm_read_done');
    a.and(eax, 0xffffff);
    a.label('pm_read_done');
    a.ret();

    // arm_wake: LAPIC one-shot (÷1, vector WAKE) for ~ECX PM ticks (×28 counts of 10 ns). Clobbers EAX, EDX.
    a.label('arm_wake');
    a.mov(eax, ecx);
    a.mov(edx, ecx);
    a.shl(eax, 5);
    a.shl(edx, 2);
    a.sub(eax, edx);
    a.add(eax, 28);
    a.mov(edx, LAPIC_BASE);
    a.mov(dword(R.dx, 0x3e0), 0xb);
    a.mov(dword(R.dx, 0x320), WAKE_VECTOR);
    a.mov(dword(R.dx, 0x380), eax);
    a.ret();

    // pm_wait: wait ECX PM-timer ticks (3.579545 MHz, 24-bit wrap handled), halting on a LAPIC one-shot between reads.
    a.label('pm_wait');
    for (const r of [R.ax, R.bx, R.cx, R.dx, R.si, R.di]) a.push(r);
    a.mov(ebx, INVENTORY_ADDRESS);
    a.mov(edi, dword(R.bx, InventoryOffsets.pmTimerPort));
    a.test(edi, edi);
    a.jnz('pm_wait_have');
    a.call('arm_wake'); // no PM timer: one LAPIC one-shot of the same length
    a.sti();
    a.hlt();
    a.cli();
    a.jmp('pm_wait_done');
    a.label('pm_wait_have');
    a.call('pm_read');
    a.mov(esi, eax);
    a.label('pm_wait_loop');
    a.call('pm_read');
    a.sub(eax, esi);
    a.cmp(byte(R.bx, InventoryOffsets.pmTimerWidth), 32);
    a.je('pm_wait_nowrap');
    a.and(eax, 0xffffff);
    a.label('pm_wait_nowrap');
    a.cmp(eax, ecx);
    a.jae('pm_wait_done');
    a.push(R.cx);
    a.sub(ecx, eax);
    a.cmp(ecx, PM_TICKS_1MS);
    a.jbe('pm_wait_arm');
    a.mov(ecx, PM_TICKS_1MS); // re-read the PM timer at least every millisecond
    a.label('pm_wait_arm');
    a.call('arm_wake');
    a.pop(R.cx);
    a.sti();
    a.hlt();
    a.cli();
    a.jmp('pm_wait_loop');
    a.label('pm_wait_done');
    a.mov(edx, LAPIC_BASE);
    a.mov(dword(R.dx, 0x380), 0);
    for (const r of [R.di, R.si, R.dx, R.cx, R.bx, R.ax]) a.pop(r);
    a.ret();

    // print_dec: EAX in decimal on the console.
    a.label('print_dec');
    for (const r of [R.bx, R.cx, R.dx]) a.push(r);
    a.mov(ecx, 10);
    a.xor(ebx, ebx);
    a.label('print_dec_div');
    a.xor(edx, edx);
    a.div(ecx);
    a.push(R.dx);
    a.inc(ebx);
    a.test(eax, eax);
    a.jnz('print_dec_div');
    a.label('print_dec_out');
    a.pop(R.ax);
    a.add(al, 0x30);
    a.call('putc');
    a.dec(ebx);
    a.jnz('print_dec_out');
    for (const r of [R.dx, R.cx, R.bx]) a.pop(r);
    a.ret();

    // smp_bringup (BSP): records, trampoline, INIT / 10 ms / SIPI / 200 µs / SIPI / 200 µs, wait for the APs (100 ms timeout).
    a.label('smp_bringup');
    a.mov(edx, LAPIC_BASE);
    a.mov(dword(R.dx, 0xf0), 0x1ff);
    a.mov(ebx, dword(R.dx, 0x20));
    a.shr(ebx, 24);
    a.mov(v32('bsp_apic_id'), ebx);
    a.mov(hdr('bspApicId'), ebx);
    a.mov(hdr('magic'), SMP_MAGIC);
    a.mov(hdr('version'), 1);
    a.mov(hdr('phase'), SmpPhase.BRINGUP);
    a.mov(eax, ebx);
    a.shl(eax, 6);
    a.mov(rec(R.ax, 'apicId'), ebx);
    a.mov(rec(R.ax, 'state'), SmpState.ONLINE);
    // copy the trampoline below 1 MiB
    a.mov(esi, 'trampoline_blob');
    a.mov(edi, TRAMPOLINE_ADDRESS);
    a.mov(ecx, trampoline!.length);
    a.rep().movsb();
    // INIT to every enabled AP (physical APIC ID); count the expected processors
    a.mov(v32('smp_expected'), 0);
    forEachEnabledProcessor((next) => {
      a.inc(v32('smp_expected'));
      a.cmp(ebx, v32('bsp_apic_id'));
      a.je(next);
      a.cmp(ebx, SMP_MAX_APIC_ID);
      a.ja(next);
      a.mov(eax, ebx);
      a.shl(eax, 6);
      a.mov(rec(R.ax, 'apicId'), ebx);
      a.mov(rec(R.ax, 'state'), SmpState.STARTING);
      sendIpi(0x4500); // INIT, assert, level
    });
    a.mov(ecx, PM_TICKS_10MS);
    a.call('pm_wait');
    for (let k = 0; k < 2; k++) {
      forEachEnabledProcessor((next) => {
        a.cmp(ebx, SMP_MAX_APIC_ID);
        a.ja(next);
        a.mov(eax, ebx);
        a.shl(eax, 6);
        a.cmp(rec(R.ax, 'state'), SmpState.STARTING);
        a.jne(next);
        sendIpi(0x4600 | SIPI_VECTOR); // start-up
      });
      a.mov(ecx, PM_TICKS_200US);
      a.call('pm_wait');
    }
    // wait for every started AP to report online, at most the timeout (PM timer)
    a.mov(ebx, INVENTORY_ADDRESS);
    a.mov(edi, dword(R.bx, InventoryOffsets.pmTimerPort));
    a.xor(esi, esi);
    a.test(edi, edi);
    a.jz('smp_wait_loop');
    a.call('pm_read');
    a.mov(esi, eax);
    a.label('smp_wait_loop');
    a.call('smp_count'); // → EAX online, ECX still starting
    a.test(ecx, ecx);
    a.jz('smp_wait_done');
    a.mov(ebx, INVENTORY_ADDRESS);
    a.mov(edi, dword(R.bx, InventoryOffsets.pmTimerPort));
    a.test(edi, edi);
    a.jz('smp_wait_nopm');
    a.call('pm_read');
    a.sub(eax, esi);
    a.cmp(byte(R.bx, InventoryOffsets.pmTimerWidth), 32);
    a.je('smp_wait_nowrap');
    a.and(eax, 0xffffff);
    a.label('smp_wait_nowrap');
    a.cmp(eax, PM_TICKS_BRINGUP_TIMEOUT);
    a.jae('smp_wait_timeout');
    a.jmp('smp_wait_poll');
    a.label('smp_wait_nopm');
    a.add(esi, PM_TICKS_200US);
    a.cmp(esi, PM_TICKS_BRINGUP_TIMEOUT);
    a.jae('smp_wait_timeout');
    a.label('smp_wait_poll');
    a.mov(ecx, PM_TICKS_200US);
    a.call('pm_wait');
    a.jmp('smp_wait_loop');
    a.label('smp_wait_timeout');
    // mark the ones still starting as timed out
    a.xor(ecx, ecx);
    a.label('smp_mark_loop');
    a.mov(eax, ecx);
    a.shl(eax, 6);
    a.cmp(rec(R.ax, 'state'), SmpState.STARTING);
    a.jne('smp_mark_next');
    a.mov(rec(R.ax, 'state'), SmpState.TIMED_OUT);
    a.inc(hdr('timedOut'));
    a.label('smp_mark_next');
    a.inc(ecx);
    a.cmp(ecx, 256);
    a.jb('smp_mark_loop');
    a.call('smp_count');
    a.label('smp_wait_done');
    a.mov(hdr('online'), eax);
    a.mov(ecx, v32('smp_expected'));
    a.mov(hdr('expected'), ecx);
    a.mov(esi, 'msg_smp_up');
    a.call('puts');
    a.mov(eax, hdr('online'));
    a.call('print_dec');
    a.mov(al, 0x2f);
    a.call('putc');
    a.mov(eax, v32('smp_expected'));
    a.call('print_dec');
    a.mov(al, 0x0a);
    a.call('putc');
    // release the APs (phase RUNNING), then one ping (fixed IPI) to every online AP: it wakes them
    a.mov(hdr('phase'), SmpPhase.RUNNING);
    forEachEnabledProcessor((next) => {
      a.cmp(ebx, v32('bsp_apic_id'));
      a.je(next);
      a.cmp(ebx, SMP_MAX_APIC_ID);
      a.ja(next);
      a.mov(eax, ebx);
      a.shl(eax, 6);
      a.cmp(rec(R.ax, 'state'), SmpState.ONLINE);
      a.jne(next);
      sendIpi(0x4000 | PING_VECTOR); // fixed, physical
    });
    a.mov(esi, 'msg_running');
    a.call('puts');
    a.ret();

    // smp_count → EAX = records online, ECX = records starting.
    a.label('smp_count');
    a.push(R.bx);
    a.push(R.dx);
    a.xor(eax, eax);
    a.xor(ecx, ecx);
    a.xor(ebx, ebx);
    a.label('smp_count_loop');
    a.mov(edx, ebx);
    a.shl(edx, 6);
    a.mov(edx, rec(R.dx, 'state'));
    a.cmp(edx, SmpState.ONLINE);
    a.jne('smp_count_not_online');
    a.inc(eax);
    a.label('smp_count_not_online');
    a.cmp(edx, SmpState.STARTING);
    a.jne('smp_count_next');
    a.inc(ecx);
    a.label('smp_count_next');
    a.inc(ebx);
    a.cmp(ebx, 256);
    a.jb('smp_count_loop');
    a.pop(R.dx);
    a.pop(R.bx);
    a.ret();
  };
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

  // Paging on (the APs reuse the same tables).
  const pagingOn = (target: string) => {
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
    if (long) a.jmpFar(Selectors.CODE64, target);
    else a.jmp(target);
  };
  pagingOn('kernel_main');

  if (smp) {
    // 32-bit AP entry (from the trampoline's far jump, paging off): APIC ID from the local APIC ID
    // register, this processor's kernel stack, paging with the BSP's tables, then ap_main.
    a.label('ap_entry32');
    a.mov(ax, Selectors.DATA);
    a.mov(ds, ax).mov(es, ax).mov(ss, ax).mov(fs, ax).mov(gs, ax);
    a.mov(ebx, dword(LAPIC_BASE + 0x20));
    a.shr(ebx, 24);
    a.mov(eax, ebx);
    a.shl(eax, 14);
    a.lea(esp, mem(eax, AP_AREA_ADDRESS + AP_AREA_STRIDE));
    pagingOn('ap_main');
  }
  if (long) a.bits(64);

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
  // Kernel heap: its header in OS memory, growing by frames taken through the allocator's header.
  a.mov(edi, HEAP_ADDRESS);
  a.mov(esi, PFA_ADDRESS);
  a.native(RootOsServices.HEAP_INIT);
  a.mov(v32('heap_free_at_init'), eax);

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
  if (smp) {
    a.call('smp_bringup');
    a.mov(ebx, v32('bsp_apic_id'));
    a.jmp('cpu_common');
  }
  a.label('idle');
  a.cli();
  a.hlt();
  a.jmp('idle');

  if (smp) emitSmp();

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
  if (smp) {
    a.shl(ebx, 6);
    a.lock().inc(rec(R.bx, 'nmis'));
  }
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
  if (smp) {
    // 0x30 + APIC ID × 16: one TSS descriptor per possible AP (16-byte slots in every mode)
    for (let id = 0; id < 256; id++) {
      a.gdtEntry(sym('ap_tss').add(id * AP_TSS_SIZE), TSS_SIZE - 1, 0x89, 0);
      a.dd(0, 0);
    }
  }
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
  if (smp) {
    a.align(16);
    a.label('ap_tss');
    for (let id = 0; id < 256; id++) {
      const base = AP_AREA_ADDRESS + id * AP_AREA_STRIDE;
      const dfTop = base + 0x1000;
      const nmiTop = base + 0x2000;
      const kTop = base + AP_AREA_STRIDE;
      if (long) {
        a.dd(0);
        a.dq(kTop, 0, 0, 0);
        a.dq(nmiTop, dfTop, 0, 0, 0, 0, 0);
        a.dq(0);
        a.dw(0, TSS_SIZE);
      } else {
        a.dd(0, kTop, Selectors.DATA);
        a.fill(22, 4, 0);
        a.dw(0, TSS_SIZE);
      }
      a.fill(AP_TSS_SIZE - TSS_SIZE, 1, 0);
    }
  }

  a.align(16);
  a.label('idt');
  for (let vec = 0; vec < 256; vec++) {
    const smpTarget = !smp ? null : vec === TIMER_VECTOR ? 'timer_handler' : vec === PING_VECTOR ? 'ping_handler' : vec === WAKE_VECTOR ? 'wake_handler' : null;
    const target = vec === 2 ? 'nmi_handler' : vec === 0xff ? 'spurious_handler' : vec < 32 ? `isr${vec}` : smpTarget;
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
  a.label('heap_free_at_init');
  a.dd(0);
  a.label('fatal_count');
  a.dd(0);
  a.label('fatal_vector');
  a.dd(0xffffffff);
  a.label('spurious_count');
  a.dd(0);
  if (smp) {
    a.label('bsp_apic_id');
    a.dd(0);
    a.label('smp_expected');
    a.dd(0);
    a.label('msg_smp_up');
    a.asciz('smp-up ');
    a.label('msg_running');
    a.asciz('running\n');
    a.align(16);
    a.label('trampoline_blob');
    a.db(...trampoline);
  }
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

  return a.assemble();
}
