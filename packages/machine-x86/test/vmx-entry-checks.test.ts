// VM-entry checks (SDM Vol. 3C 27.2, 27.3.1): every named check in CONTROL_CHECKS / HOST_CHECKS /
// GUEST_CHECKS is violated in isolation starting from a valid VMCS (taken from the running
// processor), and the architectural outcome is verified: VMfailValid(7) for controls,
// VMfailValid(8) for host state, a VM-entry failure VM exit (reason 33 | 0x80000000) for guest
// state; plus the MSR-load failure (reason 34) and the PDPTE-load failure (qualification 2).
import { describe, expect, test } from 'vitest';
import { CONTROL_CHECKS, GUEST_CHECKS, HOST_CHECKS, SUPPORTED_FIELDS } from '../src/index.js';
import { Cr0, Cr4, Efer } from '../src/cpu/state.js';
import { F } from '../src/vmx/vmcs.js';
import {
  assemble, ctl, E, EPT_PML4, exits, GUEST_CODE, HOST_CODE, load, MSR_AREA, PAE_PDPT, prepareVmcs, r, vmxMachine, w,
  type VmxEnv, type VmxMode,
} from './helpers/vmx.js';

const FAILED = 0x80000000;
const NONCANONICAL = 0x0000800000000000n;
const EPTP_OK = EPT_PML4 | 6 | (3 << 3); // WB, 4-level walk
/** A spare page for a broken PDPT (free in the helper's memory layout). */
const BAD_PDPT = 0x17000;

/** The valid starting point: host code HLT, guest code CPUID; HLT; VMCS from the current state. */
function setup(mode: VmxMode = 'long64', controls: Parameters<typeof prepareVmcs>[2] = {}): VmxEnv {
  const env = vmxMachine(mode);
  const bits = mode === 'long64' ? 64 : 32;
  load(env, assemble(bits, HOST_CODE, (a) => a.hlt()), assemble(bits, GUEST_CODE, (a) => { a.cpuid(); a.hlt(); }));
  prepareVmcs(env, GUEST_CODE, controls);
  if ((controls.proc2 ?? 0) & (1 << 1)) {
    // EPT: identity map of the low 1 GiB (PML4 → PDPT with one 1-GiB WB page).
    const mem = env.m.memory;
    mem.fill(EPT_PML4, 0x2000, 0);
    mem.write32(EPT_PML4, (EPT_PML4 + 0x1000) | 7);
    mem.write32(EPT_PML4 + 0x1000, 0x80 | (6 << 3) | 7);
    w(env, 'EPT_POINTER', EPTP_OK);
  }
  return env;
}

/** Every writable supported field's value (to restore a valid VMCS after a failing entry). */
function snapshot(env: VmxEnv): Map<number, bigint> {
  const m = new Map<number, bigint>();
  for (const name of SUPPORTED_FIELDS) {
    const enc = E[name];
    if (((enc >>> 10) & 3) === 1) continue; // read-only exit-information fields
    const v = env.vmx.vmread(enc);
    if (v !== null) m.set(enc, v);
  }
  return m;
}

function restore(env: VmxEnv, snap: Map<number, bigint>): void {
  for (const [enc, v] of snap) expect(env.vmx.vmwrite(enc, v).status).toBe('succeed');
}

/** Pretends the CPUID model supports PCID (IA32_VMX_CR4_FIXED1 with CR4.PCIDE allowed). */
function allowPcide(env: VmxEnv): void {
  (env.u as unknown as { caps: object }).caps = { ...env.u.caps, cr4Fixed1: (env.u.caps.cr4Fixed1 | Cr4.PCIDE) >>> 0 };
}

const cr0 = (env: VmxEnv): number => env.p.state.cr0 >>> 0;
const cr4 = (env: VmxEnv): number => env.p.state.cr4 >>> 0;
const intr = (type: number, vector: number, extra = 0): number => (FAILED | (type << 8) | vector | extra) >>> 0;

interface Case {
  check: string;
  mode?: VmxMode;
  controls?: Parameters<typeof prepareVmcs>[2];
  /** Breaks exactly the check's condition (after the valid VMCS is prepared). */
  break: (env: VmxEnv) => void;
  /** Exit qualification of a guest-state failure (default 0). */
  qualification?: number;
  note?: string;
}

