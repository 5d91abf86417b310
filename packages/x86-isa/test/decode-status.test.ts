/**
 * Decode status codes (TRUNCATED, TOO_LONG, INVALID_LOCK, UNSUPPORTED), mode-specific validity,
 * the native-service instruction, the decoded form's field semantics and API misuse.
 */
import { ErrorCodes, InvalidArgumentError } from '@latelaunch/kernel';
import { describe, expect, it } from 'vitest';
import {
  Cond, decode, DecodedInstruction, decodeOne, disassemble, Form, NATIVE_SERVICE_MAGIC, nativeServiceBytes,
  nativeServiceLength, NO_REG, Op, Prefix, Reg, Seg, Status, STATUS_NAMES,
} from '../src/decode/index.js';

const h = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((x) => parseInt(x, 16)));
const dec = (s: string, mode: 16 | 32 | 64, available?: number): DecodedInstruction => {
  const out = new DecodedInstruction();
  decode(h(s), 0, mode, out, available);
  return out;
};
const status = (s: string, mode: 16 | 32 | 64): string => STATUS_NAMES[dec(s, mode).status];

describe('native-service instruction', () => {
  it('exports the magic and builds the documented bytes', () => {
    expect(NATIVE_SERVICE_MAGIC).toBe(0x4c4c0000);
    expect(Array.from(nativeServiceBytes(32, 0x1234))).toEqual([0x0f, 0xb9, 0x80, 0x34, 0x12, 0x4c, 0x4c]);
    expect(Array.from(nativeServiceBytes(64, 0xbeef))).toEqual([0x0f, 0xb9, 0x80, 0xef, 0xbe, 0x4c, 0x4c]);
    expect(Array.from(nativeServiceBytes(16, 1))).toEqual([0x67, 0x0f, 0xb9, 0x80, 0x01, 0x00, 0x4c, 0x4c]);
    expect([nativeServiceLength(16), nativeServiceLength(32), nativeServiceLength(64)]).toEqual([8, 7, 7]);
  });

  it.each([16, 32, 64] as const)('decodes every service number in %i-bit mode', (mode) => {
    const insn = new DecodedInstruction();
    for (let service = 0; service <= 0xffff; service++) {
      const bytes = nativeServiceBytes(mode, service);
      decode(bytes, 0, mode, insn);
      if (insn.status !== Status.OK || insn.op !== Op.NATIVE || insn.imm !== service || insn.length !== bytes.length) {
        throw new Error(`service ${service}: ${insn}`);
      }
    }
    expect(disassemble(decodeOne(nativeServiceBytes(mode, 0x1234), mode))).toBe('native 0x1234');
    expect(decodeOne(nativeServiceBytes(mode, 7), mode).form).toBe(Form.I);
  });

  it('any other UD1 is a plain UD1', () => {
    const plain = [
      [32, '0f b9 80 34 12 4c 4d'], // wrong magic
      [32, '0f b9 81 34 12 4c 4c'], // other ModRM
      [32, '67 0f b9 80 34 12 4c 4c'], // address-size prefix in 32-bit code
      [32, '2e 0f b9 80 34 12 4c 4c'], // segment prefix
      [32, '66 0f b9 80 34 12 4c 4c'], // operand-size prefix
      [64, '48 0f b9 80 34 12 4c 4c'], // REX
      [64, '67 0f b9 80 34 12 4c 4c'], // [eax+disp32] in 64-bit code
      [16, '0f b9 80 34 12'], // 16-bit addressing: ud1 ax,[bx+si+0x1234]
      [16, '66 67 0f b9 80 34 12 4c 4c'],
    ] as const;
    for (const [mode, bytes] of plain) {
      const insn = dec(bytes, mode);
      expect(insn.status, bytes).toBe(Status.OK);
      expect(insn.op, bytes).toBe(Op.UD1);
    }
    expect(disassemble(dec('0f b9 80 34 12 4c 4d', 32))).toBe('ud1 eax,DWORD PTR [eax+0x4d4c1234]');
  });

  it('rejects bad arguments with typed errors', () => {
    expect(() => nativeServiceBytes(32, 0x10000)).toThrow(InvalidArgumentError);
    expect(() => nativeServiceBytes(32, -1)).toThrow(InvalidArgumentError);
    expect(() => nativeServiceBytes(8 as 16, 1)).toThrow(InvalidArgumentError);
  });
});

