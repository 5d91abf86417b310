/**
 * The machine: N logical processors sharing one physical memory, bus, virtual clock and set of
 * devices, run by a deterministic round-robin scheduler. See the package README, "Machine".
 */
import { InvalidArgumentError, TraceBus, type AddressTranslatorFactory, type Machine as MachineExtension } from '@latelaunch/kernel';
import { Bus } from '../bus/bus.js';
import { VirtualClock } from '../clock/virtual-clock.js';
import { CpuidModel } from '../cpu/cpuid.js';
import { createVmx, vmxUnitOf, type ProcessorVirtualization } from '../vmx/vmx.js';
import { raiseInit, raiseNmi, raiseSipi, signalInterrupt } from '../cpu/interrupts.js';
import { ProcessorPagingControl } from '../cpu/memory-access.js';
import { NativeServiceRegistry } from '../cpu/native.js';
import { Processor } from '../cpu/processor.js';
import { Activity, Cr0, Efer, Flag, Seg, CpuState } from '../cpu/state.js';
import { configureProcessor, sys } from '../cpu/system-context.js';
import { StandinTranslator } from '../cpu/translator-standin.js';
import { DebugExitDevice, type ExitRequest } from '../devices/debug-exit.js';
import type { BusDevice } from '../devices/device.js';
import type { Snapshottable } from '../devices/snapshottable.js';
import { PostCodePort } from '../devices/post-code.js';
import { Uart16550 } from '../devices/uart16550.js';
import { loadElf, loadFlatBinary } from '../loader/elf.js';
import { loadMultiboot, type InitialProcessorState, type MultibootLoadResult } from '../loader/multiboot.js';
import { buildPcMemoryLayout, type PcMemoryLayout } from '../memory/pc-layout.js';
import { SparseMemory, type MemorySnapshot } from '../memory/sparse-memory.js';
import { applyInitialState, startInMode, writeBootGdt, writeIdentityPageTables, type StartOptions } from './boot.js';
import { InterruptStandIn } from './interrupt-standin.js';
import { createQemuPlatformDevices, wireLocalApics, type LocalApicWiring, type MachinePlatform } from './platform-wiring.js';
import type { PlatformDevices } from '../firmware/platform.js';

declare module '@latelaunch/kernel' {
  interface TraceEventMap {
    /** A `run()` started (`phase: 'start'`) or stopped (`'stop'`, with the reason and the instructions it retired). */
    'machine.run': { phase: 'start' | 'stop'; until: string; maxInstructions: number | null; reason?: string; instructions?: number; status?: number };
    /** A scheduled event was raised on a processor (`retired` = that processor's retired-instruction count). */
    'machine.event': { kind: MachineEventKind; vector?: number; retired: number };
    /** Per-instruction trace (only with `traceInstructions: true`): the instruction about to execute. */
    'machine.step': { rip: number; retired: number };
  }
}

export type MachineEventKind = 'nmi' | 'interrupt' | 'init' | 'sipi';

export interface MachineOptions {
  /** Logical processors (1..256). Default 1. */
  readonly cpus?: number;
  /** RAM in MiB (PC layout, {@link buildPcMemoryLayout}). Default 128. */
  readonly memoryMiB?: number;
  /** Scheduler quantum: instructions per slice (≥ 1). Default 1000. */
  readonly quantum?: number;
  /** Virtual ticks (ns) per retired instruction. Default 1 (1 GHz). */
  readonly ticksPerInstruction?: number;
  /** Recorded in the trace; the machine itself makes no random choice. Default 0. */
  readonly seed?: number;
  /** Trace bus (a private one by default). Its time source becomes the machine clock. */
  readonly trace?: TraceBus;
  /** Emit `'machine.step'` before every instruction (slow). Default false. */
  readonly traceInstructions?: boolean;
  /** Paging: the factory of per-processor translators (the `@latelaunch/paging` plugin). Without one, enabling paging throws `MissingPagingPluginError`. */
  readonly translatorFactory?: AddressTranslatorFactory | null;
  /** Devices to attach. Default: COM1 UART at 0x3F8, debug-exit at 0xF4, POST port 0x80. */
  readonly devices?: readonly BusDevice[];
  /** Native services (shared by every processor). Default: an empty registry (every service is #UD). */
  readonly nativeServices?: NativeServiceRegistry;
  /** CPUID model. Default: the package's default model. */
  readonly cpuid?: CpuidModel;
  /**
   * Hardware virtualization attached to every processor. Default: Intel VMX ({@link createVmx});
   * `null`: none (CPUID.1:ECX.VMX reads 0 and the VMX instructions are #UD).
   */
  readonly virtualization?: ProcessorVirtualization | null;
  /** Machine name (the kernel's `Machine.name`). Default `machine-x86`. */
  readonly name?: string;
  /**
   * `'qemu'`: the QEMU-compatible platform profile (DESIGN §5; platform-wiring.ts): a local APIC per
   * processor (xAPIC page 0xFEE00000, x2APIC MSRs, IPIs) instead of the APIC-less stand-in, and the
   * 8259 pair, PIT, CMOS, PM timer, fw_cfg and I/O APIC besides the machine's own devices.
   * Default: none.
   */
  readonly platform?: MachinePlatform | null;
  /**
   * The APIC ID of each processor (index i → `apicIds[i]`; processor 0, the BSP, gets the first):
   * its local APIC's ID (platform `'qemu'`) and the initial APIC ID its CPUID reports (leaf 1
   * EBX[31:24], leaf 0xB EDX). One per processor (`cpus` defaults to the length), unique integers
   * in 0..254 (xAPIC: 255 is the broadcast ID; x2APIC IDs ≥ 255 are not supported end to end, so
   * they are refused) — otherwise `InvalidArgumentError`. Default: the CPUID model's `apicIdOf(i)`
   * (the processor index with the default model).
   */
  readonly apicIds?: readonly number[];
  /**
   * Platform `'qemu'`: the ACPI PM timer's port and width (a real table set's FADT value, e.g.
   * `buildFirmware(...).pmTimer`); `null` = no PM timer. Default `{ port: 0x608, width: 24 }`.
   */
  readonly pmTimer?: { readonly port: number; readonly width: 24 | 32 } | null;
}

