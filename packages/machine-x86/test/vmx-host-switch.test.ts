// The host address-space size control (SDM 28.5): a guest running in 32-bit PAE mode (or 32-bit
// non-PAE paging) reaches a 64-bit host through one VM exit — host CR3, stack and 64-bit code
// segment — and the host handler, written in x86 code, reads the exit with VMREAD and resumes.
import { describe, expect, test } from 'vitest';
import { dword, eax, qword, rax, rbx, rsp } from '@latelaunch/x86-isa';
import { cr3 } from '@latelaunch/x86-isa';
import { BOOT_PML4_ADDRESS, BootSelectors, VMCS_ENCODING } from '../src/index.js';
import { Cr0, Cr4 } from '../src/cpu/state.js';
import { assemble, E, exits, GUEST_CODE, HOST_CODE, HOST_STACK, LEGACY_PD, load, PAE_PDPT, prepareVmcs, r, RESULTS, vmxMachine, w, writePaeTables } from './helpers/vmx.js';

/** 32-bit flat guest segments from the boot GDT (code 0x08, data 0x10), a busy 32-bit TSS, no LDT. */
function guest32(env: ReturnType<typeof vmxMachine>, pae: boolean): void {
  const cr4 = (pae ? Cr4.PAE : Cr4.PSE) | Cr4.VMXE;
  w(env, 'GUEST_CR0', (Cr0.PE | Cr0.NE | Cr0.ET | Cr0.PG) >>> 0);
  w(env, 'GUEST_CR4', cr4);
  w(env, 'GUEST_CR3', pae ? PAE_PDPT : LEGACY_PD);
  w(env, 'VM_ENTRY_CONTROLS', r(env, 'VM_ENTRY_CONTROLS') & ~(1 << 9)); // not an IA-32e mode guest
  for (const n of ['ES', 'SS', 'DS', 'FS', 'GS']) {
    w(env, `GUEST_${n}_SELECTOR`, BootSelectors.DATA);
    w(env, `GUEST_${n}_BASE`, 0);
    w(env, `GUEST_${n}_LIMIT`, 0xffffffff);
    w(env, `GUEST_${n}_AR_BYTES`, 0xc093);
  }
  w(env, 'GUEST_CS_SELECTOR', BootSelectors.CODE32);
  w(env, 'GUEST_CS_LIMIT', 0xffffffff);
  w(env, 'GUEST_CS_AR_BYTES', 0xc09b);
}

