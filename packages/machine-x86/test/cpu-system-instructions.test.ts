// System instructions and models: CPUID, MSRs, the translator stand-in, I/O permission bitmap,
// LAR/LSL/VERR/VERW, SGDT/SIDT/UMIP, LLDT/LTR, FXSAVE/FXRSTOR, MOV DR, far CALL/RETF, IRET to
// an outer level, real-mode triple fault.
import { describe, expect, it } from 'vitest';
import { ErrorCodes, type AddressTranslator, type AddressTranslatorFactory } from '@latelaunch/kernel';
import * as X from '@latelaunch/x86-isa';
import { AR, Activity, Cr0, Cr4, Efer, Seg, Vec } from '../src/cpu/state.js';
import { CPU_FAULT } from '../src/cpu/fault.js';
import { CpuidModel, type CpuidResult } from '../src/cpu/cpuid.js';
import { Msr, readMsr, writeMsr } from '../src/cpu/msr.js';
import { MissingPagingPluginError, StandinTranslator } from '../src/cpu/translator-standin.js';
import { ProcessorPagingControl } from '../src/cpu/memory-access.js';
import { configureProcessor } from '../src/cpu/system-context.js';
import { GDT_BASE, LDT_BASE, SEL, TSS_BASE, enter32, enter64, gate32, gate64, load, makeHarness, runToHalt, type Harness } from './helpers/system-harness.js';

const CODE = 0x10000;
const H = 0x6000;

function faultOf(h: Harness, fn: () => void): [number, number] | null {
  try {
    fn();
    return null;
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    return [h.p.pendingVector, h.p.pendingErrorCode];
  }
}

describe('CPUID model', () => {
  const r: CpuidResult = { eax: 0, ebx: 0, ecx: 0, edx: 0 };
  it('vendor, signature, feature bits, APIC ID per processor', () => {
    const m = new CpuidModel({ threadsPerCore: 2, coresPerPackage: 4 });
    m.query(0, 0, 0, r);
    expect(r.eax).toBe(0x0b);
    const vendor = Buffer.alloc(12);
    vendor.writeUInt32LE(r.ebx, 0);
    vendor.writeUInt32LE(r.edx, 4);
    vendor.writeUInt32LE(r.ecx, 8);
    expect(vendor.toString('latin1')).toBe('GenuineIntel');
    m.query(1, 0, m.apicIdOf(5), r);
    expect(r.eax).toBe(0x00050654);
    expect(r.ebx >>> 24).toBe(5); // thread 1 of core 2: (2 << 1) | 1
    expect((r.ebx >>> 16) & 0xff).toBe(8);
    expect(r.ecx & (1 << 5)).toBe(1 << 5); // VMX
    expect(r.ecx & (1 << 21)).toBe(1 << 21); // x2APIC
    expect(r.ecx >>> 31).toBe(0); // no hypervisor
    expect(r.edx & (1 << 28)).toBe(1 << 28); // HTT
    m.query(0x80000001, 0, 0, r);
    expect(r.edx & ((1 << 29) | (1 << 20) | (1 << 11))).toBe((1 << 29) | (1 << 20) | (1 << 11));
    m.query(0x80000008, 0, 0, r);
    expect(r.eax).toBe(39 | (48 << 8));
  });

  it('leaf 0xB: SMT and core levels with x2APIC IDs', () => {
    const m = new CpuidModel({ threadsPerCore: 2, coresPerPackage: 3 });
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => m.apicIdOf(i))).toEqual([0, 1, 2, 3, 4, 5, 8]);
    m.query(0xb, 0, 5, r);
    expect([r.eax, r.ebx, r.ecx, r.edx]).toEqual([1, 2, 0x100, 5]);
    m.query(0xb, 1, 5, r);
    expect([r.eax, r.ebx, r.ecx, r.edx]).toEqual([3, 6, 0x201, 5]);
    m.query(0xb, 2, 5, r);
    expect([r.eax, r.ebx, r.ecx & 0xff00, r.edx]).toEqual([0, 0, 0, 5]);
  });

  it('out-of-range leaves (incl. 0x40000000 on bare metal) return the highest basic leaf; MISC_ENABLE limits', () => {
    const m = new CpuidModel();
    const top: CpuidResult = { eax: 0, ebx: 0, ecx: 0, edx: 0 };
    m.query(0xb, 7, 3, top);
    m.query(0x40000000, 7, 3, r);
    expect(r).toEqual(top);
    m.query(0, 0, 0, r, 1n << 22n);
    expect(r.eax).toBe(2);
    m.query(0x80000001, 0, 0, r, 1n << 34n);
    expect(r.edx & (1 << 20)).toBe(0);
    m.setHypervisorLeaves((leaf, _sub, out) => {
      if (leaf !== 0x40000000) return false;
      out.eax = 0x40000001;
      out.ebx = 0x6c74616c;
      out.ecx = 0;
      out.edx = 0;
      return true;
    });
    m.query(0x40000000, 0, 0, r);
    expect(r.eax).toBe(0x40000001);
  });

  it('CPUID instruction reads EAX/ECX and writes the four registers (zero-extended)', () => {
    const h = makeHarness();
    enter64(h);
    configureProcessor(h.p, { cpuid: new CpuidModel({ brand: 'abc' }), apicId: 7 });
    load(h, 64, CODE, (a) => {
      a.mov(X.rax, -1n);
      a.mov(X.eax, 1);
      a.cpuid();
      a.mov(X.r8, X.rbx);
      a.mov(X.eax, 0x80000002);
      a.cpuid();
      a.hlt();
    });
    h.s.rip = CODE;
    runToHalt(h);
    expect(Number(h.s.getReg64(8) >> 24n)).toBe(7);
    expect(h.s.getReg64(0)).toBe(0x00636261n);
    // CPUID.1:EDX.APIC follows IA32_APIC_BASE.EN.
    writeMsr(h.p, Msr.APIC_BASE, 0xfee00000n);
    load(h, 64, CODE, (a) => {
      a.mov(X.eax, 1);
      a.cpuid();
      a.hlt();
    });
    h.s.rip = CODE;
    h.s.activity = Activity.ACTIVE;
    runToHalt(h);
    expect(h.s.lo[2] & (1 << 9)).toBe(0);
  });
});