describe('status codes', () => {
  it('TRUNCATED for every proper prefix of an instruction, with the bytes available as length', () => {
    const cases: [16 | 32 | 64, string][] = [
      [32, 'f0 81 84 88 78 56 34 12 78 56 34 12'],
      [64, '48 b8 88 77 66 55 44 33 22 11'],
      [64, '66 0f 38 80 05 00 10 00 00'],
      [16, 'ea 78 56 34 12'],
      [32, '67 a1 34 12'],
      [64, 'a1 00 00 00 00 00 00 00 80'],
      [32, 'c8 00 01 02'],
      [16, '0f 84 00 01'],
    ];
    for (const [mode, bytes] of cases) {
      const full = h(bytes);
      const insn = new DecodedInstruction();
      decode(full, 0, mode, insn);
      expect(insn.status, bytes).toBe(Status.OK);
      expect(insn.length, bytes).toBe(full.length);
      for (let n = 0; n < full.length; n++) {
        decode(full, 0, mode, insn, n);
        expect(insn.status, `${bytes} with ${n} bytes`).toBe(Status.TRUNCATED);
        expect(insn.length).toBe(n);
        // the end of the buffer truncates too
        decode(full.subarray(0, n), 0, mode, insn);
        expect(insn.status).toBe(Status.TRUNCATED);
      }
    }
  });

  it('TOO_LONG beyond 15 bytes (TRUNCATED first when fewer than 15 bytes are available)', () => {
    expect(status('66'.repeat(14) + '90', 32)).toBe('OK');
    expect(dec('66'.repeat(14) + '90', 32).length).toBe(15);
    expect(status('66'.repeat(15) + '90', 32)).toBe('TOO_LONG');
    expect(dec('66'.repeat(15) + '90', 32).length).toBe(15);
    expect(status('26'.repeat(20), 16)).toBe('TOO_LONG');
    // 16 bytes: 5 prefixes + 81 /0 with SIB, disp32 and imm32
    expect(status('66 67 2e 3e 26 81 84 88 78 56 34 12 78 56 34 12'.replace('66 67', 'f0 2e'), 32)).toBe('TOO_LONG');
    expect(dec('66'.repeat(15) + '90', 32, 10).status).toBe(Status.TRUNCATED);
    expect(status('48'.repeat(15) + '90', 64)).toBe('TOO_LONG');
  });

  it('INVALID_LOCK on non-lockable instructions and register destinations (length still decoded)', () => {
    for (const [mode, bytes] of [
      [32, 'f0 01 c0'], // lock add eax,eax
      [32, 'f0 89 00'], // lock mov [eax],eax
      [32, 'f0 39 00'], // lock cmp [eax],eax
      [32, 'f0 90'], // lock nop
      [32, 'f0 87 c0'], // lock xchg eax,eax
      [64, 'f0 0f 20 c0'], // lock mov rax,cr0 (AMD's CR8 alias is not supported)
      [64, 'f0 0f c7 f0'], // lock + register form of group 9 → UNSUPPORTED wins (not a valid opcode)
      [16, 'f0 f6 07 01'], // lock test
      [64, 'f0 0f a3 00'], // lock bt (not lockable)
    ] as const) {
      const insn = dec(bytes, mode);
      if (bytes === 'f0 0f c7 f0') {
        expect(insn.status).toBe(Status.UNSUPPORTED);
        continue;
      }
      expect(STATUS_NAMES[insn.status], bytes).toBe('INVALID_LOCK');
      expect(insn.length, bytes).toBe(h(bytes).length);
    }
    for (const [mode, bytes] of [
      [32, 'f0 01 00'], [32, 'f0 83 00 01'], [64, 'f0 48 0f c7 08'], [32, 'f0 0f c1 08'], [16, 'f0 fe 07'], [64, 'f0 48 87 08'],
      [32, 'f0 0f ba 28 01'], [32, 'f0 f7 18'], [32, 'f0 0f b0 08'],
    ] as const) {
      expect(status(bytes, mode), bytes).toBe('OK');
    }
    expect(disassemble(dec('f0 01 c0', 32))).toBe('lock add eax,eax');
  });

  it('UNSUPPORTED outside the subset, with the bytes examined as length', () => {
    expect(status('d9 c0', 32)).toBe('UNSUPPORTED'); // x87
    expect(status('0f 58 c0', 32)).toBe('UNSUPPORTED'); // SSE
    expect(status('f3 0f b8 c0', 32)).toBe('UNSUPPORTED'); // POPCNT
    expect(status('f3 0f bc c0', 64)).toBe('UNSUPPORTED'); // TZCNT, not BSF
    expect(status('0f 01 d0', 64)).toBe('UNSUPPORTED'); // XGETBV
    expect(status('0f 0d 00', 64)).toBe('UNSUPPORTED'); // PREFETCH
    expect(status('c5 f8 77', 64)).toBe('UNSUPPORTED'); // VEX
    expect(status('8d c0', 32)).toBe('UNSUPPORTED'); // LEA with a register operand
    expect(status('8e c8', 32)).toBe('UNSUPPORTED'); // MOV CS, r/m
    expect(status('8c f0', 32)).toBe('UNSUPPORTED'); // segment register 6
    expect(status('0f 20 c8', 32)).toBe('UNSUPPORTED'); // CR1
    expect(status('44 0f 21 c0', 64)).toBe('UNSUPPORTED'); // DR8
    expect(status('0f 1f 08', 32)).toBe('UNSUPPORTED'); // reserved-NOP 0F 1F /1
    expect(dec('d9 c0', 32).length).toBe(1);
    expect(dec('66 0f 58', 32).length).toBe(3);
  });
});

