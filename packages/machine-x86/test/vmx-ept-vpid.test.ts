// EPT and VPID TLB semantics (SDM Vol. 3C 28.3: INVEPT, INVVPID, cached combined mappings) and
// unrestricted guests (real mode under EPT, and a real → protected mode switch inside the guest).
// The host is driven from TypeScript: run the guest until its CPUID exit, inspect the guest
// registers (the GPRs other than RSP are not switched by VM exits), change paging structures in
// memory, then VMRESUME through the intrinsics.
import { describe, expect, test } from 'vitest';
import { Assembler } from '@latelaunch/x86-isa';
import { ax, cr0, eax, mem, rbx } from '@latelaunch/x86-isa';
import { assemble, ctl, EPT_PML4, exits, GUEST_CODE, HOST_CODE, load, prepareVmcs, r, RESULTS, vmxMachine, w, type VmxEnv } from './helpers/vmx.js';

const ENABLE_EPT = 1 << 1;
const ENABLE_VPID = 1 << 5;
const UNRESTRICTED_GUEST = 1 << 7;
const EPTP = EPT_PML4 | 6 | (3 << 3);
const EPT_RWX = 7;
const EPT_WB = 6 << 3;

/** The guest's EAX (the GPRs stay the guest's after a VM exit). */
const guestEax = (env: VmxEnv): number => env.p.lo[0] >>> 0;

/** Runs until the guest exits (the host then HLTs). */
function runToExit(env: VmxEnv, max = 200): void {
  env.m.run({ maxInstructions: max });
  expect(env.u.nonRoot).toBe(false);
}

/** Skips the exiting CPUID, VMRESUMEs and runs to the next exit. */
function resume(env: VmxEnv): void {
  w(env, 'GUEST_RIP', r(env, 'GUEST_RIP') + r(env, 'VM_EXIT_INSTRUCTION_LEN'));
  const res = env.vmx.vmresume();
  expect(env.u.lastFailedCheck).toBe('');
  expect(res.status).toBe('succeed');
  runToExit(env);
}

function launch(env: VmxEnv): void {
  const res = env.vmx.vmlaunch();
  expect(env.u.lastFailedCheck).toBe('');
  expect(res.status).toBe('succeed');
  runToExit(env);
}

/** A guest that reads the dword at `addr` into EAX (and RESULTS), exits with CPUID, and loops. */
const readLoop = (addr: number) => assemble(64, GUEST_CODE, (a) => {
  a.mov(rbx, addr);
  a.label('loop');
  a.mov(eax, mem(rbx));
  a.mov(mem(RESULTS), eax);
  a.cpuid();
  a.jmp('loop');
});

