/* global process, console, performance */
// VMX benchmark (run `pnpm --filter @latelaunch/machine-x86 build` first):
//   node bench/vmx.bench.mjs [roundTrips=200000]
// Host time of one VM-exit round trip: a 64-bit guest executes CPUID (unconditional VM exit) →
// VM exit (guest state saved, host state loaded) → the host runs a native-service stub whose
// TypeScript handler advances GUEST_RIP with VMREAD/VMWRITE intrinsics → VMRESUME (VM-entry checks,
// guest state loaded) → the guest's JMP back to CPUID. The guest runs with VPID 1. Reported with the full VM-entry checks on
// every entry, and with the cached checks (only checks whose inputs changed since the last
// successful entry, plus the RIP check, run).
import 'reflect-metadata';
import { Assembler, rax } from '@latelaunch/x86-isa';
import { createTranslator } from '@latelaunch/paging';
import { createMachine, vmxOf, vmxUnitOf, VMCS_ENCODING as E, VMCS_REVISION_ID } from '../dist/index.js';

const roundTrips = Number(process.argv[2] ?? 200_000);
const HOST = 0x200000;
const GUEST = 0x300000;
const VMXON = 0x10000;
const VMCS = 0x11000;

function setup(alwaysCheck) {
  const m = createMachine({ cpus: 1, memoryMiB: 64, translatorFactory: { name: 'paging', create: (c, mem) => createTranslator(c, mem) } });
  const p = m.processor(0);
  m.startProcessor(0, { mode: 'long64', entry: HOST, stack: 0x1f0000 });
  const s = p.state;
  s.msr.set(0x3a, 5n); // IA32_FEATURE_CONTROL: locked, VMX outside SMX
  s.cr0 |= 1 << 5; // NE
  s.cr4 |= 1 << 13; // VMXE
  p.controlRegisterWritten('cr4', s.cr4 & ~(1 << 13));
  p.modeChanged();
  m.memory.write32(VMXON, VMCS_REVISION_ID);
  m.memory.write32(VMCS, VMCS_REVISION_ID);
  const host = new Assembler({ bits: 64, org: HOST });
  host.native(0x100);
  host.vmresume();
  host.hlt();
  const guest = new Assembler({ bits: 64, org: GUEST });
  guest.label('loop');
  guest.mov(rax, 0);
  guest.cpuid();
  guest.jmp('loop');
  m.loadFlat(host.assemble().bytes, HOST);
  m.loadFlat(guest.assemble().bytes, GUEST);
  const vmx = vmxOf(p);
  const u = vmxUnitOf(p);
  u.alwaysCheck = alwaysCheck;
  const wr = (name, v) => {
    const r = vmx.vmwrite(E[name], v);
    if (r.status !== 'succeed') throw new Error(`VMWRITE ${name}: ${r.status} ${r.error}`);
  };
  vmx.vmxon(VMXON);
  vmx.vmclear(VMCS);
  vmx.vmptrld(VMCS);
  const caps = u.caps;
  wr('PIN_BASED_VM_EXEC_CONTROL', caps.truePin.allowed0);
  // VPID 1 (as KVM runs its guests): entries and exits keep the TLB instead of flushing VPID 0.
  wr('CPU_BASED_VM_EXEC_CONTROL', caps.trueProc.allowed0 | (1 << 31));
  wr('SECONDARY_VM_EXEC_CONTROL', 1 << 5);
  wr('VIRTUAL_PROCESSOR_ID', 1);
  wr('VM_EXIT_CONTROLS', caps.trueExit.allowed0 | (1 << 9));
  wr('VM_ENTRY_CONTROLS', caps.trueEntry.allowed0 | (1 << 9));
  wr('VMCS_LINK_POINTER', -1n);
  wr('GUEST_CR0', s.cr0 >>> 0);
  wr('GUEST_CR3', s.cr3);
  wr('GUEST_CR4', s.cr4 >>> 0);
  wr('GUEST_DR7', 0x400);
  wr('GUEST_RFLAGS', 2);
  wr('GUEST_RIP', GUEST);
  wr('GUEST_RSP', 0x2f0000);
  const segs = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS', 'LDTR', 'TR'];
  for (let k = 0; k < 8; k++) {
    wr(`GUEST_${segs[k]}_SELECTOR`, s.segSel[k]);
    wr(`GUEST_${segs[k]}_BASE`, s.segBase[k]);
    wr(`GUEST_${segs[k]}_LIMIT`, s.segLimit[k]);
    wr(`GUEST_${segs[k]}_AR_BYTES`, k === 6 ? 0x10000 : s.segAr[k] | (k < 6 ? 1 : 0));
  }
  wr('GUEST_GDTR_BASE', s.gdtrBase);
  wr('GUEST_GDTR_LIMIT', s.gdtrLimit);
  wr('GUEST_IDTR_BASE', s.idtrBase);
  wr('GUEST_IDTR_LIMIT', s.idtrLimit);
  wr('HOST_CR0', s.cr0 >>> 0);
  wr('HOST_CR3', s.cr3);
  wr('HOST_CR4', s.cr4 >>> 0);
  for (const [k, n] of ['ES', 'CS', 'SS', 'DS', 'FS', 'GS'].entries()) wr(`HOST_${n}_SELECTOR`, s.segSel[k] & 0xfff8);
  wr('HOST_TR_SELECTOR', 0x20);
  wr('HOST_RSP', 0x1f0000);
  wr('HOST_RIP', HOST);
  // The exit handler: a TypeScript function behind the native-service stub at the host RIP.
  m.nativeServices.register(0x100, 'cpuid-exit', () => {
    const rip = vmx.vmreadNumber(E.GUEST_RIP);
    const len = vmx.vmreadNumber(E.VM_EXIT_INSTRUCTION_LEN);
    vmx.vmwrite(E.GUEST_RIP, rip + len);
  });
  const r = vmx.vmlaunch();
  if (r.status !== 'succeed' || u.lastFailedCheck !== '') throw new Error(`VMLAUNCH failed: ${r.status} ${u.lastFailedCheck}`);
  return { m, u };
}

function measure(alwaysCheck) {
  let best = Infinity;
  let cached = 0;
  for (let rep = 0; rep < 3; rep++) {
    const { m, u } = setup(alwaysCheck);
    // Per round trip: guest MOV + CPUID (exits) + JMP, host native stub + VMRESUME.
    m.run({ maxInstructions: 20_000 }); // warm-up
    const e0 = u.exits;
    const c0 = u.cachedChecks;
    const t0 = performance.now();
    m.run({ maxInstructions: roundTrips * 5 });
    const ns = ((performance.now() - t0) * 1e6) / (u.exits - e0);
    cached = (u.cachedChecks - c0) / (u.exits - e0);
    if (ns < best) best = ns;
  }
  return { ns: best, cached };
}

const full = measure(true);
const cached = measure(false);
console.log(`vmx: VM-exit round trip (guest CPUID → exit → TypeScript handler advances RIP → VMRESUME), full VM-entry checks: ${full.ns.toFixed(0)} ns`);
console.log(`vmx: VM-exit round trip, cached VM-entry checks (${(cached.cached * 100).toFixed(0)} % of entries reused them): ${cached.ns.toFixed(0)} ns`);
