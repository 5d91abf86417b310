/**
 * Putting a processor into a known mode without firmware (tests and tools): real mode, 32-bit flat
 * protected mode, or 64-bit mode with an identity-mapped 4-level page table built in memory; and
 * applying a loader's {@link InitialProcessorState} (multiboot).
 *
 * Boot structures live in the real-mode scratch area below 0x7000 (the SIPI trampoline area
 * 0x7000–0x8FFF and the multiboot information at 0x10000 stay free):
 *
 * | address | contents |
 * |---|---|
 * | 0x0800 | flat GDT: null, 0x08 32-bit code, 0x10 data, 0x18 64-bit code (all base 0, 4 GiB, DPL 0) |
 * | 0x1000 | PML4 (64-bit boot only) |
 * | 0x2000 | PDPT |
 * | 0x3000–0x6FFF | four page directories of 2 MiB pages: identity map of 0–4 GiB |
 */
import { InvalidArgumentError } from '@latelaunch/kernel';
import type { SparseMemory } from '../memory/sparse-memory.js';
import type { Processor } from '../cpu/processor.js';
import { Activity, AR, Cr0, Cr4, Efer, Flag, Reg, Seg, type CpuState } from '../cpu/state.js';
import { sys } from '../cpu/system-context.js';
import type { InitialProcessorState, SegmentRegisterState } from '../loader/multiboot.js';

export const BOOT_GDT_ADDRESS = 0x800;
export const BOOT_PML4_ADDRESS = 0x1000;
export const BOOT_PDPT_ADDRESS = 0x2000;
export const BOOT_PD_ADDRESS = 0x3000;
export const BootSelectors = { CODE32: 0x08, DATA: 0x10, CODE64: 0x18 } as const;

/** Modes a processor can be started in by {@link Machine.startProcessor}. */
export type BootMode = 'real' | 'protected32' | 'long64';

export interface StartOptions {
  readonly mode: BootMode;
  /** Entry point: a linear address (real mode: below 0x10FFF0; it becomes CS:IP with IP < 16). */
  readonly entry: number;
  /** Initial stack pointer (default 0x7C00 in real mode, else 0x9F000: the top of free conventional memory below the EBDA). */
  readonly stack?: number;
  /** RFLAGS (default 0x2: interrupts disabled). */
  readonly rflags?: number;
}

const CODE32_AR = AR.P | AR.S | AR.CODE | AR.RW | AR.ACCESSED | AR.DB | AR.G; // 0xC09B
const DATA32_AR = AR.P | AR.S | AR.RW | AR.ACCESSED | AR.DB | AR.G; // 0xC093
const CODE64_AR = AR.P | AR.S | AR.CODE | AR.RW | AR.ACCESSED | AR.L | AR.G; // 0xA09B
const REAL_CODE_AR = AR.P | AR.S | AR.CODE | AR.RW | AR.ACCESSED;
const REAL_DATA_AR = AR.P | AR.S | AR.RW | AR.ACCESSED;

function setSeg(s: CpuState, seg: number, sel: number, base: number, limit: number, ar: number): void {
  s.segSel[seg] = sel;
  s.segBase[seg] = base;
  s.segLimit[seg] = limit;
  s.segAr[seg] = ar;
}

/** Writes the boot GDT (see the file comment) at {@link BOOT_GDT_ADDRESS}. */
export function writeBootGdt(memory: SparseMemory): void {
  const d = new DataView(new ArrayBuffer(32));
  // null; 0x08 code32 (0x00CF9B00_0000FFFF); 0x10 data (0x00CF9300_0000FFFF); 0x18 code64 (0x00AF9B00_0000FFFF)
  d.setUint32(8, 0x0000ffff, true);
  d.setUint32(12, 0x00cf9b00, true);
  d.setUint32(16, 0x0000ffff, true);
  d.setUint32(20, 0x00cf9300, true);
  d.setUint32(24, 0x0000ffff, true);
  d.setUint32(28, 0x00af9b00, true);
  memory.writeBytes(BOOT_GDT_ADDRESS, new Uint8Array(d.buffer));
}

/** Writes an identity map of 0–4 GiB with 2 MiB pages (PML4 at 0x1000) and returns CR3. */
export function writeIdentityPageTables(memory: SparseMemory): number {
  memory.fill(BOOT_PML4_ADDRESS, 0x6000, 0);
  memory.write32(BOOT_PML4_ADDRESS, BOOT_PDPT_ADDRESS | 0x3); // present, writable
  for (let i = 0; i < 4; i++) {
    const pd = BOOT_PD_ADDRESS + i * 0x1000;
    memory.write32(BOOT_PDPT_ADDRESS + i * 8, pd | 0x3);
    for (let j = 0; j < 512; j++) {
      const pa = (i * 512 + j) * 0x200000;
      memory.write32(pd + j * 8, (pa % 0x100000000) + 0x83); // present, writable, PS
      memory.write32(pd + j * 8 + 4, 0);
    }
  }
  return BOOT_PML4_ADDRESS;
}

