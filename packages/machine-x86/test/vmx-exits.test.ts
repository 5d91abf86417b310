// VM exits and event injection (SDM Vol. 3C ch. 26–28): each test runs real guest code in VMX
// non-root operation and checks the exit reason, qualification, instruction length/information and
// the saved guest RIP; event-injection tests check the frame the guest's own IDT handler sees.
import { describe, expect, test } from 'vitest';
import type { Assembler } from '@latelaunch/x86-isa';
import { al, ax, cr0, cr3, cr4, cr8, cx, dr7, dx, eax, ebx, ecx, edx, esi, mem, rax, rbx, rcx, rdx, rsi, rsp } from '@latelaunch/x86-isa';
import { Activity } from '../src/cpu/state.js';
import { idt64 } from './machine-helpers.js';
import { assemble, EPT_PML4, exits, GUEST_CODE, HOST_CODE, IO_BITMAP_A, IO_BITMAP_B, LEGACY_PD, load, MSR_BITMAP, prepareVmcs, r, vmxMachine, w, type VmxEnv, type VmxMode } from './helpers/vmx.js';

type Ctl = { pin?: number; proc?: number; proc2?: number; exit?: number; entry?: number };

interface Run {
  env: VmxEnv;
  sym: (name: string) => number;
}

/** Builds a machine in `mode`, a host that HLTs, the guest program, the VMCS (+ `setup`), VMLAUNCH, and runs. */
function runGuest(mode: VmxMode, guest: (a: Assembler) => void, ctl: Ctl = {}, setup?: (env: VmxEnv, sym: (n: string) => number) => void, max = 500): Run {
  const env = vmxMachine(mode);
  const bits = mode === 'long64' ? 64 : 32;
  const g = assemble(bits, GUEST_CODE, guest);
  const sym = (n: string): number => Number(g.symbol(n));
  load(env, assemble(bits, HOST_CODE, (a) => a.hlt()), g);
  prepareVmcs(env, GUEST_CODE, ctl);
  setup?.(env, sym);
  const res = env.vmx.vmlaunch();
  expect(env.u.lastFailedCheck).toBe('');
  expect(res.status).toBe('succeed');
  env.m.run({ maxInstructions: max });
  return { env, sym };
}

interface ExitExpect {
  reason: number;
  qual?: number;
  len?: number;
  info?: number;
  rip?: number;
}

function expectExit(env: VmxEnv, e: ExitExpect): void {
  expect(exits(env)).toEqual([e.reason]);
  expect(r(env, 'VM_EXIT_REASON')).toBe(e.reason);
  if (e.qual !== undefined) expect(r(env, 'EXIT_QUALIFICATION')).toBe(e.qual);
  if (e.len !== undefined) expect(r(env, 'VM_EXIT_INSTRUCTION_LEN')).toBe(e.len);
  if (e.info !== undefined) expect(r(env, 'VMX_INSTRUCTION_INFO')).toBe(e.info);
  if (e.rip !== undefined) expect(r(env, 'GUEST_RIP')).toBe(e.rip);
  // The host runs (its HLT) after the exit.
  expect(env.u.nonRoot).toBe(false);
}

const HLT_EXITING = 1 << 7;

