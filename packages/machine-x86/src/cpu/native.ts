/**
 * Native services (DESIGN §4 "high-level emulation"): TypeScript functions behind the reserved
 * native-service instruction (`UD1 eax, [eax + 0x4C4C0000 + n]`, decoded as `Op.NATIVE` with the
 * service number in `insn.imm`; see `@latelaunch/x86-isa` `nativeServiceBytes`).
 *
 * A {@link NativeServiceRegistry} is the processor's {@link NativeServiceHost}: the interpreter
 * calls `call(p, service)` with RIP already pointing after the instruction. The registry runs the
 * service with a narrow {@link NativeServiceContext}:
 *
 * - general registers (64-bit as bigint, 32-bit as unsigned number);
 * - memory at *linear* addresses through the processor's own access path (its current privilege,
 *   its paging structures and TLB, its accessed/dirty bits; MMIO through the bus): page faults,
 *   non-canonical addresses and friends are real faults of that access;
 * - the service number and name, the processor index and code size (read-only), and a trace hook.
 *
 * Nothing else: no control registers, MSRs, descriptor tables, segment state or devices — those are
 * always real instructions, so all guest state lives in registers and simulated memory (which is
 * what keeps snapshots and determinism honest). Services must be stateless: the same registers and
 * memory give the same effect.
 *
 * **Faults** (`faultPolicy`):
 * - `'error'` (default): the run stops. RIP is left at the native instruction (as if it had not
 *   executed), the instruction does not count as retired, and the machine's `run()` throws a
 *   {@link NativeServiceFaultError} naming the service, the vector, the error code and the
 *   processor. (A processor driven directly, without the machine, stops its `run()` with
 *   `stopRequested`, its count includes the native instruction, and the error is available from
 *   {@link NativeServiceRegistry.takeFault}.)
 * - `'deliver'`: the fault is delivered to the guest as the architectural fault of the access
 *   (saved RIP = the native instruction, CR2 for #PF), so the guest can fix the cause and re-execute
 *   the service. Writes done before the faulting access stay (memory writes are checked page by
 *   page before any byte is written, so a single `writeBytes` never commits partially).
 * - An exception other than a CPU fault thrown by a service (a bug, or a typed error) always
 *   propagates out of the run as a {@link NativeServiceError} with the service named.
 *
 * An unregistered service number is the #UD it is on real hardware (and traced).
 *
 * Trace: one `'cpu.native'` event per call (`outcome` ok / fault / unknown / error), and
 * `'cpu.native.log'` for the service's own `ctx.trace(...)` calls.
 */
import { ErrorCodes, InvalidArgumentError, LatelaunchError, PageAccess } from '@latelaunch/kernel';
import type { NativeServiceHost, Processor } from './processor.js';
import { CPU_FAULT } from './fault.js';
import { Vec } from './state.js';
import { sys } from './system-context.js';

declare module '@latelaunch/kernel' {
  interface TraceEventMap {
    /** A native-service call: `rip` is the address of the native instruction. */
    'cpu.native': { service: number; name: string; rip: number; outcome: 'ok' | 'fault' | 'unknown' | 'error'; vector?: number; errorCode?: number };
    /** A message a native service traced with `ctx.trace(...)`. */
    'cpu.native.log': { service: number; name: string; message: string; data?: unknown };
  }
}

/** What a native service can see and do (see the file comment). */
export interface NativeServiceContext {
  /** Service number (0..0xFFFF). */
  readonly service: number;
  /** Registered name of the service. */
  readonly name: string;
  /** Index of the calling processor. */
  readonly cpu: number;
  /** Code size of the caller (16, 32 or 64): how wide its pointers are. */
  readonly bits: 16 | 32 | 64;
  /** Full 64-bit register `r` (0 = RAX … 15 = R15). */
  getReg(r: number): bigint;
  /** Writes all 64 bits of register `r`. */
  setReg(r: number, value: bigint): void;
  /** Low 32 bits of register `r` as an unsigned number. */
  getReg32(r: number): number;
  /** A 32-bit register write: bits 63:32 become 0 (as a 32-bit MOV does). */
  setReg32(r: number, value: number): void;
  /** Reads `length` bytes at a linear address (through paging; faults are real faults). */
  readBytes(linear: number | bigint, length: number): Uint8Array;
  /** Writes bytes at a linear address; every page is checked for write access before any byte is written. */
  writeBytes(linear: number | bigint, bytes: Uint8Array | readonly number[]): void;
  /** Reads a NUL-terminated UTF-8 string (at most `maxBytes` bytes, default 4096, without the NUL). */
  readString(linear: number | bigint, maxBytes?: number): string;
  /** Emits a `'cpu.native.log'` trace event (when somebody listens). */
  trace(message: string, data?: unknown): void;
}

