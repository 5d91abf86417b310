/** Typed, descriptive errors: every failure is an AsmError (InvalidArgumentError, LL_INVALID_ARGUMENT). */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, InvalidArgumentError, LatelaunchError } from '@latelaunch/kernel';
import {
  Assembler, AsmError, type AsmErrorKind, type Bits, sym, mem, byte, word, dword, fword, qword,
  al, ah, bl, ax, bx, bp, si, eax, ebx, esp, rax, r8, r8d, sil, cs, es, rip,
} from '../src/index.js';

function fails(bits: Bits, body: (a: Assembler) => unknown, kind: AsmErrorKind, ...fragments: string[]): AsmError {
  let err: unknown;
  try {
    const a = new Assembler({ bits });
    body(a);
    a.assemble();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected an error').toBeInstanceOf(AsmError);
  const e = err as AsmError;
  expect(e).toBeInstanceOf(InvalidArgumentError);
  expect(e).toBeInstanceOf(LatelaunchError);
  expect(e.code).toBe(ErrorCodes.InvalidArgument);
  expect(e.name).toBe('AsmError');
  expect(e.kind).toBe(kind);
  for (const f of fragments) expect(e.message).toContain(f);
  return e;
}

describe('operand errors (thrown at the call, naming the instruction)', () => {
  it('high byte registers with a REX prefix', () => {
    const e = fails(64, (a) => a.mov(ah, byte(r8)), 'invalid-operands', 'mov ah, BYTE PTR [r8]', 'ah', 'REX');
    expect(e.instruction).toBe('mov ah, BYTE PTR [r8]');
    fails(64, (a) => a.mov(ah, sil), 'invalid-operands', 'ah');
    fails(64, (a) => a.add(ah, byte(rax, r8.scale(2))), 'invalid-operands', 'ah');
  });
  it('registers and forms that do not exist in the mode', () => {
    fails(32, (a) => a.mov(eax, r8d), 'invalid-operands', 'r8d is not available in 32-bit code');
    fails(16, (a) => a.mov(rax, 1), 'invalid-operands', 'rax');
    fails(64, (a) => a.push(eax), 'invalid-operands', 'push eax', '32-bit stack operand');
    fails(64, (a) => a.mov(eax, dword(bx, si)), 'invalid-operands', '16-bit addressing');
    fails(32, (a) => a.mov(eax, qword(rip, 'x')), 'invalid-operands');
    fails(32, (a) => a.movsxd(rax, ebx), 'invalid-operands');
    fails(64, (a) => a.jmpFar(0x08, 'x'), 'invalid-operands', 'not available in 64-bit code');
    fails(64, (a) => a.pusha(), 'invalid-operands', 'pusha');
    fails(32, (a) => a.cmpxchg16b(mem(eax)), 'invalid-operands', 'cmpxchg16b');
    fails(32, (a) => a.swapgs(), 'invalid-operands', 'only available in 64-bit code');
    fails(64, (a) => a.jcxz('x'), 'invalid-operands', 'jcxz');
    fails(64, (a) => a.movsb({ seg: es }), 'invalid-operands', 'only fs and gs');
    fails(64, (a) => a.movsb({ addr: 16 }), 'invalid-operands', '16-bit addressing');
    fails(32, (a) => a.stosd({ addr: 64 }), 'invalid-operands', '64-bit addressing');
  });
  it('operand sizes', () => {
    fails(32, (a) => a.mov(eax, bx), 'invalid-operands', 'mov eax, bx', 'size mismatch');
    fails(32, (a) => a.add(dword(eax), bl), 'invalid-operands', 'size mismatch');
    fails(32, (a) => a.add(mem(eax), 1), 'invalid-operands', 'add [eax], 1', 'operand size unknown');
    fails(32, (a) => a.movzx(eax, mem(ebx)), 'invalid-operands', 'byte or word');
    fails(32, (a) => a.lea(eax, eax), 'invalid-operands', 'memory');
    fails(16, (a) => a.call(dword(bx)), 'invalid-operands', 'far pointer', 'callFar');
    fails(32, (a) => a.jmp(fword(eax)), 'invalid-operands', 'jmpFar');
    fails(32, (a) => a.in(bl, 0x60), 'invalid-operands', 'al, ax or eax');
    fails(32, (a) => a.mov(cs, ax), 'invalid-operands', 'cs');
    fails(32, (a) => a.mov(eax, rip), 'invalid-operands');
  });
  it('addressing forms', () => {
    expect(() => dword(eax, ebx.scale(3 as 2))).toThrow(AsmError);
    fails(32, (a) => a.mov(eax, dword(esp.scale(2))), 'invalid-operands', 'esp cannot be an index');
    fails(16, (a) => a.mov(ax, word(bx, bp)), 'invalid-operands', 'not a 16-bit addressing form');
    fails(16, (a) => a.mov(ax, word(si, 0x12345)), 'out-of-range', 'displacement');
    expect(() => dword(eax, ax)).toThrow(/mixed address sizes/);
    expect(() => dword(ebx, 4, esp)).toThrow(AsmError);
  });
  it('immediates out of range', () => {
    fails(32, (a) => a.mov(al, 300), 'out-of-range', 'mov al, 0x12c');
    fails(64, (a) => a.add(rax, 0x80000000), 'out-of-range', 'sign-extended 32-bit');
    fails(32, (a) => a.add(eax, 0x100000000), 'out-of-range');
    fails(32, (a) => a.int(256), 'out-of-range', 'int');
    fails(32, (a) => a.ret(-1), 'out-of-range', 'ret');
  });
  it('prefixes', () => {
    fails(32, (a) => a.lock().mov(dword(eax), 1), 'invalid-operands', 'LOCK');
    fails(32, (a) => a.lock().add(eax, 1), 'invalid-operands', 'LOCK');
    fails(32, (a) => a.rep().add(eax, 1), 'invalid-operands', 'REP');
    fails(32, (a) => a.rep().nops(3), 'invalid-operands', 'rep');
    fails(32, (a) => a.lock(), 'invalid-operands', 'not followed by an instruction');
  });
});

describe('label and layout errors (thrown by assemble, naming instruction and label)', () => {
  it('undefined labels', () => {
    const e = fails(32, (a) => a.jmp('nowhere'), 'undefined-label', "undefined label 'nowhere'", 'jmp nowhere');
    expect(e.label).toBe('nowhere');
    fails(32, (a) => a.mov(eax, sym('start').add('missing')).label('start'), 'undefined-label', "'missing'", 'mov eax');
    fails(32, (a) => a.dd('nothing'), 'undefined-label', 'nothing', '.long');
    fails(32, (a) => a.mov(eax, dword(ebx, 'gone')), 'undefined-label', 'gone');
    fails(32, (a) => a.jmp('@b'), 'undefined-label', '@b');
  });
  it('duplicate labels', () => {
    const e = fails(32, (a) => { a.label('x'); a.nop(); a.label('x'); }, 'duplicate-label', "'x'");
    expect(e.label).toBe('x');
    fails(32, (a) => { a.label('f'); a.label('.l'); a.label('.l'); }, 'duplicate-label', 'f.l');
    fails(32, (a) => { a.equ('K', 1); a.label('K'); }, 'duplicate-label', 'K');
  });
  it('values that do not fit once the labels are known', () => {
    const e = fails(16, (a) => { a.mov(ax, 'high'); a.org(0x10000); a.label('high'); }, 'out-of-range', "'high'", 'mov ax, OFFSET high', 'imm16');
    expect(e.label).toBe('high');
    fails(64, (a) => { a.mov(rax, 'hh'); a.org(0x100000000n); a.label('hh'); }, 'out-of-range', 'hh');
    fails(32, (a) => { a.label('l'); a.resb(200); a.loop('l'); }, 'out-of-range', 'loop l', "'l'");
    fails(32, (a) => { a.jmp('t', 'short'); a.resb(200); a.label('t'); }, 'out-of-range', 'jmp t', 'short');
    fails(32, (a) => { a.dw('w'); a.org(0x20000); a.label('w'); }, 'out-of-range', "'w'", '.word');
    fails(32, (a) => { a.db(sym('b').sub(1)); a.org(0x300); a.label('b'); }, 'out-of-range', 'b');
  });
  it('directives and expressions', () => {
    fails(32, (a) => { a.resb(0x200); a.org(0x100); }, 'invalid-directive', 'org 0x100');
    fails(32, (a) => a.align(3), 'invalid-directive', 'power of two');
    fails(32, (a) => a.db('€'), 'out-of-range', '€');
    fails(32, (a) => { a.equ('A', sym('B').add(1)); a.equ('B', sym('A')); a.dd('A'); }, 'expression', 'itself');
    fails(32, (a) => { a.label('z'); a.dd(sym('z').div(0)); }, 'expression', 'division by zero');
    expect(() => sym('x').constant()).toThrow(AsmError);
    expect(() => new Assembler({ bits: 48 as Bits })).toThrow(AsmError);
  });
  it('native service numbers are checked', () => {
    expect(() => new Assembler().native(0x10000)).toThrow(InvalidArgumentError);
  });
});