describe('instruction exits', () => {
  test('CPUID (unconditional, 32-bit guest)', () => {
    const { env, sym } = runGuest('protected32', (a) => { a.nop(); a.label('x'); a.cpuid(); a.hlt(); });
    expectExit(env, { reason: 10, qual: 0, len: 2, rip: sym('x') });
  });

  test('HLT with HLT exiting', () => {
    const { env, sym } = runGuest('long64', (a) => { a.nop(); a.label('x'); a.hlt(); }, { proc: HLT_EXITING });
    expectExit(env, { reason: 12, qual: 0, len: 1, rip: sym('x') });
  });

  test('HLT without HLT exiting halts the guest', () => {
    const { env } = runGuest('long64', (a) => { a.nop(); a.hlt(); });
    expect(exits(env)).toEqual([]);
    expect(env.u.nonRoot).toBe(true);
    expect(env.p.state.activity).toBe(Activity.HLT);
  });

  test('INVD (unconditional)', () => {
    const { env, sym } = runGuest('long64', (a) => { a.nop(); a.label('x'); a.invd(); a.hlt(); });
    expectExit(env, { reason: 13, qual: 0, len: 2, rip: sym('x') });
  });

  test('INVLPG exiting: qualification = linear address', () => {
    const { env, sym } = runGuest('long64', (a) => { a.mov(rax, 0x123000); a.label('x'); a.invlpg(mem(rax, 0x456)); a.hlt(); }, { proc: 1 << 9 });
    expectExit(env, { reason: 14, qual: 0x123456, len: 7, rip: sym('x') });
  });

  test('RDTSC exiting', () => {
    const { env, sym } = runGuest('long64', (a) => { a.nop(); a.label('x'); a.rdtsc(); a.hlt(); }, { proc: 1 << 12 });
    expectExit(env, { reason: 16, qual: 0, len: 2, rip: sym('x') });
  });

  test('TSC offsetting without exiting: guest RDTSC = host TSC + offset', () => {
    const OFF = 0x1_0000_0000n;
    const { env } = runGuest('long64', (a) => { a.rdtsc(); a.cpuid(); }, { proc: 1 << 3 }, (env) => w(env, 'TSC_OFFSET', OFF));
    expect(exits(env)).toEqual([10]);
    const guest = (BigInt(env.p.lo[2] >>> 0) << 32n) | BigInt(env.p.lo[0] >>> 0);
    const host = BigInt(Math.floor(env.m.run({ maxInstructions: 0 }).time));
    expect(guest >= OFF).toBe(true);
    expect(guest - OFF <= host).toBe(true);
  });

  test('RDMSR / WRMSR exit unconditionally without MSR bitmaps', () => {
    let run = runGuest('long64', (a) => { a.mov(ecx, 0x10); a.label('x'); a.rdmsr(); a.hlt(); });
    expectExit(run.env, { reason: 31, qual: 0, len: 2, rip: run.sym('x') });
    run = runGuest('long64', (a) => { a.mov(ecx, 0x174); a.xor(eax, eax); a.xor(edx, edx); a.label('x'); a.wrmsr(); a.hlt(); });
    expectExit(run.env, { reason: 32, qual: 0, len: 2, rip: run.sym('x') });
  });

  describe('MSR bitmaps', () => {
    const USE_MSR_BITMAPS = 1 << 28;
    const setBit = (env: VmxEnv, offset: number, msr: number): void => {
      const bit = msr & 0x1fff;
      const a = MSR_BITMAP + offset + (bit >>> 3);
      env.m.memory.write8(a, env.m.memory.read8(a) | (1 << (bit & 7)));
    };
    const bitmaps = (env: VmxEnv): void => {
      w(env, 'MSR_BITMAP', MSR_BITMAP);
      setBit(env, 0, 0x174); // read low
      setBit(env, 1024, 0xc0000100); // read high
      setBit(env, 2048, 0x175); // write low
      setBit(env, 3072, 0xc0000101); // write high
    };
    test('read-low bit set exits, clear does not', () => {
      const { env, sym } = runGuest('long64', (a) => { a.mov(ecx, 0x175); a.rdmsr(); a.mov(ecx, 0x174); a.label('x'); a.rdmsr(); a.hlt(); }, { proc: USE_MSR_BITMAPS }, bitmaps);
      expectExit(env, { reason: 31, qual: 0, len: 2, rip: sym('x') });
    });
    test('read-high bit set exits, clear does not', () => {
      const { env, sym } = runGuest('long64', (a) => { a.mov(ecx, 0xc0000101); a.rdmsr(); a.mov(ecx, 0xc0000100); a.label('x'); a.rdmsr(); a.hlt(); }, { proc: USE_MSR_BITMAPS }, bitmaps);
      expectExit(env, { reason: 31, len: 2, rip: sym('x') });
    });
    test('write-low bit set exits, clear does not', () => {
      const { env, sym } = runGuest('long64', (a) => {
        a.xor(eax, eax); a.xor(edx, edx); a.mov(ecx, 0x174); a.wrmsr(); a.mov(ecx, 0x175); a.label('x'); a.wrmsr(); a.hlt();
      }, { proc: USE_MSR_BITMAPS }, bitmaps);
      expectExit(env, { reason: 32, len: 2, rip: sym('x') });
    });
    test('write-high bit set exits, clear does not', () => {
      const { env, sym } = runGuest('long64', (a) => {
        a.xor(eax, eax); a.xor(edx, edx); a.mov(ecx, 0xc0000100); a.wrmsr(); a.mov(ecx, 0xc0000101); a.label('x'); a.wrmsr(); a.hlt();
      }, { proc: USE_MSR_BITMAPS }, bitmaps);
      expectExit(env, { reason: 32, len: 2, rip: sym('x') });
    });
    test('an MSR index outside both ranges exits', () => {
      const { env, sym } = runGuest('long64', (a) => { a.mov(ecx, 0x40000000); a.label('x'); a.rdmsr(); a.hlt(); }, { proc: USE_MSR_BITMAPS }, bitmaps);
      expectExit(env, { reason: 31, len: 2, rip: sym('x') });
    });
  });
});