/** A native service: a stateless function of registers and memory. */
export type NativeService = (ctx: NativeServiceContext) => void;

export interface NativeServiceDefinition {
  readonly name: string;
  readonly fn: NativeService;
  readonly description?: string;
}

export type NativeFaultPolicy = 'error' | 'deliver';

export interface NativeServiceRegistryOptions {
  /** What a fault inside a service does (default `'error'`). */
  readonly faultPolicy?: NativeFaultPolicy;
}

/** A native service raised a processor exception (with `faultPolicy: 'error'`). */
export class NativeServiceFaultError extends LatelaunchError {
  constructor(
    readonly service: number,
    readonly serviceName: string,
    readonly cpu: number,
    readonly vector: number,
    readonly errorCode: number,
    readonly rip: number,
  ) {
    super(
      ErrorCodes.InvalidArgument,
      `native service 0x${service.toString(16)} '${serviceName}' on processor ${cpu} faulted: vector ${vector}` +
        (errorCode >= 0 ? ` error code 0x${errorCode.toString(16)}` : '') +
        ` at rip 0x${rip.toString(16)}`,
    );
  }
}

/** A native service threw something other than a processor fault. */
export class NativeServiceError extends LatelaunchError {
  constructor(
    readonly service: number,
    readonly serviceName: string,
    readonly cpu: number,
    cause: unknown,
  ) {
    super(
      cause instanceof LatelaunchError ? cause.code : ErrorCodes.InvalidArgument,
      `native service 0x${service.toString(16)} '${serviceName}' on processor ${cpu} failed: ${(cause as Error)?.message ?? String(cause)}`,
      { cause },
    );
  }
}

const TWO64 = 18446744073709551616;
const TWO48 = 0x1000000000000;

class Context implements NativeServiceContext {
  service = 0;
  name = '';
  p!: Processor;

  get cpu(): number {
    return this.p.cpuIndex;
  }
  get bits(): 16 | 32 | 64 {
    return this.p.codeSize;
  }

  getReg(r: number): bigint {
    checkReg(r);
    return this.p.state.getReg64(r);
  }
  setReg(r: number, value: bigint): void {
    checkReg(r);
    this.p.state.setReg64(r, BigInt.asUintN(64, value));
  }
  getReg32(r: number): number {
    checkReg(r);
    return this.p.lo[r] >>> 0;
  }
  setReg32(r: number, value: number): void {
    checkReg(r);
    this.p.setReg32(r, value | 0);
  }

  /** A linear address as the processor's access path takes it (sign-extended canonical in 64-bit mode). */
  private lin(linear: number | bigint, offset: number): number {
    const p = this.p;
    if (p.is64) {
      let v = typeof linear === 'bigint' ? Number(BigInt.asUintN(64, linear)) : linear;
      if (v >= 2 ** 63) v -= TWO64;
      v += offset;
      if (v < -0x800000000000 || v >= 0x800000000000) p.fault(Vec.GP, 0);
      return v;
    }
    const v = typeof linear === 'bigint' ? Number(BigInt.asUintN(32, linear)) : linear;
    return (v + offset) >>> 0;
  }

  readBytes(linear: number | bigint, length: number): Uint8Array {
    checkLength(length);
    const out = new Uint8Array(length);
    for (let k = 0; k < length; k++) out[k] = this.p.lread8(this.lin(linear, k));
    return out;
  }

  writeBytes(linear: number | bigint, bytes: Uint8Array | readonly number[]): void {
    const n = bytes.length;
    if (n === 0) return;
    // Check every page for write access first, so nothing is committed partially.
    let k = 0;
    while (k < n) {
      const a = this.lin(linear, k);
      this.p.translate(a, PageAccess.WRITE);
      const off = ((a % 4096) + 4096) % 4096;
      k += 4096 - off;
    }
    for (k = 0; k < n; k++) this.p.lwrite8(this.lin(linear, k), bytes[k] & 0xff);
  }

  readString(linear: number | bigint, maxBytes = 4096): string {
    checkLength(maxBytes);
    const buf: number[] = [];
    for (let k = 0; k < maxBytes; k++) {
      const b = this.p.lread8(this.lin(linear, k));
      if (b === 0) break;
      buf.push(b);
    }
    return new TextDecoder().decode(Uint8Array.from(buf));
  }

  trace(message: string, data?: unknown): void {
    const t = sys(this.p).trace;
    if (t && t.wants('cpu.native.log')) {
      t.emit('cpu.native.log', data === undefined ? { service: this.service, name: this.name, message } : { service: this.service, name: this.name, message, data }, this.p.cpuIndex);
    }
  }
}

function checkReg(r: number): void {
  if (!Number.isInteger(r) || r < 0 || r > 15) throw new InvalidArgumentError(`native service: register ${r} outside 0..15`);
}