describe('mode-specific validity', () => {
  it('rejects legacy-only opcodes in 64-bit mode', () => {
    for (const bytes of ['06', '07', '0e', '16', '17', '1e', '1f', '60', '61', '82 c0 01', '9a 00 00 00 00 00 00', 'ce', 'ea 00 00 00 00 00 00', 'c4 00', 'c5 00', 'd4 0a', '27']) {
      expect(status(bytes, 64), bytes).toBe('UNSUPPORTED');
      if (!['d4 0a', '27'].includes(bytes)) expect(status(bytes, 32), bytes).toBe('OK');
    }
  });

  it('treats 40-4F as REX in 64-bit mode and INC/DEC elsewhere', () => {
    expect(dec('40', 32).op).toBe(Op.INC);
    expect(dec('4f', 16).op).toBe(Op.DEC);
    const i = dec('41 50', 64);
    expect(i.op).toBe(Op.PUSH);
    expect(i.rm).toBe(Reg.R8);
    expect(i.rex).toBe(0x41);
    // REX not immediately before the opcode is ignored
    const j = dec('48 66 01 c0', 64);
    expect(j.rex).toBe(0);
    expect(j.opSize).toBe(16);
    expect(disassemble(j)).toBe('add ax,ax');
  });

  it('accepts 64-bit-only instructions only in 64-bit mode (Intel rules)', () => {
    for (const bytes of ['0f 05', '0f 07', '0f 01 f8', '63 c1', '48 0f c7 08']) {
      expect(status(bytes, 64), bytes).toBe('OK');
    }
    for (const bytes of ['0f 05', '0f 07', '0f 01 f8']) {
      expect(status(bytes, 32), bytes).toBe('UNSUPPORTED');
      expect(status(bytes, 16), bytes).toBe('UNSUPPORTED');
    }
    expect(status('63 c1', 32)).toBe('UNSUPPORTED'); // ARPL is outside the subset
    expect(disassemble(dec('e3 fe', 64))).toBe('jrcxz 0x0');
    expect(disassemble(dec('67 e3 fd', 64))).toBe('jecxz 0x0');
    expect(disassemble(dec('e3 fe', 16))).toBe('jcxz 0x0');
  });

  it('applies Intel operand-size rules to near branches and stack operations in 64-bit mode', () => {
    expect(dec('66 e8 00 00 00 00', 64).length).toBe(6); // 66 ignored
    expect(dec('66 e8 00 00 00 00', 64).opSize).toBe(64);
    expect(dec('66 50', 64).opSize).toBe(16);
    expect(dec('66 48 50', 64).opSize).toBe(64);
    expect(dec('50', 64).opSize).toBe(64);
    expect(dec('48 e5 10', 64).opSize).toBe(32); // IN has no 64-bit form
    expect(dec('66 e8 00 00', 32).length).toBe(4); // rel16 in 32-bit code
  });
});