describe('MSRs', () => {
  it('defaults, canonical checks, reserved bits, unknown MSRs → #GP(0)', () => {
    const h = makeHarness();
    enter64(h);
    expect(readMsr(h.p, Msr.APIC_BASE)).toBe(0xfee00900n);
    expect(readMsr(h.p, Msr.PAT)).toBe(0x0007040600070406n);
    expect(readMsr(h.p, Msr.MISC_ENABLE)).toBe(0x1801n);
    expect(readMsr(h.p, Msr.MTRRCAP)).toBe(0x508n);
    expect(faultOf(h, () => readMsr(h.p, 0x12345))).toEqual([Vec.GP, 0]);
    expect(faultOf(h, () => writeMsr(h.p, Msr.LSTAR, 0x0000800000000000n))).toEqual([Vec.GP, 0]);
    writeMsr(h.p, Msr.LSTAR, 0xffff800000001000n);
    expect(readMsr(h.p, Msr.LSTAR)).toBe(0xffff800000001000n);
    writeMsr(h.p, Msr.GS_BASE, 0xffff888000000000n);
    expect(h.s.segBase[Seg.GS]).toBe(-0x778000000000);
    expect(faultOf(h, () => writeMsr(h.p, Msr.PAT, 0x0007040600070402n))).toEqual([Vec.GP, 0]);
    expect(faultOf(h, () => writeMsr(h.p, Msr.TSC_AUX, 1n << 32n))).toEqual([Vec.GP, 0]);
    expect(faultOf(h, () => writeMsr(h.p, Msr.MTRR_DEF_TYPE, 0x2n))).toEqual([Vec.GP, 0]);
    writeMsr(h.p, Msr.MTRR_DEF_TYPE, 0xc06n);
    expect(faultOf(h, () => writeMsr(h.p, Msr.MTRR_PHYSBASE0 + 1, 1n << 40n))).toEqual([Vec.GP, 0]);
  });

  it('EFER: reserved bits, LMA read-only, LME change with paging on → #GP(0)', () => {
    const h = makeHarness();
    enter64(h);
    expect(faultOf(h, () => writeMsr(h.p, Msr.EFER, 1n << 12n))).toEqual([Vec.GP, 0]);
    expect(faultOf(h, () => writeMsr(h.p, Msr.EFER, BigInt(Efer.SCE | Efer.LMA)))).toEqual([Vec.GP, 0]); // clears LME with PG = 1
    writeMsr(h.p, Msr.EFER, BigInt(Efer.LME | Efer.NXE)); // LMA not written: stays set
    expect(h.s.efer).toBe(Efer.LME | Efer.LMA | Efer.NXE);
    writeMsr(h.p, Msr.MISC_ENABLE, 0x1801n | (1n << 34n));
    expect(faultOf(h, () => writeMsr(h.p, Msr.EFER, BigInt(Efer.LME | Efer.NXE)))).toEqual([Vec.GP, 0]);
  });

  it('APIC_BASE x2APIC transitions (SDM 10.12.5), FEATURE_CONTROL lock', () => {
    const h = makeHarness();
    enter64(h);
    expect(faultOf(h, () => writeMsr(h.p, Msr.APIC_BASE, 0xfee00000n | (1n << 10n)))).toEqual([Vec.GP, 0]); // EXTD without EN
    writeMsr(h.p, Msr.APIC_BASE, 0xfee00000n | (3n << 10n)); // xAPIC → x2APIC
    expect(faultOf(h, () => writeMsr(h.p, Msr.APIC_BASE, 0xfee00000n | (1n << 11n)))).toEqual([Vec.GP, 0]); // x2APIC → xAPIC
    writeMsr(h.p, Msr.APIC_BASE, 0xfee00000n); // → disabled
    expect(faultOf(h, () => writeMsr(h.p, Msr.APIC_BASE, 0xfee00000n | (3n << 10n)))).toEqual([Vec.GP, 0]); // disabled → x2APIC
    expect(readMsr(h.p, Msr.APIC_BASE) & (1n << 8n)).toBe(1n << 8n); // BSP kept
    writeMsr(h.p, Msr.FEATURE_CONTROL, 5n);
    expect(faultOf(h, () => writeMsr(h.p, Msr.FEATURE_CONTROL, 5n))).toEqual([Vec.GP, 0]);
  });

  it('RDMSR/WRMSR/RDTSC instructions; TSC writes set the offset; CPL 3 → #GP(0)', () => {
    const h = makeHarness();
    enter64(h);
    let t = 1000;
    configureProcessor(h.p, { tsc: () => t });
    load(h, 64, CODE, (a) => {
      a.mov(X.ecx, Msr.TSC);
      a.xor(X.eax, X.eax);
      a.mov(X.edx, 1);
      a.wrmsr();
      a.rdtsc();
      a.hlt();
    });
    h.s.rip = CODE;
    runToHalt(h);
    expect(h.s.lo[2]).toBe(1);
    expect(h.s.lo[0]).toBe(0);
    t = 1500;
    expect(readMsr(h.p, Msr.TSC)).toBe((1n << 32n) + 500n);
  });
});

