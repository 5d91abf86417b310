import { describe, expect, it } from 'vitest';
import {
  IA32_FEATURE_CONTROL,
  IA32_VMX_BASIC,
  IA32_VMX_EXIT_CTLS2,
  IA32_VMX_VMCS_ENUM,
  VMX_CAPABILITY_MSRS,
} from '../src/vmx/capability-msrs.js';
import {
  EXIT_REASON,
  EXIT_REASON_NAMES,
  VMCS_ENCODING,
  VMCS_FIELDS,
  VMX_ERROR,
  VM_INSTRUCTION_ERRORS,
  fieldAccessHigh,
  fieldByEncoding,
  fieldByName,
  fieldIndex,
  fieldType,
  fieldWidth,
  isValidEncoding,
  makeEncoding,
} from '../src/vmx/vmcs-fields.js';

describe('VMCS field table', () => {
  it('declares the width/type its encoding bits name, with no reserved bits set', () => {
    for (const f of VMCS_FIELDS) {
      expect(fieldWidth(f.encoding), f.name).toBe(f.width);
      expect(fieldType(f.encoding), f.name).toBe(f.type);
      expect(fieldAccessHigh(f.encoding), f.name).toBe(f.high);
      expect(f.encoding & ~0x6fff, f.name).toBe(0);
      expect(makeEncoding(f.width, f.type, fieldIndex(f.encoding), f.high), f.name).toBe(f.encoding);
      expect(isValidEncoding(f.encoding), f.name).toBe(true);
      expect(fieldByEncoding(f.encoding)).toBe(f);
      expect(fieldByName(f.name)).toBe(f);
    }
  });

  it('has unique encodings and unique names', () => {
    expect(new Set(VMCS_FIELDS.map((f) => f.encoding)).size).toBe(VMCS_FIELDS.length);
    expect(new Set(VMCS_FIELDS.map((f) => f.name)).size).toBe(VMCS_FIELDS.length);
  });

  it('pairs every 64-bit field with a HIGH half at encoding | 1; other widths use access type 0', () => {
    for (const f of VMCS_FIELDS) {
      if (f.width === 64 && !f.high) {
        const hi = fieldByEncoding(f.encoding | 1);
        expect(hi?.name, f.name).toBe(`${f.name}_HIGH`);
        expect(hi?.high).toBe(true);
        expect(hi?.type).toBe(f.type);
      } else if (f.width === 64) {
        expect(fieldByEncoding(f.encoding & ~1)?.high, f.name).toBe(false);
      } else {
        expect(f.encoding & 1, f.name).toBe(0);
        expect(f.high).toBe(false);
      }
    }
  });

  it('covers all sixteen width/type groups except 16-bit read-only, which the SDM leaves empty', () => {
    const counts = new Map<string, number>();
    for (const f of VMCS_FIELDS) counts.set(`${f.width}/${f.type}`, (counts.get(`${f.width}/${f.type}`) ?? 0) + 1);
    expect(counts.has('16/read-only')).toBe(false);
    expect(counts.size).toBe(15);
  });

  // Pinned values verified against the Linux kernel's arch/x86/include/asm/vmx.h
  // `enum vmcs_field` and VMware open-vm-tools x86vt-vmcs-fields.h ("SDM Appendix B");
  // SECONDARY_VM_EXIT_CONTROLS and the CET fields against Linux KVM FRED/CET patches.
  it('pins well-known encodings', () => {
    const pinned: Record<string, number> = {
      VIRTUAL_PROCESSOR_ID: 0x0000,
      GUEST_ES_SELECTOR: 0x0800,
      GUEST_CS_SELECTOR: 0x0802,
      GUEST_TR_SELECTOR: 0x080e,
      HOST_TR_SELECTOR: 0x0c0c,
      IO_BITMAP_A: 0x2000,
      IO_BITMAP_A_HIGH: 0x2001,
      MSR_BITMAP: 0x2004,
      TSC_OFFSET: 0x2010,
      EPT_POINTER: 0x201a,
      EPT_POINTER_HIGH: 0x201b,
      ENCLS_EXITING_BITMAP: 0x202e,
      TSC_MULTIPLIER: 0x2032,
      GUEST_PHYSICAL_ADDRESS: 0x2400,
      VMCS_LINK_POINTER: 0x2800,
      GUEST_IA32_EFER: 0x2806,
      GUEST_IA32_BNDCFGS: 0x2812,
      HOST_IA32_PERF_GLOBAL_CTRL: 0x2c04,
      PIN_BASED_VM_EXEC_CONTROL: 0x4000,
      CPU_BASED_VM_EXEC_CONTROL: 0x4002,
      SECONDARY_VM_EXEC_CONTROL: 0x401e,
      VM_INSTRUCTION_ERROR: 0x4400,
      VM_EXIT_REASON: 0x4402,
      VMX_INSTRUCTION_INFO: 0x440e,
      GUEST_CS_AR_BYTES: 0x4816,
      GUEST_INTERRUPTIBILITY_INFO: 0x4824,
      GUEST_ACTIVITY_STATE: 0x4826,
      GUEST_SMBASE: 0x4828,
      GUEST_SYSENTER_CS: 0x482a,
      VMX_PREEMPTION_TIMER_VALUE: 0x482e,
      HOST_IA32_SYSENTER_CS: 0x4c00,
      CR0_GUEST_HOST_MASK: 0x6000,
      CR4_READ_SHADOW: 0x6006,
      CR3_TARGET_VALUE3: 0x600e,
      EXIT_QUALIFICATION: 0x6400,
      IO_RIP: 0x6408,
      GUEST_LINEAR_ADDRESS: 0x640a,
      GUEST_CR0: 0x6800,
      GUEST_RIP: 0x681e,
      GUEST_RFLAGS: 0x6820,
      HOST_CR3: 0x6c02,
      HOST_RSP: 0x6c14,
      HOST_RIP: 0x6c16,
      SECONDARY_VM_EXIT_CONTROLS: 0x2044,
      GUEST_SSP: 0x682a,
      HOST_IA32_S_CET: 0x6c18,
    };
    for (const [name, enc] of Object.entries(pinned)) {
      expect(VMCS_ENCODING[name], name).toBe(enc);
      expect(fieldByEncoding(enc)?.name).toBe(name);
    }
  });

  it('decodes encoding bits directly', () => {
    expect(fieldWidth(0x0802)).toBe(16);
    expect(fieldWidth(0x2001)).toBe(64);
    expect(fieldWidth(0x4402)).toBe(32);
    expect(fieldWidth(0x6400)).toBe('natural');
    expect(fieldType(0x4402)).toBe('read-only');
    expect(fieldType(0x681e)).toBe('guest');
    expect(fieldType(0x6c16)).toBe('host');
    expect(fieldIndex(0x681e)).toBe(15);
  });

  it('rejects malformed or unknown encodings', () => {
    expect(isValidEncoding(0x0801)).toBe(false); // HIGH access of a 16-bit field
    expect(isValidEncoding(0x4403)).toBe(false); // HIGH access of a 32-bit field
    expect(isValidEncoding(0x6401)).toBe(false); // HIGH access of a natural field
    expect(isValidEncoding(0x1000)).toBe(false); // bit 12 reserved
    expect(isValidEncoding(0x8000 | 0x0800)).toBe(false); // bit 15 reserved
    expect(isValidEncoding(0x0400)).toBe(false); // no 16-bit read-only fields
    expect(isValidEncoding(0x6c7e)).toBe(false); // unused index
    expect(isValidEncoding(-1)).toBe(false);
    expect(isValidEncoding(1.5)).toBe(false);
    expect(fieldByEncoding(0x1234)).toBeUndefined();
  });
});

