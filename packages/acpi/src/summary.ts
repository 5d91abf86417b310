/**
 * The discovery summary: what a root OS (and the hypervisor it launches) needs from the tables,
 * in exactly the shape of the corpus' `expected.json` `summary` object.
 */
import type { Madt, MadtProcessor } from './tables/madt.js';
import { isPlaceholderApicId } from './tables/madt.js';
import type { Slit } from './tables/slit.js';
import type { Srat } from './tables/srat.js';
import type { PmTimerBlock } from './tables/fadt.js';
import type { AcpiTables } from './parse.js';

export interface NumaDomainSummary {
  /** APIC IDs of the enabled SRAT processor entries in this domain, in SRAT order. */
  enabledCpuApicIds: number[];
  /** `[base, length]` of the enabled, non-empty SRAT memory ranges, in SRAT order. */
  memory: [number, number][];
  memoryBytes: number;
  hotPluggableMemoryBytes: number;
}

export interface NumaSummary {
  /** Domains with an enabled CPU or enabled, non-empty memory (ascending). */
  populatedDomains: number[];
  /** Every domain named by any SRAT entry (enabled or not) or SLIT locality (ascending). */
  allDomainsReferenced: number[];
  /** Referenced domains with neither enabled CPUs nor memory. */
  emptyDomains: number[];
  /** Populated domains with CPUs but no memory. */
  memorylessDomains: number[];
  /** Populated domains with memory but no CPUs. */
  cpulessDomains: number[];
  /** One entry per populated domain, keyed by the domain number. */
  perDomain: Record<string, NumaDomainSummary>;
  /** Enabled MADT processors (MADT order) without an enabled SRAT processor entry. */
  enabledMadtCpusMissingFromSrat: number[];
}

export interface AcpiSummary {
  /** MADT type 0 + type 9 entries. */
  processorEntries: number;
  lapicEntries: number;
  x2apicEntries: number;
  enabled: number;
  disabled: number;
  /** Disabled entries with APIC ID 0xFF (type 0) or 0xFFFFFFFF (type 9): empty slots. */
  disabledPlaceholderApicId: number;
  /** Disabled entries that reuse an enabled processor's APIC ID. */
  disabledApicIdDuplicatesEnabled: number;
  /** Entries with the Online Capable flag (bit 1). */
  onlineCapable: number;
  /** See {@link isHotplugCandidate}. */
  hotplugCandidates: number;
  hotplugCandidateApicIds: number[];
  /** APIC IDs of the enabled processors, in MADT order. */
  enabledApicIds: number[];
  /** APIC IDs used by more than one enabled processor (ascending). */
  duplicateEnabledApicIds: number[];
  ioApicCount: number;
  /** MADT subtables of a type not decoded (skipped by length). */
  unknownMadtSubtables: number;
  /** The effective ACPI PM timer (FADT `pmTimerBlock`), or null. */
  pmTimer: PmTimerBlock | null;
  /** NUMA view, or null without an SRAT. */
  numa: NumaSummary | null;
}

/**
 * The hot-plug rule (the corpus' rule, also used by the builder): for MADT revision 5 or later a
 * disabled entry with Online Capable set (ACPI 6.3+ semantics); for older revisions a disabled
 * entry whose APIC ID is neither a placeholder nor the APIC ID of an enabled entry (how Linux has
 * counted "possible" CPUs).
 */
export function isHotplugCandidate(p: MadtProcessor, madtRevision: number, enabledApicIds: ReadonlySet<number>): boolean {
  if (p.enabled) return false;
  if (madtRevision >= 5) return p.onlineCapable;
  return !isPlaceholderApicId(p) && !enabledApicIds.has(p.apicId);
}