describe('control-register accesses (reason 28)', () => {
  test('CR0 guest/host mask + read shadow', () => {
    const TS = 8;
    const { env, sym } = runGuest('long64', (a) => {
      a.mov(rax, cr0); // TS reads as the shadow (0)
      a.mov(cr0, rax); // equal to the shadow in the masked bit: no exit
      a.mov(rcx, rax);
      a.or(rcx, TS);
      a.label('x');
      a.mov(cr0, rcx); // differs from the shadow: exit
      a.hlt();
    }, {}, (env) => {
      w(env, 'GUEST_CR0', (env.p.state.cr0 | TS) >>> 0);
      w(env, 'CR0_GUEST_HOST_MASK', TS);
      w(env, 'CR0_READ_SHADOW', 0);
    });
    expectExit(env, { reason: 28, qual: 0 | (0 << 4) | (1 << 8), len: 3, rip: sym('x') });
    expect(env.p.lo[0] & TS).toBe(0);
    expect(r(env, 'GUEST_CR0') & TS).toBe(TS);
  });

  test('CR3 load exiting with a CR3-target value', () => {
    const { env, sym } = runGuest('long64', (a) => {
      a.mov(rax, cr3);
      a.mov(cr3, rax); // a target value: no exit
      a.mov(edx, 0x5000);
      a.label('x');
      a.mov(cr3, rdx);
      a.hlt();
    }, { proc: 1 << 15 }, (env) => {
      w(env, 'CR3_TARGET_COUNT', 1);
      w(env, 'CR3_TARGET_VALUE0', env.p.state.cr3);
    });
    expectExit(env, { reason: 28, qual: 3 | (0 << 4) | (2 << 8), len: 3, rip: sym('x') });
  });

  test('CR3 store exiting', () => {
    const { env, sym } = runGuest('long64', (a) => { a.nop(); a.label('x'); a.mov(rbx, cr3); a.hlt(); }, { proc: 1 << 16 });
    expectExit(env, { reason: 28, qual: 3 | (1 << 4) | (3 << 8), len: 3, rip: sym('x') });
  });

  test('CR4 mask + shadow', () => {
    const OSFXSR = 1 << 9;
    const { env, sym } = runGuest('long64', (a) => {
      a.mov(rax, cr4); // bit 9 reads as the shadow (1)
      a.mov(cr4, rax); // equal to the shadow: no exit
      a.mov(rsi, rax);
      a.and(rsi, ~OSFXSR);
      a.label('x');
      a.mov(cr4, rsi);
      a.hlt();
    }, {}, (env) => {
      w(env, 'GUEST_CR4', (env.p.state.cr4 & ~OSFXSR) >>> 0);
      w(env, 'CR4_GUEST_HOST_MASK', OSFXSR);
      w(env, 'CR4_READ_SHADOW', OSFXSR);
    });
    expectExit(env, { reason: 28, qual: 4 | (6 << 8), len: 3, rip: sym('x') });
    expect(env.p.lo[0] & OSFXSR).toBe(OSFXSR);
    expect(r(env, 'GUEST_CR4') & OSFXSR).toBe(0);
  });

  test('CR8 load exiting (64-bit guest)', () => {
    const { env, sym } = runGuest('long64', (a) => { a.xor(eax, eax); a.label('x'); a.mov(cr8, rax); a.hlt(); }, { proc: 1 << 19 });
    expectExit(env, { reason: 28, qual: 8, len: 4, rip: sym('x') });
  });

  test('CR8 store exiting (64-bit guest)', () => {
    const { env, sym } = runGuest('long64', (a) => { a.nop(); a.label('x'); a.mov(rbx, cr8); a.hlt(); }, { proc: 1 << 20 });
    expectExit(env, { reason: 28, qual: 8 | (1 << 4) | (3 << 8), len: 4, rip: sym('x') });
  });

  test('CLTS: access type 2', () => {
    const { env, sym } = runGuest('long64', (a) => { a.nop(); a.label('x'); a.clts(); a.hlt(); }, {}, (env) => {
      w(env, 'CR0_GUEST_HOST_MASK', 8);
      w(env, 'CR0_READ_SHADOW', 8);
    });
    expectExit(env, { reason: 28, qual: 2 << 4, len: 2, rip: sym('x') });
  });

  test('LMSW: access type 3, source data in 31:16', () => {
    const { env, sym } = runGuest('long64', (a) => { a.mov(ecx, 3); a.label('x'); a.lmsw(cx); a.hlt(); }, {}, (env) => {
      w(env, 'CR0_GUEST_HOST_MASK', 0xe);
      w(env, 'CR0_READ_SHADOW', 0);
    });
    expectExit(env, { reason: 28, qual: (3 << 4) | (1 << 8) | (3 << 16), len: 3, rip: sym('x') });
  });
});

describe('MOV DR exiting (reason 29)', () => {
  test('MOV from DR7', () => {
    const { env, sym } = runGuest('long64', (a) => { a.nop(); a.label('x'); a.mov(rax, dr7); a.hlt(); }, { proc: 1 << 23 });
    expectExit(env, { reason: 29, qual: 7 | (1 << 4) | (0 << 8), len: 3, rip: sym('x') });
  });
  test('MOV to DR7', () => {
    const { env, sym } = runGuest('long64', (a) => { a.mov(ecx, 0x400); a.label('x'); a.mov(dr7, rcx); a.hlt(); }, { proc: 1 << 23 });
    expectExit(env, { reason: 29, qual: 7 | (0 << 4) | (1 << 8), len: 3, rip: sym('x') });
  });
});

