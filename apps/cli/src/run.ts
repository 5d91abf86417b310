/**
 * `latelaunch run --no-hypervisor`: boots the root OS (`@latelaunch/root-os`) alone on the
 * QEMU-compatible platform profile, for a bounded number of instructions, then prints what the OS
 * discovered (its inventory, read back from guest memory), the per-processor status, the serial
 * log and the verifications (inventory = the machine configuration; console phase; no fatal report).
 *
 * Exit codes: 0 every verification passed, 1 a verification failed, 2 bad input (one stderr line).
 */
import { closeSync, openSync, readdirSync, statSync, writeSync } from 'node:fs';
import { isLatelaunchError, JsonLinesSink, TraceBus } from '@latelaunch/kernel';
import type { CpuSummary, FirmwareSource, RunResult } from '@latelaunch/machine-x86';
import * as rootOs from '@latelaunch/root-os';
import { createRootOsMachine, type Inventory, type RootOsMachine, type RootOsMode } from '@latelaunch/root-os';
import { summarizeAcpi, type AcpiTables } from '@latelaunch/acpi';
import { loadTableDir } from '@latelaunch/acpi/node';

export interface RunCommandOptions {
  readonly rootMode: RootOsMode;
  readonly cpus: number;
  readonly memory: number;
  readonly numaNodes: number;
  readonly acpi?: string;
  readonly seed: number;
  readonly json?: boolean;
  readonly trace?: string;
  /** Set when --cpus / --numa-nodes were given on the command line (they conflict with --acpi). */
  readonly explicit?: { readonly cpus?: boolean; readonly numaNodes?: boolean };
}

export interface RunIo {
  out(text: string): void;
  err(text: string): void;
}

/** Bad input: one stderr line, exit 2. */
export class RunInputError extends Error {}

/**
 * The instruction budget (summed over processors). The OS runs in chunks of `chunk` instructions
 * until every processor has stopped (HLT with IF = 0, wait-for-SIPI, shutdown), or the console has
 * shown `discovered` (or `running`, if the OS gets that far) and `margin` more instructions have run
 * since the last of those lines, or `max` instructions in total. `margin` and `max` grow with the
 * processor count (the instructions are shared by every running processor).
 */
export const RUN_BUDGET = Object.freeze({ max: 20_000_000, chunk: 250_000, margin: 1_000_000, marginPerProcessor: 250_000 });

/** The budget for a machine of `processors` processors. */
export function runBudget(processors: number): { maxInstructions: number; chunkInstructions: number; marginInstructions: number } {
  const margin = Math.max(RUN_BUDGET.margin, RUN_BUDGET.marginPerProcessor * processors);
  return { maxInstructions: RUN_BUDGET.max + margin, chunkInstructions: RUN_BUDGET.chunk, marginInstructions: margin };
}

/** The console lines that mark a boot phase, in order. */
export const ROOT_OS_PHASES = ['boot', 'discovered', 'running'] as const;
/** The phase the console must reach for `run --no-hypervisor` to pass: `running` when the root OS brings up the other processors (SMP), else `discovered`. */
export const EXPECTED_PHASE = Object.freeze({ smp: 'running', uniprocessor: 'discovered' } as const);

type RootOsNamespace = Record<string, unknown>;
const rootOsNs = (): RootOsNamespace => rootOs as unknown as RootOsNamespace;
function rootOsExport(name: string): unknown {
  const ns = rootOsNs();
  return name in ns ? ns[name] : undefined;
}

/**
 * Whether this root-os version has SMP bring-up and the workload (`smp: true`; feature check on
 * its `readSmpSummary` export, so the CLI builds and works before and after root-os gains it).
 */
export function rootOsHasSmp(): boolean {
  return typeof rootOsExport('readSmpSummary') === 'function';
}

export interface RunVerification {
  readonly name: string;
  readonly passed: boolean;
  readonly expected: unknown;
  readonly actual: unknown;
}

export interface RunProcessorStatus extends CpuSummary {
  /** The APIC ID of this processor (firmware processor order = machine processor index), null if unknown. */
  readonly apicId: number | null;
  /** What the OS recorded for this processor in its memory (root-os `readProcessorStatus`), null when the OS version has no such record. */
  readonly os: unknown;
}