describe('INVEPT and cached combined mappings', () => {
  // EPT identity map of 0–64 MiB with 2-MiB pages, except REGION, mapped by 4-KiB pages.
  const REGION = 0x2000000;
  const EPT_PT = EPT_PML4 + 0x3000;
  const X = REGION + 0x5000;
  const Y = REGION + 0x9000;
  const OLD = 0x11111111;
  const NEW = 0x22222222;

  function buildEpt(env: VmxEnv): void {
    const m = env.m.memory;
    m.fill(EPT_PML4, 0x4000, 0);
    m.write32(EPT_PML4, (EPT_PML4 + 0x1000) | EPT_RWX);
    m.write32(EPT_PML4 + 0x1000, (EPT_PML4 + 0x2000) | EPT_RWX);
    for (let j = 0; j < 32; j++) m.write32(EPT_PML4 + 0x2000 + j * 8, j * 0x200000 + (EPT_RWX | EPT_WB | 0x80));
    m.write32(EPT_PML4 + 0x2000 + (REGION >>> 21) * 8, EPT_PT | EPT_RWX);
    for (let k = 0; k < 512; k++) m.write32(EPT_PT + k * 8, REGION + k * 0x1000 + (EPT_RWX | EPT_WB));
    m.write32(X, OLD);
    m.write32(Y, NEW);
    w(env, 'EPT_POINTER', EPTP);
  }

  /** Remaps guest-physical X to host-physical Y in the EPT leaf (host software, in root operation). */
  const remap = (env: VmxEnv): void => env.m.memory.write32(EPT_PT + ((X - REGION) >>> 12) * 8, Y | EPT_RWX | EPT_WB);

  function setup(vpid: boolean): VmxEnv {
    const env = vmxMachine('long64');
    load(env, assemble(64, HOST_CODE, (a) => a.hlt()), readLoop(X));
    prepareVmcs(env, GUEST_CODE, { proc2: ENABLE_EPT | (vpid ? ENABLE_VPID : 0) });
    if (vpid) w(env, 'VIRTUAL_PROCESSOR_ID', 1);
    buildEpt(env);
    launch(env);
    expect(exits(env)).toEqual([10]);
    expect(guestEax(env)).toBe(OLD);
    expect(env.m.memory.read32(RESULTS) >>> 0).toBe(OLD);
    remap(env);
    return env;
  }

  test('with VPIDs: the combined mapping survives VM exit/entry until INVEPT single-context', () => {
    const env = setup(true);
    resume(env);
    expect(guestEax(env)).toBe(OLD); // stale: no INVEPT yet
    resume(env);
    expect(guestEax(env)).toBe(OLD);
    // Single-context INVEPT for another EP4TA leaves this context alone.
    expect(env.vmx.invept(1, 0x30000 | 6 | (3 << 3)).status).toBe('succeed');
    resume(env);
    expect(guestEax(env)).toBe(OLD);
    expect(env.vmx.invept(1, EPTP).status).toBe('succeed');
    resume(env);
    expect(guestEax(env)).toBe(NEW);
    expect(env.m.memory.read32(RESULTS) >>> 0).toBe(NEW);
    expect(exits(env)).toEqual([10, 10, 10, 10, 10]);
  });

  test('with VPIDs: INVEPT all-context', () => {
    const env = setup(true);
    resume(env);
    expect(guestEax(env)).toBe(OLD);
    expect(env.vmx.invept(2, 0).status).toBe('succeed');
    resume(env);
    expect(guestEax(env)).toBe(NEW);
  });

  test('with VPIDs: INVVPID of the guest VPID also drops the combined mapping', () => {
    const env = setup(true);
    expect(env.vmx.invvpid(1, 1).status).toBe('succeed');
    resume(env);
    expect(guestEax(env)).toBe(NEW);
  });

  // Without VPIDs every VM entry/exit invalidates VPID 0's linear and combined mappings
  // (SDM 28.3.3.3). Guest-physical mappings may survive on hardware (so the old value would also be
  // permitted), but the model caches no guest-physical mappings (paging README, "Simplifications"):
  // the remap is seen at once.
  test('without VPIDs: VM entry flushes combined mappings; the model shows the new page at once', () => {
    const env = setup(false);
    resume(env);
    expect(guestEax(env)).toBe(NEW);
  });
});

describe('INVVPID and guest paging', () => {
  // The guest's own 4-level tables: identity 0–64 MiB with 2-MiB pages, and L → A through a PT.
  const GPT = 0x2800000;
  const L = 0x10000000;
  const A = 0x2900000;
  const B = 0x2901000;
  const OLD = 0xaaaa5555;
  const NEW = 0xbbbb6666;
  const pte = GPT + 0x3000;

  function buildGuestTables(env: VmxEnv): void {
    const m = env.m.memory;
    m.fill(GPT, 0x4000, 0);
    m.write32(GPT, (GPT + 0x1000) | 3);
    m.write32(GPT + 0x1000, (GPT + 0x2000) | 3);
    for (let j = 0; j < 32; j++) m.write32(GPT + 0x2000 + j * 8, j * 0x200000 + 0x83);
    m.write32(GPT + 0x2000 + (L >>> 21) * 8, pte | 3);
    m.write32(pte, A | 3);
    m.write32(A, OLD);
    m.write32(B, NEW);
  }

  function setup(vpid: boolean): VmxEnv {
    const env = vmxMachine('long64');
    load(env, assemble(64, HOST_CODE, (a) => a.hlt()), readLoop(L));
    prepareVmcs(env, GUEST_CODE, { proc2: vpid ? ENABLE_VPID : 0 });
    if (vpid) w(env, 'VIRTUAL_PROCESSOR_ID', 5);
    buildGuestTables(env);
    w(env, 'GUEST_CR3', GPT);
    launch(env);
    expect(exits(env)).toEqual([10]);
    expect(guestEax(env)).toBe(OLD);
    env.m.memory.write32(pte, B | 3); // the host edits the guest's PTE: L → B
    return env;
  }

  test('VPID 5: stale translation survives VM exit/entry until INVVPID individual-address', () => {
    const env = setup(true);
    resume(env);
    expect(guestEax(env)).toBe(OLD);
    // Other VPIDs and other addresses are not affected.
    expect(env.vmx.invvpid(1, 6).status).toBe('succeed');
    expect(env.vmx.invvpid(0, 5, L + 0x1000).status).toBe('succeed');
    resume(env);
    expect(guestEax(env)).toBe(OLD);
    expect(env.vmx.invvpid(0, 5, L).status).toBe('succeed');
    resume(env);
    expect(guestEax(env)).toBe(NEW);
    expect(env.m.memory.read32(RESULTS) >>> 0).toBe(NEW);
  });

  test('VPID 5: INVVPID single-context', () => {
    const env = setup(true);
    resume(env);
    expect(guestEax(env)).toBe(OLD);
    expect(env.vmx.invvpid(1, 5).status).toBe('succeed');
    resume(env);
    expect(guestEax(env)).toBe(NEW);
  });

  test('VPID 5: INVVPID all-contexts', () => {
    const env = setup(true);
    expect(env.vmx.invvpid(2, 0).status).toBe('succeed');
    resume(env);
    expect(guestEax(env)).toBe(NEW);
  });

  test('VPIDs disabled: every VM entry flushes, the new mapping is seen at once', () => {
    const env = setup(false);
    resume(env);
    expect(guestEax(env)).toBe(NEW);
  });
});

