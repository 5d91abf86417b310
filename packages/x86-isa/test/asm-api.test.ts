/** The DSL's API: program output (bytes, symbols, listing), labels, phase, helpers, operand forms. */
import { describe, expect, it } from 'vitest';
import {
  Assembler, AsmError, Expr, Mem, Program, type Bits, sym, num, mem, byte, dword, qword, registers, gprOf, formatExpr,
  nativeServiceBytes, al, ax, eax, ebx, ecx, esi, rax, rbx, spl, r12b, r8, cr8, dr7, es, fs, rip,
} from '../src/index.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const asm = (bits: Bits, body: (a: Assembler) => unknown, org: number | bigint = 0) => {
  const a = new Assembler({ bits, org });
  body(a);
  return a.assemble();
};

describe('program output', () => {
  it('the README quick start', () => {
    const a = new Assembler({ bits: 32, org: 0x100000 });
    a.label('copy');
    a.mov(eax, dword(ebx, esi.scale(4), 8)); // mov eax, DWORD PTR [ebx+esi*4+8]
    a.add(eax, 5).cmp(eax, 'limit').jb('copy'); // instructions chain; 'limit' is a forward reference
    a.lgdt(mem('gdtr'));
    a.label('limit');
    a.dd(sym('limit').sub('copy')); // expressions on labels are evaluated after layout
    a.label('gdtr');
    a.dw(0x17).dd('gdt');
    a.label('gdt');
    a.resq(3);
    const program = a.assemble();
    expect(program.symbol('limit')).toBe(0x100015n);
    expect(program.listingText()).toContain('00100000  8b44b308                  mov eax, DWORD PTR [ebx+esi*4+8]');
    expect(hex(program.bytes.slice(0x15, 0x1b + 4))).toBe('15000000' + '1700' + '1f001000');
  });

  it('bytes, origin, symbols, listing', () => {
    const a = new Assembler({ bits: 32, org: 0x7c00 });
    const start = a.label('start');
    a.mov(eax, 1).jmp(start);
    a.label('msg');
    a.asciz('hi');
    const p = a.assemble();
    expect(p).toBeInstanceOf(Program);
    expect(hex(p.bytes)).toBe('b801000000ebf9' + '686900');
    expect(p.origin).toBe(0x7c00n);
    expect(p.symbols.get('start')).toBe(0x7c00n);
    expect(p.symbol('msg')).toBe(0x7c07n);
    expect(p.address('msg')).toBe(0x7c07);
    expect(p.offsetOf('msg')).toBe(7);
    expect(() => p.symbol('nope')).toThrow(AsmError);
    expect(p.listing.map((e) => [e.kind, e.address, e.offset, e.text, e.bits])).toEqual([
      ['label', 0x7c00n, 0, 'start:', 32],
      ['instruction', 0x7c00n, 0, 'mov eax, 1', 32],
      ['instruction', 0x7c05n, 5, 'jmp start', 32],
      ['label', 0x7c07n, 7, 'msg:', 32],
      ['data', 0x7c07n, 7, '.ascii "hi"\n.byte 0', 32],
    ]);
    const text = p.listingText();
    expect(text).toContain('00007c00  b801000000                mov eax, 1');
    expect(text).toContain('00007c05  ebf9                      jmp start');
    expect(p.toGas()).toContain('.intel_syntax noprefix');
  });

  it('assembling twice gives the same result; instructions chain', () => {
    const a = new Assembler({ bits: 64 });
    a.label('l');
    expect(a.nop().jmp('l').push(rax)).toBe(a);
    expect(hex(a.assemble().bytes)).toBe(hex(a.assemble().bytes));
  });

  it('64-bit addresses are bigints (higher-half code)', () => {
    const p = asm(64, (a) => {
      a.label('hh');
      a.movabs(rax, 'hh').lea(rbx, mem(rip, 'hh')).dq('hh', sym('hh').shr(39).and(0x1ff));
    }, 0xffff800000100000n);
    expect(p.symbol('hh')).toBe(0xffff800000100000n);
    expect(() => p.address('hh')).toThrow(/not a safe integer/);
    expect(hex(p.bytes.slice(0, 10))).toBe('48b8' + '00001000' + '0080ffff');
    expect(hex(p.bytes.slice(10, 17))).toBe('488d1defffffff');
    expect(new DataView(p.bytes.buffer).getBigUint64(25, true)).toBe(0x100n);
  });
});