/** The `--json` object (schema in apps/cli/README.md). */
export interface RunJsonResult {
  readonly command: 'run';
  readonly hypervisor: false;
  readonly machine: {
    readonly rootMode: RootOsMode;
    readonly platform: 'qemu';
    readonly processors: number;
    readonly memoryMiB: number;
    readonly numaNodes: number | null;
    readonly acpiDir: string | null;
    readonly firmwareSource: 'config' | 'acpi-tables';
    readonly seed: number;
    /** The root OS started the other processors and its workload (SMP root-os, config machines). */
    readonly smp: boolean;
  };
  readonly budget: { readonly maxInstructions: number; readonly chunkInstructions: number; readonly marginInstructions: number };
  readonly run: {
    readonly stopReason: RunResult['reason'];
    readonly instructions: number;
    readonly virtualTimeNs: number;
    readonly phases: string[];
    readonly phaseReached: string | null;
    readonly expectedPhase: string;
    /** root-os `readSmpSummary` (SMP only), else null. */
    readonly smp: unknown;
  };
  readonly inventory: unknown;
  readonly processors: readonly RunProcessorStatus[];
  readonly serial: string;
  readonly verifications: readonly RunVerification[];
  readonly passed: boolean;
  readonly exitCode: number;
}

const MiB = 1024 * 1024;

/** JSON-safe copy: bigints become `0x…` strings. */
function jsonSafe(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `0x${x.toString(16)}` : x)));
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function check(name: string, expected: unknown, actual: unknown): RunVerification {
  const e = jsonSafe(expected);
  const a = jsonSafe(actual);
  return { name, passed: same(e, a), expected: e, actual: a };
}

const byNum = (a: number, b: number): number => a - b;

