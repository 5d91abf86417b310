/**
 * The typed trace bus. Every observable event of a run (mode changes, exceptions, interrupt
 * deliveries, VM exits, composition steps…) is a {@link TraceRecord}: a sequence number, a
 * virtual timestamp, a kind and a typed payload. Packages add their event kinds by augmenting
 * {@link TraceEventMap}:
 *
 * ```ts
 * declare module '@latelaunch/kernel' {
 *   interface TraceEventMap { 'cpu.mode': { from: string; to: string } }
 * }
 * ```
 *
 * Delivery is synchronous and in emission order; `seq` is strictly increasing per bus, so two
 * runs with the same config and seed produce byte-identical JSON-lines traces.
 */
export interface TraceEventMap {
  'system.composed': { plugins: string[] };
  'vm.created': { vmId: string };
  'vm.disposed': { vmId: string };
}

export type TraceKind = keyof TraceEventMap & string;

export interface TraceRecord<K extends TraceKind = TraceKind> {
  /** Position in the bus's total order (0, 1, 2, …). */
  readonly seq: number;
  /** Virtual time (ticks of the machine clock) at emission. */
  readonly time: number;
  readonly kind: K;
  /** Logical processor the event belongs to, if any. */
  readonly cpu?: number;
  readonly data: TraceEventMap[K];
}

export type TraceListener = (record: TraceRecord) => void;

/** Something that consumes trace records (file, memory, network…). Multi extension point. */
export interface TraceSink {
  readonly name: string;
  write(record: TraceRecord): void;
  flush?(): void;
}

/** Source of virtual time for timestamps. The machine's clock implements it. */
export interface VirtualTimeSource {
  now(): number;
}

/** A clock that only moves when told to: the default time source until a machine provides one. */
export class ManualClock implements VirtualTimeSource {
  private t = 0;
  now(): number {
    return this.t;
  }
  advance(ticks: number): void {
    if (!(ticks >= 0)) throw new RangeError(`ManualClock.advance: negative or NaN ticks ${ticks}`);
    this.t += ticks;
  }
}

export class TraceBus {
  private seq = 0;
  private listeners: { fn: TraceListener; kinds: ReadonlySet<string> | null }[] = [];
  private timeSource: VirtualTimeSource;

  constructor(timeSource: VirtualTimeSource = new ManualClock()) {
    this.timeSource = timeSource;
  }

  /** Replace the time source (the machine installs its virtual clock when it is built). */
  setTimeSource(source: VirtualTimeSource): void {
    this.timeSource = source;
  }

  /** True when somebody listens to `kind`: emitters on hot paths check this before building payloads. */
  wants(kind: TraceKind): boolean {
    for (const l of this.listeners) if (l.kinds === null || l.kinds.has(kind)) return true;
    return false;
  }

  emit<K extends TraceKind>(kind: K, data: TraceEventMap[K], cpu?: number): void {
    const record: TraceRecord<K> =
      cpu === undefined
        ? { seq: this.seq++, time: this.timeSource.now(), kind, data }
        : { seq: this.seq++, time: this.timeSource.now(), kind, cpu, data };
    for (const l of this.listeners) {
      if (l.kinds === null || l.kinds.has(kind)) l.fn(record as TraceRecord);
    }
  }

  /** Subscribe to all kinds, or only to `kinds`. Returns the unsubscribe function. */
  subscribe(fn: TraceListener, kinds?: readonly TraceKind[]): () => void {
    const entry = { fn, kinds: kinds ? new Set<string>(kinds) : null };
    this.listeners.push(entry);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== entry);
    };
  }

  /** Attach a sink; returns the detach function. */
  attach(sink: TraceSink): () => void {
    return this.subscribe((r) => sink.write(r));
  }
}

/** Serialises one record as one JSON line with a fixed key order (bigints as decimal strings). */
export function traceRecordToJson(record: TraceRecord): string {
  const ordered: Record<string, unknown> = { seq: record.seq, time: record.time, kind: record.kind };
  if (record.cpu !== undefined) ordered.cpu = record.cpu;
  ordered.data = record.data;
  return JSON.stringify(ordered, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

/** A sink that writes JSON lines through a caller-supplied line writer (a file stream, an array…). */
export class JsonLinesSink implements TraceSink {
  readonly name = 'jsonl';
  constructor(private readonly writeLine: (line: string) => void) {}
  write(record: TraceRecord): void {
    this.writeLine(traceRecordToJson(record) + '\n');
  }
}

/** A sink that keeps records in memory (tests, the CLI's `--json` summary). */
export class MemorySink implements TraceSink {
  readonly name = 'memory';
  readonly records: TraceRecord[] = [];
  write(record: TraceRecord): void {
    this.records.push(record);
  }
}
