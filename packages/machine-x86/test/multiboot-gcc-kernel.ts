// A small multiboot v1 kernel written in C and built with the host's gcc and binutils (not a
// test file: imported by test/multiboot-gcc.test.ts and apps/cli/test/boot.test.ts).
//
// Missing tools are a failure (the caller's test fails with the tool's error), never a skip.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const KERNEL_C = String.raw`
#include <stdint.h>

#define COM1 0x3f8

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static void serial_init(void) {
  outb(COM1 + 1, 0x00);  /* no interrupts */
  outb(COM1 + 3, 0x80);  /* DLAB */
  outb(COM1 + 0, 0x01);  /* 115200 baud */
  outb(COM1 + 1, 0x00);
  outb(COM1 + 3, 0x03);  /* 8N1 */
  outb(COM1 + 2, 0xc7);  /* FIFO */
  outb(COM1 + 4, 0x0b);
}
static void putc(char c) { while ((inb(COM1 + 5) & 0x20) == 0) { } outb(COM1, (uint8_t)c); }
static void puts(const char *s) { while (*s) putc(*s++); }
static void putu(uint32_t v) {
  char buf[11];
  int i = 10;
  buf[i] = 0;
  do { buf[--i] = (char)('0' + v % 10); v /= 10; } while (v != 0);
  puts(&buf[i]);
}
static int streq(const char *a, const char *b) { while (*a && *a == *b) { a++; b++; } return *a == *b; }

static uint8_t composite[5000];
static volatile uint32_t counter = 0;

struct multiboot_info { uint32_t flags, mem_lower, mem_upper, boot_device, cmdline; };

void kmain(uint32_t magic, const struct multiboot_info *mbi) {
  serial_init();
  puts("hello from gcc\n");
  if (magic != 0x2BADB002u) { puts("bad magic\n"); outb(0xf4, 0x7f); }
  const char *cmdline = (mbi->flags & 4) ? (const char *)mbi->cmdline : "";
  puts("cmdline: ");
  puts(cmdline);
  puts("\n");
  puts("mem_upper: ");
  putu(mbi->mem_upper);
  puts(" KiB\n");

  uint32_t primes = 0, sum = 0;
  for (uint32_t i = 2; i < sizeof composite; i++) {
    if (composite[i]) continue;
    primes++;
    sum += i;
    for (uint32_t j = i * i; j < sizeof composite; j += i) composite[j] = 1;
  }
  puts("primes below 5000: ");
  putu(primes);
  puts(", sum ");
  putu(sum);
  puts("\n");

  uint32_t a = 0, b = 1;
  for (int k = 0; k < 40; k++) { uint32_t t = a + b; a = b; b = t; counter++; }
  puts("fib(40) = ");
  putu(a);
  puts("\n");

  if (streq(cmdline, "halt")) { puts("halting\n"); return; }
  outb(0xf4, (uint8_t)(primes & 0x3f)); /* 669 primes -> 669 & 63 = 29 -> QEMU status 59 */
  puts("not reached\n");
}
`;

export const BOOT_S = String.raw`
  .set MAGIC, 0x1BADB002
  .set FLAGS, 0x00000003
  .section .multiboot, "a"
  .align 4
  .long MAGIC, FLAGS, -(MAGIC + FLAGS)

  .section .bss
  .align 16
stack_bottom:
  .skip 16384
stack_top:

  .section .text
  .global _start
_start:
  mov $stack_top, %esp
  push %ebx
  push %eax
  call kmain
1:
  cli
  hlt
  jmp 1b
`;

export const LINKER_LD = String.raw`
ENTRY(_start)
SECTIONS {
  . = 1M;
  .text : { *(.multiboot) *(.text*) }
  .rodata : { *(.rodata*) }
  .data : { *(.data*) }
  .bss : { *(COMMON) *(.bss*) }
  /DISCARD/ : { *(.comment) *(.note*) *(.eh_frame*) }
}
`;

/** Expected serial output (for a command line). */
export function expectedSerial(cmdline: string): string {
  return (
    'hello from gcc\n' +
    `cmdline: ${cmdline}\n` +
    'mem_upper: MEMUPPER KiB\n' +
    'primes below 5000: 669, sum 1548136\n' +
    'fib(40) = 102334155\n' +
    (cmdline === 'halt' ? 'halting\n' : '')
  );
}

/** Debug-exit value written by the kernel (669 & 63) and QEMU's status for it. */
export const KERNEL_EXIT_VALUE = 29;
export const KERNEL_EXIT_STATUS = 59;

function run(cmd: string, args: string[], cwd: string): void {
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Builds the kernel with gcc -m32 / as --32 / ld -m elf_i386 in a temporary directory; returns the ELF bytes and its path (in `dir`). */
export function buildGccKernel(): { bytes: Uint8Array; path: string; dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'll-mbk-'));
  writeFileSync(join(dir, 'kernel.c'), KERNEL_C);
  writeFileSync(join(dir, 'boot.S'), BOOT_S);
  writeFileSync(join(dir, 'linker.ld'), LINKER_LD);
  run('gcc', ['-m32', '-ffreestanding', '-fno-pic', '-fno-stack-protector', '-nostdlib', '-fno-asynchronous-unwind-tables', '-O2', '-c', 'kernel.c', '-o', 'kernel.o'], dir);
  run('as', ['--32', 'boot.S', '-o', 'boot.o'], dir);
  run('ld', ['-m', 'elf_i386', '-T', 'linker.ld', '-o', 'kernel.elf', 'boot.o', 'kernel.o'], dir);
  const path = join(dir, 'kernel.elf');
  return { bytes: new Uint8Array(readFileSync(path)), path, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