describe('labels', () => {
  it('local labels are scoped to the last global label', () => {
    const p = asm(32, (a) => {
      a.label('f');
      a.label('.loop');
      a.jmp('.loop');
      a.label('g');
      a.label('.loop');
      a.jmp('.loop').jmp('f.loop').dd(a.ref('.loop'));
    });
    expect([...p.symbols.keys()]).toEqual(['f', 'f.loop', 'g', 'g.loop']);
    expect(hex(p.bytes)).toBe('ebfe' + 'ebfe' + 'ebfa' + '02000000');
  });
  it('anonymous labels: @@, @f, @b', () => {
    const p = asm(32, (a) => {
      a.label('@@');
      a.jmp('@f');
      a.label('@@');
      a.jmp('@b').jmp('@f');
      a.label('@@');
    });
    expect(hex(p.bytes)).toBe('eb00' + 'ebfe' + 'eb00');
  });
  it('here(), equ and forward references in expressions', () => {
    const p = asm(32, (a) => {
      a.equ('LEN', sym('end').sub('begin'));
      a.label('begin');
      const h = a.here();
      a.jmp(h);
      a.dd('LEN', sym('LEN').mul(2));
      a.label('end');
    });
    expect(p.symbol('LEN')).toBe(10n);
    expect(hex(p.bytes)).toBe('ebfe' + '0a000000' + '14000000');
  });
  it('branches to equ symbols and absolute addresses', () => {
    const p = asm(32, (a) => {
      a.equ('TARGET', sym('x').add(1));
      a.jmp('TARGET').jz(0x1000).call(0x1000);
      a.label('x');
      a.nop().nop();
    }, 0x1000);
    expect(hex(p.bytes)).toBe('eb08' + '74fc' + 'e8f7ffffff' + '9090');
  });
});

describe('phase, org, times, data helpers', () => {
  it('phase: code assembled for another address, stored in place', () => {
    const p = asm(16, (a) => {
      a.jmp('after');
      a.label('blob');
      a.phase(0x8000);
      a.label('tramp');
      a.jmp('tramp').mov(ax, 'tramp');
      a.dephase();
      a.label('after');
      a.dw('tramp', 'blob', 'after');
    }, 0x100);
    expect(p.symbol('tramp')).toBe(0x8000n);
    expect(p.symbol('blob')).toBe(0x102n);
    expect(p.symbol('after')).toBe(0x107n);
    expect(p.offsetOf('tramp')).toBe(2);
    expect(p.offsetOf('after')).toBe(7);
    expect(hex(p.bytes)).toBe('eb05' + 'ebfe' + 'b80080' + '0080' + '0201' + '0701');
    expect(() => p.toGas()).toThrow(/phase/);
  });
  it('org at the start sets the origin; later it pads', () => {
    const p = asm(32, (a) => {
      a.label('first');
      a.org(0x1000);
      a.db(1);
      a.org(0x1004, 0xff);
      a.db(2);
    });
    expect(p.origin).toBe(0x1000n);
    expect(p.symbol('first')).toBe(0x1000n);
    expect(hex(p.bytes)).toBe('01ffffff02');
  });
  it('times, fill, reserve, far pointers and descriptors', () => {
    const p = asm(32, (a) => {
      a.times(3, (i) => a.db(i));
      a.resb(2).resw(1).resd(1).resq(1).fill(2, 2, 0x1234);
      a.farPtr(0x08, 0x12345678).farPtr(0x10, 0x1234, 16);
      a.gdtEntry(0x12345678, 0xabcde, 0x9a, 0xc);
      a.idtGate32(0x12345678, 0x08, 0x8e).idtGate64(0x1122334455667788n, 0x10, 0x8f, 1);
    });
    expect(hex(p.bytes)).toBe(
      '000102' + '0000' + '0000' + '00000000' + '0000000000000000' + '34123412' +
        '78563412' + '0800' + '3412' + '1000' +
        'debc7856349aca12' +
        '785608' + '00' + '008e3412' +
        '8877' + '1000' + '01' + '8f' + '6655' + '44332211' + '00000000',
    );
  });
});

