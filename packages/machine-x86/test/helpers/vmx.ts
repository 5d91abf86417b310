// VMX test harness: a machine in a chosen mode, VMX turned on, and a VMCS whose guest and host
// state are taken from the processor's current state (as a late launch does), written with the
// VMX intrinsics (which behave like VMWRITE).
import { Assembler, type Program } from '@latelaunch/x86-isa';
import { TraceBus, type TraceRecord } from '@latelaunch/kernel';
import { createMachine, vmxOf, vmxUnitOf, VMCS_ENCODING, VMCS_REVISION_ID, type Machine, type VmxIntrinsics, type VmxUnit } from '../../src/index.js';
import type { Processor } from '../../src/cpu/processor.js';
import { Cr0, Cr4, Efer, Seg } from '../../src/cpu/state.js';
import { pagingFactory } from '../machine-helpers.js';

/** 64-bit (4-level paging), 32-bit PAE paging, 32-bit (non-PAE, 4-MiB pages) paging. */
export type VmxMode = 'long64' | 'pae' | 'protected32';

export const VMXON_REGION = 0x10000;
export const VMCS_REGION = 0x11000;
export const VMCS2_REGION = 0x12000;
export const MSR_BITMAP = 0x13000;
export const IO_BITMAP_A = 0x14000;
export const IO_BITMAP_B = 0x15000;
export const MSR_AREA = 0x16000;
export const EPT_PML4 = 0x20000;
export const HOST_CODE = 0x200000;
export const GUEST_CODE = 0x300000;
export const HOST_STACK = 0x1f0000;
export const GUEST_STACK = 0x2f0000;
export const PAE_PDPT = 0x18000;
export const PAE_PD = 0x19000;
export const LEGACY_PD = 0x1d000;
/** Where host code records results (exit reason at +0, qualification at +8, …). */
export const RESULTS = 0x1e0000;

export const E = VMCS_ENCODING as Record<string, number>;

export interface VmxEnv {
  m: Machine;
  p: Processor;
  vmx: VmxIntrinsics;
  u: VmxUnit;
  trace: TraceBus;
  records: TraceRecord[];
}

/** PAE identity map of 0–4 GiB with 2-MiB pages (PDPT at PAE_PDPT, 4 PDs). */
export function writePaeTables(m: Machine): void {
  const mem = m.memory;
  mem.fill(PAE_PDPT, 0x20, 0);
  for (let i = 0; i < 4; i++) {
    const pd = PAE_PD + i * 0x1000;
    mem.write32(PAE_PDPT + i * 8, pd | 1);
    mem.write32(PAE_PDPT + i * 8 + 4, 0);
    for (let j = 0; j < 512; j++) {
      mem.write32(pd + j * 8, ((i * 512 + j) * 0x200000) % 0x100000000 + 0x83);
      mem.write32(pd + j * 8 + 4, 0);
    }
  }
}