/** Validates {@link MachineOptions.apicIds} for `cpus` processors. */
function checkApicIds(ids: readonly number[], cpus: number): void {
  if (ids.length !== cpus) throw new InvalidArgumentError(`machine: apicIds has ${ids.length} entries for ${cpus} processors`);
  const seen = new Set<number>();
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0) throw new InvalidArgumentError(`machine: APIC ID ${id} must be a non-negative integer`);
    if (id >= 0xff) throw new InvalidArgumentError(`machine: APIC ID ${id} needs x2APIC (IDs ≥ 255), which the machine does not support end to end; xAPIC IDs are 0..254`);
    if (seen.has(id)) throw new InvalidArgumentError(`machine: APIC ID ${id} appears twice in apicIds`);
    seen.add(id);
  }
}

/** What stops a run besides debug-exit, all processors idle, and the budget. */
export type RunUntil = 'all-halted' | 'budget' | { readonly port: number; readonly value?: number };

export interface RunOptions {
  /** Default `'all-halted'`. A debug-exit write and "nothing can ever run again" always stop a run. */
  readonly until?: RunUntil;
  /** Instruction budget of this call, summed over processors (default: unlimited; required for `'budget'`). */
  readonly maxInstructions?: number;
  /**
   * Longest stretch of virtual time (ns) during which every processor is idle (HLT with IF = 1,
   * wait-for-SIPI…) while only device clock events happen. Past it the run stops with `'idle'`
   * instead of skipping from clock event to clock event forever (e.g. `sti; hlt` with a timer
   * whose interrupt is not wired anywhere). Default 60 s of virtual time.
   */
  readonly maxIdleTime?: number;
}

/** `'idle'`: every processor idle and only device events for `maxIdleTime` (see RunOptions). */
export type StopReason = 'all-halted' | 'debug-exit' | 'budget-exhausted' | 'port-write' | 'idle';

export type ActivityName = 'active' | 'hlt' | 'shutdown' | 'wait-for-sipi';
const ACTIVITY_NAMES: readonly ActivityName[] = ['active', 'hlt', 'shutdown', 'wait-for-sipi'];

export interface CpuSummary {
  readonly index: number;
  readonly activity: ActivityName;
  /** real | protected16 | protected32 | compat | long64. */
  readonly mode: string;
  readonly paging: boolean;
  readonly interruptsEnabled: boolean;
  readonly cs: number;
  readonly rip: number;
  readonly rsp: number;
  readonly rflags: number;
  readonly retired: number;
}

export interface RunResult {
  readonly reason: StopReason;
  /** Instructions retired by this call (all processors). */
  readonly instructions: number;
  /** Instructions retired since the machine was built (all processors). */
  readonly totalInstructions: number;
  /** Virtual time at the stop (ticks = ns). */
  readonly time: number;
  /** For `debug-exit`: the request (value, QEMU status `(value << 1) | 1`, exit code). */
  readonly exit?: ExitRequest;
  /** For `port-write`: the write that stopped the run. */
  readonly portWrite?: { readonly port: number; readonly value: number; readonly size: number; readonly cpu: number };
  readonly cpus: readonly CpuSummary[];
}

