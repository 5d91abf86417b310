// Task switches in VMX non-root operation are VM exits (SDM 26.1.2, exit reason 9, qualification
// Table 28-2: TSS selector in 15:0, source in 31:30), taken before the switch; and VMRESUME after
// VMXOFF/VMXON (VM-instruction error 6).
import { describe, expect, test } from 'vitest';
import { eax } from '@latelaunch/x86-isa';
import { assemble, exits, GUEST_CODE, HOST_CODE, load, MSR_AREA, prepareVmcs, r, VMCS_REGION, VMXON_REGION, vmxMachine, w } from './helpers/vmx.js';

const GDT = 0x50000;
const TSS = 0x60000;

/** A guest GDT: the boot GDT's flat 32-bit code (0x08) and data (0x10), a 32-bit TSS at 0x20 and a task gate at 0x28. */
function writeGuestGdt(env: ReturnType<typeof vmxMachine>): void {
  const mem = env.m.memory;
  mem.fill(GDT, 0x30, 0);
  mem.write32(GDT + 8, 0x0000ffff);
  mem.write32(GDT + 12, 0x00cf9b00);
  mem.write32(GDT + 16, 0x0000ffff);
  mem.write32(GDT + 20, 0x00cf9300);
  // 0x20: available 32-bit TSS, base TSS, limit 0x67.
  mem.write32(GDT + 0x20, ((TSS & 0xffff) << 16) | 0x67);
  mem.write32(GDT + 0x24, (TSS & 0xff000000) | 0x8900 | ((TSS >>> 16) & 0xff));
  // 0x28: task gate for TSS selector 0x20.
  mem.write32(GDT + 0x28, 0x20 << 16);
  mem.write32(GDT + 0x2c, 0x8500);
}

describe('task switch in VMX non-root operation', () => {
  for (const [how, target, source] of [
    ['JMP FAR to a TSS descriptor', 0x20, 2],
    ['CALL FAR through a task gate', 0x28, 0],
  ] as const) {
    test(`${how} exits with reason 9 before switching (qualification: TSS selector, source ${source})`, () => {
      const env = vmxMachine('protected32');
      writeGuestGdt(env);
      const guest = assemble(32, GUEST_CODE, (a) => {
        a.mov(eax, 1);
        if (source === 2) a.jmpFar(target, 0);
        else a.callFar(target, 0);
        a.hlt();
      });
      load(env, assemble(32, HOST_CODE, (a) => a.hlt()), guest);
      prepareVmcs(env, GUEST_CODE);
      w(env, 'GUEST_GDTR_BASE', GDT);
      w(env, 'GUEST_GDTR_LIMIT', 0x2f);
      expect(env.vmx.vmlaunch().status).toBe('succeed');
      env.m.run({ maxInstructions: 100 });
      expect(exits(env)).toEqual([9]);
      expect(r(env, 'EXIT_QUALIFICATION')).toBe((0x20 | (source << 30)) >>> 0);
      expect(r(env, 'GUEST_RIP')).toBe(GUEST_CODE + 5);
      expect(r(env, 'VM_EXIT_INSTRUCTION_LEN')).toBe(7);
      expect(r(env, 'GUEST_TR_SELECTOR')).toBe(0x20); // the harness's TR: unchanged, no switch happened
      expect(r(env, 'IDT_VECTORING_INFO')).toBe(0);
    });
  }
});

describe('VMRESUME after VMXOFF', () => {
  test('a VMCS launched before VMXOFF/VMXON cannot be resumed (error 6) until VMCLEAR + VMLAUNCH', () => {
    const env = vmxMachine('long64');
    load(env, assemble(64, HOST_CODE, (a) => a.hlt()), assemble(64, GUEST_CODE, (a) => a.cpuid()));
    prepareVmcs(env, GUEST_CODE);
    expect(env.vmx.vmlaunch().status).toBe('succeed');
    env.m.run({ maxInstructions: 10 });
    expect(exits(env)).toEqual([10]);
    expect(env.vmx.vmxoff().status).toBe('succeed');
    expect(env.vmx.vmxon(VMXON_REGION).status).toBe('succeed');
    expect(env.vmx.vmptrld(VMCS_REGION).status).toBe('succeed');
    expect(env.vmx.vmresume()).toEqual({ status: 'fail-valid', error: 6 });
    expect(r(env, 'VM_INSTRUCTION_ERROR')).toBe(6);
    expect(env.vmx.vmclear(VMCS_REGION).status).toBe('succeed');
    expect(env.vmx.vmptrld(VMCS_REGION).status).toBe('succeed');
    w(env, 'GUEST_RIP', GUEST_CODE);
    expect(env.vmx.vmlaunch().status).toBe('succeed');
  });
});

describe('INIT in VMX root operation', () => {
  test('INIT is blocked after VMXON (the processor keeps running its 64-bit code) and is taken after VMXOFF', () => {
    const env = vmxMachine('long64');
    load(env, assemble(64, HOST_CODE, (a) => { a.label('l'); a.inc(eax); a.jmp('l'); }), assemble(64, GUEST_CODE, (a) => a.hlt()));
    expect(env.vmx.vmxon(VMXON_REGION).status).toBe('succeed');
    env.m.scheduleEvent({ cpu: 0, kind: 'init', atInstruction: 10 });
    env.m.run({ maxInstructions: 1000 });
    expect(env.p.state.initPending).toBe(true);
    expect(env.p.is64).toBe(true);
    expect(env.p.state.lo[0]).toBeGreaterThan(400);
    expect(env.vmx.vmxoff().status).toBe('succeed');
    env.m.run({ maxInstructions: 1 });
    expect(env.p.state.initPending).toBe(false);
    // The BSP took the INIT reset (real mode, paging off) and restarted at the reset vector.
    expect(env.p.is64).toBe(false);
    expect(env.p.state.cr0 & 0x80000001).toBe(0);
  });
});

describe('VMX abort', () => {
  test('a VM exit whose MSR-load list cannot be loaded aborts: indicator 4 in the VMCS region, the processor shuts down, trace vmx.abort', () => {
    const env = vmxMachine('long64');
    load(env, assemble(64, HOST_CODE, (a) => a.hlt()), assemble(64, GUEST_CODE, (a) => a.cpuid()));
    prepareVmcs(env, GUEST_CODE);
    env.m.memory.write32(MSR_AREA, 0xdeadbeef); // no such MSR: WRMSR would #GP
    env.m.memory.write32(MSR_AREA + 4, 0);
    w(env, 'VM_EXIT_MSR_LOAD_ADDR', MSR_AREA);
    w(env, 'VM_EXIT_MSR_LOAD_COUNT', 1);
    expect(env.vmx.vmlaunch().status).toBe('succeed');
    env.m.run({ maxInstructions: 100 });
    expect(env.m.memory.read32(VMCS_REGION + 4)).toBe(4);
    expect(env.p.state.activity).toBe(2); // shutdown
    expect(env.records.some((x) => x.kind === 'vmx.abort' && (x.data as { indicator: number }).indicator === 4)).toBe(true);
  });
});
