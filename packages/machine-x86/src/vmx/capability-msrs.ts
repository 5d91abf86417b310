/**
 * VMX-related MSR numbers (Intel SDM Vol. 3D Appendix A "VMX Capability
 * Reporting Facility"; Vol. 4 "Model-Specific Registers").
 *
 * Numbers only: the values these MSRs report are modelled elsewhere.
 */

/** IA32_FEATURE_CONTROL: lock bit, VMXON inside/outside SMX. */
export const IA32_FEATURE_CONTROL = 0x3a;

export const IA32_VMX_BASIC = 0x480;
export const IA32_VMX_PINBASED_CTLS = 0x481;
export const IA32_VMX_PROCBASED_CTLS = 0x482;
export const IA32_VMX_EXIT_CTLS = 0x483;
export const IA32_VMX_ENTRY_CTLS = 0x484;
export const IA32_VMX_MISC = 0x485;
export const IA32_VMX_CR0_FIXED0 = 0x486;
export const IA32_VMX_CR0_FIXED1 = 0x487;
export const IA32_VMX_CR4_FIXED0 = 0x488;
export const IA32_VMX_CR4_FIXED1 = 0x489;
export const IA32_VMX_VMCS_ENUM = 0x48a;
export const IA32_VMX_PROCBASED_CTLS2 = 0x48b;
export const IA32_VMX_EPT_VPID_CAP = 0x48c;
export const IA32_VMX_TRUE_PINBASED_CTLS = 0x48d;
export const IA32_VMX_TRUE_PROCBASED_CTLS = 0x48e;
export const IA32_VMX_TRUE_EXIT_CTLS = 0x48f;
export const IA32_VMX_TRUE_ENTRY_CTLS = 0x490;
export const IA32_VMX_VMFUNC = 0x491;
export const IA32_VMX_PROCBASED_CTLS3 = 0x492;
export const IA32_VMX_EXIT_CTLS2 = 0x493;

/** All IA32_VMX_* capability MSRs, keyed by SDM name. */
export const VMX_CAPABILITY_MSRS: Readonly<Record<string, number>> = Object.freeze({
  IA32_VMX_BASIC,
  IA32_VMX_PINBASED_CTLS,
  IA32_VMX_PROCBASED_CTLS,
  IA32_VMX_EXIT_CTLS,
  IA32_VMX_ENTRY_CTLS,
  IA32_VMX_MISC,
  IA32_VMX_CR0_FIXED0,
  IA32_VMX_CR0_FIXED1,
  IA32_VMX_CR4_FIXED0,
  IA32_VMX_CR4_FIXED1,
  IA32_VMX_VMCS_ENUM,
  IA32_VMX_PROCBASED_CTLS2,
  IA32_VMX_EPT_VPID_CAP,
  IA32_VMX_TRUE_PINBASED_CTLS,
  IA32_VMX_TRUE_PROCBASED_CTLS,
  IA32_VMX_TRUE_EXIT_CTLS,
  IA32_VMX_TRUE_ENTRY_CTLS,
  IA32_VMX_VMFUNC,
  IA32_VMX_PROCBASED_CTLS3,
  IA32_VMX_EXIT_CTLS2,
});