describe('VM-instruction errors and exit reasons', () => {
  it('lists errors 1..28 without the unused numbers, names matching VMX_ERROR', () => {
    expect([...VM_INSTRUCTION_ERRORS.keys()]).toEqual(
      Array.from({ length: 28 }, (_, i) => i + 1).filter((n) => n !== 14 && n !== 21 && n !== 27),
    );
    expect(new Set(Object.values(VMX_ERROR))).toEqual(new Set(VM_INSTRUCTION_ERRORS.keys()));
    expect(VM_INSTRUCTION_ERRORS.get(VMX_ERROR.VMLAUNCH_NONCLEAR_VMCS)).toBe('VMLAUNCH with non-clear VMCS');
    expect(VM_INSTRUCTION_ERRORS.get(7)).toBe('VM entry with invalid control field(s)');
    expect(VM_INSTRUCTION_ERRORS.get(12)).toBe('VMREAD/VMWRITE from/to unsupported VMCS component');
    expect(VM_INSTRUCTION_ERRORS.get(28)).toBe('Invalid operand to INVEPT/INVVPID');
  });

  it('lists basic exit reasons 0..69 without 35, 38, 42', () => {
    expect([...EXIT_REASON_NAMES.keys()]).toEqual(
      Array.from({ length: 70 }, (_, i) => i).filter((n) => n !== 35 && n !== 38 && n !== 42),
    );
    expect(new Set(Object.values(EXIT_REASON))).toEqual(new Set(EXIT_REASON_NAMES.keys()));
    // Spot checks against Linux arch/x86/include/asm/vmx.h EXIT_REASON_* values.
    expect(EXIT_REASON.CPUID).toBe(10);
    expect(EXIT_REASON.HLT).toBe(12);
    expect(EXIT_REASON.VMCALL).toBe(18);
    expect(EXIT_REASON.CONTROL_REGISTER_ACCESS).toBe(28);
    expect(EXIT_REASON.IO_INSTRUCTION).toBe(30);
    expect(EXIT_REASON.ENTRY_FAILURE_INVALID_GUEST_STATE).toBe(33);
    expect(EXIT_REASON.EPT_VIOLATION).toBe(48);
    expect(EXIT_REASON.EPT_MISCONFIGURATION).toBe(49);
    expect(EXIT_REASON.XSETBV).toBe(55);
    expect(EXIT_REASON.PAGE_MODIFICATION_LOG_FULL).toBe(62);
    expect(EXIT_REASON_NAMES.get(52)).toBe('VMX-preemption timer expired');
  });
});

describe('VMX capability MSRs', () => {
  it('numbers IA32_VMX_* contiguously from 0x480 to 0x493', () => {
    expect(IA32_FEATURE_CONTROL).toBe(0x3a);
    expect(IA32_VMX_BASIC).toBe(0x480);
    expect(IA32_VMX_VMCS_ENUM).toBe(0x48a);
    expect(IA32_VMX_EXIT_CTLS2).toBe(0x493);
    expect(Object.values(VMX_CAPABILITY_MSRS).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => 0x480 + i),
    );
  });
});
