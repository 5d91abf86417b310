/**
 * Processor topology: the x86 APIC ID layout (SDM Vol. 3A 9.9 "Programming considerations for
 * hardware multi-threading capable processors") shared by the firmware's MADT/SRAT and the CPUID
 * model (leaf 1 EBX[23:16], leaf 4 EAX[31:26], leaf 0xB).
 *
 * Logical processor `index` → thread = index mod T, core = ⌊index / T⌋ mod C, package = ⌊index / (T·C)⌋;
 * APIC ID = package << (coreBits + smtBits) | core << smtBits | thread, with smtBits = ⌈log2 T⌉ and
 * coreBits = ⌈log2 C⌉ — exactly `CpuidModel.apicIdOf(index)` for a model configured with
 * {@link CpuTopology.cpuid}. The last package may be partly populated.
 */
import { InvalidArgumentError } from '@latelaunch/kernel';

export interface TopologyProcessor {
  /** Logical processor index (machine processor index; MADT order). */
  readonly index: number;
  readonly apicId: number;
  readonly package: number;
  readonly core: number;
  readonly thread: number;
}

export interface CpuTopology {
  /** Where the description comes from: the machine config, or a guess from a real MADT's APIC IDs. */
  readonly source: 'config' | 'heuristic';
  readonly packages: number;
  readonly coresPerPackage: number;
  readonly threadsPerCore: number;
  readonly hyperThreading: boolean;
  /** Bits of the SMT level of the APIC ID. */
  readonly smtBits: number;
  /** Bits of the core level. */
  readonly coreBits: number;
  /** smtBits + coreBits: APIC ID >> packageShift = package. */
  readonly packageShift: number;
  /** What to give the CPUID model (`new CpuidModel({ ...topology.cpuid })`). */
  readonly cpuid: { readonly threadsPerCore: number; readonly coresPerPackage: number };
}

/** ⌈log2 n⌉ (0 for n ≤ 1). */
export function topologyBits(n: number): number {
  let b = 0;
  while (2 ** b < n) b++;
  return b;
}

/** A topology of `packages` × `coresPerPackage` × `threadsPerCore` slots. */
export function makeTopology(packages: number, coresPerPackage: number, threadsPerCore: number, source: 'config' | 'heuristic' = 'config'): CpuTopology {
  for (const [k, v] of Object.entries({ packages, coresPerPackage, threadsPerCore })) {
    if (!Number.isInteger(v) || v < 1) throw new InvalidArgumentError(`topology: ${k} must be a positive integer (got ${v})`);
  }
  const smtBits = topologyBits(threadsPerCore);
  const coreBits = topologyBits(coresPerPackage);
  return Object.freeze({
    source,
    packages,
    coresPerPackage,
    threadsPerCore,
    hyperThreading: threadsPerCore > 1,
    smtBits,
    coreBits,
    packageShift: smtBits + coreBits,
    cpuid: Object.freeze({ threadsPerCore, coresPerPackage }),
  });
}

/** The position and APIC ID of logical processor `index`. */
export function topologyProcessor(t: CpuTopology, index: number): TopologyProcessor {
  const thread = index % t.threadsPerCore;
  const core = Math.floor(index / t.threadsPerCore) % t.coresPerPackage;
  const pkg = Math.floor(index / (t.threadsPerCore * t.coresPerPackage));
  return { index, apicId: pkg * 2 ** t.packageShift + core * 2 ** t.smtBits + thread, package: pkg, core, thread };
}

/**
 * A best-effort topology for a list of real APIC IDs (corpus machines): hyper-threading when every
 * even ID's odd sibling is present (and there are odd IDs), one package per distinct `packageOf`
 * value (e.g. the SRAT node) or one, cores = ⌈enabled / threads / packages⌉.
 */
export function guessTopology(apicIds: readonly number[], packageOf?: (apicId: number) => number | null): CpuTopology {
  const ids = new Set(apicIds);
  const odd = apicIds.filter((id) => id % 2 === 1);
  const ht = odd.length > 0 && odd.every((id) => ids.has(id - 1)) && apicIds.filter((id) => id % 2 === 0).every((id) => ids.has(id + 1));
  const threads = ht ? 2 : 1;
  const pkgs = new Set<number>();
  if (packageOf) for (const id of apicIds) {
    const p = packageOf(id);
    if (p !== null) pkgs.add(p);
  }
  const packages = Math.max(1, pkgs.size);
  return makeTopology(packages, Math.max(1, Math.ceil(apicIds.length / threads / packages)), threads, 'heuristic');
}