const CONTROL_CASES: Case[] = [
  { check: 'controls.pin-based-reserved-bits', break: (e) => w(e, 'PIN_BASED_VM_EXEC_CONTROL', ctl(e, 'pin') | (1 << 7)) /* posted interrupts: not allowed-1 */ },
  { check: 'controls.pin-based-reserved-bits', note: 'default-1 bit clear', break: (e) => w(e, 'PIN_BASED_VM_EXEC_CONTROL', 0) },
  { check: 'controls.processor-based-reserved-bits', break: (e) => w(e, 'CPU_BASED_VM_EXEC_CONTROL', ctl(e, 'proc') & ~2) },
  { check: 'controls.processor-based-reserved-bits', note: 'unsupported MONITOR exiting', break: (e) => w(e, 'CPU_BASED_VM_EXEC_CONTROL', ctl(e, 'proc', 1 << 29)) },
  { check: 'controls.secondary-reserved-bits', break: (e) => { w(e, 'CPU_BASED_VM_EXEC_CONTROL', ctl(e, 'proc', 0x80000000)); w(e, 'SECONDARY_VM_EXEC_CONTROL', 1 << 30); } },
  { check: 'controls.cr3-target-count', break: (e) => w(e, 'CR3_TARGET_COUNT', 5) },
  { check: 'controls.io-bitmap-addresses', break: (e) => { w(e, 'CPU_BASED_VM_EXEC_CONTROL', ctl(e, 'proc', 1 << 25)); w(e, 'IO_BITMAP_A', 0x14000); w(e, 'IO_BITMAP_B', 0x15008); } },
  { check: 'controls.io-bitmap-addresses', note: 'beyond MAXPHYADDR', break: (e) => { w(e, 'CPU_BASED_VM_EXEC_CONTROL', ctl(e, 'proc', 1 << 25)); w(e, 'IO_BITMAP_A', 2 ** e.u.maxPhys); w(e, 'IO_BITMAP_B', 0x15000); } },
  { check: 'controls.msr-bitmap-address', break: (e) => { w(e, 'CPU_BASED_VM_EXEC_CONTROL', ctl(e, 'proc', 1 << 28)); w(e, 'MSR_BITMAP', 0x13008); } },
  { check: 'controls.virtual-nmis-need-nmi-exiting', break: (e) => w(e, 'PIN_BASED_VM_EXEC_CONTROL', ctl(e, 'pin', 1 << 5)) },
  { check: 'controls.nmi-window-needs-virtual-nmis', break: (e) => w(e, 'CPU_BASED_VM_EXEC_CONTROL', ctl(e, 'proc', 1 << 22)) },
  { check: 'controls.ept-pointer', controls: { proc2: 1 << 1 }, break: (e) => w(e, 'EPT_POINTER', EPT_PML4 | 1 | (3 << 3)) /* memory type 1 */ },
  { check: 'controls.ept-pointer', note: 'walk length 5', controls: { proc2: 1 << 1 }, break: (e) => w(e, 'EPT_POINTER', EPT_PML4 | 6 | (4 << 3)) },
  { check: 'controls.ept-pointer', note: 'reserved bits 11:7', controls: { proc2: 1 << 1 }, break: (e) => w(e, 'EPT_POINTER', EPTP_OK | 0x100) },
  { check: 'controls.unrestricted-guest-needs-ept', controls: { proc2: 1 << 7 }, break: () => {} },
  { check: 'controls.vpid-nonzero', controls: { proc2: 1 << 5 }, break: (e) => w(e, 'VIRTUAL_PROCESSOR_ID', 0) },
  { check: 'controls.exit-reserved-bits', break: (e) => w(e, 'VM_EXIT_CONTROLS', ctl(e, 'exit', (1 << 9) | (1 << 12))) },
  { check: 'controls.save-preemption-timer-needs-timer', break: (e) => w(e, 'VM_EXIT_CONTROLS', ctl(e, 'exit', (1 << 9) | (1 << 22))) },
  { check: 'controls.exit-msr-store-area', break: (e) => { w(e, 'VM_EXIT_MSR_STORE_COUNT', 1); w(e, 'VM_EXIT_MSR_STORE_ADDR', MSR_AREA + 8); } },
  { check: 'controls.exit-msr-load-area', break: (e) => { w(e, 'VM_EXIT_MSR_LOAD_COUNT', 513); w(e, 'VM_EXIT_MSR_LOAD_ADDR', MSR_AREA); } },
  { check: 'controls.exit-msr-load-area', note: 'list crosses MAXPHYADDR', break: (e) => { w(e, 'VM_EXIT_MSR_LOAD_COUNT', 2); w(e, 'VM_EXIT_MSR_LOAD_ADDR', 2 ** e.u.maxPhys - 16); } },
  { check: 'controls.entry-reserved-bits', break: (e) => w(e, 'VM_ENTRY_CONTROLS', ctl(e, 'entry', (1 << 9) | (1 << 13))) },
  { check: 'controls.entry-msr-load-area', break: (e) => { w(e, 'VM_ENTRY_MSR_LOAD_COUNT', 1); w(e, 'VM_ENTRY_MSR_LOAD_ADDR', MSR_AREA + 4); } },
  { check: 'controls.injection-type', break: (e) => w(e, 'VM_ENTRY_INTR_INFO', intr(1, 0x20)) },
  { check: 'controls.injection-type', note: 'type 7 (other event) without MTF', break: (e) => w(e, 'VM_ENTRY_INTR_INFO', intr(7, 0)) },
  { check: 'controls.injection-vector', break: (e) => w(e, 'VM_ENTRY_INTR_INFO', intr(2, 3)) /* NMI must be vector 2 */ },
  { check: 'controls.injection-vector', note: 'hardware exception > 31', break: (e) => w(e, 'VM_ENTRY_INTR_INFO', intr(3, 32)) },
  { check: 'controls.injection-deliver-error-code', break: (e) => w(e, 'VM_ENTRY_INTR_INFO', intr(3, 13)) /* #GP without error code */ },
  { check: 'controls.injection-deliver-error-code', note: '#UD with error code', break: (e) => w(e, 'VM_ENTRY_INTR_INFO', intr(3, 6, 0x800)) },
  { check: 'controls.injection-reserved-bits', break: (e) => w(e, 'VM_ENTRY_INTR_INFO', intr(3, 6, 1 << 12)) },
  { check: 'controls.injection-error-code', break: (e) => { w(e, 'VM_ENTRY_INTR_INFO', intr(3, 13, 0x800)); w(e, 'VM_ENTRY_EXCEPTION_ERROR_CODE', 0x10000); } },
  { check: 'controls.injection-instruction-length', break: (e) => { w(e, 'VM_ENTRY_INTR_INFO', intr(4, 0x80)); w(e, 'VM_ENTRY_INSTRUCTION_LEN', 0); } },
  { check: 'controls.injection-instruction-length', note: 'length 16', break: (e) => { w(e, 'VM_ENTRY_INTR_INFO', intr(6, 3)); w(e, 'VM_ENTRY_INSTRUCTION_LEN', 16); } },
];

