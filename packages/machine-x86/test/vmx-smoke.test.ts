import { describe, expect, test } from 'vitest';
import { assemble, exits, GUEST_CODE, HOST_CODE, load, prepareVmcs, r, vmxMachine } from './helpers/vmx.js';

describe('vmx smoke', () => {
  for (const mode of ['long64', 'pae', 'protected32'] as const) {
    test(`CPUID exit (${mode})`, () => {
      const env = vmxMachine(mode);
      const bits = mode === 'long64' ? 64 : 32;
      load(env, assemble(bits, HOST_CODE, (a) => a.hlt()), assemble(bits, GUEST_CODE, (a) => { a.nop(); a.cpuid(); a.hlt(); }));
      prepareVmcs(env, GUEST_CODE);
      const res = env.vmx.vmlaunch();
      expect(env.u.lastFailedCheck).toBe('');
      expect(res.status).toBe('succeed');
      env.m.run({ maxInstructions: 100 });
      expect(exits(env)).toEqual([10]);
      expect(r(env, 'GUEST_RIP')).toBe(GUEST_CODE + 1);
      expect(r(env, 'VM_EXIT_INSTRUCTION_LEN')).toBe(2);
      expect(env.p.state.rip).toBe(HOST_CODE + 1);
    });
  }
});