/** A machine whose processor 0 runs in `mode` (paging identity-mapped for long64 and pae), VMX enabled by firmware (IA32_FEATURE_CONTROL locked with VMX outside SMX), CR4.VMXE set, VMXON region prepared. */
export function vmxMachine(mode: VmxMode = 'long64', opts: { cpus?: number; alwaysCheck?: boolean } = {}): VmxEnv {
  const trace = new TraceBus();
  const records: TraceRecord[] = [];
  trace.subscribe((r) => records.push(r), ['vmx.fail', 'vmx.entry-check', 'vmx.entry', 'vmx.exit', 'vmx.abort', 'cpu.shutdown']);
  const m = createMachine({ cpus: opts.cpus ?? 1, translatorFactory: pagingFactory, trace, memoryMiB: 64 });
  const p = m.processor(0);
  m.startProcessor(0, { mode: mode === 'long64' ? 'long64' : 'protected32', entry: HOST_CODE, stack: HOST_STACK });
  const s = p.state;
  if (mode === 'protected32') {
    // 32-bit paging (VMX operation needs CR0.PG = 1): a page directory of 4-MiB pages.
    for (let j = 0; j < 1024; j++) m.memory.write32(LEGACY_PD + j * 4, ((j * 0x400000) >>> 0) + 0x83);
    s.cr3 = LEGACY_PD;
    s.cr4 |= Cr4.PSE;
    const old = s.cr0;
    s.cr0 |= Cr0.PG;
    p.modeChanged();
    p.controlRegisterWritten('cr0', old);
  }
  if (mode === 'pae') {
    writePaeTables(m);
    s.cr3 = PAE_PDPT;
    s.cr4 |= Cr4.PAE;
    const old = s.cr0;
    s.cr0 |= Cr0.PG;
    p.modeChanged();
    if (!p.controlRegisterWritten('cr0', old)) throw new Error('PAE PDPTEs invalid');
  }
  // Firmware: IA32_FEATURE_CONTROL = lock | VMX outside SMX; the OS sets CR4.VMXE.
  s.msr.set(0x3a, 5n);
  s.cr0 |= Cr0.NE;
  s.cr4 |= Cr4.VMXE;
  p.controlRegisterWritten('cr4', s.cr4 & ~Cr4.VMXE);
  p.modeChanged();
  // A usable TR for the host-state area.
  s.segSel[Seg.TR] = 0x20;
  m.memory.write32(VMXON_REGION, VMCS_REVISION_ID);
  m.memory.write32(VMCS_REGION, VMCS_REVISION_ID);
  m.memory.write32(VMCS2_REGION, VMCS_REVISION_ID);
  const u = vmxUnitOf(p);
  if (u === null) throw new Error('no VMX');
  u.alwaysCheck = opts.alwaysCheck ?? false;
  return { m, p, vmx: vmxOf(p), u, trace, records };
}

/** Writes a VMCS field through the intrinsic and insists that it succeeded. */
export function w(env: VmxEnv, name: string, value: number | bigint): void {
  const enc = E[name];
  if (enc === undefined) throw new Error(`no field ${name}`);
  const r = env.vmx.vmwrite(enc, value);
  if (r.status !== 'succeed') throw new Error(`VMWRITE ${name} failed: ${r.status} ${r.error}`);
}

export function r(env: VmxEnv, name: string): number {
  return env.vmx.vmreadNumber(E[name]);
}

/** Allowed-0 bits plus `wanted` (what software computes from the TRUE capability MSRs). */
export function ctl(env: VmxEnv, kind: 'pin' | 'proc' | 'proc2' | 'exit' | 'entry', wanted = 0): number {
  const c = env.u.caps;
  const cap = kind === 'pin' ? c.truePin : kind === 'proc' ? c.trueProc : kind === 'proc2' ? c.proc2 : kind === 'exit' ? c.trueExit : c.trueEntry;
  return (cap.allowed0 | wanted) >>> 0;
}

const SEGS = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS', 'LDTR', 'TR'] as const;

/**
 * VMXON, VMCLEAR + VMPTRLD of VMCS_REGION, then a VMCS whose guest state is the processor's current
 * state (guest RIP/RSP given) and whose host state is the same environment at `hostRip`/HOST_STACK.
 * Controls: the allowed-0 settings plus `controls`.
 */