const HOST_CASES: Case[] = [
  { check: 'host.cr0-fixed-bits', break: (e) => w(e, 'HOST_CR0', (cr0(e) & ~Cr0.NE) >>> 0) },
  { check: 'host.cr0-fixed-bits', note: 'bits 63:32', break: (e) => w(e, 'HOST_CR0', (1n << 32n) | BigInt(cr0(e))) },
  { check: 'host.cr4-fixed-bits', break: (e) => w(e, 'HOST_CR4', (cr4(e) & ~Cr4.VMXE) >>> 0) },
  { check: 'host.cr4-fixed-bits', note: 'unsupported bit (PCIDE on a model without PCID)', break: (e) => w(e, 'HOST_CR4', cr4(e) | Cr4.PCIDE) },
  { check: 'host.cr3-width', break: (e) => w(e, 'HOST_CR3', 2 ** e.u.maxPhys) },
  { check: 'host.sysenter-canonical', break: (e) => w(e, 'HOST_IA32_SYSENTER_ESP', NONCANONICAL) },
  { check: 'host.sysenter-canonical', note: 'EIP', break: (e) => w(e, 'HOST_IA32_SYSENTER_EIP', 0x1234_0000_0000_0000n) },
  { check: 'host.pat', break: (e) => { w(e, 'VM_EXIT_CONTROLS', ctl(e, 'exit', (1 << 9) | (1 << 19))); w(e, 'HOST_IA32_PAT', 0x0007040600070406n | (2n << 56n)); } },
  { check: 'host.efer', break: (e) => { w(e, 'VM_EXIT_CONTROLS', ctl(e, 'exit', (1 << 9) | (1 << 21))); w(e, 'HOST_IA32_EFER', Efer.SCE) /* LMA/LME ≠ host address-space size */; } },
  { check: 'host.efer', note: 'reserved bit', break: (e) => { w(e, 'VM_EXIT_CONTROLS', ctl(e, 'exit', (1 << 9) | (1 << 21))); w(e, 'HOST_IA32_EFER', Efer.LME | Efer.LMA | 2); } },
  { check: 'host.selector-rpl-ti', break: (e) => w(e, 'HOST_DS_SELECTOR', 0x13) },
  { check: 'host.selector-rpl-ti', note: 'TR TI', break: (e) => w(e, 'HOST_TR_SELECTOR', 0x24) },
  { check: 'host.cs-not-null', break: (e) => w(e, 'HOST_CS_SELECTOR', 0) },
  { check: 'host.tr-not-null', break: (e) => w(e, 'HOST_TR_SELECTOR', 0) },
  { check: 'host.ss-not-null-32bit', mode: 'protected32', break: (e) => w(e, 'HOST_SS_SELECTOR', 0) },
  { check: 'host.bases-canonical', break: (e) => w(e, 'HOST_FS_BASE', NONCANONICAL) },
  { check: 'host.bases-canonical', note: 'IDTR', break: (e) => w(e, 'HOST_IDTR_BASE', 0xffff_0000_0000_0000n) },
  { check: 'host.address-space-size', break: (e) => w(e, 'VM_EXIT_CONTROLS', ctl(e, 'exit')) /* LMA = 1, host 32-bit */ },
  {
    check: 'host.address-space-size', mode: 'protected32', note: 'processor not in IA-32e mode, 64-bit host',
    break: (e) => w(e, 'VM_EXIT_CONTROLS', ctl(e, 'exit', 1 << 9)),
  },
  { check: 'host.address-space-size', mode: 'pae', note: 'processor not in IA-32e mode, IA-32e guest', break: (e) => w(e, 'VM_ENTRY_CONTROLS', ctl(e, 'entry', 1 << 9)) },
  {
    // A processor without IA-32e mode cannot VMWRITE bits 63:32 of natural-width fields; the high half is
    // put into the VMCS data directly (as if a 64-bit VMM had written it), with the write generation bumped.
    check: 'host.32bit-cr4-pcide-and-rip', mode: 'protected32', note: 'RIP bits 63:32',
    break: (e) => { const v = e.u.current!; v.hi[F.HOST_RIP] = 1; v.writes++; },
  },
  {
    // PCIDE is not allowed by this CPUID model's IA32_VMX_CR4_FIXED1 (host.cr4-fixed-bits catches it
    // first), so the capability is widened to reach the check.
    check: 'host.32bit-cr4-pcide-and-rip', mode: 'protected32', note: 'CR4.PCIDE (model with PCID)',
    break: (e) => { allowPcide(e); w(e, 'HOST_CR4', cr4(e) | Cr4.PCIDE); },
  },
  { check: 'host.64bit-pae-and-rip', break: (e) => w(e, 'HOST_RIP', NONCANONICAL) },
  { check: 'host.64bit-pae-and-rip', note: 'CR4.PAE clear', break: (e) => w(e, 'HOST_CR4', (cr4(e) & ~Cr4.PAE) >>> 0) },
];

