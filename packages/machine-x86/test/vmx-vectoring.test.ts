// IDT-vectoring information (SDM 28.2.4): a VM exit that interrupts the delivery of an event
// records that event; and VMREAD/VMWRITE against a reference model of field widths (fast-check).
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { eax } from '@latelaunch/x86-isa';
import { SUPPORTED_FIELDS, VMCS_ENCODING } from '../src/index.js';
import { fieldWidth } from '../src/vmx/vmcs-fields.js';
import { assemble, exits, GUEST_CODE, HOST_CODE, load, prepareVmcs, r, vmxMachine, w } from './helpers/vmx.js';

describe('IDT-vectoring information', () => {
  test('an injected external interrupt whose IDT gate is beyond the IDT limit: #GP in the exception bitmap exits with the interrupt as IDT-vectoring information', () => {
    const env = vmxMachine('long64');
    load(env, assemble(64, HOST_CODE, (a) => a.hlt()), assemble(64, GUEST_CODE, (a) => { a.mov(eax, 1); a.hlt(); }));
    prepareVmcs(env, GUEST_CODE);
    w(env, 'EXCEPTION_BITMAP', 1 << 13);
    w(env, 'GUEST_IDTR_LIMIT', 0xff); // 16 gates: vector 0x30 is outside
    w(env, 'GUEST_RFLAGS', 0x202);
    w(env, 'VM_ENTRY_INTR_INFO', 0x80000030); // external interrupt 0x30
    expect(env.vmx.vmlaunch().status).toBe('succeed');
    env.m.run({ maxInstructions: 100 });
    expect(exits(env)).toEqual([0]);
    expect(r(env, 'VM_EXIT_INTR_INFO')).toBe(0x80000b0d); // #GP, hardware exception, error code valid
    expect(r(env, 'VM_EXIT_INTR_ERROR_CODE')).toBe(0x30 * 8 + 2 + 1); // IDT entry, EXT
    expect(r(env, 'IDT_VECTORING_INFO')).toBe(0x80000030);
    expect(r(env, 'GUEST_RIP')).toBe(GUEST_CODE); // where the interrupt was being delivered
    expect(r(env, 'VM_ENTRY_INTR_INFO') >>> 31).toBe(0); // the exit cleared the valid bit
  });

  test('an exit caused directly by an event (no delivery in progress) has no IDT-vectoring information', () => {
    const env = vmxMachine('long64');
    load(env, assemble(64, HOST_CODE, (a) => a.hlt()), assemble(64, GUEST_CODE, (a) => a.ud2()));
    prepareVmcs(env, GUEST_CODE);
    w(env, 'EXCEPTION_BITMAP', 1 << 6);
    expect(env.vmx.vmlaunch().status).toBe('succeed');
    env.m.run({ maxInstructions: 100 });
    expect(exits(env)).toEqual([0]);
    expect(r(env, 'VM_EXIT_INTR_INFO')).toBe(0x80000306);
    expect(r(env, 'IDT_VECTORING_INFO')).toBe(0);
  });
});

describe('VMREAD/VMWRITE against a width model', () => {
  test('every supported field keeps exactly its width; HIGH accesses address bits 63:32 of 64-bit fields (64-bit mode)', () => {
    const env = vmxMachine('long64');
    env.vmx.vmxon(0x10000);
    env.vmx.vmclear(0x11000);
    env.vmx.vmptrld(0x11000);
    const writable = SUPPORTED_FIELDS.filter((n) => ((VMCS_ENCODING[n] >>> 10) & 3) !== 1);
    fc.assert(
      fc.property(fc.constantFrom(...writable), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (name, value) => {
        const enc = VMCS_ENCODING[name];
        const width = fieldWidth(enc);
        expect(env.vmx.vmwrite(enc, value).status).toBe('succeed');
        const bits = width === 'natural' ? 64 : width;
        expect(env.vmx.vmread(enc)).toBe(BigInt.asUintN(bits, value));
        if (width === 64) {
          expect(env.vmx.vmread(enc | 1)).toBe(value >> 32n);
          expect(env.vmx.vmwrite(enc | 1, 0x1234n).status).toBe('succeed');
          expect(env.vmx.vmread(enc)).toBe((0x1234n << 32n) | (value & 0xffffffffn));
        } else {
          expect(env.vmx.vmread(enc | 1)).toBeNull(); // HIGH access of a non-64-bit field: error 12
          expect(r(env, 'VM_INSTRUCTION_ERROR')).toBe(12);
        }
      }),
      { numRuns: 400, seed: 8 },
    );
  });

  test('encodings outside the supported set fail with error 12 and change nothing', () => {
    const env = vmxMachine('long64');
    env.vmx.vmxon(0x10000);
    env.vmx.vmclear(0x11000);
    env.vmx.vmptrld(0x11000);
    const supported = new Set<number>(SUPPORTED_FIELDS.map((n) => VMCS_ENCODING[n]));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (enc) => {
        if (supported.has(enc & ~1)) return;
        expect(env.vmx.vmwrite(enc, 1n)).toEqual({ status: 'fail-valid', error: 12 });
        expect(env.vmx.vmread(enc)).toBeNull();
      }),
      { numRuns: 2000, seed: 8 },
    );
  });
});

describe('NMI unblocking due to IRET (interruption-information bit 12)', () => {
  test('a guest IRET that unblocks NMIs and then faults (#GP on a null CS) exits with bit 12 set and NMIs unblocked in the saved interruptibility', () => {
    const env = vmxMachine('long64');
    const guest = assemble(64, GUEST_CODE, (a) => {
      a.push(0); // SS
      a.push(0x1000); // RSP
      a.push(2); // RFLAGS
      a.push(0); // CS: null → #GP(0)
      a.push(0x1234); // RIP
      a.iretq();
    });
    load(env, assemble(64, HOST_CODE, (a) => a.hlt()), guest);
    prepareVmcs(env, GUEST_CODE);
    w(env, 'EXCEPTION_BITMAP', 1 << 13);
    w(env, 'GUEST_INTERRUPTIBILITY_INFO', 8); // blocking by NMI
    expect(env.vmx.vmlaunch().status).toBe('succeed');
    env.m.run({ maxInstructions: 100 });
    expect(exits(env)).toEqual([0]);
    expect(r(env, 'VM_EXIT_INTR_INFO')).toBe(0x80001b0d);
    expect(r(env, 'VM_EXIT_INTR_ERROR_CODE')).toBe(0);
    expect(r(env, 'GUEST_INTERRUPTIBILITY_INFO') & 8).toBe(0);
  });

  test('the same fault without NMI blocking has bit 12 clear', () => {
    const env = vmxMachine('long64');
    const guest = assemble(64, GUEST_CODE, (a) => {
      a.push(0);
      a.push(0x1000);
      a.push(2);
      a.push(0);
      a.push(0x1234);
      a.iretq();
    });
    load(env, assemble(64, HOST_CODE, (a) => a.hlt()), guest);
    prepareVmcs(env, GUEST_CODE);
    w(env, 'EXCEPTION_BITMAP', 1 << 13);
    expect(env.vmx.vmlaunch().status).toBe('succeed');
    env.m.run({ maxInstructions: 100 });
    expect(r(env, 'VM_EXIT_INTR_INFO')).toBe(0x80000b0d);
  });
});
