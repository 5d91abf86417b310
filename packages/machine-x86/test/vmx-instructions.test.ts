// The VMX instructions and capability MSRs, exercised by real x86 code (assembled with the
// x86-isa assembler): the order of checks #UD → (VM exit) → #GP(0) → VMsucceed / VMfailInvalid /
// VMfailValid(n), every VM-instruction error the model produces, VMREAD/VMWRITE widths, the VMCS
// region in memory, and the capability MSRs as RDMSR returns them.
import { describe, expect, test } from 'vitest';
import { Assembler, ax, cr0, cr4, dword, eax, ebx, ecx, edi, edx, esi, mem, qword, rax, rbx, rcx, rdi, rdx, rsi, ss, type Program } from '@latelaunch/x86-isa';
import type { Register } from '@latelaunch/x86-isa';
import { createMachine, VMCS_REVISION_ID, type Machine } from '../src/index.js';
import type { Processor } from '../src/cpu/processor.js';
import { AR, Cr0, Cr4, Seg } from '../src/cpu/state.js';
import { DEFAULT1, SUPPORTED } from '../src/vmx/controls.js';
import { F, HIGHEST_FIELD_INDEX, SUPPORTED_FIELDS } from '../src/vmx/vmcs.js';
import { pagingFactory } from './machine-helpers.js';
import { E, exits, LEGACY_PD, GUEST_CODE, HOST_CODE, HOST_STACK, prepareVmcs, RESULTS, VMCS2_REGION, VMCS_REGION, VMXON_REGION, vmxMachine, w, type VmxEnv } from './helpers/vmx.js';

const CF = 0x1;
const ZF = 0x40;
const STATUS = 0x8d5;
const DONE = RESULTS + 0xff8;
const DONE_MARK = 0xd0e;

type Bits = 16 | 32 | 64;

interface Regs { ax: Register; bx: Register; cx: Register; dx: Register; si: Register; di: Register }
const R64: Regs = { ax: rax, bx: rbx, cx: rcx, dx: rdx, si: rsi, di: rdi };
const R32: Regs = { ax: eax, bx: ebx, cx: ecx, dx: edx, si: esi, di: edi };

/** Host-code builder: `flags(k)` stores RFLAGS in result slot k (8 bytes each, at RESULTS + 16k); `check(k)` also stores the VM-instruction error (VMREAD 0x4400) at RESULTS + 16k + 8. */
class Host {
  readonly r: Regs;
  constructor(readonly a: Assembler, readonly bits: Bits) {
    this.r = bits === 64 ? R64 : R32;
  }
  slot(k: number, off = 0) {
    return this.bits === 64 ? qword(RESULTS + 16 * k + off) : dword(RESULTS + 16 * k + off);
  }
  store(k: number, reg: Register, off = 0): void {
    this.a.mov(this.slot(k, off), reg);
  }
  flags(k: number): void {
    this.a.pushf();
    this.a.pop(this.r.di); // RDI/EDI: the other registers carry operands between steps
    this.store(k, this.r.di);
  }
  check(k: number): void {
    this.flags(k);
    this.a.mov(this.r.bx, E.VM_INSTRUCTION_ERROR);
    this.a.xor(this.r.cx, this.r.cx);
    this.a.vmread(this.r.cx, this.r.bx);
    this.store(k, this.r.cx, 8);
  }
  /** A pointer operand (label of a qword in the data area). */
  p(label: string) {
    return qword(label);
  }
}

/** Assembles host code at HOST_CODE (ending with a DONE marker and HLT at label `end`), data after it, and loads it. */
function host(m: Machine, bits: Bits, body: (h: Host) => void, data: (a: Assembler) => void = () => {}, org = HOST_CODE): Program {
  const a = new Assembler({ bits, org });
  const h = new Host(a, bits);
  body(h);
  a.label('end');
  a.mov(dword(DONE), DONE_MARK);
  a.hlt();
  a.align(16);
  a.label('on');
  a.dq(VMXON_REGION);
  a.label('vmcs');
  a.dq(VMCS_REGION);
  a.label('vmcs2');
  a.dq(VMCS2_REGION);
  a.label('mis');
  a.dq(VMCS_REGION + 8);
  a.label('huge');
  a.dq(2n ** 39n); // beyond MAXPHYADDR (39 bits)
  a.label('desc');
  a.dq(0, 0);
  data(a);
  const prog = a.assemble();
  m.loadFlat(prog.bytes, org);
  return prog;
}

/** Runs until the HLT at `end` (faults would be delivered: none expected). */
function runToEnd(m: Machine, max = 20_000): void {
  m.memory.write32(DONE, 0);
  m.run({ maxInstructions: max });
  expect(m.memory.read32(DONE) >>> 0, 'reached the end of the host code').toBe(DONE_MARK);
}

/** Steps one instruction at a time until `end` or the first fault (not delivered). */
function stepToFault(p: Processor, prog: Program, max = 1000): { vector: number; errorCode: number; rip: number } {
  const end = prog.address('end');
  for (let n = 0; n < max; n++) {
    if (p.state.rip === end) return { vector: -1, errorCode: -1, rip: end };
    const v = p.tryStep();
    if (v >= 0) return { vector: v, errorCode: p.pendingErrorCode, rip: p.state.rip };
  }
  throw new Error('no fault and no end');
}