describe('I/O instructions (reason 30)', () => {
  const UNCOND = 1 << 24;
  const BITMAPS = 1 << 25;
  test('OUT imm8, AL (unconditional I/O exiting)', () => {
    const { env, sym } = runGuest('long64', (a) => { a.nop(); a.label('x'); a.out(0x80, al); a.hlt(); }, { proc: UNCOND });
    expectExit(env, { reason: 30, qual: 0 | (1 << 6) | (0x80 << 16), len: 2, rip: sym('x') });
  });
  test('IN EAX, DX (unconditional I/O exiting)', () => {
    const { env, sym } = runGuest('protected32', (a) => { a.mov(edx, 0x3f8); a.label('x'); a.in(eax, dx); a.hlt(); }, { proc: UNCOND });
    expectExit(env, { reason: 30, qual: 3 | (1 << 3) | (0x3f8 << 16), len: 1, rip: sym('x') });
  });
  test('OUT DX, AX (unconditional I/O exiting)', () => {
    const { env, sym } = runGuest('long64', (a) => { a.mov(edx, 0x1234); a.label('x'); a.out(dx, ax); a.hlt(); }, { proc: UNCOND });
    expectExit(env, { reason: 30, qual: 1 | (0x1234 << 16), len: 2, rip: sym('x') });
  });
  const bitmaps = (env: VmxEnv): void => {
    w(env, 'IO_BITMAP_A', IO_BITMAP_A);
    w(env, 'IO_BITMAP_B', IO_BITMAP_B);
    env.m.memory.write8(IO_BITMAP_A + (0x71 >>> 3), 1 << (0x71 & 7));
    env.m.memory.write8(IO_BITMAP_B + ((0x8001 & 0x7fff) >>> 3), 1 << (0x8001 & 7));
  };
  test('I/O bitmap A: clear bit no exit, set bit exits', () => {
    const { env, sym } = runGuest('long64', (a) => { a.out(0x80, al); a.label('x'); a.out(0x71, al); a.hlt(); }, { proc: BITMAPS | UNCOND }, bitmaps);
    expectExit(env, { reason: 30, qual: (1 << 6) | (0x71 << 16), len: 2, rip: sym('x') });
  });
  test('I/O bitmap: a word access at 0x70 covers port 0x71', () => {
    const { env, sym } = runGuest('long64', (a) => { a.mov(edx, 0x70); a.label('x'); a.in(ax, dx); a.hlt(); }, { proc: BITMAPS }, bitmaps);
    expectExit(env, { reason: 30, qual: 1 | (1 << 3) | (0x70 << 16), len: 2, rip: sym('x') });
  });
  test('I/O bitmap B (ports 0x8000–0xFFFF)', () => {
    const { env, sym } = runGuest('long64', (a) => { a.mov(edx, 0x8000); a.in(al, dx); a.mov(edx, 0x8001); a.label('x'); a.in(al, dx); a.hlt(); }, { proc: BITMAPS }, bitmaps);
    expectExit(env, { reason: 30, qual: ((1 << 3) | (0x8001 << 16)) >>> 0, len: 1, rip: sym('x') });
  });
  test('REP OUTSB: string + REP bits, guest-linear address, instruction information', () => {
    const { env, sym } = runGuest('long64', (a) => {
      a.mov(esi, 0x1000); a.mov(ecx, 4); a.mov(edx, 0x80);
      a.label('x');
      a.rep().outsb();
      a.hlt();
    }, { proc: UNCOND });
    // Address size 64 (2 << 7), segment DS (3 << 15).
    expectExit(env, { reason: 30, qual: (1 << 4) | (1 << 5) | (0x80 << 16), len: 2, info: (2 << 7) | (3 << 15), rip: sym('x') });
    expect(r(env, 'GUEST_LINEAR_ADDRESS')).toBe(0x1000);
  });
});

/** A 64-bit guest program: `main`, then an IDT whose handlers for `vectors` do `mov ebx, v; mov rcx, rsp; hlt` (HLT exiting stops them). */
function guestWithIdt(main: (a: Assembler) => void, vectors: number[]): (a: Assembler) => void {
  return (a) => {
    main(a);
    for (const v of vectors) {
      a.label(`h${v}`);
      a.mov(ebx, v);
      a.mov(rcx, rsp);
      a.label(`hh${v}`);
      a.hlt();
    }
    a.label('hdef');
    a.mov(ebx, 0xdead);
    a.hlt();
    idt64(a, 256, (v) => (vectors.includes(v) ? `h${v}` : 'hdef'));
  };
}