const V86_SEGS = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS'] as const;

const GUEST_CASES: Case[] = [
  { check: 'guest.cr0-fixed-bits', break: (e) => w(e, 'GUEST_CR0', (cr0(e) & ~Cr0.NE) >>> 0) },
  { check: 'guest.cr0-fixed-bits', note: 'PE clear without unrestricted guest', break: (e) => w(e, 'GUEST_CR0', (cr0(e) & ~Cr0.PE) >>> 0) },
  {
    // PE is fixed to 1 unless "unrestricted guest" (which needs EPT) is on.
    check: 'guest.cr0-pg-needs-pe', controls: { proc2: (1 << 1) | (1 << 7) },
    break: (e) => { w(e, 'GUEST_CR0', (cr0(e) & ~Cr0.PE) >>> 0); },
  },
  { check: 'guest.cr4-fixed-bits', break: (e) => w(e, 'GUEST_CR4', (cr4(e) & ~Cr4.VMXE) >>> 0) },
  { check: 'guest.debugctl', break: (e) => { w(e, 'VM_ENTRY_CONTROLS', ctl(e, 'entry', (1 << 9) | (1 << 2))); w(e, 'GUEST_IA32_DEBUGCTL', 4); } },
  { check: 'guest.ia32e-needs-pg-pae', break: (e) => w(e, 'GUEST_CR4', (cr4(e) & ~Cr4.PAE) >>> 0) },
  {
    // CR4.PCIDE is not allowed by this CPUID model (guest.cr4-fixed-bits would fail first); widen the
    // capability. The processor is in IA-32e mode but the guest is not an IA-32e guest.
    check: 'guest.legacy-no-pcide',
    break: (e) => { allowPcide(e); w(e, 'VM_ENTRY_CONTROLS', ctl(e, 'entry')); w(e, 'GUEST_CR4', cr4(e) | Cr4.PCIDE); },
  },
  { check: 'guest.cr3-width', break: (e) => w(e, 'GUEST_CR3', 2 ** e.u.maxPhys) },
  { check: 'guest.dr7-high', break: (e) => { w(e, 'VM_ENTRY_CONTROLS', ctl(e, 'entry', (1 << 9) | (1 << 2))); w(e, 'GUEST_DR7', 0x1_0000_0400n); } },
  { check: 'guest.sysenter-canonical', break: (e) => w(e, 'GUEST_SYSENTER_EIP', NONCANONICAL) },
  { check: 'guest.pat', break: (e) => { w(e, 'VM_ENTRY_CONTROLS', ctl(e, 'entry', (1 << 9) | (1 << 14))); w(e, 'GUEST_IA32_PAT', 0x0007040600070403n); } },
  { check: 'guest.efer', break: (e) => { w(e, 'VM_ENTRY_CONTROLS', ctl(e, 'entry', (1 << 9) | (1 << 15))); w(e, 'GUEST_IA32_EFER', Efer.LME) /* LMA ≠ IA-32e mode guest */; } },
  { check: 'guest.efer', note: 'LME ≠ LMA with paging', break: (e) => { w(e, 'VM_ENTRY_CONTROLS', ctl(e, 'entry', (1 << 9) | (1 << 15))); w(e, 'GUEST_IA32_EFER', Efer.LMA); } },
  { check: 'guest.tr-ti', break: (e) => w(e, 'GUEST_TR_SELECTOR', 0x24) },
  { check: 'guest.ldtr-ti', break: (e) => { w(e, 'GUEST_LDTR_SELECTOR', 0x2c); w(e, 'GUEST_LDTR_AR_BYTES', 0x82); w(e, 'GUEST_LDTR_LIMIT', 0xfff); } },
  { check: 'guest.ss-rpl-equals-cs-rpl', break: (e) => w(e, 'GUEST_SS_SELECTOR', 0x13) },
  { check: 'guest.v86-segments', break: (e) => w(e, 'GUEST_RFLAGS', 0x20002) /* segments are flat protected-mode segments */ },
  { check: 'guest.bases', break: (e) => w(e, 'GUEST_FS_BASE', NONCANONICAL) },
  { check: 'guest.bases', note: 'CS base bits 63:32', break: (e) => w(e, 'GUEST_CS_BASE', 1n << 32n) },
  { check: 'guest.cs-access-rights', break: (e) => w(e, 'GUEST_CS_AR_BYTES', (r(e, 'GUEST_CS_AR_BYTES') & ~0xf) | 3) /* type 3 needs unrestricted guest */ },
  { check: 'guest.cs-access-rights', note: 'not present', break: (e) => w(e, 'GUEST_CS_AR_BYTES', r(e, 'GUEST_CS_AR_BYTES') & ~0x80) },
  { check: 'guest.cs-access-rights', note: 'L and D/B in an IA-32e guest', break: (e) => w(e, 'GUEST_CS_AR_BYTES', r(e, 'GUEST_CS_AR_BYTES') | 0x4000) },
  { check: 'guest.ss-access-rights', break: (e) => w(e, 'GUEST_SS_AR_BYTES', (r(e, 'GUEST_SS_AR_BYTES') & ~0xf) | 0xb) },
  { check: 'guest.ss-access-rights', note: 'G clear with limit > 1 MiB', break: (e) => w(e, 'GUEST_SS_AR_BYTES', r(e, 'GUEST_SS_AR_BYTES') & ~0x8000) },
  { check: 'guest.data-segment-access-rights', break: (e) => w(e, 'GUEST_DS_AR_BYTES', (r(e, 'GUEST_DS_AR_BYTES') & ~0xf) | 0x9) /* execute-only code */ },
  { check: 'guest.data-segment-access-rights', note: 'reserved bits 11:8', break: (e) => w(e, 'GUEST_GS_AR_BYTES', r(e, 'GUEST_GS_AR_BYTES') | 0x100) },
  { check: 'guest.data-segment-access-rights', note: 'DPL < RPL', break: (e) => w(e, 'GUEST_ES_SELECTOR', 0x13) },
  { check: 'guest.tr-access-rights', break: (e) => w(e, 'GUEST_TR_AR_BYTES', 0x83) /* 16-bit TSS in an IA-32e guest */ },
  { check: 'guest.tr-access-rights', note: 'unusable', break: (e) => w(e, 'GUEST_TR_AR_BYTES', 0x1008b) },
  { check: 'guest.ldtr-access-rights', break: (e) => { w(e, 'GUEST_LDTR_SELECTOR', 0x28); w(e, 'GUEST_LDTR_AR_BYTES', 0x83); w(e, 'GUEST_LDTR_LIMIT', 0xfff); } },
  { check: 'guest.gdtr-idtr', break: (e) => w(e, 'GUEST_GDTR_LIMIT', 0x10000) },
  { check: 'guest.gdtr-idtr', note: 'IDTR base', break: (e) => w(e, 'GUEST_IDTR_BASE', NONCANONICAL) },
  { check: 'guest.rip', break: (e) => w(e, 'GUEST_RIP', NONCANONICAL) },
  { check: 'guest.rip', note: 'bits 63:32 with CS.L = 0', break: (e) => { w(e, 'GUEST_CS_AR_BYTES', (r(e, 'GUEST_CS_AR_BYTES') & ~0x2000) | 0x4000); w(e, 'GUEST_RIP', 0x1_0000_0000n); } },
  { check: 'guest.rflags-reserved', break: (e) => w(e, 'GUEST_RFLAGS', 0) /* bit 1 must be 1 */ },
  { check: 'guest.rflags-reserved', note: 'bit 3', break: (e) => w(e, 'GUEST_RFLAGS', 0xa) },
  {
    // A valid virtual-8086 segment set, so that only RFLAGS.VM in an IA-32e guest is wrong.
    check: 'guest.rflags-vm',
    break: (e) => {
      for (const n of V86_SEGS) {
        w(e, `GUEST_${n}_SELECTOR`, 0x100);
        w(e, `GUEST_${n}_BASE`, 0x1000);
        w(e, `GUEST_${n}_LIMIT`, 0xffff);
        w(e, `GUEST_${n}_AR_BYTES`, 0xf3);
      }
      w(e, 'GUEST_RFLAGS', 0x20002);
    },
  },
  { check: 'guest.rflags-if-for-external-interrupt', break: (e) => w(e, 'VM_ENTRY_INTR_INFO', intr(0, 0x20)) },
  { check: 'guest.activity-state', break: (e) => w(e, 'GUEST_ACTIVITY_STATE', 4) },
  {
    // SS.DPL = 3 must be consistent with the other segment checks: a CPL-3 guest (CS, SS RPL/DPL 3).
    check: 'guest.activity-hlt-needs-ss-dpl0',
    break: (e) => {
      w(e, 'GUEST_CS_SELECTOR', r(e, 'GUEST_CS_SELECTOR') | 3);
      w(e, 'GUEST_CS_AR_BYTES', r(e, 'GUEST_CS_AR_BYTES') | 0x60);
      w(e, 'GUEST_SS_SELECTOR', r(e, 'GUEST_SS_SELECTOR') | 3);
      w(e, 'GUEST_SS_AR_BYTES', r(e, 'GUEST_SS_AR_BYTES') | 0x60);
      w(e, 'GUEST_ACTIVITY_STATE', 1);
    },
  },
  { check: 'guest.activity-blocking-needs-active', break: (e) => { w(e, 'GUEST_RFLAGS', 0x202); w(e, 'GUEST_ACTIVITY_STATE', 1); w(e, 'GUEST_INTERRUPTIBILITY_INFO', 1); } },
  { check: 'guest.activity-injection', break: (e) => { w(e, 'GUEST_RFLAGS', 0x202); w(e, 'GUEST_ACTIVITY_STATE', 3); w(e, 'VM_ENTRY_INTR_INFO', intr(0, 0x20)); } },
  { check: 'guest.activity-injection', note: 'shutdown state, external interrupt', break: (e) => { w(e, 'GUEST_RFLAGS', 0x202); w(e, 'GUEST_ACTIVITY_STATE', 2); w(e, 'VM_ENTRY_INTR_INFO', intr(0, 0x20)); } },
  { check: 'guest.activity-injection', note: 'HLT state, #GP', break: (e) => { w(e, 'GUEST_ACTIVITY_STATE', 1); w(e, 'VM_ENTRY_INTR_INFO', intr(3, 13, 0x800)); } },
  { check: 'guest.interruptibility-reserved', break: (e) => w(e, 'GUEST_INTERRUPTIBILITY_INFO', 0x10) },
  { check: 'guest.interruptibility-reserved', note: 'blocking by SMI outside SMM', break: (e) => w(e, 'GUEST_INTERRUPTIBILITY_INFO', 4) },
  { check: 'guest.interruptibility-sti-and-mov-ss', break: (e) => { w(e, 'GUEST_RFLAGS', 0x202); w(e, 'GUEST_INTERRUPTIBILITY_INFO', 3); } },
  { check: 'guest.interruptibility-sti-needs-if', break: (e) => w(e, 'GUEST_INTERRUPTIBILITY_INFO', 1) },
  { check: 'guest.interruptibility-external-interrupt', break: (e) => { w(e, 'GUEST_RFLAGS', 0x202); w(e, 'GUEST_INTERRUPTIBILITY_INFO', 2); w(e, 'VM_ENTRY_INTR_INFO', intr(0, 0x20)); } },
  { check: 'guest.interruptibility-nmi', break: (e) => { w(e, 'GUEST_INTERRUPTIBILITY_INFO', 2); w(e, 'VM_ENTRY_INTR_INFO', intr(2, 2)); } },
  {
    check: 'guest.interruptibility-nmi', note: 'virtual-NMI blocking', controls: { pin: (1 << 3) | (1 << 5) },
    break: (e) => { w(e, 'GUEST_INTERRUPTIBILITY_INFO', 8); w(e, 'VM_ENTRY_INTR_INFO', intr(2, 2)); },
  },
  { check: 'guest.pending-debug-exceptions', break: (e) => w(e, 'GUEST_PENDING_DBG_EXCEPTIONS', 0x10) },
  { check: 'guest.pending-debug-exceptions', note: 'STI blocking, TF = 1, BS = 0', break: (e) => { w(e, 'GUEST_RFLAGS', 0x302); w(e, 'GUEST_INTERRUPTIBILITY_INFO', 1); } },
  { check: 'guest.pending-debug-exceptions', note: 'HLT, TF = 0, BS = 1', break: (e) => { w(e, 'GUEST_ACTIVITY_STATE', 1); w(e, 'GUEST_PENDING_DBG_EXCEPTIONS', 0x4000); } },
  { check: 'guest.vmcs-link-pointer', qualification: 4, break: (e) => w(e, 'VMCS_LINK_POINTER', 0x123000) /* revision identifier 0 there */ },
  { check: 'guest.vmcs-link-pointer', qualification: 4, note: 'not aligned', break: (e) => w(e, 'VMCS_LINK_POINTER', 0x12008) },
  {
    check: 'guest.pdptes', mode: 'pae', controls: { proc2: 1 << 1 },
    break: (e) => { w(e, 'GUEST_PDPTE1', 0x1a000 | 1 | 4) /* bit 2 reserved */; },
  },
];