describe('translator stand-in', () => {
  it('identity without paging; enabling paging without a factory raises a typed error naming @latelaunch/paging', () => {
    const pc = new ProcessorPagingControl();
    const t = new StandinTranslator(pc);
    const out = { physical: 0, fault: 0, errorCode: 0 };
    expect(t.translate(0x1234, 0, false, out)).toBe(true);
    expect(out.physical).toBe(0x1234);
    pc.cr0 = Cr0.PE | Cr0.PG;
    expect(() => t.controlRegisterWritten('cr0', Cr0.PE)).toThrow(MissingPagingPluginError);
    try {
      t.controlRegisterWritten('cr0', Cr0.PE);
    } catch (e) {
      expect((e as MissingPagingPluginError).code).toBe(ErrorCodes.MissingExtension);
      expect((e as Error).message).toContain('@latelaunch/paging');
    }
  });

  it('delegates to a factory-made translator once paging is enabled', () => {
    const pc = new ProcessorPagingControl();
    const calls: string[] = [];
    const inner: AddressTranslator = {
      translate: (l, _a, _s, o) => {
        o.physical = l + 0x100000;
        return true;
      },
      controlRegisterWritten: (w) => (calls.push(w), true),
      invalidatePage: () => calls.push('invlpg'),
      flushAll: () => calls.push('flush'),
    };
    const factory = { name: 'test', create: () => inner } as unknown as AddressTranslatorFactory;
    const h = makeHarness();
    const t = new StandinTranslator(pc, h.mem, factory);
    pc.cr0 = Cr0.PE | Cr0.PG;
    expect(t.controlRegisterWritten('cr0', Cr0.PE)).toBe(true);
    const out = { physical: 0, fault: 0, errorCode: 0 };
    t.translate(0x10, 0, false, out);
    expect(out.physical).toBe(0x100010);
    t.invalidatePage(0);
    expect(calls).toEqual(['cr0', 'invlpg']);
  });
});