function res(m: Machine, k: number, off = 0): bigint {
  return m.memory.read64(RESULTS + 16 * k + off);
}

/** The outcome recorded by `check(k)`: 'succeed', 'invalid' (CF), 'valid(n)' (ZF + error n). */
function outcome(m: Machine, k: number): string {
  const f = Number(res(m, k)) & STATUS;
  if (f === 0) return 'succeed';
  if (f === CF) return 'invalid';
  if (f === ZF) return `valid(${Number(res(m, k, 8) & 0xffffffffn)})`;
  return `flags ${f.toString(16)}`;
}

const UD = 6;
const GP = 13;

describe('VMXON preconditions', () => {
  test('#UD with CR4.VMXE = 0', () => {
    const env = vmxMachine('long64');
    const prog = host(env.m, 64, (h) => {
      const a = h.a;
      a.mov(rax, cr4);
      a.and(rax, ~Cr4.VMXE);
      a.mov(cr4, rax); // allowed outside VMX operation
      a.vmxon(h.p('on'));
    });
    const f = stepToFault(env.p, prog);
    expect(f.vector).toBe(UD);
    expect(env.p.state.cr4 & Cr4.VMXE).toBe(0);
    expect(env.u.inVmx).toBe(false);
  });

  test('#UD in real mode (CR0.PE = 0) even with CR4.VMXE = 1', () => {
    const m = createMachine({ translatorFactory: pagingFactory, memoryMiB: 4 });
    const p = m.processor(0);
    m.startProcessor(0, { mode: 'real', entry: 0x8000 });
    p.state.msr.set(0x3a, 5n);
    const a = new Assembler({ bits: 16, org: 0 });
    a.mov(eax, cr4);
    a.or(eax, Cr4.VMXE);
    a.mov(cr4, eax);
    a.vmxon(qword(0x100));
    a.label('end');
    a.hlt();
    const prog = a.assemble();
    m.loadFlat(prog.bytes, 0x8000);
    let v = -1;
    for (let n = 0; n < 10 && v < 0; n++) v = p.tryStep();
    expect(v).toBe(UD);
    expect(p.state.cr4 & Cr4.VMXE).toBe(Cr4.VMXE);
    expect(p.state.cr0 & Cr0.PE).toBe(0);
  });

  for (const fc of [0n, 1n, 4n]) {
    test(`#GP(0) when IA32_FEATURE_CONTROL = ${fc} (unlocked or no VMX outside SMX)`, () => {
      const env = vmxMachine('long64');
      env.p.state.msr.set(0x3a, fc);
      const prog = host(env.m, 64, (h) => h.a.vmxon(h.p('on')));
      expect(stepToFault(env.p, prog)).toMatchObject({ vector: GP, errorCode: 0, rip: HOST_CODE });
      expect(env.u.inVmx).toBe(false);
    });
  }

  test('#GP(0) when CR0.NE = 0 (IA32_VMX_CR0_FIXED0)', () => {
    const env = vmxMachine('long64');
    const prog = host(env.m, 64, (h) => {
      const a = h.a;
      a.mov(rax, cr0);
      a.and(rax, ~Cr0.NE);
      a.mov(cr0, rax);
      a.label('vmxon');
      a.vmxon(h.p('on'));
    });
    const f = stepToFault(env.p, prog);
    expect(f).toMatchObject({ vector: GP, errorCode: 0, rip: prog.address('vmxon') });
    expect(env.u.inVmx).toBe(false);
  });

  test('#GP(0) at CPL 3 (x86 VMXON with CS.DPL forced to 3) and through the intrinsic', () => {
    // protected32: flat segments; CPL is CS.DPL, so the code segment is made DPL 3 directly in the
    // processor state (a full GDT + IRET to ring 3 is not needed to reach the CPL check).
    const env = vmxMachine('protected32');
    const prog = host(env.m, 32, (h) => h.a.vmxon(h.p('on')));
    // user-accessible 4-MiB pages (the helper maps them supervisor-only)
    for (let j = 0; j < 1024; j++) env.m.memory.write32(LEGACY_PD + j * 4, ((j * 0x400000) >>> 0) + 0x87);
    env.p.flushFastTlb();
    const s = env.p.state;
    s.segAr[Seg.CS] = (s.segAr[Seg.CS] & ~AR.DPL_MASK) | (3 << AR.DPL_SHIFT);
    s.segSel[Seg.CS] |= 3;
    s.segAr[Seg.SS] = (s.segAr[Seg.SS] & ~AR.DPL_MASK) | (3 << AR.DPL_SHIFT);
    s.segSel[Seg.SS] |= 3;
    env.p.modeChanged();
    expect(env.p.cpl).toBe(3);
    expect(stepToFault(env.p, prog)).toMatchObject({ vector: GP, errorCode: 0 });
    expect(env.u.inVmx).toBe(false);
    expect(() => env.vmx.vmxon(VMXON_REGION)).toThrow();
    expect(env.p.pendingVector).toBe(GP);
    expect(env.u.inVmx).toBe(false);
  });

  test('VMfailInvalid: misaligned, beyond MAXPHYADDR, wrong revision; VMXON in VMX root: VMfailInvalid / VMfailValid(15)', () => {
    const env = vmxMachine('long64');
    env.m.memory.write32(VMCS2_REGION, VMCS_REVISION_ID + 1);
    host(env.m, 64, (h) => {
      const a = h.a;
      a.vmxon(h.p('mis'));
      h.flags(0);
      a.vmxon(h.p('huge'));
      h.flags(1);
      a.vmxon(h.p('vmcs2')); // wrong revision identifier
      h.flags(2);
      a.vmxon(h.p('vmcs3')); // revision with bit 31 set (shadow VMCS)
      h.flags(3);
      a.vmxon(h.p('on'));
      h.flags(4);
      a.vmxon(h.p('on')); // in VMX root, no current VMCS
      h.flags(5);
      a.vmclear(h.p('vmcs'));
      a.vmptrld(h.p('vmcs'));
      a.vmxon(h.p('on')); // in VMX root with a current VMCS
      h.check(6);
    }, (a) => {
      a.label('vmcs3');
      a.dq(0x17000);
    });
    env.m.memory.write32(0x17000, (VMCS_REVISION_ID | 0x80000000) >>> 0);
    runToEnd(env.m);
    expect([0, 1, 2, 3].map((k) => outcome(env.m, k))).toEqual(['invalid', 'invalid', 'invalid', 'invalid']);
    expect(outcome(env.m, 4)).toBe('succeed');
    expect(outcome(env.m, 5)).toBe('invalid');
    expect(outcome(env.m, 6)).toBe('valid(15)');
    expect(env.u.inVmx).toBe(true);
    expect(env.u.vmxonPointer).toBe(VMXON_REGION);
  });
});