function hasRecord(env: VmxEnv, kind: string, check: string): boolean {
  return env.records.some((x) => x.kind === 'vmx.entry-check' && (x.data as { kind: string; check: string }).kind === kind && (x.data as { check: string }).check === check);
}

/** After a VM-entry failure exit: fix the VMCS and launch again (launch state is still clear). */
function relaunchAfterFix(env: VmxEnv, snap: Map<number, bigint>, fix?: () => void): void {
  restore(env, snap);
  fix?.();
  const res = env.vmx.vmlaunch();
  // (u.lastFailedCheck is not reset by a successful entry: see the report.)
  expect(res.status).toBe('succeed');
  expect(env.u.nonRoot).toBe(true);
  expect(env.u.current!.launched).toBe(true);
  env.m.run({ maxInstructions: 100 });
  expect(exits(env).at(-1)).toBe(10);
}

function title(c: Case): string {
  return `${c.check}${c.note ? ` (${c.note})` : ''}${c.mode && c.mode !== 'long64' ? ` [${c.mode}]` : ''}`;
}

describe('VM-entry checks on the controls: VMfailValid(7)', () => {
  for (const c of CONTROL_CASES) {
    test(title(c), () => {
      const env = setup(c.mode, c.controls);
      c.break(env);
      const res = env.vmx.vmlaunch();
      expect(env.u.lastFailedCheck).toBe(c.check);
      expect(res).toEqual({ status: 'fail-valid', error: 7 });
      expect(r(env, 'VM_INSTRUCTION_ERROR')).toBe(7);
      expect(hasRecord(env, 'controls', c.check)).toBe(true);
      expect(env.u.nonRoot).toBe(false);
      expect(env.u.current!.launched).toBe(false);
    });
  }
});