describe('I/O permission (SDM Vol. 1 18.5)', () => {
  it('CPL > IOPL consults the TSS bitmap; allowed ports pass, others #GP(0); CLI at CPL 3 → #GP(0)', () => {
    const h = makeHarness();
    enter32(h, 3);
    const seen: number[] = [];
    h.bus.registerPorts(0x80, 2, { read: () => 0x5a, write: (port, _s, v) => void seen.push(port, v) }, 'test');
    h.mem.write16(TSS_BASE + 0x66, 0x68); // bitmap right after the TSS
    h.mem.fill(TSS_BASE + 0x68, 0x400, 0xff);
    h.mem.write8(TSS_BASE + 0x68 + 0x10, 0xfe); // port 0x80 allowed, 0x81 not
    gate32(h, Vec.GP, H);
    h.mem.write32(TSS_BASE + 4, 0x60000);
    h.mem.write16(TSS_BASE + 8, SEL.DATA);
    load(h, 32, H, (a) => a.hlt());
    load(h, 32, CODE, (a) => {
      a.mov(X.al, 0x11);
      a.out(0x80, X.al);
      a.in(X.al, 0x80);
      a.out(0x81, X.al);
    });
    h.s.rip = CODE;
    runToHalt(h);
    expect(seen).toEqual([0x80, 0x11]);
    expect(h.s.lo[0] & 0xff).toBe(0x5a);
    expect(h.s.rip).toBe(H + 1);
    expect(h.mem.read32(0x60000 - 24)).toBe(0);
  });
});