export interface ScheduleEventOptions {
  readonly cpu: number;
  readonly kind: MachineEventKind;
  /** Vector for `interrupt` (16..255) and `sipi` (0..255). */
  readonly vector?: number;
  /**
   * Raise the event when processor `cpu` has retired exactly this many instructions (its own
   * count, {@link Machine.retired}): it is recognised at the boundary before the next one.
   */
  readonly atInstruction?: number;
  /** Or: raise it at this virtual time (ticks), e.g. for an idle processor. */
  readonly atTime?: number;
}

interface PendingEvent {
  readonly seq: number;
  readonly cpu: number;
  readonly kind: MachineEventKind;
  readonly vector: number;
  readonly at: number;
}

/** Everything a processor is, beyond its architectural state. */
interface CpuRecord {
  readonly p: Processor;
  readonly ic: InterruptStandIn;
  readonly control: ProcessorPagingControl;
  readonly mmu: StandinTranslator;
}

const LAZY_FIELDS = ['lazy', 'fKind', 'fSize', 'fCin', 'fRes', 'fA', 'fB', 'fResHi', 'fAHi', 'fBHi'] as const;

/** A machine snapshot (immutable in-process value; see {@link Machine.snapshot}). */
export class MachineSnapshot {
  constructor(
    readonly owner: Machine,
    readonly memory: MemorySnapshot,
    readonly clock: unknown,
    readonly devices: readonly unknown[],
    readonly cpus: readonly { state: Record<string, unknown>; lazy: readonly number[]; pdpte: Int32Array; ic: unknown; eventsPending: boolean; vmx: unknown }[],
    readonly scheduler: { cursor: number; sliceLeft: number; total: number; eventSeq: number; timedEvents: number; events: readonly PendingEvent[] },
    /** Local APIC states (platform `'qemu'`), per processor. */
    readonly apics: readonly unknown[] = [],
  ) {
    Object.freeze(this);
  }
}

/** Field plan of CpuState (computed once): typed arrays, maps and plain values. */
let statePlan: { arrays: string[]; maps: string[]; values: string[] } | null = null;

function planOf(s: CpuState): { arrays: string[]; maps: string[]; values: string[] } {
  if (statePlan === null) {
    const plan = { arrays: [] as string[], maps: [] as string[], values: [] as string[] };
    for (const [k, v] of Object.entries(s)) {
      if (ArrayBuffer.isView(v)) plan.arrays.push(k);
      else if (v instanceof Map) plan.maps.push(k);
      else plan.values.push(k);
    }
    statePlan = plan;
  }
  return statePlan;
}

/** A copy of every own field of the state (typed arrays and maps copied). */
function copyState(s: CpuState): Record<string, unknown> {
  const plan = planOf(s);
  const src = s as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of plan.values) out[k] = src[k];
  for (const k of plan.arrays) out[k] = (src[k] as Uint8Array).slice();
  for (const k of plan.maps) out[k] = new Map(src[k] as Map<unknown, unknown>);
  return out;
}

function loadCpuState(s: CpuState, saved: Record<string, unknown>): void {
  const plan = planOf(s);
  const target = s as unknown as Record<string, unknown>;
  for (const k of plan.values) target[k] = saved[k];
  for (const k of plan.arrays) (target[k] as Uint8Array).set(saved[k] as Uint8Array);
  for (const k of plan.maps) {
    const m = target[k] as Map<unknown, unknown>;
    m.clear();
    for (const [mk, mv] of saved[k] as Map<unknown, unknown>) m.set(mk, mv);
  }
}

/** The simulated x86 machine. */
export class Machine implements MachineExtension, Snapshottable {
  readonly name: string;
  readonly cpuCount: number;
  readonly layout: PcMemoryLayout;
  readonly memory: SparseMemory;
  readonly bus: Bus;
  readonly clock: VirtualClock;
  readonly trace: TraceBus;
  readonly devices: readonly BusDevice[];
  readonly nativeServices: NativeServiceRegistry;
  readonly quantum: number;
  readonly seed: number;
  readonly traceInstructions: boolean;
  /** The processors, index = APIC ID order; processor 0 is the bootstrap processor. */
  readonly processors: readonly Processor[];
  private readonly records: CpuRecord[];
  private readonly debugExit: DebugExitDevice | null;
  /** Platform devices and local APICs (platform `'qemu'`), else null. */
  readonly platformDevices: PlatformDevices | null;
  readonly localApics: LocalApicWiring | null;

  // scheduler
  private cursor = 0;
  private sliceLeft: number;
  private total = 0;
  /** Budget units used by exception deliveries (not instructions) since the last run() started. */
  private deliveryWork = 0;
  private events: PendingEvent[] = [];
  private eventSeq = 0;
  /** Machine events scheduled with `atTime` that have not fired yet. */
  private timedEvents = 0;
  private running = -1;
  private portHit: { port: number; value: number; size: number; cpu: number } | null = null;