describe('VM-instruction errors', () => {
  test('errors 1, 2, 3, 5, 9, 10, 11, 12, 13, 28 and VMfailInvalid without a current VMCS', () => {
    const env = vmxMachine('long64');
    env.m.memory.write32(VMCS2_REGION, VMCS_REVISION_ID ^ 0x100); // wrong revision
    host(env.m, 64, (h) => {
      const a = h.a;
      a.vmxon(h.p('on'));
      a.vmcall(); // no current VMCS
      h.check(0);
      a.vmclear(h.p('vmcs'));
      a.vmptrld(h.p('vmcs'));
      h.check(1);
      a.vmcall();
      h.check(2);
      a.vmclear(h.p('mis'));
      h.check(3);
      a.vmclear(h.p('huge'));
      h.check(4);
      a.vmclear(h.p('on'));
      h.check(5);
      a.vmptrld(h.p('mis'));
      h.check(6);
      a.vmptrld(h.p('huge'));
      h.check(7);
      a.vmptrld(h.p('on'));
      h.check(8);
      a.vmptrld(h.p('vmcs2'));
      h.check(9);
      a.mov(rbx, 0x2032); // TSC_MULTIPLIER: not supported by the model
      a.vmread(rax, rbx);
      h.check(10);
      a.mov(rbx, 0x2032);
      a.vmwrite(rbx, rax);
      h.check(11);
      a.mov(rbx, E.GUEST_RIP | 1); // HIGH access of a natural-width field: malformed
      a.vmread(rax, rbx);
      h.check(12);
      a.mov(rbx, 0x10000); // bits 31:15 not zero
      a.vmread(rax, rbx);
      h.check(13);
      a.mov(rbx, 1);
      a.shl(rbx, 32);
      a.or(rbx, E.GUEST_RIP); // bits 63:32 of the encoding not zero
      a.vmread(rax, rbx);
      h.check(14);
      a.mov(rbx, E.VM_EXIT_REASON);
      a.vmwrite(rbx, rax);
      h.check(15);
      a.mov(rbx, E.VM_INSTRUCTION_ERROR);
      a.vmwrite(rbx, rax);
      h.check(16);
      a.vmresume(); // current VMCS is clear
      h.check(17);
      a.vmlaunch(); // all controls zero: error 7
      h.check(18);
      a.mov(rax, 0);
      a.invept(rax, mem('desc'));
      h.check(19);
      a.mov(rax, 4);
      a.invvpid(rax, mem('desc'));
      h.check(20);
      a.mov(rax, 1); // single-context with VPID 0
      a.invvpid(rax, mem('desc'));
      h.check(21);
      a.mov(rax, 2); // all-context: fine
      a.invvpid(rax, mem('desc'));
      h.check(22);
      a.mov(rax, 2);
      a.invept(rax, mem('desc'));
      h.check(23);
      a.vmclear(h.p('vmcs')); // no current VMCS any more
      h.check(24);
      a.mov(rbx, E.GUEST_RIP);
      a.vmread(rax, rbx);
      h.flags(25);
      a.vmwrite(rbx, rax);
      h.flags(26);
      a.vmlaunch();
      h.flags(27);
      a.vmresume();
      h.flags(28);
      a.vmcall();
      h.flags(29);
      a.vmclear(h.p('mis')); // error 2 without a current VMCS: VMfailInvalid
      h.flags(30);
      a.mov(rax, 0);
      a.invept(rax, mem('desc'));
      h.flags(31);
    });
    runToEnd(env.m);
    const got = Array.from({ length: 32 }, (_, k) => outcome(env.m, k));
    expect(got).toEqual([
      'invalid', 'succeed', 'valid(1)', 'valid(2)', 'valid(2)', 'valid(3)', 'valid(9)', 'valid(9)', 'valid(10)', 'valid(11)',
      'valid(12)', 'valid(12)', 'valid(12)', 'valid(12)', 'valid(12)', 'valid(13)', 'valid(13)', 'valid(5)', 'valid(7)',
      'valid(28)', 'valid(28)', 'valid(28)', 'succeed', 'succeed', 'succeed',
      'invalid', 'invalid', 'invalid', 'invalid', 'invalid', 'invalid', 'invalid',
    ]);
  });

  test('errors 26 (MOV SS), 8 (host CR0.PE = 0), 7 (pin-based controls 0)', () => {
    const env = vmxMachine('long64');
    const prog = host(env.m, 64, (h) => {
      const a = h.a;
      a.mov(ax, ss);
      a.mov(ss, ax);
      a.vmlaunch(); // blocked by MOV SS
      h.check(0);
      a.mov(rbx, E.HOST_CR0);
      a.vmread(rdx, rbx);
      a.mov(rax, rdx);
      a.and(rax, ~Cr0.PE);
      a.vmwrite(rbx, rax);
      a.vmlaunch();
      h.check(1);
      a.mov(rbx, E.HOST_CR0);
      a.vmwrite(rbx, rdx);
      a.mov(rbx, E.PIN_BASED_VM_EXEC_CONTROL);
      a.xor(eax, eax);
      a.vmwrite(rbx, rax);
      a.vmlaunch();
      h.check(2);
    });
    void prog;
    prepareVmcs(env, GUEST_CODE);
    runToEnd(env.m);
    expect([0, 1, 2].map((k) => outcome(env.m, k))).toEqual(['valid(26)', 'valid(8)', 'valid(7)']);
    expect(exits(env)).toEqual([]);
  });

  test('VMLAUNCH twice → error 4; VMRESUME on a clear VMCS → error 5; VMCLEAR writes launch state clear', () => {
    const env = vmxMachine('long64');
    env.m.loadFlat(new Assembler({ bits: 64, org: GUEST_CODE }).cpuid().hlt().assemble().bytes, GUEST_CODE);
    const prog = host(env.m, 64, (h) => {
      const a = h.a;
      a.vmlaunch();
      h.check(0); // not reached
      a.jmp('end');
      a.label('exited');
      a.inc(dword(RESULTS + 0x200));
      a.cmp(dword(RESULTS + 0x200), 2);
      a.je('end');
      a.vmlaunch();
      h.check(1);
      a.vmclear(h.p('vmcs'));
      h.check(2);
      a.mov(eax, dword(VMCS_REGION + 8));
      h.store(3, rax);
      a.vmptrld(h.p('vmcs'));
      h.check(4);
      a.vmresume();
      h.check(5);
      a.vmlaunch(); // → guest → exit → `exited` (counter 2) → end
      h.check(6);
    });
    prepareVmcs(env, GUEST_CODE);
    w(env, 'HOST_RIP', prog.address('exited'));
    env.m.memory.write32(RESULTS + 0x200, 0);
    env.m.memory.write32(RESULTS + 16 * 6, 0xdead);
    runToEnd(env.m);
    expect(outcome(env.m, 1)).toBe('valid(4)');
    expect(outcome(env.m, 2)).toBe('succeed');
    expect(Number(res(env.m, 3) & 0xffffffffn)).toBe(0);
    expect(outcome(env.m, 4)).toBe('succeed');
    expect(outcome(env.m, 5)).toBe('valid(5)');
    expect(Number(res(env.m, 6))).toBe(0xdead); // not reached: the second VMLAUNCH entered the guest
    expect(exits(env)).toEqual([10, 10]);
    expect(env.u.current?.launched).toBe(true);
  });
});