describe('VM-entry checks on the host-state area: VMfailValid(8)', () => {
  for (const c of HOST_CASES) {
    test(title(c), () => {
      const env = setup(c.mode, c.controls);
      c.break(env);
      const res = env.vmx.vmlaunch();
      expect(env.u.lastFailedCheck).toBe(c.check);
      expect(res).toEqual({ status: 'fail-valid', error: 8 });
      expect(r(env, 'VM_INSTRUCTION_ERROR')).toBe(8);
      expect(hasRecord(env, 'host', c.check)).toBe(true);
      expect(env.u.nonRoot).toBe(false);
      expect(env.u.current!.launched).toBe(false);
    });
  }
});

describe('VM-entry checks on the guest-state area: VM-entry failure exit 33', () => {
  for (const c of GUEST_CASES) {
    test(title(c), () => {
      const env = setup(c.mode, c.controls);
      const snap = snapshot(env);
      c.break(env);
      env.p.state.rip = HOST_CODE + 0x40; // wherever the VMM is; the failure exit goes to HOST_RIP
      const res = env.vmx.vmlaunch();
      expect(env.u.lastFailedCheck).toBe(c.check);
      expect(res.status).toBe('succeed');
      expect(r(env, 'VM_EXIT_REASON')).toBe((FAILED | 33) >>> 0);
      expect(r(env, 'EXIT_QUALIFICATION')).toBe(c.qualification ?? 0);
      expect(hasRecord(env, 'guest', c.check)).toBe(true);
      expect(exits(env)).toEqual([(FAILED | 33) >>> 0]);
      expect(env.u.nonRoot).toBe(false);
      expect(env.p.state.rip).toBe(HOST_CODE);
      expect(env.u.current!.launched).toBe(false);
      relaunchAfterFix(env, snap);
    });
  }

  test('MSR-load failure: exit 34, qualification = failing entry number', () => {
    const env = setup();
    const snap = snapshot(env);
    const mem = env.m.memory;
    // entry 1: IA32_SYSENTER_CS (valid); entry 2: 0xdeadbeef (#GP on WRMSR)
    mem.write32(MSR_AREA, 0x174); mem.write32(MSR_AREA + 4, 0); mem.write32(MSR_AREA + 8, 0x10); mem.write32(MSR_AREA + 12, 0);
    mem.write32(MSR_AREA + 16, 0xdeadbeef); mem.write32(MSR_AREA + 20, 0); mem.write32(MSR_AREA + 24, 0); mem.write32(MSR_AREA + 28, 0);
    w(env, 'VM_ENTRY_MSR_LOAD_ADDR', MSR_AREA);
    w(env, 'VM_ENTRY_MSR_LOAD_COUNT', 2);
    const res = env.vmx.vmlaunch();
    expect(res.status).toBe('succeed');
    expect(env.u.lastFailedCheck).toBe('msr-load.entry-2');
    expect(hasRecord(env, 'msr-load', 'msr-load.entry-2')).toBe(true);
    expect(r(env, 'VM_EXIT_REASON')).toBe((FAILED | 34) >>> 0);
    expect(r(env, 'EXIT_QUALIFICATION')).toBe(2);
    expect(env.u.nonRoot).toBe(false);
    expect(env.p.state.rip).toBe(HOST_CODE);
    expect(env.u.current!.launched).toBe(false);
    relaunchAfterFix(env, snap);
  });

  test('MSR-load failure: reserved dword non-zero in entry 1', () => {
    const env = setup();
    const mem = env.m.memory;
    mem.write32(MSR_AREA, 0x174); mem.write32(MSR_AREA + 4, 1); mem.write32(MSR_AREA + 8, 0); mem.write32(MSR_AREA + 12, 0);
    w(env, 'VM_ENTRY_MSR_LOAD_ADDR', MSR_AREA);
    w(env, 'VM_ENTRY_MSR_LOAD_COUNT', 1);
    env.vmx.vmlaunch();
    expect(r(env, 'VM_EXIT_REASON')).toBe((FAILED | 34) >>> 0);
    expect(r(env, 'EXIT_QUALIFICATION')).toBe(1);
  });

  test('PDPTE-load failure (PAE guest without EPT, reserved bits): qualification 2', () => {
    const env = setup('pae');
    const snap = snapshot(env);
    const mem = env.m.memory;
    for (let k = 0; k < 8; k++) mem.write32(BAD_PDPT + k * 4, mem.read32(PAE_PDPT + k * 4));
    mem.write32(BAD_PDPT + 8, mem.read32(PAE_PDPT + 8) | 0x6); // PDPTE1 bits 2:1 reserved
    w(env, 'GUEST_CR3', BAD_PDPT);
    const res = env.vmx.vmlaunch();
    expect(res.status).toBe('succeed');
    expect(env.u.lastFailedCheck).toBe('guest.pdptes-load');
    expect(hasRecord(env, 'guest', 'guest.pdptes-load')).toBe(true);
    expect(r(env, 'VM_EXIT_REASON')).toBe((FAILED | 33) >>> 0);
    expect(r(env, 'EXIT_QUALIFICATION')).toBe(2);
    expect(env.u.nonRoot).toBe(false);
    expect(env.p.state.rip).toBe(HOST_CODE);
    expect(env.p.state.cr3).toBe(PAE_PDPT);
    expect(env.u.current!.launched).toBe(false);
    relaunchAfterFix(env, snap);
  });
});