export function prepareVmcs(env: VmxEnv, guestRip: number, controls: { pin?: number; proc?: number; proc2?: number; exit?: number; entry?: number } = {}): void {
  const { p, vmx } = env;
  const s = p.state;
  if (vmx.vmxon(VMXON_REGION).status !== 'succeed') throw new Error('VMXON failed');
  vmx.vmclear(VMCS_REGION);
  vmx.vmptrld(VMCS_REGION);
  const long = (s.efer & Efer.LMA) !== 0;
  const proc2 = controls.proc2 ?? 0;
  w(env, 'PIN_BASED_VM_EXEC_CONTROL', ctl(env, 'pin', controls.pin));
  w(env, 'CPU_BASED_VM_EXEC_CONTROL', ctl(env, 'proc', (controls.proc ?? 0) | (proc2 ? 0x80000000 : 0)));
  w(env, 'SECONDARY_VM_EXEC_CONTROL', ctl(env, 'proc2', proc2));
  w(env, 'VM_EXIT_CONTROLS', ctl(env, 'exit', (controls.exit ?? 0) | (long ? 1 << 9 : 0)));
  w(env, 'VM_ENTRY_CONTROLS', ctl(env, 'entry', (controls.entry ?? 0) | (long ? 1 << 9 : 0)));
  w(env, 'VMCS_LINK_POINTER', -1n);
  // Guest state = current state.
  w(env, 'GUEST_CR0', s.cr0 >>> 0);
  w(env, 'GUEST_CR3', s.cr3);
  w(env, 'GUEST_CR4', s.cr4 >>> 0);
  w(env, 'GUEST_DR7', 0x400);
  w(env, 'GUEST_RFLAGS', 2);
  w(env, 'GUEST_RIP', guestRip);
  w(env, 'GUEST_RSP', GUEST_STACK);
  for (let k = 0; k < 8; k++) {
    const n = SEGS[k];
    w(env, `GUEST_${n}_SELECTOR`, s.segSel[k]);
    w(env, `GUEST_${n}_BASE`, s.segBase[k]);
    w(env, `GUEST_${n}_LIMIT`, s.segLimit[k]);
    w(env, `GUEST_${n}_AR_BYTES`, k === 6 ? 0x10000 : s.segAr[k] | (k < 6 ? 1 : 0));
  }
  w(env, 'GUEST_GDTR_BASE', s.gdtrBase);
  w(env, 'GUEST_GDTR_LIMIT', s.gdtrLimit);
  w(env, 'GUEST_IDTR_BASE', s.idtrBase);
  w(env, 'GUEST_IDTR_LIMIT', s.idtrLimit);
  if (s.cr4 & Cr4.PAE && !long) {
    const pd = p.pagingControl.pdpte;
    for (let k = 0; k < 4; k++) w(env, `GUEST_PDPTE${k}`, (BigInt(pd[k * 2 + 1] >>> 0) << 32n) | BigInt(pd[k * 2] >>> 0));
  }
  // Host state = the same environment.
  w(env, 'HOST_CR0', s.cr0 >>> 0);
  w(env, 'HOST_CR3', s.cr3);
  w(env, 'HOST_CR4', s.cr4 >>> 0);
  for (const n of ['ES', 'CS', 'SS', 'DS', 'FS', 'GS'] as const) w(env, `HOST_${n}_SELECTOR`, s.segSel[Seg[n]] & 0xfff8);
  w(env, 'HOST_TR_SELECTOR', 0x20);
  w(env, 'HOST_GDTR_BASE', s.gdtrBase);
  w(env, 'HOST_IDTR_BASE', s.idtrBase);
  w(env, 'HOST_RSP', HOST_STACK);
  w(env, 'HOST_RIP', HOST_CODE);
}

export function assemble(bits: 32 | 64, org: number, body: (a: Assembler) => void): Program {
  const a = new Assembler({ bits, org });
  body(a);
  return a.assemble();
}

/** Loads host code at HOST_CODE and guest code at GUEST_CODE. */
export function load(env: VmxEnv, host: Program, guest: Program): void {
  env.m.loadFlat(host.bytes, HOST_CODE);
  env.m.loadFlat(guest.bytes, GUEST_CODE);
}

/** Basic exit reasons recorded in the trace. */
export function exits(env: VmxEnv): number[] {
  return env.records.filter((x) => x.kind === 'vmx.exit').map((x) => (x.data as { reason: number }).reason);
}