function checkLength(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > TWO48) throw new InvalidArgumentError(`native service: length ${n} is not a valid byte count`);
}

/**
 * The registry of native services: the processor's {@link NativeServiceHost}. One registry can be
 * shared by every processor of a machine (services are stateless).
 */
export class NativeServiceRegistry implements NativeServiceHost {
  private readonly services = new Map<number, NativeServiceDefinition>();
  private readonly ctx = new Context();
  private readonly faults = new Map<number, NativeServiceFaultError>();
  readonly faultPolicy: NativeFaultPolicy;
  /** Calls made (all processors). */
  calls = 0;

  constructor(options: NativeServiceRegistryOptions = {}) {
    this.faultPolicy = options.faultPolicy ?? 'error';
    if (this.faultPolicy !== 'error' && this.faultPolicy !== 'deliver') {
      throw new InvalidArgumentError(`native services: faultPolicy must be 'error' or 'deliver', got '${String(this.faultPolicy)}'`);
    }
  }

  /** Registers `fn` as service `service` (0..0xFFFF). A number already taken is an `InvalidArgumentError`. */
  register(service: number, name: string, fn: NativeService, description?: string): this {
    if (!Number.isInteger(service) || service < 0 || service > 0xffff) {
      throw new InvalidArgumentError(`native service number must be an integer in 0..0xFFFF, got ${String(service)}`);
    }
    if (typeof fn !== 'function') throw new InvalidArgumentError(`native service '${name}': not a function`);
    const existing = this.services.get(service);
    if (existing) throw new InvalidArgumentError(`native service 0x${service.toString(16)} is already registered as '${existing.name}'`);
    this.services.set(service, description === undefined ? { name, fn } : { name, fn, description });
    return this;
  }

  unregister(service: number): boolean {
    return this.services.delete(service);
  }

  get(service: number): NativeServiceDefinition | undefined {
    return this.services.get(service);
  }

  /** Registered services, by number. */
  list(): { service: number; name: string; description?: string }[] {
    return [...this.services.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([service, d]) => (d.description === undefined ? { service, name: d.name } : { service, name: d.name, description: d.description }));
  }

  /** Whether a fault stopped processor `cpu` (policy `'error'`) and was not taken yet. */
  hasFault(cpu: number): boolean {
    return this.faults.has(cpu);
  }

  /** The fault that stopped processor `cpu` (policy `'error'`), cleared by this call; null if none. */
  takeFault(cpu: number): NativeServiceFaultError | null {
    const f = this.faults.get(cpu) ?? null;
    if (f) this.faults.delete(cpu);
    return f;
  }

  /** {@link NativeServiceHost}: runs the service (called by the interpreter's dispatch). */
  call(p: Processor, service: number): void {
    this.calls++;
    const def = this.services.get(service);
    const trace = sys(p).trace;
    const rip = p.instrStart;
    if (def === undefined) {
      if (trace && trace.wants('cpu.native')) trace.emit('cpu.native', { service, name: '', rip, outcome: 'unknown', vector: Vec.UD }, p.cpuIndex);
      p.fault(Vec.UD);
    }
    const ctx = this.ctx;
    const prev = { p: ctx.p, service: ctx.service, name: ctx.name }; // services may nest through a processor run
    ctx.p = p;
    ctx.service = service;
    ctx.name = def.name;
    try {
      def.fn(ctx);
    } catch (e) {
      if (e === CPU_FAULT) {
        const vector = p.pendingVector;
        const errorCode = p.pendingErrorCode;
        if (trace && trace.wants('cpu.native')) trace.emit('cpu.native', { service, name: def.name, rip, outcome: 'fault', vector, errorCode }, p.cpuIndex);
        if (this.faultPolicy === 'deliver') throw e;
        // Stop the processor at the native instruction; the machine un-counts it and throws.
        this.faults.set(p.cpuIndex, new NativeServiceFaultError(service, def.name, p.cpuIndex, vector, errorCode, rip));
        p.pendingVector = -1;
        p.pendingErrorCode = -1;
        p.state.rip = rip;
        p.stopRequested = true;
        return;
      }
      if (trace && trace.wants('cpu.native')) trace.emit('cpu.native', { service, name: def.name, rip, outcome: 'error' }, p.cpuIndex);
      p.state.rip = rip;
      throw e instanceof NativeServiceError ? e : new NativeServiceError(service, def.name, p.cpuIndex, e);
    } finally {
      if (prev.p !== undefined) {
        ctx.p = prev.p;
        ctx.service = prev.service;
        ctx.name = prev.name;
      }
    }
    if (trace && trace.wants('cpu.native')) trace.emit('cpu.native', { service, name: def.name, rip, outcome: 'ok' }, p.cpuIndex);
  }
}