function useIdt(env: VmxEnv, sym: (n: string) => number): void {
  w(env, 'GUEST_IDTR_BASE', sym('idt'));
  w(env, 'GUEST_IDTR_LIMIT', 256 * 16 - 1);
}

describe('exception bitmap', () => {
  test('#UD from UD2', () => {
    const { env, sym } = runGuest('long64', (a) => { a.nop(); a.label('x'); a.ud2(); }, {}, (env) => w(env, 'EXCEPTION_BITMAP', 1 << 6));
    expectExit(env, { reason: 0, qual: 0, rip: sym('x') });
    expect(r(env, 'VM_EXIT_INTR_INFO')).toBe(0x80000306);
  });
  test('#BP from INT3: software exception (type 6) with instruction length', () => {
    const { env, sym } = runGuest('long64', (a) => { a.nop(); a.label('x'); a.int3(); }, {}, (env) => w(env, 'EXCEPTION_BITMAP', 1 << 3));
    expectExit(env, { reason: 0, len: 1, rip: sym('x') });
    expect(r(env, 'VM_EXIT_INTR_INFO')).toBe(0x80000603);
  });

  const PF_ADDR = 0x40000123;
  const pfGuest = (write: boolean) => (a: Assembler): void => {
    a.mov(ebx, PF_ADDR);
    a.label('x');
    if (write) a.mov(mem(ebx), eax);
    else a.mov(eax, mem(ebx));
    a.hlt();
  };
  const pfSetup = (bitmap: number, mask: number, match: number) => (env: VmxEnv): void => {
    env.m.memory.write32(LEGACY_PD + (PF_ADDR >>> 22) * 4, 0); // not present
    env.p.state.cr2 = 0x1234;
    w(env, 'EXCEPTION_BITMAP', bitmap);
    w(env, 'PAGE_FAULT_ERROR_CODE_MASK', mask);
    w(env, 'PAGE_FAULT_ERROR_CODE_MATCH', match);
  };
  test('#PF: qualification = linear address, error code, CR2 unchanged', () => {
    const { env, sym } = runGuest('protected32', pfGuest(true), {}, pfSetup(1 << 14, 0, 0));
    expectExit(env, { reason: 0, qual: PF_ADDR, rip: sym('x') });
    expect(r(env, 'VM_EXIT_INTR_INFO')).toBe(0x80000b0e);
    expect(r(env, 'VM_EXIT_INTR_ERROR_CODE')).toBe(2);
    expect(env.p.state.cr2).toBe(0x1234);
  });
  test('#PF bit 1, mask/match mismatch: no exit (the guest gets the #PF → triple fault without IDT)', () => {
    const { env } = runGuest('protected32', pfGuest(false), {}, (env) => { pfSetup(1 << 14, 2, 2)(env); w(env, 'GUEST_IDTR_LIMIT', 0); });
    expect(exits(env)).toEqual([2]);
  });
  test('#PF bit 0, mask/match mismatch: exits', () => {
    const { env, sym } = runGuest('protected32', pfGuest(false), {}, pfSetup(0, 2, 2));
    expectExit(env, { reason: 0, qual: PF_ADDR, rip: sym('x') });
    expect(r(env, 'VM_EXIT_INTR_ERROR_CODE')).toBe(0);
  });
  test('#PF bit 0, mask/match match: no exit', () => {
    const { env } = runGuest('protected32', pfGuest(true), {}, (env) => { pfSetup(0, 2, 2)(env); w(env, 'GUEST_IDTR_LIMIT', 0); });
    expect(exits(env)).toEqual([2]);
  });
});