describe('unrestricted guest', () => {
  const CODE = 0x30000;
  const GDT = 0x38000;
  const GDTR = 0x7ff0; // offset in the code/data segment (linear CODE + GDTR)

  /** Identity EPT of 0–64 MiB with 2-MiB pages. */
  function identityEpt(env: VmxEnv): void {
    const m = env.m.memory;
    m.fill(EPT_PML4, 0x3000, 0);
    m.write32(EPT_PML4, (EPT_PML4 + 0x1000) | EPT_RWX);
    m.write32(EPT_PML4 + 0x1000, (EPT_PML4 + 0x2000) | EPT_RWX);
    for (let j = 0; j < 32; j++) m.write32(EPT_PML4 + 0x2000 + j * 8, j * 0x200000 + (EPT_RWX | EPT_WB | 0x80));
    w(env, 'EPT_POINTER', EPTP);
  }

  /** Real-mode guest state: CS = 0x3000 (base 0x30000), DS = ES = CS, SS = 0x4000, paging and PE off. */
  function realModeGuest(env: VmxEnv, proc2: number, body: (a: Assembler) => void): ReturnType<Assembler['assemble']> {
    const a = new Assembler({ bits: 16, org: 0 });
    body(a);
    const g = a.assemble();
    env.m.loadFlat(g.bytes, CODE);
    env.m.loadFlat(assemble(64, HOST_CODE, (h) => h.hlt()).bytes, HOST_CODE);
    prepareVmcs(env, 0, { proc2 });
    identityEpt(env);
    w(env, 'VM_ENTRY_CONTROLS', ctl(env, 'entry')); // not an IA-32e mode guest
    w(env, 'GUEST_CR0', 0x30); // ET | NE
    w(env, 'GUEST_CR3', 0);
    w(env, 'GUEST_CR4', 0x2000); // VMXE
    w(env, 'GUEST_RFLAGS', 2);
    w(env, 'GUEST_RIP', 0);
    w(env, 'GUEST_RSP', 0xfff0);
    const seg = (n: string, sel: number, ar: number): void => {
      w(env, `GUEST_${n}_SELECTOR`, sel);
      w(env, `GUEST_${n}_BASE`, sel * 16);
      w(env, `GUEST_${n}_LIMIT`, 0xffff);
      w(env, `GUEST_${n}_AR_BYTES`, ar);
    };
    seg('CS', 0x3000, 0x9b);
    seg('DS', 0x3000, 0x93);
    seg('ES', 0x3000, 0x93);
    seg('SS', 0x4000, 0x93);
    seg('FS', 0, 0x93);
    seg('GS', 0, 0x93);
    w(env, 'GUEST_TR_SELECTOR', 0);
    w(env, 'GUEST_TR_BASE', 0);
    w(env, 'GUEST_TR_LIMIT', 0x67);
    w(env, 'GUEST_TR_AR_BYTES', 0x8b);
    w(env, 'GUEST_LDTR_SELECTOR', 0);
    w(env, 'GUEST_LDTR_BASE', 0);
    w(env, 'GUEST_LDTR_LIMIT', 0);
    w(env, 'GUEST_LDTR_AR_BYTES', 0x10000);
    w(env, 'GUEST_GDTR_BASE', 0);
    w(env, 'GUEST_GDTR_LIMIT', 0);
    w(env, 'GUEST_IDTR_BASE', 0);
    w(env, 'GUEST_IDTR_LIMIT', 0x3ff);
    return g;
  }

  const realCode = (a: Assembler): void => {
    a.xor(eax, eax);
    a.mov(ax, 0x1234);
    a.add(ax, 0x1111);
    a.shl(ax, 1);
    a.label('x');
    a.cpuid();
    a.hlt();
  };

  test('a real-mode guest runs 16-bit code and exits on CPUID', () => {
    const env = vmxMachine('long64');
    const g = realModeGuest(env, ENABLE_EPT | UNRESTRICTED_GUEST, realCode);
    launch(env);
    expect(exits(env)).toEqual([10]);
    expect(r(env, 'GUEST_RIP')).toBe(Number(g.symbol('x')));
    expect(r(env, 'VM_EXIT_INSTRUCTION_LEN')).toBe(2);
    expect(guestEax(env)).toBe(0x468a);
    expect(r(env, 'GUEST_CS_SELECTOR')).toBe(0x3000);
    expect(r(env, 'GUEST_CS_BASE')).toBe(0x30000);
    expect(r(env, 'GUEST_CR0') & 0x80000001).toBe(0);
    // The host is back in 64-bit mode.
    expect(env.p.state.rip).toBe(HOST_CODE + 1);
  });

  test('without "unrestricted guest" the same state fails VM entry (CR0 fixed bits)', () => {
    const env = vmxMachine('long64');
    realModeGuest(env, ENABLE_EPT, realCode);
    const res = env.vmx.vmlaunch();
    expect(res.status).toBe('succeed'); // a VM-entry failure is a VM exit, not VMfail
    expect(env.u.lastFailedCheck).toBe('guest.cr0-fixed-bits');
    expect(r(env, 'VM_EXIT_REASON') >>> 0).toBe(0x80000021);
    expect(env.u.nonRoot).toBe(false);
  });

  test('real → protected mode switch inside the guest', () => {
    const env = vmxMachine('long64');
    // GDT: null, 0x08 = 32-bit code (base CODE, 4 GiB, G, D), 0x10 = flat 32-bit data.
    const m = env.m.memory;
    m.write32(GDT, 0);
    m.write32(GDT + 4, 0);
    m.write32(GDT + 8, 0x0000ffff);
    m.write32(GDT + 12, 0x00cf9a00 | (CODE >>> 16));
    m.write32(GDT + 16, 0x0000ffff);
    m.write32(GDT + 20, 0x00cf9200);
    m.write16(CODE + GDTR, 23);
    m.write32(CODE + GDTR + 2, GDT);
    const g = realModeGuest(env, ENABLE_EPT | UNRESTRICTED_GUEST, (a) => {
      a.lgdt(mem(GDTR));
      a.mov(eax, cr0);
      a.or(eax, 1);
      a.mov(cr0, eax);
      a.jmpFar(0x08, 'pm32', 32);
      a.bits(32);
      a.label('pm32');
      a.mov(eax, 0xc0de);
      a.label('x');
      a.cpuid();
      a.hlt();
    });
    launch(env);
    expect(exits(env)).toEqual([10]);
    expect(guestEax(env)).toBe(0xc0de);
    expect(r(env, 'GUEST_RIP')).toBe(Number(g.symbol('x')));
    expect(r(env, 'GUEST_CS_SELECTOR')).toBe(0x08);
    expect(r(env, 'GUEST_CS_BASE')).toBe(CODE);
    expect(r(env, 'GUEST_CS_AR_BYTES')).toBe(0xc09b); // present, DPL 0, code exec/read accessed, D = 1, G = 1
    expect(r(env, 'GUEST_CR0') & 1).toBe(1);
    expect(r(env, 'GUEST_CR0') & 0x80000000).toBe(0);
    expect(r(env, 'VM_EXIT_INSTRUCTION_LEN')).toBe(2);
  });
});