describe('VMX operation: #UD outside, VMXOFF, CR0/CR4 fixed bits', () => {
  for (const [name, emit] of [
    ['VMREAD', (h: Host) => h.a.vmread(rax, rbx)],
    ['VMWRITE', (h: Host) => h.a.vmwrite(rbx, rax)],
    ['VMCALL', (h: Host) => h.a.vmcall()],
    ['VMXOFF', (h: Host) => h.a.vmxoff()],
    ['VMPTRLD', (h: Host) => h.a.vmptrld(h.p('vmcs'))],
    ['VMPTRST', (h: Host) => h.a.vmptrst(qword(RESULTS))],
    ['VMCLEAR', (h: Host) => h.a.vmclear(h.p('vmcs'))],
    ['VMLAUNCH', (h: Host) => h.a.vmlaunch()],
    ['INVEPT', (h: Host) => h.a.invept(rax, mem('desc'))],
  ] as const) {
    test(`${name} before VMXON → #UD`, () => {
      const env = vmxMachine('long64');
      const prog = host(env.m, 64, (h) => emit(h));
      expect(stepToFault(env.p, prog)).toMatchObject({ vector: UD, rip: HOST_CODE });
    });
  }

  test('VMXON and VMREAD in compatibility mode → #UD', () => {
    const env = vmxMachine('long64');
    const s = env.p.state;
    const long = s.segAr[Seg.CS];
    const compat = (long & ~AR.L) | AR.DB;
    s.segAr[Seg.CS] = compat;
    env.p.modeChanged();
    const prog = host(env.m, 32, (h) => h.a.vmxon(h.p('on')));
    expect(stepToFault(env.p, prog)).toMatchObject({ vector: UD, rip: HOST_CODE });
    expect(env.u.inVmx).toBe(false);
    // In VMX operation (VMXON through the intrinsic in 64-bit mode), VMREAD in compatibility mode is #UD too.
    s.segAr[Seg.CS] = long;
    env.p.modeChanged();
    expect(env.vmx.vmxon(VMXON_REGION).status).toBe('succeed');
    s.segAr[Seg.CS] = compat;
    env.p.modeChanged();
    host(env.m, 32, (h) => h.a.vmread(eax, ebx));
    s.rip = HOST_CODE;
    expect(env.p.tryStep()).toBe(UD);
  });

  test('VMXOFF leaves VMX operation: CR4.VMXE can be cleared, then VMREAD is #UD', () => {
    const env = vmxMachine('long64');
    const prog = host(env.m, 64, (h) => {
      const a = h.a;
      a.vmxon(h.p('on'));
      h.flags(0);
      a.vmclear(h.p('vmcs'));
      a.vmptrld(h.p('vmcs'));
      a.vmxoff();
      h.flags(1);
      a.mov(rax, cr4);
      a.and(rax, ~Cr4.VMXE);
      a.mov(cr4, rax);
      a.mov(rax, cr4);
      h.store(2, rax);
      a.label('read');
      a.vmread(rax, rbx);
    });
    const f = stepToFault(env.p, prog);
    expect(f).toMatchObject({ vector: UD, rip: prog.address('read') });
    expect(outcome(env.m, 0)).toBe('succeed');
    expect(outcome(env.m, 1)).toBe('succeed');
    expect(Number(res(env.m, 2)) & Cr4.VMXE).toBe(0);
    expect(env.u.inVmx).toBe(false);
    expect(env.u.current).toBe(null);
  });

  test('in VMX operation, MOV CR4 clearing VMXE → #GP(0)', () => {
    const env = vmxMachine('long64');
    const prog = host(env.m, 64, (h) => {
      const a = h.a;
      a.vmxon(h.p('on'));
      a.mov(rax, cr4);
      a.and(rax, ~Cr4.VMXE);
      a.label('bad');
      a.mov(cr4, rax);
    });
    expect(stepToFault(env.p, prog)).toMatchObject({ vector: GP, errorCode: 0, rip: prog.address('bad') });
    expect(env.p.state.cr4 & Cr4.VMXE).toBe(Cr4.VMXE);
  });

  test('in VMX operation, MOV CR0 clearing NE → #GP(0)', () => {
    const env = vmxMachine('long64');
    const prog = host(env.m, 64, (h) => {
      const a = h.a;
      a.vmxon(h.p('on'));
      a.mov(rax, cr0);
      a.and(rax, ~Cr0.NE);
      a.label('bad');
      a.mov(cr0, rax);
    });
    expect(stepToFault(env.p, prog)).toMatchObject({ vector: GP, errorCode: 0, rip: prog.address('bad') });
    expect(env.p.state.cr0 & Cr0.NE).toBe(Cr0.NE);
  });
});