describe('external interrupts and NMIs', () => {
  const loop = (a: Assembler): void => { a.label('l'); a.jmp('l'); };
  test('external-interrupt exiting without acknowledge (guest IF = 0)', () => {
    const { env } = runGuest('long64', loop, { pin: 1 }, (env) => env.m.interruptController(0).raise(0x40));
    expectExit(env, { reason: 1, qual: 0, rip: GUEST_CODE });
    expect(r(env, 'VM_EXIT_INTR_INFO')).toBe(0);
    expect(r(env, 'GUEST_RFLAGS') & 0x200).toBe(0);
    expect(env.m.interruptController(0).pendingVector()).toBe(0x40);
  });
  test('external-interrupt exiting with acknowledge interrupt on exit', () => {
    const { env } = runGuest('long64', loop, { pin: 1, exit: 1 << 15 }, (env) => env.m.interruptController(0).raise(0x40));
    expectExit(env, { reason: 1, rip: GUEST_CODE });
    expect(r(env, 'VM_EXIT_INTR_INFO')).toBe(0x80000040);
    expect(env.m.interruptController(0).pendingVector()).toBe(-1);
  });
  test('NMI exiting: reason 0, info 0x80000202, NMIs blocked in the host', () => {
    const { env, sym } = runGuest('long64', (a) => { a.nop(); a.nop(); a.nop(); a.label('x'); a.nop(); a.nop(); loop(a); }, { pin: 1 << 3 }, (env) => {
      env.m.scheduleEvent({ cpu: 0, kind: 'nmi', atInstruction: env.p.state.retired + 3 });
    });
    expectExit(env, { reason: 0, qual: 0, rip: sym('x') });
    expect(r(env, 'VM_EXIT_INTR_INFO')).toBe(0x80000202);
    expect(env.p.state.nmiBlocked).toBe(true);
  });
  test('interrupt-window exiting: after STI and its shadow', () => {
    const { env, sym } = runGuest('long64', (a) => { a.nop(); a.sti(); a.nop(); a.label('x'); a.nop(); loop(a); }, { proc: 1 << 2 });
    expectExit(env, { reason: 7, qual: 0, rip: sym('x') });
  });
  test('NMI-window exiting (virtual NMIs, no blocking): exits at once', () => {
    const { env } = runGuest('long64', loop, { pin: (1 << 3) | (1 << 5), proc: 1 << 22 });
    expectExit(env, { reason: 8, rip: GUEST_CODE });
  });
  test('NMI-window exiting with virtual-NMI blocking: no window', () => {
    const { env, sym } = runGuest('long64', (a) => { a.nop(); a.label('x'); a.cpuid(); }, { pin: (1 << 3) | (1 << 5), proc: 1 << 22 }, (env) => w(env, 'GUEST_INTERRUPTIBILITY_INFO', 8));
    expectExit(env, { reason: 10, rip: sym('x') });
    expect(r(env, 'GUEST_INTERRUPTIBILITY_INFO') & 8).toBe(8);
  });
  test('virtual NMIs: an injected NMI sets blocking (saved at exit), guest IRET clears it', () => {
    const guest = (a: Assembler): void => {
      a.label('main'); a.nop(); a.label('y'); a.vmcall();
      a.label('nmi'); a.label('x'); a.cpuid(); a.iretq();
      a.label('hdef'); a.hlt();
      idt64(a, 256, (v) => (v === 2 ? 'nmi' : 'hdef'));
    };
    const { env, sym } = runGuest('long64', guest, { pin: (1 << 3) | (1 << 5) }, (env, sym) => {
      useIdt(env, sym);
      w(env, 'VM_ENTRY_INTR_INFO', 0x80000202);
    });
    expectExit(env, { reason: 10, rip: sym('x') });
    expect(r(env, 'GUEST_INTERRUPTIBILITY_INFO') & 8).toBe(8);
    w(env, 'GUEST_RIP', r(env, 'GUEST_RIP') + r(env, 'VM_EXIT_INSTRUCTION_LEN'));
    expect(env.vmx.vmresume().status).toBe('succeed');
    env.m.run({ maxInstructions: 100 });
    expect(exits(env)).toEqual([10, 18]);
    expect(r(env, 'GUEST_RIP')).toBe(sym('y'));
    expect(r(env, 'GUEST_INTERRUPTIBILITY_INFO') & 8).toBe(0);
  });
  test('NMI blocking in interruptibility is carried across exit and VMRESUME', () => {
    const { env, sym } = runGuest('long64', (a) => { a.cpuid(); a.label('y'); a.cpuid(); }, {}, (env) => w(env, 'GUEST_INTERRUPTIBILITY_INFO', 8));
    expectExit(env, { reason: 10, rip: GUEST_CODE });
    expect(r(env, 'GUEST_INTERRUPTIBILITY_INFO') & 8).toBe(8);
    w(env, 'GUEST_RIP', r(env, 'GUEST_RIP') + r(env, 'VM_EXIT_INSTRUCTION_LEN'));
    expect(env.vmx.vmresume().status).toBe('succeed');
    env.m.run({ maxInstructions: 100 });
    expect(exits(env)).toEqual([10, 10]);
    expect(r(env, 'GUEST_RIP')).toBe(sym('y'));
    expect(r(env, 'GUEST_INTERRUPTIBILITY_INFO') & 8).toBe(8);
  });
  test('preemption timer expiry in virtual time (reason 52)', () => {
    const VALUE = 1000;
    const env = vmxMachine('long64');
    load(env, assemble(64, HOST_CODE, (a) => a.hlt()), assemble(64, GUEST_CODE, loop));
    prepareVmcs(env, GUEST_CODE, { pin: 1 << 6, exit: 1 << 22 });
    w(env, 'VMX_PREEMPTION_TIMER_VALUE', VALUE);
    const t0 = env.m.run({ maxInstructions: 0 }).time;
    expect(env.vmx.vmlaunch().status).toBe('succeed');
    env.m.run({ maxInstructions: 1_000_000 });
    expectExit(env, { reason: 52 });
    const rec = env.records.find((x) => x.kind === 'vmx.exit')!;
    const dt = rec.time - t0;
    expect(dt).toBeGreaterThanOrEqual(VALUE * 32);
    expect(dt).toBeLessThan(VALUE * 32 * 1.1 + 100);
    expect(r(env, 'VMX_PREEMPTION_TIMER_VALUE')).toBe(0);
  });
  test('save VMX-preemption timer value on another exit', () => {
    const { env } = runGuest('long64', (a) => { a.nop(); a.cpuid(); }, { pin: 1 << 6, exit: 1 << 22 }, (env) => w(env, 'VMX_PREEMPTION_TIMER_VALUE', 1_000_000));
    expectExit(env, { reason: 10 });
    const left = r(env, 'VMX_PREEMPTION_TIMER_VALUE');
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(1_000_000);
  });
  test('INIT in non-root operation: reason 3', () => {
    const { env } = runGuest('long64', loop, {}, (env) => env.m.scheduleEvent({ cpu: 0, kind: 'init', atInstruction: env.p.state.retired + 5 }));
    expectExit(env, { reason: 3, qual: 0, rip: GUEST_CODE });
  });
  test('SIPI to a guest in wait-for-SIPI: reason 4, vector in qualification', () => {
    const { env } = runGuest('long64', loop, {}, (env) => {
      w(env, 'GUEST_ACTIVITY_STATE', 3);
      env.m.scheduleEvent({ cpu: 0, kind: 'sipi', vector: 0x12, atTime: env.m.run({ maxInstructions: 0 }).time + 1000 });
    }, 100);
    expectExit(env, { reason: 4, qual: 0x12 });
  });
  test('triple fault in the guest: reason 2, processor not shut down', () => {
    const { env } = runGuest('long64', (a) => { a.nop(); a.ud2(); }, {}, (env) => w(env, 'GUEST_IDTR_LIMIT', 0));
    expectExit(env, { reason: 2 });
    expect(env.p.state.activity).not.toBe(Activity.SHUTDOWN);
    expect(env.p.state.rip).toBe(HOST_CODE + 1);
  });
});