/** Reads and parses an --acpi directory; bad input becomes {@link RunInputError}. */
function loadAcpi(dir: string): AcpiTables {
  const bad = (why: string): never => {
    throw new RunInputError(`latelaunch run: --acpi '${dir}': ${why}`);
  };
  let files: string[] = [];
  try {
    if (!statSync(dir).isDirectory()) bad('not a directory');
    files = readdirSync(dir).filter((f) => f.toLowerCase().endsWith('.dat'));
  } catch (e) {
    if (e instanceof RunInputError) throw e;
    bad(`cannot read the directory: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (files.length === 0) bad('no ACPI tables (*.dat) in the directory');
  let tables: AcpiTables;
  try {
    tables = loadTableDir(dir);
  } catch (e) {
    if (isLatelaunchError(e) || (e as { code?: unknown }).code === 'LL_ACPI_NOT_ACPI') return bad(`not ACPI tables: ${(e as Error).message.split('\n')[0]}`);
    return bad(`${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!tables.madt) bad('no MADT (APIC table): the processors cannot be described');
  return tables;
}

/**
 * The OS's own per-processor records, when this root-os version has them (feature check, so the
 * CLI works before and after root-os gains SMP): `rootOsMachine.processorStatus()` if present, else
 * `readProcessorStatus(memory[, PROCESSOR_STATUS_ADDRESS])`. An array (or `{ processors: [] }`) is
 * attached to the processors by index; anything else, or a throw, gives null.
 */
function osProcessorStatus(rm: RootOsMachine): unknown[] | null {
  try {
    const ns = rootOsNs();
    const reader = rootOsExport('readProcessorStatus');
    const method = (rm as unknown as Record<string, unknown>).processorStatus;
    let v: unknown = null;
    if (typeof method === 'function') v = (method as () => unknown).call(rm);
    else if (typeof reader === 'function') {
      const at = 'PROCESSOR_STATUS_ADDRESS' in ns && typeof ns.PROCESSOR_STATUS_ADDRESS === 'number' ? [ns.PROCESSOR_STATUS_ADDRESS] : [];
      v = (reader as (...a: unknown[]) => unknown)(rm.machine.memory, ...at);
    }
    else return null;
    if (Array.isArray(v)) return v.map(jsonSafe);
    if (v && typeof v === 'object' && Array.isArray((v as { processors?: unknown }).processors)) return (v as { processors: unknown[] }).processors.map(jsonSafe);
    return null;
  } catch {
    return null;
  }
}

function phasesOf(serial: string): string[] {
  const lines = new Set(serial.split('\n'));
  return ROOT_OS_PHASES.filter((p) => lines.has(p));
}

/** Runs the root OS within {@link runBudget}. */
function boundedRun(rm: RootOsMachine, budget: ReturnType<typeof runBudget>): { result: RunResult; instructions: number } {
  let instructions = 0;
  let phaseCount = 0;
  let phaseAt = -1;
  let result: RunResult;
  for (;;) {
    result = rm.machine.run({ maxInstructions: Math.min(budget.chunkInstructions, budget.maxInstructions - instructions) });
    instructions += result.instructions;
    if (result.reason !== 'budget-exhausted') break;
    const n = phasesOf(rm.console()).filter((p) => p !== 'boot').length;
    if (n > phaseCount) {
      phaseCount = n;
      phaseAt = instructions;
    }
    if (phaseAt >= 0 && instructions - phaseAt >= budget.marginInstructions) break;
    if (instructions >= budget.maxInstructions) break;
  }
  return { result, instructions };
}

function verify(
  o: RunCommandOptions,
  rm: RootOsMachine,
  inv: Inventory | null,
  invError: string | null,
  acpi: AcpiTables | null,
  result: RunResult,
  smp: { summary: unknown; status: unknown[] | null } | null,
): RunVerification[] {
  const v: RunVerification[] = [];
  const serial = rm.console();
  const phases = phasesOf(serial);
  const expectedPhase = smp ? EXPECTED_PHASE.smp : EXPECTED_PHASE.uniprocessor;
  v.push({ name: 'console.phase', passed: phases.includes(expectedPhase), expected: expectedPhase, actual: phases.at(-1) ?? null });
  const fatal = serial.split('\n').filter((l) => l.startsWith('fatal:'));
  const fatalCount = rm.image.symbols.fatal_count !== undefined ? rm.machine.memory.read32(rm.image.symbols.fatal_count) : 0;
  const shutdown = result.cpus.filter((c) => c.activity === 'shutdown').map((c) => c.index);
  v.push({ name: 'console.noFatal', passed: fatal.length === 0 && fatalCount === 0 && shutdown.length === 0, expected: { fatalLines: [], fatalCount: 0, shutdownProcessors: [] }, actual: { fatalLines: fatal, fatalCount, shutdownProcessors: shutdown } });
  v.push({ name: 'inventory.readable', passed: inv !== null && inv.bootMagicOk && inv.cpuid.written, expected: { readable: true, bootMagicOk: true, cpuidWritten: true }, actual: inv ? { readable: true, bootMagicOk: inv.bootMagicOk, cpuidWritten: inv.cpuid.written } : { readable: false, error: invError } });
  if (smp) {
    // Every present processor of the machine came online and runs the workload.
    // --acpi: the expected side is the CLI's own parse of the MADT (every enabled processor); otherwise
    // the firmware the CLI built.
    const present = acpi
      ? (acpi.madt?.processors ?? []).filter((p) => p.enabled).map((p) => p.apicId)
      : rm.firmware.processors.filter((p) => p.enabled && p.index < result.cpus.length).map((p) => p.apicId);
    const recs = (smp.status ?? []) as { apicId?: unknown; online?: unknown; ticks?: unknown; passes?: unknown }[];
    const sum = (smp.summary ?? {}) as { online?: unknown; timedOut?: unknown; phase?: unknown };
    v.push(
      check(
        'smp.processors',
        { online: present.length, timedOut: 0, phase: 'running', onlineApicIds: [...present].sort(byNum) },
        { online: sum.online, timedOut: sum.timedOut, phase: sum.phase, onlineApicIds: recs.filter((r) => r.online === true).map((r) => r.apicId as number).sort(byNum) },
      ),
    );
    const idle = recs.filter((r) => !(typeof r.ticks === 'number' && r.ticks > 0 && typeof r.passes === 'number' && r.passes > 0)).map((r) => r.apicId);
    v.push({ name: 'smp.workload', passed: recs.length > 0 && idle.length === 0, expected: { processorsWithoutTicksOrPasses: [] }, actual: { processorsWithoutTicksOrPasses: idle } });
  }
  if (!inv) return v;
  const fw = rm.firmware;
  const invProcs = inv.processors.map((p) => ({ apicId: p.apicId, uid: p.uid, enabled: p.enabled, hotplug: p.hotplug, node: p.node }));
  v.push(check('inventory.rsdp', { address: fw.rsdpAddress }, { address: inv.rsdpAddress }));
  v.push(check('inventory.ramRanges', fw.e820.map((e) => ({ base: e.base, length: e.length, type: e.type })), inv.ramRanges.map((r) => ({ base: r.base, length: r.length, type: r.type }))));
  v.push(check('inventory.localApicAddress', fw.localApicAddress, inv.localApicAddress));
  if (!acpi) {
    // The expected side: the firmware the CLI built from --cpus/--memory/--numa-nodes.
    const cfgProcs = fw.processors.map((p) => ({ apicId: p.apicId, uid: p.uid, enabled: p.enabled, hotplug: !p.enabled, node: p.node }));
    v.push(check('inventory.processors', { presentCount: o.cpus, processors: cfgProcs }, { presentCount: invProcs.filter((p) => p.enabled).length, processors: invProcs }));
    v.push(check('inventory.ioApics', fw.ioApics.map((x) => ({ id: x.id, address: x.address, gsiBase: x.gsiBase })), inv.ioApics));
    const nodes = fw.numa?.nodes ?? [];
    v.push(
      check(
        'inventory.numa',
        {
          domains: Array.from({ length: o.numaNodes }, (_, i) => i),
          totalMemoryBytes: o.memory * MiB,
          perNode: nodes.map((n) => ({ domain: n.node, cpus: n.cpus.filter((i) => fw.processors[i].enabled).length, ranges: n.ranges.map((r) => ({ base: r.base, length: r.length })), rangeBytes: n.ranges.reduce((s, r) => s + r.length, 0) })),
        },
        {
          domains: inv.nodes.map((n) => n.domain),
          totalMemoryBytes: nodes.reduce((s, n) => s + n.memoryBytes, 0),
          perNode: inv.nodes.map((n) => ({
            domain: n.domain,
            cpus: n.cpuCount,
            ranges: inv.memoryAffinity.filter((m) => m.domain === n.domain && m.enabled).map((m) => ({ base: m.base, length: m.length })),
            rangeBytes: n.memoryBytes,
          })),
        },
      ),
    );
    v.push(check('inventory.slit', fw.numa?.distances ?? null, inv.slit));
    v.push(check('inventory.pmTimer', fw.pmTimer ? { port: fw.pmTimer.port, width: fw.pmTimer.width } : null, inv.pmTimer));
  } else {
    // The expected side: the --acpi directory's tables, parsed here with @latelaunch/acpi.
    const s = summarizeAcpi(acpi);
    v.push(
      check(
        'inventory.processors',
        { enabledApicIds: s.enabledApicIds, hotplugApicIds: s.hotplugCandidateApicIds },
        { enabledApicIds: invProcs.filter((p) => p.enabled).map((p) => p.apicId), hotplugApicIds: invProcs.filter((p) => p.hotplug).map((p) => p.apicId) },
      ),
    );
    v.push(check('inventory.ioApics', (acpi.madt?.ioApics ?? []).map((x) => ({ id: x.id, address: x.address, gsiBase: x.gsiBase })), inv.ioApics));
    const numa = s.numa;
    const domains = numa ? [...numa.allDomainsReferenced].sort(byNum) : [];
    v.push(
      check(
        'inventory.numa',
        numa
          ? {
              domains,
              empty: [...numa.emptyDomains].sort(byNum),
              perDomain: numa.populatedDomains.map((d) => ({ domain: d, cpuApicIds: [...numa.perDomain[d].enabledCpuApicIds].sort(byNum), memoryBytes: numa.perDomain[d].memoryBytes })),
            }
          : null,
        numa || inv.nodes.length
          ? {
              domains: inv.nodes.map((n) => n.domain),
              empty: inv.nodes.filter((n) => n.empty).map((n) => n.domain),
              perDomain: inv.nodes
                .filter((n) => !n.empty)
                .map((n) => ({
                  domain: n.domain,
                  cpuApicIds: inv.processors
                    .filter((p) => p.enabled && p.node === n.domain)
                    .map((p) => p.apicId)
                    .sort(byNum),
                  memoryBytes: n.memoryBytes,
                })),
            }
          : null,
      ),
    );
    v.push(
      check(
        'inventory.memoryAffinity',
        (acpi.srat?.memoryAffinity ?? []).filter((m) => m.enabled && m.length > 0).map((m) => ({ base: m.base, length: m.length, domain: m.proximityDomain })),
        inv.memoryAffinity.filter((m) => m.enabled).map((m) => ({ base: m.base, length: m.length, domain: m.domain })),
      ),
    );
    v.push(check('inventory.slit', acpi.slit?.matrix ?? null, inv.slit));
    v.push(check('inventory.pmTimer', s.pmTimer && s.pmTimer.spaceId === 1 ? { port: s.pmTimer.address } : null, inv.pmTimer ? { port: inv.pmTimer.port } : null));
  }
  return v;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function osText(os: unknown): string {
  if (os === null || typeof os !== 'object') return JSON.stringify(os);
  return Object.entries(os as Record<string, unknown>)
    .filter(([k]) => k !== 'apicId')
    .map(([k, x]) => `${k} ${typeof x === 'object' ? JSON.stringify(x) : String(x)}`)
    .join(', ');
}

function human(j: RunJsonResult, inv: Inventory | null): string {
  const L: string[] = [];
  const m = j.machine;
  L.push(`root OS (${m.rootMode} mode) on the qemu platform: ${m.processors} processor(s), ${m.acpiDir ? `ACPI tables from ${m.acpiDir}` : `${m.memoryMiB} MiB, ${m.numaNodes} NUMA node(s)`}, seed ${m.seed}`);
  if (m.smp) L.push(`SMP: ${JSON.stringify(j.run.smp)}`);
  L.push(`run: ${j.run.stopReason} after ${j.run.instructions} instructions (${j.run.virtualTimeNs} ns virtual); phases: ${j.run.phases.join(' → ') || 'none'}`);
  L.push('');
  L.push('inventory:');
  if (!inv) L.push('  (unreadable)');
  else {
    L.push(`  processors (${inv.processors.filter((p) => p.enabled).length} present, ${inv.processors.filter((p) => p.hotplug).length} hot-pluggable):`);
    for (const p of inv.processors) L.push(`    apic ${String(p.apicId).padStart(3)} uid ${String(p.uid).padStart(3)} ${p.enabled ? 'present     ' : p.hotplug ? 'hot-plug    ' : 'disabled    '} node ${p.node ?? '-'}`);
    L.push(`  I/O APICs: ${inv.ioApics.map((x) => `id ${x.id} at ${hex(x.address)} gsi ${x.gsiBase}`).join('; ') || 'none'}`);
    L.push(`  NUMA nodes: ${inv.nodes.length || 'none (no SRAT)'}`);
    for (const n of inv.nodes) L.push(`    node ${n.domain}: ${n.cpuCount} cpu(s), ${n.memoryBytes} bytes${n.hotPluggableMemoryBytes ? ` + ${n.hotPluggableMemoryBytes} hot-pluggable` : ''}${n.empty ? ' (empty)' : ''}`);
    L.push(`  SLIT: ${inv.slit ? inv.slit.map((r) => `[${r.join(' ')}]`).join(' ') : 'none'}`);
    L.push(`  PM timer: ${inv.pmTimer ? `port ${hex(inv.pmTimer.port)}, ${inv.pmTimer.width} bits` : 'none'}`);
    L.push('  RAM (E820):');
    for (const r of inv.ramRanges) L.push(`    ${hex(r.base).padStart(12)} - ${hex(r.base + r.length).padStart(12)} type ${r.type}`);
    const c = inv.cpuid;
    const feats = Object.entries(c.features)
      .filter(([, on]) => on)
      .map(([k]) => k);
    L.push(`  CPUID: ${c.vendor} family ${c.family} model ${c.model} stepping ${c.stepping}, max leaf ${hex(c.maxLeaf)}, initial APIC ID ${c.initialApicId}, MAXPHYADDR ${c.maxPhysAddr ?? '?'}; ${feats.join(' ')}`);
    L.push(`  APIC: base ${hex(inv.apic.base)} ${inv.apic.mode}${inv.apic.bsp ? ' BSP' : ''}`);
    if (inv.anomalies.length) L.push(`  firmware anomalies: ${inv.anomalies.length}`);
  }
  L.push('');
  L.push('processors:');
  for (const p of j.processors) {
    L.push(`  cpu ${p.index} (apic ${p.apicId ?? '?'}): ${p.activity}, ${p.mode}, paging ${p.paging ? 'on' : 'off'}, IF ${p.interruptsEnabled ? 1 : 0}, rip ${hex(p.rip)}, ${p.retired} instructions${p.os !== null ? `; os: ${osText(p.os)}` : ''}`);
  }
  L.push('');
  L.push('serial:');
  for (const l of j.serial.replace(/\n$/, '').split('\n')) L.push(`  | ${l}`);
  L.push('');
  L.push('verifications:');
  for (const v of j.verifications) {
    L.push(`  ${v.passed ? 'ok  ' : 'FAIL'} ${v.name}`);
    if (!v.passed) {
      L.push(`       expected ${JSON.stringify(v.expected)}`);
      L.push(`       actual   ${JSON.stringify(v.actual)}`);
    }
  }
  L.push(j.passed ? 'all verifications passed' : `${j.verifications.filter((v) => !v.passed).length} verification(s) failed`);
  return L.join('\n') + '\n';
}

/** Runs the command; returns the exit code (0 or 1). Bad input throws {@link RunInputError}. */
export function runNoHypervisor(o: RunCommandOptions, io: RunIo): number {
  let acpi: AcpiTables | null = null;
  if (o.acpi !== undefined) {
    if (o.explicit?.cpus || o.explicit?.numaNodes) {
      throw new RunInputError(`latelaunch run: --${o.explicit.cpus ? 'cpus' : 'numa-nodes'} conflicts with --acpi (the tables describe the processors and NUMA nodes)`);
    }
    acpi = loadAcpi(o.acpi);
  }
  const firmware: FirmwareSource = acpi ? { acpiDir: o.acpi, memoryMiB: o.memory } : { cpus: o.cpus, memoryMiB: o.memory, numa: o.numaNodes };
  const trace = new TraceBus();
  let fd: number | null = null;
  const chunks: string[] = [];
  try {
    if (o.trace !== undefined) {
      try {
        fd = openSync(o.trace, 'w');
      } catch (e) {
        throw new RunInputError(`latelaunch run: cannot write trace '${o.trace}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      trace.attach(new JsonLinesSink((line) => void chunks.push(line)));
    }
    const useSmp = rootOsHasSmp();
    let rm: RootOsMachine;
    try {
      // SMP when this root-os has it; with --acpi the machine gets one processor per enabled MADT
      // processor, with the table's APIC IDs (root-os createRootOsMachine), so the OS starts them all by ID.
      const options = { mode: o.rootMode, firmware, seed: o.seed, trace, platform: 'qemu' as const, ...(useSmp ? { smp: true } : {}) };
      rm = createRootOsMachine(options);
    } catch (e) {
      if (isLatelaunchError(e)) throw new RunInputError(`latelaunch run: ${e.message.split('\n')[0]}`);
      throw e;
    }
    const budget = runBudget(rm.machine.cpuCount);
    const { result, instructions } = boundedRun(rm, budget);
    let inv: Inventory | null = null;
    let invError: string | null = null;
    try {
      inv = rm.inventory();
    } catch (e) {
      invError = (e as Error).message;
    }
    const osStatus = osProcessorStatus(rm);
    let smpSummary: unknown = null;
    if (useSmp) {
      try {
        smpSummary = jsonSafe((rootOsExport('readSmpSummary') as (m: unknown) => unknown)(rm.machine.memory));
      } catch (e) {
        smpSummary = { error: (e as Error).message };
      }
    }
    const verifications = verify(o, rm, inv, invError, acpi, result, useSmp ? { summary: smpSummary, status: osStatus } : null);
    const passed = verifications.every((v) => v.passed);
    const serial = rm.console();
    const phases = phasesOf(serial);
    const j: RunJsonResult = {
      command: 'run',
      hypervisor: false,
      machine: {
        rootMode: o.rootMode,
        platform: 'qemu',
        processors: result.cpus.length,
        memoryMiB: o.memory,
        numaNodes: acpi ? (inv?.nodes.length ?? null) : o.numaNodes,
        acpiDir: o.acpi ?? null,
        firmwareSource: rm.firmware.source,
        seed: o.seed,
        smp: useSmp,
      },
      budget,
      run: { stopReason: result.reason, instructions, virtualTimeNs: result.time, phases, phaseReached: phases.at(-1) ?? null, expectedPhase: useSmp ? EXPECTED_PHASE.smp : EXPECTED_PHASE.uniprocessor, smp: smpSummary },
      inventory: inv ? jsonSafe(inv) : null,
      processors: result.cpus.map((c, i) => {
        const apicId = rm.firmware.processors[i]?.apicId ?? null;
        // OS records carry the APIC ID (root-os SMP); otherwise attach by index.
        const keyed = osStatus?.some((r) => typeof (r as { apicId?: unknown })?.apicId === 'number');
        const os = keyed ? osStatus!.find((r) => (r as { apicId?: unknown }).apicId === apicId) : osStatus?.[i];
        return { ...c, apicId, os: os ?? null };
      }),
      serial,
      verifications,
      passed,
      exitCode: passed ? 0 : 1,
    };
    io.out(o.json ? JSON.stringify(j, null, 2) + '\n' : human(j, inv));
    return j.exitCode;
  } finally {
    if (fd !== null) {
      if (chunks.length) writeSync(fd, chunks.join(''));
      closeSync(fd);
    }
  }
}
