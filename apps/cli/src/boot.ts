/**
 * `latelaunch boot`: runs a multiboot v1 kernel (ELF32, as QEMU's `-kernel` takes it) on the
 * machine composed from plugins (machine, COM1 UART, debug-exit, POST port, paging) on the
 * QEMU-compatible platform profile (local APICs, 8259, PIT, CMOS, PM timer, fw_cfg, I/O APIC).
 *
 * Exit codes: the debug-exit status as QEMU reports it (`(value << 1) | 1`, as a process sees it:
 * the low 8 bits); 0 when every processor halted (HLT, wait-for-SIPI); 1 when a processor shut
 * down (triple fault); 124 when the instruction budget ran out; 2 for bad input.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { composeSystem, isLatelaunchError, JsonLinesSink, Tokens, TraceBus } from '@latelaunch/kernel';
import { debugExitPlugin, machinePlugin, postCodePlugin, uart16550Plugin, vmxPlugin, type Machine, type MultibootLoadResult, type RunResult } from '@latelaunch/machine-x86';
import { pagingPlugins } from '@latelaunch/paging';

export interface BootCommandOptions {
  readonly kernel: string;
  readonly append?: string;
  readonly cpus: number;
  readonly memory: number;
  readonly serial?: string;
  readonly maxInstructions?: number;
  readonly trace?: string;
  readonly json?: boolean;
}

export interface BootIo {
  out(text: string): void;
  err(text: string): void;
}

/** A boot failure caused by bad input: one stderr line, exit 2. */
export class BootInputError extends Error {}

/** The `--json` result object (schema in apps/cli/README.md). */
export interface BootJsonResult {
  readonly kernel: string;
  readonly cmdline: string;
  readonly cpus: number;
  readonly memoryMiB: number;
  readonly format: string;
  readonly entry: number;
  readonly warnings: readonly string[];
  readonly exitReason: RunResult['reason'];
  readonly status: number | null;
  readonly debugExitValue: number | null;
  readonly exitCode: number;
  readonly instructions: number;
  readonly virtualTimeNs: number;
  readonly serial: string;
  readonly processors: RunResult['cpus'];
}

/** Buffered writer to a file descriptor (serial file, trace file). */
class FdWriter {
  private chunks: string[] = [];
  private size = 0;
  constructor(private readonly fd: number) {}
  write(s: string): void {
    this.chunks.push(s);
    this.size += s.length;
    if (this.size > 1 << 16) this.flush();
  }
  flush(): void {
    if (this.chunks.length) writeSync(this.fd, this.chunks.join(''));
    this.chunks = [];
    this.size = 0;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

function openOut(path: string, what: string): FdWriter {
  try {
    return new FdWriter(openSync(path, 'w'));
  } catch (e) {
    throw new BootInputError(`latelaunch boot: cannot write ${what} '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Runs the command; returns the exit code. Bad input throws {@link BootInputError}. */
export function runBoot(o: BootCommandOptions, io: BootIo): number {
  let kernel: Uint8Array;
  try {
    kernel = new Uint8Array(readFileSync(o.kernel));
  } catch (e) {
    throw new BootInputError(`latelaunch boot: cannot read kernel '${o.kernel}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const cmdline = o.append ?? '';
  const trace = new TraceBus();
  const writers: FdWriter[] = [];
  try {
    if (o.trace !== undefined) {
      const w = openOut(o.trace, 'trace');
      writers.push(w);
      trace.attach(new JsonLinesSink((line) => w.write(line)));
    }
    const serialFile = o.serial !== undefined ? openOut(o.serial, 'serial output') : null;
    if (serialFile) writers.push(serialFile);

    const system = composeSystem({
      plugins: [machinePlugin, vmxPlugin, uart16550Plugin, debugExitPlugin, postCodePlugin, ...pagingPlugins],
      // The QEMU-compatible platform profile: local APICs (INIT/SIPI start the other processors),
      // 8259 pair, PIT, CMOS, PM timer, fw_cfg, I/O APIC (DESIGN §5).
      config: { machine: { cpus: o.cpus, memoryMiB: o.memory }, plugins: { 'machine-x86.machine': { platform: 'qemu' } } },
      trace,
    });
    const machine = system.container.resolve(Tokens.Machine) as Machine;
    let loaded: MultibootLoadResult;
    try {
      loaded = machine.bootMultiboot(kernel, { cmdline });
    } catch (e) {
      if (isLatelaunchError(e)) throw new BootInputError(`latelaunch boot: ${o.kernel}: ${e.message.split('\n')[0]}`);
      throw e;
    }

    // Serial console: stdout (streamed, UTF-8) unless --serial or --json.
    const uart = machine.uart!;
    const decoder = new TextDecoder();
    let pending = '';
    const toStdout = !o.json && !serialFile;
    uart.onTransmit((byte) => {
      const s = decoder.decode(Uint8Array.of(byte), { stream: true });
      if (serialFile) serialFile.write(s);
      if (toStdout) {
        pending += s;
        if (byte === 0x0a || pending.length >= 4096) {
          io.out(pending);
          pending = '';
        }
      }
    });

    const result = machine.run({ maxInstructions: o.maxInstructions });
    const tail = decoder.decode();
    if (serialFile) serialFile.write(tail);
    if (toStdout && pending + tail) io.out(pending + tail);

    let exitCode: number;
    let problem: string | null = null;
    switch (result.reason) {
      case 'debug-exit':
        exitCode = result.exit!.status & 0xff;
        break;
      case 'budget-exhausted':
        exitCode = 124;
        break;
      case 'idle':
        exitCode = 124;
        problem = 'latelaunch boot: every processor idle for 60 s of virtual time with nothing wired to wake it';
        break;
      default: {
        const down = result.cpus.filter((c) => c.activity === 'shutdown');
        if (down.length) {
          exitCode = 1;
          problem = `latelaunch boot: processor ${down.map((c) => c.index).join(', ')} shut down (triple fault) at rip 0x${down[0].rip.toString(16)}`;
        } else exitCode = 0;
      }
    }
    if (o.json) {
      const j: BootJsonResult = {
        kernel: o.kernel,
        cmdline,
        cpus: o.cpus,
        memoryMiB: o.memory,
        format: loaded.format,
        entry: loaded.entry,
        warnings: loaded.warnings,
        exitReason: result.reason,
        status: result.exit ? result.exit.status : null,
        debugExitValue: result.exit ? result.exit.value : null,
        exitCode,
        instructions: result.instructions,
        virtualTimeNs: result.time,
        serial: uart.text,
        processors: result.cpus,
      };
      io.out(JSON.stringify(j, null, 2) + '\n');
    }
    if (problem) io.err(problem + '\n');
    return exitCode;
  } finally {
    for (const w of writers) w.close();
  }
}