describe('descriptor-table exiting, VMCALL, VMX instructions', () => {
  const DT = 1 << 2;
  test('LGDT: reason 46, identity 2', () => {
    const { env, sym } = runGuest('long64', (a) => { a.mov(eax, 0x1000); a.label('x'); a.lgdt(mem(rax)); a.hlt(); }, { proc2: DT });
    expectExit(env, { reason: 46, qual: 0, len: 3, rip: sym('x') });
    expect(r(env, 'VMX_INSTRUCTION_INFO') >>> 28 & 3).toBe(2);
  });
  test('SIDT: reason 46, identity 1', () => {
    const { env, sym } = runGuest('long64', (a) => { a.mov(eax, 0x1000); a.label('x'); a.sidt(mem(rax, 8)); a.hlt(); }, { proc2: DT });
    expectExit(env, { reason: 46, qual: 8, len: 4, rip: sym('x') });
    expect(r(env, 'VMX_INSTRUCTION_INFO') >>> 28 & 3).toBe(1);
  });
  test('LLDT: reason 47, identity 2', () => {
    const { env, sym } = runGuest('long64', (a) => { a.xor(eax, eax); a.label('x'); a.lldt(ax); a.hlt(); }, { proc2: DT });
    expectExit(env, { reason: 47, len: 3, rip: sym('x') });
    expect(r(env, 'VMX_INSTRUCTION_INFO') >>> 28 & 3).toBe(2);
  });
  test('STR: reason 47, identity 1', () => {
    const { env, sym } = runGuest('long64', (a) => { a.nop(); a.label('x'); a.str(ax); a.hlt(); }, { proc2: DT });
    expectExit(env, { reason: 47, len: 4, rip: sym('x') });
    expect(r(env, 'VMX_INSTRUCTION_INFO') >>> 28 & 3).toBe(1);
  });
  test('VMCALL: reason 18', () => {
    const { env, sym } = runGuest('long64', (a) => { a.nop(); a.label('x'); a.vmcall(); }, {});
    expectExit(env, { reason: 18, qual: 0, len: 3, rip: sym('x') });
  });
  test('VMREAD in the guest: reason 23', () => {
    const { env, sym } = runGuest('long64', (a) => { a.nop(); a.label('x'); a.vmread(rax, rcx); }, {});
    expectExit(env, { reason: 23, qual: 0, len: 3, rip: sym('x') });
  });
});