describe('VM exit to a 64-bit host', () => {
  for (const pae of [true, false]) {
    test(`a 32-bit ${pae ? 'PAE' : 'non-PAE'} guest's CPUID exit lands in the 64-bit host with the host's CR3, stack and code segment; the x86 host handler resumes the guest`, () => {
      const env = vmxMachine('long64');
      writePaeTables(env.m);
      for (let j = 0; j < 1024; j++) env.m.memory.write32(LEGACY_PD + j * 4, ((j * 0x400000) >>> 0) + 0x83);
      // Host: record exit reason, CR3, RSP and the code size proof (a 64-bit register write), advance the guest RIP, VMRESUME.
      const host = assemble(64, HOST_CODE, (a) => {
        a.mov(eax, VMCS_ENCODING.VM_EXIT_REASON);
        a.vmread(rbx, rax);
        a.cmp(rbx, 12);
        a.je('done'); // the guest's HLT ends the test in the host
        a.mov(qword(RESULTS), rbx);
        a.mov(rax, cr3);
        a.mov(qword(RESULTS + 8), rax);
        a.mov(qword(RESULTS + 16), rsp);
        a.mov(rax, 0x1122334455667788n);
        a.mov(qword(RESULTS + 24), rax);
        a.inc(qword(RESULTS + 32)); // exit count
        a.mov(eax, VMCS_ENCODING.GUEST_RIP);
        a.vmread(rbx, rax);
        a.mov(eax, VMCS_ENCODING.VM_EXIT_INSTRUCTION_LEN);
        a.vmread(rax, rax);
        a.add(rbx, rax);
        a.mov(eax, VMCS_ENCODING.GUEST_RIP);
        a.vmwrite(rax, rbx);
        a.vmresume();
        a.hlt(); // only reached when VMRESUME fails
        a.label('done');
        a.hlt();
      });
      const guest = assemble(32, GUEST_CODE, (a) => {
        a.mov(eax, 0);
        a.cpuid();
        a.mov(eax, 0);
        a.cpuid();
        a.mov(dword(RESULTS + 40), 0x600d); // the guest ran on after two exits
        a.hlt();
      });
      load(env, host, guest);
      prepareVmcs(env, GUEST_CODE, { proc: 1 << 7 }); // HLT exiting: the guest's HLT ends the test
      guest32(env, pae);
      expect(env.vmx.vmlaunch().status).toBe('succeed');
      expect(env.u.lastFailedCheck).toBe('');
      expect(env.p.is64).toBe(false);
      expect(env.p.state.cr4 & Cr4.PAE ? 'pae' : 'legacy').toBe(pae ? 'pae' : 'legacy');
      env.m.run({ maxInstructions: 10_000 });
      expect(exits(env)).toEqual([10, 10, 12]);
      const mem64 = (a: number): bigint => (BigInt(env.m.memory.read32(a + 4) >>> 0) << 32n) | BigInt(env.m.memory.read32(a) >>> 0);
      expect(mem64(RESULTS)).toBe(10n);
      expect(mem64(RESULTS + 8)).toBe(BigInt(BOOT_PML4_ADDRESS));
      expect(mem64(RESULTS + 16)).toBe(BigInt(HOST_STACK));
      expect(mem64(RESULTS + 24)).toBe(0x1122334455667788n);
      expect(mem64(RESULTS + 32)).toBe(2n);
      expect(env.m.memory.read32(RESULTS + 40)).toBe(0x600d);
      // After the HLT exit the processor is in the 64-bit host.
      expect(env.p.is64).toBe(true);
      expect(env.p.state.cr3).toBe(BOOT_PML4_ADDRESS);
      expect(r(env, 'GUEST_CR3')).toBe(pae ? PAE_PDPT : LEGACY_PD);
      expect(r(env, 'VM_ENTRY_CONTROLS') & (1 << 9)).toBe(0); // "IA-32e mode guest" = EFER.LMA of the guest
      void E;
    });
  }

  test('a machine snapshot taken in VMX non-root operation continues identically after restore (VMCS cache, non-root hooks, VPID/EPT context)', () => {
    const env = vmxMachine('long64');
    const host = assemble(64, HOST_CODE, (a) => {
      a.inc(qword(RESULTS));
      a.mov(eax, VMCS_ENCODING.GUEST_RIP);
      a.vmread(rbx, rax);
      a.add(rbx, 2); // CPUID is 2 bytes
      a.vmwrite(rax, rbx);
      a.vmresume();
      a.hlt();
    });
    const guest = assemble(64, GUEST_CODE, (a) => {
      a.label('loop');
      a.inc(qword(RESULTS + 8));
      a.cpuid();
      a.cmp(qword(RESULTS + 8), 50);
      a.jne('loop');
      a.hlt();
    });
    load(env, host, guest);
    prepareVmcs(env, GUEST_CODE);
    expect(env.vmx.vmlaunch().status).toBe('succeed');
    env.m.run({ maxInstructions: 10 });
    expect(env.u.nonRoot).toBe(true);
    const snap = env.m.snapshot();
    env.m.run({ maxInstructions: 100_000 });
    const first = [env.m.memory.read32(RESULTS), env.m.memory.read32(RESULTS + 8), env.p.state.rip, env.u.exits];
    expect(first[0]).toBe(50);
    expect(first[1]).toBe(50);
    env.m.restore(snap);
    expect(env.u.nonRoot).toBe(true);
    const exitsBefore = env.u.exits;
    env.m.run({ maxInstructions: 100_000 });
    expect([env.m.memory.read32(RESULTS), env.m.memory.read32(RESULTS + 8), env.p.state.rip]).toEqual(first.slice(0, 3));
    expect(env.u.exits - exitsBefore).toBeGreaterThan(40);
  });
});