describe('operands', () => {
  it('positional and object memory operands encode the same', () => {
    const a = asm(32, (x) => x.mov(eax, dword(fs, ebx, esi.scale(4), 8)));
    const b = asm(32, (x) => x.mov(eax, dword({ seg: fs, base: ebx, index: esi, scale: 4, disp: 8 })));
    expect(hex(a.bytes)).toBe('648b44b308');
    expect(hex(b.bytes)).toBe(hex(a.bytes));
    const m = qword(es, r8, 'x');
    expect(m).toBeInstanceOf(Mem);
    expect([m.size, m.seg, m.base, m.index, m.disp?.symbols]).toEqual([64, es, r8, undefined, ['x']]);
    expect(mem(null, esi, 4).index).toBe(esi);
    expect(byte(0x10).isAbsolute).toBe(true);
  });
  it('registers', () => {
    expect(registers.r12b).toBe(r12b);
    expect(registers.cr8).toBe(cr8);
    expect(registers.dr7).toBe(dr7);
    expect(gprOf(8, 4)).toBe(spl);
    expect(gprOf(32, 1)).toBe(ecx);
    expect(gprOf(8, 0)).toBe(al);
    expect(() => gprOf(16, 16)).toThrow(AsmError);
  });
  it('expressions', () => {
    const e = sym('a').add(4).shr(16).and(0xffff).or(num(1).shl(8)).xor(3).sub('b').mul(2).neg().not().mod(7).div(1);
    expect(e).toBeInstanceOf(Expr);
    expect(e.symbols).toEqual(['a', 'b']);
    expect(e.isConstant).toBe(false);
    expect(num(6).mul(7).constant()).toBe(42n);
    expect(sym('isr').bits(16, 0xffff).symbols).toEqual(['isr']);
    expect(formatExpr(sym('x').add(-4))).toBe('x-4');
    expect(formatExpr(sym('x').shr(16).and(0xffff))).toBe('(x>>0x10)&0xffff');
  });
  it('native service instruction in every mode', () => {
    for (const bits of [16, 32, 64] as const) {
      const p = asm(bits, (a) => a.native(0x1234));
      expect(hex(p.bytes)).toBe(hex(nativeServiceBytes(bits, 0x1234)));
      expect(hex(p.bytes)).toBe(`${bits === 16 ? '67' : ''}0fb98034124c4c`);
    }
  });
  it('multi-byte nops of every length', () => {
    for (const bits of [16, 32, 64] as const) {
      for (let n = 0; n <= 24; n++) {
        const p = asm(bits, (a) => a.nops(n));
        expect(p.bytes.length).toBe(n);
        for (const e of p.listing) expect(e.bytes[0] === 0x90 || e.bytes[0] === 0x66 || e.bytes[0] === 0x0f).toBe(true);
      }
    }
    expect(hex(asm(32, (a) => a.nops(9)).bytes)).toBe('660f1f840000000000');
    expect(hex(asm(64, (a) => a.nops(11)).bytes)).toBe('660f1f840000000000' + '6690');
    expect(hex(asm(16, (a) => a.nops(5)).bytes)).toBe('0f1f800000');
  });
});