describe('VMREAD / VMWRITE / VMPTRST', () => {
  test('64-bit mode: field widths, HIGH access, natural width, register and memory operands, VMPTRST', () => {
    const env = vmxMachine('long64');
    host(env.m, 64, (h) => {
      const a = h.a;
      a.vmxon(h.p('on'));
      a.vmptrst(qword(RESULTS + 16 * 20)); // no current VMCS: all ones
      h.flags(21);
      a.vmclear(h.p('vmcs'));
      a.vmptrld(h.p('vmcs'));
      a.vmptrst(qword(RESULTS + 16 * 22));
      h.flags(23);
      // 16-bit: truncated
      a.mov(rbx, E.GUEST_ES_SELECTOR);
      a.mov(rax, qword('v64'));
      a.vmwrite(rbx, rax);
      h.flags(0);
      a.mov(rcx, -1);
      a.vmread(rcx, rbx);
      h.store(1, rcx);
      // 32-bit: upper half ignored, read zero-extended
      a.mov(rbx, E.EXCEPTION_BITMAP);
      a.vmwrite(rbx, rax);
      a.mov(rcx, -1);
      a.vmread(rcx, rbx);
      h.store(2, rcx);
      // 64-bit: full, HIGH read, HIGH write
      a.mov(rbx, E.TSC_OFFSET);
      a.vmwrite(rbx, rax);
      a.vmread(rcx, rbx);
      h.store(3, rcx);
      a.mov(rbx, E.TSC_OFFSET | 1);
      a.mov(rcx, -1);
      a.vmread(rcx, rbx);
      h.store(4, rcx);
      a.mov(rdx, 0xaabbccdd);
      a.vmwrite(rbx, rdx);
      h.flags(5);
      a.mov(rbx, E.TSC_OFFSET);
      a.vmread(rcx, rbx);
      h.store(6, rcx);
      // natural width: 64 bits in 64-bit mode
      a.mov(rbx, E.GUEST_RIP);
      a.vmwrite(rbx, rax);
      a.vmread(rcx, rbx);
      h.store(7, rcx);
      // memory operands
      a.mov(rbx, E.GUEST_CR3);
      a.vmwrite(rbx, qword('v64b'));
      h.flags(8);
      a.vmread(qword(RESULTS + 16 * 9), rbx);
      h.flags(10);
      a.mov(rbx, E.GUEST_CS_LIMIT);
      a.vmwrite(rbx, qword('v64b'));
      a.vmread(qword(RESULTS + 16 * 11), rbx);
    }, (a) => {
      a.label('v64');
      a.dq(0x1122334455667788n);
      a.label('v64b');
      a.dq(0xfedcba9876543210n);
    });
    env.m.memory.write64(RESULTS + 16 * 11, 0xffffffffffffffffn);
    runToEnd(env.m);
    const m = env.m;
    expect(res(m, 20)).toBe(0xffffffffffffffffn);
    expect(outcome(m, 21)).toBe('succeed');
    expect(res(m, 22)).toBe(BigInt(VMCS_REGION));
    expect(outcome(m, 23)).toBe('succeed');
    expect(outcome(m, 0)).toBe('succeed');
    expect(res(m, 1)).toBe(0x7788n);
    expect(res(m, 2)).toBe(0x55667788n);
    expect(res(m, 3)).toBe(0x1122334455667788n);
    expect(res(m, 4)).toBe(0x11223344n);
    expect(outcome(m, 5)).toBe('succeed');
    expect(res(m, 6)).toBe(0xaabbccdd55667788n);
    expect(res(m, 7)).toBe(0x1122334455667788n);
    expect(outcome(m, 8)).toBe('succeed');
    expect(res(m, 9)).toBe(0xfedcba9876543210n);
    expect(outcome(m, 10)).toBe('succeed');
    expect(res(m, 11)).toBe(0x76543210n); // 64-bit memory destination, zero-extended 32-bit field
    expect(env.vmx.vmread(E.GUEST_ES_SELECTOR)).toBe(0x7788n);
  });

  test('32-bit PAE mode: natural width is 32 bits, 64-bit fields split into full/HIGH', () => {
    const env = vmxMachine('pae');
    const prog = host(env.m, 32, (h) => {
      const a = h.a;
      a.vmxon(h.p('on'));
      a.vmclear(h.p('vmcs'));
      a.vmptrld(h.p('vmcs'));
      h.flags(0);
      a.mov(ebx, E.GUEST_RIP);
      a.mov(ecx, -1);
      a.vmread(ecx, ebx); // the field holds 0x1_2345_6789 (written below by the test)
      h.store(1, ecx);
      h.a.mov(dword(RESULTS + 16 * 1 + 4), 0x5a5a5a5a);
      a.mov(eax, 0x87654321);
      a.vmwrite(ebx, eax); // bits 63:32 cleared
      a.mov(ebx, E.TSC_OFFSET);
      a.mov(eax, 0x11111111);
      a.vmwrite(ebx, eax); // bits 63:32 cleared
      a.mov(ebx, E.TSC_OFFSET | 1);
      a.mov(eax, 0x22222222);
      a.vmwrite(ebx, eax);
      a.mov(ebx, E.TSC_OFFSET);
      a.vmread(dword(RESULTS + 16 * 2), ebx);
      a.mov(ebx, E.TSC_OFFSET | 1);
      a.vmread(dword(RESULTS + 16 * 3), ebx);
      a.mov(ebx, E.GUEST_ES_SELECTOR);
      a.mov(eax, 0xabcd1234);
      a.vmwrite(ebx, eax);
      a.vmread(ecx, ebx);
      h.store(4, ecx);
      a.vmptrst(qword(RESULTS + 16 * 5));
    });
    // Run to the first VMREAD, then put a 64-bit value into GUEST_RIP directly.
    env.m.memory.write64(RESULTS + 16 * 1, 0n);
    env.m.memory.write64(RESULTS + 16 * 5, 0xffffffffffffffffn);
    for (let n = 0; n < 50 && env.u.current === null; n++) expect(env.p.tryStep()).toBe(-1);
    env.u.current!.set(F.GUEST_RIP, 0x23456789, 1);
    runToEnd(env.m);
    void prog;
    const m = env.m;
    expect(outcome(m, 0)).toBe('succeed');
    expect(res(m, 1)).toBe(0x5a5a5a5a_23456789n); // only 32 bits written by VMREAD
    expect(env.vmx.vmread(E.GUEST_RIP)).toBe(0x87654321n);
    expect(env.u.current!.hi[F.GUEST_RIP]).toBe(0);
    expect(Number(res(m, 2) & 0xffffffffn)).toBe(0x11111111);
    expect(Number(res(m, 3) & 0xffffffffn)).toBe(0x22222222);
    expect(env.vmx.vmread(E.TSC_OFFSET)).toBe(0x2222222211111111n);
    expect(Number(res(m, 4) & 0xffffffffn)).toBe(0x1234);
    expect(res(m, 5)).toBe(BigInt(VMCS_REGION)); // VMPTRST stores 64 bits even in 32-bit mode
  });
});

