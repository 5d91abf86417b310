/**
 * Readers of the SMP control block and the per-processor records the root OS keeps in OS memory
 * (layout in layout.ts and the README): bring-up state, LAPIC timer ticks, checksum, pongs, NMIs.
 */
import { SMP_ADDRESS, SMP_MAGIC, SMP_RECORD_SIZE, SMP_RECORDS_ADDRESS, SmpHeaderOffsets, SmpRecordOffsets, SmpState } from './layout.js';

/** Anything with little-endian 32-bit reads of physical memory (a `SparseMemory`). */
export interface Read32Like {
  read32(address: number): number;
}

export type ProcessorRunState = 'starting' | 'online' | 'timed-out';

export interface ProcessorStatus {
  readonly apicId: number;
  readonly state: ProcessorRunState;
  readonly online: boolean;
  /** LAPIC timer interrupts taken (periodic, vector 0x40). */
  readonly ticks: number;
  /** Running checksum of the compute loop. */
  readonly checksum: number;
  /** Completed passes of the compute loop over its 4 KiB buffer. */
  readonly passes: number;
  /** Ping IPIs (vector 0x41) answered. */
  readonly pongs: number;
  /** NMIs counted by the NMI handler. */
  readonly nmis: number;
}

export interface SmpSummary {
  /** False until the BSP has started the bring-up (magic written). */
  readonly valid: boolean;
  readonly expected: number;
  readonly online: number;
  readonly timedOut: number;
  readonly bspApicId: number;
  readonly phase: 'none' | 'bring-up' | 'running';
}

const STATES: Record<number, ProcessorRunState> = { [SmpState.STARTING]: 'starting', [SmpState.ONLINE]: 'online', [SmpState.TIMED_OUT]: 'timed-out' };

/** The SMP control block (header at SMP_ADDRESS). */
export function readSmpSummary(memory: Read32Like): SmpSummary {
  const h = (o: number) => memory.read32(SMP_ADDRESS + o) >>> 0;
  const valid = h(SmpHeaderOffsets.magic) === SMP_MAGIC;
  const phase = h(SmpHeaderOffsets.phase);
  return {
    valid,
    expected: h(SmpHeaderOffsets.expected),
    online: h(SmpHeaderOffsets.online),
    timedOut: h(SmpHeaderOffsets.timedOut),
    bspApicId: h(SmpHeaderOffsets.bspApicId),
    phase: !valid ? 'none' : phase === 2 ? 'running' : 'bring-up',
  };
}

/** Every processor record the OS wrote (state ≠ absent), ascending APIC ID; [] before the bring-up. */
export function readProcessorStatus(memory: Read32Like): ProcessorStatus[] {
  if (memory.read32(SMP_ADDRESS + SmpHeaderOffsets.magic) >>> 0 !== SMP_MAGIC) return [];
  const out: ProcessorStatus[] = [];
  for (let id = 0; id < 256; id++) {
    const base = SMP_RECORDS_ADDRESS + id * SMP_RECORD_SIZE;
    const r = (o: number) => memory.read32(base + o) >>> 0;
    const state = STATES[r(SmpRecordOffsets.state)];
    if (!state) continue;
    out.push({
      apicId: r(SmpRecordOffsets.apicId),
      state,
      online: state === 'online',
      ticks: r(SmpRecordOffsets.ticks),
      checksum: r(SmpRecordOffsets.checksum),
      passes: r(SmpRecordOffsets.passes),
      pongs: r(SmpRecordOffsets.pongs),
      nmis: r(SmpRecordOffsets.nmis),
    });
  }
  return out;
}