describe('descriptor-table instructions', () => {
  it('SGDT/SIDT store limit and base; UMIP makes them #GP(0) at CPL 3; SLDT/STR', () => {
    const h = makeHarness();
    enter64(h);
    load(h, 64, CODE, (a) => {
      a.sgdt(X.mem(0x9000));
      a.sidt(X.mem(0x9010));
      a.str(X.ax);
      a.hlt();
    });
    h.s.rip = CODE;
    runToHalt(h);
    expect(h.mem.read16(0x9000)).toBe(0x97);
    expect(h.mem.read64(0x9002)).toBe(BigInt(GDT_BASE));
    expect(h.mem.read16(0x9010)).toBe(0xfff);
    expect(h.s.lo[0] & 0xffff).toBe(SEL.TSS);
    const u = makeHarness();
    enter64(u, 3);
    u.s.cr4 |= Cr4.UMIP;
    u.mem.write32(TSS_BASE + 4, 0x60000);
    gate64(u, Vec.GP, H);
    load(u, 64, H, (a) => a.hlt());
    load(u, 64, CODE, (a) => a.sgdt(X.mem(0x9000)));
    u.s.rip = CODE;
    runToHalt(u);
    expect(u.s.rip).toBe(H + 1);
  });

  it('LLDT/LTR with 16-byte descriptors in IA-32e mode; LTR marks the TSS busy and refuses a busy one', () => {
    const h = makeHarness();
    enter64(h);
    h.s.segAr[Seg.TR] = AR.UNUSABLE;
    gate64(h, Vec.GP, H);
    load(h, 64, H, (a) => a.hlt());
    load(h, 64, CODE, (a) => {
      a.mov(X.rsp, 0x80000);
      a.mov(X.ax, SEL.LDT);
      a.lldt(X.ax);
      a.mov(X.ax, SEL.TSS);
      a.ltr(X.ax);
      a.label('again');
      a.ltr(X.ax);
    });
    h.s.rip = CODE;
    runToHalt(h);
    expect(h.s.segSel[Seg.LDTR]).toBe(SEL.LDT);
    expect(h.s.segBase[Seg.LDTR]).toBe(LDT_BASE);
    expect(h.s.segAr[Seg.TR] & 0xf).toBe(0xb);
    expect((h.mem.read32(GDT_BASE + SEL.TSS + 4) >>> 8) & 0xf).toBe(0xb);
    expect(h.mem.read64(0x80000 - 48)).toBe(BigInt(SEL.TSS)); // #GP(sel): busy
  });

  it('LAR/LSL/VERR/VERW set ZF and load access rights / limit', () => {
    const h = makeHarness();
    enter32(h, 3);
    load(h, 32, CODE, (a) => {
      a.mov(X.eax, SEL.DATA3 | 3);
      a.lar(X.ebx, X.eax);
      a.lsl(X.ecx, X.eax);
      a.mov(X.esi, 0);
      a.mov(X.eax, SEL.DATA | 3);
      a.lar(X.esi, X.eax); // DPL 0 < CPL 3: ZF = 0, ESI unchanged
      a.setz(X.dl);
      a.verw(X.ax);
      a.setz(X.dh);
      a.mov(X.eax, SEL.CODE_XO);
      a.verr(X.ax);
      a.hlt();
    });
    h.s.rip = CODE;
    h.p.run(12);
    expect(h.s.lo[3] >>> 0).toBe(0x00cff200); // LAR does not set the accessed bit
    expect(h.s.lo[1] >>> 0).toBe(0xffffffff);
    expect(h.s.lo[6]).toBe(0);
    expect(h.s.lo[2] & 0xffff).toBe(0);
  });
});

describe('serialising and cache instructions', () => {
  it('MFENCE/LFENCE/SFENCE, INVD/WBINVD (CPL 0) are no-ops; INVLPG tells the translator the linear address', () => {
    const h = makeHarness();
    enter64(h);
    h.s.segBase[Seg.FS] = 0x100000;
    load(h, 64, CODE, (a) => {
      a.mfence();
      a.lfence();
      a.sfence();
      a.wbinvd();
      a.invd();
      a.invlpg(X.mem(X.fs, 0x2345) as never);
      a.hlt();
    });
    h.s.rip = CODE;
    runToHalt(h);
    expect(h.s.activity).toBe(Activity.HLT);
    expect(h.mmu.invalidated).toEqual([0x102345]);
  });
});