/** Puts `p` into `options.mode` at `options.entry` (memory structures must already be written). */
export function startInMode(p: Processor, options: StartOptions): void {
  const s = p.state;
  const entry = options.entry;
  if (!Number.isInteger(entry) || entry < 0) throw new InvalidArgumentError(`boot entry ${entry} is not a valid address`);
  const stack = options.stack ?? (options.mode === 'real' ? 0x7c00 : 0x9f000);
  const oldCr0 = s.cr0;
  s.reset('power-on', sys(p).cpuid.signature);
  s.lo[Reg.RDX] = 0;
  s.activity = Activity.ACTIVE;
  s.lo[Reg.RSP] = stack | 0;
  switch (options.mode) {
    case 'real': {
      if (entry >= 0x10fff0) throw new InvalidArgumentError(`real-mode entry 0x${entry.toString(16)} is above 0x10FFEF`);
      const cs = entry < 0x10000 ? 0 : Math.min(0xffff, entry >>> 4);
      for (let r = 0; r < 6; r++) setSeg(s, r, 0, 0, 0xffff, r === Seg.CS ? REAL_CODE_AR : REAL_DATA_AR);
      setSeg(s, Seg.CS, cs, cs * 16, 0xffff, REAL_CODE_AR);
      s.rip = entry - cs * 16;
      s.cr0 = Cr0.ET;
      s.lo[Reg.RSP] = stack & 0xffff;
      break;
    }
    case 'protected32':
      if (entry > 0xffffffff) throw new InvalidArgumentError(`32-bit entry 0x${entry.toString(16)} is above 4 GiB`);
      for (let r = 0; r < 6; r++) setSeg(s, r, r === Seg.CS ? BootSelectors.CODE32 : BootSelectors.DATA, 0, 0xffffffff, r === Seg.CS ? CODE32_AR : DATA32_AR);
      s.rip = entry;
      s.cr0 = Cr0.PE | Cr0.ET;
      s.gdtrBase = BOOT_GDT_ADDRESS;
      s.gdtrLimit = 31;
      break;
    case 'long64':
      if (entry >= 0x100000000) throw new InvalidArgumentError(`64-bit boot entry 0x${entry.toString(16)} is outside the identity-mapped 4 GiB`);
      for (let r = 0; r < 6; r++) setSeg(s, r, r === Seg.CS ? BootSelectors.CODE64 : BootSelectors.DATA, 0, 0xffffffff, r === Seg.CS ? CODE64_AR : DATA32_AR);
      s.rip = entry;
      s.cr0 = Cr0.PE | Cr0.ET | Cr0.PG;
      s.cr3 = BOOT_PML4_ADDRESS;
      s.cr4 = Cr4.PAE;
      s.efer = Efer.LME | Efer.LMA;
      s.gdtrBase = BOOT_GDT_ADDRESS;
      s.gdtrLimit = 31;
      break;
    default:
      throw new InvalidArgumentError(`unknown boot mode '${String(options.mode)}'; known: real, protected32, long64`);
  }
  p.setRflags((options.rflags ?? Flag.FIXED1) | Flag.FIXED1);
  p.modeChanged();
  // Tell the translator (a paging plugin's translator is created here for long64; without one the
  // stand-in throws MissingPagingPluginError).
  p.controlRegisterWritten('cr0', oldCr0);
  p.flushTranslations(true);
}

function applySeg(s: CpuState, seg: number, r: SegmentRegisterState): void {
  setSeg(s, seg, r.selector, r.base, r.limit, r.accessRights);
}

/** Applies a loader's initial state (multiboot: 32-bit flat protected mode, paging off, IF = 0). */
export function applyInitialState(p: Processor, st: InitialProcessorState): void {
  const s = p.state;
  const oldCr0 = s.cr0;
  s.reset('power-on', sys(p).cpuid.signature);
  s.activity = Activity.ACTIVE;
  s.lo[Reg.RAX] = st.eax | 0;
  s.lo[Reg.RBX] = st.ebx | 0;
  s.lo[Reg.RCX] = st.ecx | 0;
  s.lo[Reg.RDX] = st.edx | 0;
  s.lo[Reg.RSI] = st.esi | 0;
  s.lo[Reg.RDI] = st.edi | 0;
  s.lo[Reg.RBP] = st.ebp | 0;
  s.lo[Reg.RSP] = st.esp | 0;
  s.rip = st.eip >>> 0;
  s.cr0 = st.cr0 >>> 0;
  s.cr2 = st.cr2;
  s.cr3 = st.cr3;
  s.cr4 = st.cr4;
  s.efer = st.efer;
  applySeg(s, Seg.CS, st.cs);
  applySeg(s, Seg.DS, st.ds);
  applySeg(s, Seg.ES, st.es);
  applySeg(s, Seg.FS, st.fs);
  applySeg(s, Seg.GS, st.gs);
  applySeg(s, Seg.SS, st.ss);
  applySeg(s, Seg.TR, st.tr);
  applySeg(s, Seg.LDTR, st.ldtr);
  s.gdtrBase = st.gdtr.base;
  s.gdtrLimit = st.gdtr.limit;
  s.idtrBase = st.idtr.base;
  s.idtrLimit = st.idtr.limit;
  p.setRflags(st.eflags | Flag.FIXED1);
  p.modeChanged();
  p.controlRegisterWritten('cr0', oldCr0);
  p.flushTranslations(true);
}