describe('the check table covers every named check', () => {
  const covered = new Set([...CONTROL_CASES, ...HOST_CASES, ...GUEST_CASES].map((c) => c.check));
  test('every exported check has a violating test', () => {
    const names = [...CONTROL_CHECKS, ...HOST_CHECKS, ...GUEST_CHECKS].map((c) => c.name);
    expect(names.filter((n) => !covered.has(n))).toEqual([]);
  });
  test('every table entry names an exported check of its family', () => {
    const of = (l: readonly { name: string }[]) => new Set(l.map((c) => c.name));
    expect(CONTROL_CASES.filter((c) => !of(CONTROL_CHECKS).has(c.check))).toEqual([]);
    expect(HOST_CASES.filter((c) => !of(HOST_CHECKS).has(c.check))).toEqual([]);
    expect(GUEST_CASES.filter((c) => !of(GUEST_CHECKS).has(c.check))).toEqual([]);
  });
});

describe('valid VM entries', () => {
  for (const mode of ['long64', 'pae', 'protected32'] as const) {
    test(`a VMCS from the running ${mode} environment enters; CPUID exits with reason 10`, () => {
      const env = setup(mode);
      const res = env.vmx.vmlaunch();
      expect(env.u.lastFailedCheck).toBe('');
      expect(res.status).toBe('succeed');
      expect(env.records.some((x) => x.kind === 'vmx.entry-check')).toBe(false);
      env.m.run({ maxInstructions: 100 });
      expect(exits(env)).toEqual([10]);
      expect(r(env, 'VM_EXIT_REASON')).toBe(10);
      expect(r(env, 'GUEST_RIP')).toBe(GUEST_CODE);
      expect(env.u.current!.launched).toBe(true);
    });
  }

  test('PAE guest with EPT and valid PDPTE fields enters', () => {
    const env = setup('pae', { proc2: 1 << 1 }); // setup() builds an EPT identity map
    const res = env.vmx.vmlaunch();
    expect(env.u.lastFailedCheck).toBe('');
    expect(res.status).toBe('succeed');
    env.m.run({ maxInstructions: 100 });
    expect(exits(env)).toEqual([10]);
  });
});