describe('VMCS in memory', () => {
  test('VMCLEAR writes the data back; a copy of the region at another address reads back the same values', () => {
    const env = vmxMachine('long64');
    const fields: [string, bigint][] = [
      ['GUEST_ES_SELECTOR', 0x1234n],
      ['EXCEPTION_BITMAP', 0x89abcdefn],
      ['TSC_OFFSET', 0x0123456789abcdefn],
      ['GUEST_RIP', 0xffff800000401000n],
      ['HOST_RSP', 0x1f0000n],
      ['VMCS_LINK_POINTER', 0xffffffffffffffffn],
    ];
    host(env.m, 64, (h) => {
      const a = h.a;
      a.vmxon(h.p('on'));
      a.vmclear(h.p('vmcs'));
      a.vmptrld(h.p('vmcs'));
      fields.forEach(([n], k) => {
        a.mov(rbx, E[n]);
        a.vmwrite(rbx, qword(`val${k}`));
      });
      a.vmclear(h.p('vmcs'));
      h.check(0);
      // copy the 4-KiB region to VMCS2_REGION (as another processor / a migration would)
      a.mov(rsi, VMCS_REGION);
      a.mov(rdi, VMCS2_REGION);
      a.mov(ecx, 512);
      a.label('copy');
      a.mov(rax, qword(rsi));
      a.mov(qword(rdi), rax);
      a.add(rsi, 8);
      a.add(rdi, 8);
      a.dec(ecx);
      a.jnz('copy');
      a.vmptrld(h.p('vmcs2'));
      h.check(1);
      fields.forEach(([n], k) => {
        a.mov(rbx, E[n]);
        a.vmread(qword(RESULTS + 16 * (4 + k)), rbx);
      });
      a.vmptrst(qword(RESULTS + 16 * 2));
    }, (a) => {
      fields.forEach(([, v], k) => {
        a.label(`val${k}`);
        a.dq(v);
      });
    });
    runToEnd(env.m);
    const m = env.m;
    expect(outcome(m, 0)).toBe('succeed');
    expect(outcome(m, 1)).toBe('succeed');
    expect(res(m, 2)).toBe(BigInt(VMCS2_REGION));
    expect(m.memory.read32(VMCS_REGION)).toBe(VMCS_REVISION_ID);
    expect(m.memory.read32(VMCS_REGION + 4)).toBe(0); // VMX-abort indicator
    expect(m.memory.read32(VMCS_REGION + 8)).toBe(0); // launch state: clear
    const names = SUPPORTED_FIELDS as readonly string[];
    fields.forEach(([n, v], k) => {
      const slot = names.indexOf(n);
      expect(slot).toBeGreaterThanOrEqual(0);
      const width = (E[n] >>> 13) & 3; // 0 = 16, 1 = 64, 2 = 32, 3 = natural
      const stored = m.memory.read64(VMCS_REGION + 16 + 8 * slot);
      const expected = width === 0 ? v & 0xffffn : width === 2 ? v & 0xffffffffn : v;
      expect(stored, n).toBe(expected);
      expect(res(m, 4 + k), n).toBe(expected);
    });
  });
});