/** Derives the summary from parsed tables. Missing tables give zero counts / null. */
export function summarizeAcpi(tables: Pick<AcpiTables, 'madt' | 'srat' | 'slit' | 'fadt'>): AcpiSummary {
  const madt = tables.madt;
  const procs = madt?.processors ?? [];
  const enabled = procs.filter((p) => p.enabled);
  const disabled = procs.filter((p) => !p.enabled);
  const enabledSet = new Set(enabled.map((p) => p.apicId));
  const counts = new Map<number, number>();
  for (const p of enabled) counts.set(p.apicId, (counts.get(p.apicId) ?? 0) + 1);
  const hotplug = madt ? hotplugCandidates(madt) : [];
  return {
    processorEntries: procs.length,
    lapicEntries: procs.filter((p) => p.type === 'lapic').length,
    x2apicEntries: procs.filter((p) => p.type === 'x2apic').length,
    enabled: enabled.length,
    disabled: disabled.length,
    disabledPlaceholderApicId: disabled.filter(isPlaceholderApicId).length,
    disabledApicIdDuplicatesEnabled: disabled.filter((p) => enabledSet.has(p.apicId)).length,
    onlineCapable: procs.filter((p) => p.onlineCapable).length,
    hotplugCandidates: hotplug.length,
    hotplugCandidateApicIds: hotplug.map((p) => p.apicId),
    enabledApicIds: enabled.map((p) => p.apicId),
    duplicateEnabledApicIds: [...counts].filter(([, n]) => n > 1).map(([id]) => id).sort((a, b) => a - b),
    ioApicCount: madt?.ioApics.length ?? 0,
    unknownMadtSubtables: madt?.otherSubtables.length ?? 0,
    pmTimer: tables.fadt?.pmTimerBlock ? { ...tables.fadt.pmTimerBlock } : null,
    numa: tables.srat ? summarizeNuma(tables.srat, tables.slit, madt) : null,
  };
}

/** Disabled MADT processors that may be hot-added, by {@link isHotplugCandidate}, in MADT order. */
export function hotplugCandidates(madt: Madt): MadtProcessor[] {
  const enabledSet = new Set(madt.processors.filter((p) => p.enabled).map((p) => p.apicId));
  return madt.processors.filter((p) => isHotplugCandidate(p, madt.table.revision, enabledSet));
}

export function summarizeNuma(srat: Srat, slit: Slit | null, madt: Madt | null): NumaSummary {
  const referenced = new Set<number>();
  const cpus = new Map<number, number[]>();
  const mem = new Map<number, { memory: [number, number][]; bytes: number; hot: number }>();
  for (const c of srat.cpuAffinity) {
    referenced.add(c.proximityDomain);
    if (!c.enabled) continue;
    const list = cpus.get(c.proximityDomain) ?? [];
    list.push(c.apicId);
    cpus.set(c.proximityDomain, list);
  }
  for (const m of srat.memoryAffinity) {
    referenced.add(m.proximityDomain);
    if (!m.enabled || m.length === 0) continue;
    const d = mem.get(m.proximityDomain) ?? { memory: [], bytes: 0, hot: 0 };
    d.memory.push([m.base, m.length]);
    d.bytes += m.length;
    if (m.hotPluggable) d.hot += m.length;
    mem.set(m.proximityDomain, d);
  }
  // Only the localities the table really holds (a too-short SLIT decodes no matrix).
  if (slit) for (let i = 0; i < slit.matrix.length; i++) referenced.add(i);
  const asc = (a: number, b: number) => a - b;
  const populated = [...new Set([...cpus.keys(), ...mem.keys()])].sort(asc);
  const perDomain: Record<string, NumaDomainSummary> = {};
  for (const d of populated) {
    const m = mem.get(d);
    perDomain[String(d)] = { enabledCpuApicIds: cpus.get(d) ?? [], memory: m?.memory ?? [], memoryBytes: m?.bytes ?? 0, hotPluggableMemoryBytes: m?.hot ?? 0 };
  }
  const sratEnabledCpus = new Set(srat.cpuAffinity.filter((c) => c.enabled).map((c) => c.apicId));
  return {
    populatedDomains: populated,
    allDomainsReferenced: [...referenced].sort(asc),
    emptyDomains: [...referenced].filter((d) => !cpus.has(d) && !mem.has(d)).sort(asc),
    memorylessDomains: populated.filter((d) => cpus.has(d) && !mem.has(d)),
    cpulessDomains: populated.filter((d) => mem.has(d) && !cpus.has(d)),
    perDomain,
    enabledMadtCpusMissingFromSrat: (madt?.processors ?? []).filter((p) => p.enabled && !sratEnabledCpus.has(p.apicId)).map((p) => p.apicId),
  };
}