describe('decoded form', () => {
  it('describes memory operands without re-parsing bytes', () => {
    const a = dec('8b 44 88 f0', 32); // mov eax,[eax+ecx*4-0x10]
    expect([a.isMem, a.base, a.index, a.scale, a.disp, a.segment, a.reg]).toEqual([true, Reg.RAX, Reg.RCX, 4, -16, Seg.DS, Reg.RAX]);
    const b = dec('8b 46 04', 16); // mov ax,[bp+4]
    expect([b.base, b.index, b.disp, b.segment, b.addrSize]).toEqual([Reg.RBP, NO_REG, 4, Seg.SS, 16]);
    const c = dec('8b 02', 16); // mov ax,[bp+si]
    expect([c.base, c.index, c.segment]).toEqual([Reg.RBP, Reg.RSI, Seg.SS]);
    const d = dec('48 8b 05 f0 ff ff ff', 64); // mov rax,[rip-0x10]
    expect([d.ripRel, d.base, d.index, d.disp, d.dispHi]).toEqual([true, NO_REG, NO_REG, -16, -1]);
    const e = dec('64 48 a1 88 77 66 55 44 33 22 11', 64); // movabs rax,fs:0x1122334455667788
    expect([e.isMem, e.disp >>> 0, e.dispHi, e.segment, e.segOverride, e.form]).toEqual([true, 0x55667788, 0x11223344, Seg.FS, Seg.FS, Form.G_E]);
    const f = dec('43 8b 04 a4', 64); // mov eax,[r12+r12*4]
    expect([f.base, f.index, f.scale]).toEqual([Reg.R12, Reg.R12, 4]);
    const g = dec('8b 04 24', 32); // [esp]
    expect([g.base, g.index, g.segment]).toEqual([Reg.RSP, NO_REG, Seg.SS]);
    const i = dec('41 8b 45 00', 64); // [r13+0] uses DS
    expect([i.base, i.segment]).toEqual([Reg.R13, Seg.DS]);
  });

  it('resolves byte registers, immediates, branches, far pointers and conditions', () => {
    const a = dec('88 e0', 32); // mov al,ah
    expect([a.rm, a.reg, a.opSize]).toEqual([Reg.RAX, Reg.AH, 8]);
    const b = dec('40 88 e0', 64); // mov al,spl
    expect(b.reg).toBe(Reg.RSP);
    const c = dec('48 83 c0 ff', 64); // add rax,-1
    expect([c.imm, c.immHi, c.opSize, c.form]).toEqual([0xffffffff, 0xffffffff, 64, Form.E_I]);
    const d = dec('49 bf f0 de bc 9a 78 56 34 12', 64);
    expect([d.op, d.rm, d.imm, d.immHi]).toEqual([Op.MOV, Reg.R15, 0x9abcdef0, 0x12345678]);
    const e = dec('0f 84 fa ff ff ff', 32);
    expect([e.op, e.cc, e.rel, e.form]).toEqual([Op.JCC, Cond.E, -6, Form.REL]);
    expect(disassemble(e, { address: 0x1000 })).toBe('je 0x1000');
    const f = dec('ea 78 56 34 12 10 00', 32);
    expect([f.op, f.sel, f.imm, f.form]).toEqual([Op.JMPF, 0x10, 0x12345678, Form.FAR]);
    const g = dec('66 6a ff', 32);
    expect([g.imm, g.opSize]).toEqual([0xffff, 16]);
    const i = dec('f3 48 a5', 64);
    expect([i.op, i.opSize, i.prefixes & Prefix.REP, i.addrSize]).toEqual([Op.MOVS, 64, Prefix.REP, 64]);
    const j = dec('c8 10 00 02', 32);
    expect([j.op, j.imm, j.sel, j.form]).toEqual([Op.ENTER, 0x10, 2, Form.I_I]);
    const k = dec('0f 22 d8', 32);
    expect([k.op, k.form, k.reg, k.rm]).toEqual([Op.MOV_CR, Form.C_R, 3, Reg.RAX]);
    expect(disassemble(dec('eb fe', 16), { address: 0xfffe })).toBe('jmp 0xfffe');
    expect(disassemble(dec('eb 00', 16), { address: 0xfffe })).toBe('jmp 0x0'); // IP wraps at 64 KiB
  });

  it('overwrites every field on each decode (reusable output object)', () => {
    const insn = new DecodedInstruction();
    decode(h('f0 48 81 84 88 78 56 34 12 78 56 34 12'), 0, 64, insn);
    decode(h('90'), 0, 64, insn);
    const fresh = decodeOne([0x90], 64);
    expect({ ...insn }).toEqual({ ...fresh });
    decode(h('d9'), 0, 64, insn);
    expect({ ...insn }).toEqual({ ...decodeOne([0xd9], 64) });
    expect(insn.clone()).toEqual(insn);
  });

  it('decodes at an offset and honours `available`', () => {
    const buf = h('90 90 8b 44 24 04 c3');
    const insn = new DecodedInstruction();
    expect(decode(buf, 2, 32, insn)).toBe(4);
    expect(insn.disp).toBe(4);
    expect(decode(buf, 6, 32, insn)).toBe(1);
    expect(insn.op).toBe(Op.RET);
    expect(decode(buf, 7, 32, insn)).toBe(0);
    expect(insn.status).toBe(Status.TRUNCATED);
    decode(buf, 2, 32, insn, 100);
    expect(insn.status).toBe(Status.OK);
  });
});

describe('API misuse', () => {
  it('throws InvalidArgumentError for a bad mode or offset, never for bad bytes', () => {
    const insn = new DecodedInstruction();
    const buf = new Uint8Array(4);
    for (const bad of [() => decode(buf, 0, 8 as 16, insn), () => decode(buf, -1, 32, insn), () => decode(buf, 5, 32, insn), () => decode(buf, 1.5, 32, insn)]) {
      try {
        bad();
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidArgumentError);
        expect((e as InvalidArgumentError).code).toBe(ErrorCodes.InvalidArgument);
      }
    }
    for (let b = 0; b < 256; b++) {
      for (const mode of [16, 32, 64] as const) {
        expect(() => decode(Uint8Array.of(b), 0, mode, insn)).not.toThrow();
      }
    }
  });
});