describe('capability MSRs', () => {
  const MSRS = Array.from({ length: 17 }, (_, k) => 0x480 + k);

  function readMsrs(env: VmxEnv): Map<number, bigint> {
    host(env.m, 64, (h) => {
      const a = h.a;
      MSRS.forEach((msr, k) => {
        a.mov(ecx, msr);
        a.rdmsr();
        a.mov(dword(RESULTS + 16 * k), eax);
        a.mov(dword(RESULTS + 16 * k + 4), edx);
      });
      a.mov(eax, 1);
      a.cpuid();
      a.mov(dword(RESULTS + 16 * 20), ecx);
    });
    runToEnd(env.m);
    return new Map(MSRS.map((msr, k) => [msr, res(env.m, k)]));
  }

  test('values read by RDMSR', () => {
    const env = vmxMachine('long64');
    const v = readMsrs(env);
    const basic = v.get(0x480)!;
    expect(Number(basic & 0x7fffffffn)).toBe(VMCS_REVISION_ID);
    expect(basic & (1n << 31n)).toBe(0n);
    expect(Number((basic >> 32n) & 0x1fffn)).toBe(4096);
    expect((basic >> 55n) & 1n).toBe(1n);
    expect((basic >> 48n) & 1n).toBe(0n); // 64-bit physical addresses allowed (not limited to 32 bits)
    const lo = (x: bigint) => Number(x & 0xffffffffn) >>> 0;
    const hi = (x: bigint) => Number(x >> 32n) >>> 0;
    const pairs: [number, number, keyof typeof DEFAULT1][] = [[0x48d, 0x481, 'pin'], [0x48e, 0x482, 'proc'], [0x48f, 0x483, 'exit'], [0x490, 0x484, 'entry']];
    for (const [t, n, kind] of pairs) {
      const tv = v.get(t)!;
      const nv = v.get(n)!;
      expect((lo(tv) & ~lo(nv)) >>> 0, `TRUE allowed-0 ⊆ allowed-0 (${kind})`).toBe(0);
      expect(hi(tv), `allowed-1 equal (${kind})`).toBe(hi(nv));
      expect(lo(nv), `default-1 (${kind})`).toBe(DEFAULT1[kind] >>> 0);
      expect(hi(nv), `allowed-1 (${kind})`).toBe((DEFAULT1[kind] | SUPPORTED[kind]) >>> 0);
      expect((lo(nv) & ~hi(nv)) >>> 0, `allowed-0 ⊆ allowed-1 (${kind})`).toBe(0);
    }
    const p2 = v.get(0x48b)!;
    expect(lo(p2)).toBe(0);
    expect(hi(p2)).toBe(SUPPORTED.proc2 >>> 0);
    expect(Number(v.get(0x486)!)).toBe(0x80000021);
    expect((lo(v.get(0x487)!) & 0x80000021) >>> 0).toBe(0x80000021);
    expect(Number(v.get(0x488)!) & Cr4.VMXE).toBe(Cr4.VMXE);
    expect(Number(v.get(0x489)!) & Number(v.get(0x488)!)).toBe(Number(v.get(0x488)!));
    expect(Number(v.get(0x48a)!)).toBe(HIGHEST_FIELD_INDEX << 1);
    // EPT/VPID capabilities: INVEPT single/all and INVVPID types reported (the model supports them)
    const ept = v.get(0x48c)!;
    expect((ept >> 20n) & 1n).toBe(1n);
    expect((ept >> 32n) & 1n).toBe(1n);
    // same as the unit's own description
    for (const [msr, value] of env.u.caps.msrs) expect(v.get(msr), msr.toString(16)).toBe(value);
    expect(Number(res(env.m, 20)) & (1 << 5)).toBe(1 << 5); // CPUID.1:ECX.VMX
  });

  for (const msr of MSRS) {
    test(`WRMSR 0x${msr.toString(16)} → #GP(0)`, () => {
      const env = vmxMachine('long64');
      const prog = host(env.m, 64, (h) => {
        const a = h.a;
        a.mov(ecx, msr);
        a.rdmsr();
        a.label('w');
        a.wrmsr(); // writing back the same value is still #GP
      });
      expect(stepToFault(env.p, prog)).toMatchObject({ vector: GP, errorCode: 0, rip: prog.address('w') });
    });
  }

  test('without virtualization: CPUID.1:ECX.VMX = 0, RDMSR 0x480 #GP, VMXON #UD', () => {
    const m = createMachine({ virtualization: null, translatorFactory: pagingFactory, memoryMiB: 64 });
    const p = m.processor(0);
    m.startProcessor(0, { mode: 'long64', entry: HOST_CODE, stack: HOST_STACK });
    p.state.msr.set(0x3a, 5n);
    const prog = host(m, 64, (h) => {
      const a = h.a;
      a.mov(eax, 1);
      a.cpuid();
      a.mov(dword(RESULTS), ecx);
      a.mov(ecx, 0x480);
      a.label('rdmsr');
      a.rdmsr();
      a.label('vmxon');
      a.vmxon(h.p('on'));
    });
    expect(stepToFault(p, prog)).toMatchObject({ vector: GP, errorCode: 0, rip: prog.address('rdmsr') });
    expect(m.memory.read32(RESULTS) & (1 << 5)).toBe(0);
    p.state.rip = prog.address('vmxon');
    expect(p.tryStep()).toBe(UD);
    // CR4.VMXE is reserved without VMX: MOV to CR4 setting it is #GP(0)
    const prog2 = host(m, 64, (h) => {
      const a = h.a;
      a.mov(rax, cr4);
      a.or(rax, Cr4.VMXE);
      a.label('bad');
      a.mov(cr4, rax);
    }, undefined, HOST_CODE + 0x1000);
    p.state.rip = HOST_CODE + 0x1000;
    expect(stepToFault(p, prog2)).toMatchObject({ vector: GP, errorCode: 0, rip: prog2.address('bad') });
  });
});