  constructor(options: MachineOptions = {}) {
    const cpus = options.cpus ?? options.apicIds?.length ?? 1;
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > 256) throw new InvalidArgumentError(`machine: cpus ${cpus} must be an integer in 1..256`);
    const memoryMiB = options.memoryMiB ?? 128;
    if (!Number.isInteger(memoryMiB) || memoryMiB < 2 || memoryMiB > 1 << 20) throw new InvalidArgumentError(`machine: memoryMiB ${memoryMiB} must be an integer in 2..1048576`);
    const quantum = options.quantum ?? 1000;
    if (!Number.isInteger(quantum) || quantum < 1) throw new InvalidArgumentError(`machine: quantum ${quantum} must be an integer ≥ 1`);
    if (options.apicIds !== undefined) checkApicIds(options.apicIds, cpus);
    this.name = options.name ?? 'machine-x86';
    this.cpuCount = cpus;
    this.quantum = quantum;
    this.sliceLeft = quantum;
    this.seed = options.seed ?? 0;
    this.traceInstructions = options.traceInstructions ?? false;
    this.layout = buildPcMemoryLayout(memoryMiB);
    this.memory = new SparseMemory({ ranges: this.layout.ranges });
    this.bus = new Bus(this.memory);
    this.clock = new VirtualClock({ ticksPerInstruction: options.ticksPerInstruction ?? 1 });
    this.trace = options.trace ?? new TraceBus();
    this.trace.setTimeSource(this.clock);
    this.nativeServices = options.nativeServices ?? new NativeServiceRegistry();

    const platform = options.platform ?? null;
    if (platform !== null && platform !== 'qemu') throw new InvalidArgumentError(`machine: unknown platform '${String(platform)}'; known: 'qemu'`);
    const own = options.devices ? [...options.devices] : [new Uart16550({ base: 0x3f8 }), new DebugExitDevice(), new PostCodePort()];
    this.platformDevices = platform === 'qemu' ? createQemuPlatformDevices(cpus, this.layout, this.clock, options.pmTimer) : null;
    // (The platform devices are already connected to the clock.)
    this.devices = this.platformDevices ? [...own, ...this.platformDevices.devices] : own;
    for (const d of this.devices) {
      d.attach(this.bus);
      // Devices whose state follows virtual time (PM timer, PIT, RTC) get the machine clock.
      const clocked = d as unknown as { connectClock?: (clock: VirtualClock) => void };
      if (typeof clocked.connectClock === 'function' && !this.platformDevices?.devices.includes(d)) clocked.connectClock(this.clock);
    }
    this.debugExit = (this.devices.find((d) => d instanceof DebugExitDevice) as DebugExitDevice | undefined) ?? null;
    this.debugExit?.onExit(() => this.requestStop());