describe('cached checks', () => {
  function enterAndExit(env: VmxEnv): void {
    expect(env.vmx.vmlaunch().status).toBe('succeed');
    env.m.run({ maxInstructions: 100 });
    expect(exits(env)).toEqual([10]);
  }

  test('a non-canonical GUEST_RIP fails guest.rip on a cached entry (hot check)', () => {
    const env = setup('long64');
    enterAndExit(env);
    const cachedBefore = env.u.cachedChecks;
    w(env, 'GUEST_RIP', NONCANONICAL);
    env.p.state.rip = HOST_CODE + 0x40;
    const res = env.vmx.vmresume();
    expect(env.u.cachedChecks).toBe(cachedBefore + 1);
    expect(res.status).toBe('succeed');
    expect(env.u.lastFailedCheck).toBe('guest.rip');
    expect(hasRecord(env, 'guest', 'guest.rip')).toBe(true);
    expect(r(env, 'VM_EXIT_REASON')).toBe((FAILED | 33) >>> 0);
    expect(r(env, 'EXIT_QUALIFICATION')).toBe(0);
    expect(env.p.state.rip).toBe(HOST_CODE);
    // Fixed: VMRESUME (still launched) enters again.
    w(env, 'GUEST_RIP', GUEST_CODE);
    expect(env.vmx.vmresume().status).toBe('succeed');
    expect(env.u.nonRoot).toBe(true);
  });

  test('a cached entry after an unchanged VMCS re-enters without the full checks', () => {
    const env = setup('long64');
    enterAndExit(env);
    w(env, 'GUEST_RIP', GUEST_CODE);
    const before = env.u.cachedChecks;
    expect(env.vmx.vmresume().status).toBe('succeed');
    expect(env.u.cachedChecks).toBe(before + 1);
  });

  test('a VMWRITE of a checked field invalidates the cache (full checks run)', () => {
    const env = setup('long64');
    enterAndExit(env);
    const before = env.u.cachedChecks;
    w(env, 'GUEST_TR_SELECTOR', 0x24);
    env.vmx.vmresume();
    expect(env.u.cachedChecks).toBe(before);
    expect(env.u.lastFailedCheck).toBe('guest.tr-ti');
  });

  test('with alwaysCheck every check runs on every entry', () => {
    const env = setup('long64');
    env.u.alwaysCheck = true;
    enterAndExit(env);
    const before = env.u.cachedChecks;
    // Change a checked guest field behind VMWRITE's back (no write generation bump): only the
    // full checks can see it.
    env.u.current!.lo[F.GUEST_TR_SELECTOR] = 0x24;
    w(env, 'GUEST_RIP', GUEST_CODE);
    env.vmx.vmresume();
    expect(env.u.cachedChecks).toBe(before);
    expect(env.u.lastFailedCheck).toBe('guest.tr-ti');
    expect(r(env, 'VM_EXIT_REASON')).toBe((FAILED | 33) >>> 0);
  });

  test('with alwaysCheck a control violation is still found after a successful entry', () => {
    const env = setup('long64');
    env.u.alwaysCheck = true;
    enterAndExit(env);
    env.u.current!.lo[F.CR3_TARGET_COUNT] = 9;
    expect(env.vmx.vmresume()).toEqual({ status: 'fail-valid', error: 7 });
    expect(env.u.lastFailedCheck).toBe('controls.cr3-target-count');
  });
});