describe('FXSAVE / FXRSTOR, MOV DR', () => {
  it('saves the image with MXCSR_MASK, requires 16-byte alignment, checks MXCSR reserved bits', () => {
    const h = makeHarness();
    enter64(h);
    gate64(h, Vec.GP, H);
    load(h, 64, H, (a) => a.hlt());
    h.s.fxsave[160] = 0xab; // XMM0 byte 0
    load(h, 64, CODE, (a) => {
      a.mov(X.rsp, 0x80000);
      a.fxsave(X.mem(0x9000));
      a.mov(X.dword(0x9000 + 24), 0x1f80 | 0x8000);
      a.mov(X.byte(0x9000 + 160), 0xcd);
      a.fxrstor(X.mem(0x9000));
      a.fxsave(X.mem(0x9008));
    });
    h.s.rip = CODE;
    h.p.run(5);
    expect(h.mem.read16(0x9000)).toBe(0x037f);
    expect(h.mem.read32(0x9000 + 24)).toBe(0x1f80 | 0x8000);
    expect(h.mem.read32(0x9000 + 28)).toBe(0xffbf);
    expect(h.s.fxsave[160]).toBe(0xcd);
    runToHalt(h);
    expect(h.s.rip).toBe(H + 1); // misaligned FXSAVE
    h.mem.write32(0x9000 + 24, 0x10000);
    load(h, 64, CODE, (a) => a.fxrstor(X.mem(0x9000)));
    h.s.rip = CODE;
    h.s.activity = Activity.ACTIVE;
    h.s.fxsave[160] = 0;
    runToHalt(h);
    expect(h.s.fxsave[160]).toBe(0); // not restored
  });

  it('DR4/DR5 alias DR6/DR7 unless CR4.DE (#UD); DR6/DR7 fixed bits', () => {
    const h = makeHarness();
    enter64(h);
    load(h, 64, CODE, (a) => {
      a.mov(X.rax, 0);
      a.mov(X.dr7, X.rax);
      a.mov(X.rbx, X.dr5);
      a.mov(X.rax, 0xffffffffn);
      a.mov(X.dr6, X.rax);
      a.mov(X.rcx, X.dr4);
      a.hlt();
    });
    h.s.rip = CODE;
    runToHalt(h);
    expect(h.s.getReg64(3)).toBe(0x400n);
    expect(h.s.getReg64(1)).toBe(0xffffeff0n | 0xe00fn);
  });
});