    const virtualization = options.virtualization === undefined ? createVmx() : options.virtualization;
    let cpuid = options.cpuid ?? new CpuidModel();
    if (virtualization === null && cpuid.config.features.vmx) cpuid = new CpuidModel({ ...cpuid.config, features: { ...cpuid.config.features, vmx: false } });
    const factory = options.translatorFactory ?? null;
    this.records = [];
    for (let i = 0; i < cpus; i++) {
      const state = new CpuState();
      state.reset('power-on', cpuid.signature);
      const control = new ProcessorPagingControl();
      const mmu = new StandinTranslator(control, this.bus, factory);
      const p = new Processor(state, this.bus, { index: i, mmu, pagingControl: control, nativeServices: this.nativeServices });
      const ic = new InterruptStandIn();
      ic.onRaise = () => signalInterrupt(p);
      configureProcessor(p, { interruptController: ic, cpuid, ...(options.apicIds ? { apicId: options.apicIds[i] } : {}), tsc: () => this.clock.now(), trace: this.trace, bsp: i === 0 });
      // Power-on: the BSP runs from the reset vector, the APs wait for INIT-SIPI-SIPI.
      if (i !== 0) state.activity = Activity.WAIT_FOR_SIPI;
      p.setRflags(state.rflags);
      p.modeChanged();
      if (virtualization !== null) virtualization.attach(p, this.clock);
      this.records.push({ p, ic, control, mmu });
    }
    this.processors = this.records.map((r) => r.p);
    this.localApics = this.platformDevices ? wireLocalApics(this.processors, this.bus, this.clock, this.platformDevices, own, options.apicIds) : null;
  }

  // ------------------------------------------------------------------ access

  processor(index: number): Processor {
    const p = this.processors[index];
    if (p === undefined) throw new InvalidArgumentError(`processor ${index} does not exist (the machine has ${this.cpuCount})`);
    return p;
  }

  /** The APIC-less interrupt controller of processor `index` (raise/eoi/TPR). */
  interruptController(index: number): InterruptStandIn {
    this.processor(index);
    return this.records[index].ic;
  }

  /** Retired instructions of processor `index`. */
  retired(index: number): number {
    return this.processor(index).state.retired;
  }

  /** Retired instructions of all processors since the machine was built. */
  get totalInstructions(): number {
    return this.total;
  }

  /** The first UART (COM1), if any. */
  get uart(): Uart16550 | null {
    return (this.devices.find((d) => d instanceof Uart16550) as Uart16550 | undefined) ?? null;
  }

  get debugExitDevice(): DebugExitDevice | null {
    return this.debugExit;
  }

  // ------------------------------------------------------------------ boot

  /** Writes `bytes` at physical `address`. */
  loadFlat(bytes: Uint8Array, address: number): void {
    loadFlatBinary(this.memory, bytes, address);
  }

  /** Loads an ELF image's segments at their physical addresses; returns the entry point. */
  loadElf(bytes: Uint8Array): number {
    const r = loadElf(this.memory, bytes);
    return Number(r.entry);
  }

  /**
   * Starts processor `cpu` in a mode at an entry point (boot GDT, and for `long64` identity page
   * tables, written in low memory; see boot.ts). 64-bit mode needs a `translatorFactory`.
   */
  startProcessor(cpu: number, options: StartOptions): void {
    const p = this.processor(cpu);
    if (options.mode !== 'real') writeBootGdt(this.memory);
    if (options.mode === 'long64') writeIdentityPageTables(this.memory);
    startInMode(p, options);
  }

  /** Applies a loader's initial processor state (e.g. `loadMultiboot(...).state`) to processor `cpu`. */
  applyInitialState(cpu: number, state: InitialProcessorState): void {
    applyInitialState(this.processor(cpu), state);
  }

  /**
   * Multiboot v1 boot (as QEMU `-kernel`): loads the kernel and the boot information, starts
   * processor 0 in 32-bit flat protected mode (EAX = 0x2BADB002, EBX = info, paging off, IF = 0)
   * and leaves the others in wait-for-SIPI. Throws `ImageFormatError` for a bad image.
   */
  bootMultiboot(kernel: Uint8Array, options: { cmdline?: string; bootLoaderName?: string } = {}): MultibootLoadResult {
    const result = loadMultiboot(this.memory, kernel, { layout: this.layout, cmdline: options.cmdline ?? '', bootLoaderName: options.bootLoaderName });
    this.applyInitialState(0, result.state);
    for (let i = 1; i < this.cpuCount; i++) {
      const p = this.processors[i];
      p.state.reset('power-on', sys(p).cpuid.signature);
      p.state.activity = Activity.WAIT_FOR_SIPI;
      p.setRflags(p.state.rflags);
      p.modeChanged();
      p.flushTranslations(true);
    }
    return result;
  }

  // ------------------------------------------------------------------ events

  /**
   * Schedules an NMI, a maskable interrupt (vector), INIT or SIPI (vector) on processor `cpu`,
   * either when that processor has retired exactly `atInstruction` instructions (the scheduler cuts
   * its slice there, so the event is recognised at that boundary) or at virtual time `atTime`.
   */
  scheduleEvent(o: ScheduleEventOptions): void {
    const p = this.processor(o.cpu);
    const kinds: MachineEventKind[] = ['nmi', 'interrupt', 'init', 'sipi'];
    if (!kinds.includes(o.kind)) throw new InvalidArgumentError(`unknown event kind '${String(o.kind)}'; known: ${kinds.join(', ')}`);
    let vector = -1;
    if (o.kind === 'interrupt' || o.kind === 'sipi') {
      const lo = o.kind === 'interrupt' ? 16 : 0;
      if (!Number.isInteger(o.vector) || o.vector! < lo || o.vector! > 255) throw new InvalidArgumentError(`${o.kind} vector ${o.vector} must be an integer in ${lo}..255`);
      vector = o.vector!;
    }
    if ((o.atInstruction === undefined) === (o.atTime === undefined)) throw new InvalidArgumentError('scheduleEvent: give exactly one of atInstruction and atTime');
    const seq = this.eventSeq++;
    if (o.atInstruction !== undefined) {
      if (!Number.isInteger(o.atInstruction) || o.atInstruction < p.state.retired) {
        throw new InvalidArgumentError(`scheduleEvent: atInstruction ${o.atInstruction} is before processor ${o.cpu}'s count ${p.state.retired}`);
      }
      this.events.push({ seq, cpu: o.cpu, kind: o.kind, vector, at: o.atInstruction });
      this.events.sort((a, b) => a.at - b.at || a.seq - b.seq);
    } else {
      const ev: PendingEvent = { seq, cpu: o.cpu, kind: o.kind, vector, at: -1 };
      this.clock.schedule(o.atTime!, () => {
        this.timedEvents--;
        this.raise(ev);
      });
      this.timedEvents++;
    }
  }

  /** Raises an event on a processor now (recognised at its next instruction boundary). */
  raiseEvent(cpu: number, kind: MachineEventKind, vector = -1): void {
    this.processor(cpu);
    this.raise({ seq: -1, cpu, kind, vector, at: -1 });
  }

  /** Pending instruction-count events (time events are in the clock). */
  get pendingEvents(): number {
    return this.events.length;
  }

  private raise(ev: PendingEvent): void {
    const { p, ic } = this.records[ev.cpu];
    const data: { kind: MachineEventKind; vector?: number; retired: number } = { kind: ev.kind, retired: p.state.retired };
    if (ev.vector >= 0) data.vector = ev.vector;
    this.trace.emit('machine.event', data, ev.cpu);
    switch (ev.kind) {
      case 'nmi':
        raiseNmi(p);
        break;
      case 'interrupt':
        // With local APICs: a fixed, edge-triggered message to this processor's APIC (accepted when software-enabled).
        if (this.localApics) this.localApics.apics[ev.cpu].deliver({ mode: 0, vector: ev.vector, destination: ev.cpu, destMode: 'physical', shorthand: 0, level: true, trigger: 'edge', sourceApicId: -1, x2apic: false });
        else ic.raise(ev.vector);
        break;
      case 'init':
        raiseInit(p);
        break;
      case 'sipi':
        raiseSipi(p, ev.vector);
        break;
    }
  }

  /** Raises the count events of `cpu` that are due; returns the count of its next event (or Infinity). */
  private fireCountEvents(cpu: number): number {
    const retired = this.records[cpu].p.state.retired;
    let next = Infinity;
    for (let k = 0; k < this.events.length; ) {
      const ev = this.events[k];
      if (ev.cpu !== cpu) {
        k++;
        continue;
      }
      if (ev.at <= retired) {
        this.events.splice(k, 1);
        this.raise(ev);
      } else {
        next = Math.min(next, ev.at);
        k++;
      }
    }
    return next;
  }

  // ------------------------------------------------------------------ run

  private requestStop(): void {
    for (const p of this.processors) p.stopRequested = true;
  }

  /**
   * Runs the processors round-robin, `quantum` instructions per slice, until `until` holds, a
   * debug-exit write, the budget, or nothing can run any more (every processor halted with no
   * event that could wake it, in shutdown or waiting for SIPI). The scheduler position is kept
   * across calls (and in snapshots), so `run(a); run(b)` interleaves exactly like `run(a + b)`.
   */
  run(options: RunOptions = {}): RunResult {
    const until = options.until ?? 'all-halted';
    const max = options.maxInstructions ?? Infinity;
    if (until === 'budget' && options.maxInstructions === undefined) throw new InvalidArgumentError("run({ until: 'budget' }) needs maxInstructions");
    if (!(max >= 0) || (max !== Infinity && !Number.isInteger(max))) throw new InvalidArgumentError(`run: maxInstructions ${max} must be a non-negative integer`);
    let watch: { port: number; value?: number } | null = null;
    if (typeof until === 'object') {
      if (!Number.isInteger(until.port) || until.port < 0 || until.port > 0xffff) throw new InvalidArgumentError(`run: until.port ${until.port} outside 0..0xFFFF`);
      watch = until;
    } else if (until !== 'all-halted' && until !== 'budget') {
      throw new InvalidArgumentError(`run: unknown until '${String(until)}'; known: 'all-halted', 'budget', { port }`);
    }
    const untilName = watch ? `port 0x${watch.port.toString(16)}` : (until as string);
    this.trace.emit('machine.run', { phase: 'start', until: untilName, maxInstructions: max === Infinity ? null : max });

    const start = this.total;
    this.deliveryWork = 0;
    const budgetEnd = start + max;
    this.portHit = null;
    const bus = this.bus;
    const origPortWrite = bus.portWrite;
    if (watch) {
      const w = watch;
      bus.portWrite = (port: number, size, value: number, initiator?: number) => {
        origPortWrite.call(bus, port, size, value, initiator);
        if ((port & 0xffff) === w.port && (w.value === undefined || w.value === value) && this.portHit === null) {
          this.portHit = { port: w.port, value, size, cpu: initiator ?? -1 };
          this.requestStop();
        }
      };
    }
    let reason: StopReason;
    try {
      reason = this.loop(budgetEnd, options.maxIdleTime ?? 60e9);
    } finally {
      if (watch) bus.portWrite = origPortWrite;
      for (const p of this.processors) p.stopRequested = false;
    }
    const exit = reason === 'debug-exit' ? this.debugExit!.exitRequest! : undefined;
    const instructions = this.total - start;
    const stopData: { phase: 'stop'; until: string; maxInstructions: number | null; reason: string; instructions: number; status?: number } = {
      phase: 'stop',
      until: untilName,
      maxInstructions: max === Infinity ? null : max,
      reason,
      instructions,
    };
    if (exit) stopData.status = exit.status;
    this.trace.emit('machine.run', stopData);
    const result: RunResult = { reason, instructions, totalInstructions: this.total, time: this.clock.now(), cpus: this.summaries() };
    if (exit) return { ...result, exit };
    if (this.portHit) return { ...result, portWrite: this.portHit };
    return result;
  }

  // Exception deliveries count against the budget (Processor.lastRunDeliveries), so a guest
  // stuck in a fault loop (e.g. a #UD handler that is UD2) ends with 'budget-exhausted'.
  // NOTE(machine→core): virtual time advances at slice boundaries (the processor exposes no live
  // retired count inside run()), so RDTSC and trace timestamps of events inside a slice carry the
  // slice's start time; slices are cut at every clock event and scheduled event, so device timing
  // is exact. A live counter (e.g. `p.sliceRetired`) would make TSC reads exact too.
  private loop(budgetEnd: number, maxIdleTime: number): StopReason {
    let idleSince = -1; // virtual time when the current all-idle stretch began
    const n = this.cpuCount;
    const clock = this.clock;
    let idleRound = 0; // processors visited in a row without progress
    for (;;) {
      if (this.debugExit?.exitRequested) return 'debug-exit';
      if (this.portHit) return 'port-write';
      if (this.total + this.deliveryWork >= budgetEnd) return 'budget-exhausted';
      const i = this.cursor;
      const r = this.records[i];
      const p = r.p;
      const nextEvent = this.events.length ? this.fireCountEvents(i) : Infinity;
      let progressed = false;
      if (p.state.activity === Activity.ACTIVE || p.eventsPending) {
        const act0 = p.state.activity;
        const rip0 = p.state.rip;
        let slice = Math.min(this.sliceLeft, budgetEnd - this.total - this.deliveryWork, nextEvent - p.state.retired);
        const tpi = clock.ticksPerInstruction;
        if (clock.nextEventTime() <= clock.now()) clock.runDue();
        if (tpi > 0 && clock.pending > 0) slice = Math.min(slice, Math.max(1, Math.ceil((clock.nextEventTime() - clock.now()) / tpi)));
        this.running = i;
        let done: number;
        if (this.traceInstructions) done = this.stepTraced(p, slice);
        else done = p.run(slice);
        this.running = -1;
        const fault = this.nativeServices.takeFault(i);
        if (fault) {
          // The native instruction stopped the processor; it did not retire.
          done--;
          p.state.retired--;
        }
        this.total += done;
        this.deliveryWork += p.lastRunDeliveries;
        this.sliceLeft -= done + p.lastRunDeliveries;
        // (stepTraced advances the clock per instruction itself.)
        if (done > 0 && !this.traceInstructions) clock.advanceInstructions(done);
        if (fault) throw fault;
        progressed = done > 0 || p.lastRunDeliveries > 0 || p.state.activity !== act0 || p.state.rip !== rip0;
        if (progressed) idleSince = -1;
        // Slice ends: quantum used up, or the processor stopped being runnable.
        if (this.sliceLeft > 0 && p.state.activity === Activity.ACTIVE) {
          if (progressed) idleRound = 0;
          continue; // cut only for an event, the budget or a stop request: same processor continues
        }
      }
      // Next processor.
      this.cursor = (i + 1) % n;
      this.sliceLeft = this.quantum;
      if (progressed) idleRound = 0;
      else if (++idleRound >= n) {
        // A full round without progress: every processor is idle. If none can be woken by a
        // maskable interrupt (HLT with IF = 0, shutdown, wait-for-SIPI) only a machine event can
        // wake one: without a pending timed machine event, stop here instead of running the
        // devices' clock forever. Otherwise jump to the next clock event.
        idleRound = 0;
        if (this.timedEvents === 0 && this.processors.every((q) => q.state.activity !== Activity.HLT || (q.state.rflags & Flag.IF) === 0)) {
          return 'all-halted';
        }
        if (clock.pending > 0) {
          if (idleSince < 0) idleSince = clock.now();
          if (this.timedEvents === 0 && clock.nextEventTime() - idleSince > maxIdleTime) return 'idle';
          clock.skipToNextEvent();
          continue;
        }
        return 'all-halted';
      }
    }
  }

  /** Runs up to `max` instructions one at a time, emitting `'machine.step'` before each and advancing the clock after each. */
  private stepTraced(p: Processor, max: number): number {
    let done = 0;
    while (done < max) {
      if (p.state.activity === Activity.ACTIVE) this.trace.emit('machine.step', { rip: p.state.rip, retired: p.state.retired }, p.cpuIndex);
      const k = p.run(1);
      done += k;
      if (k > 0 && !this.nativeServices.hasFault(p.cpuIndex)) this.clock.advanceInstructions(k);
      if (k === 0 || p.stopRequested || p.state.activity !== Activity.ACTIVE) break;
    }
    return done;
  }

  // ------------------------------------------------------------------ inspection

  summaries(): CpuSummary[] {
    return this.processors.map((p, index) => {
      const s = p.state;
      const rflags = p.getRflags() >>> 0;
      const pe = (s.cr0 & Cr0.PE) !== 0;
      const lma = (s.efer & Efer.LMA) !== 0;
      const mode = !pe ? 'real' : lma ? (p.is64 ? 'long64' : 'compat') : p.codeSize === 32 ? 'protected32' : 'protected16';
      return {
        index,
        activity: ACTIVITY_NAMES[s.activity],
        mode,
        paging: (s.cr0 & Cr0.PG) !== 0,
        interruptsEnabled: (rflags & Flag.IF) !== 0,
        cs: s.segSel[Seg.CS],
        rip: s.rip,
        rsp: p.is64 ? Number(s.getReg64(4)) : s.lo[4] >>> 0,
        rflags,
        retired: s.retired,
      };
    });
  }

  // ------------------------------------------------------------------ snapshots

  /** Memory (copy-on-write, O(1)), processors, interrupt stand-ins, clock, devices and the scheduler. */
  snapshot(): MachineSnapshot {
    const cpus = this.records.map(({ p, ic, control }) => {
      const rec = p as unknown as Record<string, number>;
      return {
        state: copyState(p.state),
        lazy: LAZY_FIELDS.map((f) => rec[f]),
        pdpte: control.pdpte.slice(),
        ic: ic.saveState(),
        eventsPending: p.eventsPending,
        vmx: vmxUnitOf(p)?.saveState() ?? null,
      };
    });
    return new MachineSnapshot(
      this,
      this.memory.snapshot(),
      this.clock.saveState(),
      this.devices.map((d) => d.saveState()),
      cpus,
      {
        cursor: this.cursor,
        sliceLeft: this.sliceLeft,
        total: this.total,
        eventSeq: this.eventSeq,
        timedEvents: this.timedEvents,
        events: this.events.map((e) => ({ ...e })),
      },
      this.localApics ? this.localApics.apics.map((a) => a.saveState()) : [],
    );
  }

  /** Returns the machine to a snapshot taken from it; it then continues exactly as it did after the snapshot. */
  restore(snap: MachineSnapshot): void {
    if (!(snap instanceof MachineSnapshot) || snap.owner !== this) throw new InvalidArgumentError('Machine.restore: the snapshot was not taken from this machine');
    this.memory.restore(snap.memory);
    this.clock.loadState(snap.clock);
    this.devices.forEach((d, k) => d.loadState(snap.devices[k]));
    this.localApics?.apics.forEach((a, k) => a.loadState(snap.apics[k]));
    this.records.forEach((r, k) => {
      const c = snap.cpus[k];
      const { p } = r;
      loadCpuState(p.state, c.state);
      const rec = p as unknown as Record<string, number>;
      LAZY_FIELDS.forEach((f, j) => (rec[f] = c.lazy[j]));
      r.ic.loadState(c.ic);
      // VMX state first: it decides whether EPT is in use for the translator reload below.
      const unit = vmxUnitOf(p);
      if (unit !== null && c.vmx !== null) unit.loadState(c.vmx);
      p.modeChanged();
      // Paging: make sure a translator exists when paging is on, then reload it from the restored
      // registers and drop every cached translation.
      if ((p.state.cr0 & Cr0.PG) !== 0 && r.mmu.active === null) p.controlRegisterWritten('cr0', 0);
      r.control.pdpte.set(c.pdpte);
      const active = r.mmu.active as { reloadControl?: () => void } | null;
      active?.reloadControl?.();
      p.flushTranslations(true);
      p.eventsPending = c.eventsPending;
      p.stopRequested = false;
    });
    const sch = snap.scheduler;
    this.cursor = sch.cursor;
    this.sliceLeft = sch.sliceLeft;
    this.total = sch.total;
    this.eventSeq = sch.eventSeq;
    this.timedEvents = sch.timedEvents;
    this.events = sch.events.map((e) => ({ ...e }));
  }

  /** `Snapshottable`: {@link snapshot}. */
  saveState(): unknown {
    return this.snapshot();
  }

  /** `Snapshottable`: {@link restore}. */
  loadState(state: unknown): void {
    this.restore(state as MachineSnapshot);
  }

  /** Detaches devices and unregisters the processors from memory. */
  dispose(): void {
    for (const p of this.processors) p.dispose();
    for (const d of this.devices) d.detach();
  }
}

/** Builds a machine (see {@link MachineOptions}); for tests and tools. Compose `machinePlugin` in systems. */
export function createMachine(options: MachineOptions = {}): Machine {
  return new Machine(options);
}
