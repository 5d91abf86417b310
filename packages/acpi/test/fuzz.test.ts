// Mutation fuzzing over the real corpus tables (truncations, bit flips, length-field and count-field
// edits, zero/short subtable lengths, overwrites): the parser never throws anything but its typed
// not-ACPI error, never hangs (bounded time per case), and every anomaly points inside the buffer.
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@latelaunch/kernel';
import { AcpiNotAcpiError, buildAcpiTables, configFromTables, layoutReader, layoutTables, parseAcpiFromMemory, parseAcpiTables, summarizeAcpi } from '../src/index.js';
import type { AcpiTables } from '../src/index.js';
import { datFile, MACHINES, machineDir } from './corpus-helpers.js';

// Generous for a loaded CI machine; a loop would blow far past it (and the 60 s test timeout).
const MAX_MS_PER_CASE = 1000;

const corpus = MACHINES.flatMap((m) =>
  readdirSync(machineDir(m))
    .filter((f) => f.endsWith('.dat'))
    .sort()
    .map((name) => ({ machine: m, name, bytes: datFile(m, name) })),
);

/** Offsets where subtables start in the unmutated table (MADT from 44, SRAT from 48). */
function subtableOffsets(b: Uint8Array): number[] {
  const sig = String.fromCharCode(...b.subarray(0, 4));
  const start = sig === 'APIC' ? 44 : sig === 'SRAT' ? 48 : -1;
  const out: number[] = [];
  if (start < 0) return out;
  for (let o = start; o + 2 <= b.length && b[o + 1] >= 2; o += b[o + 1]) out.push(o);
  return out;
}

type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; bits: number[] }
  | { kind: 'length'; value: number }
  | { kind: 'count'; offset: number; value: number }
  | { kind: 'subtable-length'; index: number; value: number }
  | { kind: 'overwrite'; at: number; bytes: Uint8Array };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('flip' as const), bits: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('length' as const), value: fc.oneof(fc.constantFrom(0, 1, 35, 36, 37, 43, 44, 45, 0xffff_ffff), fc.integer({ min: 0, max: 0xffff_ffff })) }),
  // count fields: SLIT locality count (36, u64 low/high), RSDP length (20), MADT/SRAT fixed fields
  fc.record({ kind: fc.constant('count' as const), offset: fc.constantFrom(20, 36, 40, 44), value: fc.oneof(fc.constantFrom(0, 1, 2, 0xff, 0xffff_ffff), fc.integer({ min: 0, max: 0xffff_ffff })) }),
  fc.record({ kind: fc.constant('subtable-length' as const), index: fc.nat(), value: fc.constantFrom(0, 1, 2, 5, 6, 7, 8, 9, 12, 15, 16, 17, 24, 40, 255) }),
  fc.record({ kind: fc.constant('overwrite' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
);

function mutate(original: Uint8Array, mutations: Mutation[]): Uint8Array {
  let b = new Uint8Array(original);
  const subs = subtableOffsets(original);
  for (const m of mutations) {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    switch (m.kind) {
      case 'truncate':
        b = b.slice(0, m.at % (b.length + 1));
        break;
      case 'flip':
        for (const bit of m.bits) if (b.length) b[(bit >> 3) % b.length] ^= 1 << (bit & 7);
        break;
      case 'length':
        if (b.length >= 8) dv.setUint32(4, m.value, true);
        break;
      case 'count':
        if (b.length >= m.offset + 4) dv.setUint32(m.offset, m.value, true);
        break;
      case 'subtable-length':
        if (subs.length) {
          const o = subs[m.index % subs.length] + 1;
          if (o < b.length) b[o] = m.value;
        }
        break;
      case 'overwrite':
        if (b.length) b.set(m.bytes.subarray(0, Math.max(0, b.length - (m.at % b.length))), m.at % b.length);
        break;
    }
  }
  return b;
}

/** Parses, timing it; returns null when the input was (legitimately) not ACPI. */
function parseBounded(parse: () => AcpiTables): AcpiTables | null {
  const t0 = performance.now();
  let tables: AcpiTables | null = null;
  try {
    tables = parse();
  } catch (e) {
    if (!(e instanceof AcpiNotAcpiError)) throw e;
  }
  expect(performance.now() - t0).toBeLessThan(MAX_MS_PER_CASE);
  return tables;
}

/** The derived views must not throw either (configFromTables may refuse absurd domain numbers, typed). */
function useEverything(t: AcpiTables): void {
  summarizeAcpi(t);
  try {
    configFromTables(t);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgumentError);
  }
}

describe('mutation fuzzing over the corpus tables', () => {
  it('one mutated table: no throw but not-ACPI, bounded time, anomalies inside the buffer', () => {
    fc.assert(
      fc.property(fc.nat({ max: corpus.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (i, mutations) => {
        const b = mutate(corpus[i].bytes, mutations);
        const t = parseBounded(() => parseAcpiTables([b]));
        if (!t) return;
        for (const a of t.anomalies) {
          expect(a.offset).toBeGreaterThanOrEqual(0);
          expect(a.offset).toBeLessThanOrEqual(Math.max(0, b.length - 1));
          expect(Number.isInteger(a.offset)).toBe(true);
        }
        useEverything(t);
      }),
      { numRuns: 2000 },
    );
  });

  it('a whole machine with one mutated table: cross-table checks survive too', () => {
    fc.assert(
      fc.property(fc.constantFrom(...MACHINES), fc.nat(), fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (m, pick, mutations) => {
        const files = corpus.filter((c) => c.machine === m);
        const target = pick % files.length;
        const buffers = files.map((f, j) => (j === target ? mutate(f.bytes, mutations) : f.bytes));
        const t = parseBounded(() => parseAcpiTables(buffers));
        if (!t) return;
        const longest = Math.max(...buffers.map((b) => b.length));
        for (const a of t.anomalies) expect(a.offset).toBeLessThan(Math.max(1, longest));
        useEverything(t);
      }),
      { numRuns: 400 },
    );
  });

  it('a mutated memory image: discovery reports, never throws but not-ACPI, never hangs', () => {
    const layout = layoutTables(
      buildAcpiTables({
        processors: [{ apicId: 0, node: 0 }, { apicId: 1, node: 1 }, { apicId: 300, node: 1, present: false }],
        numa: { nodes: [{ memory: [{ base: 0, length: 2 ** 31 }] }, { memory: [{ base: 2 ** 32, length: 2 ** 31 }] }] },
      }),
      0x7fe_0000,
      { rsdpAddress: 0xf5a0 * 16 },
    );
    fc.assert(
      fc.property(fc.nat({ max: layout.tables.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (i, mutations) => {
        const tables = layout.tables.map((t, j) => (j === i ? { ...t, bytes: mutate(t.bytes, mutations) } : t));
        const t = parseBounded(() => parseAcpiFromMemory(layoutReader(tables), { maxTableLength: 0x10000 }));
        if (t) useEverything(t);
      }),
      { numRuns: 400 },
    );
  });
});