describe('far transfers', () => {
  it('CALLF to a 32-bit segment from 64-bit mode and RETF back; an 8-byte (legacy) call gate in IA-32e mode → #GP(sel)', () => {
    const h = makeHarness();
    enter64(h);
    gate64(h, Vec.GP, H);
    load(h, 64, H, (a) => a.hlt());
    load(h, 32, 0x20000, (a) => {
      a.mov(X.eax, 0x32);
      a.retfd();
    });
    load(h, 64, CODE, (a) => {
      a.mov(X.rsp, 0x80000);
      a.callFar(X.fword('ptr'));
      a.mov(X.rbx, X.rax);
      a.callFar(X.fword('gate'));
      a.label('ptr');
      a.dd(0x20000);
      a.dw(SEL.CODE32);
      a.label('gate');
      a.dd(0);
      a.dw(SEL.CALL_GATE);
    });
    h.s.rip = CODE;
    runToHalt(h);
    expect(h.s.lo[3]).toBe(0x32);
    expect(h.s.rip).toBe(H + 1);
    expect(h.mem.read64(0x80000 - 48)).toBe(BigInt(SEL.CALL_GATE));
  });

  it('32-bit call gate: CALLF from CPL 3 switches to the TSS stack and copies parameters; RETF 8 returns', () => {
    const h = makeHarness();
    enter32(h, 3);
    h.mem.write32(TSS_BASE + 4, 0x60000);
    h.mem.write16(TSS_BASE + 8, SEL.DATA);
    h.mem.write32(GDT_BASE + SEL.CALL_GATE + 4, 0x0000ec02); // 2 parameters
    load(h, 32, 0x5000, (a) => {
      a.mov(X.eax, X.dword(X.esp, 8)); // first parameter copied (pushed last by the caller)
      a.mov(X.ebx, X.dword(X.esp, 12));
      a.retf(8);
    });
    const prog = load(h, 32, CODE, (a) => {
      a.mov(X.esp, 0x80000);
      a.push(0xaaaa);
      a.push(0xbbbb);
      a.callFar(SEL.CALL_GATE | 3, 0);
      a.label('back');
      a.jmp('back');
    });
    h.s.rip = CODE;
    h.p.run(4);
    expect(h.p.cpl).toBe(0);
    expect(h.s.segSel[Seg.SS]).toBe(SEL.DATA);
    const r = 0x60000 - 24;
    expect(h.s.lo[4] >>> 0).toBe(r);
    expect([0, 4, 8, 12, 16, 20].map((k) => h.mem.read32(r + k))).toEqual([prog.address('back'), SEL.CODE32_3 | 3, 0xbbbb, 0xaaaa, 0x80000 - 8, SEL.DATA3 | 3]);
    h.p.run(3);
    expect(h.s.lo[0]).toBe(0xbbbb);
    expect(h.s.lo[3]).toBe(0xaaaa);
    expect(h.p.cpl).toBe(3);
    expect(h.s.lo[4]).toBe(0x80000);
    expect(h.s.rip).toBe(prog.address('back'));
  });

  it('64-bit call gate: CALLF m16:32 from CPL 3 to CPL 0 with RSP0 and a null SS; RETFQ back', () => {
    const h = makeHarness();
    enter64(h, 3);
    h.s.gdtrLimit = 0xa7;
    const gate = (0x5000 & 0xffff) | (SEL.CODE64 << 16);
    h.mem.write32(GDT_BASE + 0x98, gate);
    h.mem.write32(GDT_BASE + 0x9c, 0x0000ec00);
    h.mem.write32(GDT_BASE + 0xa0, 0);
    h.mem.write32(GDT_BASE + 0xa4, 0);
    h.mem.write32(TSS_BASE + 4, 0x60000);
    load(h, 64, 0x5000, (a) => {
      a.mov(X.rax, 0x64);
      a.retfq();
    });
    const prog = load(h, 64, CODE, (a) => {
      a.mov(X.rsp, 0x80000);
      a.callFar(X.fword('gp'));
      a.label('back');
      a.jmp('back');
      a.label('gp');
      a.dd(0);
      a.dw(0x98 | 3);
    });
    h.s.rip = CODE;
    h.p.run(2);
    expect(h.p.cpl).toBe(0);
    expect(h.s.segSel[Seg.SS]).toBe(0);
    expect(h.s.lo[4]).toBe(0x60000 - 32);
    expect([0, 8, 16, 24].map((k) => h.mem.read64(0x60000 - 32 + k))).toEqual([BigInt(prog.address('back')), BigInt(SEL.CODE64_3 | 3), 0x80000n, BigInt(SEL.DATA3 | 3)]);
    h.p.run(2);
    expect(h.p.cpl).toBe(3);
    expect(h.s.lo[0]).toBe(0x64);
    expect(h.s.lo[4]).toBe(0x80000);
    expect(h.s.segSel[Seg.SS]).toBe(SEL.DATA3 | 3);
  });

  it('IRETD to an outer privilege level nulls DS/ES that the new CPL may not use', () => {
    const h = makeHarness();
    enter32(h);
    load(h, 32, CODE, (a) => {
      a.mov(X.esp, 0x80000);
      a.push(SEL.DATA3 | 3);
      a.push(0x70000);
      a.push(0x202);
      a.push(SEL.CODE32_3 | 3);
      a.push('user');
      a.iret();
      a.label('user');
      a.jmp('user');
    });
    h.s.rip = CODE;
    h.p.run(8);
    expect(h.p.cpl).toBe(3);
    expect(h.s.segSel[Seg.DS]).toBe(0);
    expect(h.s.segAr[Seg.DS] & AR.UNUSABLE).toBe(AR.UNUSABLE);
    expect(h.s.segSel[Seg.SS]).toBe(SEL.DATA3 | 3);
    expect(h.s.lo[4]).toBe(0x70000);
    expect(h.s.rflags & 0x200).toBe(0x200);
  });

  it('real mode: INT with the IVT limit too small → #GP → #DF → triple fault', () => {
    const h = makeHarness();
    load(h, 16, 0x7c00, (a) => {
      a.lidt(X.fword('idtr'));
      a.int(0x21);
      a.label('idtr');
      a.dw(0x20); // #GP (13·4+3) and #DF (8·4+3) are outside too
      a.dd(0);
    });
    h.s.segSel[Seg.CS] = 0;
    h.s.segBase[Seg.CS] = 0;
    h.s.rip = 0x7c00;
    h.s.lo[4] = 0x7000;
    h.p.modeChanged();
    runToHalt(h);
    expect(h.s.activity).toBe(Activity.SHUTDOWN);
  });
});