describe('event injection', () => {
  const inject = (info: number, extra: (env: VmxEnv) => void = () => {}) => {
    const vectors = [2, 3, 13, 0x30, 0x80];
    return runGuest('long64', guestWithIdt((a) => { a.nop(); a.nop(); a.hlt(); }, vectors), { proc: HLT_EXITING }, (env, sym) => {
      useIdt(env, sym);
      w(env, 'VM_ENTRY_INTR_INFO', info);
      extra(env);
    });
  };
  const frame = (env: VmxEnv, k: number): number => Number(env.m.memory.read64((env.p.lo[1] >>> 0) + k * 8));
  test('external interrupt 0x30 (needs RFLAGS.IF = 1)', () => {
    const { env, sym } = inject(0x80000030, (env) => w(env, 'GUEST_RFLAGS', 0x202));
    expectExit(env, { reason: 12, rip: sym('hh48') });
    expect(env.p.lo[3]).toBe(0x30);
    expect(frame(env, 0)).toBe(GUEST_CODE);
    expect(frame(env, 1)).toBe(0x18);
    expect(frame(env, 2) & 0x200).toBe(0x200);
  });
  test('external interrupt with RFLAGS.IF = 0: VM entry fails (guest state)', () => {
    const env = vmxMachine('long64');
    load(env, assemble(64, HOST_CODE, (a) => a.hlt()), assemble(64, GUEST_CODE, (a) => a.hlt()));
    prepareVmcs(env, GUEST_CODE);
    w(env, 'VM_ENTRY_INTR_INFO', 0x80000030);
    env.vmx.vmlaunch();
    expect(env.u.lastFailedCheck).not.toBe('');
    expect(env.u.nonRoot).toBe(false);
  });
  test('NMI', () => {
    const { env, sym } = inject(0x80000202);
    expectExit(env, { reason: 12, rip: sym('hh2') });
    expect(env.p.lo[3]).toBe(2);
    expect(frame(env, 0)).toBe(GUEST_CODE);
  });
  test('hardware exception #GP with error code', () => {
    const { env, sym } = inject(0x80000b0d, (env) => w(env, 'VM_ENTRY_EXCEPTION_ERROR_CODE', 0x1234));
    expectExit(env, { reason: 12, rip: sym('hh13') });
    expect(env.p.lo[3]).toBe(13);
    expect(frame(env, 0)).toBe(0x1234);
    expect(frame(env, 1)).toBe(GUEST_CODE);
  });
  test('software interrupt INT 0x80 with instruction length', () => {
    const { env, sym } = inject(0x80000480, (env) => w(env, 'VM_ENTRY_INSTRUCTION_LEN', 2));
    expectExit(env, { reason: 12, rip: sym('hh128') });
    expect(env.p.lo[3]).toBe(0x80);
    expect(frame(env, 0)).toBe(GUEST_CODE + 2);
  });
  test('software exception #BP with instruction length', () => {
    const { env, sym } = inject(0x80000603, (env) => w(env, 'VM_ENTRY_INSTRUCTION_LEN', 1));
    expectExit(env, { reason: 12, rip: sym('hh3') });
    expect(env.p.lo[3]).toBe(3);
    expect(frame(env, 0)).toBe(GUEST_CODE + 1);
  });
});

describe('EPT', () => {
  const HOLE = 0x2000000;
  const buildEpt = (env: VmxEnv, holeEntry: number): void => {
    const mem = env.m.memory;
    mem.fill(EPT_PML4, 0x3000, 0);
    mem.write32(EPT_PML4, (EPT_PML4 + 0x1000) | 7);
    mem.write32(EPT_PML4 + 0x1000, (EPT_PML4 + 0x2000) | 7);
    for (let j = 0; j < 32; j++) mem.write32(EPT_PML4 + 0x2000 + j * 8, j * 0x200000 + (7 | (6 << 3) | 0x80));
    mem.write32(EPT_PML4 + 0x2000 + (HOLE >>> 21) * 8, holeEntry);
    w(env, 'EPT_POINTER', EPT_PML4 | 6 | (3 << 3));
  };
  const guest = (a: Assembler): void => { a.mov(ebx, HOLE + 0x10); a.label('x'); a.mov(eax, mem(rbx)); a.hlt(); };
  test('EPT violation: reason 48, qualification, guest-physical address', () => {
    const { env, sym } = runGuest('long64', guest, { proc2: 1 << 1 }, (env) => buildEpt(env, 0));
    expectExit(env, { reason: 48, rip: sym('x') });
    const q = r(env, 'EXIT_QUALIFICATION');
    expect(q & 7).toBe(1); // data read
    expect((q >>> 3) & 7).toBe(0); // not present
    expect(q & 0x80).toBe(0x80); // guest-linear address valid
    expect(r(env, 'GUEST_PHYSICAL_ADDRESS')).toBe(HOLE + 0x10);
    expect(r(env, 'GUEST_LINEAR_ADDRESS')).toBe(HOLE + 0x10);
  });
  test('EPT misconfiguration (W without R): reason 49', () => {
    const { env, sym } = runGuest('long64', guest, { proc2: 1 << 1 }, (env) => buildEpt(env, HOLE | 2 | (6 << 3) | 0x80));
    expectExit(env, { reason: 49, rip: sym('x') });
    expect(r(env, 'GUEST_PHYSICAL_ADDRESS')).toBe(HOLE + 0x10);
  });
});
