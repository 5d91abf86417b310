/**
 * Example: 64-bit exception stubs and the IDT that points at them. Each stub pushes a dummy error
 * code when the CPU does not, then its vector number, and jumps to a common handler that saves
 * the registers and calls the exception dispatcher (a native service). The IDT gates split each
 * stub address into three fields with label expressions.
 */
import { Assembler } from '../assembler.js';
import { sym } from '../expr.js';
import { mem } from '../memory.js';
import { r8, r9, r10, r11, rax, rcx, rdi, rdx, rip, rsi, rsp } from '../registers.js';

// #region idt-stubs
const HAS_ERROR_CODE = new Set([8, 10, 11, 12, 13, 14, 17, 21, 29, 30]);
const SAVED = [rax, rcx, rdx, rsi, rdi, r8, r9, r10, r11];

export function idtStubs(org = 0x200000): Assembler {
  const a = new Assembler({ bits: 64, org });
  a.times(32, (v) => {
    a.label(`isr${v}`);
    if (!HAS_ERROR_CODE.has(v)) a.push(0); // dummy error code
    a.push(v);
    a.jmp('isr_common'); // relaxed: rel8 for the stubs close enough, rel32 for the others
  });

  a.label('isr_common');
  for (const r of SAVED) a.push(r);
  a.mov(rdi, rsp); // the frame: saved registers, vector, error code, CPU frame
  a.native(0x0010); // exception dispatcher
  for (const r of [...SAVED].reverse()) a.pop(r);
  a.add(rsp, 16); // drop vector and error code
  a.iretq();

  a.label('load_idt');
  a.lidt(mem(rip, 'idtr'));
  a.ret();

  a.align(16);
  a.label('idt');
  a.times(32, (v) => {
    const isr = sym(`isr${v}`);
    a.dw(isr.and(0xffff), 0x08); // offset 15..0, code selector
    a.db(0, 0x8e); // IST 0, present interrupt gate DPL 0
    a.dw(isr.shr(16).and(0xffff)); // offset 31..16
    a.dd(isr.shr(32), 0); // offset 63..32, reserved
  });
  a.label('idt_end');
  a.label('idtr');
  a.dw(sym('idt_end').sub('idt').sub(1));
  a.dq('idt');
  return a;
}
// #endregion idt-stubs
