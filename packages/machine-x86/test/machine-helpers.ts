// Helpers for the machine tests: small programs assembled with the x86-isa assembler, and IDTs.
import { Assembler, type Program } from '@latelaunch/x86-isa';
import { createTranslator } from '@latelaunch/paging';
import type { AddressTranslatorFactory, ExtendedAddressTranslator, PagingControl, PhysicalMemory } from '@latelaunch/kernel';

/** A translator factory over the paging package's default walkers (without a container). */
export const pagingFactory: AddressTranslatorFactory = {
  name: 'test-paging',
  create(control: PagingControl, memory: PhysicalMemory): ExtendedAddressTranslator {
    return createTranslator(control, memory);
  },
};

export function asm32(org: number, body: (a: Assembler) => void): Program {
  const a = new Assembler({ bits: 32, org });
  body(a);
  return a.assemble();
}

export function asm64(org: number, body: (a: Assembler) => void): Program {
  const a = new Assembler({ bits: 64, org });
  body(a);
  return a.assemble();
}

/** Emits a 32-bit IDT of `count` interrupt gates (selector 0x08) whose handlers are labels `handlerOf(v)`, and an `idtr` label. */
export function idt32(a: Assembler, count: number, handlerOf: (v: number) => string): void {
  a.align(8);
  a.label('idt');
  for (let v = 0; v < count; v++) {
    const h = a.ref(handlerOf(v));
    a.dw(h.and(0xffff), 0x08);
    a.db(0, 0x8e);
    a.dw(h.shr(16).and(0xffff));
  }
  a.label('idt_end');
  a.label('idtr');
  a.dw(a.ref('idt_end').sub(a.ref('idt')).sub(1));
  a.dd(a.ref('idt'));
}

/** Emits a 64-bit IDT (16-byte gates, selector 0x18 = the boot GDT's 64-bit code). */
export function idt64(a: Assembler, count: number, handlerOf: (v: number) => string): void {
  a.align(16);
  a.label('idt');
  for (let v = 0; v < count; v++) {
    const h = a.ref(handlerOf(v));
    a.dw(h.and(0xffff), 0x18);
    a.db(0, 0x8e);
    a.dw(h.shr(16).and(0xffff));
    a.dd(h.shr(32), 0);
  }
  a.label('idt_end');
  a.label('idtr');
  a.dw(a.ref('idt_end').sub(a.ref('idt')).sub(1));
  a.dq(a.ref('idt'));
}
